"""Japanese notation: every form the strategy and the official tables use, and refusals."""

import pytest

from kpi_lib.catalog.notation import (
    NotationError,
    compare,
    parse_number,
    parse_quantity,
    parse_target,
    parse_year,
    to_era,
)


@pytest.mark.parametrize(
    ("text", "year", "basis"),
    [
        ("H30", 2018, None),
        ("R6", 2024, None),
        ("R2", 2020, None),
        ("r4", 2022, None),
        ("平成30年度", 2018, "fiscal"),
        ("令和元年度", 2019, "fiscal"),
        ("平成31年度", 2019, "fiscal"),  # the same fiscal year as 令和元年度
        ("令和6年度", 2024, "fiscal"),
        ("平成30年", 2018, "calendar"),  # calendar year, kept apart from 年度
        ("２０２４年度", 2024, "fiscal"),  # full-width digits
        ("令和２年度", 2020, "fiscal"),
        ("2018年", 2018, "calendar"),
        ("昭和64年", 1989, "calendar"),
    ],
)
def test_years(text, year, basis):
    parsed = parse_year(text)
    assert (parsed.year, parsed.basis) == (year, basis)


def test_heisei_31_and_reiwa_1_are_one_fiscal_year():
    assert parse_year("平成31年度") == parse_year("令和元年度")


@pytest.mark.parametrize("text", ["H", "平成年度", "令和0年度", "FY2024", "30年度", "24"])
def test_bad_years_are_refused_quoting_the_text(text):
    with pytest.raises(NotationError) as err:
        parse_year(text)
    assert repr(text) in str(err.value)


def test_to_era_round_trips():
    assert [to_era(y) for y in (2018, 2019, 2024)] == ["H30", "R1", "R6"]
    assert all(parse_year(to_era(y)).year == y for y in range(1990, 2031))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1,234", 1234),
        ("△100", -100),
        ("▲5.1", -5.1),
        ("8,386.607", 8386.607),
        ("１２３", 123),
        ("-12", -12),
        ("0", 0),
        ("1,234,567", 1234567),
        (42, 42),
    ],
)
def test_numbers(text, value):
    assert parse_number(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["1,23", "12,34,567", "abc", "", "1.2.3", "△", "12人"])
def test_bad_numbers_are_refused(text):
    with pytest.raises(NotationError, match="cannot read"):
        parse_number(text)


@pytest.mark.parametrize(
    ("text", "value", "unit"),
    [
        ("106,043千円", 106_043_000, "円"),  # × 1,000 yen
        ("93%", 93, "%"),
        ("35,000件", 35_000, "件"),
        ("12.4%", 12.4, "%"),
        ("8,386.607 kg-CO ₂", 8386.607, "kg-CO2"),
        ("2,500 t", 2500, "t"),
        ("0 件", 0, "件"),
        ("24名", 24, "名"),
        ("全3校", 3, "校"),
        ("3 間口", 3, "間口"),
        ("1 施設", 1, "施設"),
        ("△100人", -100, "人"),
        ("５年", None, None),
    ],
)
def test_quantities(text, value, unit):
    if value is None:
        with pytest.raises(NotationError):
            parse_quantity(text)
        return
    q = parse_quantity(text)
    assert q.value == pytest.approx(value)
    assert q.unit == unit


def test_per_year_rate():
    q = parse_quantity("3人／年")
    assert (q.value, q.unit, q.per_year) == (3, "人", True)


def test_ranges_keep_both_ends():
    q = parse_quantity("▲5.1～ ▲10.5")
    assert q.is_range and (q.low, q.high) == (-10.5, -5.1) and q.value is None


@pytest.mark.parametrize(
    ("text", "placeholder"), [("基準値なし", "none"), ("未策定", "not_adopted")]
)
def test_placeholders(text, placeholder):
    q = parse_quantity(text)
    assert q.value is None and q.placeholder == placeholder


def test_units_are_open_but_prose_is_refused():
    assert (parse_quantity("200頭").value, parse_quantity("200頭").unit) == (200, "頭")
    for prose in ("5年間でたくさん", "3人程度の増加", "10件以上の開催"):
        with pytest.raises(NotationError, match=prose):
            parse_quantity(prose)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("基準値を維持", {"kind": "maintain"}),
        (
            "5年間で10%程度の増加",
            {"kind": "increase_pct", "percent": 10, "approximate": True, "years": 5},
        ),
        ("5年後に10% 増加", {"kind": "increase_pct", "percent": 10, "approximate": False}),
        ("5年後に基準値の6%削減", {"kind": "decrease_pct", "percent": 6}),
        ("5年間で200件", {"kind": "cumulative", "value": 200, "unit": "件", "years": 5}),
        ("5年間で100 人", {"kind": "cumulative", "value": 100, "unit": "人"}),
        ("5年後に△100人", {"kind": "level", "value": -100, "unit": "人", "years": 5}),
        ("50%以上", {"kind": "level", "value": 50, "comparator": ">="}),
        ("5年後に50%以上", {"kind": "level", "value": 50, "comparator": ">="}),
        ("20人以下", {"kind": "level", "value": 20, "comparator": "<="}),
        ("0件超", {"kind": "level", "value": 0, "comparator": ">"}),
        ("10%未満", {"kind": "level", "value": 10, "comparator": "<"}),
        (
            "全国平均以上",
            {"kind": "benchmark", "benchmark": "national_average", "comparator": ">="},
        ),
        ("2024年度(令和6年度)中の計画策定", {"kind": "milestone", "deadline": 2024}),
        ("2024年度 (令和6年度) 中の計画策定", {"kind": "milestone", "deadline": 2024}),
        ("3人／年", {"kind": "level", "value": 3, "per_year": True}),
        ("全3校", {"kind": "level", "value": 3, "unit": "校"}),
        ("35,000件", {"kind": "level", "value": 35000}),
    ],
)
def test_target_rules(text, expected):
    rule = parse_target(text)
    for field, value in expected.items():
        assert getattr(rule, field) == value, field


@pytest.mark.parametrize(
    "text",
    [
        "5年間でたくさん",
        "5年で200件",
        "増加",
        "2024年度(令和5年度)中の計画策定",
        "基準値を上回る",
        "全国平均並み",
    ],
)
def test_unreadable_rules_are_refused_quoting_the_text(text):
    with pytest.raises(NotationError) as err:
        parse_target(text)
    assert repr(text) in str(err.value)


def test_comparators():
    assert compare(50, ">=", 50) and not compare(50, ">", 50)
    assert compare(49, "<", 50) and compare(50, "<=", 50)
