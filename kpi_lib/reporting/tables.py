"""Tables and texts laid out for readers: the notebooks' scorecard tables, the look back at the
mid-period outlook, the data's time notes, and the helpers that make any table or text safe and
readable (numbers as people write them, every cell escaped)."""

from __future__ import annotations

import html
import re

import pandas as pd

from kpi_lib.catalog.model import Catalog
from kpi_lib.catalog.notation import to_era
from kpi_lib.core.numbers import reader_number, reader_percent
from kpi_lib.core.vocabulary import (
    EVIDENCE_JA,
    PROGRESS_STATUSES,
    PROVENANCE_JA,
    RELATION_MARK,
    RELATIONS_JA,
    REVIEW_MARK,
    YEAR_BASIS_JA,
    interval_phrase,
    year_basis_word,
    year_word,
)
from kpi_lib.evaluation.outlook import Outlook
from kpi_lib.evaluation.scorecard import Entry
from kpi_lib.observations.values import freshness, freshness_for_readers, mark_chosen
from kpi_lib.reporting.context import ReportContext


def _year_note(year: int | None, relation: str | None = None) -> str:
    if year is None:
        return ""
    mark = RELATION_MARK.get(relation) if isinstance(relation, str) else None
    return f"（{int(year)}{'・' + mark if mark else ''}）"


def reader_table(entries: list[Entry], ids: bool = False) -> pd.DataFrame:
    """The scorecard's entries as readers see them: 基準値, 実績, 目標値, 達成率, 評価, and either
    the final verdict (from the target year on) or the outlook (before it)."""
    final = any(e.evaluation.verdict is not None for e in entries)
    with_outlook = any(
        e.outlook is not None and e.outlook.forecast_value is not None for e in entries
    )
    rows = []
    for entry in entries:
        kpi, ev = entry.kpi, entry.evaluation
        latest = reader_number(ev.latest_value) + _year_note(ev.latest_year, entry.latest_relation)
        if kpi.target.kind == "cumulative" and ev.cumulative_value is not None:
            latest = f"累計 {reader_number(ev.cumulative_value)}（〜{ev.latest_year}）"
            mark = RELATION_MARK.get(str(entry.latest_relation))
            latest += f"・{mark}" if isinstance(mark, str) else ""
        row = {
            **({"ID": kpi.kpi_id} if ids else {}),  # the terminal's: `kpi series ID`
            "施策": kpi.measure_code,
            "指標": kpi.label + (REVIEW_MARK if isinstance(kpi.review, str) else ""),
            "単位": kpi.unit,
            "基準値": reader_number(ev.baseline_value)
            + (f"（{ev.baseline_year}）" if ev.baseline_value is not None else ""),
            "実績": latest,
            "目標値": reader_number(ev.target_resolved)
            + ("（仮）" if kpi.target.placeholder is True else ""),
            "達成率": reader_percent(ev.achievement_rate),
        }
        if final:  # the verdict alone: a pace grade beside it could contradict it (B, 未達成)
            # and, as on the first page, an open one says what it waits for (公表待ち / 未入力)
            row["最終評価"] = entry.result if ev.verdict else ""
            row["注記"] = _first_note(entry)
        else:
            row["評価"] = ev.grade
            row["進捗状況"] = PROGRESS_STATUSES.get(ev.progress_status, "")
        if with_outlook:
            row.update(_outlook_cells(entry))
        rows.append(row)
    return pd.DataFrame(rows)


def _outlook_cells(entry: Entry) -> dict[str, str]:
    """The outlook's columns of the readers' table: the value (its interval), the chance, the
    evidence."""
    o = entry.outlook
    said = ""
    if o is not None and o.forecast_value is not None:
        said = reader_number(o.forecast_value)
        if o.forecast_lower is not None:
            said += f"（{reader_number(o.forecast_lower)}〜{reader_number(o.forecast_upper)}）"
    evidence = o.evidence if o is not None else None
    return {
        "見通し（目標年度）": said,
        "達成確率": reader_percent(o.p_meet if o is not None else None),
        "根拠": EVIDENCE_JA.get(evidence, evidence) or "",
    }


def _first_note(entry: Entry) -> str:
    """Why a verdict is 未確定, or when a target passed early was lost again."""
    ev = entry.evaluation
    if not ev.n_points:
        return "実績なし"
    first = " / ".join(ev.notes).split(" / ")[0]
    return first if ("未確定" in first or "目標に達した" in first) else ""


def hindsight_table(ctx: ReportContext) -> pd.DataFrame:
    """What the tool would have said mid-period, from that year's data only, beside what
    happened."""
    rows = []
    for entry in ctx.scorecard:
        kpi, ev, h = entry.kpi, entry.evaluation, entry.hindsight
        if h is None:
            continue
        o = h.outlook
        said = forecast_words(o) if o.forecast_value is not None else "見通しなし"
        seen = ctx.history(kpi.kpi_id)
        seen = seen[seen["year"] <= h.origin]
        if h.actual is not None:
            outcome = reader_number(h.actual) + (
                "（累計）" if kpi.target.kind == "cumulative" else f"（{kpi.target.year}）"
            )
        elif ev.latest_year is not None:  # what it waits for, as the first page says it
            outcome = (
                f"{entry.result}（最新 {int(ev.latest_year)}: {reader_number(ev.latest_value)}）"
            )
        else:
            outcome = entry.result
        rows.append(
            {
                "指標": kpi.heading,
                "見通しの根拠": (
                    f"{int(seen['year'].max())}{year_word(seen['year_basis'])}までの実績"
                    if not seen.empty
                    else "実績なし"
                )
                + f"（{h.origin}年度時点）",
                "当時の見通し（目標年度）": said,
                "当時の達成確率": reader_percent(o.p_meet),
                "結果": outcome,
                "区間": "" if h.inside is None else ("区間内" if h.inside else "区間外"),
                "最終評価": entry.result if h.verdict else "",
            }
        )
    return pd.DataFrame(rows, columns=HINDSIGHT_COLUMNS)


def forecast_words(o: Outlook, no_interval: str = "") -> str:
    """The forecast value with its interval: 1,234（80%区間 1,100〜1,350）."""
    if o.forecast_lower is None:
        return reader_number(o.forecast_value) + no_interval
    interval = interval_phrase(o.level, o.forecast_lower, o.forecast_upper)
    return f"{reader_number(o.forecast_value)}（{interval}）"


HINDSIGHT_COLUMNS = [
    *("指標", "見通しの根拠", "当時の見通し（目標年度）", "当時の達成確率"),
    *("結果", "区間", "最終評価"),
]


def freshness_table(ctx: ReportContext) -> pd.DataFrame:
    """Each public statistic the catalog uses: the latest year it reaches for this town."""
    return freshness_for_readers(freshness(ctx.catalog, ctx.tables), ctx.fiscal_year)


def freshness_warning(ctx: ReportContext) -> str:
    """One sentence for the first page when a KPI's public data stops before the evaluation year."""
    parts = []
    for kpi in ctx.catalog.kpis:
        if not kpi.public_series:
            continue
        latest = ctx.history(kpi.kpi_id)
        if latest.empty:
            parts.append(f"{kpi.label}（データなし）")
        elif int(latest["year"].max()) < ctx.fiscal_year:
            word = year_word(latest["year_basis"])
            parts.append(f"{kpi.label}（{int(latest['year'].max())}{word}まで）")
    if not parts:
        return ""
    return (
        f"{ctx.fiscal_year}年度の評価ですが、"
        f"次の指標の公表データは{ctx.fiscal_year}年度に届いていません: "
        + "、".join(parts)
        + "。これらは最新の値で示し、"
        + (
            "目標年度の値がないものは最終評価を「公表待ち」としています。"
            if ctx.scorecard.final
            else "評価もその値によります。"
        )
    )


def period_notice(catalog: Catalog, fiscal_year: int) -> str:
    """One sentence for the first page when the year lies before the strategy's period (a starter
    catalog for the next period judged on this year's data): nothing can be judged yet."""
    period = catalog.strategy.period
    if fiscal_year >= period.start:
        return ""
    return (
        f"{fiscal_year}年度（{to_era(fiscal_year)}）は、この戦略の期間"
        f"（{period.start}〜{period.end}年度）が始まる前の年度です。"
        "目標年度に向けた評価はまだできないため、各指標は「評価不能」となり、"
        "この報告は基準値と公表統計の現状を示すにとどまります。"
        f"期間の評価は{period.start}年度の実績から行います。"
    )


def readable(df: pd.DataFrame, percent: tuple[str, ...] = (), index: str | None = None):
    """A numeric table for readers: the index as its first column, numbers with thousands
    separators and ▲ for negatives, `percent` columns as percentages, blanks for gaps."""
    table = df.reset_index() if index is None else df.rename_axis(index).reset_index()
    out = pd.DataFrame(
        {
            col: (
                table[col].map(lambda v: "" if pd.isna(v) else f"{v:.1%}")
                if col in percent
                else table[col].map(reader_number)
                if pd.api.types.is_numeric_dtype(table[col]) and i > 0
                else table[col].map(
                    lambda v: "" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v)
                )
            )
            for i, col in enumerate(table.columns)
        }
    )
    return for_readers(out)


# Markdown marks that act anywhere in a line (emphasis, code, links, tables, strike-through);
# HTML is escaped first. Marks that act only at a line's start (-, +, #, >, 1.) get a
# backslash there.
_INLINE_MARKS = re.compile(r"([\\`*_\[\]~|])")
_LINE_START_MARKS = re.compile(r"^(\s*)([-+#>]|\d+[.)])", re.MULTILINE)


def esc(text) -> str:
    """Text from a catalog, a workbook or a data file, safe inside Markdown: HTML escaped
    and Markdown marks made literal, so it shows as written and never runs in a browser."""
    out = _INLINE_MARKS.sub(r"\\\1", html.escape("" if text is None else str(text), quote=False))
    return _LINE_START_MARKS.sub(lambda m: m[1] + m[2][:-1] + "\\" + m[2][-1], out)


def _cell(v) -> str:
    """One table cell as people write it: numbers with separators (▲ for negatives), no NaN."""
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return ""
    if isinstance(v, bool):
        return "○" if v else ""
    if isinstance(v, int | float):
        return reader_number(v)
    return str(v)


def judgement_text(entry: Entry, *more: str) -> str:
    """Markdown under a KPI's chart: its target, the final verdict or grade, the calculation,
    notes and a baseline's source where the strategy gave none; `more` adds paragraphs (already
    escaped)."""
    kpi, ev = entry.kpi, entry.evaluation
    # from the target year on the verdict alone: a pace grade beside it could contradict it
    result = f"最終評価 **{ev.verdict}**" if ev.verdict else f"評価 **{esc(ev.grade)}**"
    parts = [
        f"{esc(kpi.label)}（目標 {esc(kpi.target.text)}）: {result}",
        f"算定: {esc(ev.calculation)}",
    ]
    if ev.notes:
        parts.append(f"注記: {esc(' / '.join(ev.notes))}")
    if ev.baseline_source not in (None, "strategy"):
        parts.append(f"基準値の出典: {esc(ev.baseline_source)}")
    return "\n\n".join([*parts, *more])


def for_readers(df: pd.DataFrame):
    """A table styled for the report: text left-aligned, no row numbers, every cell HTML-escaped."""
    return (
        df.style.format(_cell, escape="html")
        .hide(axis="index")
        .set_properties(None, **{"text-align": "left"})
        .set_table_styles([{"selector": "th", "props": [("text-align", "left")]}])
    )


def observation_table(ctx: ReportContext, kpi_id: str) -> pd.DataFrame:
    """Every value known for a KPI up to the evaluation year, with the one that counts marked."""
    obs = ctx.observations
    rows = obs[(obs["kpi_id"] == kpi_id) & (obs["year"] <= ctx.fiscal_year)]
    if rows.empty:
        return pd.DataFrame()
    used = mark_chosen(rows)
    rows = rows.assign(used=used).sort_values(["year", "precedence"], na_position="last")
    return pd.DataFrame(
        {
            "年": rows["year"].astype(int).astype(str),
            "年の区分": rows["year_basis"].map(YEAR_BASIS_JA),
            "値": rows["value"].map(reader_number),
            "単位": rows["unit"],
            "種類": rows["provenance"].map(PROVENANCE_JA),
            "統計の種類": rows["relation"].map(
                lambda r: RELATIONS_JA.get(r, "") if isinstance(r, str) else ""
            ),
            "評価に使用": rows["used"].map({True: "○", False: ""}),
            "出典": rows["source"],
        }
    )


def sources_table(ctx: ReportContext) -> pd.DataFrame:
    """Which source each KPI's values came from, with year basis and licence."""
    used = ctx.chosen[ctx.chosen["year"] <= ctx.fiscal_year]
    if used.empty:
        return pd.DataFrame(columns=["指標", "出典", "統計の種類", "年の区分", "ライセンス", "年"])
    headings = {k.kpi_id: k.heading for k in ctx.catalog.kpis}
    g = used.assign(kpi=used["kpi_id"].map(headings)).groupby("kpi", sort=False)
    return (
        pd.DataFrame(
            {
                "出典": g["source"].agg(lambda s: " / ".join(dict.fromkeys(s))),
                "統計の種類": g["relation"].agg(
                    lambda s: " / ".join(
                        dict.fromkeys(
                            RELATIONS_JA.get(x, "担当課の入力")
                            if isinstance(x, str) and x
                            else "担当課の入力"
                            for x in s
                        )
                    )
                ),
                "年の区分": g["year_basis"].agg(
                    lambda s: " / ".join(dict.fromkeys(year_basis_word(x) for x in s))
                ),
                "ライセンス": g["licence"].agg(
                    lambda s: " / ".join(dict.fromkeys(x for x in s if x))
                ),
                "年": g["year"].agg(lambda s: f"{int(s.min())}〜{int(s.max())}"),
            }
        )
        .rename_axis("指標")
        .reset_index()
    )
