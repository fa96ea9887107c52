"""KPI observations: the tidy table the target rules read.

Three provenances meet here, each row saying which it is:
* ``public``: an official statistic mapped to a KPI by the catalog's ``public_series``;
* ``analyst``: a value a city department entered (kpi_lib.actuals);
* ``strategy``: the baseline as the strategy itself states it.
Where an official figure and the strategy's baseline differ for the same year (FY2020
furusato: 3,379 in the survey, 3,366 in the strategy) both rows are kept.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

from .catalog import Catalog, Kpi
from .errors import InputError
from .ingest import read_public
from .paths import ASHIBETSU, DATA_DIR

OBS_COLUMNS = ["kpi_id", "year", "year_basis", "value", "unit", "provenance", "source", "licence",
               "source_file", "as_of", "note"]

# (published unit, KPI unit) -> factor: 千人 of the tourism survey are ×1,000 persons.
# 出生者数 (persons born) counts the strategy's 出生件数 one for one.
UNIT_FACTORS = {("千人", "人"): 1_000, ("億円", "円"): 100_000_000, ("人", "人"): 1, ("件", "件"): 1,
                ("人", "件"): 1}


@lru_cache(maxsize=16)
def public_table(name: str, public_dir: str) -> pd.DataFrame:
    return read_public(name, Path(public_dir))


def public_observations(catalog: Catalog, data_dir: str | Path = DATA_DIR,
                        municipality_code: str = ASHIBETSU) -> pd.DataFrame:
    """Every KPI with a public series, as annual rows for one municipality."""
    public_dir = str(Path(data_dir) / "public")
    frames = []
    for kpi in catalog.kpis:
        if kpi.public_series is None:
            continue
        frames.append(series_for(kpi, public_dir, municipality_code))
    return pd.concat(frames, ignore_index=True) if frames else empty()


def series_for(kpi: Kpi, public_dir: str, municipality_code: str) -> pd.DataFrame:
    spec = kpi.public_series
    table = public_table(spec.dataset, public_dir)
    # One year basis per KPI series: the FY2012 住民基本台帳 figures (April–March) are
    # left out of a calendar-year series rather than mixed into it.
    rows = table[(table["municipality_code"] == municipality_code) & (table["measure"] == spec.measure)
                 & table["month"].isna() & (table["year_basis"] == spec.year_basis)]
    if rows.empty:
        return empty()
    published_unit = rows["unit"].iloc[0]
    factor = UNIT_FACTORS.get((published_unit, kpi.unit))
    if factor is None:
        raise InputError(spec.dataset, f"the series is in {published_unit!r} but the KPI is counted in {kpi.unit!r}",
                         kpi_id=kpi.kpi_id, column="unit")
    return pd.DataFrame({
        "kpi_id": kpi.kpi_id, "year": rows["year"].astype(int), "year_basis": rows["year_basis"],
        "value": rows["value"] * factor, "unit": kpi.unit, "provenance": "public",
        "source": rows["source"], "licence": rows["licence"], "source_file": rows["source_file"],
        "as_of": rows["as_of"], "note": spec.note_ja,
    }).sort_values("year").reset_index(drop=True)


def strategy_baselines(catalog: Catalog) -> pd.DataFrame:
    """The baselines the strategy states, as observations of their year."""
    rows = []
    for kpi in catalog.kpis:
        b = kpi.baseline
        if b is None or b.value is None:
            continue
        rows.append({
            "kpi_id": kpi.kpi_id, "year": b.year, "year_basis": b.year_basis, "value": float(b.value),
            "unit": kpi.unit, "provenance": "strategy", "source": catalog.strategy.title_ja,
            "licence": "市の公表資料", "source_file": catalog.strategy.source, "as_of": None,
            "note": f"基準値: {b.text}",
        })
    return pd.DataFrame(rows, columns=OBS_COLUMNS)


def empty() -> pd.DataFrame:
    return pd.DataFrame(columns=OBS_COLUMNS)


def choose_values(obs: pd.DataFrame) -> pd.DataFrame:
    """One value per (KPI, year) for evaluation.

    An analyst's value replaces a public one only where the analyst marked it to
    (``override``); otherwise the official statistic stands and the analyst's value is
    kept only for years the statistic does not cover. Strategy baselines are not
    observations of progress and are left out here.
    """
    if obs.empty:
        return obs.assign(chosen=pd.Series(dtype=bool))
    obs = obs[obs["provenance"] != "strategy"].copy()
    override = obs.get("override", pd.Series(False, index=obs.index)).fillna(False).astype(bool)
    rank = obs["provenance"].map({"public": 1, "analyst": 2})
    rank[(obs["provenance"] == "analyst") & override] = 0
    obs["_rank"] = rank
    obs = obs.sort_values(["kpi_id", "year", "_rank"], kind="mergesort")
    chosen = obs.drop_duplicates(["kpi_id", "year"], keep="first").drop(columns="_rank")
    return chosen.reset_index(drop=True)
