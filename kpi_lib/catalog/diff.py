"""`kpi catalog diff OLD NEW`: what differs between two catalogs, indicator by indicator.

For the analyst reviewing an import against a catalog made by hand, and for carrying KPIs
from one strategy period to the next. Indicators are paired by `kpi_id`, and those left
over by their Japanese name; each difference is one row (KPI, field, old, new).
"""

from __future__ import annotations

from kpi_lib.catalog.model import Catalog, Kpi

DIFF_COLUMNS = ["kpi_id", "name_ja", "change", "field", "old", "new"]
FIELDS_JA = {
    "name_ja": "指標名",
    "unit": "単位",
    "baseline_year": "基準年度",
    "baseline_value": "基準値",
    "target_year": "目標年度",
    "target_kind": "目標の種類",
    "target_resolved": "目標値（算定）",
    "direction": "方向",
    "review": "要確認",
}


def compared(k: Kpi) -> dict:
    """The fields a diff compares (and the import's reproduction test)."""
    b = k.baseline
    base_value: float | str | None = None
    if b is not None:
        base_value = b.value if b.value is not None else (b.status or "from_series")
        if b.range is not None:
            base_value = f"{b.range.low:g}～{b.range.high:g}"
    return {
        "name_ja": k.name_ja,
        "unit": k.unit,
        "baseline_year": b.year if b else None,
        "baseline_value": base_value,
        "target_year": k.target.year,
        "target_kind": k.target.kind,
        "target_resolved": k.resolve_target(),
        "direction": k.direction,
        "review": k.review,
    }


def _same(a, b) -> bool:
    if isinstance(a, float | int) and isinstance(b, float | int):
        return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))
    return a == b


def diff_catalogs(old: Catalog, new: Catalog) -> list[dict]:
    """One row per difference: added and removed indicators, and every changed field."""
    rows: list[dict] = []
    new_by_id = dict(new.by_id)
    pairs: list[tuple[Kpi, Kpi]] = []
    removed: list[Kpi] = []
    for k in old.kpis:
        if k.kpi_id in new_by_id:
            pairs.append((k, new_by_id.pop(k.kpi_id)))
        else:
            removed.append(k)
    by_name = {k.name_ja: k for k in new_by_id.values()}
    for k in removed:
        match = by_name.pop(k.name_ja, None)
        if match is not None:
            new_by_id.pop(match.kpi_id)
            pairs.append((k, match))
            rows.append(_row(match, "changed", "kpi_id", k.kpi_id, match.kpi_id))
        else:
            rows.append(_row(k, "removed", "", k.kpi_id, ""))
    for a, b in pairs:
        ca, cb = compared(a), compared(b)
        for f, v in ca.items():
            if not _same(v, cb[f]):
                rows.append(_row(b, "changed", f, v, cb[f]))
    for k in new_by_id.values():
        rows.append(_row(k, "added", "", "", k.kpi_id))
    order = {k.kpi_id: i for i, k in enumerate([*old.kpis, *new.kpis])}
    return sorted(rows, key=lambda r: (order.get(r["kpi_id"], 0), r["change"]))


def _row(k: Kpi, change: str, field: str, old, new) -> dict:
    return {
        "kpi_id": k.kpi_id,
        "name_ja": k.name_ja,
        "change": change,
        "field": f"{field}（{FIELDS_JA[field]}）" if field in FIELDS_JA else field,
        "old": _shown(old),
        "new": _shown(new),
    }


def _shown(v) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:,.15g}"
    return str(v)
