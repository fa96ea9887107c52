"""One series at a time, with statsmodels: the reference the panel path is checked against,
Holt's linear trend (ETS with simulated intervals), and break years as dummies.

Years listed as breaks (the pandemic fiscal years for tourism) are either left out of the
fit (``exclude``) or given a dummy in a trend regression (``dummy``); either way the result
says which years were treated and how.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from kpi_lib.core import vocabulary
from kpi_lib.core.errors import KpiError
from kpi_lib.forecasting.dist import norm_ppf

SERIES_METHODS = ("naive", "drift", "linear", "loglinear", "holt")
HOLT_PATHS = 2000  # simulated paths behind Holt's interval


@dataclass
class SeriesForecast:
    """One series' forecast for future years: mean, interval, sd, the method and notes."""

    method: str
    years: list[int]
    mean: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    sd: np.ndarray
    notes: list[str] = field(default_factory=list)


def _check(years, values) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(values, dtype=float)
    t = np.asarray(years, dtype=int)
    if len(y) != len(t) or len(y) == 0:
        raise KpiError("a series needs as many years as values, and at least one")
    if np.any(np.diff(t) <= 0):
        raise KpiError("years must increase strictly")
    return t, y


def forecast_series(
    years,
    values,
    horizon_years: list[int],
    method: str,
    level: float = 0.8,
    break_years: list[int] | None = None,
    treatment: str = "exclude",
    seed: int = 20240331,
) -> SeriesForecast:
    """Forecast `values` observed in `years` to each of `horizon_years`."""
    t, y = _check(years, values)
    target = np.asarray(horizon_years, dtype=int)
    breaks = sorted(set(break_years or []) & set(t.tolist()))
    notes = []
    if breaks and (treatment == "exclude" or method not in ("linear", "loglinear")):
        keep = ~np.isin(t, breaks)
        t, y = t[keep], y[keep]
        notes.append(vocabulary.excluded_years_note(breaks))
        breaks = []
    z = norm_ppf(0.5 + level / 2)
    h = (target - t[-1]).astype(float)
    if method == "naive":
        sigma = np.sqrt(np.mean(np.diff(y) ** 2))
        mean, sd = np.full(len(h), y[-1]), sigma * np.sqrt(h)
    elif method == "drift":
        n = len(y)
        c = (y[-1] - y[0]) / (t[-1] - t[0])
        sigma = np.sqrt(np.sum((np.diff(y) - c) ** 2) / max(n - 2, 1))
        mean, sd = y[-1] + h * c, sigma * np.sqrt(h * (1 + h / (n - 1)))
    elif method in ("linear", "loglinear"):
        return _ols(t, y, target, method, level, breaks, notes)
    elif method == "holt":
        return _holt(t, y, target, level, notes, seed)
    else:
        raise KpiError(f"unknown method {method!r}; expected one of {', '.join(SERIES_METHODS)}")
    return SeriesForecast(method, target.tolist(), mean, mean - z * sd, mean + z * sd, sd, notes)


def _ols(t, y, target, method, level, breaks, notes) -> SeriesForecast:
    """OLS trend with prediction intervals for a new observation (not for the mean)."""
    # here, not at the top: notebooks that never fit one skip its import
    import statsmodels.api as sm

    if method == "loglinear":
        if np.any(y <= 0):
            raise KpiError("log-linear growth needs positive values")
        y = np.log(y)
    X = sm.add_constant(t.astype(float))
    Xf = sm.add_constant(target.astype(float), has_constant="add")
    if breaks:
        dummy = np.isin(t, breaks).astype(float)
        X = np.column_stack([X, dummy])
        Xf = np.column_stack([Xf, np.zeros(len(target))])  # the break is not expected to recur
        notes.append(vocabulary.dummy_years_note(breaks))
    fit = sm.OLS(y, X).fit()
    frame = fit.get_prediction(Xf).summary_frame(alpha=1 - level)
    mean, lo, hi = (frame[c].to_numpy() for c in ("mean", "obs_ci_lower", "obs_ci_upper"))
    se = np.sqrt(frame["mean_se"].to_numpy() ** 2 + fit.scale)
    if method == "loglinear":
        mean, lo, hi = np.exp(mean), np.exp(lo), np.exp(hi)
        se = mean * se
    return SeriesForecast(method, target.tolist(), mean, lo, hi, se, notes)


def _holt(t, y, target, level, notes, seed) -> SeriesForecast:
    """Holt's linear trend as an additive ETS model; intervals by simulation."""
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    if len(y) < 5:
        raise KpiError("Holt's method needs at least 5 points")
    if np.any(np.diff(t) != 1):
        raise KpiError("Holt's method needs consecutive years")
    series = pd.Series(y, index=pd.period_range(str(t[0]), periods=len(y), freq="Y"))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter on short series
        fit = ETSModel(series, error="add", trend="add").fit(disp=False)
        steps = int(target.max() - t[-1])
        pred = fit.get_prediction(
            start=len(y),
            end=len(y) + steps - 1,
            method="simulated",
            simulate_repetitions=HOLT_PATHS,
            rng=np.random.default_rng(seed),
        )
    frame = pred.summary_frame(alpha=1 - level)
    idx = (target - t[-1] - 1).astype(int)
    mean = frame["mean"].to_numpy()[idx]
    lo, hi = frame["pi_lower"].to_numpy()[idx], frame["pi_upper"].to_numpy()[idx]
    sd = (hi - lo) / (2 * norm_ppf(0.5 + level / 2))
    notes.append(vocabulary.holt_note(HOLT_PATHS))
    return SeriesForecast("holt", target.tolist(), mean, lo, hi, sd, notes)
