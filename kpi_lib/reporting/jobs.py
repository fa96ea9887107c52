"""The report's notebooks as jobs: which ones run with which parameters, and running them
through papermill on the pool's kernels (`jobs` at a time), each exported as it ends."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from kpi_lib.core.errors import KpiError
from kpi_lib.core.output import progress
from kpi_lib.reporting.export import TITLES, notebook_html
from kpi_lib.reporting.kernels import STOPPED, KernelPool, ReportInterrupted, ignore_interrupts

PHASES = ("kernel_start", "imports", "work", "export")


@dataclass
class Job:
    """One notebook of the report: its parameters, where its output goes, and its time split
    into `PHASES` (kernel start-up, the imports cell, the other cells, the HTML export)."""

    notebook: Path
    output_name: str
    parameters: dict
    title: str
    seconds: float = 0.0
    status: str = "pending"
    error: str | None = None
    phases: dict[str, float] = field(default_factory=dict)


def plan_jobs(
    notebooks: Path,
    base: dict,
    figures: Path,
    deep_dive: tuple[str, ...] | list[str] = (),
    headings: dict[str, str] | None = None,
) -> list[Job]:
    """The notebooks to run with `base`, the parameters every notebook gets; `headings` name the
    deep dives' KPIs for readers (the strategy's numbering and name, not the id)."""
    jobs = []
    for nb in sorted(notebooks.glob("*.ipynb")):
        stem = nb.stem
        title = TITLES.get(stem, stem)
        if "deep_dive" in stem:
            for kpi_id in deep_dive:
                jobs.append(
                    Job(
                        nb,
                        f"{stem}_{kpi_id}.ipynb",
                        {**base, "kpi_id": kpi_id, "output_dir": str(figures)},
                        f"{title}: {(headings or {}).get(kpi_id, kpi_id)}",
                    )
                )
        else:
            jobs.append(Job(nb, nb.name, {**base, "output_dir": str(figures)}, title))
    if not jobs:
        raise KpiError(f"{notebooks}: no notebooks (*.ipynb) to run")
    return jobs


def run_job(job: Job, staging: Path, pool: KernelPool, timeout: int) -> Job:
    """Execute one notebook into `staging` on a kernel of `pool`, then export it to HTML."""
    import papermill as pm

    start = time.perf_counter()
    started_at = datetime.now(UTC)
    km = None
    try:
        km = pool.manager()
        executed = pm.execute_notebook(
            str(job.notebook),
            str(staging / job.output_name),
            parameters=job.parameters,
            kernel_name=pool.kernel,
            cwd=str(job.notebook.parent),
            progress_bar=False,
            log_output=False,
            report_mode=False,
            execution_timeout=timeout,
            km=km,
        )
        job.phases = _cell_phases(executed, started_at)
        # Exported here, while the other job's kernel is still working.
        exported = time.perf_counter()
        notebook_html(
            staging / job.output_name, staging / Path(job.output_name).with_suffix(".html").name
        )
        job.phases["export"] = time.perf_counter() - exported
        job.status = "ok"
    except pm.PapermillExecutionError as exc:
        job.status = "failed"
        job.error = f"cell {exc.exec_count} (execution count): {exc.ename}: {exc.evalue}"
    except Exception as exc:  # kernel died or was stopped, a cell timed out, notebook unreadable
        job.status = "failed"
        job.error = "interrupted" if pool.stopping else _short_error(exc, timeout)
    finally:
        if km is not None:
            pool.end(km)
    job.seconds = time.perf_counter() - start
    return job


def _cell_phases(nb, started_at: datetime) -> dict[str, float]:
    """Kernel start-up (until the first cell starts), the imports (the first cell after the
    parameters: every report notebook imports there) and the other cells, from the times
    papermill writes into each cell's metadata."""
    cells = [
        (c.metadata.get("tags", []), c.metadata.get("papermill", {}))
        for c in nb.cells
        if c.cell_type == "code"
    ]
    timed = [(tags, m) for tags, m in cells if m.get("start_time")]
    if not timed:
        return {}
    first = datetime.fromisoformat(timed[0][1]["start_time"])
    durations = [(tags, float(m.get("duration") or 0.0)) for tags, m in timed]
    body = [
        (tags, d) for tags, d in durations if not {"parameters", "injected-parameters"} & set(tags)
    ]
    imports = body[0][1] if body else 0.0
    return {
        "kernel_start": max((first - started_at).total_seconds(), 0.0),
        "imports": imports,
        "work": sum(d for _, d in durations) - imports,
    }


def _short_error(exc: Exception, timeout: int) -> str:
    if "timed out" in str(exc).lower() or type(exc).__name__ == "CellTimeoutError":
        return f"a cell ran longer than the timeout of {timeout} s (--timeout)"
    return f"{type(exc).__name__}: {exc}"


def run_all(
    plan: list[Job],
    staging: Path,
    kernel: str,
    jobs: int,
    timeout: int,
    while_running: Callable[[], None] | None = None,
) -> None:
    """The notebooks in a thread pool, `while_running()` in this thread meanwhile; Ctrl-C or
    SIGTERM stops every kernel within seconds."""
    kernels = KernelPool(kernel)
    pool = ThreadPoolExecutor(max_workers=jobs)
    futures: list = []
    try:
        futures = [pool.submit(run_job, job, staging, kernels, timeout) for job in plan]
        if while_running is not None:
            while_running()
        for done, fut in enumerate(as_completed(futures), start=1):
            job = fut.result()
            mark = "ok" if job.status == "ok" else f"FAILED — {job.error}"
            progress(
                "report", f"[{done}/{len(plan)}] {job.output_name} {mark} ({job.seconds:.1f} s)"
            )
    except KeyboardInterrupt:
        ignore_interrupts()
        progress("report", "interrupted: stopping the kernels")
        pool.shutdown(wait=False, cancel_futures=True)
        # A kernel still starting has no process to kill yet: try again until every
        # notebook has ended (each ends as soon as its kernel is gone).
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            kernels.stop_all()
            # done(), not wait(): wait() counts a cancelled future still queued as running
            if all(f.done() for f in futures):
                break
            time.sleep(0.1)
        raise ReportInterrupted(STOPPED) from None
    finally:
        pool.shutdown(wait=True)
        kernels.close()
