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


# --- intervals and forecasts -----------------------------------------------------------------


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
