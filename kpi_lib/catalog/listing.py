"""`kpi catalog`: the catalog as one plain row per indicator (table, csv or json)."""

from __future__ import annotations

from kpi_lib.catalog.model import Catalog

CATALOG_COLUMNS = [
    "kpi_id",
    "goal",
    "measure",
    "name_ja",
    "name_en",
    "unit",
    "baseline_year",
    "baseline_value",
    "target_year",
    "target_kind",
    "target_value",
    "target_resolved",
    "direction",
    "approximate",
    "comparator",
    "window_start",
    "window_end",
    "baseline_text",
    "target_text",
]


def catalog_rows(catalog: Catalog) -> list[dict]:
    """One plain row per indicator, as `kpi catalog` prints it."""
    rows = []
    for k in catalog.kpis:
        b, t = k.baseline, k.target
        rows.append(
            {
                "kpi_id": k.kpi_id,
                "goal": k.goal,
                "measure": k.measure_code,
                "name_ja": k.label,
                "name_en": k.name_en,
                "unit": k.unit,
                "baseline_year": b.year if b else None,
                "baseline_value": b.value if b else None,
                "target_year": t.year,
                "target_kind": t.kind,
                "target_value": t.value if t.value is not None else t.percent,
                "target_resolved": k.resolve_target(),
                "direction": k.direction,
                "approximate": t.approximate,
                "comparator": t.comparator,
                "window_start": t.window.start if t.window else None,
                "window_end": t.window.end if t.window else None,
                "baseline_text": b.text if b else None,
                "target_text": t.text,
            }
        )
    return rows
