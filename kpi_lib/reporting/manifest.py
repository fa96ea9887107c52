"""What a report run writes beside its notebooks: the 効果検証 sheet (xlsx, csv), index.html
and manifest.json (parameters, input files with SHA-256, package versions, timings)."""

from __future__ import annotations

import json
import platform
from importlib import metadata
from pathlib import Path

from kpi_lib.core.output import sha256
from kpi_lib.core.vocabulary import year_basis_word
from kpi_lib.observations.values import measured
from kpi_lib.reporting.index_page import index_html
from kpi_lib.reporting.jobs import Job
from kpi_lib.reporting.run_settings import RunSettings
from kpi_lib.reporting.tables import freshness_table

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


def write_sheets(ctx, staging: Path) -> None:
    """scorecard.xlsx and .csv: they need the evaluation only, so the report writes them while
    its notebooks run."""
    from kpi_lib.reporting.sheet import sheet_frame, write_evaluation_workbook, write_sheet_csv

    frame = sheet_frame(ctx.scorecard)  # the xlsx's first sheet and the readers' CSV
    fresh = freshness_table(ctx)  # the xlsx sheet and the index show the same table
    write_evaluation_workbook(staging / "scorecard.xlsx", ctx.scorecard, fresh, frame)
    write_sheet_csv(staging / "scorecard.csv", frame)


def write_summary(
    ctx, staging: Path, plan: list[Job], settings: RunSettings, timings: dict[str, float]
) -> None:
    """index.html and manifest.json beside the executed notebooks (and `write_sheets`' files);
    `timings` are the report process's own phases (seconds), the notebooks' are in `plan`."""
    sources = _data_as_of(ctx.observations)
    (staging / "index.html").write_text(index_html(ctx, plan, sources), encoding="utf-8")
    manifest = {
        "fiscal_year": ctx.fiscal_year,
        "municipality_code": ctx.municipality_code,
        "jobs": settings.jobs,
        "kernel": settings.kernel,
        "parameters": {j.output_name: j.parameters for j in plan},
        "notebooks": [
            {
                "output": j.output_name,
                "source": str(j.notebook),
                "status": j.status,
                "seconds": round(j.seconds, 2),
                **{phase: round(s, 2) for phase, s in j.phases.items()},
            }
            for j in plan
        ],
        "inputs": _inputs(settings),
        "data_sources": sources,
        "packages": _versions(),
        **{f"{phase}_seconds": round(s, 2) for phase, s in timings.items()},
    }
    (staging / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )


def _versions() -> dict:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for p in PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = None
    return out


def _inputs(settings: RunSettings) -> list[dict]:
    from kpi_lib.observations.actuals import default_files

    data = settings.data
    files = [
        settings.catalog,
        *sorted((data / "public").glob("*")),
        *default_files(data / "actuals"),
        *sorted(settings.notebooks.glob("*.ipynb")),
    ]
    forecast_cfg = data / "forecast.yaml"
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
                "year_basis": " / ".join(sorted(year_basis_word(b) for b in set(g["year_basis"]))),
            }
        )
    return rows
