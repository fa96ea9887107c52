"""The R6 final evaluation on current data (FY2022–FY2024 figures, SSDS, verdicts)."""

import io
import subprocess
import sys

import pandas as pd
import pytest

from kpi_lib.catalog.model import load_catalog
from kpi_lib.core.errors import InputError
from kpi_lib.evaluation.rules import evaluate
from kpi_lib.evaluation.scorecard import build_scorecard
from kpi_lib.observations.handle import DataHandle, load_observations
from kpi_lib.observations.values import choose_values, freshness, source_gaps, stale_sources
from kpi_lib.sources.ingest import read_public
from kpi_lib.sources.loaders import ssds
from tests.helpers import make_kpi, obs

KPI = [sys.executable, "-m", "kpi_lib.cli"]


def _cli_csv(*args) -> pd.DataFrame:
    out = subprocess.run(
        [*KPI, *args, "--format", "csv"], capture_output=True, text=True, check=True
    ).stdout
    return pd.read_csv(io.StringIO(out))


def _used(kpi_id) -> pd.DataFrame:
    rows = _cli_csv("series", kpi_id)
    return rows[rows.used].set_index("year")


# ── kpi series: the figures of the issue, with their sources ────────────────────


def test_furusato_counts_reach_fy2024():
    used = _used("G2-2-3")
    assert [used.loc[y, "value"] for y in (2022, 2023, 2024)] == [24_829, 14_490, 11_899]
    assert used.loc[2024, "source"].startswith("総務省「ふるさと納税に関する現況調査」")


def test_marriages_come_from_ssds_as_a_labelled_proxy():
    used = _used("G3-0")
    assert [used.loc[y, "value"] for y in (2020, 2021, 2022)] == [30, 29, 32]
    assert set(used.relation) == {"proxy"} and used.source.str.contains("社会・人口統計体系").all()
    assert used.note.str.contains("定義が異なる").all()


def test_births_fall_back_to_ssds_after_the_last_jumin_year():
    used = _used("G3-1-1")
    assert (used.loc[2021, "value"], used.loc[2021, "relation"]) == (41, "same")  # 住民基本台帳
    assert (used.loc[2022, "value"], used.loc[2022, "relation"]) == (34, "related")  # SSDS
    assert (
        "住民基本台帳" in used.loc[2021, "source"]
        and "社会・人口統計体系" in used.loc[2022, "source"]
    )


def test_net_migration_from_jumin_then_ssds_movers():
    rows = _cli_csv("series", "G2-0")
    used = rows[rows.used].set_index("year")
    assert used.loc[2021, "value"] == -103 and used.loc[2021, "relation"] == "same"
    assert [used.loc[y, "value"] for y in (2022, 2023)] == [-144, -125]
    # both sources are listed for 2021; only one counts
    y2021 = rows[rows.year == 2021]
    assert sorted(y2021.value) == [-103, -102] and y2021.used.sum() == 1


def test_measured_gap_between_the_two_statistics():
    gaps = source_gaps(load_observations(load_catalog()), "G2-0").set_index("year")
    # SSDS 転入−転出 minus 住民基本台帳 社会増減数: 2018 −152 vs −153, 2021 −102 vs −103
    assert gaps.loc[2018, "gap"] == 1 and gaps.loc[2021, "gap"] == 1
    assert gaps["gap"].abs().max() <= 10


def test_analyst_override_beats_every_public_series():
    catalog = load_catalog()
    o = load_observations(catalog)
    mine = pd.DataFrame(
        [
            {
                "kpi_id": "G3-1-1",
                "year": 2022,
                "year_basis": "fiscal",
                "value": 36.0,
                "unit": "件",
                "provenance": "analyst",
                "source": "市民課",
                "override": True,
            },
            {
                "kpi_id": "G3-1-1",
                "year": 2021,
                "year_basis": "fiscal",
                "value": 99.0,
                "unit": "件",
                "provenance": "analyst",
                "source": "市民課",
                "override": False,
            },
        ]
    )
    chosen = choose_values(pd.concat([o, mine], ignore_index=True))
    births = chosen[chosen.kpi_id == "G3-1-1"].set_index("year")
    assert births.loc[2022, "value"] == 36  # marked 公表値より優先
    assert births.loc[2021, "value"] == 41  # unmarked: the official figure stands


# ── final verdicts ────────────────────────────────────────────────────────────


@pytest.fixture(scope="module")
def card2024():
    return _cli_csv("scorecard", "--as-of", "2024").set_index("kpi_id")


def test_furusato_is_not_met_at_the_end_although_it_passed_early(card2024):
    r = card2024.loc["G2-2-3"]
    assert (r.latest_year, r.latest_value) == (2024, 11_899)
    assert not r.met and r.verdict == "未達成" and r.first_met_year == 2021
    assert r.achievement_rate == pytest.approx((11_899 - 3_366) / (35_000 - 3_366), abs=1e-9)
    assert round(r.achievement_rate, 3) == 0.270
    assert pd.isna(r.forecast_value) and pd.isna(r.p_meet)  # a verdict, not a forecast
    assert "2021年度に目標に達した" in r.notes


def test_cumulative_marriages_are_undecided_with_the_missing_years_named(card2024):
    r = card2024.loc["G3-0"]
    assert r.cumulative_value == 91 and r.verdict == "未確定" and r.grade == "−"
    assert "2023、2024年度の実績がない" in r.notes


def test_before_the_target_year_grades_and_outlooks_stay():
    catalog = load_catalog()
    card = build_scorecard(catalog, load_observations(catalog), 2021).frame().set_index("kpi_id")
    r = card.loc["G2-2-3"]
    assert r.verdict is None and r.grade == "A" and pd.notna(r.forecast_value)


def test_final_rules_on_small_cases():
    level = make_kpi(baseline=(2020, 100.0), value=200)
    assert evaluate(level, obs((2021, 250), (2024, 150)), 2024).verdict == "未達成"
    assert evaluate(level, obs((2021, 150), (2024, 210)), 2024).verdict == "達成"
    undecided = evaluate(level, obs((2021, 250), (2023, 260)), 2024)
    assert (
        undecided.verdict == "未確定" and undecided.met is None and "2024年度" in undecided.notes[0]
    )
    # a value after the target year is not read by the final verdict
    assert evaluate(level, obs((2024, 150), (2025, 300)), 2025).verdict == "未達成"
    total = make_kpi(kind="cumulative", baseline=None, value=100)
    full = obs(*[(y, 15) for y in range(2020, 2025)])
    assert evaluate(total, full, 2024).verdict == "未達成"  # 75 of 100
    early = obs((2020, 60), (2021, 50))
    assert evaluate(total, early, 2024).verdict == "達成"  # counts only add up
    maintain = make_kpi(kind="maintain", direction="maintain", baseline=(2018, 50.0))
    assert evaluate(maintain, obs((2024, 52)), 2024).verdict == "達成"
    assert evaluate(maintain, obs((2024, 30)), 2024).verdict == "未達成"


# ── forecast accountability ───────────────────────────────────────────────────


def test_the_fy2021_outlook_is_recomputed_from_fy2021_data_only():
    catalog = load_catalog()
    o = load_observations(catalog)
    then = build_scorecard(catalog, o, 2021)
    now = build_scorecard(catalog, o, 2024)
    for kpi_id in ("G2-0", "G2-1-2", "G2-2-3", "G3-0", "G3-1-1"):
        h = now[kpi_id].hindsight
        assert h is not None and h.origin == 2021, kpi_id
        said = then[kpi_id].outlook
        assert (
            h.outlook.forecast_value,
            h.outlook.forecast_lower,
            h.outlook.forecast_upper,
            h.outlook.p_meet,
        ) == pytest.approx(
            (said.forecast_value, said.forecast_lower, said.forecast_upper, said.p_meet)
        ), kpi_id
    h = now["G2-2-3"].hindsight
    assert h.actual == 11_899 and h.verdict == "未達成"
    assert h.inside == (h.outlook.forecast_lower <= 11_899 <= h.outlook.forecast_upper)
    assert now["G3-0"].hindsight.actual is None  # undecided: nothing to compare yet
    assert now["G1-1-1"].hindsight is None  # no public data


# ── freshness ─────────────────────────────────────────────────────────────────


def test_freshness_names_the_latest_year_of_each_source():
    fresh = freshness(load_catalog(), DataHandle.open().tables).set_index("measure")
    assert fresh.loc["受入件数", "latest_year"] == 2024
    assert fresh.loc["社会増減数", "latest_year"] == 2021
    assert fresh.loc["転入超過数（日本人移動者）", "latest_year"] == 2023
    assert fresh.loc["婚姻件数", "latest_year"] == 2022
    assert fresh.loc["入込総数", "latest_year"] == 2019
    stale = stale_sources(fresh.reset_index(), 2024)
    assert "受入件数" not in set(stale.measure) and "入込総数" in set(stale.measure)


# ── the bundled SSDS and detail tables ────────────────────────────────────────


def test_ssds_codes_get_the_check_digit_of_the_official_codes():
    assert ssds.code6_from5("01216") == "012165"
    jumin = read_public("jumin")
    official = set(jumin[jumin.level == "municipality"].municipality_code)
    table = read_public("ssds")
    assert set(table.municipality_code) <= official
    assert table.municipality_code.nunique() == 179


def test_ssds_figures_as_documented():
    t = read_public("ssds")
    a = t[t.municipality_code == "012165"].set_index(["measure", "year"])["value"]
    assert a[("住民基本台帳人口", 2021)] == 12_430  # the same figure as 2203ssjin (2022-01-01)
    assert a[("出生数", 2022)] == 34
    assert (a[("転入者数（日本人移動者）", 2022)], a[("転出者数（日本人移動者）", 2022)]) == (
        285,
        429,
    )
    pop = t[(t.measure == "住民基本台帳人口") & (t.year == 2021)]
    assert set(pop.as_of) == {"2022-01-01"}


def test_furusato_detail_agrees_with_the_series_and_the_r2_workbook():
    d, s, r2 = read_public("furusato_detail"), read_public("furusato"), read_public("furusato_r2")
    keys = ["municipality_code", "year"]
    counts = d[d.measure == "受入件数"][[*keys, "value"]].merge(
        s[s.measure == "受入件数"][[*keys, "value"]], on=keys, suffixes=("_d", "_s")
    )
    assert len(counts) > 10_000 and (counts.value_d == counts.value_s).all()
    amounts = d[(d.measure == "受入額") & (d.year == 2020)][["municipality_code", "value"]].merge(
        r2[r2.measure == "受入額"][["municipality_code", "value"]], on="municipality_code"
    )
    assert len(amounts) > 1_700 and (amounts.value_x == amounts.value_y).all()
    a = d[(d.municipality_code == "012165") & (d.year == 2024)].set_index("measure")["value"]
    assert (a["受入件数"], a["受入額"]) == (11_899, 278_873_000)


def test_bad_ssds_rows_are_refused_with_file_and_row(tmp_path):
    bad = tmp_path / "ssds_bad.csv"
    bad.write_text(
        "地域コード,都道府県,市区町村,項目コード,項目,調査年,値,単位\n"
        "01216,北海道,芦別市,A4101,出生数,2022,34,人\n"
        "1216,北海道,芦別市,A4101,出生数,2023,30,人\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError, match=r"ssds_bad.csv, row 3, column '地域コード'"):
        ssds.load_ssds(bad)
    bad.write_text(
        "地域コード,都道府県,市区町村,項目コード,項目,調査年,値,単位\n"
        "01216,北海道,芦別市,A4101,出生数,2022,-3,人\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError, match="row 2.*negative"):
        ssds.load_ssds(bad)


def test_scorecard_workbook_has_the_verdict_and_a_freshness_sheet(scorecard_workbook):
    from openpyxl import load_workbook

    wb = load_workbook(scorecard_workbook(2024))  # written once per session (tests/conftest.py)
    card = wb["スコアカード"]
    header = [c.value for c in card[3]]
    row = next(r for r in card.iter_rows(values_only=True) if r[0] == "G2-2-3")
    assert row[header.index("最終評価")] == "未達成" and row[header.index("実績値")] == 11_899
    fresh = {r[1]: r[3] for r in wb["データの時点"].iter_rows(min_row=3, values_only=True)}
    assert fresh["受入件数"] == "2024年度" and fresh["入込総数"] == "2019年度"
