"""Conformal calibration: which backtest errors a forecast's interval is made of (issue 20)."""

import numpy as np
import pytest

from kpi_lib.forecasting import calibration
from kpi_lib.forecasting.panel import panel_forecast_arrays

RULE = calibration.MIN_TREND_FIT  # 5: read before any test patches it


def _trending_panel() -> np.ndarray:
    """60 positive series (few enough for one stratum), 10 years each, growing 3 % a year with
    10 % noise: a trend on 4 of them is steep or flat by chance, one on 9 hardly."""
    rng = np.random.default_rng(7)
    years = np.arange(10)
    return 100 * np.exp(0.03 * years[None, :] + rng.normal(0, 0.1, size=(60, 10)))


def _width(values: np.ndarray, method: str, monkeypatch, min_fit: int) -> np.ndarray:
    """Median upper ÷ lower per horizon of one method's calibrated intervals."""
    monkeypatch.setattr(calibration, "MIN_TREND_FIT", min_fit)
    res = panel_forecast_arrays(values, 3, 0.8, method)
    assert res.calibration == "conformal" and len(res.samples) == 1  # one stratum: all pooled
    return np.median(res.upper / res.lower, axis=0)


def test_a_trend_is_not_calibrated_on_its_fits_on_four_points(monkeypatch):
    values = _trending_panel()
    kept = _width(values, "loglinear", monkeypatch, 4)  # every backtest error, as before
    left_out = _width(values, "loglinear", monkeypatch, RULE)
    # the 4-point fits' errors are the backtest's widest at every horizon: without them, every
    # horizon's interval is narrower
    assert (left_out < kept).all(), (left_out, kept)


@pytest.mark.parametrize("method", ["naive", "drift", "mean"])
def test_methods_without_an_ols_trend_keep_every_error(monkeypatch, method):
    values = _trending_panel()
    kept = _width(values, method, monkeypatch, 4)
    rule = _width(values, method, monkeypatch, RULE)
    assert np.array_equal(kept, rule)


def _by_hand(res, row: int, h: int, target: float, direction: str) -> float:
    """P(meet) as the docstring defines it: the share of the row's stratum's errors that would put
    its value at or above the target (1 − that for a decrease)."""
    errors = res.samples[(str(res.kind[row]), int(res.stratum[row]))][h]
    mean = res.mean[row, h]
    if res.kind[row] == "log":
        if target <= 0 or mean <= 0:
            return float((direction == "increase") == (mean >= target))
        above = sum(e >= np.log(target / mean) for e in errors) / len(errors)
    else:
        above = sum(e >= (target - mean) / res.scale[row] for e in errors) / len(errors)
    return above if direction == "increase" else 1 - above


@pytest.mark.parametrize("positive", [True, False])
def test_the_panels_probabilities_at_once_are_those_of_each_series(positive):
    # The honesty checks ask for every series at once (tens of thousands of calls before); each
    # must be the share of its own stratum's errors, log errors for a positive panel, scaled ones
    # for a panel that crosses zero, a non-positive target decided by the mean's sign alone.
    values = _trending_panel() if positive else _trending_panel() - 105
    res = panel_forecast_arrays(values, 3, 0.8, "auto")
    assert set(res.kind) == ({"log"} if positive else {"scaled"})
    rng = np.random.default_rng(3)
    targets = values[:, -1] * rng.uniform(0.8, 1.2, len(values))
    targets[:3] = [-5.0, 0.0, values[3, -1]]
    directions = np.where(rng.random(len(values)) < 0.5, "increase", "decrease")
    for h in range(3):
        got = res.probabilities(h, targets, directions)
        want = [_by_hand(res, i, h, targets[i], directions[i]) for i in range(len(values))]
        assert got == pytest.approx(want, abs=1e-12)
        assert res.probability(5, h, targets[5], directions[5]) == pytest.approx(want[5])
    blank = calibration.PanelForecast(
        *(getattr(res, f) for f in ("method", "mean", "lower")), res.upper, res.sd
    )
    assert np.isnan(blank.probabilities(0, targets, directions)).all()  # no distribution: NaN
    assert blank.probability(0, 0, 1.0, "increase") is None


def test_the_panels_totals_at_once_are_those_of_each_series():
    values = _trending_panel()
    res = panel_forecast_arrays(values, 3, 0.8, "auto")
    seen = []
    for at, samples in res.totals(np.arange(len(values)), 10.0):
        for i, row_samples in zip(at, samples, strict=True):
            joint = res.joint[(str(res.kind[i]), int(res.stratum[i]))]
            want = 10.0 + (res.mean[i] * np.exp(joint)).sum(axis=1)
            assert row_samples == pytest.approx(want, rel=1e-12)
            seen.append(i)
    assert sorted(seen) == list(range(len(values)))  # every calibrated series once
    _, samples = next(res.totals([7], 10.0))
    assert res.total(7, 10.0) == pytest.approx(samples[0])
