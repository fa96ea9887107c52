"""The analysts' entry workbook: written, filled, read back, merged; every bad input named."""

import subprocess
import sys

import pytest
from openpyxl import load_workbook

from kpi_lib.catalog.model import load_catalog
from kpi_lib.core.errors import InputErrors
from kpi_lib.evaluation.scorecard import build_scorecard
from kpi_lib.observations.actuals import SHEET, read_actuals
from kpi_lib.observations.handle import load_observations
from kpi_lib.observations.template import write_template
from kpi_lib.observations.values import choose_values
from tests.conftest import FIXTURES


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.fixture
def template(catalog, tmp_path):
    """A freshly written entry workbook: (path, workbook, sheet, header)."""
    path = tmp_path / "entry.xlsx"
    write_template(catalog, path)
    wb = load_workbook(path)
    return path, wb, wb[SHEET], [c.value for c in wb[SHEET][3]]


def test_template_has_one_row_per_kpi_and_validation(catalog, template):
    _, wb, ws, header = template
    assert header[:5] == ["kpi_id", "基本目標", "施策", "指標", "単位"]
    assert "2018年度(H30)" in header and "2024年度(R6)" in header and "2025年度(R7)" not in header
    ids = [ws.cell(r, 1).value for r in range(4, ws.max_row + 1)]
    assert ids == [k.kpi_id for k in catalog.kpis]
    tourism = next(r for r in range(4, ws.max_row + 1) if ws.cell(r, 1).value == "G2-1-2")
    assert ws.cell(tourism, 5).value == "人" and ws.cell(tourism, 7).value == 919033
    assert ws.cell(tourism, 9).value == pytest.approx(1010936.3)
    kinds = sorted(dv.type for dv in ws.data_validations.dataValidation)
    assert kinds == ["decimal", "list", "list"]  # figures; はい/いいえ; 今後の方向性
    lists = {dv.formula1 for dv in ws.data_validations.dataValidation if dv.type == "list"}
    assert '"拡充,継続,改善,縮小,廃止,完了"' in lists
    assert "記入方法" in wb.sheetnames


def test_template_round_trips(catalog, template):
    path, wb, ws, header = template
    rows = {ws.cell(r, 1).value: r for r in range(4, ws.max_row + 1)}
    ws.cell(rows["G2-3-1"], header.index("2021年度(R3)") + 1, 15020)
    ws.cell(rows["G2-3-1"], header.index("2022年度(R4)") + 1, "△0")
    ws.cell(rows["G1-5-1"], header.index("2021年度(R3)") + 1, 8100.5)
    wb.save(path)
    df = read_actuals(path, catalog)
    got = {(r.kpi_id, r.year): r.value for r in df.itertuples()}
    assert got == {("G2-3-1", 2021): 15020, ("G2-3-1", 2022): 0, ("G1-5-1", 2021): 8100.5}
    assert set(df.provenance) == {"analyst"} and not df.override.any()


def test_csv_of_the_same_shape_with_japanese_notation(catalog):
    df = read_actuals(FIXTURES / "actuals_good.csv", catalog)
    got = {(r.kpi_id, r.year): r.value for r in df.itertuples()}
    assert got[("G2-3-1", 2019)] == 15020
    assert got[("G2-3-1", 2020)] == 1234  # '1,234'
    assert got[("G2-3-1", 2021)] == 12345  # full-width digits
    assert got[("G2-0", 2021)] == -12  # △12
    assert got[("G4-4-1", 2023)] == 1
    override = df.set_index(["kpi_id", "year"]).override
    assert override[("G2-0", 2021)] and not override[("G2-3-1", 2021)]


@pytest.mark.parametrize(
    ("fixture", "says"),
    [
        ("actuals_unknown_kpi.csv", ["row 2", "column 'kpi_id'", "unknown KPI id 'G9-9-9'"]),
        (
            "actuals_duplicate.csv",
            ["row 3", "KPI G2-3-1", "column '2021年度(R3)'", "duplicate (KPI, year)", "row 2"],
        ),
        (
            "actuals_year_out_of_range.csv",
            ["row 1", "column '2030年度(R12)'", "outside the strategy's range 2018–2024"],
        ),
        (
            "actuals_wrong_unit.csv",
            ["row 2", "KPI G2-1-2", "column '単位'", "'千人' does not match the catalog's '人'"],
        ),
        (
            "actuals_text_value.csv",
            ["row 2", "column '2021年度(R3)'", "expected a number in 人", "'約1万5千'"],
        ),
    ],
)
def test_bad_inputs_are_named(catalog, fixture, says):
    with pytest.raises(InputErrors) as err:
        read_actuals(FIXTURES / fixture, catalog)
    msg = str(err.value)
    assert fixture in msg
    for part in says:
        assert part in msg, part


def test_an_analyst_value_wins_only_when_the_analyst_says_so(catalog):
    obs = load_observations(catalog, actuals=[FIXTURES / "actuals_good.csv"])
    chosen = choose_values(obs).set_index(["kpi_id", "year"])
    assert chosen.loc[("G2-0", 2021), "value"] == -12  # marked 公表値より優先
    assert chosen.loc[("G2-0", 2021), "provenance"] == "analyst"
    assert chosen.loc[("G2-0", 2020), "provenance"] == "public"
    row = build_scorecard(catalog, obs, 2021).frame().set_index("kpi_id").loc["G2-3-1"]
    assert (row.latest_year, row.latest_value, row.provenance) == (2021, 12345, "analyst")


def test_public_value_stands_without_override(catalog, tmp_path):
    path = tmp_path / "a.csv"
    text = (FIXTURES / "actuals_good.csv").read_text(encoding="utf-8").replace(",はい,", ",,")
    path.write_text(text, encoding="utf-8")
    chosen = choose_values(load_observations(catalog, actuals=[path])).set_index(["kpi_id", "year"])
    assert chosen.loc[("G2-0", 2021), "value"] == -103


def test_kpi_template_and_validate_cli(tmp_path):
    out = tmp_path / "entry.xlsx"
    run = [sys.executable, "-m", "kpi_lib.cli"]
    subprocess.run([*run, "template", "--out", str(out)], check=True, capture_output=True)
    proc = subprocess.run([*run, "validate", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0 and "0 values" in proc.stdout
    proc = subprocess.run(
        [*run, "validate", str(FIXTURES / "actuals_wrong_unit.csv")], capture_output=True, text=True
    )
    assert (
        proc.returncode == 2
        and "'千人' does not match" in proc.stderr
        and "Traceback" not in proc.stderr
    )
    proc = subprocess.run(
        [*run, "validate", str(tmp_path / "missing.xlsx")], capture_output=True, text=True
    )
    assert proc.returncode == 2 and "file not found" in proc.stderr
