"""`kpi report`: the annual 効果検証 report, built from the notebooks with papermill.

The report appears whole or not at all: everything is built in a staging folder beside the
target and moved into place at the end (kpi_lib.core.publish: only over a folder kpi wrote, one
run at a time, recovered after a kill). If a notebook fails, the command names the notebook
and the cell, keeps the executed notebooks in `<target>.failed/` for debugging, leaves any
previous report untouched, and exits with status 1. Ctrl-C (or SIGTERM) shuts the kernels
down, removes the staging folder and exits with status 130; a cell that runs longer than
the timeout fails its notebook.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import shutil
import signal
import stat
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import NamedTuple

from kpi_lib.catalog.model import Catalog, load_catalog
from kpi_lib.core.errors import ArgumentError, KpiError
from kpi_lib.core.output import progress, sha256
from kpi_lib.core.paths import DATA_DIR, DEFAULT_CATALOG, PROJECT_ROOT
from kpi_lib.core.publish import (
    REPORT_MARKER,
    check_target,
    claim,
    locked,
    pid_alive,
    recover,
    refuse_overlap,
    staging_dir,
    swap_in,
    write_marker,
)
from kpi_lib.evaluation.scorecard import Scorecard
from kpi_lib.observations.values import measured
from kpi_lib.reporting.context import load_context, save_context
from kpi_lib.reporting.index_page import index_html
from kpi_lib.reporting.tables import freshness_table, period_notice

NOTEBOOK_DIR = PROJECT_ROOT / "notebooks"
REPORTS_DIR = PROJECT_ROOT / "reports"
KERNEL = "kpi"
TITLES = {
    "01_scorecard": "効果検証スコアカード",
    "02_migration": "人口移動（社会増減）と出生",
    "03_tourism": "観光入込客数",
    "04_furusato": "ふるさと納税の推移",
    "05_kpi_deep_dive": "KPI 詳細",
}
PACKAGES = [
    "kpi-lib",
    "pandas",
    "numpy",
    "scipy",
    "statsmodels",
    "matplotlib",
    "seaborn",
    "matplotlib-fontja",
    "papermill",
    "nbconvert",
    "ipykernel",
    "openpyxl",
    "pydantic",
    "pandera",
]


class ReportFailed(KpiError):
    """A notebook failed; the message names it and the cell."""

    exit_code = 1


DEFAULT_TIMEOUT = 600  # seconds per cell: generous for a chart, short enough for a cron schedule


class ReportInterrupted(KpiError):
    """Ctrl-C or SIGTERM: the run stopped and cleaned up."""

    exit_code = 130


@dataclass
class Job:
    """One notebook of the report: its parameters and where its output goes."""

    notebook: Path
    output_name: str
    parameters: dict
    title: str
    seconds: float = 0.0
    status: str = "pending"
    error: str | None = None


def ensure_kernel(name: str = KERNEL) -> str:
    """The named Jupyter kernel, installed for this interpreter if it is missing."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel:
        from ipykernel.kernelspec import install

        install(kernel_name=name, display_name=f"{name} (効果検証)", prefix=sys.prefix)
        progress("report", f"installed the Jupyter kernel {name!r} for {sys.executable}")
    return name


def plan_jobs(
    fiscal_year: int,
    municipality_code: str,
    catalog_path: str,
    data_dir: str,
    notebooks: Path,
    deep_dive: list[str],
    figures: Path,
    context_file: str = "",
    headings: dict[str, str] | None = None,
) -> list[Job]:
    """The notebooks to run and their papermill parameters; `headings` name the deep dives'
    KPIs for readers (the strategy's numbering and name, not the id)."""
    base = {
        "fiscal_year": fiscal_year,
        "municipality_code": municipality_code,
        "catalog_path": catalog_path,
        "data_dir": data_dir,
        "context_file": context_file,
    }
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


class KernelPool:
    """The kernels of one run: on IPC sockets in a private folder (no TCP port, no
    unencrypted-TCP warning). nbclient does not shut down a kernel it was handed, so each
    is ended here when its notebook is done, and all at once when the run is interrupted."""

    def __init__(self, kernel: str):
        self.kernel = kernel
        remove_dead_ipc_folders()
        # Short (socket paths are limited) and named for this process, so that the next run
        # removes it if this one is killed.
        self.folder = Path(tempfile.mkdtemp(prefix=f"{IPC_PREFIX}{os.getpid()}-"))
        self.live: dict[int, object] = {}
        self.stopping = False
        self._lock = threading.Lock()
        self._count = 0

    def manager(self):
        # The async manager: with the blocking one nbclient ignores the cell timeout.
        """Start a kernel this pool owns (refused once the pool is stopping)."""
        from jupyter_client.manager import AsyncKernelManager

        with self._lock:
            if self.stopping:
                raise ReportInterrupted("interrupted")
            self._count += 1
            km = AsyncKernelManager(
                kernel_name=self.kernel,
                transport="ipc",
                ip=str(self.folder / f"k{self._count}"),
                # Its HMAC key stays in the private folder, removed with it (not /tmp/tmp*.json).
                connection_file=str(self.folder / f"k{self._count}.json"),
            )
            self.live[id(km)] = km
            return km

    def end(self, km) -> None:
        """Kill the kernel's process group (kernels start their own session)."""
        with self._lock:
            self.live.pop(id(km), None)
        self._kill(km)

    @staticmethod
    def _kill(km) -> bool:
        """Kill the kernel if its process has started; False if it has not yet."""
        process = getattr(getattr(km, "provisioner", None), "process", None)
        if process is None:
            return False
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(Exception):
                process.wait(timeout=5)
        return True

    def stop_all(self) -> None:
        """Stop every live kernel (on Ctrl-C, SIGTERM or a failure). A kernel still starting
        has no process yet: it stays listed, for the next call to kill."""
        with self._lock:
            self.stopping = True
            kms = list(self.live.values())
        for km in kms:
            if self._kill(km):
                with self._lock:
                    self.live.pop(id(km), None)

    def close(self) -> None:
        """Remove the pool's private folder of connection files."""
        shutil.rmtree(self.folder, ignore_errors=True)


IPC_PREFIX = "kpi-ipc-"


def remove_dead_ipc_folders(tmp: Path | None = None) -> list[Path]:
    """Remove the private IPC folders (sockets, connection files with their keys) of runs that
    were killed: a real folder of this user, named kpi-ipc-PID-…, whose process is gone."""
    removed = []
    for p in Path(tmp or tempfile.gettempdir()).glob(f"{IPC_PREFIX}*"):
        m = re.fullmatch(rf"{IPC_PREFIX}(\d+)-\w+", p.name)
        try:
            info = p.lstat()
        except OSError:
            continue
        if not m or not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            continue
        if not pid_alive(int(m[1])):
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
    return removed


def _run(job: Job, staging: Path, pool: KernelPool, timeout: int) -> Job:
    import papermill as pm

    start = time.perf_counter()
    km = None
    try:
        km = pool.manager()
        pm.execute_notebook(
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
        # Exported here, while the other job's kernel is still working.
        _html(staging / job.output_name, staging / Path(job.output_name).with_suffix(".html").name)
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


def _short_error(exc: Exception, timeout: int) -> str:
    if "timed out" in str(exc).lower() or type(exc).__name__ == "CellTimeoutError":
        return f"a cell ran longer than the timeout of {timeout} s (--timeout)"
    return f"{type(exc).__name__}: {exc}"


def _html(executed: Path, out: Path) -> None:
    """The executed notebook as HTML for readers: outputs only, no code cells."""
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        language_code="ja",
    )
    nb = nbformat.read(executed, as_version=4)
    nb.metadata["title"] = page_title(executed.stem)  # the template's <title>
    body, _ = exporter.from_notebook_node(nb)
    out.write_text(_with_alt_text(body, nb), encoding="utf-8")


def page_title(stem: str) -> str:
    """The Japanese title of an exported notebook ('05_kpi_deep_dive_G2-0' → 'KPI 詳細 G2-0')."""
    for name, title in sorted(TITLES.items(), key=lambda kv: -len(kv[0])):
        if stem == name:
            return title
        if stem.startswith(name + "_"):
            return f"{title} {stem[len(name) + 1 :]}"
    return stem


def _with_alt_text(body: str, nb) -> str:
    """Each chart's alt text from its output's metadata (charts.show puts the figure's
    description there; nbconvert's template does not read it and would write "No description
    has been provided for this image"). A chart without one is named by its section."""
    from bs4 import BeautifulSoup

    alts = [
        (o.get("metadata", {}).get("image/png") or {}).get("alt")
        for cell in nb.cells
        for o in cell.get("outputs", [])
        if "image/png" in o.get("data", {})
    ]
    soup = BeautifulSoup(body, features="html.parser")
    images = soup.select(".jp-RenderedImage img")
    for i, img in enumerate(images):
        alt = alts[i] if i < len(alts) and len(images) == len(alts) else None
        if not alt:
            heading = img.find_previous(["h1", "h2", "h3"])
            section = heading.get_text(strip=True).rstrip("¶") if heading else ""
            alt = f"{section}のグラフ" if section else "グラフ"
        img["alt"] = alt
    return str(soup)


def _versions() -> dict:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for p in PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = None
    return out


def _inputs(catalog_path: Path, data_dir: Path, notebooks: Path, actuals: list[Path]) -> list[dict]:
    files = [
        catalog_path,
        *sorted((data_dir / "public").glob("*")),
        *actuals,
        *sorted(notebooks.glob("*.ipynb")),
    ]
    forecast_cfg = data_dir / "forecast.yaml"
    if forecast_cfg.exists():
        files.append(forecast_cfg)
    return [
        {"path": str(p), "sha256": sha256(p), "bytes": p.stat().st_size}
        for p in files
        if p.is_file()
    ]


def _data_as_of(observations) -> list[dict]:
    """Per source: the newest date its figures refer to, and the years used."""
    used = measured(observations)
    rows = []
    for source, g in used.groupby("source"):
        rows.append(
            {
                "source": source,
                "licence": " / ".join(sorted(set(g["licence"].dropna()) - {""})),
                "as_of": str(g["as_of"].dropna().max()) if g["as_of"].notna().any() else "",
                "years": f"{int(g['year'].min())}–{int(g['year'].max())}",
                "year_basis": " / ".join(
                    sorted(
                        {"fiscal": "年度", "calendar": "暦年"}.get(b, b)
                        for b in set(g["year_basis"])
                    )
                ),
            }
        )
    return rows


class BuiltReport(NamedTuple):
    """A report written: its folder, and the scorecard it shows (the batch summary counts it)."""

    folder: Path
    scorecard: Scorecard


def run_report(
    fiscal_year: int,
    out: str | Path | None = None,
    jobs: int = 2,
    municipality_code: str | None = None,
    catalog_path: str | None = None,
    data_dir: str | Path | None = None,
    notebooks: str | Path | None = None,
    deep_dive: list[str] | None = None,
    kernel: str = KERNEL,
    timeout: int = DEFAULT_TIMEOUT,
) -> BuiltReport:
    """Build the report for `fiscal_year` into `out` (default: `default_report_dir`); see the
    module doc.

    Phases: resolve and check the inputs; evaluate once; run the notebooks; write the
    scorecard, index and manifest; swap the folder in.
    """
    started = time.perf_counter()
    # Resolved against the caller's working directory before any kernel starts (kernels run in
    # notebooks/).
    catalog_file = Path(catalog_path).resolve() if catalog_path else DEFAULT_CATALOG
    data = Path(data_dir).resolve() if data_dir else DATA_DIR
    nb_dir = Path(notebooks).resolve() if notebooks else NOTEBOOK_DIR
    _check_inputs(data, nb_dir, jobs, timeout)
    catalog = load_catalog(catalog_file)
    final = Path(out).resolve() if out else default_report_dir(catalog, fiscal_year)
    catalog.check_evaluation_year(int(fiscal_year), "fiscal_year")
    if notice := period_notice(catalog, fiscal_year):
        progress("report", f"注意: {notice}")
    check_target(final)
    refuse_overlap(
        final,
        {
            "the public data": data / "public",
            "the actuals": data / "actuals",
            "the notebooks": nb_dir,
        },
        {"the data folder": data, "the catalog": catalog_file},
    )
    # Refused here, before the lock file is created beside the user's folder.
    claim(final, REPORT_MARKER, "report folder", also_ours=_report_of_earlier_version)

    with _interruptible(), locked(final):
        for line in recover(final):
            progress("report", line)
        claim(final, REPORT_MARKER, "report folder", also_ours=_report_of_earlier_version)
        progress("report", "evaluating the KPIs and their forecasts")
        ctx = load_context(fiscal_year, municipality_code or "", str(catalog_file), str(data))
        deep_dive = _deep_dive_ids(ctx, deep_dive)
        staging = staging_dir(final)
        try:
            plan = _execute(
                ctx,
                staging,
                final,
                nb_dir,
                deep_dive,
                jobs,
                kernel,
                timeout,
                str(catalog_file),
                str(data),
            )
            _write_summary(ctx, staging, plan, catalog_file, data, nb_dir, jobs, kernel, started)
            swap_in(staging, final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    progress("report", f"done in {time.perf_counter() - started:.1f} s: {final / 'index.html'}")
    _say_next_step(ctx, data)
    return BuiltReport(final, ctx.scorecard)


def _say_next_step(ctx, data: Path) -> None:
    """After a report with KPIs that have no figures: how the departments' figures get in."""
    card = ctx.scorecard
    missing = sum(e.evaluation.n_points == 0 for e in card)
    if missing:
        progress(
            "report",
            f"{missing} of {len(card)} KPIs have no figures yet. Next: `kpi template --out "
            f"FILE.xlsx` writes the entry workbook; the departments fill it; put it into "
            f"{data / 'actuals'}/ and run the report again.",
        )


def default_report_dir(catalog: Catalog, fiscal_year: int) -> Path:
    """reports/<団体コード>_<name>/FY<year>: one folder per town, so that another town's report
    never replaces this one's. The name is kept to letters and digits (it comes from the
    catalog, which may be hostile)."""
    strategy = catalog.strategy
    name = re.sub(r"\W", "", strategy.municipality_ja)[:40]
    town = f"{strategy.municipality_code}_{name}" if name else strategy.municipality_code
    return REPORTS_DIR / town / f"FY{fiscal_year}"


def _check_inputs(data: Path, nb_dir: Path, jobs: int, timeout: int) -> None:
    if not (data / "public").is_dir():
        raise KpiError(f"{data}: no public/ folder with the bundled data (run `kpi ingest`)")
    if not nb_dir.is_dir():
        raise KpiError(f"{nb_dir}: notebook folder not found")
    if jobs < 1:
        raise ArgumentError("jobs", f"must be at least 1, got {jobs}")
    if timeout < 1:
        raise ArgumentError("timeout", f"must be at least 1 second, got {timeout}")


def _report_of_earlier_version(folder: Path) -> bool:
    """A report written before the marker existed: its manifest names kpi-lib."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and "kpi-lib" in (manifest.get("packages") or {})


def _deep_dive_ids(ctx, deep_dive: list[str] | None) -> list[str]:
    """The KPIs whose deep-dive notebook runs: only those asked for, since every KPI has its
    section in its goal's document."""
    deep_dive = list(dict.fromkeys(deep_dive or []))  # each once: one notebook per KPI
    for kpi_id in deep_dive:
        ctx.catalog.get(kpi_id)
    return deep_dive


def _execute(
    ctx,
    staging: Path,
    final: Path,
    nb_dir: Path,
    deep_dive: list[str],
    jobs: int,
    kernel: str,
    timeout: int,
    catalog_arg: str,
    data_arg: str,
) -> list[Job]:
    """Run every notebook (`jobs` at a time); a failure keeps the run in <final>.failed."""
    write_marker(staging, REPORT_MARKER, fiscal_year=ctx.fiscal_year)
    kernel = ensure_kernel(kernel)
    # Computed once here, read by every notebook (each would otherwise redo the forecasts).
    context_file = staging / ".context.pkl"
    save_context(ctx, context_file, catalog_arg, data_arg)
    plan = plan_jobs(
        ctx.fiscal_year,
        ctx.municipality_code,
        catalog_arg,
        data_arg,
        nb_dir,
        deep_dive,
        staging / "figures",
        str(context_file),
        {k.kpi_id: k.heading for k in ctx.catalog.kpis},
    )
    progress(
        "report",
        f"FY{ctx.fiscal_year}: {len(plan)} notebooks "
        f"with {jobs} job(s), kernel {kernel!r} → {final}",
    )
    cache = final.parent / ".kpi-cache"

    def documents() -> None:  # drawn here while the kernels work
        """Write the per-goal documents into the staging folder."""
        from kpi_lib.reporting.goal_docs import goal_documents

        for doc in goal_documents(ctx, cache):
            (staging / doc.file_name).write_text(doc.html, encoding="utf-8")
        progress("report", f"goal documents written ({len(ctx.catalog.kpis)} KPIs)")

    _run_all(plan, staging, kernel, jobs, timeout, while_running=documents)
    context_file.unlink()
    failed = [j for j in plan if j.status != "ok"]
    if failed:
        kept = final.parent / f"{final.name}.failed"
        claim(kept, REPORT_MARKER, "folder of a failed report")
        shutil.rmtree(kept, ignore_errors=True)
        staging.rename(kept)
        lines = [f"{j.output_name}: {j.error}" for j in failed]
        raise ReportFailed(
            f"{len(failed)} notebook(s) failed; the executed notebooks are kept in {kept} "
            f"and {final} was left as it was:\n  " + "\n  ".join(lines)
        )
    for job in plan:  # the executed notebooks name the report's own folder, not the staging one
        _relocate(staging / job.output_name, staging, final)
        job.parameters = _relocated_parameters(job.parameters, staging, final)
    return plan


def _run_all(
    plan: list[Job], staging: Path, kernel: str, jobs: int, timeout: int, while_running=None
) -> None:
    """The notebooks in a thread pool, `while_running()` in this thread meanwhile; Ctrl-C or
    SIGTERM stops every kernel within seconds."""
    kernels = KernelPool(kernel)
    pool = ThreadPoolExecutor(max_workers=jobs)
    futures: list = []
    try:
        futures = [pool.submit(_run, job, staging, kernels, timeout) for job in plan]
        if while_running is not None:
            while_running()
        for done, fut in enumerate(as_completed(futures), start=1):
            job = fut.result()
            mark = "ok" if job.status == "ok" else f"FAILED — {job.error}"
            progress(
                "report", f"[{done}/{len(plan)}] {job.output_name} {mark} ({job.seconds:.1f} s)"
            )
    except KeyboardInterrupt:
        _ignore_interrupts()  # a second Ctrl-C must not cut the clean-up short
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
        raise ReportInterrupted(_STOPPED) from None
    finally:
        pool.shutdown(wait=True)
        kernels.close()


def _raise_interrupt(signum, frame):
    _INTERRUPTED.set()
    raise KeyboardInterrupt


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def _interruptible():
    """Ctrl-C and SIGTERM raise KeyboardInterrupt in every phase of the run, even when the
    caller's shell started kpi with SIGINT ignored (a background job of a script)."""
    if not _in_main_thread():
        yield
        return
    _INTERRUPTED.clear()
    previous = {
        signal.SIGINT: signal.signal(signal.SIGINT, _raise_interrupt),
        signal.SIGTERM: signal.signal(signal.SIGTERM, _raise_interrupt),
    }
    try:
        yield
    except Exception as exc:
        # A library that caught the KeyboardInterrupt and raised its own error instead (pandas'
        # C reader turns it into a ParserError) must not turn Ctrl-C into a crash.
        if _INTERRUPTED.is_set() and not isinstance(exc, ReportInterrupted):
            raise ReportInterrupted(_STOPPED) from None
        raise
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


_INTERRUPTED = threading.Event()
_STOPPED = "interrupted; no report was written and the staging folder was removed"


def _ignore_interrupts() -> None:
    if _in_main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _relocated_parameters(params: dict, staging: Path, final: Path) -> dict:
    out = {}
    for key, value in params.items():
        if key == "context_file":
            out[key] = ""  # removed after the run; a re-run computes afresh
        elif isinstance(value, str) and value.startswith(str(staging)):
            out[key] = str(final) + value[len(str(staging)) :]
        else:
            out[key] = value
    return out


def _relocate(executed: Path, staging: Path, final: Path) -> None:
    """Rewrite the injected parameters of an executed notebook to the final paths."""
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    meta = nb.metadata.get("papermill", {})
    if "parameters" in meta:
        meta["parameters"] = _relocated_parameters(meta["parameters"], staging, final)
    for key, value in list(meta.items()):  # output_path
        if isinstance(value, str) and value.startswith(str(staging)):
            meta[key] = str(final) + value[len(str(staging)) :]
    for cell in nb.cells:
        if "injected-parameters" in cell.metadata.get("tags", []):
            lines = []
            for line in cell.source.splitlines():
                if line.startswith("context_file = "):
                    line = 'context_file = ""'
                # papermill writes strings with non-ASCII characters escaped (\u5831): both forms
                for old, new in ((staging, final), (_escaped(staging), _escaped(final))):
                    line = line.replace(str(old), str(new))
                lines.append(line)
            cell.source = "\n".join(lines)
    nbformat.write(nb, executed)


def _escaped(path: Path) -> str:
    """The path as papermill writes it inside a Python string literal."""
    from papermill.translators import PythonTranslator

    return PythonTranslator.translate_escaped_str(str(path))[1:-1]


def _write_summary(
    ctx,
    staging: Path,
    plan: list[Job],
    catalog_file: Path,
    data: Path,
    nb_dir: Path,
    jobs: int,
    kernel: str,
    started: float,
) -> None:
    """scorecard.xlsx/.csv, index.html and manifest.json beside the executed notebooks."""
    from kpi_lib.observations.actuals import default_files
    from kpi_lib.reporting.sheet import sheet_frame, write_evaluation_workbook, write_sheet_csv

    fresh = freshness_table(ctx)  # the xlsx sheet and the index show the same table
    frame = sheet_frame(ctx.scorecard)  # the xlsx's first sheet and the readers' CSV
    write_evaluation_workbook(staging / "scorecard.xlsx", ctx.scorecard, fresh, frame)
    write_sheet_csv(staging / "scorecard.csv", frame)
    sources = _data_as_of(ctx.observations)
    (staging / "index.html").write_text(index_html(ctx, plan, sources), encoding="utf-8")
    manifest = {
        "fiscal_year": ctx.fiscal_year,
        "municipality_code": ctx.municipality_code,
        "jobs": jobs,
        "kernel": kernel,
        "parameters": {j.output_name: j.parameters for j in plan},
        "notebooks": [
            {
                "output": j.output_name,
                "source": str(j.notebook),
                "status": j.status,
                "seconds": round(j.seconds, 2),
            }
            for j in plan
        ],
        "inputs": _inputs(catalog_file, data, nb_dir, default_files(data / "actuals")),
        "data_sources": sources,
        "packages": _versions(),
        "total_seconds": round(time.perf_counter() - started, 2),
    }
    (staging / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
