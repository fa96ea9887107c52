"""One document per basic goal: every KPI as a compact section, for council members to read.

Each section: the strategy's own text, the verdict or grade, a small chart (history, the
straight path to the target, the outlook), the values with their sources, and how the
grade was reached. A table of contents links every KPI (anchor `kpi-<id>`); the CSS prints
one section per page block. Rendered in the report's own process, beside the notebooks:
no kernel per KPI. Charts are cached by the hash of what they show (docs/report.md). The page
is templates/goal.html with goal_section.html; here only its plain values are prepared.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from markupsafe import Markup

from kpi_lib.catalog.model import Kpi
from kpi_lib.catalog.notation import to_era
from kpi_lib.core.numbers import reader_number, reader_percent
from kpi_lib.core.vocabulary import (
    DIRECTIONS_JA,
    KINDS_JA,
    PROGRESS_STATUSES,
    RELATION_MARK,
    REVIEW_MARK,
    VERDICT_MET,
    VERDICT_MISSED,
    year_word,
)
from kpi_lib.evaluation.scorecard import Entry, Scorecard
from kpi_lib.observations.judgements import (
    ACTIONS_HEADER,
    ASSESSMENT_HEADER,
    DIRECTION_HEADER,
)
from kpi_lib.reporting import reading
from kpi_lib.reporting.chart_cache import ChartCache
from kpi_lib.reporting.context import ReportContext
from kpi_lib.reporting.pages import render
from kpi_lib.reporting.tables import forecast_words


@dataclass
class GoalDocument:
    """One basic goal's HTML document of the report."""

    goal: int
    file_name: str
    title: str
    html: str
    kpi_ids: list[str]


def goal_documents(ctx: ReportContext, cache_dir: Path | None = None) -> list[GoalDocument]:
    """The HTML of every basic goal's document."""
    charts = ChartCache(cache_dir)
    try:
        return _documents(ctx, charts)
    finally:
        charts.close()


def write_goal_documents(context_file: str, folder: str, cache_dir: str = "") -> None:
    """Every goal document of the context `kpi report` saved, written into `folder`: run in a
    kernel of the report's pool, so that the report's own process is free for the notebooks'
    jobs meanwhile."""
    from kpi_lib.reporting.context import saved_context

    ctx = saved_context(context_file)
    for doc in goal_documents(ctx, Path(cache_dir) if cache_dir else None):
        (Path(folder) / doc.file_name).write_text(doc.html, encoding="utf-8")


def _documents(ctx: ReportContext, charts: ChartCache) -> list[GoalDocument]:
    card = ctx.scorecard
    docs = []
    for g in ctx.catalog.goals:
        kpis = [k for k in ctx.catalog.kpis if k.goal == g.goal]
        if not kpis:
            continue
        kpis.sort(key=lambda k: (not k.numeric_goal, ctx.catalog.kpis.index(k)))
        sections = [_section(ctx, card[k.kpi_id], charts) for k in kpis]
        docs.append(
            GoalDocument(
                g.goal,
                f"goal{g.goal}.html",
                g.title_ja,
                _page(ctx, g.goal, g.title_ja, kpis, card, sections),
                [k.kpi_id for k in kpis],
            )
        )
    return docs


def _page(
    ctx: ReportContext,
    goal: int,
    title: str,
    kpis: list[Kpi],
    card: Scorecard,
    sections: list[dict],
) -> str:
    s = ctx.catalog.strategy
    name = reading.evaluation_name(ctx.catalog, ctx.fiscal_year)
    return render(
        "goal.html",
        title=f"基本目標{goal} {title}（{ctx.fiscal_year}年度 {name}）",
        kind="goal",
        header=f"{s.title_ja}　{name}（{ctx.fiscal_year}年度・{to_era(ctx.fiscal_year)}）",
        goal=goal,
        goal_title=title,
        summary=_goal_summary(ctx, goal, kpis, card),
        direction_header=DIRECTION_HEADER,
        sections=sections,
        legend=reading.grade_legend(ctx.settings),
    )


def _target_text(t) -> str:
    """The target as the catalog words it, marked once as provisional where it is a placeholder
    (catalogs written by earlier starters carry the mark in their text already)."""
    text = t.text or ""
    return text + "（仮の目標）" if t.placeholder and "仮の目標" not in text else text


def _section(ctx: ReportContext, entry: Entry, charts: ChartCache) -> dict:
    """One KPI's section as plain values (templates/goal_section.html lays it out)."""
    kpi, ev = entry.kpi, entry.evaluation
    b, t = kpi.baseline, kpi.target
    history = ctx.history(kpi.kpi_id)
    facts = [
        ("施策", f"{kpi.measure_code}　{kpi.measure.title_ja}"),
        ("基準値（戦略の記載）", b.text if b is not None and b.text else "記載なし"),
        ("目標（戦略の記載）", _target_text(t)),
        ("単位・方向", f"{kpi.unit}　{DIRECTIONS_JA[kpi.direction]}　（{KINDS_JA[t.kind]}）"),
    ]
    for spec in kpi.public_series:
        facts.append((f"公表統計（{spec.relation_ja}）", f"{spec.measure}。{spec.note_ja or ''}"))
    # the one piece of HTML built outside the templates: the chart's <img>, its alt text
    # escaped by chart_cache
    chart = charts.image(kpi, ev, entry.outlook, history) if not history.empty else ""
    return {
        "id": kpi.kpi_id,
        "code": kpi.measure_code,
        "label": kpi.label,
        "review": REVIEW_MARK if kpi.review else "",
        "result": entry.result,
        "heading": "★ 数値目標" if kpi.numeric_goal else kpi.measure_code,
        "summary": _summary_line(entry),
        "plain": reading.result_words(entry, ctx.fiscal_year),
        "judgement": _judgement(ctx, entry),
        "facts": facts,
        "chart": Markup(chart),
        "figures": _figures(history) if not history.empty else None,
        "waiting": reading.open_reason(entry, ctx.fiscal_year) or "入力待ち",
        "outlook": _outlook_words(entry),
        "calculation": ev.calculation,
        "notes": " / ".join(ev.notes),
    }


def _summary_line(entry: Entry) -> dict:
    """The result's line: the verdict or grade as a badge, the latest figure, the target, the
    achievement and the progress status."""
    ev, t = entry.evaluation, entry.kpi.target
    latest = "なし"
    if ev.latest_value is not None:
        mark = RELATION_MARK.get(entry.latest_relation or "")
        where = f"{ev.latest_year}{'・' + mark if mark else ''}"
        latest = f"{reader_number(ev.latest_value)}（{where}）"
    if t.kind == "cumulative" and ev.cumulative_value is not None:
        latest = f"累計 {reader_number(ev.cumulative_value)}（{t.span.start}〜{ev.latest_year}）"
    rate = reader_percent(ev.achievement_rate)
    if rate and ev.verdict not in (VERDICT_MET, VERDICT_MISSED, None):
        rate = f"参考 {rate}（{ev.latest_year}年度の実績による）"  # no result yet
    show_progress = not ev.verdict and ev.progress_status != "unable_to_assess"
    return {
        "label": "最終評価" if ev.verdict else "評価",
        "result": entry.result,
        "latest": latest,
        "target": reader_number(ev.target_resolved),
        "placeholder": "（仮）" if t.placeholder else "",
        "rate": rate,
        "progress": PROGRESS_STATUSES[ev.progress_status] if show_progress else "",
    }


def _judgement(ctx: ReportContext, entry: Entry) -> dict:
    """The department's own judgement of the year beside its KPI (or that it is still due)."""
    j = entry.judgement
    texts = [(ACTIONS_HEADER, j.actions), (ASSESSMENT_HEADER, j.assessment)]
    return {
        "department": j.department or "",
        "texts": [(label, value) for label, value in texts if value],
        "direction": j.direction_next or "",
        "direction_header": DIRECTION_HEADER,
        "year": ctx.fiscal_year,
    }


def _goal_summary(ctx: ReportContext, goal: int, kpis: list[Kpi], card: Scorecard) -> dict:
    """The committee's opinion and 今後の方向性 tallied, at the top of a goal's document."""
    entries = [card[k.kpi_id] for k in kpis]
    counts = card.results(entries)
    return {
        "count": len(kpis),
        "counts": "、".join(
            f"{label} {counts[label]}"
            for label in reading.status_order(ctx.settings)
            if counts[label]
        ),
        "stars": [
            {
                "label": e.kpi.label,
                "result": e.result,
                "words": reading.result_words(e, ctx.fiscal_year),
            }
            for e in entries
            if e.kpi.numeric_goal
        ],
        "tally": reading.direction_tally(entries),
        "opinion": ctx.opinions.get(goal) or "",
    }


SHOWN_YEARS = 12  # the rest of a long history is in the KPI deep-dive notebook


def _figures(history: pd.DataFrame) -> dict:
    """The values the rules used, years across, and one line naming each source and its years."""
    rows = history.tail(SHOWN_YEARS)
    word = year_word(rows["year_basis"])
    marks = rows["relation"].map(lambda r: "※" if r in RELATION_MARK else "")
    sources = []
    for (source, relation), g in rows.groupby(["source", "relation"], sort=False, dropna=False):
        years = (
            f"{int(g['year'].min())}〜{int(g['year'].max())}"
            if len(g) > 1
            else f"{int(g['year'].iloc[0])}"
        )
        label = RELATION_MARK.get(str(relation))
        sources.append(f"{years}{word}: {source}" + (f"（※{label}）" if label else ""))
    earlier = (
        f"（{int(rows['year'].min())}{word}より前の{len(history) - len(rows)}年分は省略）"
        if len(history) > len(rows)
        else ""
    )
    return {
        "word": word,
        "years": [int(y) for y in rows["year"]],
        "cells": [(reader_number(v), m) for v, m in zip(rows["value"], marks, strict=True)],
        "earlier": earlier,
        "sources": "／".join(sources),
    }


def _outlook_words(entry: Entry) -> str:
    """The outlook to the target year, or, from it on, the mid-period outlook beside the outcome."""
    if entry.evaluation.final:
        return _hindsight_words(entry)
    o = entry.outlook
    if o is None or o.forecast_value is None:
        return ""
    p = f"、達成確率 {reader_percent(o.p_meet)}" if o.p_meet is not None else ""
    return f"見通し（{entry.kpi.target.year}年度）: {forecast_words(o, '（区間なし）')}{p}"


def _hindsight_words(entry: Entry) -> str:
    """What the outlook said mid-period, beside the outcome (or what the outcome waits for)."""
    h = entry.hindsight
    if h is None or h.outlook.forecast_value is None:
        return ""
    o = h.outlook
    outcome = reader_number(h.actual) if h.actual is not None else entry.result
    inside = "" if h.inside is None else ("、区間内" if h.inside else "、区間外")
    p = "、達成確率 " + reader_percent(o.p_meet) if o.p_meet is not None else ""
    return (
        f"見通しの検証: {h.origin}年度までのデータによる当時の見通しは "
        f"{forecast_words(o)}{p}。結果は {outcome}{inside}。"
    )
