"""The rolling-origin backtest: every method forecast from every origin with enough points and
scored against what followed; the method per series chosen on it (``auto``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kpi_lib.forecasting.inputs import Panel
from kpi_lib.forecasting.methods import METHODS, method_forecast, scale_of

MIN_TRAIN = 4  # the fewest points a backtest origin fits on


@dataclass
class Backtest:
    """Scaled errors per method, series, origin and horizon (NaN where not available)."""

    errors: dict[str, np.ndarray]  # method -> (S, O, H) scaled signed errors
    covered: dict[str, np.ndarray]  # method -> (S, O, H) 1/0 model-interval coverage, NaN n/a
    horizon: int
    log_errors: dict[str, np.ndarray] = field(
        default_factory=dict
    )  # log(truth / forecast), positive data


def backtest(
    panel: Panel, horizon: int, level: float, methods=METHODS, min_train: int = MIN_TRAIN
) -> Backtest:
    """Forecast from every origin with at least `min_train` points; score against the truth."""
    vals = panel.values
    S, T = vals.shape
    origins = range(min_train - 1, T - 1)
    errors = {m: np.full((S, len(origins), horizon), np.nan) for m in methods}
    covered = {m: np.full((S, len(origins), horizon), np.nan) for m in methods}
    log_errors = {m: np.full((S, len(origins), horizon), np.nan) for m in methods}
    for oi, o in enumerate(origins):
        train = vals[:, : o + 1]
        usable = ~np.isnan(train[:, -1]) & ((~np.isnan(train)).sum(1) >= min_train)
        if not usable.any():
            continue
        scale = scale_of(train)
        steps = min(horizon, T - 1 - o)
        truth = vals[:, o + 1 : o + 1 + steps]
        for m in methods:
            f = method_forecast(train, m, steps, level)
            mean, lo, hi = f.mean, f.lower, f.upper
            err = (truth - mean) / scale[:, None]
            err[~usable] = np.nan
            errors[m][:, oi, :steps] = err
            cov = ((truth >= lo) & (truth <= hi)).astype(float)
            cov[np.isnan(err)] = np.nan
            covered[m][:, oi, :steps] = cov
            with np.errstate(invalid="ignore", divide="ignore"):
                log_err = np.log(truth / mean)
            log_err[np.isnan(err) | ~np.isfinite(log_err)] = np.nan
            log_errors[m][:, oi, :steps] = log_err
    return Backtest(errors, covered, horizon, log_errors)


def choose_methods(
    bt: Backtest, default: str = "naive", min_scores: int = 30
) -> tuple[np.ndarray, str]:
    """The method per series: the panel's best, unless a series' own history says otherwise.

    The panel's best has the lowest median absolute scaled error across all series and
    origins (a pooled choice is steadier than one made on a few noisy errors). A series
    with at least `min_scores` errors of its own takes its own best (lowest mean absolute
    scaled error). Without any backtest, the documented default.
    """
    names = list(bt.errors)
    S = next(iter(bt.errors.values())).shape[0]
    pooled = {}
    for m in names:
        e = np.abs(bt.errors[m])
        e = e[np.isfinite(e)]
        if len(e) >= 20:
            pooled[m] = float(np.median(e))
    panel_best = min(pooled, key=lambda m: pooled[m]) if pooled else default
    best = np.full(S, panel_best, dtype=object)
    flat = {m: np.abs(bt.errors[m]).reshape(S, -1) for m in names}
    counts = np.stack([np.isfinite(flat[m]).sum(1) for m in names], axis=1)
    with np.errstate(invalid="ignore"):
        mase = np.stack(
            [np.nansum(flat[m], axis=1) / np.maximum(counts[:, i], 1) for i, m in enumerate(names)],
            axis=1,
        )
    mase = np.where(counts >= min_scores, mase, np.inf)
    own = np.isfinite(mase).any(axis=1)
    best[own] = np.array(names, dtype=object)[np.argmin(mase[own], axis=1)]
    return best, panel_best
