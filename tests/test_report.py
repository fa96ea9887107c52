"""Notebooks through papermill with injected parameters, and `kpi report` end to end."""

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import papermill as pm
import pytest

from kpi_lib.core.devtools import notebooks_with_outputs
from kpi_lib.reporting.kernels import ensure_kernel
from kpi_lib.reporting.run_settings import NOTEBOOK_DIR
from tests.conftest import FY2021_DEEP_DIVE
from tests.helpers import council_reads_the_final_evaluation

KPI = [sys.executable, "-m", "kpi_lib.cli"]


@pytest.fixture(scope="module")
def kernel():
    return ensure_kernel()


def test_notebooks_are_committed_clean_with_one_parameters_cell():
    for path in sorted(NOTEBOOK_DIR.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, path.name
        for line in tagged[0].source.splitlines():  # plain literals only
            value = line.split("#")[0].split("=", 1)[1].strip()
            assert value[0] in "\"'0123456789-" or value in ("True", "False", "None"), (
                path.name,
                line,
            )
    assert (
        notebooks_with_outputs([str(p) for p in NOTEBOOK_DIR.glob("*.ipynb")]) == []
    )  # the pre-commit check


def _run(kernel, tmp_path, name, **params):
    out = tmp_path / f"executed-{name}"
    pm.execute_notebook(
        str(NOTEBOOK_DIR / name),
        str(out),
        parameters=params,
        kernel_name=kernel,
        cwd=str(NOTEBOOK_DIR),
        progress_bar=False,
    )
    return nbformat.read(out, as_version=4)


def _text(nb) -> str:
    parts = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            data = o.get("data", {})
            parts.append(
                o.get("text", "")
                + str(data.get("text/plain", ""))
                + str(data.get("text/markdown", ""))
                + str(data.get("text/html", ""))
            )
    return "\n".join(parts)


@pytest.mark.parametrize(
    "name", ["01_scorecard.ipynb", "02_migration.ipynb", "03_tourism.ipynb", "04_furusato.ipynb"]
)
def test_thematic_notebooks_with_another_year(kernel, tmp_path, name):
    nb = _run(kernel, tmp_path, name, fiscal_year=2020, output_dir=str(tmp_path / "fig"))
    assert "2020年度" in _text(nb) or "2020" in _text(nb)
    assert list((tmp_path / "fig").glob("*.png"))


def test_scorecard_notebook_with_symbol_grades(kernel, tmp_path):
    nb = _run(kernel, tmp_path, "01_scorecard.ipynb", fiscal_year=2021, grades="symbols")
    text = _text(nb)
    assert "◎" in text and "指標数: **65**" in text


@pytest.mark.parametrize("kpi_id", ["G2-0", "G3-1-1", "G2-2-3", "G1-5-1", "G4-4-1"])
def test_deep_dive_for_several_kpis(kernel, tmp_path, kpi_id):
    nb = _run(kernel, tmp_path, "05_kpi_deep_dive.ipynb", kpi_id=kpi_id)
    text = _text(nb)
    assert kpi_id in text
    if kpi_id == "G1-5-1":
        assert "実績はまだありません" in text


def _report(tmp_path: Path, fiscal_year: int, deep_dive: str) -> tuple[Path, str]:
    """Run `kpi report` for the year with one deep dive; the report's folder and its progress."""
    out = tmp_path / f"FY{fiscal_year}"
    args = ["--fiscal-year", str(fiscal_year), "--out", str(out), "--deep-dive", deep_dive]
    proc = subprocess.run([*KPI, "report", *args], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out, proc.stderr


def test_kpi_report_end_to_end(report_fy2021):
    out, progress = report_fy2021  # built once per session (tests/conftest.py)
    names = {p.name for p in out.iterdir()}
    for stem in (
        "01_scorecard",
        "02_migration",
        "03_tourism",
        "04_furusato",
        f"05_kpi_deep_dive_{FY2021_DEEP_DIVE}",
    ):
        assert {f"{stem}.ipynb", f"{stem}.html"} <= names
    assert {"scorecard.xlsx", "scorecard.csv", "index.html", "manifest.json"} <= names
    html = (out / "01_scorecard.html").read_text(encoding="utf-8")
    assert "load_context(" not in html  # code cells are left out for readers
    assert "数値目標" in html and "data:image/png;base64" in html
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "2021年度" in index and "01_scorecard.html" in index and "住民基本台帳" in index
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["fiscal_year"] == 2021 and all(
        n["status"] == "ok" for n in manifest["notebooks"]
    )
    assert any(
        i["path"].endswith("ashibetsu_2nd_strategy.yaml") and len(i["sha256"]) == 64
        for i in manifest["inputs"]
    )
    assert manifest["packages"]["papermill"] and "[report]" in progress
    staged = [p.name for p in out.parent.glob(f".{out.name}.*")]
    assert staged == []  # no staging, no lock left behind


def test_a_failing_notebook_leaves_the_previous_report_untouched(tmp_path):
    out = tmp_path / "FY2021"
    out.mkdir()
    (out / "index.html").write_text("previous report")
    (out / ".kpi-report").write_text("{}")  # written by kpi
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"name": "kpi", "display_name": "kpi", "language": "python"},
        "language_info": {"name": "python"},
    }
    cell = nbformat.v4.new_code_cell("fiscal_year = 2021\nmunicipality_code = '012165'")
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [
        cell,
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("raise ValueError('壊れたセル')"),
    ]
    nbformat.write(nb, nbs / "broken.ipynb")
    proc = subprocess.run(
        [*KPI, "report", "--fiscal-year", "2021", "--out", str(out), "--notebooks", str(nbs)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert (
        "broken.ipynb" in proc.stderr
        and "ValueError" in proc.stderr
        and "壊れたセル" in proc.stderr
    )
    assert "cell" in proc.stderr and "Traceback" not in proc.stderr.split("kpi report:")[-1]
    assert (out / "index.html").read_text() == "previous report"
    assert (tmp_path / "FY2021.failed" / "broken.ipynb").exists()


def test_report_bad_input_is_exit_2(tmp_path):
    proc = subprocess.run(
        [
            *KPI,
            "report",
            "--fiscal-year",
            "2021",
            "--out",
            str(tmp_path / "r"),
            "--deep-dive",
            "G9-9",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "unknown KPI id 'G9-9'" in proc.stderr


def test_final_report_fy2024_shows_verdicts_hindsight_and_freshness(tmp_path):
    out, _ = _report(tmp_path, 2024, "G2-2-3")
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "データの時点について" in index and "観光入込客数（2019年度まで）" in index
    assert "公表統計の最新の年" in index
    council_reads_the_final_evaluation(out)
    card = (out / "01_scorecard.html").read_text(encoding="utf-8")
    assert "最終評価" in card and "見通しの検証" in card
    assert (
        "11,899（2024）" in card and "55,426（80%区間" in card
    )  # what FY2021 said, beside the outcome
    assert "累計 91（〜2022）・代理指標" in card  # the proxy said beside its figure
    furusato = (out / "04_furusato.html").read_text(encoding="utf-8")
    assert "返礼品率" in furusato and "最多の年の21%" in furusato
    deep = (out / "05_kpi_deep_dive_G2-2-3.html").read_text(encoding="utf-8")
    assert "最終評価（2024年度）" in deep and "未達成" in deep
