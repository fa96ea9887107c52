"""The bundled catalog against the strategy text, and the schema's refusals."""

import copy
import subprocess
import sys
from collections import Counter

import pytest
import yaml

from kpi_lib.catalog.model import DEFAULT_CATALOG, load_catalog
from kpi_lib.catalog.notation import normalize, parse_quantity, parse_target
from kpi_lib.core.errors import InputErrors
from tests.conftest import cli_csv


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def test_all_65_indicators_in_four_goals(catalog):
    assert len(catalog.kpis) == 65
    assert Counter(k.goal for k in catalog.kpis) == {1: 20, 2: 12, 3: 21, 4: 12}
    assert [k.kpi_id for k in catalog.kpis if k.numeric_goal] == ["G1-0", "G2-0", "G3-0", "G4-0"]


def test_multi_indicator_measures_are_split(catalog):
    by_measure = Counter((k.goal, k.measure.section, k.measure.number) for k in catalog.kpis)
    assert by_measure[(3, 1, 4)] == 3  # ④ 医療費支援: three 受給率
    assert by_measure[(3, 1, 6)] == 6  # ⑥ 地域ぐるみの子育て: six indicators
    assert by_measure[(3, 1, 7)] == 2


def test_every_original_text_is_verbatim_in_the_strategy(catalog, strategy_text):
    for k in catalog.kpis:
        for part in (k.baseline, k.target):
            if part is not None and part.text:
                assert part.text in strategy_text, (k.kpi_id, part.text)


def test_notations_are_part_of_their_cell_text(catalog):
    for k in catalog.kpis:
        for part in (k.baseline, k.target):
            if part is not None and part.notation:
                assert normalize(part.notation) in normalize(part.text), k.kpi_id


def test_baseline_texts_parse_to_the_catalog_values(catalog):
    checked = 0
    for k in catalog.kpis:
        b = k.baseline
        if b is None or b.from_series:
            continue
        checked += 1
        if b.components:  # 北日本自動車大学校 19人 + 星槎大学 0人
            parts = [parse_quantity(c.notation).value for c in b.components]
            assert parts == [c.value for c in b.components] and sum(parts) == b.value
            continue
        q = parse_quantity(b.notation)
        if b.value is not None:
            assert q.value == pytest.approx(b.value), k.kpi_id
            assert q.per_year == b.per_year, k.kpi_id
            if q.unit:
                assert q.unit == k.unit, k.kpi_id
        elif b.range is not None:
            assert (q.low, q.high) == (b.range.low, b.range.high)
        else:
            assert q.placeholder == b.status, k.kpi_id
    assert checked == 61  # all but three ★ goals without a baseline and ★2 (from its series)


def test_target_texts_parse_to_the_catalog_values(catalog):
    for k in catalog.kpis:
        t = k.target
        rule = parse_target(t.notation)
        assert rule.kind == t.kind, k.kpi_id
        assert rule.approximate == t.approximate, k.kpi_id
        if t.kind in ("level", "cumulative"):
            assert rule.value == pytest.approx(t.value), k.kpi_id
            if rule.unit:
                assert rule.unit == k.unit, k.kpi_id
        if t.kind in ("increase_pct", "decrease_pct"):
            assert rule.percent == t.percent
        if t.kind == "cumulative":
            assert rule.years == t.window.years
        if t.kind == "milestone":
            assert rule.deadline == t.year
        if rule.comparator:
            assert rule.comparator == t.comparator, k.kpi_id


def test_baseline_years_follow_the_table_headers(catalog):
    years = {k.kpi_id: k.baseline.year for k in catalog.kpis if k.baseline}
    assert years["G2-2-3"] == 2020  # 基準値 (R2)
    assert {years[i] for i in ("G2-2-4", "G3-1-8", "G4-3-1", "G4-3-4", "G4-4-1", "G4-4-2")} == {
        2022
    }
    assert Counter(years.values())[2018] == 53
    assert all(k.target.year == 2024 for k in catalog.kpis)


def test_composite_baseline(catalog):
    b = catalog.get("G2-4-2").baseline
    assert [(c.name_ja, c.value) for c in b.components] == [
        ("北日本自動車大学校", 19),
        ("星槎大学", 0),
    ]
    assert b.value == 19


@pytest.mark.parametrize(
    ("kpi_id", "resolved"),
    [
        ("G2-1-2", 1_010_936.3),  # 10% over 919,033
        ("G1-5-1", 7_883.41058),  # a 6% cut of 8,386.607
        ("G3-1-1", 200),  # 5年間で200件 over the window
        ("G1-1-1", 116_647_300),
        ("G2-0", -100),
        ("G1-2-2", 2_500),  # maintain: the baseline
        ("G3-2-2", None),  # benchmark
        ("G4-4-1", None),  # milestone
    ],
)
def test_target_resolved(catalog, kpi_id, resolved):
    value = catalog.get(kpi_id).resolve_target()
    assert value == (pytest.approx(resolved) if resolved is not None else None)


def test_directions_are_decided_from_the_text(catalog):
    d = {k.kpi_id: k.direction for k in catalog.kpis}
    assert d["G1-5-1"] == "decrease"  # 削減
    assert d["G4-1-1"] == "maintain"  # 68台 → 65台: a level to hold
    assert d["G2-0"] == "increase"  # ▲100 is better than a larger loss
    # 19 × 基準値を維持, plus four levels to hold (100%→100%, 3→2間口, 68→65台, 253→250世帯)
    assert Counter(d.values()) == {"increase": 41, "maintain": 23, "decrease": 1}


def test_cumulative_windows_are_the_strategy_period(catalog):
    cum = [k for k in catalog.kpis if k.target.kind == "cumulative"]
    assert len(cum) == 9
    assert {(k.target.window.start, k.target.window.end) for k in cum} == {(2020, 2024)}


def test_approximate_only_where_the_text_says_teido(catalog):
    assert [k.kpi_id for k in catalog.kpis if k.target.approximate] == ["G1-1-1"]


# ── refusals ──────────────────────────────────────────────


def _raw():
    return yaml.safe_load(DEFAULT_CATALOG.read_text(encoding="utf-8"))


def _refused(tmp_path, raw):
    path = tmp_path / "bad_catalog.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(InputErrors) as err:
        load_catalog(path)
    return str(err.value)


def _mutate(fn):
    raw = _raw()
    fn(raw)
    return raw


@pytest.mark.parametrize(
    ("mutation", "kpi", "field", "says"),
    [
        (lambda r: r["kpis"][1]["target"].update(kind="levle"), "G1-1-1", "target.kind", "levle"),
        (lambda r: r["kpis"][1].pop("direction"), "G1-1-1", "direction", "required"),
        (
            lambda r: r["kpis"][2]["target"].update(year=2017),
            "G1-1-2",
            None,
            "before the baseline year",
        ),
        (
            lambda r: r["kpis"][2]["baseline"].update(value="たくさん"),
            "G1-1-2",
            "baseline.value",
            "valid number",
        ),
        (
            lambda r: r["kpis"][2]["target"].update(value="2"),
            "G1-1-2",
            "target.value",
            "valid number",
        ),
        (lambda r: r["kpis"][2].update(direction="up"), "G1-1-2", "direction", "'up'"),
        (lambda r: r["kpis"][2].update(direction="decrease"), "G1-1-2", None, "the other way"),
        (
            lambda r: r["kpis"][3]["target"].update(kind="cumulative"),
            "G1-1-3",
            None,
            "needs value, window",
        ),
        (lambda r: r["kpis"][2]["baseline"].pop("value"), "G1-1-2", "baseline", "exactly one"),
    ],
)
def test_schema_refusals_name_file_kpi_and_field(tmp_path, mutation, kpi, field, says):
    message = _refused(tmp_path, _mutate(mutation))
    assert "bad_catalog.yaml" in message
    assert f"KPI {kpi}" in message
    if field:
        assert f"column '{field}'" in message
    assert says in message


def test_duplicate_ids_are_refused(tmp_path):
    raw = _raw()
    raw["kpis"].append(copy.deepcopy(raw["kpis"][5]))
    assert "duplicate kpi_id 'G1-1-5'" in _refused(tmp_path, raw)


def test_cli_catalog_csv_lists_all_indicators():
    rows = cli_csv("catalog")
    assert len(rows) == 65
    required = {
        *("kpi_id", "goal", "measure", "name_ja", "name_en", "unit", "direction"),
        *("baseline_year", "baseline_value", "target_year", "target_kind", "target_value"),
        "target_resolved",
    }
    assert required <= set(rows[0])
    tourism = next(r for r in rows if r["kpi_id"] == "G2-1-2")
    assert float(tourism["target_resolved"]) == pytest.approx(1_010_936.3)
    assert tourism["baseline_year"] == "2018" and tourism["direction"] == "increase"


def test_cli_refuses_a_bad_catalog_without_traceback(tmp_path):
    raw = _mutate(lambda r: r["kpis"][0].pop("direction"))
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "kpi_lib.cli", "catalog", "--catalog", str(path)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "KPI G1-0" in proc.stderr and "direction" in proc.stderr


def test_the_bounded_loader_reads_the_catalog_as_pyyaml_does():
    # libyaml gives the events, PyYAML's own composer and constructor build the data
    from kpi_lib.core.limits import load_yaml

    text = DEFAULT_CATALOG.read_text(encoding="utf-8")
    assert load_yaml(DEFAULT_CATALOG) == yaml.load(text, Loader=yaml.SafeLoader)


def test_a_tab_in_the_catalog_is_named_with_its_line(tmp_path):
    from kpi_lib.core.errors import InputError
    from kpi_lib.core.limits import load_yaml

    path = tmp_path / "tab.yaml"
    path.write_text("kpis:\n  - id: G1-1\n\tname: 人口\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"line 3, column 1: .*found '\\t'"):
        load_yaml(path)
