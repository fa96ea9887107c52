import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
STRATEGY = SHARED / "strategy" / "000_62fb755ce21c91b3.txt"
SHARED_DATA = SHARED / "data"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


KPI = [sys.executable, "-m", "kpi_lib.cli"]


def kpi(*args, cwd=None) -> subprocess.CompletedProcess:
    """`kpi ARGS` as a user runs it, with this checkout's kpi_lib; output captured as text."""
    return subprocess.run(
        [*KPI, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def cli_csv(*args: str) -> list[dict]:
    """The rows of `kpi ARGS --format csv`, as a user's spreadsheet would read them."""
    out = subprocess.run(
        [*KPI, *args, "--format", "csv"], capture_output=True, text=True, check=True
    ).stdout
    return list(csv.DictReader(io.StringIO(out)))


def scorecard_xlsx(folder: Path, as_of: int) -> Path:
    """`kpi scorecard --format xlsx` for the bundled catalog; the workbook's path."""
    out = folder / "card.xlsx"
    args = ["scorecard", "--as-of", str(as_of), "--format", "xlsx", "--out", str(out)]
    subprocess.run([*KPI, *args], check=True, capture_output=True)
    return out


def need_shared(path: Path = SHARED_DATA) -> Path:
    """Skip, saying why, when the reference material in ../shared is not here."""
    if not path.exists():
        pytest.skip(f"{path} is absent: the reference files in ../shared are not on this machine")
    return path


@pytest.fixture(scope="session")
def strategy_text() -> str:
    return need_shared(STRATEGY).read_text(encoding="utf-8")


# ---- expensive reports, built once per test session and shared by the tests that read them ----
# A test that changes one of these folders must copy it first (shutil.copytree).

FY2021_DEEP_DIVE = "G2-0"  # asked twice: the report must make one notebook of it


@pytest.fixture(scope="session")
def report_fy2021(tmp_path_factory) -> tuple[Path, str]:
    """`kpi report --fiscal-year 2021` on the bundled data into a Japanese folder name with a
    space, the deep dive asked twice: (the report's folder, its progress on stderr). Read by the
    end-to-end test and the hostile-filesystem tests."""
    out = tmp_path_factory.mktemp("fy2021") / "報告 書"
    deep = [FY2021_DEEP_DIVE, FY2021_DEEP_DIVE]
    proc = kpi("report", "--fiscal-year", 2021, "--out", out, "--deep-dive", *deep)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, proc.stderr


@pytest.fixture(scope="session")
def report_context():
    """`load_context(fiscal_year)` on the bundled catalog and data, computed once per year and
    session (the evaluation with forecasts the notebooks read): a factory. Tests only read it."""
    from kpi_lib.reporting.context import load_context

    built: dict[int, object] = {}

    def get(fiscal_year: int):
        if fiscal_year not in built:
            built[fiscal_year] = load_context(fiscal_year)
        return built[fiscal_year]

    return get


@pytest.fixture(scope="session")
def bundled_scorecard():
    """`build_scorecard` (with forecasts) of the bundled catalog and observations, once per year
    and session: a factory. Tests only read it."""
    from kpi_lib.catalog.model import load_catalog
    from kpi_lib.evaluation.scorecard import build_scorecard
    from kpi_lib.observations.handle import load_observations

    catalog = load_catalog()
    observations = load_observations(catalog)
    built: dict[int, object] = {}

    def get(as_of: int):
        if as_of not in built:
            built[as_of] = build_scorecard(catalog, observations, as_of)
        return built[as_of]

    return get


@pytest.fixture(scope="session")
def scorecard_workbook(tmp_path_factory):
    """`kpi scorecard --as-of YEAR --format xlsx` of the bundled catalog, written once per year
    and session: a factory giving the workbook's path. Tests only read it."""
    built: dict[int, Path] = {}

    def get(as_of: int) -> Path:
        if as_of not in built:
            built[as_of] = scorecard_xlsx(tmp_path_factory.mktemp(f"scorecard{as_of}"), as_of)
        return built[as_of]

    return get
