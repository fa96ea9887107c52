"""Will the FY2024 target be met? A forecast per KPI, with the evidence it rests on.

Minimum data, stated in every result (``evidence``):
* fewer than 2 points: ``none`` — unable to assess;
* 2–3 points: ``low`` — endpoint growth only, no interval;
* 4 points: ``moderate`` — a projection with an interval;
* 5 points or more: ``sufficient`` — the probability of meeting the target (``p_meet``).

Where a KPI has a public series, the other municipalities' series of the same statistic
are its comparable panel: the method is chosen and the interval calibrated on the panel's
rolling-origin backtest (kpi_lib.forecasting.panel). Analysts' series are forecast on their own.
Break years (the catalog's `forecast_breaks`) are left out of the fit and named in the result.
A target already met is still forecast to the target year: a count that overshot can fall back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kpi_lib.catalog.model import Kpi, schema_errors
from kpi_lib.core.errors import InputError
from kpi_lib.core.limits import load_yaml
from kpi_lib.core.paths import DATA_DIR
from kpi_lib.evaluation.peers import SKILL_HORIZON, TOTAL, peer_panel, peer_skill
from kpi_lib.evaluation.rules import RuleSettings, maintain_tolerance
from kpi_lib.forecasting.calibration import PanelForecast, sample_bounds, share_at_least
from kpi_lib.forecasting.dist import norm_ppf
from kpi_lib.forecasting.methods import METHODS
from kpi_lib.forecasting.panel import panel_forecast_arrays
from kpi_lib.forecasting.series import SERIES_METHODS, forecast_series
from kpi_lib.observations.handle import DataHandle

DEFAULT_CONFIG = DATA_DIR / "forecast.yaml"


# The one list of methods a configuration may name: the panel's
# (kpi_lib.forecasting.panel.METHODS) and the per-series ones
# (kpi_lib.forecasting.series.SERIES_METHODS).
CONFIG_METHODS = ("auto", *dict.fromkeys(METHODS + SERIES_METHODS))


class ForecastConfig(BaseModel):
    """The forecast settings of data/forecast.yaml."""

    model_config = ConfigDict(extra="forbid")
    level: float = Field(0.8, gt=0, lt=1)
    # The final report compares the outlook made with data through this many years before
    # the target year (3: FY2021 for an FY2024 target) with what happened.
    review_years_before: int = Field(3, ge=1, le=10)
    method: str = "auto"  # one of CONFIG_METHODS

    @field_validator("method")
    @classmethod
    def _known_method(cls, value: str) -> str:
        if value not in CONFIG_METHODS:
            raise ValueError(
                f"unknown method {value!r}; expected one of {', '.join(CONFIG_METHODS)}"
            )
        return value


def load_config(path: str | Path | None = None) -> ForecastConfig:
    """The forecast settings (data/forecast.yaml); the defaults where the file is absent."""
    path = Path(path or DEFAULT_CONFIG)
    if not path.exists():
        return ForecastConfig()
    raw = load_yaml(path, "forecast configuration") or {}
    if not isinstance(raw, dict):
        raise InputError(str(path), "expected a mapping such as `level: 0.8`")
    if isinstance(raw, dict) and "break_years" in raw:
        raise InputError(
            str(path),
            "break_years moved to the catalog: give each "
            "KPI its own forecast_breaks (docs/catalog.md)",
            column="break_years",
        )
    try:
        return ForecastConfig.model_validate(raw)
    except ValidationError as exc:
        raise schema_errors(path, raw, exc) from None


@dataclass
class Outlook:
    """A KPI's outlook to its target year: evidence, the path of forecasts, the value in the target
    year and, where worth reading, the probability of meeting it."""

    kpi_id: str
    evidence: str  # none, low, moderate, sufficient, not_applicable
    n_points: int
    method: str | None = None
    target_year: int | None = None
    forecast_value: float | None = None  # level in the target year, or the window's total
    forecast_lower: float | None = None
    forecast_upper: float | None = None
    p_meet: float | None = None
    level: float = 0.8
    calibration: str | None = None
    excluded_years: list[int] = field(default_factory=list)
    path: list[tuple[int, float, float | None, float | None]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _evidence(n: int) -> str:
    return "none" if n < 2 else "low" if n < 4 else "moderate" if n == 4 else "sufficient"


def outlook(
    kpi: Kpi,
    obs: pd.DataFrame,
    as_of: int,
    *,
    data: DataHandle,
    config: ForecastConfig | None = None,
    settings: RuleSettings | None = None,
    target_resolved: float | None = None,
) -> Outlook:
    """Forecast one KPI from its chosen observations (year, value) up to `as_of`."""
    config = config or ForecastConfig()
    settings = settings or RuleSettings()
    t = kpi.target
    hist = obs[obs["year"] <= as_of].sort_values("year") if not obs.empty else obs
    breaks = kpi.forecast_breaks
    excluded = []
    if breaks is not None and not hist.empty:
        excluded = sorted(set(breaks.years) & set(hist["year"].astype(int)))
        if breaks.treatment == "exclude":
            hist = hist[~hist["year"].isin(breaks.years)]
    n = len(hist)
    out = Outlook(
        kpi.kpi_id, _evidence(n), n, target_year=t.year, level=config.level, excluded_years=excluded
    )
    if breaks is not None:
        how = "当てはめから除外" if breaks.treatment == "exclude" else "ダミー変数で調整"
        out.notes.append(
            f"構造変化の年度 {'・'.join(map(str, breaks.years))}（{how}）: {breaks.reason_ja}"
        )
    if t.kind in ("milestone", "benchmark"):
        out.evidence = "not_applicable"
        out.notes.append("計画策定・全国平均比較の目標は予測の対象外")
        return out
    if n < 2:
        out.notes.append("データが2点未満のため評価不能")
        return out
    years = hist["year"].to_numpy(int)
    values = hist["value"].to_numpy(float)
    last_year = int(years[-1])
    if t.kind == "cumulative":
        w = t.span
        future = list(range(max(last_year + 1, w.start), w.end + 1))
    else:
        future = list(range(last_year + 1, max(t.year, last_year) + 1))

    if out.evidence == "low":
        # Endpoint growth only: the straight line through the first and last points.
        slope = (values[-1] - values[0]) / (years[-1] - years[0])
        means = [values[-1] + slope * (y - last_year) for y in future]
        out.method = "endpoint"
        out.path = [(y, m, None, None) for y, m in zip(future, means, strict=True)]
        out.notes.append("データが2〜3点のため端点の伸びのみ（区間なし、根拠は弱い）")
        _finish(kpi, out, hist, target_resolved, settings, None)
        return out

    proj = None
    if future:
        proj = _project(kpi, years, values, future, config, data, breaks)
        out.method, out.calibration = proj.method, proj.calibration
        out.notes += proj.notes
        out.path = [
            (y, float(m), float(lo), float(hi))
            for y, m, lo, hi in zip(future, proj.mean, proj.lower, proj.upper, strict=True)
        ]
    else:
        out.method = "observed"
    _finish(kpi, out, hist, target_resolved, settings, proj)
    if out.evidence == "moderate":
        out.notes.append("データが4点のため達成確率は示さない（5点以上で算出）")
    return out


MIN_SKILL = 0.05  # Brier skill a panel's probabilities must show before the scorecard prints one


@dataclass
class Projection:
    """The forecast of one KPI for its future years, and what stands behind its probabilities."""

    mean: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    sd: np.ndarray
    method: str
    calibration: str
    notes: list[str]
    panel: PanelForecast | None = None  # with the KPI as row 0, when peers calibrated it
    # Brier skill of the peers' probabilities, out of sample (rolling origins), per horizon
    skill: dict[int, float] = field(default_factory=dict)


def _project(kpi, years, values, future, config, data, breaks) -> Projection:
    """Method, mean, interval and sd for the future years, with panel calibration if possible."""
    level = config.level
    consecutive = np.all(np.diff(years) == 1) and future[0] == years[-1] + 1
    if (
        (config.method != "auto" and config.method not in METHODS)
        or not consecutive
        or (breaks is not None and breaks.treatment == "dummy")
    ):
        # the per-series path; a panel-only method falls back to the documented default
        method = config.method if config.method in SERIES_METHODS else "naive"
        f = forecast_series(
            years,
            values,
            future,
            method,
            level,
            break_years=breaks.years if breaks else None,
            treatment=breaks.treatment if breaks else "exclude",
        )
        return Projection(f.mean, f.lower, f.upper, f.sd, f.method, "model", f.notes)
    horizon = len(future)
    peers = peer_panel(kpi, data, int(years[-1]), len(years)) if kpi.public_series else None
    own = np.full((1, peers.shape[1] if peers is not None else len(values)), np.nan)
    own[0, -len(values) :] = values[-own.shape[1] :]
    panel = own if peers is None else np.vstack([own, peers])
    result = panel_forecast_arrays(panel, horizon, level, config.method)
    notes = list(result.notes)
    skill: dict[int, float] = {}
    if peers is not None:
        notes.insert(0, f"比較パネル: 同じ統計の他の{len(peers)}団体（手法選択と区間の較正）")
        skill = peer_skill(kpi, data, int(years[-1]), level)
    return Projection(
        result.mean[0],
        result.lower[0],
        result.upper[0],
        result.sd[0],
        str(result.method[0]),
        result.calibration,
        notes,
        result if peers is not None else None,
        skill,
    )


def skill_at(skill: dict[int, float], horizon: int) -> float | None:
    """The measured skill of probabilities `horizon` years ahead (TOTAL: of totals over the
    years). Beyond the farthest horizon measured, the worst measured one: a cautious stand-in
    for what was not measured."""
    if horizon in skill:
        return skill[horizon]
    years = {h: v for h, v in skill.items() if h != TOTAL}
    return min(years.values()) if years and horizon > max(years) else None


def _finish(kpi, out: Outlook, hist, target_resolved, settings, proj: Projection | None) -> None:
    """The value in the target year (or the window's total) and, where it is worth reading, the
    probability of meeting the target.

    A probability needs five points (evidence 'sufficient') and a panel of peers whose own
    probabilities beat the base rate out of sample (Brier skill ≥ MIN_SKILL); it is read off
    the panel's predictive distribution (kpi_lib.forecasting.panel). Otherwise the interval
    stands alone and a note says why.
    """
    t = kpi.target
    target = target_resolved if target_resolved is not None else kpi.resolve_target()
    path_years = [p[0] for p in out.path]
    sd = proj.sd if proj is not None else None
    if t.kind == "cumulative":
        w = t.span
        observed = float(hist[(hist["year"] >= w.start) & (hist["year"] <= w.end)]["value"].sum())
        future_sum = float(sum(p[1] for p in out.path))
        out.forecast_value = observed + future_sum
        totals = proj.panel.total(0, observed) if proj and proj.panel else None
        if totals is not None:
            # The peers' backtest forecasts, each with its errors in all the years at once: the
            # years' errors move together as they did there.
            out.forecast_lower, out.forecast_upper = sample_bounds(totals, out.level)
            if target is not None and _probability_allowed(out, proj, TOTAL):
                out.p_meet = share_at_least(totals, target)
            out.notes.append("累計の区間と確率: 比較パネルの検証で各年に同時に出た誤差の組から")
        elif sd is not None:
            # No joint errors to read a total off (a lone series): the interval with the years'
            # sds added, the cautious bound as they move together, and no probability, since
            # nothing checked one of this kind.
            spread = float(np.sum(sd))
            if spread > 0:
                z = norm_ppf(0.5 + out.level / 2)
                out.forecast_lower, out.forecast_upper = (
                    out.forecast_value - z * spread,
                    out.forecast_value + z * spread,
                )
            if proj is not None and proj.panel is not None:
                out.notes.append(
                    "達成確率は示さない: 累計を読む検証誤差の組が足りないため（区間のみ）"
                )
            else:
                _probability_allowed(out, proj, TOTAL)  # False here; its note says why
        out.notes.append(
            f"累計 = 実績 {observed:,.0f} + 予測 {future_sum:,.0f}（{w.start}〜{w.end}年度）"
        )
        return
    if t.year in path_years:
        i = path_years.index(t.year)
        _, mean, lo, hi = out.path[i]
    else:  # observed in the target year already
        i, (mean, lo, hi) = None, (float(hist["value"].iloc[-1]), None, None)
    out.forecast_value, out.forecast_lower, out.forecast_upper = mean, lo, hi
    if target is None or i is None or not _probability_allowed(out, proj, i + 1):
        return
    if proj is None or proj.panel is None:  # _probability_allowed says no without them
        return
    p = proj.panel.probability
    if kpi.direction == "maintain":
        tol = maintain_tolerance(kpi, target, settings)
        if kpi.target.comparator == ">=":
            value = p(0, i, target, "increase")
        else:
            low, high = p(0, i, target - tol, "increase"), p(0, i, target + tol, "increase")
            value = None if low is None or high is None else low - high
    else:
        value = p(0, i, target, kpi.direction)
    out.p_meet = None if value is None else float(value)


def _probability_allowed(out: Outlook, proj: Projection | None, horizon: int) -> bool:
    """Whether a probability `horizon` years ahead (TOTAL: of a total) may be shown; if not,
    a note says why."""
    ahead = f"{SKILL_HORIZON}年間の累計" if horizon == TOTAL else f"{horizon}年先"
    if out.evidence != "sufficient" or proj is None:
        return False
    if proj.panel is None:
        out.notes.append(
            "達成確率は示さない: 比較できる他団体の系列がなく、"
            "確率が当たるかを検証できないため（区間のみ）"
        )
        return False
    skill = skill_at(proj.skill, horizon)
    if skill is None or skill < MIN_SKILL:
        shown = "測れない" if skill is None else f"{skill:.2f}"
        out.notes.append(
            f"達成確率は示さない: 同じ統計の他団体での{ahead}の検証で、確率の当たり具合"
            f"（Brierスキル {shown}）が基準率より{MIN_SKILL}以上良くならないため（区間のみ）"
        )
        return False
    out.notes.append(
        f"達成確率: 他団体での{ahead}の検証のBrierスキル "
        f"{skill:.2f}（基準率との比較、1に近いほど良い）"
    )
    return True


@dataclass
class Hindsight:
    """What the outlook said mid-period, beside what happened in the target year."""

    kpi_id: str
    origin: int  # the last year of data the outlook saw
    outlook: Outlook
    actual: float | None  # the target year's value, or the window's total; None while 未確定
    inside: bool | None = None  # the actual inside the outlook's interval
    verdict: str | None = None


def hindsight(
    kpi: Kpi,
    obs: pd.DataFrame,
    final,
    *,
    data: DataHandle,
    config: ForecastConfig | None = None,
    settings: RuleSettings | None = None,
) -> Hindsight:
    """The outlook computed from data through `target year − review_years_before` only
    (the panel of peers cut at the same year), against the final evaluation `final`."""
    config = config or ForecastConfig()
    origin = kpi.target.year - config.review_years_before
    seen = obs[obs["year"] <= origin] if not obs.empty else obs
    then = outlook(
        kpi,
        seen,
        origin,
        data=data,
        config=config,
        settings=settings,
        target_resolved=final.target_resolved,
    )
    decided = final.verdict in ("達成", "未達成")
    actual = (
        (final.cumulative_value if kpi.target.kind == "cumulative" else final.latest_value)
        if decided
        else None
    )
    inside = None
    if actual is not None and then.forecast_lower is not None:
        inside = bool(then.forecast_lower <= actual <= then.forecast_upper)
    return Hindsight(kpi.kpi_id, origin, then, actual, inside, final.verdict)


def backtest_record(
    kpi: Kpi,
    obs: pd.DataFrame,
    as_of: int,
    *,
    data: DataHandle,
    horizon: int = 3,
    level: float = 0.8,
) -> pd.DataFrame:
    """Each method's rolling-origin record on this KPI's history and on its comparable panel.

    MASE: mean |error| ÷ mean |annual change|; coverage: share of actuals inside the
    models' own intervals.
    """
    from kpi_lib.forecasting.backtest import backtest
    from kpi_lib.forecasting.inputs import Panel

    hist = obs[obs["year"] <= as_of].sort_values("year") if not obs.empty else obs
    if len(hist) < 5:
        return pd.DataFrame(
            columns=["手法", "自系列MASE", "自系列の誤差数", "比較パネルMASE中央値", "区間の的中率"]
        )
    values = hist["value"].to_numpy(float)[None, :]
    own = backtest(Panel(np.array([0]), np.arange(values.shape[1]), values), horizon, level)
    peers = (
        peer_panel(kpi, data, int(hist["year"].iloc[-1]), len(hist)) if kpi.public_series else None
    )
    pooled = (
        backtest(Panel(np.arange(len(peers)), np.arange(peers.shape[1]), peers), horizon, level)
        if peers is not None
        else None
    )
    rows = []
    for m in METHODS:
        e = np.abs(own.errors[m]).ravel()
        e = e[np.isfinite(e)]
        row = {
            "手法": m,
            "自系列MASE": float(e.mean()) if len(e) else None,
            "自系列の誤差数": int(len(e)),
        }
        if pooled is not None:
            pe = np.abs(pooled.errors[m]).ravel()
            pe = pe[np.isfinite(pe)]
            row["比較パネルMASE中央値"] = float(np.median(pe)) if len(pe) else None
            cov = pooled.covered[m].ravel()
            cov = cov[np.isfinite(cov)]
            row["区間の的中率"] = float(cov.mean()) if len(cov) else None
        rows.append(row)
    return pd.DataFrame(rows)
