"""`kpi bench report`: the full report's wall time against its floor, from one run.

The floor is the same number of empty notebooks (a parameters cell only) through papermill:
kernel start-up and notebook I/O that no report can avoid. Goal: a full report within
1.5× that floor with the default jobs.
"""

from __future__ import annotations

import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat

from .report import KERNEL, NOTEBOOK_DIR, ensure_kernel, plan_jobs, run_report


def _empty_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"name": KERNEL, "display_name": KERNEL, "language": "python"},
                   "language_info": {"name": "python"}}
    cell = nbformat.v4.new_code_cell("fiscal_year = 2021")
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell]
    nbformat.write(nb, path)


def floor_seconds(count: int, jobs: int) -> float:
    import papermill as pm

    kernel = ensure_kernel()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "empty.ipynb"
        _empty_notebook(src)
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            list(pool.map(lambda i: pm.execute_notebook(str(src), str(Path(tmp) / f"out{i}.ipynb"),
                                                       parameters={"fiscal_year": 2021}, kernel_name=kernel,
                                                       progress_bar=False), range(count)))
        return time.perf_counter() - start


def report_seconds(jobs: int, fiscal_year: int = 2021) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        run_report(fiscal_year, Path(tmp) / "FY", jobs=jobs)
        return time.perf_counter() - start


def run_report_bench(default_jobs: int = 2) -> str:
    count = len(plan_jobs(2021, "012165", "", "", NOTEBOOK_DIR,
                          ["G2-0", "G2-1-2", "G2-2-3", "G3-1-1"], Path("figures")))
    full1 = report_seconds(1)
    full2 = report_seconds(2)
    floor1 = floor_seconds(count, 1)
    floor2 = floor_seconds(count, default_jobs)
    full_default = full2 if default_jobs == 2 else report_seconds(default_jobs)
    return "\n".join([
        "kpi bench report — one run on this machine (figures, not pass/fail)",
        f"notebooks per report: {count}",
        f"  full report, --jobs 1 ........ {full1:6.1f} s   (floor with 1 job: {floor1:5.1f} s)",
        f"  full report, --jobs 2 ........ {full2:6.1f} s   (floor with 2 jobs: {floor2:5.1f} s)",
        f"  ratio to the floor (default jobs {default_jobs}): {full_default / floor2:.2f}×   (goal: ≤ 1.5×)",
        f"  speed-up of 2 jobs over 1: {full1 / full2:.2f}×",
    ])
