"""The reader vocabulary: every Japanese word a reader sees for a code or a computed fact,
defined once. Pages, workbooks, notebooks and CLI tables take their labels from here.

Sections keep the words of one subject together; add to the section that fits, never a second
dictionary for the same codes elsewhere.
"""

from __future__ import annotations

from kpi_lib.core.numbers import reader_number

# --- years -----------------------------------------------------------------------------------

# The basis of a statistic's year: a fiscal year (April–March) or a calendar year.
YEAR_BASIS_JA = {"fiscal": "年度", "calendar": "暦年"}


def year_basis_word(basis: str | None) -> str:
    """年度 / 暦年 for a code; an unknown code is shown as given (never dropped)."""
    return YEAR_BASIS_JA.get(basis or "", basis or "")


def year_word(bases) -> str:
    """The year word of figures of these bases: 年 when every one is a calendar year (a
    calendar-year statistic standing in for a fiscal year says so: 2023年), else 年度."""
    bases = list(bases)
    return "年" if bases and all(b == "calendar" for b in bases) else "年度"


# --- results: verdicts, grades and what a reader is told --------------------------------------

NO_GRADE = "−"  # no grade: no figure to judge
# The final verdict from the target year on.
VERDICT_MET, VERDICT_MISSED, VERDICT_OPEN = "達成", "未達成", "未確定"
VERDICTS = (VERDICT_MET, VERDICT_MISSED, VERDICT_OPEN)
# An open result as a reader is told it: the official statistic awaited, or the department's entry.
AWAITED, NOT_ENTERED = "公表待ち", "未入力"
FINAL_STATUSES = [VERDICT_MET, VERDICT_MISSED, AWAITED, NOT_ENTERED]
# The Open SDG growth-rate progress status (evaluation.rules.progress_status).
PROGRESS_STATUSES = {
    "target_achieved": "目標達成済み",
    "substantial_progress": "順調",
    "moderate_progress": "やや遅れ",
    "limited_progress": "遅れ",
    "deterioration": "悪化",
    "unable_to_assess": "評価不能",
}
REVIEW_MARK = "【要確認】"  # an imported indicator whose `review` is still open

# --- the catalog's codes ---------------------------------------------------------------------

DIRECTIONS_JA = {
    "increase": "増加が望ましい",
    "decrease": "減少が望ましい",
    "maintain": "水準を維持",
}
KINDS_JA = {
    "level": "目標値",
    "increase_pct": "基準値からの増加率",
    "decrease_pct": "基準値からの削減率",
    "maintain": "基準値を維持",
    "cumulative": "期間の累計",
    "benchmark": "全国平均との比較",
    "milestone": "計画策定",
}
# The statistics the bundled data holds, as a sentence names them.
DATASETS_JA = {
    "jumin": "住民基本台帳",
    "ssds": "社会・人口統計体系",
    "tourism": "北海道観光入込客数調査",
    "furusato": "ふるさと納税に関する現況調査",
    "furusato_detail": "ふるさと納税に関する現況調査",
}
# How a statistic relates to the KPI it feeds; reports print the label beside its figures.
RELATIONS_JA = {
    "same": "同じ統計",
    "related": "別の統計（定義が近い）",
    "proxy": "代理指標（定義が異なる）",
}
# Beside a figure that comes from another statistic than the KPI's own (docs/rules.md).
RELATION_MARK = {"related": "別の統計", "proxy": "代理指標"}
PROVENANCE_JA = {
    "public": "公表統計",
    "analyst": "担当課の入力",
    "strategy": "戦略の記載（基準値）",
}
# The strength of an outlook's evidence (evaluation.outlook: the number of points).
EVIDENCE_JA = {
    "none": "データ不足",
    "low": "弱い（2〜3点）",
    "moderate": "中（4点）",
    "sufficient": "十分（5点以上）",
    "not_applicable": "対象外",
    None: "",
}

# --- the scorecard's columns -----------------------------------------------------------------

# Japanese headers of the scorecard's columns (the workbook's detailed sheet, notebooks).
HEADERS_JA = {
    "kpi_id": "ID",
    "goal": "基本目標",
    "measure": "施策",
    "name_ja": "指標",
    "unit": "単位",
    "direction": "方向",
    "target_kind": "目標の種類",
    "baseline_year": "基準年度",
    "baseline_value": "基準値",
    "target_year": "目標年度",
    "target_resolved": "目標値",
    "target_placeholder": "仮の目標",
    "review": "要確認",
    "latest_year": "実績年度",
    "latest_value": "実績値",
    "latest_relation": "実績値の統計",
    "cumulative_value": "累計",
    "expected_value": "目安値",
    "achievement_rate": "達成率",
    "pace": "進捗（目安値比）",
    "grade": "評価",
    "progress_status": "進捗状況",
    "met": "目標達成",
    "verdict": "最終評価",
    "first_met_year": "初めて目標に達した年度",
    "n_points": "データ数",
    "forecast_value": "見通し（目標年度）",
    "forecast_lower": "見通し下限",
    "forecast_upper": "見通し上限",
    "p_meet": "達成確率",
    "forecast_method": "予測手法",
    "evidence": "根拠の強さ",
    "year_basis": "年の区分",
    "source": "出典",
    "provenance": "データの種類",
    "rate_based": "率による評価",
    "calculation": "算定",
    "notes": "注記",
    "inputs": "算定の入力",
    "department": "担当課",
    "actions": "取組内容",
    "assessment": "評価・要因分析",
    "direction_next": "今後の方向性",
}


# --- intervals and forecasts -----------------------------------------------------------------

# A forecast method as a chart's legend names it.
METHOD_JA = {
    "naive": "最新の値が続く場合",
    "drift": "これまでの平均的な増減が続く場合",
    "weather": "直近5年の平均的な増減が続く場合",
    "linear": "直線の傾向が続く場合",
    "loglinear": "一定の率で増減が続く場合",
    "mean": "直近5年の平均の水準",
    "holt": "最近の傾向を重く見た延長",
}


def interval_phrase(level: float, lower: float | None, upper: float | None) -> str:
    """「80%区間 1,234〜1,456」: a prediction interval as the pages print it ('' without one)."""
    if lower is None or upper is None:
        return ""
    return f"{level:.0%}区間 {reader_number(lower)}〜{reader_number(upper)}"


# The two kinds of backtest error a panel's intervals are calibrated on.
ERROR_KIND_JA = {"log": "比率誤差", "scaled": "尺度化誤差"}


def join_notes(*notes: str) -> str:
    """Notes on one forecast, in one cell: 「…；…」 (empty ones left out)."""
    return "；".join(n for n in notes if n)


def no_forecast_note(points: int, needed: int) -> str:
    """Why a series has no forecast: too few observations."""
    return f"観測が{points}点のみのため予測なし（{needed}点以上が必要）"


def weak_forecast_note(points: int) -> str:
    """A forecast on very few observations: its interval is only indicative."""
    return f"観測が{points}点のみ（区間は参考程度）"


def no_probability_note() -> str:
    """Why a target has no probability in a panel forecast."""
    return "確率なし（較正された予測分布がない：系列が短いか検証誤差が少ない）"


def method_choice_note(panel_best: str, own_best: int) -> str:
    """How `auto` chose: the panel's best method, and how many series chose on their own."""
    return (
        f"手法はローリング・オリジン検証で選択（パネル全体: {panel_best}、"
        f"自系列の成績で選んだ系列: {own_best}）"
    )


def unchecked_interval_note() -> str:
    """No backtest could check the intervals: the models' own are kept."""
    return "区間を検証できる過去データがないため、モデル自身の区間を使用"


def uncalibrated_interval_note(kind: str) -> str:
    """Too few backtest errors of one kind (`ERROR_KIND_JA`) to calibrate on."""
    kind_ja = ERROR_KIND_JA.get(kind, kind)
    return f"検証の誤差が少なく較正できないため（{kind_ja}）、モデル自身の区間を使用"


def conformal_note(origins: int, model_coverage: float, level: float) -> str:
    """How conformal intervals were made, and how well the models' own intervals had covered."""
    return (
        f"コンフォーマル区間（直近{origins}時点の検証誤差を変動の大きさで層別、"
        "正の系列は比率誤差、その他は尺度化誤差）。モデル自身の区間の検証での的中率は "
        f"{model_coverage:.0%}（名目 {level:.0%}）"
    )


def excluded_years_note(years: list[int]) -> str:
    """Break years left out of a fit."""
    return f"除外した年度: {', '.join(map(str, years))}"


def dummy_years_note(years: list[int]) -> str:
    """Break years given a dummy variable in a trend regression."""
    return f"ダミー変数を置いた年度: {', '.join(map(str, years))}"


def holt_note(paths: int) -> str:
    """Holt's method and how its interval was simulated."""
    return f"Holt（ETS・加法）、区間はシミュレーション{paths:,}回"
