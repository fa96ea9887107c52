"""How the report speaks to council members and citizens: the words of a result.

One place for what a reader is told of a KPI's evaluation beyond its result (達成 / 未達成 /
公表待ち / 未入力 in a final evaluation, the grade before it: `Entry.result`): the reason a result
is still open (which official statistic is awaited, which department is to enter), the
calculation as one plain sentence (the exact formula stays in `Evaluation.calculation`, shown
folded for analysts), the legend of the grades and the evaluation's name (最終評価 / 中間評価 /
効果検証).
"""

from __future__ import annotations

from collections import Counter

from kpi_lib.catalog.model import Catalog
from kpi_lib.core.numbers import reader_number, reader_percent
from kpi_lib.core.vocabulary import (
    AWAITED,
    DATASETS_JA,
    FINAL_STATUSES,
    NOT_ENTERED,
    year_word,
)
from kpi_lib.evaluation.rules import RuleSettings
from kpi_lib.evaluation.scorecard import Entry
from kpi_lib.observations.judgements import DIRECTIONS_NEXT


def evaluation_name(catalog: Catalog, fiscal_year: int, review_years_before: int = 3) -> str:
    """最終評価 from the target year on; 中間評価 in the year the final report looks back to;
    効果検証 in the other years."""
    end = catalog.strategy.period.end
    if fiscal_year >= end:
        return "最終評価"
    if fiscal_year == end - review_years_before:
        return "中間評価"
    return "効果検証"


def open_reason(entry: Entry, fiscal_year: int) -> str:
    """Why the result is still open, naming who or what it waits for ('' if it is not open)."""
    kpi, shown = entry.kpi, entry.result
    year = kpi.target.year if entry.evaluation.verdict is not None else fiscal_year
    if shown == AWAITED:
        word = year_word([kpi.public_series[0].year_basis])
        names = dict.fromkeys(DATASETS_JA.get(s.dataset, s.dataset) for s in kpi.public_series)
        return f"{'または'.join(names)}の{year}{word}の値の公表待ち"
    if shown == NOT_ENTERED:
        who = kpi.department or "担当課"
        return f"{who}による{year}年度の実績の入力待ち"
    return ""


def status_order(settings: RuleSettings) -> list[str]:
    """Every status a reader can meet, in the order tables and counts list them."""
    return list(dict.fromkeys([*FINAL_STATUSES, *settings.scale.labels]))


def result_words(entry: Entry, fiscal_year: int) -> str:
    """The plain sentence and, where the result is open, what it waits for."""
    reason = open_reason(entry, fiscal_year)
    return plain_sentence(entry) + (f"（{reason}）" if reason else "")


def direction_tally(entries: list[Entry]) -> str:
    """今後の方向性 counted in the list's order, then the KPIs without one: 継続 3、未提出 2."""
    given = [e.judgement.direction_next for e in entries]
    counts = Counter(d for d in given if d is not None)
    parts = [f"{d} {counts[d]}" for d in DIRECTIONS_NEXT if d in counts]
    missing = given.count(None)
    return "、".join([*parts, *([f"未提出 {missing}"] if missing else [])])


def plain_sentence(entry: Entry) -> str:
    """The calculation as one sentence a council member reads: the target, the figure, how far
    from the baseline towards the target (the exact formula is `ev.calculation`)."""
    kpi, ev = entry.kpi, entry.evaluation
    t, unit = kpi.target, kpi.unit
    target = f"{reader_number(ev.target_resolved)}{unit}" if ev.target_resolved is not None else ""
    if ev.latest_value is None and ev.cumulative_value is None:
        return "実績なし。"
    if t.kind == "milestone":
        return "策定済み。" if ev.met else f"未策定（期限 {t.year}年度）。"
    if t.kind == "cumulative" and ev.cumulative_value is not None:
        done = f"{reader_number(ev.cumulative_value)}{unit}"
        span = f"{t.span.start}〜{ev.latest_year}年度の累計"
        share = (
            f"（目標の{reader_percent(ev.achievement_rate)}）"
            if ev.achievement_rate is not None
            else ""
        )
        window = f"{t.span.start}〜{t.span.end}年度の累計"
        return f"目標（{window}）{target}に対し、{span}は{done}{share}。"
    # a calendar-year statistic stands in for the fiscal year: its year says so (2023年)
    word = year_word(entry.year_bases[:1])
    actual = f"実績 {reader_number(ev.latest_value)}{unit}（{ev.latest_year}{word}）"
    if t.kind == "benchmark":
        return f"全国平均との差は{actual}。"
    if t.kind == "maintain":
        base = f"{reader_number(ev.baseline_value)}{unit}"
        held = "維持しています" if ev.met else "維持できていません"
        return f"基準値 {base} の維持が目標で、{actual}は基準値を{held}。"
    sentence = f"目標 {target} に対し{actual}。"
    rate = ev.achievement_rate
    if rate is None:
        return sentence
    ratio = ev.settings.get("formula") == "ratio"
    if ev.baseline_value is None or not ev.rate_based or ratio:
        return sentence + f"目標の{reader_percent(rate)}です。"
    base = f"基準値 {reader_number(ev.baseline_value)}{unit}"
    if rate >= 1:
        return sentence + f"{base}から目標に届きました。"
    if rate < 0:
        return sentence + f"{base}より目標から遠ざかっています。"
    return sentence + f"{base}から目標までの{reader_percent(rate)}まで進みました。"


def grade_legend(settings: RuleSettings) -> str:
    """What a grade is computed from, in the order of the scale."""
    scale = settings.scale
    steps = "、".join(f"{label} {minimum:.0%}以上" for label, minimum in scale.steps)
    return (
        "評価は、基準値から目標値へ一定のペースで進んだ場合の評価年度の値（目安値）に対する"
        f"進み具合（進捗）で判定します: {steps}、{scale.worst} それ未満または基準値より悪化。"
        "目標年度からは、目標年度の実績が目標に達したかで最終評価（達成／未達成）を判定し、"
        "進捗による評価は示しません。"
    )
