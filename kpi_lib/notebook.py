"""What the notebooks share: loading everything once, and tables laid out for readers."""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd

from .catalog import Catalog, load_catalog
from .observations import choose_values
from .paths import ASHIBETSU, DATA_DIR
from .rules import PROGRESS_STATUSES, RuleSettings
from .scorecard import build_scorecard, load_observations

EVIDENCE_JA = {"none": "データ不足", "low": "弱い（2〜3点）", "moderate": "中（4点）", "sufficient": "十分（5点以上）",
               "not_applicable": "対象外", None: ""}


@dataclass
class ReportContext:
    fiscal_year: int
    municipality_code: str
    catalog: Catalog
    observations: pd.DataFrame
    card: pd.DataFrame
    evaluations: dict
    settings: RuleSettings
    data_dir: Path

    @cached_property
    def chosen(self) -> pd.DataFrame:
        """One value per KPI and year, as the rules used them."""
        return choose_values(self.observations)

    def kpi(self, kpi_id: str):
        return self.catalog.get(kpi_id)

    def history(self, kpi_id: str) -> pd.DataFrame:
        """The values the rules used (one per year), oldest first."""
        chosen = self.chosen
        rows = chosen[(chosen["kpi_id"] == kpi_id) & (chosen["year"] <= self.fiscal_year)]
        return rows.sort_values("year")


def load_context(fiscal_year: int, municipality_code: str = ASHIBETSU, catalog_path: str = "", data_dir: str = "",
                 grades: str = "ABCD", formula: str = "progress", cache: str = "") -> ReportContext:
    """Catalog, observations and the scorecard with forecasts, as of `fiscal_year`.

    `cache`: a file `kpi report` wrote with `save_context`, computed once for all its
    notebooks; used only if it was made with the same arguments, else computed afresh.
    """
    key = _key(fiscal_year, municipality_code, catalog_path, data_dir, grades, formula)
    if cache and Path(cache).exists():
        with open(cache, "rb") as fh:
            stored_key, ctx = pickle.load(fh)
        if stored_key == key:
            return ctx
    catalog = load_catalog(catalog_path or None)
    data = Path(data_dir) if data_dir else DATA_DIR
    settings = RuleSettings(formula=formula, grades=grades)
    obs = load_observations(catalog, data, municipality_code)
    card, evaluations = build_scorecard(catalog, obs, fiscal_year, settings, data_dir=data,
                                        municipality_code=municipality_code)
    return ReportContext(fiscal_year, municipality_code, catalog, obs, card, evaluations, settings, data)


def _key(fiscal_year, municipality_code, catalog_path, data_dir, grades, formula) -> tuple:
    resolve = lambda p: str(Path(p).resolve()) if p else ""  # noqa: E731
    return (int(fiscal_year), str(municipality_code), resolve(catalog_path), resolve(data_dir), grades, formula)


def save_context(ctx: ReportContext, path: Path, catalog_path: str = "", data_dir: str = "",
                 grades: str = "ABCD", formula: str = "progress") -> None:
    key = _key(ctx.fiscal_year, ctx.municipality_code, catalog_path, data_dir, grades, formula)
    with open(path, "wb") as fh:
        pickle.dump((key, ctx), fh)


def _num(v, unit: str = "") -> str:
    if v is None or pd.isna(v):
        return ""
    text = f"{v:,.0f}" if abs(v) >= 100 or float(v).is_integer() else f"{v:,.1f}"
    return text.replace("-", "▲") if v < 0 else text


def _pct(v) -> str:
    return "" if v is None or pd.isna(v) else f"{v:.0%}"


def reader_table(card: pd.DataFrame) -> pd.DataFrame:
    """The scorecard as readers see it: 基準値, 実績, 目標値, 達成率, 評価, 見通し."""
    rows = []
    for _, r in card.iterrows():
        latest = _num(r["latest_value"]) + (f"（{int(r['latest_year'])}）" if pd.notna(r["latest_year"]) else "")
        if r["target_kind"] == "cumulative" and pd.notna(r["cumulative_value"]):
            latest = f"累計 {_num(r['cumulative_value'])}（〜{int(r['latest_year'])}）"
        outlook = ""
        if pd.notna(r["forecast_value"]):
            outlook = _num(r["forecast_value"])
            if pd.notna(r["forecast_lower"]):
                outlook += f"（{_num(r['forecast_lower'])}〜{_num(r['forecast_upper'])}）"
        rows.append({
            "ID": r["kpi_id"], "施策": r["measure"], "指標": r["name_ja"], "単位": r["unit"],
            "基準値": _num(r["baseline_value"]) + (f"（{int(r['baseline_year'])}）" if pd.notna(r["baseline_value"]) else ""),
            "実績": latest, "目標値": _num(r["target_resolved"]), "達成率": _pct(r["achievement_rate"]),
            "評価": r["grade"], "進捗状況": PROGRESS_STATUSES.get(r["progress_status"], ""),
            "見通し（目標年度）": outlook, "達成確率": _pct(r["p_meet"]),
            "根拠": EVIDENCE_JA.get(r["evidence"], r["evidence"]),
        })
    return pd.DataFrame(rows)


def for_readers(df: pd.DataFrame):
    """A table styled for the report: text left-aligned, no row numbers."""
    return (df.style.hide(axis="index")
            .set_properties(**{"text-align": "left"})
            .set_table_styles([{"selector": "th", "props": [("text-align", "left")]}]))


def sources_table(ctx: ReportContext) -> pd.DataFrame:
    """Which source each KPI's values came from, with year basis and licence."""
    used = ctx.chosen[ctx.chosen["year"] <= ctx.fiscal_year]
    if used.empty:
        return pd.DataFrame(columns=["ID", "出典", "年の区分", "ライセンス", "年"])
    g = used.groupby("kpi_id")
    return pd.DataFrame({
        "出典": g["source"].agg(lambda s: " / ".join(dict.fromkeys(s))),
        "年の区分": g["year_basis"].agg(lambda s: " / ".join(dict.fromkeys(s))),
        "ライセンス": g["licence"].agg(lambda s: " / ".join(dict.fromkeys(x for x in s if x))),
        "年": g["year"].agg(lambda s: f"{int(s.min())}〜{int(s.max())}"),
    }).rename_axis("ID").reset_index()
