"""The data handle: one data folder opened once per run.

`DataHandle.open` loads and validates the catalog, reads each public table the catalog uses
(once, held on the handle's `PublicTables`), checks the municipality (the catalog's alone) and
reads the departments' returned files. Everything below the command line receives the handle
instead of a folder; `kpi report` pickles it with the context, so the notebooks' kernels read
no public table from disk.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from kpi_lib.catalog.model import Catalog, load_catalog
from kpi_lib.core.errors import InputError
from kpi_lib.core.paths import DATA_DIR
from kpi_lib.observations import actuals as actuals_mod
from kpi_lib.observations.gather import load_inputs
from kpi_lib.observations.judgements import Returned
from kpi_lib.observations.values import municipality_for
from kpi_lib.sources.ingest import TABLE_NAMES, read_public


class PublicTables:
    """The public tables of one folder (data/public), each read from disk once, when first
    asked for; `reads` counts the reads.

    Pickled table by table (and memo by memo), each unpickled when first asked for: a report's
    kernel unpacks only the tables its notebook reads (the tourism table alone is 18 MB)."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.reads = 0
        self._tables: dict[str, pd.DataFrame] = {}
        self._memo: dict[tuple, Any] = {}
        self._packed_tables: dict[str, bytes] = {}
        self._packed_memo: dict[tuple, bytes] = {}

    def __getstate__(self) -> dict:
        state = self.__dict__ | {"_tables": {}, "_memo": {}}
        state["_packed_tables"] = self._packed_tables | _packed(self._tables)
        state["_packed_memo"] = self._packed_memo | _packed(self._memo)
        return state

    def has(self, name: str) -> bool:
        """The folder holds the table."""
        return (
            name in self._tables
            or name in self._packed_tables
            or (self.folder / f"{name}.csv.gz").exists()
        )

    def table(self, name: str) -> pd.DataFrame:
        """Every row of the table `name` (jumin, ssds, tourism, furusato, …) as ingested."""
        if name not in self._tables:
            if name in self._packed_tables:
                self._tables[name] = pickle.loads(self._packed_tables.pop(name))
            else:
                self._tables[name] = read_public(name, self.folder)
                self.reads += 1
        return self._tables[name]

    def annual(self, name: str) -> pd.DataFrame:
        """The table's annual rows (monthly ones left out)."""
        return self.memo(("annual", name), lambda: _annual(self.table(name)))

    def read_all(self) -> PublicTables:
        """Read now every table `kpi ingest` writes that the folder holds (what `kpi report`
        hands to its kernels); anything else in the folder (a backup, a stray file) is not ours
        to read."""
        for name in TABLE_NAMES:
            if self.has(name):
                self.table(name)
        return self

    def memo(self, key: tuple, make: Callable[[], Any]) -> Any:
        """What `make` computes from these tables, computed once."""
        if key not in self._memo:
            packed = self._packed_memo.pop(key, None)
            self._memo[key] = make() if packed is None else pickle.loads(packed)
        return self._memo[key]


def _packed(values: dict) -> dict:
    return {key: pickle.dumps(value) for key, value in values.items()}


def _annual(table: pd.DataFrame) -> pd.DataFrame:
    return table[table["month"].isna()] if "month" in table else table


@dataclass
class DataHandle:
    """A data folder as one run reads it: the catalog, the public tables, the returned files."""

    folder: Path
    catalog: Catalog
    tables: PublicTables
    returned: Returned

    @classmethod
    def open(
        cls,
        data_dir: str | Path | None = None,
        catalog_path: str | Path | None = None,
        *,
        catalog: Catalog | None = None,
        actuals: list[str | Path] | None = None,
        municipality: str | None = None,
    ) -> DataHandle:
        """Open `data_dir` (default: the bundled data) for `catalog` (or the catalog file at
        `catalog_path`, default the bundled one). `actuals`: the departments' files (default:
        every file in DATA/actuals). `municipality`: a code asked for on the command line; one
        that disagrees with the catalog's is refused. A missing or damaged file is refused
        naming it."""
        folder = Path(data_dir) if data_dir else DATA_DIR
        public = folder / "public"
        if not public.is_dir():
            raise InputError(
                str(public), "no public/ folder with the bundled data (run `kpi ingest`)"
            )
        catalog = catalog or load_catalog(catalog_path)
        tables = PublicTables(public)
        for dataset in dict.fromkeys(s.dataset for k in catalog.kpis for s in k.public_series):
            tables.table(dataset)  # read (and checked) once here
        municipality_for(catalog, tables, municipality)
        files = actuals if actuals is not None else actuals_mod.default_files(folder / "actuals")
        return cls(folder, catalog, tables, load_inputs(catalog, tables, files))

    @property
    def municipality_code(self) -> str:
        """The municipality evaluated: the catalog's."""
        return self.catalog.strategy.municipality_code

    @property
    def observations(self) -> pd.DataFrame:
        """Public series, the departments' figures and the strategy's baselines."""
        return self.returned.observations

    @property
    def forecast_file(self) -> Path:
        """The folder's forecast settings (forecast.yaml; absent: the defaults)."""
        return self.folder / "forecast.yaml"

    def memo(self, key: tuple, make: Callable[[], Any]) -> Any:
        """What `make` computes from this handle's tables for its municipality, computed once
        (the peers of one town leave that town out: the key says which)."""
        return self.tables.memo((self.municipality_code, *key), make)


def load_observations(
    catalog: Catalog,
    data_dir: str | Path | None = None,
    actuals: list[str | Path] | None = None,
) -> pd.DataFrame:
    """The observations of `catalog` in `data_dir` (default: the bundled data): a handle's."""
    return DataHandle.open(data_dir, catalog=catalog, actuals=actuals).observations
