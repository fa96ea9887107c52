"""One chart style for every notebook: Japanese labels that render, and the KPI chart.

matplotlib-fontja registers IPAexGothic (japanize-matplotlib breaks on Python 3.12+).
The KPI chart shows the history, the baseline (◆), the target (★) with the straight path
from one to the other, and the forecast fan.
"""

from __future__ import annotations

import io

import matplotlib.pyplot as plt
import matplotlib_fontja  # noqa: F401  (registers the Japanese font)
import pandas as pd
from cycler import cycler
from matplotlib import ticker

from kpi_lib.core.glyphs import drawable
from kpi_lib.core.numbers import number_text
from kpi_lib.core.vocabulary import AWAITED, METHOD_JA, NOT_ENTERED, year_word

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
    AWAITED: "#BDBDBD",  # an open result: grey, as its badge on the pages
    NOT_ENTERED: "#9E9E9E",
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
    plt.rcParams["legend.fontsize"] = 9


# ── axes as people read them ──────────────────────────────────────────────────
# Every chart goes through these: years as 2005 (never 2007.5), 1,234 and ▲153 as in the tables
# (kpi_lib.core.numbers), shares in %, counts on whole ticks, log axes in plain numbers (text.
# parse_math stays off so a '$' in a KPI name is text; a log axis can't use mathtext's 10^4).


def tick_number(v, _pos=None) -> str:
    """A tick label as the tables write the number: 1,000 / 2.5 / ▲150."""
    return number_text(v, decimals=2, negative="▲")


def year_axis(axis, nbins: int | None = None) -> None:
    """Whole years only, written 2005 (not 2005.0, no 2007.5); `nbins` for a narrow panel."""
    axis.set_major_locator(
        ticker.MaxNLocator(nbins=nbins or "auto", integer=True, steps=[1, 2, 5, 10])
    )
    axis.set_major_formatter(ticker.FuncFormatter(lambda v, _pos=None: f"{v:.0f}"))


def number_axis(axis, *, counts: bool = False) -> None:
    """Thousands separators and ▲ negatives; `counts` keeps the ticks on whole numbers."""
    if counts:
        axis.set_major_locator(ticker.MaxNLocator(integer=True, steps=[1, 2, 5, 10]))
    axis.set_major_formatter(ticker.FuncFormatter(tick_number))


def percent_axis(axis, whole: float = 1.0) -> None:
    """A share axis in %: `whole` is what 100% is (1.0 for fractions, 100 for percents)."""
    axis.set_major_formatter(
        ticker.FuncFormatter(lambda v, _pos=None: tick_number(v * 100 / whole) + "%")
    )


def log_axis(ax, which: str = "y") -> None:
    """A log scale labelled 100 / 1,000 / 10,000 (matplotlib's default is mathtext 10^4)."""
    (ax.set_yscale if which == "y" else ax.set_xscale)("log")
    axis = ax.yaxis if which == "y" else ax.xaxis
    axis.set_major_locator(ticker.LogLocator(base=10))
    axis.set_major_formatter(ticker.FuncFormatter(tick_number))
    axis.set_minor_formatter(ticker.NullFormatter())


def forecast_label(method: str | None) -> str:
    """「見通し（…）」 with the method in words; an unknown method is not shown as a code."""
    words = METHOD_JA.get(method or "")
    return f"見通し（{words}）" if words else "見通し"


def describe(fig) -> str:
    """The figure in words for a reader who cannot see it (an image's alt text)."""
    parts = []
    if fig.get_suptitle():
        parts.append(fig.get_suptitle())
    for ax in fig.axes:
        title = ax.get_title()
        if not title:
            continue  # a colour bar
        axes = "、".join(
            f"{name}: {label}"
            for name, label in (("横軸", ax.get_xlabel()), ("縦軸", ax.get_ylabel()))
            if label
        )
        parts.append(f"{title}（{axes}）" if axes else title)
    return "。".join(parts) + "のグラフ" if parts else "グラフ"


FILE_DPI = 150  # the figures/ files, and the page's image (shown at the figure's own size)


def figure_png(fig) -> bytes:
    """The figure as a tight PNG at FILE_DPI, drawn once: the file `save_figure` kept and the
    page's image are the same drawing, unless the figure changed since (then it is drawn again).
    A tight savefig lays the figure out twice (to find its box, to draw it); a second PNG at
    another dpi cost a third pass."""
    png = getattr(fig, "report_png", None)
    if png is None or fig.stale:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=FILE_DPI, bbox_inches="tight")
        png = fig.report_png = buf.getvalue()
        fig.stale = False  # any change to an artist from here on sets it again
    return png


def show(fig) -> None:
    """Display the figure in the notebook with its description as alt text (the HTML export
    reads it from the output's metadata) and close it. The image is the FILE_DPI drawing shown
    at the figure's own size (sharper on screen and in print than one drawn at that size)."""
    from IPython.display import Image, display

    png, alt = figure_png(fig), describe(fig)
    width = round(int.from_bytes(png[16:20], "big") * fig.dpi / FILE_DPI)  # the PNG's IHDR
    plt.close(fig)
    display(Image(data=png, format="png", width=width, metadata={"alt": alt}))


def _year_word(history: pd.DataFrame | None) -> str:
    """'年' for calendar-year series (住民基本台帳), '年度' for fiscal years."""
    if history is None or "year_basis" not in history:
        return "年度"
    return year_word(history["year_basis"])


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
            label=forecast_label(outlook.method),
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
    return _finish_kpi_axes(ax, kpi.label, kpi.unit, yw)


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
    return _finish_kpi_axes(ax, f"{kpi.label}（{w.start}〜{w.end}{yw}の累計）", kpi.unit, yw)


def _finish_kpi_axes(ax, title: str, unit: str, year_word: str):
    """A KPI chart's title, axis labels (the years' word, the unit), ticks and legend."""
    ax.set_title(drawable(title))
    ax.set_xlabel(year_word)
    ax.set_ylabel(drawable(unit))
    year_axis(ax.xaxis)
    number_axis(ax.yaxis)
    ax.legend(loc="best")
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
    number_axis(ax.xaxis, counts=True)
    ax.legend(
        title=counts.columns.name or "評価",
        ncols=len(data.columns),
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
    percent_axis(ax.yaxis)
    year_axis(ax.xaxis)
    ax.set(xlabel="年度", ylabel="受入額に対する割合（%）")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1))
    return ax


def month_heatmap(monthly: pd.DataFrame, title: str, unit: str = "千人", ax=None):
    """Fiscal year × month values as a heatmap (April first)."""
    ax = ax or plt.subplots(figsize=(9, 5))[1]
    image = ax.imshow(monthly.to_numpy(float), cmap="Blues", aspect="auto")
    bar = ax.figure.colorbar(image, ax=ax, label=unit)
    number_axis(bar.ax.yaxis)
    ax.set_xticks(range(monthly.shape[1]), [f"{m}月" for m in monthly.columns])
    ax.set_yticks(range(monthly.shape[0]), [str(y) for y in monthly.index])
    ax.grid(False)
    ax.set(title=title, xlabel="月", ylabel="年度")
    return ax


def mix_areas(shares: pd.DataFrame, groups: list[list[str]], titles: list[str]):
    """One stacked-area panel per group of shares (each group sums to 1); returns the last axes.

    Drawn with stackplot (pandas' area legend showed the first band without a swatch); the
    legend lists the bands top first, as they are stacked."""
    fig, axes = plt.subplots(1, len(groups), figsize=(5 * len(groups), 3.8), squeeze=False)
    for ax, cols, title in zip(axes[0], groups, titles, strict=True):
        data = shares[cols].dropna(how="all")
        ax.stackplot(
            data.index, *(data[c].fillna(0) for c in cols), labels=cols, colors=MUTED[: len(cols)]
        )
        ax.set(title=title, xlabel="年度", ylabel="構成比（%）", ylim=(0, 1))
        year_axis(ax.xaxis)
        percent_axis(ax.yaxis)
        handles, labels = ax.get_legend_handles_labels()
        ax.legend(handles[::-1], labels[::-1], loc="lower left", frameon=True)
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
    year_axis(ax.xaxis)
    number_axis(ax.yaxis)
    ax.legend()
    return ax


def migration_chart(mig: pd.DataFrame, title: str, ax=None):
    """転入 and 転出 as lines, 社会増減 as bars around zero, by calendar year."""
    ax = ax or plt.subplots()[1]
    for col in ("転入", "転出"):
        ax.plot(mig.index, mig[col], marker="o", label=col)
    ax.bar(mig.index, mig["社会増減"], color="#BDBDBD", label="社会増減")
    ax.axhline(0, color="black", lw=0.8)
    ax.set(title=title, xlabel="年", ylabel="人")
    year_axis(ax.xaxis)
    number_axis(ax.yaxis)
    ax.legend()
    return ax


def rate_bars(rates: pd.Series, highlight: str, title: str, xlabel: str, ax=None):
    """Horizontal bars of a rate in % (▲ for a fall), the highlighted row red."""
    ax = ax or plt.subplots(figsize=(8, max(3, 0.3 * len(rates))))[1]
    colors = [PALETTE["target"] if i == highlight else PALETTE["history"] for i in rates.index]
    ax.barh(list(rates.index), rates.to_numpy(float), color=colors)
    ax.invert_yaxis()
    ax.axvline(0, color="black", lw=0.8)
    ax.set(title=title, xlabel=xlabel)
    percent_axis(ax.xaxis, whole=100)
    return ax


def seasonal_bars(profile: pd.Series, title: str, ax=None):
    """Each month's mean share of the fiscal year (April first), in %."""
    ax = ax or plt.subplots()[1]
    ax.bar([f"{m}月" for m in profile.index], profile.to_numpy(float), color=PALETTE["history"])
    ax.set(title=title, xlabel="月", ylabel="構成比（%）")
    percent_axis(ax.yaxis)
    ax.grid(axis="x", visible=False)
    return ax


def share_line(share: pd.Series, title: str, ylabel: str, ax=None):
    """A share (a fraction) by fiscal year, in %."""
    ax = ax or plt.subplots()[1]
    ax.plot(share.index, share.to_numpy(float), marker="o", color=PALETTE["history"])
    ax.set(title=title, xlabel="年度", ylabel=ylabel)
    year_axis(ax.xaxis)
    percent_axis(ax.yaxis)
    return ax


def furusato_overview(gifts: pd.DataFrame):
    """受入件数, 受入額 (億円) and the mean gift (円) side by side; returns the figure."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    axes[0].bar(gifts.index, gifts["受入件数"], color=PALETTE["history"])
    axes[0].set(title="受入件数", xlabel="年度", ylabel="件")
    number_axis(axes[0].yaxis, counts=True)
    axes[1].bar(gifts.index, gifts["受入額(円)"] / 1e8, color=PALETTE["forecast"])
    axes[1].set(title="受入額", xlabel="年度", ylabel="億円")
    number_axis(axes[1].yaxis)
    axes[2].plot(gifts.index, gifts["平均寄附額(円)"], marker="o", color="#2E7D32")
    axes[2].set(title="平均寄附額", xlabel="年度", ylabel="円")
    number_axis(axes[2].yaxis)
    for ax in axes:
        year_axis(ax.xaxis, nbins=5)
    fig.tight_layout()
    return fig
