"""Where the project's bundled files live (the product runs from data/ alone)."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = PROJECT_ROOT / "data"
DEFAULT_CATALOG = DATA_DIR / "kpis" / "ashibetsu_2nd_strategy.yaml"
DEFAULT_PUBLIC_DIR = DATA_DIR / "public"
# Reference material of the developers; users do not have it.
DEFAULT_SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
ASHIBETSU = "012165"

# The forecasts' validation region: in ../shared/data for tests and benchmarks, never bundled.
VALIDATION_REGION = "ssds/ssds_tohoku_osaka_municipal.csv"
