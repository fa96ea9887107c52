"""Forecasting whole panels at once: every series of a dataset in a few array operations.

A panel is a (series × year) array with NaN before a series starts. Methods are the simple,
well-understood ones, in closed form so that thousands of series cost milliseconds:

* ``naive``: the last value; random-walk variance h·σ²;
* ``drift``: the last value plus h times the mean annual change (the endpoint slope);
  variance σ²·h·(1 + h/(n−1));
* ``linear``: an OLS trend, with prediction intervals for a new observation;
* ``loglinear``: an OLS trend of log values (constant growth, CAGR), positive series only;
* ``mean``: the mean of the last five values, for series that swing around a level (net
  migration, small counts); variance s²(1 + 1/k);
* ``weather``: the German statistical office's projection of the mean of the last five
  annual changes, kept as a benchmark.

``auto`` picks the method with the lowest median scaled error in a rolling-origin backtest
pooled over the panel (a series with a long history of its own takes its own best).
Interval widths are checked on the same backtest: where the models' own intervals cover
less than they claim (and always for ``auto``), they are replaced by conformal intervals:
quantiles of the latest origins' errors across the panel, as ratios for positive series
and scaled by the mean annual change otherwise, pooled within strata of comparable series
(recent volatility; size for positive series). The same errors give ``p_meet``.
docs/forecasts.md explains and measures it, on Hokkaido and on a validation region.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from kpi_lib.core.errors import ArgumentError, InputError, KpiError
from kpi_lib.forecasting.dist import norm_ppf, t_ppf

METHODS = ("naive", "drift", "linear", "loglinear", "mean")
BENCHMARKS = ("weather",)
MIN_TRAIN = 4  # the fewest points a backtest origin fits on


@dataclass
class Panel:
    """A (series × year) array of one statistic, NaN before a series starts."""

    ids: np.ndarray  # (S,)
    years: np.ndarray  # (T,) consecutive
    values: np.ndarray  # (S, T), NaN before a series starts

    def through(self, year: int) -> Panel:
        """The panel cut after `year`."""
        keep = self.years <= year
        return Panel(self.ids, self.years[keep], self.values[:, keep])


def refuse_first(bad: pd.Series, df: pd.DataFrame, column: str, source: str, expected: str) -> None:
    """Raise naming the first row of a CSV (header on line 1) where `bad` holds, if any."""
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        found = df[column].iloc[i]
        shown = repr(found) if isinstance(found, str) else f"'{found}'"  # inf, not np.float64(inf)
        raise InputError(source, f"expected {expected}, found {shown}", row=i + 2, column=column)


MAX_YEARS = 300  # a yearly panel longer than this is a typo in the year column
MAX_CELLS = 50_000_000  # series × years: about 400 MB of floats, the most one run should hold
MAX_HORIZON = 50


def panel_from_long(df: pd.DataFrame, source: str = "input") -> Panel:
    """Check and pivot a long table (series_id, year, value).

    Refused with a message naming the series: missing columns, non-numeric years or
    values, duplicate years, gaps inside a series, and series with no values.
    """
    missing = {"series_id", "year", "value"} - set(df.columns)
    if missing:
        raise InputError(
            source,
            f"missing column(s) {', '.join(sorted(missing))}; expected series_id, year, value",
        )
    if df.empty:
        raise InputError(source, "no rows")
    df = df[["series_id", "year", "value"]].copy()
    df["series_id"] = df["series_id"].astype(str)
    years = pd.to_numeric(df["year"], errors="coerce")
    bad = years.isna() | (years % 1 != 0)
    refuse_first(bad, df, "year", source, "a whole year")
    values = pd.to_numeric(df["value"], errors="coerce")
    bad = values.isna() & df["value"].notna() & df["value"].astype(str).str.strip().ne("")
    refuse_first(bad, df, "value", source, "a number")
    bad = values.notna() & ~np.isfinite(values.fillna(0.0))
    refuse_first(bad, df, "value", source, "a finite number")
    span = int(years.max() - years.min() + 1)
    if span > MAX_YEARS:
        raise InputError(
            source,
            f"the years run from {int(years.min())} to {int(years.max())} ({span:,} "
            f"years); yearly panels span at most {MAX_YEARS}: check the year column",
            column="year",
        )
    n_series = df["series_id"].nunique()
    if n_series * span > MAX_CELLS:
        raise InputError(
            source,
            f"{n_series:,} series × {span} years is more than this "
            f"tool holds at once ({MAX_CELLS:,} cells); split the file",
        )
    df["year"], df["value"] = years.astype(int), values
    dup = df.duplicated(["series_id", "year"], keep=False)
    if dup.any():
        first = df[dup].iloc[0]
        raise InputError(
            source,
            f"series {first.series_id!r} has year {first.year} more than once",
            column="year",
        )
    has_value = df["value"].notna().groupby(df["series_id"]).any()
    if not has_value.all():
        raise InputError(source, f"series {has_value[~has_value].index[0]!r} has no values")
    df = df.dropna(subset=["value"])
    wide = df.pivot(index="series_id", columns="year", values="value")
    wide = wide.reindex(columns=range(int(wide.columns.min()), int(wide.columns.max()) + 1))
    arr = wide.to_numpy(dtype=float)
    started = np.cumsum(~np.isnan(arr), axis=1) > 0
    last = np.isnan(arr[:, ::-1]).argmin(axis=1)
    ended = np.arange(arr.shape[1])[None, :] > (arr.shape[1] - 1 - last)[:, None]
    gaps = started & ~ended & np.isnan(arr)
    if gaps.any():
        s, t = np.argwhere(gaps)[0]
        raise InputError(
            source,
            f"series {wide.index[s]!r} has no value for {wide.columns[t]} "
            "between other years; fill the gap or split the series",
            column="year",
        )
    return Panel(wide.index.to_numpy(), wide.columns.to_numpy(), arr)


# ── closed-form methods on the last observed block ────────────────────────────


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
        key = self._stratum_of(row)
        if key is None or self.scale is None:
            return None
        errors = self.samples.get(key)
        if errors is None or h >= len(errors) or len(errors[h]) == 0:
            return None
        mean = self.mean[row, h]
        if not np.isfinite(mean):
            return None

        if key[0] == "log":
            if target <= 0 or mean <= 0:  # every value of the distribution has mean's sign
                return float((direction == "increase") == (mean >= target))
            threshold = np.log(target / mean)
        else:
            threshold = (target - mean) / self.scale[row]
        above = float((errors[h] >= threshold).mean())
        return above if direction == "increase" else 1.0 - above

    def total(self, row: int, observed: float) -> np.ndarray | None:
        """Samples of `observed` plus the row's values in every forecast year, one per backtest
        forecast, from its errors at all horizons at once (None without enough of them)."""
        key = self._stratum_of(row)
        if key is None or self.scale is None:
            return None
        joint, mean = self.joint.get(key), self.mean[row]
        if joint is None or not np.isfinite(mean).all():
            return None
        values = mean * np.exp(joint) if key[0] == "log" else mean + joint * self.scale[row]
        return observed + values.sum(axis=1)


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
    mask = ~np.isnan(values)
    n = mask.sum(axis=1)
    T = values.shape[1]
    x = np.arange(T, dtype=float)
    h = np.arange(1, horizon + 1, dtype=float)[None, :]
    z = norm_ppf(0.5 + level / 2)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # rows too short give NaN, masked below
        if method in ("naive", "drift", "weather"):
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
            lower, upper = mean - z * sd, mean + z * sd
            enough = n >= 2
        elif method == "mean":  # the mean of the last five values: a level the series swings around
            recent = values[:, -5:]
            k = (~np.isnan(recent)).sum(axis=1)[:, None]
            mu = np.nanmean(recent, axis=1)[:, None]
            s2 = np.nansum((recent - mu) ** 2, axis=1)[:, None] / np.maximum(k - 1, 1)
            mean = np.repeat(mu, horizon, axis=1)
            sd = np.repeat(np.sqrt(s2 * (1 + 1 / k)), horizon, axis=1)
            lower, upper = mean - z * sd, mean + z * sd
            enough = k[:, 0] >= 3
        elif method in ("linear", "loglinear"):
            y = values if method == "linear" else np.log(np.where(values > 0, values, np.nan))
            ok = ~np.isnan(y)
            if method == "loglinear":
                ok_all = ok.sum(axis=1) == n  # every observed value positive
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
            if method == "linear":
                mean, lower, upper, sd = fit, fit - tq * se, fit + tq * se, se
            else:  # median on the original scale; sd by the delta method
                mean, lower, upper = np.exp(fit), np.exp(fit - tq * se), np.exp(fit + tq * se)
                sd = mean * se
            enough = n >= 3
            if method == "loglinear":
                enough &= ok_all
        else:
            raise KpiError(
                f"unknown method {method!r}; expected one of {', '.join(METHODS + BENCHMARKS)}"
            )
    bad = ~enough
    for arr in (mean, lower, upper, sd):
        arr[bad] = np.nan
    return MethodForecast(mean, lower, upper, sd)


def scale_of(values: np.ndarray) -> np.ndarray:
    """Mean absolute annual change (the MASE denominator); 1 where it is zero or unknown."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows give NaN, handled below
        s = np.nanmean(np.abs(np.diff(values, axis=1)), axis=1)
    return np.where(np.isfinite(s) & (s > 0), s, 1.0)


# ── rolling-origin backtest ───────────────────────────────────────────────────


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


# ── the panel forecast ────────────────────────────────────────────────────────


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


TARGET_COLUMNS = ["series_id", "year", "target", "direction"]
# The columns of every forecast-panel output (then `note`; with targets, the target's columns).
FORECAST_COLUMNS = ["series_id", "year", "forecast", "lower", "upper", "method"]


def read_targets(df: pd.DataFrame, source: str) -> pd.DataFrame:
    """Check a targets table: series_id, year, target, direction (increase / decrease)."""
    missing = set(TARGET_COLUMNS) - set(df.columns)
    if missing:
        raise InputError(
            source,
            f"missing column(s) {', '.join(sorted(missing))}; expected {', '.join(TARGET_COLUMNS)}",
        )
    df = df[TARGET_COLUMNS].copy()
    df["series_id"] = df["series_id"].astype(str)
    for col in ("year", "target"):
        values = pd.to_numeric(df[col], errors="coerce")
        bad = values.isna() | ~np.isfinite(values.fillna(0))
        refuse_first(bad, df, col, source, "a number")
        df[col] = values
    bad = ~df["direction"].isin(["increase", "decrease"])
    refuse_first(bad, df, "direction", source, "increase or decrease")
    if df.duplicated(["series_id", "year"]).any():
        first = df[df.duplicated(["series_id", "year"])].iloc[0]
        raise InputError(
            source, f"series {first.series_id!r} has two targets for {int(first.year)}"
        )
    return df.astype({"year": int})


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
            else (note + "；" if note else "")
            + "確率なし（較正された予測分布がない：系列が短いか検証誤差が少ない）"
        )
    merged["p_meet"], merged["note"] = p, notes
    return merged[[*FORECAST_COLUMNS, "target", "direction", "p_meet", "note"]]


def _series_note(n_obs: int) -> str:
    """Why a series' forecast is empty or rests on little (a reader sees it in the output)."""
    if n_obs < 2:
        return f"観測が{n_obs}点のみのため予測なし（2点以上が必要）"
    if n_obs < 4:
        return f"観測が{n_obs}点のみ（区間は参考程度）"
    return ""


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
        result.notes.append(
            f"手法はローリング・オリジン検証で選択（パネル全体: {panel_best}、"
            f"自系列の成績で選んだ系列: {int((chosen != panel_best).sum())}）"
        )
    if calibrate and bt is not None:
        _calibrate(result, bt, values, level)
    return result


FEATURE_STEPS = (
    3  # annual changes the volatility feature averages (the last one is the latest jump)
)
STRATA = 4  # volatility strata of the conformal calibration (fewer where errors are few)
MIN_STRATUM_ERRORS = 100  # errors per stratum a split needs: ten in each 10 % tail
CALIBRATION_ORIGINS = 8  # the latest backtest origins: the regime the forecast starts in


def origin_volatility(values: np.ndarray, kind: str) -> np.ndarray:
    """Per series and origin column: the mean size of its last three annual changes, as a ratio
    (|Δ log|) for positive series or relative to the series' mean annual change otherwise. It
    includes the latest jump, so a many-fold jump (a ふるさと納税 boom) lands in the top stratum."""
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
    values = np.sort(values)
    n = len(values)
    tail = max((1 - level) / 2 - (1 - level) / 2 / (n + 1), 0.0)
    lo = min(int(np.floor(tail * n)), n - 1)
    hi = max(int(np.ceil((1 - tail) * n)) - 1, 0)
    return float(values[lo]), float(values[hi])


def share_at_least(values: np.ndarray, target: float) -> float:
    """The share of the samples at or above `target`: P(value ≥ target)."""
    return float((values >= target).mean())


def _calibrate(result: PanelForecast, bt: Backtest, values: np.ndarray, level: float) -> None:
    """Conformal intervals and a predictive distribution from the backtest's own errors.

    Positive panels (counts, visitors) use ratio errors log(actual / forecast), so that the
    width follows the level of each series; panels with zero or negative values (net
    migration) use errors scaled by each series' mean annual change. Errors are pooled within
    strata of `origin_volatility`: a series is calibrated on the errors that series of like
    volatility made at the latest origins (Mondrian conformal prediction). Quantiles are
    signed, so a boom's lopsided errors give a lopsided interval.
    """
    S, H = result.mean.shape
    n_origins = next(iter(bt.errors.values())).shape[1]
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
        pick[name] = arr
    if not np.isfinite(pick["covered"]).any():
        result.notes.append("区間を検証できる過去データがないため、モデル自身の区間を使用")
        return
    coverage = float(np.nanmean(pick["covered"]))
    positive = np.nanmin(values, axis=1) > 0
    z = norm_ppf(0.5 + level / 2)
    lower, upper, sd = result.lower.copy(), result.upper.copy(), result.sd.copy()
    kinds = np.full(S, "", dtype=object)
    strata = np.zeros(S, dtype=int)
    # Scaled errors are in units of each series' mean annual change; log errors are ratios already.
    scale = np.where(positive, 1.0, scale_of(values))
    origin_cols = np.arange(
        MIN_TRAIN - 1, values.shape[1] - 1
    )  # the backtest's origins, as columns
    calibrated = []
    for rows, kind in ((positive, "log"), (~positive, "scaled")):
        if not rows.any():
            continue
        feature = origin_volatility(values[rows], kind)
        errors = pick[kind][rows][:, -CALIBRATION_ORIGINS:, :H]
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
                size = np.log(values[rows])
            size_at = size[:, origin_cols][:, -CALIBRATION_ORIGINS:]
            size_edges = _strata_edges(size_at[usable], int(usable.sum()) // n_strata, SIZE_STRATA)
            now = now * (len(size_edges) + 1) + np.digitize(np.nan_to_num(size[:, -1]), size_edges)
            then = then * (len(size_edges) + 1) + np.digitize(np.nan_to_num(size_at), size_edges)
            n_strata *= len(size_edges) + 1
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
            result.notes.append(
                f"検証の誤差が少なく較正できないため（{kind}）、モデル自身の区間を使用"
            )
            continue
        # A stratum with too few errors borrows the pooled errors of its kind.
        idx = np.flatnonzero(rows)
        for b, per_h in bounds.items():
            per_h = per_h or pooled
            result.samples[(kind, b)] = per_h  # signed: the probabilities keep the backtest's bias
            rows_b = joint[b] if len(joint[b]) >= MIN_HORIZON_ERRORS else pooled_joint
            if len(rows_b) >= MIN_HORIZON_ERRORS:
                result.joint[(kind, b)] = rows_b
            members = idx[now == b]
            if not len(members):
                continue
            # Intervals from the same distribution as the probabilities: the signed errors as they
            # were. Rescaling them by how a model says errors shrink with a longer history made
            # them too narrow off Hokkaido; mirroring part of them over-widened furusato's boom
            # years (docs/forecasts.md, "What was tried").
            q = np.array([sample_bounds(per_h[h], level) for h in range(H)])
            mean = result.mean[members]
            if kind == "log":
                lower[members], upper[members] = mean * np.exp(q[:, 0]), mean * np.exp(q[:, 1])
                sd[members] = mean * (q[:, 1] - q[:, 0]) / (2 * z)
            else:
                s_ = scale[members][:, None]
                lower[members], upper[members] = mean + q[:, 0] * s_, mean + q[:, 1] * s_
                sd[members] = (q[:, 1] - q[:, 0]) * s_ / (2 * z)
            kinds[members], strata[members] = kind, b
        calibrated.append(kind)
    if not calibrated:
        return
    result.lower, result.upper, result.sd = lower, upper, sd
    result.kind, result.stratum, result.scale = kinds, strata, scale
    result.calibration = "conformal"
    result.notes.append(
        f"コンフォーマル区間（直近{CALIBRATION_ORIGINS}時点の検証誤差を変動の大きさで層別、"
        "正の系列は比率誤差、その他は尺度化誤差）。モデル自身の区間の検証での的中率は "
        f"{coverage:.0%}（名目 {level:.0%}）"
    )


# ── honesty check: rolling origins the forecasts never saw ─────────────────────

DELTAS = (-0.20, -0.15, -0.10, -0.05, 0.05, 0.10, 0.15, 0.20)  # targets such as strategies set
MIN_FIT_YEARS = 6


@dataclass
class RollingChecks:
    """What rolling origins showed: one row per series, origin and year (`years`), and one per
    series and origin for the total of all the forecast years (`totals`)."""

    years: pd.DataFrame
    totals: pd.DataFrame


def rolling_checks(
    values: np.ndarray,
    horizon: int,
    level: float,
    origins: list[int] | None = None,
    method: str = "auto",
) -> RollingChecks:
    """Forecast from each origin column with data up to it only; score against what followed.

    `years`: truth, forecast, interval, the naive forecast, the MASE scale, and a target ±5–20 %
    from the last value (cycled over series, as strategies set them) with the probability of
    meeting it in that year and whether it was met. `totals`, for origins that saw all
    `horizon` years: the total against its interval and a target ±5–20 % from `horizon` times
    the last value (as a strategy's "N件 over five years"). Each origin is forecast once.
    """
    T = values.shape[1]
    origins = origins if origins is not None else list(range(MIN_FIT_YEARS - 1, T - 1))
    frames, total_frames = [], []
    for o in origins:
        fit = values[:, : o + 1]
        rows = np.flatnonzero(~np.isnan(fit[:, -1]) & ((~np.isnan(fit)).sum(1) >= MIN_TRAIN))
        steps = min(horizon, T - 1 - o)
        if len(rows) < 10 or steps < 1:
            continue
        res = panel_forecast_arrays(fit[rows], horizon, level, method)
        truth = values[rows, o + 1 : o + 1 + steps]
        last = fit[rows, -1]
        scale = scale_of(fit[rows])
        delta = np.array(DELTAS)[(rows + o) % len(DELTAS)]
        target = last + delta * np.abs(last)
        direction = np.where(delta > 0, "increase", "decrease")
        for h in range(steps):
            p = np.array(
                [
                    np.nan if (q := res.probability(i, h, target[i], direction[i])) is None else q
                    for i in range(len(rows))
                ]
            )
            frames.append(
                pd.DataFrame(
                    {
                        "series": rows,
                        "origin": o,
                        "h": h + 1,
                        "truth": truth[:, h],
                        "forecast": res.mean[:, h],
                        "lower": res.lower[:, h],
                        "upper": res.upper[:, h],
                        "naive": last,
                        "scale": scale,
                        "target": target,
                        "direction": direction,
                        "p_meet": p,
                    }
                )
            )
        if steps == horizon:
            total_frames.append(
                _totals_frame(res, o, truth.sum(axis=1), horizon * last * (1 + delta), level)
            )
    years = pd.DataFrame()
    if frames:
        years = pd.concat(frames, ignore_index=True).dropna(subset=["truth", "forecast"])
        years["covered"] = (years["truth"] >= years["lower"]) & (years["truth"] <= years["upper"])
        years["met"] = np.where(
            years["direction"] == "increase",
            years["truth"] >= years["target"],
            years["truth"] <= years["target"],
        )
    totals = pd.DataFrame()
    if total_frames:
        totals = pd.concat(total_frames, ignore_index=True).dropna(subset=["truth", "lower"])
        totals["covered"] = (totals["truth"] >= totals["lower"]) & (
            totals["truth"] <= totals["upper"]
        )
    return RollingChecks(years, totals)


def _totals_frame(
    res: PanelForecast, origin: int, truth: np.ndarray, target: np.ndarray, level: float
) -> pd.DataFrame:
    """Each series' forecast total from one origin: its interval and P(total ≥ target)."""
    lower, upper, p = (np.full(len(truth), np.nan) for _ in range(3))
    for i in range(len(truth)):
        totals = res.total(i, 0.0)
        if totals is not None:
            lower[i], upper[i] = sample_bounds(totals, level)
            p[i] = share_at_least(totals, target[i])
    return pd.DataFrame(
        {
            "origin": origin,
            "h": res.mean.shape[1],
            "truth": truth,
            "lower": lower,
            "upper": upper,
            "p_meet": p,
            "met": truth >= target,
        }
    )


def rolling_evaluation(values: np.ndarray, horizon: int, level: float, **kwargs) -> pd.DataFrame:
    """The per-year rows of `rolling_checks`."""
    return rolling_checks(values, horizon, level, **kwargs).years


def rolling_totals(values: np.ndarray, horizon: int, level: float) -> pd.DataFrame:
    """The totals of `rolling_checks` (the check of cumulative targets)."""
    return rolling_checks(values, horizon, level).totals


def brier_skill(df: pd.DataFrame) -> tuple[float, float, float, int]:
    """(Brier, Brier of the base rate, skill = 1 − ratio, number of calls).

    The base rate is the share of targets met at the same horizon, known in hindsight: a
    reference that already knows how much harder a target three years out is than one year.
    """
    calls = df.dropna(subset=["p_meet"])
    if calls.empty:
        return float("nan"), float("nan"), float("nan"), 0
    met = calls["met"].astype(float)
    share = met.groupby(calls["h"]).transform("mean")
    brier = float(((calls["p_meet"] - met) ** 2).mean())
    base = float(((share - met) ** 2).mean())
    return brier, base, (1 - brier / base) if base > 0 else float("nan"), len(calls)


def reliability(df: pd.DataFrame, bins: int = 10) -> pd.DataFrame:
    """Predicted probability (deciles) against the share of targets met."""
    calls = df.dropna(subset=["p_meet"])
    cut = pd.cut(calls["p_meet"], list(np.linspace(0, 1, bins + 1)), include_lowest=True)
    g = calls.groupby(cut, observed=True)
    return pd.DataFrame(
        {"calls": g.size(), "predicted": g["p_meet"].mean(), "observed": g["met"].mean()}
    )
