"""Forecasting whole panels at once: every series of a dataset in a few array operations.

A panel is a (series × year) array with NaN before a series starts (`inputs`). ``auto`` picks
the method with the lowest median scaled error in a rolling-origin backtest pooled over the
panel (a series with a long history of its own takes its own best; `backtest`); the closed-form
methods (`methods`) forecast, and the backtest's errors give conformal intervals and the
predictive distribution behind ``p_meet`` (`calibration`). `honesty` checks all of it on
origins the forecasts never saw. docs/forecasts.md explains and measures it, on Hokkaido and on
a validation region.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kpi_lib.core import vocabulary
from kpi_lib.core.errors import ArgumentError, KpiError
from kpi_lib.forecasting.backtest import backtest, choose_methods
from kpi_lib.forecasting.calibration import PanelForecast, calibrate_intervals
from kpi_lib.forecasting.inputs import MAX_HORIZON, Panel
from kpi_lib.forecasting.methods import BENCHMARKS, METHODS, method_forecast

# The columns of every forecast-panel output (then `note`; with targets, the target's columns).
FORECAST_COLUMNS = ["series_id", "year", "forecast", "lower", "upper", "method"]


def panel_forecast_arrays(
    values: np.ndarray,
    horizon: int,
    level: float,
    method: str = "auto",
    calibrate: bool = True,
    default: str = "naive",
) -> PanelForecast:
    """Forecast rows that all end at the last column; method per row by backtest if 'auto'."""
    names = METHODS if method == "auto" else (method,)
    for m in names:
        if m not in METHODS + BENCHMARKS:
            raise KpiError(
                f"unknown method {m!r}; expected auto or one of {', '.join(METHODS + BENCHMARKS)}"
            )
    # The backtest serves the method choice and the interval check; a fixed method without
    # calibration needs neither.
    bt = (
        backtest(
            Panel(np.arange(len(values)), np.arange(values.shape[1]), values), horizon, level, names
        )
        if method == "auto" or calibrate
        else None
    )
    if method == "auto" and bt is not None:
        chosen, panel_best = choose_methods(bt, default=default)
    else:
        chosen, panel_best = np.full(len(values), method, dtype=object), method
    mean = np.full((len(values), horizon), np.nan)
    lower, upper, sd = mean.copy(), mean.copy(), mean.copy()
    for m in np.unique(chosen):
        rows = chosen == m
        f = method_forecast(values[rows], m, horizon, level)
        mean[rows], lower[rows], upper[rows], sd[rows] = f.mean, f.lower, f.upper, f.sd
    result = PanelForecast(chosen, mean, lower, upper, sd)
    if method == "auto":
        own_best = int((chosen != panel_best).sum())
        result.notes.append(vocabulary.method_choice_note(panel_best, own_best))
    if calibrate and bt is not None:
        calibrate_intervals(result, bt, values, level)
    return result


def forecast_panel(
    panel: Panel,
    through: int,
    horizon: int,
    level: float = 0.8,
    method: str = "auto",
    calibrate: bool = True,
    targets: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Fit on years ≤ `through` and forecast `through`+1 … `through`+`horizon`.

    Returns a long table series_id, year, forecast, lower, upper, method (and the
    interval's calibration in the frame's attrs).
    """
    if not 0 < level < 1:
        raise ArgumentError("level", f"must lie between 0 and 1, got {level}")
    if not 1 <= horizon <= MAX_HORIZON:
        raise ArgumentError("horizon", f"must lie between 1 and {MAX_HORIZON} years, got {horizon}")
    if through < panel.years.min():
        raise ArgumentError(
            "through", f"{through} is before the panel's first year {panel.years.min()}"
        )
    fit = panel.through(through)
    vals = fit.values
    # Series that ended before `through` are forecast from their own last year: shift them.
    last_idx = vals.shape[1] - 1 - np.isnan(vals[:, ::-1]).argmin(axis=1)
    aligned = np.full_like(vals, np.nan)
    for shift in np.unique(vals.shape[1] - 1 - last_idx):
        rows = (vals.shape[1] - 1 - last_idx) == shift
        aligned[rows, shift:] = vals[rows, : vals.shape[1] - shift]
    offset = vals.shape[1] - 1 - last_idx  # years between a series' end and `through`
    H = horizon + int(offset.max())
    result = panel_forecast_arrays(aligned, H, level, method, calibrate)
    # Column j of a series that ended `offset` years early is year through+1+j-offset.
    cols = offset[:, None] + np.arange(horizon)[None, :]
    pick = lambda arr: np.take_along_axis(arr, cols, axis=1).ravel()  # noqa: E731
    n_obs = (~np.isnan(vals)).sum(axis=1)
    out = pd.DataFrame(
        {
            "series_id": np.repeat(fit.ids, horizon),
            "year": np.tile(np.arange(through + 1, through + 1 + horizon), len(fit.ids)),
            "forecast": pick(result.mean),
            "lower": pick(result.lower),
            "upper": pick(result.upper),
            "method": np.repeat(result.method, horizon),
            "note": np.repeat([_series_note(n) for n in n_obs], horizon),
        }
    )
    if targets is not None:
        out = _with_targets(out, targets, result, fit.ids, offset, through, horizon)
    out.attrs["calibration"] = result.calibration
    out.attrs["notes"] = result.notes
    return out


def _with_targets(
    out: pd.DataFrame,
    targets: pd.DataFrame,
    result: PanelForecast,
    ids: np.ndarray,
    offset: np.ndarray,
    through: int,
    horizon: int,
) -> pd.DataFrame:
    """Add target, direction, p_meet and a note per forecast row that has a target."""
    row_of = {str(sid): i for i, sid in enumerate(ids)}
    merged = out.merge(targets, on=["series_id", "year"], how="left")
    p, notes = [], []
    for sid, year, target, direction, note in zip(
        merged["series_id"],
        merged["year"],
        merged["target"],
        merged["direction"],
        merged["note"],
        strict=True,
    ):
        if pd.isna(target):
            p.append(np.nan)
            notes.append(note)
            continue
        i = row_of[str(sid)]
        col = int(offset[i]) + (int(year) - through - 1)  # the column of this year in the result
        value = (
            result.probability(i, col, float(target), direction)
            if 0 <= col < result.mean.shape[1]
            else None
        )
        p.append(np.nan if value is None else value)
        notes.append(
            note
            if value is not None
            else vocabulary.join_notes(note, vocabulary.no_probability_note())
        )
    merged["p_meet"], merged["note"] = p, notes
    return merged[[*FORECAST_COLUMNS, "target", "direction", "p_meet", "note"]]


def _series_note(n_obs: int) -> str:
    """Why a series' forecast is empty or rests on little (a reader sees it in the output)."""
    if n_obs < 2:
        return vocabulary.no_forecast_note(n_obs, 2)
    if n_obs < 4:
        return vocabulary.weak_forecast_note(n_obs)
    return ""
