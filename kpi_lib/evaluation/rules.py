"""Target rules: where a KPI stands against its target as of an evaluation year.

For one KPI and its observations this computes the 目安値 (expected value on the straight
line from baseline to target), the 達成率 (achievement), the pace against the expected
value, a grade, and the progress status of the growth-rate method that Statistics Canada
built for Open SDG (after Eurostat). Every result carries the inputs and a worked formula
so that a report can show how it was reached.

Conventions (docs/rules.md has the full text):
* rates are fractions (1.0 = 100 %);
* direction comes from the catalog, never from the data;
* ``maintain`` targets are met within a tolerance of the level to hold;
* milestones and benchmark targets are judged met / not met, not by rates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from kpi_lib.catalog.model import Kpi
from kpi_lib.catalog.notation import Comparator, compare
from kpi_lib.core.errors import KpiError
from kpi_lib.core.numbers import number_text
from kpi_lib.core.vocabulary import NO_GRADE, VERDICT_MET, VERDICT_MISSED, VERDICT_OPEN
from kpi_lib.evaluation.grading import GRADE_PRESETS, GradeScale, RuleSettings

__all__ = ["GRADE_PRESETS", "NO_GRADE", "Evaluation", "GradeScale", "RuleSettings", "evaluate"]


@dataclass
class Evaluation:
    """One KPI judged as of a fiscal year: the figures, the rule, the grade or verdict and the
    calculation in words."""

    kpi_id: str
    as_of: int
    rule: str  # which rule judged it
    latest_year: int | None = None
    latest_value: float | None = None
    n_points: int = 0
    baseline_year: int | None = None
    baseline_value: float | None = None
    baseline_source: str | None = None
    target_year: int | None = None
    target_resolved: float | None = None
    expected_value: float | None = None
    achievement_rate: float | None = None
    pace: float | None = None
    grade: str = NO_GRADE
    progress_status: str = "unable_to_assess"
    met: bool | None = None
    cumulative_value: float | None = None
    first_met_year: int | None = None
    rate_based: bool = True
    formula: str = ""  # the worked calculation, without the grade it leads to
    # The grade the formula leads to (`→ B`, with `grade_note` such as （基準値より悪化）); False
    # where the rule reports no grade in words (a count without a baseline).
    formula_grades: bool = False
    grade_note: str = ""
    notes: list[str] = field(default_factory=list)
    history: list[tuple[int, float]] = field(default_factory=list)
    final: bool = False  # the evaluation year has reached the target year
    verdict: str | None = None  # when final: 達成 / 未達成 / 未確定 (VERDICTS)
    settings: dict = field(default_factory=dict)

    @property
    def calculation(self) -> str:
        """The calculation in words: the formula and the grade it leads to, or, from the target
        year on, the final verdict before the formula (a pace grade beside a final verdict would
        contradict it: 0.92 of the path → B, 未達成)."""
        if self.verdict == VERDICT_OPEN:
            return (
                f"最終評価は未確定。参考（最新の実績による）: {self.formula}"
                if self.formula
                else ""
            )
        if self.verdict is not None:
            return f"最終評価（{self.target_year}年度）: {self.verdict}。{self.formula}"
        if not self.formula_grades:
            return self.formula
        # no space after a closing full-width bracket: 「（期限 2024年度）→ A」
        arrow = "→ " if self.formula.endswith("）") else " → "
        return f"{self.formula}{arrow}{self.grade}{self.grade_note}"


def _round(x: float | None, digits: int = 10) -> float | None:
    return None if x is None else round(float(x), digits)


def _fmt(x: float | None) -> str:
    """A figure in the calculation's words: up to 4 decimals, — for none."""
    return number_text(x, decimals=4, missing="—")


def _history(obs: pd.DataFrame, as_of: int) -> pd.DataFrame:
    """The KPI's observations up to the evaluation year, one per year, oldest first."""
    if obs.empty:
        return obs
    obs = obs[obs["year"] <= as_of].dropna(subset=["value"])
    return obs.sort_values("year").drop_duplicates("year", keep="last")


def direction_sign(kpi: Kpi) -> int:
    """+1 where higher is better, −1 where lower is better."""
    return 1 if kpi.direction == "increase" else -1


def _good_comparator(kpi: Kpi) -> Comparator:
    return kpi.target.comparator or (">=" if kpi.direction == "increase" else "<=")


def evaluate(
    kpi: Kpi, obs: pd.DataFrame, as_of: int, settings: RuleSettings | None = None
) -> Evaluation:
    """Judge one KPI as of fiscal year `as_of` from its observations (columns year, value).

    From the target year on the judgement is final (`verdict`): the target year's own
    value (a cumulative target: the window's total) decides 達成 or 未達成, and a missing
    value leaves it 未確定. Before it, the grade measures pace on the straight line.
    """
    settings = settings or RuleSettings()
    t = kpi.target
    final = as_of >= t.year
    # A final verdict reads nothing after the target year.
    hist = _history(obs, min(as_of, t.year) if final else as_of)
    ev = Evaluation(
        kpi_id=kpi.kpi_id,
        as_of=as_of,
        rule=t.kind,
        target_year=t.year,
        n_points=len(hist),
        settings=settings.describe(),
        final=final,
        history=[(int(y), float(v)) for y, v in zip(hist["year"], hist["value"], strict=True)],
    )
    ev = _judge(kpi, obs, hist, ev, settings)
    if final:
        _final_verdict(kpi, ev)
    return ev


def _judge(
    kpi: Kpi, obs: pd.DataFrame, hist: pd.DataFrame, ev: Evaluation, settings: RuleSettings
) -> Evaluation:
    t = kpi.target
    ev.baseline_year, ev.baseline_value, ev.baseline_source = _baseline(kpi, obs)
    ev.target_resolved = _round(kpi.resolve_target(ev.baseline_value))
    if not hist.empty:
        ev.latest_year, ev.latest_value = int(hist["year"].iloc[-1]), float(hist["value"].iloc[-1])

    if t.kind == "milestone":
        return _milestone(kpi, hist, ev, settings)
    if t.kind == "benchmark":
        return _benchmark(kpi, ev, settings)
    if t.kind == "cumulative":
        return _cumulative(kpi, hist, ev, settings)
    if kpi.direction == "maintain":
        return _maintain(kpi, ev, settings)
    return _level(kpi, hist, ev, settings)


def _final_verdict(kpi: Kpi, ev: Evaluation) -> None:
    """達成 / 未達成 from the target year's value (or the window's total); else 未確定."""
    t = kpi.target
    if t.kind == "cumulative":
        missing = _missing_window_years(kpi, ev)
        # Yearly counts only add up: a total reached with years missing is reached.
        decided = ev.met is True or (ev.met is False and not missing)
        why = f"累計期間の{'、'.join(map(str, missing))}年度の実績がない"
    elif t.kind == "milestone":
        decided = ev.met is True or bool(ev.history)
        why = "策定状況の実績がない"
    else:
        decided = ev.met is not None and ev.latest_year == t.year
        why = (
            f"目標年度（{t.year}年度）の実績がない（最新の実績は{ev.latest_year}年度）"
            if ev.latest_year is not None
            else "実績がない"
        )
    if not decided:
        # the figures so far stay in `formula`, as a reference beside the open verdict
        ev.verdict, ev.met, ev.grade, ev.pace = VERDICT_OPEN, None, NO_GRADE, None
        ev.notes.insert(0, f"{why}ため最終評価は{VERDICT_OPEN}")
        return
    ev.verdict = VERDICT_MET if ev.met else VERDICT_MISSED


def _missing_window_years(kpi: Kpi, ev: Evaluation) -> list[int]:
    w = kpi.target.span
    have = {y for y, _ in ev.history}
    return [y for y in range(w.start, w.end + 1) if y not in have]


def _baseline(kpi: Kpi, obs: pd.DataFrame) -> tuple[int | None, float | None, str | None]:
    b = kpi.baseline
    if b is None:
        return None, None, None
    if b.from_series:
        row = obs[(obs["year"] == b.year)] if not obs.empty else obs
        if row.empty:
            return b.year, None, None
        src = row["source"].iloc[0] if "source" in row else "public series"
        return (
            b.year,
            float(row["value"].iloc[0]),
            f"{src}（{b.year}年の公表値。戦略に基準値の記載なし）",
        )
    return b.year, (None if b.value is None else float(b.value)), "strategy"


def _first_met_year(kpi: Kpi, hist: pd.DataFrame, target: float) -> int | None:
    cmp = _good_comparator(kpi)
    for y, v in zip(hist["year"], hist["value"], strict=True):
        if compare(float(v), cmp, target):
            return int(y)
    return None


# ── level, increase_pct, decrease_pct with a direction ──────────────────────────


def _level(kpi: Kpi, hist: pd.DataFrame, ev: Evaluation, s: RuleSettings) -> Evaluation:
    scale = s.scale
    T, B, B_year = ev.target_resolved, ev.baseline_value, ev.baseline_year
    if ev.latest_value is None or ev.latest_year is None:
        ev.notes.append("実績なし")
        return ev
    if T is None:
        ev.notes.append("目標値が決まらない（基準値の実績がない）")
        return ev
    L, y, target_year = ev.latest_value, ev.latest_year, kpi.target.year
    ev.met = compare(L, _good_comparator(kpi), T)
    ev.first_met_year = _first_met_year(kpi, hist, T)
    if ev.first_met_year is not None and not ev.met:
        ev.notes.append(f"{ev.first_met_year}年度に目標に達したが、{y}年度は下回っている")
    sign = direction_sign(kpi)

    if B is None or B_year is None:
        # Counts with no baseline: actual / target, and no straight line to lay.
        ev.rule = f"{kpi.target.kind} (no baseline)"
        ev.achievement_rate = _ratio(L, T, sign)
        ev.pace = ev.achievement_rate
        ev.grade = scale.grade(ev.pace)
        ev.formula = (
            f"基準値なし: 達成率 = 実績 ÷ 目標値 = {_fmt(L)} ÷ "
            f"{_fmt(T)} = {_fmt(ev.achievement_rate)}（進捗も同じ）"
        )
        ev.progress_status = "target_achieved" if ev.met else _status_from_first(kpi, hist, ev, s)
        return ev

    span = target_year - B_year
    f = min(max((y - B_year) / span, 0.0), 1.0)
    expected = B + f * (T - B)
    ev.expected_value = _round(expected)
    line = f"目安値 = 基準値 + (目標値 − 基準値) × {y - B_year}/{span} = {_fmt(ev.expected_value)}"
    if s.formula == "progress":
        ev.achievement_rate = _round((L - B) / (T - B))
        ev.pace = _round((L - B) / (expected - B)) if f > 0 else None
        calc = (
            f"達成率 = (実績 − 基準値) ÷ (目標値 − 基準値) = ({_fmt(L)} − {_fmt(B)})"
            f" ÷ ({_fmt(T)} − {_fmt(B)}) = {_fmt(ev.achievement_rate)}; {line}; "
            f"進捗 = (実績 − 基準値) ÷ (目安値 − 基準値) = {_fmt(ev.pace)}"
        )
    else:
        ev.achievement_rate = _ratio(L, T, sign)
        ev.pace = _ratio(L, expected, sign) if f > 0 else None
        calc = (
            f"達成率 = {'実績 ÷ 目標値' if sign > 0 else '目標値 ÷ 実績'} "
            f"= {_fmt(ev.achievement_rate)}; {line}; 進捗 = "
            f"{'実績 ÷ 目安値' if sign > 0 else '目安値 ÷ 実績'} = {_fmt(ev.pace)}"
        )
    if f == 0:
        ev.notes.append("基準年度より後の実績がないため進捗を評価できない")
    worse = sign * (L - B) < 0
    ev.grade = scale.grade(ev.pace, worse_than_baseline=worse)  # no pace: '−' whatever the sign
    ev.formula, ev.formula_grades = calc, True
    ev.grade_note = "（基準値より悪化）" if worse else ""
    ev.progress_status = _growth_status(kpi, ev, B, B_year, s)
    return ev


def _ratio(actual: float, target: float, sign: int) -> float | None:
    """actual / target (or target / actual where lower is better); None where undefined."""
    num, den = (actual, target) if sign > 0 else (target, actual)
    if den <= 0 or num < 0:
        return None  # a ratio of negative or zero quantities means nothing (net migration)
    return _round(num / den)


# ── Open SDG growth-rate progress status ──────────────────────────────────────


def _growth_status(kpi: Kpi, ev: Evaluation, base: float, base_year: int, s: RuleSettings) -> str:
    """Statistics Canada's method for Open SDG: observed ÷ required growth.

    'Already achieved' is checked first. Compound rates where base, latest and target are
    all positive; linear (per-year change) rates where any is zero or negative, such as
    net migration. Dividing by the magnitude of the required rate, signed by direction,
    keeps a wrong-way movement negative whatever the target's sign.
    """
    L, y, T = ev.latest_value, ev.latest_year, ev.target_resolved
    if ev.met:
        return "target_achieved"
    if L is None or y is None or T is None or y <= base_year:
        return "unable_to_assess"
    target_year = kpi.target.year
    sign = direction_sign(kpi)
    if base > 0 and L > 0 and T > 0:
        observed = (L / base) ** (1 / (y - base_year)) - 1
        required = (T / base) ** (1 / (target_year - base_year)) - 1
        method = "複利"
    else:
        observed = (L - base) / (y - base_year)
        required = (T - base) / (target_year - base_year)
        method = "年平均の増減"
    if required == 0:
        return "unable_to_assess"
    ratio = sign * observed / abs(required)
    ev.notes.append(f"成長率比（{method}、必要な伸びに対する実際の伸び）= {ratio:.3f}")
    return progress_status(ratio, s)


def progress_status(ratio: float, s: RuleSettings) -> str:
    """The one ladder of the Open SDG growth-rate method (observed ÷ required growth):
    ≥ substantial (0.95) 順調, ≥ moderate (0.6) やや遅れ, ≥ 0 遅れ, below 0 悪化. A ratio of
    exactly 0 (no change at all) is limited progress, not deterioration: nothing got worse."""
    if ratio >= s.substantial:
        return "substantial_progress"
    if ratio >= s.moderate:
        return "moderate_progress"
    if ratio >= 0:
        return "limited_progress"
    return "deterioration"


def _status_from_first(kpi: Kpi, hist: pd.DataFrame, ev: Evaluation, s: RuleSettings) -> str:
    """With no baseline, the growth rate runs from the first observation."""
    if len(hist) < 2:
        return "unable_to_assess"
    return _growth_status(kpi, ev, float(hist["value"].iloc[0]), int(hist["year"].iloc[0]), s)


# ── maintain: a level to hold ─────────────────────────────────────────────────


def maintain_tolerance(kpi: Kpi, level: float, s: RuleSettings) -> float:
    """How far a level to maintain may move: points for a percentage, a share of the level
    otherwise."""
    if kpi.unit == "%":
        return s.maintain_tolerance_points
    return abs(level) * s.maintain_tolerance_relative


def _maintain(kpi: Kpi, ev: Evaluation, s: RuleSettings) -> Evaluation:
    scale = s.scale
    ev.rule = "maintain"
    R = ev.target_resolved
    ev.expected_value = R
    if ev.latest_value is None or R is None:
        ev.notes.append("実績なし" if ev.latest_value is None else "維持する水準が不明")
        return ev
    L = ev.latest_value
    if (
        ev.baseline_year is not None
        and ev.latest_year is not None
        and ev.latest_year <= ev.baseline_year
        and kpi.baseline is not None
        and kpi.baseline.value is not None
    ):
        # Holding a level is judged on later years; the baseline itself proves nothing.
        ev.notes.append("基準年度より後の実績がないため評価できない")
        return ev
    tol = maintain_tolerance(kpi, R, s)
    floor = kpi.target.comparator == ">="
    deviation = L - R
    ev.met = L >= R if floor else abs(deviation) <= tol + 1e-9
    ev.achievement_rate = _round(L / R) if R else None
    ev.pace = ev.achievement_rate
    if ev.met:
        ev.grade = scale.best
    elif not floor and abs(deviation) <= 2 * tol:
        ev.grade = scale.in_progress  # outside the band, but within twice the tolerance
    else:
        ev.grade = scale.worst
    band = f"{_fmt(R)} 以上" if floor else f"{_fmt(R)} ± {_fmt(tol)}"
    ev.formula = f"維持: 実績 {_fmt(L)} は維持水準 {band} の{'範囲内' if ev.met else '範囲外'}"
    ev.formula_grades = True
    ev.progress_status = "target_achieved" if ev.met else "deterioration"
    return ev


# ── cumulative: a total over the window ───────────────────────────────────────


def _cumulative(kpi: Kpi, hist: pd.DataFrame, ev: Evaluation, s: RuleSettings) -> Evaluation:
    scale = s.scale
    w = kpi.target.span
    total = ev.target_resolved
    if total is None:  # a cumulative target's total is in the catalog; guarded for the type
        raise KpiError(f"{kpi.kpi_id}: the cumulative target has no total")
    in_window = hist[(hist["year"] >= w.start) & (hist["year"] <= w.end)]
    ev.n_points = len(in_window)
    if in_window.empty:
        ev.notes.append(f"累計期間（{w.start}〜{w.end}年度）の実績なし")
        ev.latest_year = ev.latest_value = None
        return ev
    y = int(in_window["year"].iloc[-1])
    ev.latest_year, ev.latest_value = y, float(in_window["value"].iloc[-1])
    elapsed = y - w.start + 1
    missing = sorted(set(range(w.start, y + 1)) - set(in_window["year"].astype(int)))
    if missing:
        ev.notes.append(f"累計に欠けている年度: {', '.join(map(str, missing))}")
    running = float(in_window["value"].sum())
    ev.cumulative_value = _round(running)
    ev.expected_value = _round(total * elapsed / w.years)
    ev.achievement_rate = _round(running / total)
    ev.pace = _round(running / (total * elapsed / w.years))
    ev.met = running >= total
    ev.grade = scale.grade(ev.pace)
    ev.formula = (
        f"累計 {w.start}〜{y}年度 = {_fmt(running)}; 達成率 = 累計 ÷ 目標累計 "
        f"= {_fmt(running)} ÷ {_fmt(total)} = {_fmt(ev.achievement_rate)}; "
        f"目安値 = {_fmt(total)} × {elapsed}/{w.years} = {_fmt(ev.expected_value)}; "
        f"進捗 = 累計 ÷ 目安値 = {_fmt(ev.pace)}"
    )
    ev.formula_grades = True
    if ev.met:
        ev.progress_status = "target_achieved"
    else:
        # Observed yearly average against the average the total requires (linear rates).
        ev.progress_status = progress_status((running / elapsed) / (total / w.years), s)
    return ev


# ── milestones and benchmarks: met or not ─────────────────────────────────────


def _milestone(kpi: Kpi, hist: pd.DataFrame, ev: Evaluation, s: RuleSettings) -> Evaluation:
    """Observations are 1 (adopted in that year) or 0 (not yet)."""
    scale = s.scale
    ev.rate_based = False
    if hist.empty:
        ev.notes.append("実績なし")
        return ev
    done = hist[hist["value"] >= 1]
    ev.met = not done.empty and int(done["year"].iloc[0]) <= kpi.target.year
    if ev.met:
        ev.first_met_year = int(done["year"].iloc[0])
        ev.grade, ev.progress_status = scale.best, "target_achieved"
        ev.formula = f"{ev.first_met_year}年度に策定済み（期限 {kpi.target.year}年度）"
    elif ev.as_of < kpi.target.year:
        ev.grade = scale.in_progress
        ev.formula = f"未策定（期限 {kpi.target.year}年度まで）"
    else:
        ev.grade = scale.worst
        ev.formula = f"期限 {kpi.target.year}年度までに未策定"
    ev.formula_grades = True
    return ev


def _benchmark(kpi: Kpi, ev: Evaluation, s: RuleSettings) -> Evaluation:
    """Observations are the gap to the benchmark (points; 0 = at the national average)."""
    scale = s.scale
    ev.rate_based = False
    if ev.latest_value is None:
        ev.notes.append("実績なし")
        return ev
    cmp = kpi.target.comparator or ">="
    ev.met = compare(ev.latest_value, cmp, 0.0)
    ev.grade = scale.best if ev.met else scale.worst
    ev.progress_status = "target_achieved" if ev.met else "unable_to_assess"
    ev.formula = f"全国平均との差 {_fmt(ev.latest_value)} ポイント（{cmp} 0 で達成）"
    ev.formula_grades = True
    return ev
