"""The departments' round trip (issue 22): one workbook per 担当課 out, figures and judgements
back in, conflicts refused naming both places, the submission status, the committee's opinion,
and the judgements in the scorecard and the report — escaped in every output."""

import csv
import io
import json
import os
import shutil
from pathlib import Path

import pytest
import yaml
from openpyxl import load_workbook

from kpi_lib.catalog.model import Catalog, load_catalog
from kpi_lib.core.errors import InputErrors
from kpi_lib.core.paths import DATA_DIR, DEFAULT_CATALOG
from kpi_lib.observations.actuals import SHEET
from kpi_lib.observations.handle import DataHandle
from kpi_lib.observations.judgements import REVIEW_SHEET
from tests.conftest import kpi

DEPARTMENTS = {1: "商工観光課", 2: "企画課", 3: "子育て支援課", 4: "総務課"}
HOSTILE = '<script>alert("x")</script> =1+1 人手不足で伸び悩んだ'
FORMULA = '=HYPERLINK("http://example.invalid","click")'


def _catalog_with_departments(folder: Path, unassigned: str = "G4-5-2") -> Path:
    """The bundled catalog with a 担当課 on every KPI but one (by basic goal)."""
    raw = yaml.safe_load(DEFAULT_CATALOG.read_text(encoding="utf-8"))
    for k in raw["kpis"]:
        if k["kpi_id"] != unassigned:
            k["department"] = DEPARTMENTS[k["goal"]]
    path = folder / "catalog.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _data_folder(folder: Path) -> Path:
    data = folder / "data"
    (data / "actuals").mkdir(parents=True)
    (data / "public").symlink_to(DATA_DIR / "public", target_is_directory=True)
    shutil.copy(DATA_DIR / "forecast.yaml", data / "forecast.yaml")
    return data


def fill(src: Path, dst: Path, entries: dict) -> None:
    """Write `entries` {kpi_id: {header: value}} into a copy of an entry workbook, as a department
    would type them (text starting with = typed as text, not a formula)."""
    wb = load_workbook(src)
    ws = wb[SHEET]
    header = [c.value for c in ws[3]]
    rows = {ws.cell(r, 1).value: r for r in range(4, ws.max_row + 1)}
    for kpi_id, values in entries.items():
        for h, v in values.items():
            cell = ws.cell(rows[kpi_id], header.index(h) + 1)
            cell.value = v  # None too: an emptied cell
            if isinstance(v, str) and v.startswith("="):
                cell.data_type = "s"
    wb.save(dst)


def _as_csv(xlsx: Path, dst: Path, encoding: str) -> None:
    """The workbook's entry sheet saved as CSV, as Excel's 「CSV（コンマ区切り）」 does."""
    ws = load_workbook(xlsx)[SHEET]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(
        ["" if v is None else v for v in row] for row in ws.iter_rows(values_only=True)
    )
    dst.write_bytes(buf.getvalue().encode(encoding))


@pytest.fixture(scope="module")
def returned(tmp_path_factory):
    """Departments' workbooks written, filled and returned into actuals/ (one as a Shift_JIS CSV),
    with the committee's opinion."""
    root = tmp_path_factory.mktemp("round_trip")
    catalog = _catalog_with_departments(root)
    out = root / "workbooks"
    proc = kpi("template", "--by-department", "--catalog", catalog, "--out", out)
    assert proc.returncode == 0, proc.stderr
    data = _data_folder(root)
    fill(
        out / "商工観光課.xlsx",
        data / "actuals" / "商工観光課.xlsx",
        {
            "G1-0": {
                **{
                    f"{y}年度(R{y - 2018})": v
                    for y, v in zip(range(2020, 2025), (30, 35, 41, 38, 40), strict=True)
                },
                "取組内容": "企業立地助成と雇用奨励金を実施",
                "評価・要因分析": HOSTILE,
                "今後の方向性": "継続",
            },
            "G1-1-1": {"2024年度(R6)": 118000000, "取組内容": FORMULA, "今後の方向性": "拡充"},
        },
    )
    kikaku = root / "企画課_filled.xlsx"
    fill(
        out / "企画課.xlsx",
        kikaku,
        {
            "G2-1-1": {"2024年度(R6)": 52000, "取組内容": "星まつりの開催", "今後の方向性": "改善"},
            "G2-0": {
                "取組内容": "移住相談窓口の常設",
                "評価・要因分析": "転出超過が続く",
                "今後の方向性": "改善",
            },
        },
    )
    _as_csv(kikaku, data / "actuals" / "企画課.csv", "cp932")  # returned as Shift_JIS CSV
    proc = kpi("template", "--review", "--catalog", catalog, "--out", root / "review.xlsx")
    assert proc.returncode == 0, proc.stderr
    wb = load_workbook(root / "review.xlsx")
    wb[REVIEW_SHEET].cell(4, 4, "雇用の確保は概ね順調。<b>若年層</b>の定着に課題。")
    wb.save(data / "actuals" / "有識者会議.xlsx")
    return {"root": root, "catalog": catalog, "out": out, "data": data}


def test_department_is_a_catalog_field_the_schema_and_validate_accept(returned):
    assert "department" in Catalog.model_json_schema()["$defs"]["Kpi"]["properties"]
    assert kpi("validate", returned["catalog"]).returncode == 0
    assert load_catalog(returned["catalog"]).get("G1-0").department == "商工観光課"


def test_one_workbook_per_department_each_with_only_its_rows(returned):
    catalog = load_catalog(returned["catalog"])
    files = sorted(p.name for p in returned["out"].iterdir())
    assert files == sorted([*(f"{d}.xlsx" for d in DEPARTMENTS.values()), "未割当.xlsx"])
    for department in DEPARTMENTS.values():
        ws = load_workbook(returned["out"] / f"{department}.xlsx")[SHEET]
        header = [c.value for c in ws[3]]
        for name in ("担当課", "評価年度", "取組内容", "評価・要因分析", "今後の方向性"):
            assert name in header
        ids = [ws.cell(r, 1).value for r in range(4, ws.max_row + 1)]
        assert ids == [k.kpi_id for k in catalog.kpis if k.department == department]
        assert {ws.cell(r, header.index("担当課") + 1).value for r in range(4, ws.max_row + 1)} == {
            department
        }
        assert {
            ws.cell(r, header.index("評価年度") + 1).value for r in range(4, ws.max_row + 1)
        } == {2024}
    lone = load_workbook(returned["out"] / "未割当.xlsx")[SHEET]
    assert [lone.cell(r, 1).value for r in range(4, lone.max_row + 1)] == ["G4-5-2"]


def test_by_department_never_writes_into_a_folder_with_files(tmp_path):
    catalog = _catalog_with_departments(tmp_path)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep", encoding="utf-8")
    proc = kpi("template", "--by-department", "--catalog", catalog, "--out", tmp_path / "mine")
    assert proc.returncode == 2 and "not an empty folder" in proc.stderr
    assert os.listdir(tmp_path / "mine") == ["notes.txt"]


def test_a_hostile_department_name_stays_a_file_in_the_folder(tmp_path):
    raw = yaml.safe_load(DEFAULT_CATALOG.read_text(encoding="utf-8"))
    for k in raw["kpis"]:
        k["department"] = "../../課/<x>"
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    proc = kpi("template", "--by-department", "--catalog", path, "--out", tmp_path / "wb")
    assert proc.returncode == 0, proc.stderr
    (only,) = list((tmp_path / "wb").iterdir())
    assert only.parent == tmp_path / "wb" and only.suffix == ".xlsx" and ".." not in only.name


def test_returned_workbooks_are_read_together(returned):
    catalog = load_catalog(returned["catalog"])
    inputs = DataHandle.open(returned["data"], catalog=catalog).returned
    analyst = inputs.observations[inputs.observations["provenance"] == "analyst"]
    got = {(r.kpi_id, r.year): r.value for r in analyst.itertuples()}
    assert got[("G1-0", 2024)] == 40 and got[("G2-1-1", 2024)] == 52000  # from the Shift_JIS CSV
    judged = inputs.judgements_for(2024).set_index("kpi_id")
    assert judged.loc["G1-0", "assessment"] == HOSTILE
    assert judged.loc["G2-0", "direction_next"] == "改善"
    assert judged.loc["G2-0", "department"] == "企画課"
    assert inputs.opinions_for(2024)[1].startswith("雇用の確保は概ね順調")


def test_two_workbooks_disagreeing_on_a_figure_are_refused_naming_both(returned, tmp_path):
    data = _data_folder(tmp_path)
    src = returned["out"] / "商工観光課.xlsx"
    fill(src, data / "actuals" / "a.xlsx", {"G1-1-2": {"2023年度(R5)": 2}})
    fill(src, data / "actuals" / "b.xlsx", {"G1-1-2": {"2023年度(R5)": 3}})
    args = ["scorecard", "--as-of", 2024, "--catalog", returned["catalog"], "--data", data]
    proc = kpi(*args, "--format", "csv", "--no-forecast")
    assert proc.returncode == 2
    assert "a.xlsx" in proc.stderr and "b.xlsx" in proc.stderr
    assert "row 6" in proc.stderr and "実績入力" in proc.stderr and "G1-1-2 2023" in proc.stderr
    assert "Traceback" not in proc.stderr
    # the same figure twice is fine
    fill(src, data / "actuals" / "b.xlsx", {"G1-1-2": {"2023年度(R5)": 2}})
    assert kpi(*args, "--format", "csv", "--no-forecast").returncode == 0


def test_two_different_judgements_of_one_kpi_are_refused(returned, tmp_path):
    data = _data_folder(tmp_path)
    src = returned["out"] / "商工観光課.xlsx"
    fill(
        src, data / "actuals" / "a.xlsx", {"G1-1-3": {"取組内容": "説明会", "今後の方向性": "継続"}}
    )
    fill(
        src, data / "actuals" / "b.xlsx", {"G1-1-3": {"取組内容": "説明会", "今後の方向性": "縮小"}}
    )
    proc = kpi("status", "--fiscal-year", 2024, "--catalog", returned["catalog"], "--data", data)
    assert proc.returncode == 2
    assert "the judgement for G1-1-3 2024" in proc.stderr
    assert "a.xlsx" in proc.stderr and "b.xlsx" in proc.stderr and "「縮小」" in proc.stderr


def test_a_direction_outside_the_list_is_refused_with_its_cell(returned, tmp_path):
    path = tmp_path / "x.xlsx"
    fill(returned["out"] / "総務課.xlsx", path, {"G4-1-1": {"今後の方向性": "やめる"}})
    proc = kpi("validate", path, "--catalog", returned["catalog"])
    assert proc.returncode == 2
    assert "x.xlsx" in proc.stderr and "今後の方向性" in proc.stderr and "row 5" in proc.stderr
    assert "拡充 / 継続 / 改善 / 縮小 / 廃止 / 完了" in proc.stderr


def test_control_characters_in_a_judgement_are_refused(returned, tmp_path):
    # an xlsx cannot hold them (openpyxl refuses to write one); a CSV can
    filled, path = tmp_path / "x.xlsx", tmp_path / "x.csv"
    fill(returned["out"] / "総務課.xlsx", filled, {"G4-1-1": {"評価・要因分析": "okESCcleared"}})
    _as_csv(filled, path, "utf-8")
    path.write_text(path.read_text(encoding="utf-8").replace("ESC", "\x1b[2J"), encoding="utf-8")
    proc = kpi("validate", path, "--catalog", returned["catalog"])
    assert proc.returncode == 2 and "U+001B" in proc.stderr and "\x1b" not in proc.stderr


def test_status_per_department_in_the_terminal_and_as_a_sheet(returned, tmp_path):
    args = ["status", "--fiscal-year", 2024, "--catalog", returned["catalog"]]
    proc = kpi(*args, "--data", returned["data"])
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    shoko = next(line for line in lines if line.startswith("商工観光課"))
    assert shoko.split()[1:4] == ["20", "2", "1"]  # 20 KPIs, 2 figures, 1 judgement complete
    assert any(line.startswith("未割当") for line in lines)
    sheet = tmp_path / "status.xlsx"
    proc = kpi(*args, "--data", returned["data"], "--format", "xlsx", "--out", sheet)
    assert proc.returncode == 0, proc.stderr
    wb = load_workbook(sheet)
    assert wb.sheetnames == ["担当課別", "指標別"]
    per_kpi = {r[1]: r for r in wb["指標別"].iter_rows(min_row=3, values_only=True)}
    assert per_kpi["G1-0"][4:6] == ("入力済み", "入力済み")
    assert per_kpi["G1-1-1"][4:6] == ("入力済み", "一部のみ")  # no 評価・要因分析
    assert per_kpi["G2-2-3"][4] == "公表統計"  # ふるさと納税 FY2024 is published
    assert per_kpi["G2-0"][4] == "公表待ち"  # 社会移動数: no FY2024 statistic yet
    assert wb["担当課別"].page_setup.orientation == "landscape"


def test_scorecard_outputs_carry_the_judgements_defused(returned, tmp_path):
    args = ["scorecard", "--as-of", 2024, "--catalog", returned["catalog"]]
    args += ["--data", returned["data"], "--no-forecast"]
    rows = {
        r["kpi_id"]: r for r in csv.DictReader(io.StringIO(kpi(*args, "--format", "csv").stdout))
    }
    assert rows["G1-0"]["assessment"] == HOSTILE and rows["G1-0"]["direction_next"] == "継続"
    assert rows["G1-1-1"]["actions"] == "'" + FORMULA  # a formula made inert
    assert rows["G4-5-2"]["department"] == ""
    records = {r["kpi_id"]: r for r in json.loads(kpi(*args, "--format", "json").stdout)}
    assert records["G1-0"]["department"] == "商工観光課"
    out = tmp_path / "card.xlsx"
    assert kpi(*args, "--format", "xlsx", "--out", out).returncode == 0
    ws = load_workbook(out)["スコアカード"]
    cells = [c for row in ws.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells)
    assert any(c.value == "'" + FORMULA or c.value == FORMULA for c in cells)
    assert any(c.value == "今後の方向性" for c in cells)


@pytest.fixture(scope="module")
def report(returned):
    out = returned["root"] / "report"
    proc = kpi(
        "report",
        "--fiscal-year",
        2024,
        "--catalog",
        returned["catalog"],
        "--data",
        returned["data"],
        "--out",
        out,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {p.name: p.read_text(encoding="utf-8") for p in out.glob("*.html")}


def test_the_report_shows_each_judgement_beside_its_kpi(report):
    goal1 = report["goal1.html"]
    section = goal1.split('id="kpi-G1-0"')[1].split("</section>")[0]
    assert "担当課の評価（商工観光課）" in section and "企業立地助成と雇用奨励金を実施" in section
    assert "&lt;script&gt;" in section and "<script>" not in goal1  # escaped
    assert "継続" in section
    assert "今後の方向性</strong>　拡充 1、継続 1、未提出 18" in goal1  # tallied per goal
    assert "有識者会議の意見" in goal1 and "&lt;b&gt;若年層&lt;/b&gt;" in goal1
    goal2 = report["goal2.html"]
    assert "転出超過が続く" in goal2  # from the Shift_JIS CSV
    assert "担当課: 総務課（2024年度の評価は未提出）" in report["goal4.html"]


def test_the_index_shows_the_submission_status(report):
    index = report["index.html"]
    assert "担当課の提出状況（2024年度）" in index
    for department in [*DEPARTMENTS.values(), "未割当"]:
        assert f"<td>{department}</td>" in index
    assert '有識者会議の意見: <a href="goal1.html">基本目標1</a>' in index
    assert "今後の方向性</strong>（担当課の評価）　拡充 1、継続 1、改善 2、未提出 61" in index


def test_a_missing_judgement_year_is_refused(returned, tmp_path):
    path = tmp_path / "x.xlsx"
    fill(
        returned["out"] / "総務課.xlsx",
        path,
        {"G4-1-1": {"取組内容": "設置を推進", "評価年度": None}},
    )
    with pytest.raises(InputErrors, match="評価年度"):
        DataHandle.open(catalog=load_catalog(returned["catalog"]), actuals=[path])


def test_department_names_windows_or_the_unassigned_file_cannot_take(tmp_path):
    raw = yaml.safe_load(DEFAULT_CATALOG.read_text(encoding="utf-8"))
    names = {1: "未割当", 2: "CON", 3: "..", 4: None}
    for k in raw["kpis"]:
        k["department"] = names[k["goal"]]
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    proc = kpi("template", "--by-department", "--catalog", path, "--out", tmp_path / "wb")
    assert proc.returncode == 0, proc.stderr
    files = sorted(p.name for p in (tmp_path / "wb").iterdir())
    assert files == sorted(["未割当_担当課.xlsx", "CON_担当課.xlsx", "担当課.xlsx", "未割当.xlsx"])
    lone = load_workbook(tmp_path / "wb" / "未割当.xlsx")[SHEET]  # only the KPIs with none
    ids = {lone.cell(r, 1).value for r in range(4, lone.max_row + 1)}
    assert ids == {k["kpi_id"] for k in raw["kpis"] if k["goal"] == 4}


def test_one_judgement_with_two_departments_is_refused(returned, tmp_path):
    data = _data_folder(tmp_path)
    src = returned["out"] / "商工観光課.xlsx"
    same = {"取組内容": "説明会", "今後の方向性": "継続"}
    fill(src, data / "actuals" / "a.xlsx", {"G1-1-3": same})
    fill(src, data / "actuals" / "b.xlsx", {"G1-1-3": {**same, "担当課": "農林課"}})
    proc = kpi("status", "--fiscal-year", 2024, "--catalog", returned["catalog"], "--data", data)
    assert proc.returncode == 2 and "「農林課」" in proc.stderr
    assert "a.xlsx" in proc.stderr and "b.xlsx" in proc.stderr
