"""A KPI's comparable panel: the other municipalities' series of the same public statistics,
read through the run's data handle (each computed once per handle)."""

from __future__ import annotations

from typing import cast

import numpy as np

from kpi_lib.catalog.model import Kpi
from kpi_lib.observations.handle import DataHandle

SKILL_HORIZON = 3
TOTAL = 0  # the key of the skill of totals over the years, in a Projection's `skill`


def _specs(kpi: Kpi) -> tuple:
    return tuple((s.dataset, s.measure, s.year_basis) for s in kpi.public_series)


def peer_panel(kpi: Kpi, data: DataHandle, end: int, n: int) -> np.ndarray | None:
    """The peers' last `n` years through `end` (None: fewer than 10 peers or years)."""
    arr = peer_arrays(_specs(kpi), data, end)
    if len(arr) < 10:
        return None
    return arr[:, -n:] if arr.shape[1] >= n else None


def peer_skill(kpi: Kpi, data: DataHandle, end: int, level: float) -> dict[int, float]:
    """Brier skill of the peers' probabilities from rolling origins up to `end` (targets ±5–20 %),
    per horizon 1…SKILL_HORIZON, and under TOTAL that of totals over those years (cumulative
    targets); one with fewer than 100 calls is left out."""
    specs = _specs(kpi)
    return data.memo(("peer_skill", specs, end, level), lambda: _skill_of(specs, data, end, level))


def _skill_of(specs: tuple, data: DataHandle, end: int, level: float) -> dict[int, float]:
    from kpi_lib.forecasting.honesty import brier_skill, rolling_checks

    arr = peer_arrays(specs, data, end)
    if len(arr) < 10:
        return {}
    checks = rolling_checks(arr, SKILL_HORIZON, level)  # each origin forecast once
    df = checks.years
    out = {}
    for h, part in df.groupby("h") if len(df) else []:
        _, _, skill, calls = brier_skill(part)
        if calls >= 100 and np.isfinite(skill):
            out[int(cast(int, h))] = float(skill)
    totals = checks.totals
    _, _, skill, calls = brier_skill(totals) if len(totals) else (0, 0, np.nan, 0)
    if calls >= 100 and np.isfinite(skill):
        out[TOTAL] = float(skill)
    return out


def peer_arrays(specs: tuple, data: DataHandle, end: int) -> np.ndarray:
    """Every other municipality's series of the statistics `specs`, combined by the same
    precedence as the KPI's own (the first listed statistic that has the year)."""
    return data.memo(("peer_arrays", specs, end), lambda: _arrays(specs, data, end))


def _arrays(specs: tuple, data: DataHandle, end: int) -> np.ndarray:
    wide = None
    for dataset, measure, basis in specs:
        table = data.tables.annual(dataset)
        rows = table[
            (table["measure"] == measure)
            & (table["year_basis"] == basis)
            & (table["level"] == "municipality")
            & table["municipality_code"].notna()
            & (table["municipality_code"] != data.municipality_code)
            & (table["year"] <= end)
        ]
        part = rows.pivot_table(
            index="municipality_code", columns="year", values="value", aggfunc="first"
        )
        wide = part if wide is None else wide.combine_first(part)
    if wide is None or wide.empty:
        return np.empty((0, 0))
    wide = wide.reindex(columns=range(int(wide.columns.min()), end + 1))
    arr = wide.to_numpy(float)
    # Only peers observed in the KPI's last year, without gaps at the end.
    return arr[~np.isnan(arr[:, -1])]
