"""What the notebooks share: loading everything once, and tables laid out for readers."""

from __future__ import annotations

import html
import pickle
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Literal

import pandas as pd

from kpi_lib.catalog.model import RELATIONS_JA, Catalog, load_catalog
from kpi_lib.catalog.notation import to_era
from kpi_lib.core.numbers import reader_number, reader_percent
from kpi_lib.core.paths import DATA_DIR
from kpi_lib.evaluation.rules import PROGRESS_STATUSES, RuleSettings
from kpi_lib.evaluation.scorecard import EVIDENCE_JA, build_scorecard
from kpi_lib.observations.gather import load_inputs
from kpi_lib.observations.judgements import Returned
from kpi_lib.observations.status import kpi_status
from kpi_lib.observations.values import (
    choose_values,
    freshness,
    freshness_for_readers,
    mark_chosen,
    municipality_for,
)


@dataclass
class ReportContext:
    """What every report notebook works from: the catalog, the observations and the scorecard with
    forecasts."""

    fiscal_year: int
    municipality_code: str
    catalog: Catalog
    observations: pd.DataFrame
    card: pd.DataFrame
    evaluations: dict
    settings: RuleSettings
    data_dir: Path
    # the departments' judgements and the committee's opinions
    returned: Returned = field(default_factory=Returned.empty)

    @property
    def opinions(self) -> dict[int, str]:
        """The committee's opinion per basic goal for this year."""
        return self.returned.opinions_for(self.fiscal_year)

    @cached_property
    def status(self) -> pd.DataFrame:
        """Per KPI: its department and whether the year's figure and judgement are in."""
        return kpi_status(self.catalog, self.returned, self.fiscal_year)

    @cached_property
    def chosen(self) -> pd.DataFrame:
        """One value per KPI and year, as the rules used them."""
        return choose_values(self.observations)

    def kpi(self, kpi_id: str):
        """The catalog's KPI with this id."""
        return self.catalog.get(kpi_id)

    def kpi_for(self, dataset: str, *measures: str):
        """The catalog's KPI fed by one of these public statistics (first listed), or None.

        Notebooks find their KPIs this way, never by id, so they serve any catalog."""
        return next(
            (
                k
                for k in self.catalog.kpis
                if k.public_series
                and k.public_series[0].dataset == dataset
                and k.public_series[0].measure in measures
            ),
            None,
        )

    def first_kpi_with_data(self):
        """The default of the deep dive: the first numeric goal (★) with data, else any KPI with
        data."""
        with_data = [
            k for k in self.catalog.kpis if not self.history(k.kpi_id).empty
        ] or self.catalog.kpis
        return next((k for k in with_data if k.numeric_goal), with_data[0])

    def history(self, kpi_id: str) -> pd.DataFrame:
        """The values the rules used (one per year), oldest first."""
        chosen = self.chosen
        rows = chosen[(chosen["kpi_id"] == kpi_id) & (chosen["year"] <= self.fiscal_year)]
        return rows.sort_values("year")


def load_context(
    fiscal_year: int,
    municipality_code: str = "",
    catalog_path: str = "",
    data_dir: str = "",
    grades: str = "ABCD",
    formula: Literal["progress", "ratio"] = "progress",
    cache: str = "",
) -> ReportContext:
    """Catalog, observations and the scorecard with forecasts, as of `fiscal_year`.

    `municipality_code` empty: the catalog's (another one is refused). `cache`: a file `kpi
    report` wrote with `save_context`, computed once for all its notebooks; used only if it
    was made with the same arguments, else computed afresh.
    """
    key = _key(fiscal_year, municipality_code, catalog_path, data_dir, grades, formula)
    if cache and Path(cache).exists():
        with open(cache, "rb") as fh:
            stored_key, ctx = pickle.load(fh)
        if stored_key == key:
            return ctx
    catalog = load_catalog(catalog_path or None)
    data = Path(data_dir) if data_dir else DATA_DIR
    catalog.check_evaluation_year(int(fiscal_year), "fiscal_year")
    municipality_code = municipality_for(catalog, municipality_code, data)
    settings = RuleSettings(formula=formula, grades=grades)
    returned = load_inputs(catalog, data, municipality_code)
    obs = returned.observations
    card, evaluations = build_scorecard(
        catalog,
        obs,
        fiscal_year,
        settings,
        data_dir=data,
        municipality_code=municipality_code,
        judgements=returned.judgements_for(int(fiscal_year)),
    )
    return ReportContext(
        fiscal_year, municipality_code, catalog, obs, card, evaluations, settings, data, returned
    )


def _key(fiscal_year, municipality_code, catalog_path, data_dir, grades, formula) -> tuple:
    resolve = lambda p: str(Path(p).resolve()) if p else ""  # noqa: E731
    return (
        int(fiscal_year),
        str(municipality_code),
        resolve(catalog_path),
        resolve(data_dir),
        grades,
        formula,
    )


def save_context(
    ctx: ReportContext,
    path: Path,
    catalog_path: str = "",
    data_dir: str = "",
    grades: str = "ABCD",
    formula: str = "progress",
) -> None:
    """Store the evaluated context for the report's kernels, so that each loads it instead of
    evaluating again."""
    key = _key(ctx.fiscal_year, ctx.municipality_code, catalog_path, data_dir, grades, formula)
    with open(path, "wb") as fh:
        pickle.dump((key, ctx), fh)


def save_figure(fig, output_dir: str, name: str) -> None:
    """Keep a figure beside the report when the notebook is given an output folder."""
    if output_dir:
        Path(output_dir).mkdir(parents=True, exist_ok=True)
        fig.savefig(Path(output_dir) / f"{name}.png", dpi=150, bbox_inches="tight")


# Beside a figure that comes from another statistic than the KPI's own (docs/rules.md).
RELATION_MARK = {"related": "別の統計", "proxy": "代理指標"}


def _year_note(year, relation=None) -> str:
    if year is None or pd.isna(year):
        return ""
    mark = RELATION_MARK.get(relation) if isinstance(relation, str) else None
    return f"（{int(year)}{'・' + mark if mark else ''}）"


REVIEW_MARK = "【要確認】"  # an imported indicator whose `review` is still open


def reader_table(card: pd.DataFrame, ids: bool = False) -> pd.DataFrame:
    """The scorecard as readers see it: 基準値, 実績, 目標値, 達成率, 評価, and either the
    final verdict (from the target year on) or the outlook (before it)."""
    final = card["verdict"].notna().any()
    with_outlook = card["forecast_value"].notna().any()
    rows = []
    for _, r in card.iterrows():
        latest = reader_number(r["latest_value"]) + _year_note(
            r["latest_year"], r.get("latest_relation")
        )
        if r["target_kind"] == "cumulative" and pd.notna(r["cumulative_value"]):
            latest = f"累計 {reader_number(r['cumulative_value'])}（〜{int(r['latest_year'])}）"
            mark = RELATION_MARK.get(str(r.get("latest_relation")))
            latest += f"・{mark}" if isinstance(mark, str) else ""
        row = {
            **({"ID": r["kpi_id"]} if ids else {}),  # the terminal's: `kpi series ID`
            "施策": r["measure"],
            "指標": r["name_ja"] + (REVIEW_MARK if isinstance(r.get("review"), str) else ""),
            "単位": r["unit"],
            "基準値": reader_number(r["baseline_value"])
            + (f"（{int(r['baseline_year'])}）" if pd.notna(r["baseline_value"]) else ""),
            "実績": latest,
            "目標値": reader_number(r["target_resolved"])
            + ("（仮）" if r.get("target_placeholder") is True else ""),
            "達成率": reader_percent(r["achievement_rate"]),
        }
        if final:  # the verdict alone: a pace grade beside it could contradict it (B, 未達成)
            row["最終評価"] = r["verdict"] if isinstance(r["verdict"], str) else ""
            row["注記"] = _first_note(r)
        else:
            row["評価"] = r["grade"]
            row["進捗状況"] = PROGRESS_STATUSES.get(r["progress_status"], "")
        if with_outlook:
            outlook = ""
            if pd.notna(r["forecast_value"]):
                outlook = reader_number(r["forecast_value"])
                if pd.notna(r["forecast_lower"]):
                    low, high = r["forecast_lower"], r["forecast_upper"]
                    outlook += f"（{reader_number(low)}〜{reader_number(high)}）"
            row.update(
                {
                    "見通し（目標年度）": outlook,
                    "達成確率": reader_percent(r["p_meet"]),
                    "根拠": EVIDENCE_JA.get(r["evidence"], r["evidence"]),
                }
            )
        rows.append(row)
    return pd.DataFrame(rows)


def _first_note(r) -> str:
    """Why a verdict is 未確定, or when a target passed early was lost again."""
    if not r["n_points"]:
        return "実績なし"
    notes = r["notes"] if isinstance(r["notes"], str) else ""
    first = notes.split(" / ")[0]
    return first if ("未確定" in first or "目標に達した" in first) else ""


def _year_word(rows: pd.DataFrame) -> str:
    return "年" if not rows.empty and (rows["year_basis"] == "calendar").all() else "年度"


def hindsight_table(ctx: ReportContext) -> pd.DataFrame:
    """What the tool would have said mid-period, from that year's data only, beside what
    happened."""
    rows = []
    for kpi in ctx.catalog.kpis:
        ev = ctx.evaluations[kpi.kpi_id]
        h = getattr(ev, "hindsight", None)
        if h is None:
            continue
        o = h.outlook
        said = reader_number(o.forecast_value) if o.forecast_value is not None else "見通しなし"
        if o.forecast_lower is not None:
            low, high = reader_number(o.forecast_lower), reader_number(o.forecast_upper)
            said += f"（{o.level:.0%}区間 {low}〜{high}）"
        seen = ctx.history(kpi.kpi_id)
        seen = seen[seen["year"] <= h.origin]
        if h.actual is not None:
            outcome = reader_number(h.actual) + (
                "（累計）" if kpi.target.kind == "cumulative" else f"（{kpi.target.year}）"
            )
        elif ev.latest_year is not None:
            outcome = f"未確定（最新 {int(ev.latest_year)}: {reader_number(ev.latest_value)}）"
        else:
            outcome = "未確定"
        rows.append(
            {
                "指標": kpi.heading,
                "見通しの根拠": (
                    f"{int(seen['year'].max())}{_year_word(seen)}までの実績"
                    if not seen.empty
                    else "実績なし"
                )
                + f"（{h.origin}年度時点）",
                "当時の見通し（目標年度）": said,
                "当時の達成確率": reader_percent(o.p_meet),
                "結果": outcome,
                "区間": "" if h.inside is None else ("区間内" if h.inside else "区間外"),
                "最終評価": h.verdict or "",
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "指標",
            "見通しの根拠",
            "当時の見通し（目標年度）",
            "当時の達成確率",
            "結果",
            "区間",
            "最終評価",
        ],
    )


def freshness_table(ctx: ReportContext) -> pd.DataFrame:
    """Each public statistic the catalog uses: the latest year it reaches for this town."""
    return freshness_for_readers(
        freshness(ctx.catalog, ctx.data_dir, ctx.municipality_code), ctx.fiscal_year
    )


def freshness_warning(ctx: ReportContext) -> str:
    """One sentence for the first page when a KPI's public data stops before the evaluation year."""
    card = ctx.card.set_index("kpi_id")
    parts = []
    for kpi in ctx.catalog.kpis:
        if not kpi.public_series:
            continue
        latest = ctx.history(kpi.kpi_id)
        if latest.empty:
            parts.append(f"{kpi.label}（データなし）")
        elif int(latest["year"].max()) < ctx.fiscal_year:
            word = "年" if (latest["year_basis"] == "calendar").all() else "年度"
            parts.append(f"{kpi.label}（{int(latest['year'].max())}{word}まで）")
    if not parts:
        return ""
    final = card["verdict"].notna().any()
    return (
        f"{ctx.fiscal_year}年度の評価ですが、"
        f"次の指標の公表データは{ctx.fiscal_year}年度に届いていません: "
        + "、".join(parts)
        + "。これらは最新の値で示し、"
        + (
            "目標年度の値がないものは最終評価を未確定（公表待ち）としています。"
            if final
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


def judgement_text(kpi, ev, *more: str) -> str:
    """Markdown under a KPI's chart: its target, the final verdict or grade, the calculation,
    notes and a baseline's source where the strategy gave none; `more` adds paragraphs (already
    escaped)."""
    verdict = f"最終評価 **{ev.verdict}**　" if ev.verdict else ""
    parts = [
        f"{esc(kpi.label)}（目標 {esc(kpi.target.text)}）: {verdict}評価 **{esc(ev.grade)}**",
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


PROVENANCE_JA = {
    "public": "公表統計",
    "analyst": "担当課の入力",
    "strategy": "戦略の記載（基準値）",
}


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
            "年の区分": rows["year_basis"].map({"fiscal": "年度", "calendar": "暦年"}),
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
                    lambda s: " / ".join(
                        dict.fromkeys({"fiscal": "年度", "calendar": "暦年"}.get(x, x) for x in s)
                    )
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
