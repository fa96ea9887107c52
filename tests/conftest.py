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
