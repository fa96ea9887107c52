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
from cycler import cycler

from kpi_lib.core.glyphs import drawable

PALETTE = {
    "history": "#305496",
    "baseline": "#7F7F7F",
    "target": "#C00000",
    "path": "#C00000",
    "forecast": "#ED7D31",
    "peer": "#BFBFBF",
}
GRADE_COLORS = {
    "A": "#2E7D32",
    "B": "#9CCC65",
    "C": "#FBC02D",
    "D": "#E53935",
    "−": "#BDBDBD",
    "◎": "#2E7D32",
    "○": "#9CCC65",
    "△": "#FBC02D",
    "×": "#E53935",
    "S": "#1B5E20",
    "達成": "#2E7D32",
    "未達成": "#E53935",
    "未確定": "#BDBDBD",
}


# seaborn's "muted" palette, written out: the charts need its look, not its import (which pulls
# in scipy.stats and costs every report kernel most of a second).
MUTED = ["#4878D0", "#EE854A", "#6ACC64", "#D65F5F", "#956CB4", "#8C613C", "#DC7EC0", "#797979"]


def use_style() -> None:
    """The whitegrid style with the Japanese font (call once per notebook)."""
    plt.style.use("seaborn-v0_8-whitegrid")
    plt.rcParams["font.family"] = "IPAexGothic"
    plt.rcParams["axes.prop_cycle"] = cycler(color=MUTED)
    plt.rcParams["axes.unicode_minus"] = False  # the font's own minus sign
    plt.rcParams["text.parse_math"] = False  # a '$' in a KPI name is text, not mathtext
    plt.rcParams["figure.dpi"] = 100
    plt.rcParams["figure.figsize"] = (8, 4.2)


def _year_word(history: pd.DataFrame | None) -> str:
    """'年' for calendar-year series (住民基本台帳), '年度' for fiscal years."""
    if (
        history is not None
        and "year_basis" in history
        and (history["year_basis"] == "calendar").all()
    ):
        return "年"
    return "年度"


def kpi_chart(kpi, evaluation, outlook=None, history: pd.DataFrame | None = None, ax=None):
    """History, baseline, target and its straight path, and the forecast fan of one KPI."""
    ax = ax or plt.subplots()[1]
    yw = _year_word(history)
    if history is not None and not history.empty:
        ax.plot(
            history["year"], history["value"], marker="o", color=PALETTE["history"], label="実績"
        )
        _mark_other_statistics(ax, history, history["value"])
    ev = evaluation
    cumulative = kpi.target.kind == "cumulative"
    if ev.baseline_year is not None and ev.baseline_value is not None and not cumulative:
        _marker(
            ax, ev.baseline_year, ev.baseline_value, "baseline", f"基準値（{ev.baseline_year}{yw}）"
        )
        if ev.target_resolved is not None:
            ax.plot(
                [ev.baseline_year, ev.target_year],
                [ev.baseline_value, ev.target_resolved],
                ls=":",
                color=PALETTE["path"],
                label="目標への直線（目安値）",
            )
    if ev.target_resolved is not None and not cumulative:
        _marker(ax, ev.target_year, ev.target_resolved, "target", f"目標値（{ev.target_year}年度）")
    if outlook is not None and outlook.path and not cumulative:
        # The fan opens at the latest observation.
        start = (
            [(ev.latest_year, ev.latest_value, ev.latest_value, ev.latest_value)]
            if ev.latest_year
            else []
        )
        path = start + [tuple(p) for p in outlook.path]
        ax.plot(
            [p[0] for p in path],
            [p[1] for p in path],
            ls="--",
            color=PALETTE["forecast"],
            label=f"見通し（{outlook.method}）",
        )
        if outlook.path[0][2] is not None:
            ax.fill_between(
                [p[0] for p in path],
                [p[2] for p in path],
                [p[3] for p in path],
                color=PALETTE["forecast"],
                alpha=0.2,
                label=f"{outlook.level:.0%}区間",
            )
    ax.set_title(drawable(kpi.label))
    ax.set_xlabel(yw)
    ax.set_ylabel(drawable(kpi.unit))
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.legend(loc="best", fontsize=8)
    return ax


OTHER_STATISTIC_LABELS = {"related": "別の統計による値", "proxy": "代理指標による値"}


# The baseline's diamond and the target's star: how each point of the strategy is drawn.
_MARKERS = {"baseline": ("D", 70, 5), "target": ("*", 200, 6)}


def _marker(ax, year, value, kind: str, label: str) -> None:
    shape, size, z = _MARKERS[kind]
    ax.scatter([year], [value], marker=shape, s=size, color=PALETTE[kind], zorder=z, label=label)


def _mark_other_statistics(ax, history: pd.DataFrame, y: pd.Series) -> None:
    """Hollow markers on the points that come from another statistic than the KPI's own."""
    if "relation" not in history:
        return
    for relation, label in OTHER_STATISTIC_LABELS.items():
        other = history["relation"].eq(relation).to_numpy()
        if other.any():
            ax.scatter(
                history["year"][other],
                y[other],
                s=90,
                facecolors="white",
                edgecolors=PALETTE["history"],
                linewidths=2,
                zorder=7,
                label=label,
            )


def cumulative_chart(kpi, evaluation, outlook=None, history: pd.DataFrame | None = None, ax=None):
    """Running total over the window against the pro-rata path to the total."""
    ax = ax or plt.subplots()[1]
    w = kpi.target.span
    total = evaluation.target_resolved
    ax.plot(
        [w.start - 1, w.end], [0, total], ls=":", color=PALETTE["path"], label="目標累計への直線"
    )
    ax.scatter(
        [w.end],
        [total],
        marker="*",
        s=200,
        color=PALETTE["target"],
        zorder=6,
        label=f"目標累計 {total:,.0f}",
    )
    if history is not None and not history.empty:
        inw = history[(history["year"] >= w.start) & (history["year"] <= w.end)].sort_values("year")
        if not inw.empty:
            ax.plot(
                inw["year"],
                inw["value"].cumsum(),
                marker="o",
                color=PALETTE["history"],
                label="累計（実績）",
            )
            _mark_other_statistics(ax, inw, inw["value"].cumsum())
    if outlook is not None and outlook.forecast_value is not None and outlook.path:
        ax.errorbar(
            [w.end],
            [outlook.forecast_value],
            yerr=[
                [outlook.forecast_value - (outlook.forecast_lower or outlook.forecast_value)],
                [(outlook.forecast_upper or outlook.forecast_value) - outlook.forecast_value],
            ],
            fmt="s",
            color=PALETTE["forecast"],
            capsize=5,
            label="累計の見通し",
        )
    yw = _year_word(history)
    ax.set_title(drawable(f"{kpi.label}（{w.start}〜{w.end}{yw}の累計）"))
    ax.set_xlabel(yw)
    ax.set_ylabel(drawable(kpi.unit))
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.legend(loc="best", fontsize=8)
    return ax


def grade_bar(counts: pd.DataFrame, ax=None):
    """Stacked bars of grades per basic goal."""
    ax = ax or plt.subplots(figsize=(8, 3.5))[1]
    data = counts.drop(index="計", errors="ignore")
    left = pd.Series(0, index=data.index)
    for grade in data.columns:
        ax.barh(
            [f"基本目標{g}" for g in data.index],
            data[grade],
            left=left,
            color=GRADE_COLORS.get(grade, "#999"),
            label=grade,
        )
        left += data[grade]
    ax.invert_yaxis()
    ax.set_xlabel("指標数")
    ax.legend(
        title=counts.columns.name or "評価",
        ncols=len(data.columns),
        fontsize=8,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.22),
    )
    return ax


def cost_structure_chart(
    costs: pd.DataFrame, items: list[str], gift_cap: float, cost_cap: float, ax=None
):
    """Each cost item as a share of the donations received, stacked by year, with the caps."""
    ax = ax or plt.subplots(figsize=(9, 4.2))[1]
    shares = costs[items].div(costs["受入額"], axis=0)
    bottom = pd.Series(0.0, index=shares.index)
    colors = [MUTED[i % len(MUTED)] for i in range(len(items))]
    for item, color in zip(items, colors, strict=True):
        ax.bar(shares.index, shares[item].fillna(0), bottom=bottom, color=color, label=item)
        bottom += shares[item].fillna(0)
    ax.axhline(
        gift_cap, color=PALETTE["target"], ls=":", lw=1.2, label=f"返礼品の上限（{gift_cap:.0%}）"
    )
    ax.axhline(
        cost_cap,
        color=PALETTE["target"],
        ls="--",
        lw=1.2,
        label=f"経費全体の上限（{cost_cap:.0%}）",
    )
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0, decimals=0))
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set(xlabel="年度", ylabel="受入額に対する割合")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    return ax


def month_heatmap(monthly: pd.DataFrame, title: str, unit: str = "千人", ax=None):
    """Fiscal year × month values as a heatmap (April first)."""
    ax = ax or plt.subplots(figsize=(9, 5))[1]
    image = ax.imshow(monthly.to_numpy(float), cmap="Blues", aspect="auto")
    ax.figure.colorbar(image, ax=ax, label=unit)
    ax.set_xticks(range(monthly.shape[1]), [f"{m}月" for m in monthly.columns])
    ax.set_yticks(range(monthly.shape[0]), [str(y) for y in monthly.index])
    ax.grid(False)
    ax.set(title=title, xlabel="月", ylabel="年度")
    return ax


def mix_areas(shares: pd.DataFrame, groups: list[list[str]], titles: list[str]):
    """One stacked-area panel per group of shares (each group sums to 1); returns the last axes."""
    fig, axes = plt.subplots(1, len(groups), figsize=(5 * len(groups), 3.8), squeeze=False)
    for ax, cols, title in zip(axes[0], groups, titles, strict=True):
        shares[cols].plot.area(ax=ax, title=title)
        ax.set(xlabel="年度", ylabel="構成比")
        ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0, decimals=0))
    return axes[0][-1]


def peer_lines(indexed: pd.DataFrame, highlight: str, title: str, ylabel: str, ax=None):
    """Each column a grey line; the highlighted one red and thick; 100 marked."""
    ax = ax or plt.subplots(figsize=(9, 5))[1]
    for col in indexed.columns:
        mine = col == highlight
        ax.plot(
            indexed.index,
            indexed[col],
            color=PALETTE["target"] if mine else PALETTE["peer"],
            lw=2.5 if mine else 1,
            label=col if mine else None,
            zorder=3 if mine else 2,
        )
    ax.axhline(100, color="black", lw=0.8)
    ax.set(title=title, xlabel="年度", ylabel=ylabel)
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.legend(fontsize=8)
    return ax
