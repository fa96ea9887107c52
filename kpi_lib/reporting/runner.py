"""`kpi report`: the annual 効果検証 report, built from the notebooks with papermill.

The report appears whole or not at all: everything is built in a staging folder beside the
target and moved into place at the end (kpi_lib.core.publish: only over a folder kpi wrote, one
run at a time, recovered after a kill). If a notebook fails, the command names the notebook
and the cell, keeps the executed notebooks in `<target>.failed/` for debugging, leaves any
previous report untouched, and exits with status 1. Ctrl-C (or SIGTERM) shuts the kernels
down, removes the staging folder and exits with status 130; a cell that runs longer than
the timeout fails its notebook.

This module orchestrates the phases; the kernels are in `kernels`, the notebooks' jobs in
`jobs`, their HTML in `export`, the sheet, index and manifest in `manifest`.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

from kpi_lib.catalog.model import Catalog, load_catalog
from kpi_lib.core.errors import ArgumentError, KpiError
from kpi_lib.core.output import progress
from kpi_lib.core.paths import PROJECT_ROOT
from kpi_lib.core.publish import (
    REPORT_MARKER,
    check_target,
    claim,
    locked,
    recover,
    refuse_overlap,
    staging_dir,
    swap_in,
    write_marker,
)
from kpi_lib.evaluation.rules import RuleSettings
from kpi_lib.evaluation.scorecard import Scorecard
from kpi_lib.observations.handle import DataHandle
from kpi_lib.reporting.context import ReportContext, build_context, save_context
from kpi_lib.reporting.export import relocate, relocated_parameters
from kpi_lib.reporting.jobs import Gate, Job, plan_jobs, run_all
from kpi_lib.reporting.kernels import (
    KernelPool,
    ReportInterrupted,
    ensure_kernel,
    interruptible,
)
from kpi_lib.reporting.manifest import write_sheets, write_summary
from kpi_lib.reporting.run_settings import RunSettings
from kpi_lib.reporting.tables import period_notice

REPORTS_DIR = PROJECT_ROOT / "reports"


class ReportFailed(KpiError):
    """A notebook failed; the message names it and the cell."""

    exit_code = 1


class BuiltReport(NamedTuple):
    """A report written: its folder, and the scorecard it shows (the batch summary counts it)."""

    folder: Path
    scorecard: Scorecard


def run_report(settings: RunSettings, catalog: Catalog | None = None) -> BuiltReport:
    """Build the report `settings` ask for (see `RunSettings.of`) into `settings.out` (default:
    `default_report_dir`); see the module doc. `catalog`: `settings.catalog` already loaded (the
    batch loads each once).

    Phases: check the inputs; evaluate once; run the notebooks while the goal documents are
    drawn; write the scorecard, index and manifest; swap the folder in.
    """
    started = time.perf_counter()
    s = settings
    _check_inputs(s)
    catalog = catalog or load_catalog(s.catalog)
    final = s.out or default_report_dir(catalog, s.fiscal_year)
    catalog.check_evaluation_year(s.fiscal_year, "fiscal_year")
    if notice := period_notice(catalog, s.fiscal_year):
        progress("report", f"注意: {notice}")
    check_target(final)
    refuse_overlap(
        final,
        {
            "the public data": s.data / "public",
            "the actuals": s.data / "actuals",
            "the notebooks": s.notebooks,
        },
        {"the data folder": s.data, "the catalog": s.catalog},
    )
    # Refused here, before the lock file is created beside the user's folder.
    claim(final, REPORT_MARKER, "report folder", also_ours=_report_of_earlier_version)

    with interruptible(), locked(final):
        for line in recover(final):
            progress("report", line)
        claim(final, REPORT_MARKER, "report folder", also_ours=_report_of_earlier_version)
        _deep_dive_ids(catalog, list(s.deep_dive))
        timings: dict[str, float] = {}
        staging = staging_dir(final)
        try:
            ctx, plan = _execute(catalog, staging, final, s, timings)
            timings["total"] = time.perf_counter() - started
            write_summary(ctx, staging, plan, s, timings)
            swap_in(staging, final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    progress("report", f"done in {time.perf_counter() - started:.1f} s: {final / 'index.html'}")
    _say_next_step(ctx, s.data)
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


def _check_inputs(s: RunSettings) -> None:
    if not (s.data / "public").is_dir():
        raise KpiError(f"{s.data}: no public/ folder with the bundled data (run `kpi ingest`)")
    if not s.notebooks.is_dir():
        raise KpiError(f"{s.notebooks}: notebook folder not found")
    if s.jobs < 1:
        raise ArgumentError("jobs", f"must be at least 1, got {s.jobs}")
    if s.timeout < 1:
        raise ArgumentError("timeout", f"must be at least 1 second, got {s.timeout}")


def _report_of_earlier_version(folder: Path) -> bool:
    """A report written before the marker existed: its manifest names kpi-lib."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and "kpi-lib" in (manifest.get("packages") or {})


def _deep_dive_ids(catalog: Catalog, deep_dive: list[str] | None) -> list[str]:
    """The KPIs whose deep-dive notebook runs: only those asked for, since every KPI has its
    section in its goal's document (an id not in the catalog is refused)."""
    deep_dive = list(dict.fromkeys(deep_dive or []))  # each once: one notebook per KPI
    for kpi_id in deep_dive:
        catalog.get(kpi_id)
    return deep_dive


def _execute(
    catalog: Catalog, staging: Path, final: Path, s: RunSettings, timings: dict[str, float]
) -> tuple[ReportContext, list[Job]]:
    """Evaluate once, then run every notebook (`jobs` at a time) while this process draws the
    goal documents; the kernels start and import during the evaluation. The phases' times go
    into `timings`; a failure keeps the run in <final>.failed."""
    write_marker(staging, REPORT_MARKER, fiscal_year=s.fiscal_year)
    kernel = ensure_kernel(s.kernel)
    # Computed once here, read by every notebook (each would otherwise redo the forecasts).
    context_file = staging / ".context.pkl"
    catalog_arg, data_arg = str(s.catalog), str(s.data)
    base = {
        "fiscal_year": s.fiscal_year,
        "catalog_path": catalog_arg,
        "data_dir": data_arg,
        "context_file": str(context_file),
    }
    headings = {k.kpi_id: k.heading for k in catalog.kpis}
    plan = plan_jobs(s.notebooks, base, staging / "figures", s.deep_dive, headings)
    cache = final.parent / ".kpi-cache"
    evaluated: list[ReportContext] = []

    def evaluate_then_draw(gate: Gate, kernels: KernelPool) -> None:  # while the kernels start
        """Evaluate, let the notebooks run, and write the per-goal documents (in a kernel of
        the pool) and the sheets (here) meanwhile."""
        progress("report", "evaluating the KPIs and their forecasts")
        started = time.perf_counter()
        # opened once: another municipality than the catalog's is refused before any notebook runs
        data = DataHandle.open(s.data, catalog=catalog, municipality=s.municipality_code)
        ctx = build_context(data, s.fiscal_year, RuleSettings())
        save_context(ctx, context_file, catalog_arg, data_arg)
        timings["evaluation"] = time.perf_counter() - started
        evaluated.append(ctx)
        gate.open()
        progress(
            "report",
            f"FY{ctx.fiscal_year}: {len(plan)} notebooks "
            f"with {s.jobs} job(s), kernel {kernel!r} → {final}",
        )
        drawn = time.perf_counter()
        # Their charts in a kernel, not here: this process's interpreter is shared with the
        # notebooks' jobs, whose start it held back (and it would be one core of two idle).
        drawer = ThreadPoolExecutor(1, thread_name_prefix="goal-documents")
        try:
            documents = drawer.submit(
                kernels.run_code,
                staging,
                _goal_documents_code(context_file, staging, cache),
                # --timeout bounds one cell; this one cell draws every goal's document
                s.timeout * max(1, len({k.goal for k in ctx.catalog.kpis})),
            )
            written = time.perf_counter()
            write_sheets(ctx, staging)
            timings["sheets"] = time.perf_counter() - written
            try:
                documents.result()
            except ReportInterrupted:
                raise
            except KpiError as exc:
                raise KpiError(f"the goal documents could not be written: {exc}") from None
        finally:
            drawer.shutdown(wait=False)  # on Ctrl-C, stopping the kernels ends its thread
        timings["goal_documents"] = time.perf_counter() - drawn
        progress("report", f"goal documents written ({len(ctx.catalog.kpis)} KPIs)")

    run_all(plan, staging, kernel, s.jobs, s.timeout, while_running=evaluate_then_draw)
    context_file.unlink()
    failed = [j for j in plan if j.status != "ok"]
    if failed:
        _keep_failed(staging, final, failed)
    for job in plan:  # the executed notebooks name the report's own folder, not the staging one
        relocate(staging / job.output_name, staging, final)
        job.parameters = relocated_parameters(job.parameters, staging, final)
    return evaluated[0], plan


def _goal_documents_code(context_file: Path, staging: Path, cache: Path) -> str:
    """The code that writes the goal documents in a kernel (each path a Python literal)."""
    return (
        "from kpi_lib.reporting.goal_docs import write_goal_documents\n"
        f"write_goal_documents({str(context_file)!r}, {str(staging)!r}, {str(cache)!r})\n"
    )


def _keep_failed(staging: Path, final: Path, failed: list[Job]) -> None:
    """Keep the executed notebooks in <final>.failed and raise ReportFailed naming each."""
    kept = final.parent / f"{final.name}.failed"
    claim(kept, REPORT_MARKER, "folder of a failed report")
    shutil.rmtree(kept, ignore_errors=True)
    staging.rename(kept)
    lines = [f"{j.output_name}: {j.error}" for j in failed]
    raise ReportFailed(
        f"{len(failed)} notebook(s) failed; the executed notebooks are kept in {kept} "
        f"and {final} was left as it was:\n  " + "\n  ".join(lines)
    )
