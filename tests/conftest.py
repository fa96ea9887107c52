from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
STRATEGY = SHARED / "strategy" / "000_62fb755ce21c91b3.txt"
SHARED_DATA = SHARED / "data"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def need_shared(path: Path = SHARED_DATA) -> Path:
    """Skip, saying why, when the reference material in ../shared is not here."""
    if not path.exists():
        pytest.skip(f"{path} is absent: the reference files in ../shared are not on this machine")
    return path


@pytest.fixture(scope="session")
def strategy_text() -> str:
    return need_shared(STRATEGY).read_text(encoding="utf-8")
