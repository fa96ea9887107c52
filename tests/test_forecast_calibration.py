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
