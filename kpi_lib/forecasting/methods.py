"""The panel's forecasting methods, in closed form on the last observed block of every series,
so that thousands of series cost milliseconds:

* ``naive``: the last value; random-walk variance h·σ²;
* ``drift``: the last value plus h times the mean annual change (the endpoint slope);
  variance σ²·h·(1 + h/(n−1));
* ``linear``: an OLS trend, with prediction intervals for a new observation;
* ``loglinear``: an OLS trend of log values (constant growth, CAGR), positive series only;
* ``mean``: the mean of the last five values, for series that swing around a level (net
  migration, small counts); variance s²(1 + 1/k);
* ``weather``: the German statistical office's projection of the mean of the last five
  annual changes, kept as a benchmark.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from kpi_lib.core.errors import KpiError
from kpi_lib.forecasting.dist import norm_ppf, t_ppf

METHODS = ("naive", "drift", "linear", "loglinear", "mean")
BENCHMARKS = ("weather",)


@dataclass
class MethodForecast:
    """One method's forecasts for h = 1..horizon, every series a row (S, H)."""

    mean: np.ndarray
    lower: np.ndarray  # the model's own interval
    upper: np.ndarray
    sd: np.ndarray  # the model's predictive standard deviation


def method_forecast(values: np.ndarray, method: str, horizon: int, level: float) -> MethodForecast:
    """Forecasts of one method for h = 1..horizon, for every series (rows).

    Every row must end at the last column (the forecast origin). Rows with too few points
    for the method get NaN.
    """
    h = np.arange(1, horizon + 1, dtype=float)[None, :]
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # rows too short give NaN, masked below
        if method in ("naive", "drift", "weather"):
            f, enough = _walk(values, method, h, level)
        elif method == "mean":
            f, enough = _level(values, horizon, level)
        elif method in ("linear", "loglinear"):
            f, enough = _trend(values, method, h, level)
        else:
            raise KpiError(
                f"unknown method {method!r}; expected one of {', '.join(METHODS + BENCHMARKS)}"
            )
    bad = ~enough
    for arr in (f.mean, f.lower, f.upper, f.sd):
        arr[bad] = np.nan
    return f


def _normal(mean: np.ndarray, sd: np.ndarray, level: float) -> MethodForecast:
    """A forecast whose interval is the normal one around its mean."""
    z = norm_ppf(0.5 + level / 2)
    return MethodForecast(mean, mean - z * sd, mean + z * sd, sd)


def _walk(
    values: np.ndarray, method: str, h: np.ndarray, level: float
) -> tuple[MethodForecast, np.ndarray]:
    """naive, drift and weather: the last value, plus a step per year for the last two."""
    mask = ~np.isnan(values)
    n = mask.sum(axis=1)
    horizon = h.shape[1]
    diffs = np.diff(values, axis=1)  # NaN where either side is missing
    nd = (~np.isnan(diffs)).sum(axis=1)
    last = values[:, -1:]
    if method == "naive":
        mean = np.repeat(last, horizon, axis=1)
        sigma = np.sqrt(np.nanmean(diffs**2, axis=1))[:, None]
        sd = sigma * np.sqrt(h)
    elif method == "drift":
        first = np.take_along_axis(values, np.argmax(mask, axis=1)[:, None], axis=1)
        c = ((last - first)[:, 0] / (n - 1))[:, None]
        mean = last + h * c
        resid = diffs - c
        sigma = np.sqrt(np.nansum(resid**2, axis=1) / np.maximum(nd - 1, 1))[:, None]
        sd = sigma * np.sqrt(h * (1 + h / (n[:, None] - 1)))
    else:  # weather: mean of the last five annual changes
        recent = diffs[:, -5:]
        c = np.nanmean(recent, axis=1)[:, None]
        mean = last + h * c
        sigma = np.nanstd(recent, axis=1, ddof=1)[:, None]
        sd = sigma * np.sqrt(h * (1 + h / 5))
    return _normal(mean, sd, level), n >= 2


def _level(values: np.ndarray, horizon: int, level: float) -> tuple[MethodForecast, np.ndarray]:
    """mean: the mean of the last five values, a level the series swings around."""
    recent = values[:, -5:]
    k = (~np.isnan(recent)).sum(axis=1)[:, None]
    mu = np.nanmean(recent, axis=1)[:, None]
    s2 = np.nansum((recent - mu) ** 2, axis=1)[:, None] / np.maximum(k - 1, 1)
    mean = np.repeat(mu, horizon, axis=1)
    sd = np.repeat(np.sqrt(s2 * (1 + 1 / k)), horizon, axis=1)
    return _normal(mean, sd, level), k[:, 0] >= 3


def _trend(
    values: np.ndarray, method: str, h: np.ndarray, level: float
) -> tuple[MethodForecast, np.ndarray]:
    """linear and loglinear: an OLS trend (of log values for loglinear), with the prediction
    interval of a new observation."""
    n = (~np.isnan(values)).sum(axis=1)
    T = values.shape[1]
    x = np.arange(T, dtype=float)
    y = values if method == "linear" else np.log(np.where(values > 0, values, np.nan))
    ok = ~np.isnan(y)
    yz = np.where(ok, y, 0.0)
    xm = np.where(ok, x[None, :], 0.0)
    sx, sy = xm.sum(1), yz.sum(1)
    xbar, ybar = sx / n, sy / n
    sxx = (np.where(ok, (x[None, :] - xbar[:, None]) ** 2, 0)).sum(1)
    sxy = (np.where(ok, (x[None, :] - xbar[:, None]) * (yz - ybar[:, None]), 0)).sum(1)
    b = sxy / sxx
    a = ybar - b * xbar
    resid = np.where(ok, yz - (a[:, None] + b[:, None] * x[None, :]), 0)
    s = np.sqrt((resid**2).sum(1) / (n - 2))
    x0 = (T - 1) + h
    se = s[:, None] * np.sqrt(1 + 1 / n[:, None] + (x0 - xbar[:, None]) ** 2 / sxx[:, None])
    tq = t_ppf(0.5 + level / 2, np.maximum(n - 2, 1))[:, None]
    fit = a[:, None] + b[:, None] * x0
    enough = n >= 3
    if method == "linear":
        return MethodForecast(fit, fit - tq * se, fit + tq * se, se), enough
    # median on the original scale; sd by the delta method; every observed value positive
    mean = np.exp(fit)
    f = MethodForecast(mean, np.exp(fit - tq * se), np.exp(fit + tq * se), mean * se)
    return f, enough & (ok.sum(axis=1) == n)


def scale_of(values: np.ndarray) -> np.ndarray:
    """Mean absolute annual change (the MASE denominator); 1 where it is zero or unknown."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows give NaN, handled below
        s = np.nanmean(np.abs(np.diff(values, axis=1)), axis=1)
    return np.where(np.isfinite(s) & (s > 0), s, 1.0)
