"""Small builders shared by the tests."""

import pandas as pd

from kpi_lib.catalog.model import Kpi


def make_kpi(
    kind="level",
    direction="increase",
    baseline=(2018, 100.0),
    target_year=2024,
    unit="人",
    **target,
) -> Kpi:
    """A KPI with only what the rules read; baseline None for none."""
    target = {"year": target_year, "kind": kind, **target}
    if kind == "cumulative":
        target.setdefault("window", {"start": target_year - 4, "end": target_year})
    raw = {
        "kpi_id": "T-1",
        "goal": 1,
        "measure": {"title_ja": "テスト"},
        "name_ja": "テスト指標",
        "name_en": "test",
        "unit": unit,
        "direction": direction,
        "target": target,
        "baseline": None if baseline is None else {"year": baseline[0], "value": baseline[1]},
    }
    return Kpi.model_validate(raw)


def obs(*pairs) -> pd.DataFrame:
    """Observations from (year, value) pairs."""
    return pd.DataFrame(
        {"year": [p[0] for p in pairs], "value": [float(p[1]) for p in pairs], "source": "test"}
    )
