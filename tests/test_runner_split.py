"""The report run split by job: its settings, each notebook's time split, the gate the kernels
wait at while the report's process evaluates, and the bench's medians of that split."""

from datetime import UTC, datetime, timedelta

import nbformat
import pytest

from kpi_lib.core.paths import DATA_DIR, DEFAULT_CATALOG
from kpi_lib.reporting.bench import split_rows
from kpi_lib.reporting.jobs import Gate, Job, _cell_phases, plan_jobs, run_job
from kpi_lib.reporting.kernels import KernelPool
from kpi_lib.reporting.run_settings import NOTEBOOK_DIR, RunSettings

START = datetime(2026, 12, 2, 7, 0, 0, tzinfo=UTC)


def test_settings_resolve_relative_paths_against_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = RunSettings.of(2024, "out", catalog="c.yaml", data="d", deep_dive=["A", "B", "A"])
    assert s.out == tmp_path / "out" and s.catalog == tmp_path / "c.yaml"
    assert s.data == tmp_path / "d" and s.notebooks == NOTEBOOK_DIR
    assert s.deep_dive == ("A", "B")  # each once: one notebook per KPI
    default = RunSettings.of("2024")
    assert default.fiscal_year == 2024 and default.out is None
    assert (default.catalog, default.data, default.municipality_code) == (
        DEFAULT_CATALOG,
        DATA_DIR,
        "",
    )


def _executed(durations: list[float], gap: float = 0.5) -> nbformat.NotebookNode:
    """A notebook as papermill leaves it: parameters, injected parameters, then the imports
    cell and the others, each with its start time and duration."""
    nb = nbformat.v4.new_notebook()
    tags = [["parameters"], ["injected-parameters"]] + [[] for _ in durations[2:]]
    at = START + timedelta(seconds=gap)
    for tag, d in zip(tags, durations, strict=True):
        cell = nbformat.v4.new_code_cell("x = 1")
        cell.metadata["tags"] = tag
        cell.metadata["papermill"] = {"start_time": at.isoformat(), "duration": d}
        nb.cells.append(cell)
        at += timedelta(seconds=d)
    nb.cells.insert(3, nbformat.v4.new_markdown_cell("## 見出し"))  # not timed
    return nb


def test_a_notebooks_time_is_split_into_kernel_start_imports_and_work():
    phases = _cell_phases(_executed([0.1, 0.1, 2.0, 0.5, 1.5], gap=1.25), START, preloaded=3.0)
    assert phases["kernel_start"] == pytest.approx(4.25)  # preloaded + until the first cell
    assert phases["imports"] == pytest.approx(2.0)  # the first cell after the parameters
    assert phases["work"] == pytest.approx(0.1 + 0.1 + 0.5 + 1.5)
    assert _cell_phases(nbformat.v4.new_notebook(), START) == {}  # nothing timed: no split


def test_a_shut_gate_runs_no_notebook_and_starts_no_kernel(tmp_path):
    pool = KernelPool("kpi")
    try:
        gate = Gate()
        gate.shut()
        job = Job(NOTEBOOK_DIR / "01_scorecard.ipynb", "01_scorecard.ipynb", {}, "x")
        run_job(job, tmp_path, pool, 10, gate)
        assert (
            job.status == "cancelled"
            and not pool.live
            and not (tmp_path / job.output_name).exists()
        )
        assert not gate.wait()
        opened = Gate()
        opened.open()
        opened.shut()  # shut after opening: the notebooks have run
        assert opened.wait() and not opened.shut_without_opening
    finally:
        pool.close()


def test_the_plan_gives_every_notebook_the_base_parameters_and_its_figures_folder(tmp_path):
    base = {"fiscal_year": 2024, "context_file": "ctx.pkl"}
    plan = plan_jobs(NOTEBOOK_DIR, base, tmp_path / "figures", ("G2-0",), {"G2-0": "2-① 転入"})
    names = [j.output_name for j in plan]
    assert names == [
        "01_scorecard.ipynb",
        "02_migration.ipynb",
        "03_tourism.ipynb",
        "04_furusato.ipynb",
        "05_kpi_deep_dive_G2-0.ipynb",
    ]
    assert all(j.parameters["output_dir"] == str(tmp_path / "figures") for j in plan)
    assert plan[-1].parameters["kpi_id"] == "G2-0" and plan[-1].title == "KPI 詳細: 2-① 転入"
    with pytest.raises(Exception, match="no notebooks"):
        plan_jobs(tmp_path, base, tmp_path / "figures")


def test_the_bench_prints_the_median_of_each_phase_over_the_runs():
    def manifest(evaluation: float, imports: float) -> dict:
        nb = {"output": "01_scorecard.ipynb", "kernel_start": 1.0, "imports": imports}
        return {"evaluation_seconds": evaluation, "goal_documents_seconds": 2.0, "notebooks": [nb]}

    rows = dict(split_rows([manifest(5.0, 1.0), manifest(9.0, 3.0), manifest(6.0, 2.5)]))
    assert rows["evaluation"] == 6.0 and rows["goal documents"] == 2.0
    assert rows["01_scorecard.ipynb: imports"] == 2.5
    assert rows["01_scorecard.ipynb: kernel start"] == 1.0
    assert "01_scorecard.ipynb: export" not in rows  # a phase a run did not record is not made up
