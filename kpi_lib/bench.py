"""`kpi bench`: speed and forecast quality measured in one run on this machine.

Not a timed test: it prints figures and ratios from a single run, since shared machines are
too noisy for pass/fail timings.
"""

from __future__ import annotations

import time
import warnings
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import stats

from .observations import public_table
from .panel import Panel, forecast_panel, panel_from_long, scale_of
from .paths import DEFAULT_PUBLIC_DIR


def _panel(dataset: str, measure: str, *, levels=("municipality",), basis: str | None = None,
           first_year: int | None = None) -> pd.DataFrame:
    d = public_table(dataset, str(DEFAULT_PUBLIC_DIR))
    d = d[(d["measure"] == measure) & d["level"].isin(levels) & d["month"].isna() & d["municipality_code"].notna()]
    if basis:
        d = d[d["year_basis"] == basis]
    if first_year:
        d = d[d["year"] >= first_year]
    return pd.DataFrame({"series_id": d["municipality_code"], "year": d["year"], "value": d["value"]})


@lru_cache(maxsize=1)
def panels() -> dict[str, tuple[pd.DataFrame, int, int, str]]:
    """name -> (long table, fit-through year, horizon, how a target is defined for Brier)."""
    return {
        # ふるさと納税 受入件数 of every municipality and prefecture
        "furusato": (_panel("furusato", "受入件数", levels=("municipality", "prefecture")), 2016, 5, "+10%"),
        # 社会増減数, Hokkaido, calendar years (2013–)
        "migration": (_panel("jumin", "社会増減数", basis="calendar"), 2016, 5, "improve"),
        # 観光入込総数, Hokkaido; FY2007 on (earlier years hold pre-merger municipalities)
        "tourism": (_panel("tourism", "入込総数", first_year=2007), 2013, 6, "+10%"),
    }


def _statsmodels_loop(panel: Panel, through: int, horizon: int, level: float) -> float:
    """The same linear-trend forecasts, one statsmodels OLS per series; seconds taken."""
    import statsmodels.api as sm

    fit = panel.through(through)
    start = time.perf_counter()
    for row in fit.values:
        ok = ~np.isnan(row)
        if ok.sum() < 3:
            continue
        x = fit.years[ok].astype(float)
        X = sm.add_constant(x)
        res = sm.OLS(row[ok], X).fit()
        xf = sm.add_constant(np.arange(through + 1, through + horizon + 1, dtype=float), has_constant="add")
        res.get_prediction(xf).summary_frame(alpha=1 - level)
    return time.perf_counter() - start


def speed(level: float = 0.8) -> dict:
    long, through, horizon, _ = panels()["furusato"]
    panel = panel_from_long(long)
    forecast_panel(panel, through, horizon, level, "linear")  # warm-up (imports, caches)
    t0 = time.perf_counter()
    forecast_panel(panel, through, horizon, level, "linear", calibrate=False)
    linear = time.perf_counter() - t0
    t0 = time.perf_counter()
    forecast_panel(panel, through, horizon, level, "auto")
    auto = time.perf_counter() - t0
    loop = _statsmodels_loop(panel, through, horizon, level)
    return {"series": len(panel.ids), "years": len(panel.years), "panel_linear_s": linear, "panel_auto_s": auto,
            "statsmodels_loop_s": loop, "speedup_linear": loop / linear, "speedup_auto": loop / auto}


def quality(name: str, level: float = 0.8) -> dict:
    long, through, horizon, target_rule = panels()[name]
    panel = panel_from_long(long, name)
    fit = panel.through(through)
    scale = pd.Series(scale_of(fit.values), index=fit.ids)
    last = pd.Series(fit.values[:, -1], index=fit.ids)
    truth = long[long["year"] > through].rename(columns={"value": "truth"})
    res = {"series": int(np.isfinite(last).sum()), "through": through, "horizon": horizon}
    mase = {}
    for method in ("auto", "naive", "weather"):
        out = forecast_panel(panel, through, horizon, level, method)
        m = out.merge(truth, on=["series_id", "year"]).dropna(subset=["forecast", "truth"])
        err = (m["truth"] - m["forecast"]).abs() / m["series_id"].map(scale)
        mase[method] = (float(err.mean()), float(err.median()))
        if method == "auto":
            res["coverage"] = float(((m["truth"] >= m["lower"]) & (m["truth"] <= m["upper"])).mean())
            res["calibration"] = out.attrs["calibration"]
            res["methods"] = (out.drop_duplicates("series_id")["method"].value_counts().to_dict())
            res["brier"], res["base_rate"] = _brier(out, truth, last, through + horizon, level, target_rule)
    res["mase"] = mase
    res["mase_vs_naive"] = mase["auto"][0] / mase["naive"][0]
    res["mase_vs_weather"] = mase["auto"][0] / mase["weather"][0]
    return res


def _brier(out: pd.DataFrame, truth: pd.DataFrame, last: pd.Series, year: int, level: float, rule: str):
    """Brier score of 'will the series reach its target in the final year' calls.

    Target: 10 % above the last fitted value (counts) or any improvement on it (net migration).
    The probability comes from the forecast's interval, read as a normal distribution.
    """
    final = out[out["year"] == year].set_index("series_id")
    actual = truth[truth["year"] == year].set_index("series_id")["truth"]
    df = final.join(actual, how="inner").dropna(subset=["forecast", "lower", "upper", "truth"])
    lst = last.reindex(df.index)
    target = lst * 1.1 if rule == "+10%" else lst
    sd = (df["upper"] - df["lower"]) / (2 * stats.norm.ppf(0.5 + level / 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = 1 - stats.norm.cdf((target - df["forecast"]) / sd)
    p = np.where(sd > 0, p, (df["forecast"] >= target).astype(float))
    outcome = (df["truth"] >= target).astype(float)
    return float(np.mean((p - outcome) ** 2)), float(outcome.mean())


def run_forecast_bench(level: float = 0.8) -> str:
    warnings.simplefilter("ignore")
    lines = ["kpi bench — forecasts (one run on this machine; figures, not pass/fail)", ""]
    s = speed(level)
    lines += [
        f"furusato panel: {s['series']} series × {s['years']} years, fit through FY2016, 5 years ahead",
        f"  vectorised linear trend ............ {s['panel_linear_s'] * 1000:8.1f} ms",
        f"  vectorised auto (backtest+conformal) {s['panel_auto_s'] * 1000:8.1f} ms   (goal: whole panel < 1 s)",
        f"  statsmodels OLS, series by series .. {s['statsmodels_loop_s'] * 1000:8.1f} ms",
        f"  speed-up: linear {s['speedup_linear']:.0f}×, auto {s['speedup_auto']:.0f}×   (goal: ≥ 20×)",
        "",
        f"backtests at a nominal {level:.0%} interval (MASE: mean |error| ÷ mean |annual change| in the fit window)",
    ]
    for name in ("furusato", "migration", "tourism"):
        q = quality(name, level)
        lines += [
            f"{name}: {q['series']} series, fit through {q['through']}, {q['horizon']} years ahead",
            f"  coverage of the {level:.0%} intervals: {q['coverage']:.1%} (goal 75–85 %; intervals: {q['calibration']})",
            f"  MASE mean (median): auto {q['mase']['auto'][0]:.2f} ({q['mase']['auto'][1]:.2f}), naive "
            f"{q['mase']['naive'][0]:.2f} ({q['mase']['naive'][1]:.2f}), weather {q['mase']['weather'][0]:.2f} "
            f"({q['mase']['weather'][1]:.2f})",
            f"  relative MASE: auto ÷ naive {q['mase_vs_naive']:.2f}, auto ÷ weather {q['mase_vs_weather']:.2f}",
            f"  Brier of target calls: {q['brier']:.3f} (share that reached the target: {q['base_rate']:.0%}; "
            f"always saying that share would score {q['base_rate'] * (1 - q['base_rate']):.3f}, a coin 0.250)",
            f"  methods chosen: {q['methods']}",
        ]
    return "\n".join(lines)
