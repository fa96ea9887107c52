"""Forecasts: methods against statsmodels, panel = per-series, minimum data, breaks, p_meet."""

import functools
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from statsmodels.tsa.arima.model import ARIMA

from kpi_lib.catalog.model import ForecastBreaks, load_catalog
from kpi_lib.core.errors import InputError, KpiError
from kpi_lib.evaluation.outlook import outlook
from kpi_lib.forecasting.inputs import panel_from_long
from kpi_lib.forecasting.methods import method_forecast
from kpi_lib.forecasting.panel import forecast_panel
from kpi_lib.forecasting.series import forecast_series
from kpi_lib.observations.handle import DataHandle, load_observations
from kpi_lib.observations.values import choose_values
from tests.helpers import make_kpi, obs

YEARS = np.arange(2010, 2018)
Y = np.array([10.0, 12, 13, 15, 18, 19, 22, 24])

KPI = [sys.executable, "-m", "kpi_lib.cli"]


def test_naive_matches_statsmodels_random_walk():
    ours = forecast_series(YEARS, Y, [2018, 2019, 2020], "naive", level=0.8)
    ref = ARIMA(Y, order=(0, 1, 0)).fit().get_forecast(3).summary_frame(alpha=0.2)
    assert ours.mean == pytest.approx(ref["mean"].to_numpy())
    assert ours.lower == pytest.approx(ref["mean_ci_lower"].to_numpy(), rel=1e-4)
    assert ours.upper == pytest.approx(ref["mean_ci_upper"].to_numpy(), rel=1e-4)


def test_drift_matches_statsmodels_random_walk_with_drift():
    ours = forecast_series(YEARS, Y, [2018, 2019, 2020], "drift")
    ref = ARIMA(Y, order=(0, 1, 0), trend="t").fit().get_forecast(3).predicted_mean
    assert ours.mean == pytest.approx(np.asarray(ref), rel=1e-5)  # 24 + 2h


def test_linear_uses_prediction_intervals_for_new_observations():
    import statsmodels.api as sm

    ours = forecast_series(YEARS, Y, [2020], "linear", level=0.8)
    fit = sm.OLS(Y, sm.add_constant(YEARS.astype(float))).fit()
    frame = fit.get_prediction(np.array([[1.0, 2020.0]])).summary_frame(alpha=0.2)
    assert ours.lower[0] == pytest.approx(frame["obs_ci_lower"].iloc[0])
    assert ours.lower[0] < frame["mean_ci_lower"].iloc[0]  # wider than the mean's interval


def test_loglinear_is_constant_growth():
    y = 100 * 1.05 ** np.arange(8)
    f = forecast_series(YEARS, y, [2020], "loglinear")
    assert f.mean[0] == pytest.approx(100 * 1.05**10)
    with pytest.raises(KpiError, match="positive"):
        forecast_series(YEARS, -y, [2020], "loglinear")


def test_holt_runs_with_simulated_intervals_and_is_reproducible():
    a = forecast_series(YEARS, Y, [2018, 2020], "holt")
    b = forecast_series(YEARS, Y, [2018, 2020], "holt")
    assert a.mean == pytest.approx(b.mean) and a.lower == pytest.approx(b.lower)
    assert a.lower[1] < a.mean[1] < a.upper[1] and a.mean[1] > 24
    with pytest.raises(KpiError, match="at least 5"):
        forecast_series(YEARS[:4], Y[:4], [2018], "holt")


@pytest.mark.parametrize("method", ["naive", "drift", "linear", "loglinear"])
def test_panel_and_per_series_paths_agree(method):
    rng = np.random.default_rng(7)
    rows = 50 + np.cumsum(rng.uniform(0.5, 3, size=(5, 9)), axis=1)
    rows[2, :3] = np.nan  # a series that starts later
    f = method_forecast(rows, method, 3, 0.8)
    mean, lo, hi = f.mean, f.lower, f.upper
    for s in range(5):
        ok = ~np.isnan(rows[s])
        years = np.arange(2010, 2019)[ok]
        ref = forecast_series(years, rows[s][ok], [2019, 2020, 2021], method, 0.8)
        assert mean[s] == pytest.approx(ref.mean, rel=1e-9)
        assert lo[s] == pytest.approx(ref.lower, rel=1e-9)
        assert hi[s] == pytest.approx(ref.upper, rel=1e-9)


def _long(rows):
    return pd.DataFrame(rows, columns=["series_id", "year", "value"])


@pytest.mark.parametrize(
    ("rows", "says"),
    [
        ([("a", 2020, 1), ("a", 2020, 2)], "year 2020 more than once"),
        ([("a", 2019, 1), ("a", 2021, 2)], "no value for 2020 between other years"),
        ([("a", 2019, 1), ("a", 2020, "many")], "expected a number, found 'many'"),
        ([("a", 2019, 1), ("b", 2019, None)], "series 'b' has no values"),
        ([("a", "FY19", 1)], "expected a whole year, found 'FY19'"),
    ],
)
def test_bad_panel_input(rows, says):
    with pytest.raises(InputError, match=says):
        panel_from_long(_long(rows), "panel.csv")


def test_missing_columns_and_bad_settings():
    with pytest.raises(InputError, match="missing column"):
        panel_from_long(pd.DataFrame({"id": [1]}), "panel.csv")
    panel = panel_from_long(_long([("a", y, y) for y in range(2010, 2020)]))
    # The library names its parameters; the CLI names its options (ArgumentError.for_cli).
    with pytest.raises(KpiError, match="^level must lie between 0 and 1") as exc:
        forecast_panel(panel, 2019, 2, level=1.5)
    assert exc.value.for_cli().startswith("--level must lie between 0 and 1")
    with pytest.raises(KpiError, match="^horizon must lie"):
        forecast_panel(panel, 2019, 0)


def test_panel_forecast_years_and_columns():
    rows = [
        (s, y, 10 + i * y % 7 + (y - 2008) * (i + 1))
        for i, s in enumerate("abcdef")
        for y in range(2008, 2020)
    ]
    out = forecast_panel(panel_from_long(_long(rows)), 2016, 3)
    columns = ["series_id", "year", "forecast", "lower", "upper", "method", "note"]
    assert list(out.columns) == columns  # what users' scripts read
    assert sorted(out.year.unique()) == [2017, 2018, 2019]
    assert (out.lower <= out.forecast).all() and (out.forecast <= out.upper).all()


# ── KPI outlooks ──────────────────────────────────────────────────────────────


@functools.cache
def _bundled() -> DataHandle:
    """The bundled data, opened once for these tests."""
    return DataHandle.open()


def _outlook(kpi, points, as_of=2021, **kw):
    return outlook(kpi, obs(*points), as_of, data=_bundled(), **kw)


@pytest.mark.parametrize(
    ("n", "evidence", "has_interval", "has_p"),
    [
        (1, "none", False, False),
        (2, "low", False, False),
        (3, "low", False, False),
        (4, "moderate", True, False),
        (5, "sufficient", True, False),
    ],
)
def test_minimum_data_rules(n, evidence, has_interval, has_p):
    # has_p: a lone series (no panel of peers to check its probabilities on) never gets one
    kpi = make_kpi(baseline=(2016, 100), value=150)
    points = [(2021 - n + 1 + i, 100 + 5 * i + (i % 2)) for i in range(n)]
    o = _outlook(kpi, points)
    assert o.evidence == evidence and o.n_points == n
    assert (o.forecast_lower is not None) == has_interval
    assert (o.p_meet is not None) == has_p
    if n == 1:
        assert o.forecast_value is None
    if n in (2, 3):
        assert o.method == "endpoint" and o.forecast_value is not None
    if n == 5:
        assert any("比較できる他団体の系列がなく" in note for note in o.notes)


def test_break_years_are_excluded_and_named():
    kpi = make_kpi(kind="increase_pct", baseline=(2018, 900), percent=10)
    points = [
        (2014, 860),
        (2015, 870),
        (2016, 880),
        (2017, 890),
        (2018, 900),
        (2019, 910),
        (2020, 300),
        (2021, 350),
    ]
    broken = kpi.model_copy(
        update={"forecast_breaks": ForecastBreaks(years=[2020, 2021], reason_ja="感染症")}
    )
    o = _outlook(broken, points)
    assert o.excluded_years == [2020, 2021] and o.n_points == 6
    assert any("感染症" in n for n in o.notes)
    assert o.forecast_value > 850  # the collapse is not the trend
    plain = _outlook(kpi, points)
    assert plain.forecast_value < o.forecast_value


def test_break_years_as_a_dummy():
    t = np.arange(2010, 2022)
    y = 100 + 5 * (t - 2010.0)
    y[t >= 2020] -= 60
    f = forecast_series(t, y, [2024], "linear", break_years=[2020, 2021], treatment="dummy")
    assert f.mean[0] == pytest.approx(170)
    assert any("ダミー" in n for n in f.notes)


def test_p_meet_falls_as_the_target_rises():
    # ふるさと納税 as of FY2021, read off the panel's predictive distribution
    catalog = load_catalog()
    kpi = catalog.get("G2-2-3")
    chosen = choose_values(load_observations(catalog))
    history = chosen[chosen.kpi_id == "G2-2-3"]
    ps = [
        outlook(kpi, history, 2021, data=_bundled(), target_resolved=v).p_meet
        for v in (20_000, 35_000, 60_000, 120_000)
    ]
    assert all(a >= b for a, b in zip(ps, ps[1:], strict=False)), ps
    assert 0 <= ps[-1] < ps[0] <= 1


def test_a_target_already_met_is_still_forecast():
    kpi = make_kpi(baseline=(2015, 100), value=120)
    o = _outlook(kpi, [(2015 + i, 100 + 8 * i) for i in range(7)])
    assert o.target_year == 2024 and o.path[-1][0] == 2024 and o.forecast_lower is not None


def test_cumulative_outlook_sums_the_window():
    kpi = make_kpi(kind="cumulative", baseline=(2018, 49), value=200, unit="件")
    o = _outlook(kpi, [(2016, 54), (2017, 38), (2018, 49), (2019, 55), (2020, 40), (2021, 41)])
    assert [p[0] for p in o.path] == [2022, 2023, 2024]
    assert o.forecast_value == pytest.approx(81 + sum(p[1] for p in o.path))
    assert o.forecast_lower < o.forecast_value < o.forecast_upper


def test_milestones_are_not_forecast():
    o = _outlook(
        make_kpi(kind="milestone", baseline=None, unit="計画"), [(2022, 0), (2023, 0)], as_of=2023
    )
    assert o.evidence == "not_applicable" and o.forecast_value is None


def _forecast_panel_cli(src, through: int, horizon: int, out):
    """`kpi forecast-panel` on a CSV; the finished process."""
    args = ["--input", src, "--through", through, "--horizon", horizon, "--out", out]
    return subprocess.run([*KPI, "forecast-panel", *map(str, args)], capture_output=True, text=True)


def test_scorecard_shows_forecasts_for_the_kpis_with_data():
    out = subprocess.run(
        [sys.executable, "-m", "kpi_lib.cli", "scorecard", "--as-of", "2021", "--format", "csv"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    import io

    card = pd.read_csv(io.StringIO(out)).set_index("kpi_id")
    with_public = ["G2-0", "G2-1-2", "G2-2-3", "G3-0", "G3-1-1"]  # G3-0: the SSDS marriages proxy
    for kpi_id in with_public:
        r = card.loc[kpi_id]
        assert r.forecast_lower <= r.forecast_value <= r.forecast_upper, kpi_id
        assert r.evidence == "sufficient" and isinstance(r.forecast_method, str)
    # probabilities only for public KPIs, and only where their panel has skill
    # (test_forecast_honesty)
    assert card.drop(index=with_public).p_meet.isna().all()
    assert (
        card.loc[with_public].p_meet.dropna().between(0, 1).all() and card.loc["G2-2-3"].p_meet >= 0
    )


def test_forecast_panel_cli_on_the_real_furusato_panel(tmp_path):
    from kpi_lib.sources.ingest import read_public

    d = read_public("furusato")
    d = d[(d.measure == "受入件数") & d.municipality_code.notna()]
    src = tmp_path / "panel.csv"
    d.rename(columns={"municipality_code": "series_id"})[["series_id", "year", "value"]].to_csv(
        src, index=False
    )
    out = tmp_path / "fc.csv"
    proc = _forecast_panel_cli(src, 2016, 5, out)
    assert proc.returncode == 0, proc.stderr
    fc = pd.read_csv(out, dtype={"series_id": str})
    assert len(fc) == 1788 * 5 and sorted(fc.year.unique()) == [2017, 2018, 2019, 2020, 2021]
    assert "012165" in set(fc.series_id)
    bad = tmp_path / "bad.csv"
    bad.write_text("series_id,year,value\na,2020,1\na,2020,2\n")
    proc = _forecast_panel_cli(bad, 2020, 1, tmp_path / "x.csv")
    assert (
        proc.returncode == 2
        and "more than once" in proc.stderr
        and not (tmp_path / "x.csv").exists()
    )


def test_break_years_in_forecast_yaml_are_refused_with_the_way_out(tmp_path):
    from kpi_lib.core.errors import InputError
    from kpi_lib.evaluation.outlook import load_config

    path = tmp_path / "forecast.yaml"
    path.write_text(
        "level: 0.8\nbreak_years:\n  G2-1-2: {years: [2020], reason_ja: x}\n", encoding="utf-8"
    )
    with pytest.raises(InputError, match="forecast_breaks"):
        load_config(path)


def test_t_quantiles_are_scipys_for_every_series_of_a_panel():
    """dist.t_ppf solves each distinct df once; each series still gets scipy's own quantile."""
    from scipy import stats

    from kpi_lib.forecasting.dist import t_ppf

    df = np.array([1, 3, 3, 8, 1, 20, 3], dtype=float)
    np.testing.assert_allclose(t_ppf(0.9, df), stats.t.ppf(0.9, df), rtol=1e-12)
    assert t_ppf(0.9, df).shape == df.shape and t_ppf(0.9, df[:, None]).shape == (7, 1)
    assert float(t_ppf(0.975, 10.0)) == pytest.approx(2.228139, abs=1e-6)  # the t table
