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

from functools import lru_cache
from pathlib import Path

import pandas as pd

from kpi_lib.catalog.model import Catalog, Kpi, PublicSeries
from kpi_lib.core.errors import ArgumentError, InputError, KpiError
from kpi_lib.core.paths import ASHIBETSU, DATA_DIR
from kpi_lib.core.vocabulary import year_word
from kpi_lib.sources.ingest import read_public

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


@lru_cache(maxsize=16)
def public_table(name: str, public_dir: str) -> pd.DataFrame:
    """A bundled public table (cached per process)."""
    return read_public(name, Path(public_dir))


def public_observations(
    catalog: Catalog, data_dir: str | Path = DATA_DIR, municipality_code: str = ASHIBETSU
) -> pd.DataFrame:
    """Every KPI with a public series, as annual rows for one municipality."""
    public_dir = str(Path(data_dir) / "public")
    frames = [
        series_for(kpi, spec, rank, public_dir, municipality_code)
        for kpi in catalog.kpis
        for rank, spec in enumerate(kpi.public_series)
    ]
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else empty()


def series_for(
    kpi: Kpi, spec: PublicSeries, rank: int, public_dir: str, municipality_code: str
) -> pd.DataFrame:
    """One listed statistic of a KPI, in the KPI's unit; `rank` is its place in the list."""
    table = public_table(spec.dataset, public_dir)
    # One year basis per KPI series: the FY2012 住民基本台帳 figures (April–March) are
    # left out of a calendar-year series rather than mixed into it.
    rows = table[
        (table["municipality_code"] == municipality_code)
        & (table["measure"] == spec.measure)
        & table["month"].isna()
        & (table["year_basis"] == spec.year_basis)
    ]
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


def freshness(
    catalog: Catalog, data_dir: str | Path = DATA_DIR, municipality_code: str = ASHIBETSU
) -> pd.DataFrame:
    """For each public statistic the catalog uses: the latest year it reaches for this
    municipality (None: it has no figures for it) and the date that figure refers to."""
    public_dir = str(Path(data_dir) / "public")
    used: dict[tuple, list[str]] = {}
    for kpi in catalog.kpis:
        for spec in kpi.public_series:
            key = (spec.dataset, spec.measure, spec.year_basis)
            used.setdefault(key, []).append(kpi.heading)  # as readers know it, not by id
    rows = []
    for (dataset, measure, basis), kpis in used.items():
        table = public_table(dataset, public_dir)
        mine = table[
            (table["municipality_code"] == municipality_code)
            & (table["measure"] == measure)
            & table["month"].isna()
            & (table["year_basis"] == basis)
        ]
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


def municipality_name(code: str, data_dir: str | Path = DATA_DIR) -> str | None:
    """The municipality's name in the bundled data, or None where no table knows the code."""
    public_dir = str(Path(data_dir) / "public")
    for name in NAME_TABLES:
        if not (Path(public_dir) / f"{name}.csv.gz").exists():
            continue
        t = public_table(name, public_dir)
        names = t.loc[t["municipality_code"] == code, "municipality"].dropna()
        if not names.empty:
            return str(names.iloc[-1])
    return None


def municipality_for(catalog: Catalog, code: str | None, data_dir: str | Path = DATA_DIR) -> str:
    """The municipality a run evaluates: the catalog's. A different `--municipality` is
    refused with the way to evaluate that town; an unknown code is refused before any work."""
    own = catalog.strategy.municipality_code
    if code and not (len(code) == 6 and code.isdigit()):
        raise ArgumentError(
            "municipality", f"{code!r}: expected a 6-digit 団体コード such as 012165"
        )
    if code and code != own:
        other = municipality_name(code, data_dir)
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
    if municipality_name(own, data_dir) is None:
        raise KpiError(
            f"the catalog's municipality {own} ({catalog.strategy.municipality_ja})"
            " is not in the bundled data; check strategy.municipality_code"
        )
    return own
