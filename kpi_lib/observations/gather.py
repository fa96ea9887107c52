"""Everything observed for a catalog in one table: public series, analysts' files, baselines."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from kpi_lib.catalog.model import Catalog
from kpi_lib.core.paths import DATA_DIR
from kpi_lib.observations import actuals as actuals_mod
from kpi_lib.observations.values import OBS_COLUMNS, public_observations, strategy_baselines


def load_observations(
    catalog: Catalog,
    data_dir: str | Path = DATA_DIR,
    municipality_code: str | None = None,
    actuals: list[str | Path] | None = None,
) -> pd.DataFrame:
    """Public series, analysts' actuals and the strategy's baselines in one tidy table.

    Analysts' files are those given, or else every file in DATA_DIR/actuals. The
    municipality is the catalog's unless given.
    """
    municipality_code = municipality_code or catalog.strategy.municipality_code
    frames = [public_observations(catalog, data_dir, municipality_code)]
    if municipality_code == catalog.strategy.municipality_code:
        files = (
            actuals
            if actuals is not None
            else actuals_mod.default_files(Path(data_dir) / "actuals")
        )
        frames += [actuals_mod.read_actuals(f, catalog) for f in files]
        frames.append(strategy_baselines(catalog))
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=OBS_COLUMNS)
    return pd.concat(frames, ignore_index=True)
