"""One chart style for every notebook: Japanese labels that render, and the KPI chart.

matplotlib-fontja registers IPAexGothic (japanize-matplotlib breaks on Python 3.12+).
The KPI chart shows the history, the baseline (◆), the target (★) with the straight path
from one to the other, and the forecast fan.
"""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import matplotlib_fontja  # noqa: F401  (registers the Japanese font)
import pandas as pd
import seaborn as sns

PALETTE = {"history": "#305496", "baseline": "#7F7F7F", "target": "#C00000", "path": "#C00000",
           "forecast": "#ED7D31", "peer": "#BFBFBF"}
GRADE_COLORS = {"A": "#2E7D32", "B": "#9CCC65", "C": "#FBC02D", "D": "#E53935", "−": "#BDBDBD",
                "◎": "#2E7D32", "○": "#9CCC65", "△": "#FBC02D", "×": "#E53935", "S": "#1B5E20"}


def use_style() -> None:
    """The seaborn theme with the Japanese font (call once per notebook)."""
    sns.set_theme(style="whitegrid", context="notebook", font="IPAexGothic")
    plt.rcParams["axes.unicode_minus"] = False  # the font's own minus sign
    plt.rcParams["figure.dpi"] = 100
    plt.rcParams["figure.figsize"] = (8, 4.2)


def _year_word(history: pd.DataFrame | None) -> str:
    """'年' for calendar-year series (住民基本台帳), '年度' for fiscal years."""
    if history is not None and "year_basis" in history and (history["year_basis"] == "calendar").all():
        return "年"
    return "年度"


def kpi_chart(kpi, evaluation, outlook=None, history: pd.DataFrame | None = None, ax=None):
    """History, baseline, target and its straight path, and the forecast fan of one KPI."""
    ax = ax or plt.subplots()[1]
    yw = _year_word(history)
    if history is not None and not history.empty:
        ax.plot(history["year"], history["value"], marker="o", color=PALETTE["history"], label="実績")
    ev = evaluation
    cumulative = kpi.target.kind == "cumulative"
    if ev.baseline_year is not None and ev.baseline_value is not None and not cumulative:
        ax.scatter([ev.baseline_year], [ev.baseline_value], marker="D", s=70, color=PALETTE["baseline"],
                   zorder=5, label=f"基準値（{ev.baseline_year}{yw}）")
        if ev.target_resolved is not None:
            ax.plot([ev.baseline_year, ev.target_year], [ev.baseline_value, ev.target_resolved], ls=":",
                    color=PALETTE["path"], label="目標への直線（目安値）")
    if ev.target_resolved is not None and not cumulative:
        ax.scatter([ev.target_year], [ev.target_resolved], marker="*", s=200, color=PALETTE["target"], zorder=6,
                   label=f"目標値（{ev.target_year}年度）")
    if outlook is not None and outlook.path and not cumulative:
        # The fan opens at the latest observation.
        start = [(ev.latest_year, ev.latest_value, ev.latest_value, ev.latest_value)] if ev.latest_year else []
        path = start + [tuple(p) for p in outlook.path]
        ax.plot([p[0] for p in path], [p[1] for p in path], ls="--", color=PALETTE["forecast"],
                label=f"見通し（{outlook.method}）")
        if outlook.path[0][2] is not None:
            ax.fill_between([p[0] for p in path], [p[2] for p in path], [p[3] for p in path],
                            color=PALETTE["forecast"], alpha=0.2, label=f"{outlook.level:.0%}区間")
    ax.set_title(kpi.label)
    ax.set_xlabel(yw)
    ax.set_ylabel(kpi.unit)
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.legend(loc="best", fontsize=8)
    return ax


def cumulative_chart(kpi, evaluation, outlook=None, history: pd.DataFrame | None = None, ax=None):
    """Running total over the window against the pro-rata path to the total."""
    ax = ax or plt.subplots()[1]
    w = kpi.target.window
    total = evaluation.target_resolved
    ax.plot([w.start - 1, w.end], [0, total], ls=":", color=PALETTE["path"], label="目標累計への直線")
    ax.scatter([w.end], [total], marker="*", s=200, color=PALETTE["target"], zorder=6, label=f"目標累計 {total:,.0f}")
    if history is not None and not history.empty:
        inw = history[(history["year"] >= w.start) & (history["year"] <= w.end)].sort_values("year")
        if not inw.empty:
            ax.plot(inw["year"], inw["value"].cumsum(), marker="o", color=PALETTE["history"], label="累計（実績）")
    if outlook is not None and outlook.forecast_value is not None and outlook.path:
        ax.errorbar([w.end], [outlook.forecast_value],
                    yerr=[[outlook.forecast_value - (outlook.forecast_lower or outlook.forecast_value)],
                          [(outlook.forecast_upper or outlook.forecast_value) - outlook.forecast_value]],
                    fmt="s", color=PALETTE["forecast"], capsize=5, label="累計の見通し")
    yw = _year_word(history)
    ax.set_title(f"{kpi.label}（{w.start}〜{w.end}{yw}の累計）")
    ax.set_xlabel(yw)
    ax.set_ylabel(kpi.unit)
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.legend(loc="best", fontsize=8)
    return ax


def grade_bar(counts: pd.DataFrame, ax=None):
    """Stacked bars of grades per basic goal."""
    ax = ax or plt.subplots(figsize=(8, 3.5))[1]
    data = counts.drop(index="計", errors="ignore")
    left = pd.Series(0, index=data.index)
    for grade in data.columns:
        ax.barh([f"基本目標{g}" for g in data.index], data[grade], left=left, color=GRADE_COLORS.get(grade, "#999"),
                label=grade)
        left += data[grade]
    ax.invert_yaxis()
    ax.set_xlabel("指標数")
    ax.legend(title="評価", ncols=len(data.columns), fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.22))
    return ax
