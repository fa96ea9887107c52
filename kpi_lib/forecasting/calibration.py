"""Conformal calibration: intervals and a predictive distribution from the backtest's own errors.

Where the models' own intervals cover less than they claim (and always for ``auto``), they are
replaced by conformal intervals: quantiles of the latest origins' errors across the panel, as
ratios for positive series and scaled by the mean annual change otherwise, pooled within strata
of comparable series (recent volatility; size for positive series). The same errors give
``p_meet`` (`PanelForecast.probability`) and the totals of cumulative targets
(`PanelForecast.total`). docs/forecasts.md explains and measures it.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from kpi_lib.core import vocabulary
from kpi_lib.forecasting.backtest import MIN_TRAIN, Backtest
from kpi_lib.forecasting.dist import norm_ppf
from kpi_lib.forecasting.methods import scale_of


@dataclass
class PanelForecast:
    """Forecasts of every series of a panel, with the predictive distribution behind the
    intervals."""

    method: np.ndarray  # (S,) method name per series
    mean: np.ndarray  # (S, H)
    lower: np.ndarray
    upper: np.ndarray
    sd: np.ndarray  # (S, H) predictive standard deviation (on the value scale, approximate)
    calibration: str = "model"
    notes: list[str] = field(default_factory=list)
    # The predictive distribution behind conformal intervals: each row's error kind ('log' or
    # 'scaled', '' where uncalibrated), its stratum, and per (kind, stratum) the backtest's
    # signed errors for each horizon (sorted). `probability` reads targets off them.
    kind: np.ndarray | None = None
    stratum: np.ndarray | None = None
    scale: np.ndarray | None = None
    samples: dict = field(default_factory=dict)
    # per (kind, stratum): rows of errors one backtest forecast made at every horizon at once,
    # for sums over years (a cumulative target), where the years' errors move together
    joint: dict = field(default_factory=dict)

    def _stratum_of(self, row: int) -> tuple[str, int] | None:
        """(error kind, stratum) whose errors the row's distribution is made of; None where the
        row was not calibrated."""
        if self.kind is None or self.stratum is None or not self.kind[row]:
            return None
        return str(self.kind[row]), int(self.stratum[row])

    def probability(self, row: int, h: int, target: float, direction: str) -> float | None:
        """P(value in year h+1 meets `target`) for one series: the share of its stratum's backtest
        errors that would put it there (None without a calibrated distribution)."""
        p = self.probabilities(h, np.array([target], float), np.array([direction]), [row])[0]
        return None if np.isnan(p) else float(p)

    def probabilities(
        self, h: int, targets: np.ndarray, directions: np.ndarray, rows=None
    ) -> np.ndarray:
        """`probability` for many series at once (`rows`, default all, with one target and
        direction each); NaN where a series has no calibrated distribution. One comparison per
        stratum instead of one per series: the honesty checks ask for tens of thousands."""
        rows = np.arange(len(self.mean)) if rows is None else np.asarray(rows)
        out = np.full(len(rows), np.nan)
        if self.kind is None or self.stratum is None or self.scale is None:
            return out
        mean = self.mean[rows, h]
        kinds, strata = self.kind[rows], self.stratum[rows]
        for (kind, stratum), errors in self.samples.items():
            if h >= len(errors) or len(errors[h]) == 0:
                continue
            at = np.flatnonzero((kinds == kind) & (strata == stratum) & np.isfinite(mean))
            if len(at):
                up = directions[at] == "increase"
                above = _share_above(errors[h], kind, mean[at], targets[at], self.scale[rows[at]])
                out[at] = np.where(up, above, 1.0 - above)
        return out

    def total(self, row: int, observed: float) -> np.ndarray | None:
        """Samples of `observed` plus the row's values in every forecast year, one per backtest
        forecast, from its errors at all horizons at once (None without enough of them)."""
        for _, samples in self.totals([row], observed):
            return samples[0]
        return None

    def totals(self, rows, observed: float = 0.0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """`total` for many series: (positions in `rows`, their samples, one row each) per
        stratum, in blocks of at most 256 series (a large panel's samples are many)."""
        rows = np.asarray(rows)
        if self.kind is None or self.stratum is None or self.scale is None:
            return
        kinds, strata = self.kind[rows], self.stratum[rows]
        finite = np.isfinite(self.mean[rows]).all(axis=1)
        for (kind, stratum), joint in self.joint.items():
            found = np.flatnonzero((kinds == kind) & (strata == stratum) & finite)
            for start in range(0, len(found), 256):
                at = found[start : start + 256]
                mean = self.mean[rows[at]][:, None, :]
                if kind == "log":
                    values = mean * np.exp(joint)[None]
                else:
                    values = mean + joint[None] * self.scale[rows[at]][:, None, None]
                yield at, observed + values.sum(axis=2)


def _share_above(errors, kind, mean, target, scale) -> np.ndarray:
    """Per series, the share of `errors` that would put its value at or above `target`. With log
    errors a target or mean of sign ≤ 0 is decided by the mean alone (every value of the
    distribution has the mean's sign): 1 or 0, turned by the caller for a decrease."""
    if kind == "log":
        signed = (target <= 0) | (mean <= 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            threshold = np.log(np.where(signed, 1.0, target) / np.where(signed, 1.0, mean))
    else:
        signed = np.zeros(len(mean), bool)
        threshold = (target - mean) / scale
    share = np.empty(len(mean))
    for start in range(0, len(mean), 256):  # bounded memory for a large panel's many errors
        part = slice(start, start + 256)
        share[part] = (errors[None, :] >= threshold[part, None]).mean(axis=1)
    return np.where(signed, (mean >= target).astype(float), share)


FEATURE_STEPS = (
    3  # annual changes the volatility feature averages (the last one is the latest jump)
)
STRATA = 4  # volatility strata of the conformal calibration (fewer where errors are few)
MIN_STRATUM_ERRORS = 100  # errors per stratum a split needs: ten in each 10 % tail
CALIBRATION_ORIGINS = 8  # the latest backtest origins: the regime the forecast starts in


def origin_volatility(values: np.ndarray, kind: str) -> np.ndarray:
    """Per series and origin column: the mean size of its last three annual changes, as a ratio
    (|Δ log|) for positive series or relative to the series' mean annual change otherwise. It
    includes the latest jump, so a many-fold jump (a hometown-tax boom) lands in the top stratum."""
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if kind == "log":
            steps = np.abs(np.diff(np.log(np.where(values > 0, values, np.nan)), axis=1))
        else:
            d = np.abs(np.diff(values, axis=1))
            steps = d / scale_of(values)[:, None]
        out = np.full(values.shape, np.nan)
        for t in range(1, values.shape[1]):
            out[:, t] = np.nanmean(steps[:, max(0, t - FEATURE_STEPS) : t], axis=1)
    return out


def _strata_edges(features: np.ndarray, n_errors: int, most: int = STRATA) -> np.ndarray:
    """Quantile edges of up to `most` strata, as many as keep about MIN_STRATUM_ERRORS × 2
    errors each."""
    k = int(max(1, min(most, n_errors // (MIN_STRATUM_ERRORS * 2))))
    f = features[np.isfinite(features)]
    if k == 1 or len(f) == 0:
        return np.array([])
    return np.unique(np.quantile(f, np.linspace(0, 1, k + 1)[1:-1]))


MIN_HORIZON_ERRORS = 20
# A trend fitted by OLS on 4 points (2 residual degrees of freedom) and extrapolated errs more
# widely than one fitted on the 7–10 points a forecast has: on such errors Hokkaido's births
# (log-linear) covered 85 %. A trend's errors from fits on fewer points are left out (a horizon
# only they saw borrows a shorter one); the other methods keep all theirs (leaving out the short
# fits of every method was rejected: docs/forecasts.md, "What was tried").
TREND_METHODS = ("linear", "loglinear")
MIN_TREND_FIT = 5
SIZE_STRATA = 2  # small and large counts within each volatility stratum (log errors only)


def _by_horizon(errors: list[np.ndarray]) -> list[np.ndarray] | None:
    """Sorted errors per horizon. A horizon with too few (the latest origins cannot see far yet)
    borrows the longest shorter horizon that has enough, widened as a random walk widens
    (√ of the horizons' ratio); None where even the first horizon has too few."""
    out: list[np.ndarray] = []
    ref = None
    for h, e in enumerate(errors):
        if len(e) >= MIN_HORIZON_ERRORS:
            out.append(np.sort(e))
            ref = h
        elif ref is None:
            return None
        else:
            out.append(out[ref] * np.sqrt((h + 1) / (ref + 1)))
    return out


def sample_bounds(values: np.ndarray, level: float) -> tuple[float, float]:
    """Central `level` bounds of samples (backtest errors, or totals made of them), with the
    finite-sample conformal correction (n + 1) / n on the tail probability."""
    lower, upper = row_bounds(values[None, :], level)
    return float(lower[0]), float(upper[0])


def row_bounds(samples: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """`sample_bounds` of each row of `samples` (rows of equally many samples)."""
    values = np.sort(samples, axis=1)
    n = values.shape[1]
    tail = max((1 - level) / 2 - (1 - level) / 2 / (n + 1), 0.0)
    lo = min(int(np.floor(tail * n)), n - 1)
    hi = max(int(np.ceil((1 - tail) * n)) - 1, 0)
    return values[:, lo], values[:, hi]


def share_at_least(values: np.ndarray, target: float) -> float:
    """The share of the samples at or above `target`: P(value ≥ target)."""
    return float((values >= target).mean())


def calibrate_intervals(
    result: PanelForecast, bt: Backtest, values: np.ndarray, level: float
) -> None:
    """Conformal intervals and a predictive distribution from the backtest's own errors.

    Positive panels (counts, visitors) use ratio errors log(actual / forecast), so that the
    width follows the level of each series; panels with zero or negative values (net
    migration) use errors scaled by each series' mean annual change. Errors are pooled within
    strata of `origin_volatility`: a series is calibrated on the errors that series of like
    volatility made at the latest origins (Mondrian conformal prediction). Quantiles are
    signed, so a boom's lopsided errors give a lopsided interval.
    """
    pick = _chosen_errors(result, bt, values)
    if not np.isfinite(pick["covered"]).any():
        result.notes.append(vocabulary.unchecked_interval_note())
        return
    coverage = float(np.nanmean(pick["covered"]))
    positive = np.nanmin(values, axis=1) > 0
    S, H = result.mean.shape
    # Scaled errors are in units of each series' mean annual change; log errors are ratios already.
    scale = np.where(positive, 1.0, scale_of(values))
    kinds, strata = np.full(S, "", dtype=object), np.zeros(S, dtype=int)
    for rows, kind in ((positive, "log"), (~positive, "scaled")):
        if not rows.any():
            continue
        errors = pick[kind][rows][:, -CALIBRATION_ORIGINS:, :H]
        now = _calibrate_kind(result, errors, values[rows], rows, kind, scale, level)
        if now is None:
            result.notes.append(vocabulary.uncalibrated_interval_note(kind))
            continue
        kinds[rows], strata[rows] = kind, now
    if not (kinds != "").any():  # no kind calibrated: the models' own intervals stand
        return
    result.kind, result.stratum, result.scale = kinds, strata, scale
    result.calibration = "conformal"
    result.notes.append(vocabulary.conformal_note(CALIBRATION_ORIGINS, coverage, level))


def _chosen_errors(
    result: PanelForecast, bt: Backtest, values: np.ndarray
) -> dict[str, np.ndarray]:
    """The backtest's scaled errors, log errors and model-interval coverage of the method each
    series was given, as (S, origins, horizon) arrays. A trend's errors from fits on fewer than
    MIN_TREND_FIT points are left out of the errors."""
    S = result.mean.shape[0]
    n_origins = next(iter(bt.errors.values())).shape[1]
    origin_cols = np.arange(MIN_TRAIN - 1, values.shape[1] - 1)  # the backtest's origins
    fit_points = np.cumsum(~np.isnan(values), axis=1)[:, origin_cols]
    trend = np.isin(result.method, TREND_METHODS)[:, None]
    short_trend = (trend & (fit_points < MIN_TREND_FIT))[..., None]
    pick = {}
    for name, source in (
        ("scaled", bt.errors),
        ("log", bt.log_errors),
        ("covered", bt.covered),
    ):
        arr = np.full((S, n_origins, bt.horizon), np.nan)
        for m in np.unique(result.method):
            rows = result.method == m
            if m in source:
                arr[rows] = source[m][rows]
        pick[name] = arr if name == "covered" else np.where(short_trend, np.nan, arr)
    return pick


def _strata(
    values: np.ndarray, kind: str, errors: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:
    """The stratum of each series now (at its last column), of each of its backtest errors then
    (at their origins), and the number of strata."""
    origin_cols = np.arange(MIN_TRAIN - 1, values.shape[1] - 1)  # the backtest's origins
    feature = origin_volatility(values, kind)
    feat_at = feature[:, origin_cols][:, -CALIBRATION_ORIGINS:]
    usable = np.isfinite(errors[..., 0])
    edges = _strata_edges(feat_at[usable], int(usable.sum()))
    now = np.digitize(np.nan_to_num(feature[:, -1], nan=0.0), edges)
    then = np.digitize(np.nan_to_num(feat_at, nan=0.0), edges)
    n_strata = len(edges) + 1
    if kind == "log" and SIZE_STRATA > 1:
        # Within each volatility stratum, by size: a count of 50 can jump ten-fold, one of
        # 50,000 hardly (the errors of small counts are wider, ratios alike).
        with np.errstate(divide="ignore", invalid="ignore"):
            size = np.log(values)
        size_at = size[:, origin_cols][:, -CALIBRATION_ORIGINS:]
        size_edges = _strata_edges(size_at[usable], int(usable.sum()) // n_strata, SIZE_STRATA)
        now = now * (len(size_edges) + 1) + np.digitize(np.nan_to_num(size[:, -1]), size_edges)
        then = then * (len(size_edges) + 1) + np.digitize(np.nan_to_num(size_at), size_edges)
        n_strata *= len(size_edges) + 1
    return now, then, n_strata


def _calibrate_kind(
    result: PanelForecast,
    errors: np.ndarray,
    values: np.ndarray,
    rows: np.ndarray,
    kind: str,
    scale: np.ndarray,
    level: float,
) -> np.ndarray | None:
    """Calibrate the series `rows` (their `values`) of one error kind on their backtest
    `errors`: the strata's errors into `result`'s distribution, the series' intervals replaced.
    Returns each series' stratum; None (nothing changed) where even the pooled errors are too
    few."""
    H = result.mean.shape[1]
    now, then, n_strata = _strata(values, kind, errors)
    # Forecasts seen at every horizon: their errors together, for sums over the years.
    complete = np.isfinite(errors).all(axis=2)
    joint = {b: errors[complete & (then == b)] for b in range(n_strata)}
    pooled_joint = errors[complete]
    bounds = {}
    for b in range(n_strata):
        bounds[b] = _by_horizon(
            [errors[..., h][(then == b) & np.isfinite(errors[..., h])] for h in range(H)]
        )
    pooled = _by_horizon([errors[..., h][np.isfinite(errors[..., h])] for h in range(H)])
    if pooled is None:
        return None
    # A stratum with too few errors borrows the pooled errors of its kind.
    idx = np.flatnonzero(rows)
    for b, per_h in bounds.items():
        per_h = per_h or pooled
        result.samples[(kind, b)] = per_h  # signed: the probabilities keep the backtest's bias
        rows_b = joint[b] if len(joint[b]) >= MIN_HORIZON_ERRORS else pooled_joint
        if len(rows_b) >= MIN_HORIZON_ERRORS:
            result.joint[(kind, b)] = rows_b
        members = idx[now == b]
        if len(members):
            _replace_intervals(result, members, per_h, kind, scale, level)
    return now


def _replace_intervals(
    result: PanelForecast,
    members: np.ndarray,
    per_h: list[np.ndarray],
    kind: str,
    scale: np.ndarray,
    level: float,
) -> None:
    """The intervals of `members` from the same distribution as the probabilities: the signed
    errors as they were. Rescaling them by how a model says errors shrink with a longer history
    made them too narrow off Hokkaido; mirroring part of them over-widened furusato's boom years
    (docs/forecasts.md, "What was tried")."""
    H = result.mean.shape[1]
    z = norm_ppf(0.5 + level / 2)
    q = np.array([sample_bounds(per_h[h], level) for h in range(H)])
    mean = result.mean[members]
    if kind == "log":
        result.lower[members], result.upper[members] = (
            mean * np.exp(q[:, 0]),
            mean * np.exp(q[:, 1]),
        )
        result.sd[members] = mean * (q[:, 1] - q[:, 0]) / (2 * z)
    else:
        s_ = scale[members][:, None]
        result.lower[members], result.upper[members] = mean + q[:, 0] * s_, mean + q[:, 1] * s_
        result.sd[members] = (q[:, 1] - q[:, 0]) * s_ / (2 * z)
