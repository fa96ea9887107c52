"""`kpi scorecard` on the bundled catalog and data."""

import json
import subprocess
import sys

import pytest
from openpyxl import load_workbook

from tests.conftest import cli_csv, scorecard_xlsx

KPI = [sys.executable, "-m", "kpi_lib.cli"]


@pytest.fixture(scope="module")
def scorecard(bundled_scorecard):
    return bundled_scorecard(2021)  # built once per session (tests/conftest.py)


@pytest.fixture(scope="module")
def card(scorecard):
    return scorecard.frame().set_index("kpi_id")


def test_every_kpi_has_a_row_and_no_data_shows_dash(card):
    assert len(card) == 65
    with_data = card[card.n_points > 0].index.tolist()
    assert sorted(with_data) == ["G2-0", "G2-1-2", "G2-2-3", "G3-0", "G3-1-1"]
    assert (card.drop(index=with_data).grade == "−").all()


def test_net_migration_as_of_2021(card):
    r = card.loc["G2-0"]
    # baseline: the official CY2018 figure (the strategy states none); target ▲100
    assert (r.baseline_year, r.baseline_value, r.target_resolved) == (2018, -153, -100)
    assert (r.latest_year, r.latest_value) == (2021, -103)
    assert r.expected_value == pytest.approx(-126.5)  # 3 of 6 years
    assert r.achievement_rate == pytest.approx(50 / 53)
    assert r.grade == "A" and r.progress_status == "substantial_progress"
    assert r.year_basis == "calendar" and "住民基本台帳" in r.source


def test_tourism_and_furusato_as_of_2021(card):
    t = card.loc["G2-1-2"]
    assert (t.latest_year, t.latest_value) == (2019, 863_800)  # the survey ends in FY2019
    assert t.grade == "D" and t.progress_status == "deterioration"
    f = card.loc["G2-2-3"]
    assert (f.baseline_value, f.latest_value, f.met) == (3366, 55_426, True)
    assert f.grade == "A" and f.progress_status == "target_achieved"


def test_births_cumulative(card):
    b = card.loc["G3-1-1"]
    assert b.cumulative_value == 81 and b.expected_value == 80  # CY2020 40 + CY2021 41; 2/5 of 200
    assert b.achievement_rate == pytest.approx(0.405) and b.grade == "A"


def test_grade_counts_per_goal(scorecard):
    counts = scorecard.results_by_goal(["A", "B", "C", "D", "公表待ち", "未入力"])
    assert counts.loc["計"].sum() == 65 and counts.columns.name == "評価"
    assert counts.loc[2, "A"] == 2 and counts.loc[2, "D"] == 1 and counts.loc[3, "A"] == 1


def test_every_graded_kpi_shows_its_calculation(card):
    graded = card[card.grade != "−"]
    assert graded.calculation.str.len().gt(20).all()
    assert "-126.5" in card.loc["G2-0"].calculation and "3/6" in card.loc["G2-0"].calculation


def test_cli_csv_and_json():
    rows = cli_csv("scorecard", "--as-of", "2021")
    assert len(rows) == 65
    required = {
        *("kpi_id", "name_ja", "unit", "baseline_year", "baseline_value", "target_year"),
        *("target_resolved", "latest_year", "latest_value", "expected_value"),
        *("achievement_rate", "pace", "grade", "progress_status", "n_points", "source"),
    }
    assert required <= set(rows[0])
    data = json.loads(
        subprocess.run(
            [*KPI, "scorecard", "--as-of", "2021", "--format", "json", "--grades", "symbols"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert {r["kpi_id"]: r["grade"] for r in data}["G2-0"] == "◎"


def test_cli_xlsx_is_for_people(tmp_path):
    out = scorecard_xlsx(tmp_path, 2021)
    ws = load_workbook(out)["スコアカード"]
    header = [c.value for c in ws[3]]
    assert header[:4] == ["ID", "施策", "指標", "単位"] and "達成率" in header and "評価" in header
    goal_rows = [
        r for r in range(4, ws.max_row + 1) if str(ws.cell(r, 1).value).startswith("基本目標")
    ]
    assert len(goal_rows) == 4 and ws.max_row == 3 + 4 + 65
    rate_col = header.index("達成率") + 1
    row = next(r for r in range(4, ws.max_row + 1) if ws.cell(r, 1).value == "G2-0")
    assert ws.cell(row, rate_col).number_format == "0.0%"
    assert ws.cell(row, rate_col).value == pytest.approx(50 / 53)


def test_cli_xlsx_needs_out_and_bad_catalog_is_named(tmp_path):
    proc = subprocess.run(
        [*KPI, "scorecard", "--as-of", "2021", "--format", "xlsx"], capture_output=True, text=True
    )
    assert proc.returncode == 2 and "--out" in proc.stderr
    proc = subprocess.run(
        [*KPI, "scorecard", "--as-of", "2021", "--catalog", str(tmp_path / "x.yaml")],
        capture_output=True,
        text=True,
    )
    assert (
        proc.returncode == 2
        and "catalog file not found" in proc.stderr
        and "Traceback" not in proc.stderr
    )


def test_every_row_carries_its_inputs(card):
    import json as _json

    inputs = _json.loads(card.loc["G2-0"].inputs)
    assert inputs["baseline"] == [2018, -153] and "住民基本台帳" in inputs["baseline_source"]
    assert [2021, -103.0] in inputs["values_used"]
    assert (
        inputs["settings"]["formula"] == "progress"
        and inputs["settings"]["grade_thresholds"]["A"] == 1.0
    )


def test_cli_maintain_tolerance_is_configurable():
    out = subprocess.run(
        [
            *KPI,
            "scorecard",
            "--as-of",
            "2021",
            "--format",
            "json",
            "--no-forecast",
            "--maintain-tolerance",
            "0.05",
            "--maintain-points",
            "1",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    row = next(r for r in json.loads(out) if r["kpi_id"] == "G2-0")
    assert json.loads(row["inputs"])["settings"]["maintain_tolerance"] == {
        "relative": 0.05,
        "points": 1.0,
    }


def test_scorecard_takes_the_reports_year_option_and_its_earlier_name(capsys):
    """`kpi scorecard --fiscal-year` names the year as `kpi report` does; `--as-of` still works
    and gives the same scorecard."""
    from kpi_lib.cli import main

    outputs = []
    for option in ("--fiscal-year", "--as-of"):
        assert main(["scorecard", option, "2021", "--format", "csv", "--no-forecast"]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1]
    assert "G2-0" in outputs[0] and len(outputs[0].splitlines()) == 66  # header + 65 KPIs
