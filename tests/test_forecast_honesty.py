"""Forecast honesty: calibrated intervals across regimes, probabilities only where they have
skill."""

import csv
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from kpi_lib.catalog.model import load_catalog
from kpi_lib.evaluation.outlook import skill_at
from kpi_lib.evaluation.scorecard import build_scorecard
from kpi_lib.forecasting.bench import GOAL_FLOOR, GOAL_MEAN, furusato_from_fy2021, panels, quality
from kpi_lib.forecasting.calibration import sample_bounds
from kpi_lib.forecasting.honesty import brier_skill
from kpi_lib.forecasting.panel import panel_forecast_arrays
from kpi_lib.observations.handle import load_observations

KPI = [sys.executable, "-m", "kpi_lib.cli"]


# A known miss (docs/forecasts.md, "Still missed"), kept as the goal band with strict xfail so
# that the test fails the day it is mended and the mark is forgotten.
FURUSATO_EARLY = pytest.mark.xfail(
    strict=True,
    reason="furusato pooled over every origin: FY2013–2014, before any boom year was in the "
    "backtest, cover 44–56 %; judged per origin from FY2016 below, issue 20",
)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("furusato", marks=FURUSATO_EARLY),
        "migration",
        "tourism",
        "births",
        "marriages",
        "population",
    ],
)
def test_intervals_cover_close_to_80_percent_on_unseen_years(name):
    q = quality(name)
    for h, covered in q["coverage"].items():
        # the goal band; deterministic (the same data give the same backtest every run)
        assert 0.75 <= covered <= 0.85, (name, h, covered)


@pytest.mark.parametrize("name", ["births", "marriages", "population"])
def test_hokkaido_goal_origins_cover_77_to_83_percent_on_average_and_70_at_least(name):
    # Issue 20's goal on the tuning region; the validation region's is in
    # test_forecast_validation.py.
    per_origin = quality(name)["goal_coverage_by_origin"]
    assert len(per_origin) == 4 and min(per_origin.values()) >= GOAL_FLOOR, per_origin
    mean = np.mean(list(per_origin.values()))
    assert GOAL_MEAN[0] <= mean <= GOAL_MEAN[1], (name, mean)


def test_furusato_boom_and_fall_intervals_are_calibrated_origin_by_origin():
    # Origins with three boom years of errors behind them (FY2016 on), the boom's top and the
    # fall after FY2021 alike. The 10 % mirror weight of the last round covered 83–87 % at
    # FY2016–2021 to lift the pooled average over the early origins.
    by_origin = quality("furusato")["coverage_by_origin"]
    settled = {y: c for y, c in by_origin.items() if y >= 2016}
    assert len(settled) >= 7
    assert all(0.70 <= c <= 0.85 for c in settled.values()), settled


def test_probabilities_beat_the_base_rate_where_the_scorecard_shows_them():
    for name in panels():
        assert quality(name)["skill"] >= 0.05, name


def test_reliability_table_orders_predictions():
    table = quality("population")["reliability"]  # reliability() of the rolling origins
    assert table["calls"].sum() > 300
    assert (
        table["observed"].iloc[0] < table["observed"].iloc[-1]
    )  # low calls fail, high calls succeed


def test_sample_bounds_keep_the_sign_and_the_finite_sample_correction():
    errors = np.linspace(0.1, 1.0, 200)  # a backtest that only ever under-forecast
    low, high = sample_bounds(errors, 0.8)
    assert 0.1 < low < 0.25 and 0.85 < high < 1.0  # signed: the learned rise is kept as it was
    # nine errors: the (n + 1) / n correction asks for the 0.9 × 10 / 9 quantile, beyond the
    # sample's own 90 %: the widest of them
    assert sample_bounds(np.arange(1.0, 10.0), 0.8) == (1.0, 9.0)
    assert sample_bounds(np.arange(1.0, 100.0), 0.8) == (10.0, 90.0)


def test_probability_follows_the_distance_to_the_target():
    rng = np.random.default_rng(3)
    values = 1000 * np.exp(np.cumsum(rng.normal(0, 0.05, size=(300, 12)), axis=1))
    res = panel_forecast_arrays(values, 3, 0.8, "naive")
    last = values[0, -1]
    near, far = (
        res.probability(0, 2, last * 1.02, "increase"),
        res.probability(0, 2, last * 1.3, "increase"),
    )
    assert 0 <= far < near <= 1
    assert res.probability(0, 2, last * 0.5, "decrease") < 0.05


def test_forecast_panel_with_targets(tmp_path):
    src, targets, out = tmp_path / "p.csv", tmp_path / "t.csv", tmp_path / "o.csv"

    def run_panel():
        args = [
            "--input",
            src,
            "--targets",
            targets,
            "--through",
            "2021",
            "--horizon",
            "3",
            "--out",
            out,
            "--force",  # the second run replaces the first one's output
        ]
        return subprocess.run(
            [*KPI, "forecast-panel", *map(str, args)], capture_output=True, text=True
        )

    rng = np.random.default_rng(0)
    rows = [
        (f"s{i}", y, round(1000 + 40 * i + 20 * (y - 2012) + rng.normal(0, 15)))
        for i in range(40)
        for y in range(2012, 2022)
    ] + [("short", 2021, 5)]
    pd.DataFrame(rows, columns=["series_id", "year", "value"]).to_csv(src, index=False)
    last = {sid: v for sid, y, v in rows if y == 2021}
    pd.DataFrame(
        [
            ("s0", 2023, last["s0"] - 100, "increase"),  # already met at the origin
            ("s1", 2024, 500, "decrease"),  # a decrease target far below
            ("short", 2022, 6, "increase"),  # too short to judge
        ],
        columns=["series_id", "year", "target", "direction"],
    ).to_csv(targets, index=False)
    proc = run_panel()
    assert proc.returncode == 0, proc.stderr
    got = {
        (r["series_id"], r["year"]): r
        for r in csv.DictReader(out.read_text(encoding="utf-8-sig").splitlines())
    }
    assert float(got[("s0", "2023")]["p_meet"]) > 0.9
    assert float(got[("s1", "2024")]["p_meet"]) < 0.05
    assert got[("short", "2022")]["p_meet"] == "" and "確率なし" in got[("short", "2022")]["note"]
    assert got[("s5", "2022")]["p_meet"] == ""  # no target, no probability
    targets.write_text("series_id,year,target,direction\ns0,2023,x,increase\n", encoding="utf-8")
    proc = run_panel()
    assert proc.returncode == 2 and "row 2" in proc.stderr and "column 'target'" in proc.stderr


def test_the_scorecard_shows_a_probability_exactly_where_the_panel_has_skill():
    catalog = load_catalog()
    scorecard = build_scorecard(catalog, load_observations(catalog), 2021)
    card = scorecard.frame().set_index("kpi_id")
    for kpi in catalog.kpis:
        has_p = pd.notna(card.loc[kpi.kpi_id, "p_meet"])
        if not kpi.public_series:
            assert not has_p, kpi.kpi_id  # a lone series: nothing could check its probabilities
            continue
        notes = " ".join(scorecard[kpi.kpi_id].outlook.notes)
        skill = re.search(r"Brierスキル (-?[0-9.]+)", notes)
        if has_p:
            assert skill and float(skill[1]) >= 0.05, (kpi.kpi_id, notes)
        else:
            assert "達成確率は示さない" in notes and pd.notna(
                card.loc[kpi.kpi_id, "forecast_lower"]
            ), kpi.kpi_id
    assert pd.notna(card.loc["G2-2-3", "p_meet"])  # ふるさと納税's panel has skill (about 0.3)
    assert pd.isna(card.loc["G2-1-2", "p_meet"])  # tourism's has not


def test_brier_skill_against_the_base_rate():
    df = pd.DataFrame({"p_meet": [0.9, 0.8, 0.2, 0.1], "met": [True, True, False, False], "h": 1})
    brier, base, skill, n = brier_skill(df)
    assert (round(brier, 3), base, n) == (0.025, 0.25, 4) and skill == pytest.approx(0.9)


def test_the_base_rate_knows_the_horizon():
    # Targets one year out all missed, three years out all met: knowing only that is worth a
    # Brier of 0, so a forecaster saying 0.5 throughout has no skill, not a skill of 0.
    df = pd.DataFrame({"p_meet": 0.5, "met": [False, False, True, True], "h": [1, 1, 3, 3]})
    brier, base, skill, _ = brier_skill(df)
    assert brier == 0.25 and base == 0 and np.isnan(skill)
    df["p_meet"] = [0.1, 0.2, 0.8, 0.9]
    assert brier_skill(df)[1] == 0


def test_skill_is_looked_up_at_the_horizon_of_the_target():
    skill = {1: 0.04, 2: 0.09, 3: 0.06}
    assert skill_at(skill, 2) == 0.09
    assert skill_at(skill, 5) == 0.04  # beyond what was measured: the worst measured
    assert skill_at({2: 0.3}, 1) is None and skill_at({}, 1) is None


def test_furusato_from_fy2021_is_not_absurdly_wide():
    # The case: forecasts of FY2022–2024 from FY2021, at the top of the boom. Before
    # the size strata a typical town's FY2024 interval spanned a factor of about 650 (upper ÷
    # lower) and covered 87–91 %; a count of 50,000 does not jump as a count of 50 does.
    # Issue 20 asks 75–85 % in each year; the mirror weight of the last round gave 88 % in
    # FY2022 and FY2023.
    case = furusato_from_fy2021()
    covered, width = case["coverage"], case["width"]
    assert (covered <= 0.85).all() and (covered >= 0.75).all(), covered.to_dict()
    assert width[2024] < 20, width.to_dict()


@pytest.mark.parametrize("name", ["births", "marriages"])
def test_three_year_totals_are_calibrated_for_cumulative_targets(name):
    # A cumulative target (婚姻届出数 150 over five years) sums years whose errors move
    # together; the joint backtest errors must cover a total as the yearly ones cover a year.
    q = quality(name)
    assert q["totals_calls"] > 500
    assert 0.75 <= q["totals_coverage"] <= 0.85, q["totals_coverage"]
    assert q["totals_skill"] >= 0.05


def test_a_cumulative_kpi_reads_its_interval_off_the_joint_errors():
    catalog = load_catalog()
    scorecard = build_scorecard(catalog, load_observations(catalog), 2021)
    outlook = scorecard["G3-0"].outlook  # 婚姻届出数, 150 over FY2020–2024
    assert any("累計の区間と確率" in n for n in outlook.notes)
    assert outlook.forecast_lower < outlook.forecast_value < outlook.forecast_upper
