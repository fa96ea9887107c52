"""`kpi report --catalog-dir DIR`: one report per catalog, and one summary index across towns.

The prefectural analyst's run. Every catalog is validated before anything runs (a bad one
stops the batch with exit 2, naming it). Each town's report is built as `kpi report`
builds one (whole or not at all) into OUT/<catalog file name>/; a town whose notebooks
fail is listed in the summary and the batch ends with exit 1. The notebooks of each town
run `--jobs` at a time, and the towns follow one another: on two cores one town's
notebooks already keep both busy.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

from kpi_lib.catalog.model import load_catalog
from kpi_lib.catalog.notation import to_era
from kpi_lib.core.errors import KpiError
from kpi_lib.core.output import atomic_path, progress
from kpi_lib.core.publish import REPORT_MARKER, claim, locked, write_marker
from kpi_lib.core.vocabulary import AWAITED, NOT_ENTERED, VERDICT_MET, VERDICT_MISSED
from kpi_lib.evaluation.scorecard import Scorecard
from kpi_lib.reporting.pages import render
from kpi_lib.reporting.run_settings import DEFAULT_TIMEOUT, RunSettings
from kpi_lib.reporting.runner import ReportFailed, run_report

SUMMARY_COLUMNS = [
    "団体",
    "団体コード",
    "戦略",
    "期間",
    "指標数",
    "実績のある指標",
    "達成",
    "未達成",
    "公表待ち",
    "未入力",
    "報告",
]


def run_batch(
    fiscal_year: int,
    catalog_dir: str | Path,
    out: str | Path | None = None,
    jobs: int = 2,
    data: str | Path | None = None,
    timeout: int | None = None,
) -> Path:
    """One report per catalog in `catalog_dir`, towns one after another, and a summary index across
    them; returns the summary's path."""
    folder = Path(catalog_dir).resolve()
    catalogs = (
        sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml")) if folder.is_dir() else []
    )
    if not catalogs:
        raise KpiError(f"{folder}: no catalog files (*.yaml) to report on")
    _check_names(catalogs)
    checked = {path: load_catalog(path) for path in catalogs}  # all valid, or nothing runs
    for path, cat in checked.items():
        cat.check_evaluation_year(fiscal_year, "fiscal_year", f" (for {path.name})")
    final = Path(out).resolve() if out else Path("reports").resolve() / f"FY{fiscal_year}_towns"
    rows, failures = [], []
    claim(final, REPORT_MARKER, "batch report folder")  # refused before the lock is created
    with locked(final):
        claim(final, REPORT_MARKER, "batch report folder")
        final.mkdir(parents=True, exist_ok=True)
        write_marker(final, REPORT_MARKER, fiscal_year=fiscal_year, batch=True)
        for i, (path, cat) in enumerate(checked.items(), start=1):
            progress("batch", f"[{i}/{len(checked)}] {cat.strategy.municipality_ja} ({path.name})")
            target = final / path.stem
            try:
                built = run_report(
                    RunSettings.of(
                        fiscal_year,
                        target,
                        jobs=jobs,
                        catalog=path,
                        data=data,
                        timeout=timeout or DEFAULT_TIMEOUT,
                    ),
                    cat,  # loaded once, above
                )
                rows.append(_summary_row(built.scorecard, target))
            except ReportFailed as exc:
                failures.append((cat, path, str(exc).splitlines()[0]))
        with atomic_path(final / "index.html") as tmp:
            tmp.write_text(_summary_html(fiscal_year, rows, failures), encoding="utf-8")
    progress("batch", f"{len(rows)} report(s), {len(failures)} failed: {final / 'index.html'}")
    if failures:
        raise ReportFailed(
            f"{len(failures)} of {len(checked)} town report(s) failed: "
            + "; ".join(f"{p.name}: {why}" for _, p, why in failures)
        )
    return final


# A town's folder is its catalog's file name without the suffix: any printable name not starting
# with a dot (`..yaml` would be OUT itself, `.x` hidden). The summary links it percent-encoded.
_SAFE_STEM = re.compile(r"[^.\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*")


def _check_names(catalogs: list[Path]) -> None:
    """Refuse catalog names that cannot be a town's folder, and two that would share one."""
    by_stem: dict[str, Path] = {}
    for path in catalogs:
        if not _SAFE_STEM.fullmatch(path.stem):
            raise KpiError(
                f"{path.name!r}: a catalog's name becomes its report folder: it may not "
                "start with a dot or hold control characters (rename it, e.g. town.yaml)"
            )
        other = by_stem.setdefault(path.stem.casefold(), path)
        if other != path:
            raise KpiError(
                f"{other.name} and {path.name} would both be reported into {path.stem}/: "
                "rename or remove one"
            )
    for stem, path in by_stem.items():  # the batch's own names: its summary, a failed town's copy
        failed_of = stem.endswith(".failed") and stem.removesuffix(".failed") in by_stem
        if stem == "index.html" or failed_of:
            raise KpiError(
                f"{path.name}: its report folder {path.stem}/ is a name the batch writes itself "
                "(the summary index.html, or where a failed town's run is kept): rename it"
            )


def _summary_row(scorecard: Scorecard, target: Path) -> dict:
    """One town's line: its KPIs, those with a figure of the period, and the results counted."""
    s = scorecard.catalog.strategy
    fiscal_year, period = scorecard.as_of, s.period
    counts = scorecard.results()
    return {
        "団体": s.municipality_ja,
        "団体コード": s.municipality_code,
        "戦略": s.title_ja,
        "期間": f"{period.start}〜{period.end}年度",
        "指標数": len(scorecard),
        # a figure of the period up to the evaluation year, as the town's 効果検証 sheet shows
        "実績のある指標": sum(
            any(period.start <= y <= min(period.end, fiscal_year) for y, _ in e.evaluation.history)
            for e in scorecard
        ),
        **{label: counts[label] for label in (VERDICT_MET, VERDICT_MISSED, AWAITED, NOT_ENTERED)},
        "報告": f"{quote(target.name, safe='')}/index.html",  # relative: ':' encoded, no scheme
    }


def _summary_html(fiscal_year: int, rows: list[dict], failures: list) -> str:
    return render(
        "towns.html",
        title=f"効果検証 {fiscal_year}年度 団体別一覧",
        kind="towns",
        header="",
        fiscal_year=fiscal_year,
        era=to_era(fiscal_year),
        columns=SUMMARY_COLUMNS,
        rows=rows,
        failures=failures,
    )
