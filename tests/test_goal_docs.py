"""The per-goal documents: every KPI a section, readable, traceable, and cached charts."""

import re

import pytest

from kpi_lib.catalog.model import load_catalog
from kpi_lib.evaluation.rules import RuleSettings
from kpi_lib.evaluation.scorecard import build_scorecard
from kpi_lib.observations.handle import DataHandle, load_observations
from kpi_lib.reporting.bench import full_values
from kpi_lib.reporting.chart_cache import ChartCache
from kpi_lib.reporting.context import ReportContext
from kpi_lib.reporting.goal_docs import goal_documents


def _context(as_of: int, extra=None) -> ReportContext:
    import pandas as pd

    catalog = load_catalog()
    obs = load_observations(catalog)
    if extra:
        rows = [
            {
                "kpi_id": k,
                "year": y,
                "year_basis": "fiscal",
                "value": v,
                "unit": catalog.get(k).unit,
                "provenance": "analyst",
                "source": "担当課入力（テスト）",
                "override": False,
            }
            for (k, y), v in extra.items()
        ]
        obs = pd.concat([obs, pd.DataFrame(rows)], ignore_index=True)
    data = DataHandle.open(catalog=catalog)
    scorecard = build_scorecard(catalog, obs, as_of, data=data)
    return ReportContext(as_of, data, obs, scorecard, RuleSettings())


@pytest.fixture(scope="module")
def final_docs():
    return {d.goal: d for d in goal_documents(_context(2024))}


def _section(doc, kpi_id) -> str:
    m = re.search(
        rf'<section class="kpi" id="kpi-{re.escape(kpi_id)}">(.*?)</section>', doc.html, re.S
    )
    assert m, kpi_id
    return m[1]


def test_one_document_per_goal_with_every_kpi_and_a_table_of_contents(final_docs):
    catalog = load_catalog()
    assert sorted(final_docs) == [1, 2, 3, 4]
    for goal, doc in final_docs.items():
        ids = [k.kpi_id for k in catalog.kpis if k.goal == goal]
        assert sorted(doc.kpi_ids) == sorted(ids)
        for kpi_id in ids:
            assert f'href="#kpi-{kpi_id}"' in doc.html and f'id="kpi-{kpi_id}"' in doc.html
        assert "@media print" in doc.html and '<html lang="ja">' in doc.html


def test_a_final_verdict_section(final_docs):
    s = _section(final_docs[2], "G2-2-3")
    assert "最終評価" in s and 'class="badge 未達成"' in s
    assert "11,899（2024）" in s and "(11,899 − 3,366) ÷ (35,000 − 3,366)" in s
    assert "2021年度までのデータによる当時の見通し" in s  # what the outlook said mid-period
    assert "data:image/png;base64," in s and "総務省「ふるさと納税に関する現況調査」" in s


def test_a_kpi_without_data(final_docs):
    s = _section(final_docs[1], "G1-1-1")
    assert "実績はまだありません" in s and "未確定" in s and "<img" not in s
    assert "施設園芸作物の販売額 106,043千円" in s  # the strategy's own words


def test_a_cumulative_kpi_with_a_proxy(final_docs):
    s = _section(final_docs[3], "G3-0")
    assert "累計 91（2020〜2022）" in s and "代理指標" in s and "2023、2024年度の実績がない" in s


def test_every_kpi_gets_a_chart_with_full_data_and_no_missing_glyph():
    ctx = _context(2024, full_values(load_catalog()))
    docs = goal_documents(ctx)  # draw_png turns a missing-glyph warning into an error
    charts = sum(d.html.count("data:image/png;base64,") for d in docs)
    assert charts == len(ctx.catalog.kpis)


def test_the_chart_cache_redraws_only_what_changed(tmp_path):
    values = full_values(load_catalog())
    goal_documents(_context(2024, values), tmp_path)
    changed = dict(values)
    changed[("G1-1-1", 2023)] += 1_000
    cache = ChartCache(tmp_path)
    ctx = _context(2024, changed)
    for kpi in ctx.catalog.kpis:
        entry = ctx.scorecard[kpi.kpi_id]
        cache.image(kpi, entry.evaluation, entry.outlook, ctx.history(kpi.kpi_id))
    assert (cache.drawn, cache.reused) == (1, len(ctx.catalog.kpis) - 1)
