"""`kpi catalog import`: one builder for the three layouts a strategy's KPI list comes in.

The readers (import_text.py for a strategy's text and for line lists, import_sheet.py for
spreadsheets) turn their layout into `RawKpi` items (import_source.py). This module makes
each one a catalog entry: its cells read through the notation parser and its direction
inferred, saying how (import_cells.py), a stable id from the structure, the entry checked
against the schema; and writes the catalog with the starter's writer. Whatever it cannot
read unambiguously it writes anyway, with `review: "<reason>"` on the indicator: nothing is
guessed silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from kpi_lib.catalog.model import Catalog, Kpi
from kpi_lib.core.errors import InputError
from kpi_lib.core.paths import DATA_DIR
from kpi_lib.observations.import_cells import (
    infer_direction,
    read_baseline,
    read_target,
    scaled_unit,
    without_heading,
)
from kpi_lib.observations.import_sheet import read_sheet
from kpi_lib.observations.import_source import RawKpi, SourceProblem, squash, strip_html
from kpi_lib.observations.import_text import read_text_layouts
from kpi_lib.observations.starter import kpi_yaml, town_name, write_catalog_text, yaml_flow

LETTERS = "abcdefghijklmnopqrstuvwxyz"


def build_kpi(raw: RawKpi, kpi_id: str, period: tuple[int, int]) -> dict:
    """The catalog entry of one indicator, valid against the schema, with its review."""
    reviews = list(raw.reviews)
    unit_hint = raw.unit.strip() if raw.unit and raw.unit.strip() else None
    baseline, q, bname = read_baseline(raw, reviews, unit_hint)
    target, rule, tname = read_target(raw, reviews, period, unit_hint)
    bname, tname = without_heading(raw, bname, tname, reviews)
    name = _name(raw, bname, tname, reviews)
    units = [u for u in (rule.unit if rule else None, q.unit if q else None) if u]
    unit = units[0] if units else (scaled_unit(unit_hint) or "")
    if len(set(units)) > 1:
        reviews.append(f"the baseline is in {units[1]}, the target in {units[0]}")
    if not unit and not (rule and rule.kind == "milestone"):
        reviews.append("no unit is written")
    if baseline is not None and baseline.get("year") is None:
        baseline["year"] = period[0] - 1
        reviews[reviews.index("no baseline year is written")] = (
            f"no baseline year is written: FY{period[0] - 1} (the year before the period) assumed"
        )
    if rule is None:
        direction, how, doubt = "increase", "the target cannot be read: taken as increase", None
    else:
        direction, how, doubt = infer_direction(rule, q)
    if doubt:
        reviews.append(doubt)
    fields = {
        "kpi_id": kpi_id,
        "goal": raw.goal,
        "numeric_goal": raw.numeric_goal or None,
        "measure": _measure(raw),
        "name_ja": name,
        "name_en": name,  # the import cannot translate; `name_en` is for the analyst to write
        "unit": unit,
        "direction": direction,
        "direction_inferred": how,
        "department": raw.department,
        "baseline": baseline,
        "target": target,
    }
    try:
        return _valid(fields, reviews, period)
    except SourceProblem as exc:
        raise SourceProblem(f"{raw.where}: {exc}") from None


def _name(raw: RawKpi, bname: str, tname: str, reviews: list[str]) -> str:
    if raw.name:
        return squash(raw.name)
    if bname and tname and bname != tname:
        reviews.append(
            f"the baseline cell names 「{bname}」, the target cell 「{tname}」: the first is kept"
        )
    name = bname or tname
    if not name:
        name = squash(strip_html(raw.title_ja))
        reviews.append("the strategy names no indicator: named after its measure (施策)")
    return name


def _measure(raw: RawKpi) -> dict:
    if raw.section is None:
        return {"title_ja": raw.title_ja}
    return {
        "section": raw.section,
        "section_ja": raw.section_ja,
        "number": raw.number,
        "title_ja": raw.title_ja,
    }


def _valid(fields: dict, reviews: list[str], period: tuple[int, int]) -> dict:
    """The entry as the schema accepts it: a target the schema refuses becomes a placeholder
    (「（仮）」 in reports), with the schema's reason under review."""
    for attempt in range(3):
        fields["review"] = "; ".join(dict.fromkeys(reviews)) or None
        try:
            Kpi.model_validate(_entry(fields))
            return fields
        except ValidationError as exc:
            reasons = "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
            if attempt == 0:
                reviews.append(f"the schema refuses what was read ({reasons})")
            t = fields["target"] or {}
            text = t.get("text") or ""
            b = fields["baseline"]
            year = t.get("year") or period[1]
            if b is not None and b.get("year") is not None and b["year"] > year:
                b["year"] = year
            fields["target"] = {
                "year": year,
                "kind": "milestone",
                "placeholder": True,
                "text": text or None,
            }
            fields["direction"] = "increase"
            fields["direction_inferred"] = "the target could not be used: taken as increase"
            if attempt == 1:
                fields["baseline"] = None
    # what is left is not the target but a text the schema refuses (a control character an
    # HTML entity spelled, say): the source's problem, named where it stands
    raise SourceProblem(
        "the indicator cannot be written as a valid catalog entry (a character or a text the "
        "catalog refuses); correct the source"
    )


def _entry(fields: dict) -> dict:
    """A KPI's fields as written: Nones left out, but `baseline: null` kept (it is required)."""
    return {k: _plain(v) for k, v in fields.items() if v is not None or k == "baseline"}


def _plain(fields):
    """The value without the Nones the YAML leaves out."""
    if isinstance(fields, dict):
        return {k: _plain(v) for k, v in fields.items() if v is not None}
    if isinstance(fields, list):
        return [_plain(v) for v in fields]
    return fields


def kpi_ids(raws: list[RawKpi]) -> list[str]:
    """Stable ids from the structure: G{goal}-{section}-{measure}, a letter for each of
    several indicators of one measure, G{goal}-0 for the numeric goal(s) ★."""
    keys = [(r.goal, r.section or 0, r.number if r.section else 0) for r in raws]
    counts: dict[tuple, int] = {}
    for k in keys:
        counts[k] = counts.get(k, 0) + 1
    seen: dict[tuple, int] = {}
    ids = []
    for k in keys:
        g, s, n = k
        base = f"G{g}-0" if s == 0 else f"G{g}-{s}-{n}"
        if counts[k] > 1:
            i = seen.get(k, 0)
            seen[k] = i + 1
            base += LETTERS[i] if i < len(LETTERS) else f"_{i + 1}"
        ids.append(base)
    return ids


@dataclass(frozen=True)
class ImportResult:
    """The written catalog and the indicators still to review (id, name, reason)."""

    catalog: Catalog
    reviews: list[tuple[str, str, str]]
    notices: list[str]


def import_catalog(
    source: str | Path,
    code: str,
    period: tuple[int, int],
    out: str | Path,
    data_dir: str | Path = DATA_DIR,
) -> ImportResult:
    """Read a strategy's KPI list in any of the three layouts and write its catalog to `out`."""
    source = Path(source)
    name = town_name(code, period[0], period[1], data_dir)
    try:
        found = (
            read_sheet(source)
            if source.suffix.lower() in (".xlsx", ".xlsm", ".csv")
            else read_text_layouts(source)
        )
        entries = [
            build_kpi(r, i, period) for r, i in zip(found.kpis, kpi_ids(found.kpis), strict=True)
        ]
    except SourceProblem as exc:
        raise InputError(str(source), str(exc)) from None
    if not found.kpis:
        raise InputError(
            str(source),
            "no indicators found: expected a strategy's text with tables headed 基準値(H30) / "
            "KPI(R6), lines 「指標名:基準値 → 目標値」, or a spreadsheet with a header row",
        )
    goals = dict(found.goals)
    for r in found.kpis:
        goals.setdefault(r.goal, f"基本目標{r.goal}")
    text = _catalog_text(source, code, name, period, goals, entries)
    if _checked(text, entries, str(source), data_dir):
        text = _catalog_text(source, code, name, period, goals, entries)
    catalog = write_catalog_text(text, out)
    reviews = [(e["kpi_id"], e["name_ja"], e["review"]) for e in entries if e.get("review")]
    return ImportResult(catalog, reviews, found.notices)


def _checked(text: str, entries: list[dict], file: str, data_dir) -> bool:
    """`kpi validate`'s checks of texts against values, run before writing: a problem goes
    under the indicator's review, and a notation that does not read back to the entry (a
    baseline in 人 for a target in 組) is left out so that the catalog validates. True if
    any was found."""
    import yaml

    from kpi_lib.observations.catalog_checks import check_catalog

    problems = check_catalog(Catalog.model_validate(yaml.safe_load(text)), file, data_dir)
    by_id = {e["kpi_id"]: e for e in entries}
    for p in problems:
        e = by_id[p.kpi_id or ""]
        e["review"] = "; ".join(filter(None, [e.get("review"), f"{p.column}: {p.problem}"]))
        part, _, name = (p.column or "").partition(".")
        if name == "notation" and isinstance(e.get(part), dict):
            e[part].pop("notation", None)
    return bool(problems)


def _catalog_text(source: Path, code, name, period, goals, entries) -> str:
    start, end = period
    open_reviews = sum(1 for e in entries if e.get("review"))
    strategy = {
        "municipality_code": code,
        "municipality_ja": name,
        "title_ja": f"{name} 総合戦略（{start}〜{end}年度）",
        "period": {"start": start, "end": end},
        "source": f"kpi catalog import: {source.name}",
    }
    head = [
        f"# KPI catalog of {name} ({code}), FY{start}–FY{end}, imported by `kpi catalog "
        f"import` from {yaml_flow(source.name)}.",
        "# Every `text` is the source's cell as written, every `notation` the part of it "
        "that was read.",
        "# `direction_inferred` says how each direction was inferred; `name_en` repeats the "
        "Japanese name",
        f"# until translated. {open_reviews} indicator(s) carry `review:` — check each, "
        "fix the entry and",
        "# remove the line; then `kpi validate FILE.yaml` (docs/catalog.md).",
        "schema_version: 1",
        "strategy:",
        *(f"  {k}: {yaml_flow(v)}" for k, v in strategy.items()),
        "goals:",
        *(f"  - {yaml_flow({'goal': g, 'title_ja': goals[g]})}" for g in sorted(goals)),
        "",
        "kpis:",
    ]
    return "\n".join(head) + "\n" + "\n".join(kpi_yaml(_entry(e)) for e in entries)
