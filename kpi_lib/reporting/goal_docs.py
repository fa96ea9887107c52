"""One document per basic goal: every KPI as a compact section, for council members to read.

Each section: the strategy's own text, the verdict or grade, a small chart (history, the
straight path to the target, the outlook), the values with their sources, and how the
grade was reached. A table of contents links every KPI (anchor `kpi-<id>`); the CSS prints
one section per page block. Rendered in the report's own process, beside the notebooks:
no kernel per KPI. Charts are cached by the hash of what they show (docs/report.md).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

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
from kpi_lib.evaluation.outlook import Hindsight
from kpi_lib.evaluation.scorecard import Entry, Scorecard
from kpi_lib.observations.judgements import (
    ACTIONS_HEADER,
    ASSESSMENT_HEADER,
    DIRECTION_HEADER,
)
from kpi_lib.reporting import reading
from kpi_lib.reporting.chart_cache import ChartCache
from kpi_lib.reporting.context import ReportContext
from kpi_lib.reporting.pages import page
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
    sections: list[str],
) -> str:
    e = html.escape
    s = ctx.catalog.strategy
    toc = "\n".join(
        f'<li><a href="#kpi-{e(k.kpi_id)}">{e(k.measure_code)} {e(k.label)}'
        f"{REVIEW_MARK if k.review else ''}</a> {_badge(card[k.kpi_id])}</li>"
        for k in kpis
    )
    name = reading.evaluation_name(ctx.catalog, ctx.fiscal_year)
    body = f"""<h1>基本目標{goal}　{e(title)}</h1>
{_goal_summary(ctx, goal, kpis, card)}
<nav><h2>指標の一覧（{len(kpis)}指標）</h2><ol>{toc}</ol></nav>
<p class="muted">各指標について、戦略の記載、評価、推移と目標への直線、使用した値と出典を示します。
★は基本目標の数値目標です。{e(reading.grade_legend(ctx.settings))}</p>
{"".join(sections)}"""
    return page(
        f"基本目標{goal} {title}（{ctx.fiscal_year}年度 {name}）",
        body,
        "goal",
        header=f"{s.title_ja}　{name}（{ctx.fiscal_year}年度・{to_era(ctx.fiscal_year)}）",
    )


def _badge(entry: Entry) -> str:
    return badge_html(entry.result)


def badge_html(label: str) -> str:
    """A result as a coloured badge (達成 green, 未達成 red, 公表待ち grey …)."""
    return f'<span class="badge {html.escape(label)}">{html.escape(label)}</span>'


def _target_text(t) -> str:
    """The target as the catalog words it, marked once as provisional where it is a placeholder
    (catalogs written by earlier starters carry the mark in their text already)."""
    text = t.text or ""
    return text + "（仮の目標）" if t.placeholder and "仮の目標" not in text else text


def _section(ctx: ReportContext, entry: Entry, charts: ChartCache) -> str:
    e = html.escape
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
    facts_html = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in facts)
    chart = charts.image(kpi, ev, entry.outlook, history) if not history.empty else ""
    values_html = (
        _values_html(history)
        if not history.empty
        else '<p class="muted">実績はまだありません'
        f"（{e(reading.open_reason(entry, ctx.fiscal_year) or '入力待ち')}）。</p>"
    )
    plain = reading.result_words(entry, ctx.fiscal_year)
    notes = f"<p>注記: {e(' / '.join(ev.notes))}</p>" if ev.notes else ""
    calc = (
        f'<details class="calc"><summary>算定式（分析担当者向け）</summary>'
        f"<p>{e(ev.calculation)}</p>{notes}</details>"
        if ev.calculation or notes
        else ""
    )
    heading = "★ 数値目標" if kpi.numeric_goal else kpi.measure_code
    review = f' <span class="review">{REVIEW_MARK}</span>' if kpi.review else ""
    return f"""
<section class="kpi" id="kpi-{e(kpi.kpi_id)}">
<h3>{e(heading)}　{e(kpi.label)}{review}</h3>
{_summary_html(entry)}
{f'<p class="plain">{e(plain)}</p>' if plain else ""}
{_judgement_html(ctx, entry)}
<div class="row"><table>{facts_html}</table>{chart}</div>
{values_html}
{_outlook_html(entry)}
{calc}
</section>"""


def _summary_html(entry: Entry) -> str:
    """The result's line: the verdict or grade as a badge, the latest figure, the target, the
    achievement and the progress status."""
    e = html.escape
    ev, t = entry.evaluation, entry.kpi.target
    latest = "なし"
    if ev.latest_value is not None:
        mark = RELATION_MARK.get(entry.latest_relation or "")
        where = f"{ev.latest_year}{'・' + mark if mark else ''}"
        latest = f"{reader_number(ev.latest_value)}（{where}）"
    if t.kind == "cumulative" and ev.cumulative_value is not None:
        latest = f"累計 {reader_number(ev.cumulative_value)}（{t.span.start}〜{ev.latest_year}）"
    placeholder = "（仮）" if t.placeholder else ""
    label = "最終評価" if ev.verdict else "評価"
    rate = reader_percent(ev.achievement_rate)
    if rate and ev.verdict not in (VERDICT_MET, VERDICT_MISSED, None):
        rate = f"参考 {rate}（{ev.latest_year}年度の実績による）"  # no result yet
    progress = (
        f"　進捗状況: {e(PROGRESS_STATUSES[ev.progress_status])}"
        if not ev.verdict and ev.progress_status != "unable_to_assess"
        else ""
    )
    return (
        f"<p>{label} {badge_html(entry.result)}　実績: {e(latest)}　目標値: "
        f"{e(reader_number(ev.target_resolved))}{placeholder}"
        + (f"　達成率: {e(rate)}" if rate else "")
        + f"{progress}</p>"
    )


def _judgement_html(ctx: ReportContext, entry: Entry) -> str:
    """The department's own judgement of the year beside its KPI (or that it is still due)."""
    e = html.escape
    j = entry.judgement
    department = j.department or ""
    texts = [(ACTIONS_HEADER, j.actions), (ASSESSMENT_HEADER, j.assessment)]
    direction = j.direction_next or ""
    if not any(value for _, value in texts) and not direction:
        if not department:
            return ""
        return (
            f'<p class="muted">担当課: {e(department)}（{ctx.fiscal_year}年度の評価は未提出）</p>'
        )
    rows = "".join(
        f"<tr><th>{e(label)}</th><td>{e(value)}</td></tr>" for label, value in texts if value
    )
    if direction:
        rows += (
            f'<tr><th>{DIRECTION_HEADER}</th><td><span class="dir">{e(direction)}</span></td></tr>'
        )
    who = f"（{e(department)}）" if department else ""
    return (
        f'<div class="judgement"><p><strong>担当課の評価{who}</strong></p>'
        f"<table>{rows}</table></div>"
    )


def _goal_summary(ctx: ReportContext, goal: int, kpis: list[Kpi], card: Scorecard) -> str:
    """The committee's opinion and 今後の方向性 tallied, at the top of a goal's document."""
    e = html.escape
    entries = [card[k.kpi_id] for k in kpis]
    counts = card.results(entries)
    counts_line = "、".join(
        f"{label} {counts[label]}" for label in reading.status_order(ctx.settings) if counts[label]
    )
    parts = [f"<p><strong>{len(kpis)}指標の評価</strong>　{e(counts_line)}</p>"]
    for entry in entries:
        if entry.kpi.numeric_goal:
            words = reading.result_words(entry, ctx.fiscal_year)
            parts.append(
                f"<p><strong>★ 数値目標</strong>　{e(entry.kpi.label)} {_badge(entry)}　"
                f"{e(words)}</p>"
            )
    tally = reading.direction_tally(entries)
    parts.append(f"<p><strong>{DIRECTION_HEADER}</strong>　{e(tally)}（指標数）</p>")
    opinion = ctx.opinions.get(goal)
    if opinion:
        parts.append(
            '<div class="opinion"><p><strong>有識者会議の意見</strong></p>'
            f"<p>{e(opinion)}</p></div>"
        )
    return f'<div class="summary">{"".join(parts)}</div>'


SHOWN_YEARS = 12  # the rest of a long history is in the KPI deep-dive notebook


def _values_html(history: pd.DataFrame) -> str:
    """The values the rules used, years across, and one line naming each source and its years."""
    e = html.escape
    rows = history.tail(SHOWN_YEARS)
    word = year_word(rows["year_basis"])
    marks = rows["relation"].map(lambda r: "※" if r in RELATION_MARK else "")
    head = "".join(f"<th>{int(y)}</th>" for y in rows["year"])
    cells = "".join(
        f"<td>{e(reader_number(v))}{m}</td>" for v, m in zip(rows["value"], marks, strict=True)
    )
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
    return (
        f"<table><tr><th>{word}</th>{head}</tr><tr><th>値</th>{cells}</tr></table>"
        f'<p class="muted">出典{e(earlier)}: {e("／".join(sources))}</p>'
    )


def _outlook_html(entry: Entry) -> str:
    """The outlook to the target year, or, from it on, the mid-period outlook beside the outcome."""
    if entry.evaluation.final:
        return _hindsight_html(entry.hindsight)
    o = entry.outlook
    if o is None or o.forecast_value is None:
        return ""
    p = f"、達成確率 {reader_percent(o.p_meet)}" if o.p_meet is not None else ""
    said = forecast_words(o, "（区間なし）") + p
    return f'<p class="calc">見通し（{entry.kpi.target.year}年度）: {html.escape(said)}</p>'


def _hindsight_html(h: Hindsight | None) -> str:
    """What the outlook said mid-period, beside the outcome."""
    e = html.escape
    if h is None or h.outlook.forecast_value is None:
        return ""
    o = h.outlook
    outcome = reader_number(h.actual) if h.actual is not None else "未確定"
    inside = "" if h.inside is None else ("、区間内" if h.inside else "、区間外")
    return (
        f'<p class="calc">見通しの検証: {h.origin}年度までのデータによる当時の見通しは '
        f"{e(forecast_words(o))}"
        f"{e('、達成確率 ' + reader_percent(o.p_meet)) if o.p_meet is not None else ''}。"
        f"結果は {e(outcome)}{e(inside)}。</p>"
    )
