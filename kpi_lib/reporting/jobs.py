"""The report's notebooks as jobs: which ones run with which parameters, and running them
through papermill on the pool's kernels (`jobs` at a time), each exported as it ends."""

from __future__ import annotations

import contextlib
import functools
import re
import threading
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

PHASES = ("kernel_start", "waiting", "imports", "work", "export")
# Kernels started ahead, beyond the `jobs` running: the next notebooks' kernels start and import
# while the first ones run (each start costs seconds). A fixed number, not a multiple of --jobs:
# each idle kernel holds pandas and matplotlib in memory (--jobs 8 would otherwise keep 16).
AHEAD = 2
# What every report notebook imports first, run in each kernel as soon as it has started (while
# the report's process is still evaluating), so that the notebook's imports cell finds it done.
PRELOAD = (
    "import IPython.display, kpi_lib.reporting.analysis, kpi_lib.reporting.charts, "
    "kpi_lib.reporting.context"
)


class Gate:
    """Opened when the notebooks may run (their context is saved), or shut for good when the
    run ends before that; a notebook's kernel starts and imports meanwhile."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.opened = False

    def open(self) -> None:
        """The context is saved: the notebooks run."""
        self.opened = True
        self._event.set()

    def shut(self) -> None:
        """The run ends: a notebook still waiting does not run."""
        self._event.set()

    def wait(self) -> bool:
        """True once opened; False if shut (or already shut) without opening."""
        self._event.wait()
        return self.opened

    @property
    def shut_without_opening(self) -> bool:
        """The run ended before the notebooks could run."""
        return self._event.is_set() and not self.opened


@dataclass
class Job:
    """One notebook of the report: its parameters, where its output goes, and its time split
    into `PHASES` (kernel start-up with the preloaded imports, waiting for the context and a free
    job, the imports cell, the other cells, the HTML export)."""

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
    pages = [Path(j.output_name).stem.casefold() for j in jobs]
    for page in pages:  # each page once, none over the report's own (index, goal documents)
        if pages.count(page) > 1 or re.fullmatch(r"index|goal\d+", page):
            raise KpiError(
                f"{notebooks}: a notebook would be written as {page}.html, which another "
                "notebook or the report's own page has: rename it"
            )
    return jobs


def run_job(
    job: Job,
    staging: Path,
    pool: KernelPool,
    timeout: int,
    gate: Gate | None = None,
    turns: threading.Semaphore | None = None,
) -> Job:
    """Execute one notebook into `staging` on a kernel of `pool`, then export it to HTML. With a
    `gate`, the kernel starts and preloads the imports first, and the notebook waits for the gate
    to open (and does not run if it is shut), then for one of the `turns` (the jobs that may run
    at a time)."""
    start = time.perf_counter()
    km = None
    try:
        if gate is not None and gate.shut_without_opening:
            job.status, job.error = "cancelled", "the run ended before the notebooks"
            return job
        km = pool.manager()
        # Started here, not by papermill: papermill would chdir the whole process to the
        # notebook's folder, which races between the jobs' threads.
        pool.start(km, job.notebook.parent, PRELOAD if gate is not None else "")
        preloaded = time.perf_counter() - start
        if gate is not None and not gate.wait():
            job.status, job.error = "cancelled", "the run ended before the notebooks"
            return job
        with turns if turns is not None else contextlib.nullcontext():
            if gate is not None:
                job.phases["waiting"] = time.perf_counter() - start - preloaded
            if pool.stopping:
                raise ReportInterrupted("interrupted")
            _execute(job, staging, km, timeout, preloaded)
        job.status = "ok"
    except Exception as exc:  # a cell failed, the kernel died or was stopped, a cell timed out
        job.status = "failed"
        job.error = "interrupted" if pool.stopping else _short_error(exc, timeout)
    finally:
        if km is not None:
            pool.end(km)
    job.seconds = time.perf_counter() - start
    return job


def _execute(job: Job, staging: Path, km, timeout: int, preloaded: float) -> None:
    """Papermill on the kernel `km`, then the HTML export; their times go into `job.phases`."""
    # Imported here, after the kernel has started: importing it while the report's process
    # evaluates held the kernel's start back by seconds.
    import papermill as pm

    started_at = datetime.now(UTC)
    executed = pm.execute_notebook(
        papermill_path(job.notebook),
        papermill_path(staging / job.output_name),
        engine_name=_saved_at_end_engine(),
        parameters=job.parameters,
        kernel_name=km.kernel_name,
        progress_bar=False,
        log_output=False,
        report_mode=False,
        execution_timeout=timeout,
        km=km,
    )
    job.phases |= _cell_phases(executed, started_at, preloaded)
    # Exported here, while the other job's kernel is still working.
    exported = time.perf_counter()
    notebook_html(
        staging / job.output_name, staging / Path(job.output_name).with_suffix(".html").name
    )
    job.phases["export"] = time.perf_counter() - exported


@functools.cache
def _saved_at_end_engine() -> str:
    """papermill's nbclient engine, writing the executed notebook once, when it ends however it
    ends (a failed, timed-out or stopped one is kept for debugging as before), instead of at every
    cell's start and end as well: some twenty JSON dumps of a growing notebook per page, each
    validated, in the report's process, where the jobs' threads share one interpreter."""
    from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines

    class SavedAtEnd(NotebookExecutionManager):
        def save(self, **kwargs):
            if self.end_time is not None:  # set by notebook_complete, which papermill always calls
                super().save(**kwargs)

    class SavedAtEndEngine(NBClientEngine):
        @classmethod
        def execute_notebook(cls, nb, kernel_name, output_path=None, **kwargs):
            # papermill's Engine.execute_notebook, with the manager above
            nb_man = SavedAtEnd(
                nb,
                output_path=output_path,
                progress_bar=kwargs.pop("progress_bar", False),
                log_output=kwargs.get("log_output", False),
                autosave_cell_every=kwargs.pop("autosave_cell_every", 30),
            )
            nb_man.notebook_start()
            try:
                cls.execute_managed_notebook(nb_man, kernel_name, **kwargs)
            finally:
                nb_man.cleanup_pbar()
                nb_man.notebook_complete()
            return nb_man.nb

    papermill_engines.register("kpi-saved-at-end", SavedAtEndEngine)
    return "kpi-saved-at-end"


def papermill_path(path: Path) -> str:
    """`path` as papermill's input or output argument: papermill fills both in with the
    parameters (str.format), so a brace in a folder's name (a catalog h{x}.yaml in a batch,
    `--out 'FY{fiscal_year}'`) would be read as a field; doubled, it stays itself."""
    return str(path).replace("{", "{{").replace("}", "}}")


def _cell_phases(nb, started_at: datetime, preloaded: float = 0.0) -> dict[str, float]:
    """Kernel start-up (`preloaded`, then until the first cell starts), the imports (the first
    cell after the parameters: every report notebook imports there) and the other cells, from
    the times papermill writes into each cell's metadata."""
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
        "kernel_start": preloaded + max((first - started_at).total_seconds(), 0.0),
        "imports": imports,
        "work": sum(d for _, d in durations) - imports,
    }


def _short_error(exc: Exception, timeout: int) -> str:
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        return f"cell {exc.exec_count} (execution count): {exc.ename}: {exc.evalue}"
    if "timed out" in str(exc).lower() or type(exc).__name__ == "CellTimeoutError":
        return f"a cell ran longer than the timeout of {timeout} s (--timeout)"
    return f"{type(exc).__name__}: {exc}"


def run_all(
    plan: list[Job],
    staging: Path,
    kernel: str,
    jobs: int,
    timeout: int,
    while_running: Callable[[Gate, KernelPool], None] | None = None,
) -> None:
    """The notebooks in a thread pool, `while_running(gate, kernels)` in this thread meanwhile:
    the kernels start at once, and the notebooks run when it opens the gate (it may run code of
    its own on the pool's kernels). An error of `while_running` stops every kernel, and so do
    Ctrl-C and SIGTERM, within seconds."""
    kernels = KernelPool(kernel, preload=PRELOAD if while_running is not None else None)
    gate = Gate() if while_running is not None else None
    turns = threading.Semaphore(jobs)
    pool = ThreadPoolExecutor(max_workers=min(len(plan), jobs + AHEAD))
    futures: list = []
    try:
        futures = [
            pool.submit(run_job, job, staging, kernels, timeout, gate, turns) for job in plan
        ]
        if while_running is not None and gate is not None:
            try:
                while_running(gate, kernels)
            except Exception:
                gate.shut()
                kernels.stop_all()
                raise
        for done, fut in enumerate(as_completed(futures), start=1):
            job = fut.result()
            mark = "ok" if job.status == "ok" else f"FAILED — {job.error}"
            progress(
                "report", f"[{done}/{len(plan)}] {job.output_name} {mark} ({job.seconds:.1f} s)"
            )
    except KeyboardInterrupt:
        ignore_interrupts()
        if gate is not None:
            gate.shut()
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
        if gate is not None:
            gate.shut()  # a notebook still waiting ends (it has run if the gate was opened)
        pool.shutdown(wait=True)
        kernels.close()
