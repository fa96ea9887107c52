"""`kpi bench report [--full] [--runs N]`: the report's wall time, its split and its size against
its floor, measured in the same run.

The floor is the same number of empty notebooks (a parameters cell only) through the report's own
kernel pool, papermill and HTML export: kernel start-up and notebook I/O that no report can avoid.
Each run measures the floor, the report with its charts drawn and the report again with its charts
from the cache; the figures printed are the medians of the runs. The split comes from the
report's manifest: the evaluation and the goal documents in the report's process, and each
notebook's kernel start, imports, other cells and export (`jobs.PHASES`). `--full` builds the real
case the bundled data does not show: a deterministic entry workbook with five years of values for
every KPI without a public series (generated from the catalog, not committed data), so that every
KPI of the catalog has a section with a chart. Goals (issue 21): the bundled-data report within
3× its floor; (issue 12) the full-data report within 25 s and 10 MB.
"""

from __future__ import annotations

import json
import shutil
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import numpy as np

from kpi_lib.catalog.model import Catalog, load_catalog
from kpi_lib.core.errors import KpiError
from kpi_lib.core.paths import DATA_DIR
from kpi_lib.reporting.jobs import PHASES, Job, run_job
from kpi_lib.reporting.kernels import KernelPool, ensure_kernel
from kpi_lib.reporting.run_settings import KERNEL, RunSettings
from kpi_lib.reporting.runner import run_report

FULL_YEARS = range(2020, 2025)


def _empty_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"name": KERNEL, "display_name": KERNEL, "language": "python"},
        "language_info": {"name": "python"},
    }
    cell = nbformat.v4.new_code_cell("fiscal_year = 2021")
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell]
    nbformat.write(nb, path)


def floor_seconds(count: int, jobs: int) -> float:
    """Seconds to run `count` empty notebooks `jobs` at a time through the report's own
    pipeline (its kernel pool on IPC sockets, papermill, the HTML export): the report's floor."""
    pool = KernelPool(ensure_kernel())
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "empty.ipynb"
        _empty_notebook(src)
        plan = [Job(src, f"out{i}.ipynb", {"fiscal_year": 2021}, "empty") for i in range(count)]
        start = time.perf_counter()
        try:
            with ThreadPoolExecutor(max_workers=jobs) as workers:
                done = list(workers.map(lambda job: run_job(job, Path(tmp), pool, 600), plan))
        finally:
            pool.stop_all()
            pool.close()
        seconds = time.perf_counter() - start
    failed = [job.error for job in done if job.status != "ok"]
    if failed:
        raise KpiError(f"the floor's empty notebook failed: {failed[0]}")
    return seconds


def full_values(catalog: Catalog, seed: int = 0) -> dict[tuple[str, int], float]:
    """Plausible FY2020–FY2024 values for every KPI without a public series, the same on every run:
    paths from the baseline towards the target with noise, within the KPI's possible values."""
    rng = np.random.default_rng(seed)
    values = {}
    for kpi in catalog.kpis:
        if kpi.public_series:
            continue
        t, b = kpi.target, kpi.baseline
        base = b.value if b is not None and b.value is not None else None
        target = kpi.resolve_target()
        low, high = kpi.bounds()
        for year in FULL_YEARS:
            if t.kind == "milestone":
                v = float(year >= 2023)
            elif t.kind == "benchmark":
                v = float(rng.normal(0, 2))
            elif t.kind == "cumulative" and t.value is not None:
                v = t.value / t.span.years * rng.uniform(0.6, 1.2)
            elif t.kind == "maintain" or kpi.direction == "maintain":
                v = (target if target is not None else base or 1.0) * (1 + rng.normal(0, 0.06))
            elif base is None or b is None or target is None:
                v = (target or 1.0) * rng.uniform(0.5, 1.1)
            else:
                share = (year - b.year) / max(t.year - b.year, 1)
                v = base + (target - base) * share * rng.uniform(0.4, 1.2)
            if low is not None:
                v = max(v, low)
            if high is not None:
                v = min(v, high)
            values[(kpi.kpi_id, year)] = round(v, 1) if kpi.unit == "%" else float(round(v))
    return values


def write_full_workbook(catalog: Catalog, path: Path) -> int:
    """The analysts' entry workbook (kpi template) filled with `full_values`; returns the count."""
    from openpyxl import load_workbook

    from kpi_lib.observations.actuals import SHEET, year_header
    from kpi_lib.observations.template import write_template

    write_template(catalog, path)
    wb = load_workbook(path)
    ws = wb[SHEET]
    header_row = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == "kpi_id")
    columns = {ws.cell(header_row, c).value: c for c in range(1, ws.max_column + 1)}
    rows = {ws.cell(r, 1).value: r for r in range(header_row + 1, ws.max_row + 1)}
    values = full_values(catalog)
    for (kpi_id, year), v in values.items():
        ws.cell(rows[kpi_id], columns[year_header(year)], v)
    wb.save(path)
    return len(values)


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _timed_report(settings: RunSettings) -> tuple[float, dict]:
    """The report's wall time and its manifest (which holds the split)."""
    start = time.perf_counter()
    out = run_report(settings).folder
    seconds = time.perf_counter() - start
    return seconds, json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def _full_data(tmp: Path) -> tuple[Path, int]:
    """A data folder with the bundled public data and a generated entry workbook."""
    data = tmp / "data"
    data.mkdir()
    (data / "public").symlink_to(DATA_DIR / "public", target_is_directory=True)
    shutil.copy(DATA_DIR / "forecast.yaml", data / "forecast.yaml")
    (data / "actuals").mkdir()
    return data, write_full_workbook(load_catalog(), data / "actuals" / "entry.xlsx")


def split_rows(manifests: list[dict]) -> list[tuple[str, float]]:
    """The split of the report's time, each the median over `manifests` (one per run): the
    report process's evaluation, goal documents and sheets, then each notebook's phases."""
    rows = []
    own = (("evaluation", "evaluation"), ("goal_documents", "goal documents"), ("sheets", "sheets"))
    for key, label in own:
        values = [m[f"{key}_seconds"] for m in manifests if f"{key}_seconds" in m]
        if values:
            rows.append((label, statistics.median(values)))
    for i, nb in enumerate(manifests[0]["notebooks"]):
        for phase in PHASES:
            values = [m["notebooks"][i].get(phase) for m in manifests]
            if all(v is not None for v in values):
                rows.append(
                    (f"{nb['output']}: {phase.replace('_', ' ')}", statistics.median(values))
                )
    return rows


def _median_range(values: list[float]) -> str:
    return f"{statistics.median(values):6.1f} s ({min(values):.1f}–{max(values):.1f})"


def run_report_bench(
    full: bool = False, jobs: int = 2, fiscal_year: int = 2024, runs: int = 3
) -> str:
    """The text of `kpi bench report`: time, split and size of the report against its floor,
    the medians of `runs` runs, each measuring its own floor."""
    if runs < 1:
        raise KpiError(f"--runs must be at least 1, got {runs}")
    lines = [
        f"kpi bench report{' --full' if full else ''} — {runs} run(s) on this machine, medians "
        "(figures, not pass/fail)"
    ]
    cold, warm, floors, manifests = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        data = None
        if full:
            data, n = _full_data(tmp)
            lines.append(
                f"entry workbook: {n} values generated for the KPIs without a public series"
            )
        for run in range(runs):
            out = tmp / f"run{run}" / f"FY{fiscal_year}"  # its own chart cache: drawn afresh
            settings = RunSettings.of(fiscal_year, out, jobs=jobs, data=data)
            seconds, manifest = _timed_report(settings)
            cold.append(seconds)
            manifests.append(manifest)
            warm.append(_timed_report(settings)[0])  # charts from the cache
            notebooks = len(manifest["notebooks"])
            floors.append(floor_seconds(notebooks, jobs))
        documents = len(list(out.glob("goal*.html")))
        size = _size(out)
    ratios = [c / f for c, f in zip(cold, floors, strict=True)]
    rows = [
        (f"report, --jobs {jobs}, charts drawn", _median_range(cold)),
        ("report again, charts from cache", _median_range(warm)),
        (f"floor ({notebooks} empty notebooks, --jobs {jobs})", _median_range(floors)),
        ("ratio to the floor (median of the runs)", f"{statistics.median(ratios):6.2f}×"),
        ("size of the report folder", f"{size / 1e6:6.1f} MB"),
    ]
    lines.append(f"notebooks: {notebooks}, goal documents: {documents}")
    lines += [_row(label, value) for label, value in rows]
    lines.append("split of the report with charts drawn (seconds, median of the runs):")
    lines += [_row(label, f"{s:6.2f} s", indent=4) for label, s in split_rows(manifests)]
    ratio, median = statistics.median(ratios), statistics.median(cold)
    if full:
        lines.append(
            f"  goals: ≤ 25 s ({'met' if median <= 25 else 'missed'})"
            f", ≤ 10 MB ({'met' if size <= 10e6 else 'missed'})"
        )
    else:
        lines.append(f"  goal: ≤ 3× the floor ({'met' if ratio <= 3 else 'missed'})")
    return "\n".join(lines)


def _row(label: str, value: str, indent: int = 2) -> str:
    return f"{' ' * indent}{label} {'.' * max(46 - indent - len(label), 1)} {value}"
