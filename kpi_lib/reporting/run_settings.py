"""What one `kpi report` run was asked for: the settings every phase of the run reads."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kpi_lib.core.paths import DATA_DIR, DEFAULT_CATALOG, PROJECT_ROOT

NOTEBOOK_DIR = PROJECT_ROOT / "notebooks"
KERNEL = "kpi"
DEFAULT_TIMEOUT = 600  # seconds per cell: generous for a chart, short enough for a cron schedule


@dataclass(frozen=True)
class RunSettings:
    """The options of one report run, with every path absolute (see `of`)."""

    fiscal_year: int
    out: Path | None = None  # None: the town's folder under reports/ (runner.default_report_dir)
    jobs: int = 2
    municipality_code: str = ""  # empty: the catalog's
    catalog: Path = DEFAULT_CATALOG
    data: Path = DATA_DIR
    notebooks: Path = NOTEBOOK_DIR
    deep_dive: tuple[str, ...] = ()
    kernel: str = KERNEL
    timeout: int = DEFAULT_TIMEOUT

    @classmethod
    def of(
        cls,
        fiscal_year: int,
        out: str | Path | None = None,
        *,
        catalog: str | Path | None = None,
        data: str | Path | None = None,
        notebooks: str | Path | None = None,
        deep_dive: list[str] | None = None,
        municipality_code: str | None = None,
        **rest,
    ) -> RunSettings:
        """The settings with relative paths resolved against the caller's working directory,
        before any kernel starts (kernels run in notebooks/); None or empty means the default."""
        return cls(
            int(fiscal_year),
            Path(out).resolve() if out else None,
            municipality_code=municipality_code or "",
            catalog=Path(catalog).resolve() if catalog else DEFAULT_CATALOG,
            data=Path(data).resolve() if data else DATA_DIR,
            notebooks=Path(notebooks).resolve() if notebooks else NOTEBOOK_DIR,
            deep_dive=tuple(dict.fromkeys(deep_dive or [])),  # each once: one notebook per KPI
            **rest,
        )
