"""Target rules: achievement, pace, grades and progress status for every kind and direction."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpi_lib.core.numbers import number_text
from kpi_lib.evaluation.rules import GRADE_PRESETS, RuleSettings, evaluate
from tests.helpers import make_kpi, obs


def test_nagano_worked_check():
    """長野県 社会増減: baseline ▲3,703 (H26), target ▲2,000 (H31), actual ▲2,530 in H29."""
    kpi = make_kpi(baseline=(2014, -3703), target_year=2019, value=-2000)
    ev = evaluate(kpi, obs((2017, -2530)), as_of=2017)
    assert ev.expected_value == pytest.approx(-2681.2)  # 3/5 of the way; published as ▲2,700
    assert ev.achievement_rate == pytest.approx(1173 / 1703)
    assert ev.pace == pytest.approx((1173 / 1703) / 0.6)
    assert ev.grade == "A"
    assert "3/5" in ev.calculation and "-2,681.2" in ev.calculation


def test_pace_equals_achievement_at_the_target_year():
    kpi = make_kpi(baseline=(2018, 100), value=200)
    ev = evaluate(kpi, obs((2024, 170)), as_of=2024)
    assert ev.pace == ev.achievement_rate == pytest.approx(0.7)
    assert ev.grade == "C"


@pytest.mark.parametrize(
    ("actual", "grade"),
    [(110, "A"), (108, "B"), (105, "C"), (103, "D"), (99, "D")],
)
def test_default_grade_cutoffs_on_pace(actual, grade):
    # baseline 100 (2018) → 120 (2024); in 2021 the line stands at 110.
    kpi = make_kpi(baseline=(2018, 100), value=120)
    ev = evaluate(kpi, obs((2021, actual)), as_of=2021)
    assert ev.expected_value == pytest.approx(110)
    assert ev.grade == grade


def test_worse_than_baseline_is_the_lowest_grade_even_with_a_far_target():
    kpi = make_kpi(baseline=(2018, 100), value=120)
    ev = evaluate(kpi, obs((2021, 95)), as_of=2021)
    assert ev.achievement_rate < 0 and ev.grade == "D"
    assert "悪化" in ev.calculation
    assert ev.progress_status == "deterioration"


def test_lower_is_better_decrease_pct():
    # 8,386.607 kg-CO2 with a 6 % cut by 2024: target 7,883.41
    kpi = make_kpi(
        kind="decrease_pct",
        direction="decrease",
        baseline=(2018, 8386.607),
        percent=6,
        unit="kg-CO2",
    )
    ev = evaluate(kpi, obs((2021, 8100)), as_of=2021)
    assert ev.target_resolved == pytest.approx(7883.41058)
    assert ev.expected_value == pytest.approx(8386.607 - 0.5 * 503.19642)
    assert ev.achievement_rate == pytest.approx(286.607 / 503.19642)
    assert ev.grade == "A"  # 0.57 of the way at half time
    ev = evaluate(kpi, obs((2021, 8500)), as_of=2021)
    assert ev.grade == "D" and ev.progress_status == "deterioration"


def test_increase_pct_target_and_status():
    kpi = make_kpi(kind="increase_pct", baseline=(2018, 919033), percent=10)
    ev = evaluate(kpi, obs((2019, 863800)), as_of=2021)
    assert ev.target_resolved == pytest.approx(1010936.3)
    assert ev.latest_year == 2019  # the newest observation up to the evaluation year
    assert ev.grade == "D" and ev.progress_status == "deterioration"


def test_no_data_gives_dash():
    ev = evaluate(make_kpi(value=200), obs(), as_of=2021)
    assert ev.grade == "−" and ev.progress_status == "unable_to_assess" and ev.n_points == 0


def test_observations_after_the_evaluation_year_are_ignored():
    ev = evaluate(make_kpi(value=200), obs((2020, 130), (2023, 500)), as_of=2021)
    assert (ev.latest_year, ev.latest_value, ev.n_points) == (2020, 130, 1)


def test_only_the_baseline_year_cannot_be_paced():
    ev = evaluate(make_kpi(value=200), obs((2018, 100)), as_of=2021)
    assert ev.pace is None and ev.grade == "−"


def test_no_baseline_counts_use_actual_over_target():
    kpi = make_kpi(baseline=None, value=160)
    ev = evaluate(kpi, obs((2021, 120)), as_of=2021)
    assert ev.achievement_rate == pytest.approx(0.75) and ev.pace == pytest.approx(0.75)
    assert ev.expected_value is None and ev.grade == "C"


def test_share_with_comparator_and_no_baseline():
    kpi = make_kpi(baseline=None, value=50, comparator=">=", unit="%")
    assert evaluate(kpi, obs((2023, 50)), as_of=2023).met is True
    assert evaluate(kpi, obs((2023, 49.9)), as_of=2023).met is False


def test_ratio_formula_preset():
    kpi = make_kpi(baseline=(2018, 100), value=200)
    ev = evaluate(kpi, obs((2024, 170)), as_of=2024, settings=RuleSettings(formula="ratio"))
    assert ev.achievement_rate == pytest.approx(0.85) and ev.grade == "B"
    ev = evaluate(kpi, obs((2024, 170)), as_of=2024)  # the prefectural formula: 70 %
    assert ev.grade == "C"


def test_ratio_formula_is_undefined_for_negative_quantities():
    kpi = make_kpi(baseline=(2018, -153), value=-100)
    ev = evaluate(kpi, obs((2021, -103)), as_of=2021, settings=RuleSettings(formula="ratio"))
    assert ev.achievement_rate is None and ev.grade == "−"


@pytest.mark.parametrize(
    ("preset", "labels"),
    [
        ("ABCD", ["A", "B", "C", "D"]),
        ("symbols", ["◎", "○", "△", "×"]),
        ("SABC", ["S", "A", "B", "C"]),
    ],
)
def test_grade_presets(preset, labels):
    scale = GRADE_PRESETS[preset]
    assert scale.labels == labels
    kpi = make_kpi(baseline=(2018, 0), value=100, target_year=2024)
    got = [
        evaluate(kpi, obs((2024, a)), 2024, RuleSettings(grades=preset)).grade
        for a in (125, 100, 85, 60, 10)
    ]
    expected = {
        "ABCD": ["A", "A", "B", "C", "D"],
        "symbols": ["◎", "◎", "○", "△", "×"],
        "SABC": ["S", "A", "B", "C", "C"],
    }[preset]
    assert got == expected


def test_unknown_grade_preset_is_refused():
    with pytest.raises(ValueError, match="unknown grade preset"):
        RuleSettings(grades="XYZ").scale  # noqa: B018


def test_maintain_within_ten_percent():
    kpi = make_kpi(kind="maintain", direction="maintain", baseline=(2018, 50))
    assert evaluate(kpi, obs((2021, 45)), 2021).grade == "A"  # −10 %
    assert evaluate(kpi, obs((2021, 56)), 2021).grade == "C"  # outside ±10 %, within ±20 %
    ev = evaluate(kpi, obs((2021, 30)), 2021)
    assert ev.grade == "D" and ev.met is False and ev.expected_value == 50


def test_maintain_percentages_use_points():
    kpi = make_kpi(kind="maintain", direction="maintain", baseline=(2022, 96), unit="%")
    assert evaluate(kpi, obs((2023, 93)), 2023).met is True  # −3 points
    assert evaluate(kpi, obs((2023, 92.9)), 2023).met is False


def test_tolerance_is_configurable():
    kpi = make_kpi(kind="maintain", direction="maintain", baseline=(2018, 50))
    tight = RuleSettings(maintain_tolerance_relative=0.02)
    assert evaluate(kpi, obs((2021, 48)), 2021, tight).met is False


def test_level_to_hold_and_floor():
    hold = make_kpi(direction="maintain", baseline=(2018, 68), value=65, unit="台")
    assert evaluate(hold, obs((2022, 60)), 2022).met is True  # 65 ± 6.5
    assert evaluate(hold, obs((2022, 75)), 2022).met is False
    floor = make_kpi(
        direction="maintain", baseline=(2018, 3), value=2, comparator=">=", unit="間口"
    )
    assert evaluate(floor, obs((2022, 3)), 2022).met is True  # more classes are no failure
    assert evaluate(floor, obs((2022, 1)), 2022).grade == "D"


def test_cumulative_pro_rata():
    kpi = make_kpi(kind="cumulative", baseline=(2018, 49), value=200, unit="件")
    ev = evaluate(kpi, obs((2019, 55), (2020, 40), (2021, 41)), as_of=2021)
    assert ev.cumulative_value == 81  # 2019 lies before the window
    assert ev.expected_value == pytest.approx(80)  # 2 of 5 years → 40 %
    assert ev.achievement_rate == pytest.approx(0.405)
    assert ev.pace == pytest.approx(81 / 80) and ev.grade == "A"
    assert ev.n_points == 2


def test_cumulative_reports_gaps():
    kpi = make_kpi(kind="cumulative", baseline=None, value=25, unit="世帯")
    ev = evaluate(kpi, obs((2020, 5), (2022, 6)), as_of=2022)
    assert any("2021" in n for n in ev.notes)
    assert ev.expected_value == pytest.approx(15)


def test_met_once_and_lost_again_is_reported_as_it_stands():
    kpi = make_kpi(baseline=(2020, 3366), value=35000, unit="件")
    ev = evaluate(kpi, obs((2021, 55426), (2022, 30000)), as_of=2022)
    assert ev.met is False and ev.first_met_year == 2021
    assert ev.history == [(2021, 55426.0), (2022, 30000.0)]
    assert any("2021年度に目標に達した" in n for n in ev.notes)


def test_milestone():
    kpi = make_kpi(kind="milestone", baseline=None, unit="計画")
    assert evaluate(kpi, obs((2023, 0)), 2023).grade == "C"  # before the deadline
    assert evaluate(kpi, obs((2023, 0), (2024, 0)), 2024).grade == "D"
    ev = evaluate(kpi, obs((2023, 0), (2024, 1)), 2024)
    assert ev.grade == "A" and ev.first_met_year == 2024 and not ev.rate_based


def test_benchmark():
    kpi = make_kpi(
        kind="benchmark",
        baseline=None,
        benchmark="national_average",
        comparator=">=",
        unit="ポイント",
    )
    assert evaluate(kpi, obs((2023, -2.1)), 2023).grade == "D"
    ev = evaluate(kpi, obs((2023, 0.4)), 2023)
    assert ev.grade == "A" and ev.met and not ev.rate_based and ev.achievement_rate is None


# ── Open SDG progress status ──────────────────────────────────────────────────


def test_status_already_achieved_first():
    kpi = make_kpi(baseline=(2018, 100), value=120)
    assert evaluate(kpi, obs((2020, 125)), 2020).progress_status == "target_achieved"


@pytest.mark.parametrize(
    ("actual", "status"),
    [
        (110, "substantial_progress"),
        (106, "moderate_progress"),
        (102, "limited_progress"),
        (97, "deterioration"),
    ],
)
def test_status_compound_growth(actual, status):
    # required CAGR (120/100)^(1/6) − 1 = 3.09 %/yr; observed over 3 years from 100
    kpi = make_kpi(baseline=(2018, 100), value=120)
    assert evaluate(kpi, obs((2021, actual)), 2021).progress_status == status


def test_status_linear_for_negative_values():
    # net migration: ▲153 → ▲100; ▲103 after 3 of 6 years is ahead (linear rates)
    kpi = make_kpi(baseline=(2018, -153), value=-100)
    ev = evaluate(kpi, obs((2021, -103)), 2021)
    assert ev.progress_status == "substantial_progress"
    assert any("年平均の増減" in n for n in ev.notes)  # linear rates: net migration is negative
    ev = evaluate(kpi, obs((2021, -200)), 2021)
    assert ev.progress_status == "deterioration"


def test_status_decrease_direction_keeps_sign():
    kpi = make_kpi(kind="decrease_pct", direction="decrease", baseline=(2018, 1000), percent=20)
    # required (800/1000)^(1/6) − 1 = −3.65 %/yr; 880 after 3 years is −4.17 %/yr
    assert evaluate(kpi, obs((2021, 880)), 2021).progress_status == "substantial_progress"
    assert evaluate(kpi, obs((2021, 900)), 2021).progress_status == "moderate_progress"  # 0.945
    assert evaluate(kpi, obs((2021, 1100)), 2021).progress_status == "deterioration"


def test_every_result_carries_its_inputs():
    kpi = make_kpi(baseline=(2018, 100), value=120)
    ev = evaluate(kpi, obs((2021, 110)), 2021, RuleSettings(grades="symbols", formula="ratio"))
    assert ev.settings["formula"] == "ratio" and ev.settings["grades"] == "symbols"
    assert ev.settings["grade_thresholds"] == {"◎": 1.0, "○": 0.8, "△": 0.5}
    assert ev.baseline_value == 100 and ev.history == [(2021, 110.0)]


# ── properties ────────────────────────────────────────────────────────────────

values = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
RANK = {g: i for i, g in enumerate(["A", "B", "C", "D"])}


@settings(max_examples=300, deadline=None)
@given(
    base=values,
    gap=st.floats(min_value=1, max_value=1e5),
    a=values,
    b=values,
    year=st.integers(min_value=2019, max_value=2024),
    direction=st.sampled_from(["increase", "decrease"]),
)
def test_improving_never_lowers_achievement_or_grade(base, gap, a, b, year, direction):
    sign = 1 if direction == "increase" else -1
    kpi = make_kpi(direction=direction, baseline=(2018, base), value=base + sign * gap)
    worse, better = sorted([a, b], key=lambda v: sign * v)
    ev_w = evaluate(kpi, obs((year, worse)), year)
    ev_b = evaluate(kpi, obs((year, better)), year)
    assert ev_b.achievement_rate >= ev_w.achievement_rate - 1e-9
    assert RANK[ev_b.grade] <= RANK[ev_w.grade]


@settings(max_examples=300, deadline=None)
@given(
    base=values,
    gap=st.floats(min_value=1, max_value=1e5),
    actual=values,
    year=st.integers(min_value=2019, max_value=2024),
    direction=st.sampled_from(["increase", "decrease"]),
)
def test_mirrored_data_with_mirrored_direction_gives_the_same_grade(
    base, gap, actual, year, direction
):
    sign = 1 if direction == "increase" else -1
    mirrored = "decrease" if direction == "increase" else "increase"
    kpi = make_kpi(direction=direction, baseline=(2018, base), value=base + sign * gap)
    mirror = make_kpi(direction=mirrored, baseline=(2018, -base), value=-(base + sign * gap))
    ev = evaluate(kpi, obs((year, actual)), year)
    ev_m = evaluate(mirror, obs((year, -actual)), year)
    assert ev.grade == ev_m.grade
    assert ev.achievement_rate == pytest.approx(ev_m.achievement_rate)


@settings(max_examples=200, deadline=None)
@given(
    total=st.floats(min_value=1, max_value=1e4),
    counts=st.lists(st.floats(min_value=0, max_value=1e4), min_size=1, max_size=5),
    extra=st.floats(min_value=0, max_value=1e4),
)
def test_cumulative_more_never_grades_lower(total, counts, extra):
    kpi = make_kpi(kind="cumulative", baseline=None, value=total)
    years = list(range(2020, 2020 + len(counts)))
    # As of the last counted year: mid-period grades, or the final one with the window complete.
    base = evaluate(kpi, obs(*zip(years, counts, strict=True)), years[-1])
    more = evaluate(
        kpi, obs(*zip(years, [*counts[:-1], counts[-1] + extra], strict=True)), years[-1]
    )
    assert RANK[more.grade] <= RANK[base.grade]
    if base.final:
        assert base.verdict in ("達成", "未達成") and more.verdict in ("達成", "未達成")
        assert not (base.verdict == "達成" and more.verdict == "未達成")


@pytest.mark.parametrize(
    ("ratio", "status"),
    [
        (0.95, "substantial_progress"),
        (0.9499, "moderate_progress"),
        (0.6, "moderate_progress"),
        (0.5999, "limited_progress"),
        (0.0, "limited_progress"),
        (-0.0001, "deterioration"),
    ],
)
def test_the_progress_ladder_at_its_boundaries(ratio, status):
    from kpi_lib.evaluation.rules import progress_status

    assert progress_status(ratio, RuleSettings()) == status


def test_a_cumulative_kpi_with_nothing_counted_yet_is_limited_progress_not_deterioration():
    kpi = make_kpi(kind="cumulative", baseline=None, value=100)
    assert evaluate(kpi, obs((2020, 0), (2021, 0)), 2021).progress_status == "limited_progress"


@pytest.mark.parametrize(
    "value, kwargs, text",
    [
        (1234.0, {}, "1,234"),
        (12.34, {}, "12.3"),
        (0.857, {}, "0.86"),
        (-153.0, {"negative": "▲"}, "▲153"),
        (150.4, {}, "150"),  # from 100 on, whole numbers
        (0.27030001, {"decimals": 4}, "0.2703"),
        (19.0, {"decimals": 4}, "19"),  # no 19.000000
        (-0.00001, {"decimals": 4}, "0"),  # no '-0'
        (None, {"missing": "—"}, "—"),
        (float("nan"), {}, ""),
    ],
)
def test_one_number_format_for_people(value, kwargs, text):
    assert number_text(value, **kwargs) == text
