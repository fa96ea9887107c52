"""Checks of a catalog against what lies outside it: its own texts and the bundled data.

`kpi validate CATALOG` runs these after the schema (kpi_lib.catalog.model): each baseline and
target `notation` must parse back to the catalog's value and sit inside its `text`, and
each `public_series` must name a statistic the bundled data holds (a typo would otherwise
show as "−" without a word).
"""

from __future__ import annotations

from pathlib import Path

from kpi_lib.catalog.model import Catalog
from kpi_lib.catalog.notation import NotationError, normalize, parse_quantity, parse_target
from kpi_lib.core.errors import InputError
from kpi_lib.core.glyphs import missing_glyphs
from kpi_lib.core.paths import DATA_DIR
from kpi_lib.observations.handle import PublicTables


def check_catalog(catalog: Catalog, file: str, data_dir: str | Path = DATA_DIR) -> list[InputError]:
    """Every problem found, as errors naming the file, the KPI and the field."""
    problems: list[InputError] = []

    def err(kpi_id: str, field: str, problem: str) -> None:
        """Collect a problem of one KPI's field; all are raised together."""
        problems.append(InputError(file, problem, kpi_id=kpi_id, column=field))

    for kpi in catalog.kpis:
        for field, part in (("baseline", kpi.baseline), ("target", kpi.target)):
            if (
                part is not None
                and part.notation
                and part.text
                and normalize(part.notation) not in normalize(part.text)
            ):
                err(
                    kpi.kpi_id,
                    f"{field}.notation",
                    f"{part.notation!r} is not part of the text {part.text!r}",
                )
        _check_baseline(kpi, err)
        _check_target(kpi, err)
        _check_glyphs(kpi, err)
    _check_series(catalog, data_dir, err)
    return problems


def _check_glyphs(kpi, err) -> None:
    """The texts charts draw, in characters the charts' font has (the report draws 〓 instead)."""
    for field in ("name_ja", "label_ja", "unit"):
        missing = missing_glyphs(getattr(kpi, field) or "")
        if missing:
            chars = ", ".join(f"{c} (U+{ord(c):04X})" for c in missing)
            err(
                kpi.kpi_id,
                field,
                f"{chars} not in the charts' font (IPAexGothic): charts would show 〓 "
                "instead; write it with another character (𠮷 as 吉)",
            )


def _check_baseline(kpi, err) -> None:
    b = kpi.baseline
    if b is None or b.from_series or not b.notation:
        return
    if b.components:
        parts = [c.value for c in b.components]
        for c in b.components:
            if c.notation and _quantity(c.notation, kpi, "baseline.components", err) not in (
                None,
                c.value,
            ):
                err(
                    kpi.kpi_id,
                    "baseline.components",
                    f"{c.notation!r} does not read as {c.value:g}",
                )
        if sum(parts) != b.value:
            err(kpi.kpi_id, "baseline.components", "the components do not add up to the value")
        return
    q = _quantity(b.notation, kpi, "baseline.notation", err, whole=True)
    if q is None:
        return
    if b.value is not None and (
        q.value is None or abs(q.value - b.value) > 1e-9 * max(1.0, abs(b.value))
    ):
        err(
            kpi.kpi_id,
            "baseline.notation",
            f"{b.notation!r} reads as {q.value}, but value is {b.value:g}",
        )
    if q.unit and q.unit != kpi.unit:
        err(
            kpi.kpi_id,
            "baseline.notation",
            f"{b.notation!r} is in {q.unit!r}, but the KPI's unit is {kpi.unit!r}",
        )
    if b.status is not None and q.placeholder != b.status:
        err(kpi.kpi_id, "baseline.notation", f"{b.notation!r} does not say {b.status}")


def _quantity(text, kpi, field, err, whole=False):
    try:
        q = parse_quantity(text)
    except NotationError as exc:
        err(kpi.kpi_id, field, str(exc))
        return None
    return q if whole else q.value


def _check_target(kpi, err) -> None:
    t = kpi.target
    if not t.notation:
        return
    try:
        rule = parse_target(t.notation)
    except NotationError as exc:
        err(kpi.kpi_id, "target.notation", str(exc))
        return
    if rule.kind != t.kind:
        err(
            kpi.kpi_id,
            "target.notation",
            f"{t.notation!r} reads as a {rule.kind} target, but kind is {t.kind}",
        )
        return
    if (
        t.kind in ("level", "cumulative")
        and rule.value is not None
        and abs(rule.value - t.value) > 1e-9 * max(1, abs(t.value))
    ):
        err(
            kpi.kpi_id,
            "target.notation",
            f"{t.notation!r} reads as {rule.value:g}, but value is {t.value:g}",
        )
    if t.kind in ("increase_pct", "decrease_pct") and rule.percent != t.percent:
        err(
            kpi.kpi_id,
            "target.notation",
            f"{t.notation!r} reads as {rule.percent}%, but percent is {t.percent}",
        )
    if t.kind == "cumulative" and rule.years is not None and rule.years != t.span.years:
        err(
            kpi.kpi_id,
            "target.notation",
            f"{t.notation!r} spans {rule.years} years, the window {t.span.years}",
        )
    if t.kind == "milestone" and rule.deadline is not None and rule.deadline != t.year:
        err(
            kpi.kpi_id,
            "target.notation",
            f"{t.notation!r} sets the deadline {rule.deadline}, but year is {t.year}",
        )
    if rule.unit and rule.unit != kpi.unit and t.kind in ("level", "cumulative"):
        err(
            kpi.kpi_id,
            "target.notation",
            f"{t.notation!r} is in {rule.unit!r}, but the KPI's unit is {kpi.unit!r}",
        )


def _check_series(catalog: Catalog, data_dir, err) -> None:
    public_dir = Path(data_dir) / "public"
    tables = PublicTables(public_dir)
    measures: dict[str, set[tuple[str, str]]] = {}
    for kpi in catalog.kpis:
        for i, spec in enumerate(kpi.public_series):
            field = f"public_series[{i}]"
            if not (public_dir / f"{spec.dataset}.csv.gz").exists():
                err(
                    kpi.kpi_id,
                    field,
                    f"the bundled data has no table {spec.dataset!r} (run `kpi ingest`)",
                )
                continue
            if spec.dataset not in measures:
                t = tables.table(spec.dataset)
                measures[spec.dataset] = set(zip(t["measure"], t["year_basis"], strict=True))
            known = measures[spec.dataset]
            if (spec.measure, spec.year_basis) not in known:
                same = sorted({m for m, _ in known})
                hint = (
                    f"it has {spec.measure!r} only as "
                    f"{'/'.join(sorted(b for m, b in known if m == spec.measure))}"
                    if spec.measure in same
                    else f"known measures: {', '.join(same[:12])}{' …' if len(same) > 12 else ''}"
                )
                err(
                    kpi.kpi_id,
                    f"{field}.measure",
                    f"{spec.dataset} has no {spec.year_basis} series {spec.measure!r}; {hint}",
                )
