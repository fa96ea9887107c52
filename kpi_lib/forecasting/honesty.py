"""The honesty check: rolling origins the forecasts never saw. Each origin's panel is forecast
with data up to it only (method choice and calibration included) and scored against what
followed: interval coverage, scaled errors, and the Brier skill of ``p_meet`` for targets such
as strategies set, year by year and for totals over the forecast years."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kpi_lib.forecasting.backtest import MIN_TRAIN
from kpi_lib.forecasting.calibration import PanelForecast, row_bounds
from kpi_lib.forecasting.methods import scale_of
from kpi_lib.forecasting.panel import panel_forecast_arrays

_YEAR_COLUMNS = (
    "series",
    "origin",
    "h",
    "truth",
    "forecast",
    "lower",
    "upper",
    "naive",
    "scale",
    "target",
    "direction",
    "p_meet",
)
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
    the last value (as a strategy's "150 marriages over five years"). Each origin is forecast once.
    """
    T = values.shape[1]
    origins = origins if origins is not None else list(range(MIN_FIT_YEARS - 1, T - 1))
    columns: dict[str, list] = {name: [] for name in _YEAR_COLUMNS}  # one frame at the end
    total_frames = []
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
            part = {
                "series": rows,
                "origin": np.full(len(rows), o),
                "h": np.full(len(rows), h + 1),
                "truth": truth[:, h],
                "forecast": res.mean[:, h],
                "lower": res.lower[:, h],
                "upper": res.upper[:, h],
                "naive": last,
                "scale": scale,
                "target": target,
                "direction": direction,
                "p_meet": res.probabilities(h, target, direction),
            }
            for name in _YEAR_COLUMNS:
                columns[name].append(part[name])
        if steps == horizon:
            total_frames.append(
                _totals_frame(res, o, truth.sum(axis=1), horizon * last * (1 + delta), level)
            )
    years = pd.DataFrame()
    if columns["series"]:
        years = pd.DataFrame({name: np.concatenate(parts) for name, parts in columns.items()})
        years = years.dropna(subset=["truth", "forecast"])
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
    for at, totals in res.totals(np.arange(len(truth))):
        lower[at], upper[at] = row_bounds(totals, level)
        p[at] = (totals >= target[at, None]).mean(axis=1)
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
