"""KPI observations: the tidy table the target rules read.

Three provenances meet here, each row saying which it is:
* ``public``: an official statistic mapped to a KPI by the catalog's ``public_series``
  (``relation`` says whether it is the KPI's own statistic, a related one or a proxy);
* ``analyst``: a value a city department entered (kpi_lib.observations.actuals);
* ``strategy``: the baseline as the strategy itself states it.
Where an official figure and the strategy's baseline differ for the same year (FY2020
furusato: 3,379 in the survey, 3,366 in the strategy) both rows are kept, and so are the
rows of every listed series: `choose_values` applies the one precedence rule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from kpi_lib.catalog.model import Catalog, Kpi, PublicSeries
from kpi_lib.core.errors import ArgumentError, InputError, KpiError
from kpi_lib.core.vocabulary import year_word

if TYPE_CHECKING:
    from kpi_lib.observations.handle import PublicTables

OBS_COLUMNS = [
    "kpi_id",
    "year",
    "year_basis",
    "value",
    "unit",
    "provenance",
    "relation",
    "precedence",
    "source",
    "licence",
    "source_file",
    "as_of",
    "note",
]

# (published unit, KPI unit) -> factor: 千人 of the tourism survey are ×1,000 persons.
# 出生者数 (persons born) counts the strategy's 出生件数 one for one.
# 婚姻件数 counts couples (組), one per marriage registered (件).
UNIT_FACTORS = {
    ("千人", "人"): 1_000,
    ("億円", "円"): 100_000_000,
    ("人", "人"): 1,
    ("件", "件"): 1,
    ("人", "件"): 1,
    ("組", "件"): 1,
    ("円", "円"): 1,
}
# Precedence in `choose_values`: lower counts first.
OVERRIDE_RANK, PUBLIC_RANK, ANALYST_RANK = 0, 1, 100


def public_observations(catalog: Catalog, tables: PublicTables) -> pd.DataFrame:
    """Every KPI with a public series, as annual rows for the catalog's municipality."""
    code = catalog.strategy.municipality_code
    frames = [
        series_for(kpi, spec, rank, tables, code)
        for kpi in catalog.kpis
        for rank, spec in enumerate(kpi.public_series)
    ]
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else empty()


def series_for(
    kpi: Kpi, spec: PublicSeries, rank: int, tables: PublicTables, municipality_code: str
) -> pd.DataFrame:
    """One listed statistic of a KPI, in the KPI's unit; `rank` is its place in the list."""
    # One year basis per KPI series: the FY2012 住民基本台帳 figures (April–March) are
    # left out of a calendar-year series rather than mixed into it.
    rows = _annual_rows(tables, spec.dataset, municipality_code, spec.measure, spec.year_basis)
    if rows.empty:
        return empty()
    published_unit = rows["unit"].iloc[0]
    factor = UNIT_FACTORS.get((published_unit, kpi.unit))
    if factor is None:
        raise InputError(
            spec.dataset,
            f"the series is in {published_unit!r} but the KPI is counted in {kpi.unit!r}",
            kpi_id=kpi.kpi_id,
            column="unit",
        )
    return (
        pd.DataFrame(
            {
                "kpi_id": kpi.kpi_id,
                "year": rows["year"].astype(int),
                "year_basis": rows["year_basis"],
                "value": rows["value"] * factor,
                "unit": kpi.unit,
                "provenance": "public",
                "relation": spec.relation,
                "precedence": PUBLIC_RANK + rank,
                "source": rows["source"],
                "licence": rows["licence"],
                "source_file": rows["source_file"],
                "as_of": rows["as_of"],
                "note": spec.note_ja,
            }
        )
        .sort_values("year")
        .reset_index(drop=True)
    )


def strategy_baselines(catalog: Catalog) -> pd.DataFrame:
    """The baselines the strategy states, as observations of their year."""
    rows = []
    for kpi in catalog.kpis:
        b = kpi.baseline
        if b is None or b.value is None:
            continue
        rows.append(
            {
                "kpi_id": kpi.kpi_id,
                "year": b.year,
                "year_basis": b.year_basis,
                "value": float(b.value),
                "unit": kpi.unit,
                "provenance": "strategy",
                "relation": "",
                "precedence": None,
                "source": catalog.strategy.title_ja,
                "licence": "市の公表資料",
                "source_file": catalog.strategy.source,
                "as_of": None,
                "note": f"基準値: {b.text}",
            }
        )
    return pd.DataFrame(rows, columns=OBS_COLUMNS)


def empty() -> pd.DataFrame:
    """An observations table with no rows."""
    return pd.DataFrame(columns=OBS_COLUMNS)


def measured(obs: pd.DataFrame) -> pd.DataFrame:
    """The observations of progress: everything but the strategy's own baselines."""
    return obs[obs["provenance"] != "strategy"]


def choose_values(obs: pd.DataFrame) -> pd.DataFrame:
    """One value per (KPI, year) for evaluation: the precedence rule (docs/rules.md).

    1. an analyst's value marked 公表値より優先 (``override``);
    2. the KPI's public series in the catalog's order: the first that has the year;
    3. an analyst's unmarked value, for years no public series covers.
    Strategy baselines are not observations of progress and are left out here.
    """
    if obs.empty:
        return obs.assign(chosen=pd.Series(dtype=bool))
    obs = measured(obs).copy()
    obs["_rank"] = ranks(obs)
    obs = obs.sort_values(["kpi_id", "year", "_rank"], kind="mergesort")
    chosen = obs.drop_duplicates(["kpi_id", "year"], keep="first").drop(columns="_rank")
    return chosen.reset_index(drop=True)


def ranks(obs: pd.DataFrame) -> pd.Series:
    """Each row's place in the precedence rule (lower counts first; strategy rows: NaN)."""
    override = obs.get("override", pd.Series(False, index=obs.index)).fillna(False).astype(bool)
    public = pd.to_numeric(
        obs.get("precedence", pd.Series(PUBLIC_RANK, index=obs.index)), errors="coerce"
    )
    rank = pd.Series(float("nan"), index=obs.index)
    is_public, is_analyst = obs["provenance"].eq("public"), obs["provenance"].eq("analyst")
    rank[is_public] = public[is_public].fillna(PUBLIC_RANK)
    rank[is_analyst] = ANALYST_RANK
    rank[is_analyst & override] = OVERRIDE_RANK
    return rank


def mark_chosen(obs: pd.DataFrame) -> pd.Series:
    """True on the rows `choose_values` keeps (for listings that show every row)."""
    if obs.empty:
        return pd.Series(dtype=bool)
    chosen = choose_values(obs)
    keys = set(
        zip(chosen["kpi_id"], chosen["year"], chosen["source"], chosen["value"], strict=True)
    )
    return pd.Series(
        [
            (k, y, s, v) in keys
            for k, y, s, v in zip(
                obs["kpi_id"], obs["year"], obs["source"], obs["value"], strict=True
            )
        ],
        index=obs.index,
    )


def source_gaps(obs: pd.DataFrame, kpi_id: str) -> pd.DataFrame:
    """Where two public series of a KPI cover the same year: both values and the gap.

    The gap (later-listed minus first-listed) is what a reader needs to judge the years in
    which only the later-listed statistic exists.
    """
    rows = obs[(obs["kpi_id"] == kpi_id) & (obs["provenance"] == "public")]
    if rows.empty or rows["precedence"].nunique() < 2:
        return pd.DataFrame(columns=["year", "first", "second", "gap"])
    wide = rows.pivot_table(index="year", columns="precedence", values="value", aggfunc="first")
    first, second = sorted(wide.columns)[:2]
    both = wide[[first, second]].dropna()
    out = pd.DataFrame(
        {
            "year": both.index.astype(int),
            "first": both[first].to_numpy(),
            "second": both[second].to_numpy(),
        }
    )
    out["gap"] = out["second"] - out["first"]
    return out.reset_index(drop=True)


FRESHNESS_COLUMNS = ["source", "measure", "kpis", "year_basis", "latest_year", "as_of"]


def _annual_rows(
    tables: PublicTables, dataset: str, code: str, measure: str, basis: str
) -> pd.DataFrame:
    """One municipality's annual rows of one measure on one year basis."""
    t = tables.annual(dataset)
    return t[
        (t["municipality_code"] == code) & (t["measure"] == measure) & (t["year_basis"] == basis)
    ]


def freshness(catalog: Catalog, tables: PublicTables) -> pd.DataFrame:
    """For each public statistic the catalog uses: the latest year it reaches for the catalog's
    municipality (None: it has no figures for it) and the date that figure refers to."""
    code = catalog.strategy.municipality_code
    used: dict[tuple, list[str]] = {}
    for kpi in catalog.kpis:
        for spec in kpi.public_series:
            key = (spec.dataset, spec.measure, spec.year_basis)
            used.setdefault(key, []).append(kpi.heading)  # as readers know it, not by id
    rows = []
    for (dataset, measure, basis), kpis in used.items():
        table = tables.table(dataset)
        mine = _annual_rows(tables, dataset, code, measure, basis)
        source = table.loc[table["measure"] == measure, "source"]
        rows.append(
            {
                "source": source.iloc[0] if not source.empty else dataset,
                "measure": measure,
                "kpis": "、".join(kpis),
                "year_basis": basis,
                "latest_year": int(mine["year"].max()) if not mine.empty else None,
                "as_of": str(mine["as_of"].max()) if not mine.empty else None,
            }
        )
    return pd.DataFrame(rows, columns=FRESHNESS_COLUMNS)


def freshness_for_readers(fresh: pd.DataFrame, fiscal_year: int) -> pd.DataFrame:
    """`freshness` with Japanese headers, and whether each statistic reaches the year."""
    return pd.DataFrame(
        {
            "出典": fresh["source"],
            "項目": fresh["measure"],
            "指標": fresh["kpis"],
            "最新": [
                f"{int(y)}{year_word([b])}" if pd.notna(y) else "データなし"
                for y, b in zip(fresh["latest_year"], fresh["year_basis"], strict=True)
            ],
            f"{fiscal_year}年度まで": [
                "届いている" if pd.notna(y) and y >= fiscal_year else "届いていない"
                for y in fresh["latest_year"]
            ],
        }
    )


def stale_sources(fresh: pd.DataFrame, fiscal_year: int) -> pd.DataFrame:
    """The statistics that do not reach the evaluation year."""
    return fresh[fresh["latest_year"].isna() | (fresh["latest_year"] < fiscal_year)]


NAME_TABLES = ("jumin", "ssds", "furusato")  # which bundled tables name municipalities


def municipality_name(code: str, tables: PublicTables) -> str | None:
    """The municipality's name in the bundled data, or None where no table knows the code."""
    for name in NAME_TABLES:
        if not tables.has(name):
            continue
        t = tables.table(name)
        names = t.loc[t["municipality_code"] == code, "municipality"].dropna()
        if not names.empty:
            return str(names.iloc[-1])
    return None


def municipality_for(catalog: Catalog, tables: PublicTables, code: str | None = None) -> str:
    """The municipality a run evaluates: the catalog's (DataHandle.open asks). A different
    `--municipality` (`code`) is refused with the way to evaluate that town; an unknown code is
    refused before any work."""
    own = catalog.strategy.municipality_code
    if code and not (len(code) == 6 and code.isdigit()):
        raise ArgumentError(
            "municipality", f"{code!r}: expected a 6-digit 団体コード such as 012165"
        )
    if code and code != own:
        other = municipality_name(code, tables)
        if other is None:
            raise ArgumentError(
                "municipality",
                f"{code}: unknown 団体コード (not in the bundled data: Hokkaido's "
                "municipalities, and every municipality for ふるさと納税)",
            )
        raise ArgumentError(
            "municipality",
            f"{code} ({other}) disagrees with the catalog, which is for "
            f"{catalog.strategy.municipality_ja} ({own}). To evaluate "
            f"{other}, write its catalog with `kpi catalog init --municipality "
            f"{code} --out FILE.yaml` and pass ‹catalog› FILE.yaml",
        )
    if municipality_name(own, tables) is None:
        raise KpiError(
            f"the catalog's municipality {own} ({catalog.strategy.municipality_ja})"
            " is not in the bundled data; check strategy.municipality_code"
        )
    return own
