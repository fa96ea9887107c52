"""`kpi catalog import`: one builder for the three layouts a strategy's KPI list comes in.

The readers (import_text.py for a strategy's text and for line lists, import_sheet.py for
spreadsheets) turn their layout into `RawKpi` items: the cells as written, where they
stand in the strategy (goal, section, measure and the strategy's own numbers) and the
years their headers give. This module reads every number of them through the notation
parser (kpi_lib.catalog.notation), infers the direction and says how, generates stable ids
from the structure and writes the catalog with the starter's writer. Whatever it cannot
read unambiguously it writes anyway, with `review: "<reason>"` on the indicator: nothing
is guessed silently.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from kpi_lib.catalog.model import Catalog, Kpi
from kpi_lib.catalog.notation import (
    NotationError,
    Quantity,
    TargetRule,
    parse_quantity,
    parse_target,
)
from kpi_lib.core.errors import InputError
from kpi_lib.core.limits import MAX_CSV_BYTES
from kpi_lib.core.paths import DATA_DIR
from kpi_lib.observations.starter import kpi_yaml, town_name, write_catalog_text, yaml_flow

MAX_INPUT_BYTES = MAX_CSV_BYTES  # a strategy's KPI list is kilobytes; refuse before reading more
LETTERS = "abcdefghijklmnopqrstuvwxyz"
# A value is short: at most 8 words and 80 characters ('2024年度 (令和6年度) 中の計画策定');
# a value cell is read up to its 200th word.
MAX_RUN, MAX_VALUE, MAX_TOKENS = 8, 80, 200


@dataclass
class RawKpi:
    """One indicator as a reader found it, before any number is read."""

    goal: int
    section: int | None  # None: a basic goal's numeric goal (★)
    section_ja: str | None
    number: int | None
    title_ja: str  # the measure's title (数値目標 for ★)
    baseline_cell: str | None  # None: the strategy gives no baseline
    target_cell: str
    baseline_year: int | None
    target_year: int | None
    where: str  # 'line 18', 'row 5': for messages
    name: str | None = None  # where the layout gives it apart from the value cells
    unit: str | None = None  # a unit column's entry
    department: str | None = None
    numeric_goal: bool = False
    reviews: list[str] = field(default_factory=list)


@dataclass
class Imported:
    """What a reader found: goals (number → title), indicators and notices for the user."""

    goals: dict[int, str]
    kpis: list[RawKpi]
    notices: list[str] = field(default_factory=list)


class SourceProblem(ValueError):
    """Something in the source the import cannot write into a catalog; `import_catalog` names
    the file."""


def source_text(path: Path) -> str:
    """A text source (strategy text, line list, CSV) as text, in UTF-8 or Shift_JIS; a control
    character or a bidirectional override is refused with its line (a catalog may hold none)."""
    from kpi_lib.core.limits import control_character
    from kpi_lib.observations.entry_files import decode_csv

    text = decode_csv(path)
    for number, line in enumerate(text.splitlines(), start=1):
        if found := control_character(line):
            raise InputError(
                str(path), f"line {number}: the control character {found}; remove it and retry"
            )
    return text


def read_bounded(path: Path) -> bytes:
    """The file's bytes, refused if missing, too large or binary."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InputError(str(path), "file not found") from None
    if not path.is_file():
        raise InputError(str(path), "not a regular file")
    if size > MAX_INPUT_BYTES:
        raise InputError(
            str(path),
            f"{size:,} bytes is too large for a KPI list (at most {MAX_INPUT_BYTES:,}); "
            "give the KPI chapter only",
        )
    try:
        with path.open("rb") as fh:
            return fh.read(MAX_INPUT_BYTES + 1)
    except OSError as exc:  # permission denied, a disk error
        raise InputError(str(path), f"cannot read it: {exc.strerror or exc}") from None


def strip_html(text: str) -> str:
    """Cell text without the HTML fragments PDF extraction leaves (<p>, <ul …>); an entity
    that spells a control character (&#x202e;) is refused like the character itself."""
    from kpi_lib.core.limits import control_character

    plain = html.unescape(re.sub(r"<[^>]{0,200}>", " ", text))
    if found := control_character(plain):
        raise SourceProblem(f"「{text[:40]}」 spells the control character {found}")
    return plain


def squash(text: str) -> str:
    """PDF layout spaces removed: a space stays only between two Latin letters or digits
    ('新規林業従事者 数' is 新規林業従事者数, '照明の LED 化率' 照明のLED化率)."""
    text = re.sub(r"(?<![A-Za-z0-9])\s+|\s+(?![A-Za-z0-9])", "", text.strip())
    return re.sub(r"\s+", " ", text)


def _tokens(cell: str) -> list[str]:
    """A value cell's words; a value cell is short, so words past MAX_TOKENS are not read."""
    return strip_html(cell[: MAX_TOKENS * 40]).split()[:MAX_TOKENS]


def _long(cell: str, what: str, reviews: list[str]) -> None:
    if len(cell) > MAX_TOKENS * 40 or len(cell.split()) > MAX_TOKENS:
        reviews.append(f"the {what} cell is longer than a value cell: read up to its 200th word")


def _quote(text: str) -> str:
    """A cell quoted in a review: 「…」, cut at 60 characters."""
    text = squash(strip_html(text[:2000]))
    return f"「{text[:60]}{'…' if len(text) > 60 else ''}」"


def _first(tokens: list[str], parse, start: int = 0, longest: bool = True):
    """The first place from `start` where a run of tokens parses: (i, j, glued, text, parsed).

    A target takes the longest run from the leftmost token that starts one ('5年後に10%
    増加', not '5年後に10%'); a quantity stops at its unit, taking in only Latin or digit
    tokens after it ('8,386.607 kg-CO ₂', but '19人' of '19人 星槎大学'). Within a token, a
    number may be glued to the name before it ('販売額106,043千円'). A value is short: runs of
    more than MAX_RUN tokens or MAX_VALUE characters are not tried (hostile cells cost little)."""
    for i in range(start, len(tokens)):
        word = tokens[i]
        heads = [
            (word[k:], word[:k])
            for k in range(max(0, len(word) - MAX_VALUE), len(word))
            if k == 0 or (re.match(r"[全△▲\d]", word[k]) and not re.match(r"[\d,.]", word[k - 1]))
        ]
        last = min(len(tokens), i + MAX_RUN)
        for head, glued in heads:
            ends = range(last, i, -1) if longest else range(i + 1, last + 1)
            best = None
            for j in ends:
                text = " ".join([head, *tokens[i + 1 : j]])
                if len(text) > MAX_VALUE:
                    continue
                try:
                    parsed = parse(text)
                except NotationError:
                    continue
                if longest:
                    return i, j, glued, text, parsed
                best = (i, j, glued, text, parsed)
                latin_next = j < len(tokens) and re.fullmatch(
                    r"[A-Za-z0-9\-]+", unicodedata.normalize("NFKC", tokens[j])
                )
                if parsed.unit and not latin_next:
                    break
            if best is not None:
                return best
    return None


@dataclass
class _Value:
    name: str  # the words before the value ('' if none)
    notation: str
    parsed: Quantity | TargetRule
    extra: list[tuple[str, str, Quantity]]  # more values in the same cell: (name, notation, q)
    lead: list[str]  # the name's tokens, for comparing two cells


def _read_cell(cell: str, parse) -> _Value | None:
    """A value cell: its name part and the value, and any further values in it."""
    tokens = _tokens(cell)
    found = _first(tokens, parse, longest=parse is not parse_quantity)
    if found is None:
        return None
    i, j, glued, text, parsed = found
    lead = tokens[:i] + ([glued] if glued else [])
    extra = []
    rest = j
    while rest < len(tokens):
        more = _first(tokens, parse_quantity, rest, longest=False)
        if more is None:
            break
        k, m, g, t, q = more
        extra.append((squash(" ".join(tokens[rest:k] + ([g] if g else []))), t, q))
        rest = m
    return _Value(squash(" ".join(lead)), text, parsed, extra, lead)


def _split_first_component(lead: list[str]) -> tuple[str, str] | None:
    """'北日本自動車 大学校入学者 及び星槎大学 入学者 北日本自動車 大学校': the indicator's name
    and the first component's, where the component's name repeats words of the indicator's."""
    for k in range(1, len(lead)):
        head, tail = squash(" ".join(lead[:k])), squash(" ".join(lead[k:]))
        if tail and tail in head:
            return head, tail
    return None


def _baseline(raw: RawKpi, reviews: list[str], unit_hint: str | None):
    """(baseline dict or None, its quantity or None, the name its cell gives)."""
    if raw.baseline_cell is None or not raw.baseline_cell.strip():
        return None, None, ""
    cell = raw.baseline_cell.strip()
    v = _read_cell(cell, parse_quantity)
    year = raw.baseline_year
    if v is not None and v.parsed.unit is None and unit_hint and v.parsed.value is not None:
        try:  # a bare number beside a unit column: the text is the cell and its unit
            v.parsed = parse_quantity(v.notation + unit_hint)
            v.notation = v.notation + unit_hint
            cell = cell + unit_hint
        except NotationError:
            pass
    if year is None:
        reviews.append("no baseline year is written")
    _long(cell, "baseline", reviews)
    if v is None:
        reviews.append(
            f"the baseline {_quote(cell)} has no readable value"
            + _why(" ".join(_tokens(cell)), parse_quantity)
        )
        return {"year": year, "status": "none", "text": cell}, None, ""
    q = v.parsed
    assert isinstance(q, Quantity)
    b: dict = {"year": year}
    if v.extra:
        parts = [(v.name, v.notation, q), *v.extra]
        split = _split_first_component(v.lead)
        units = {p[2].unit for p in parts}
        if split is None or len(units) != 1 or any(p[2].value is None for p in parts):
            shown = ", ".join(p[1] for p in parts)
            reviews.append(
                f"the baseline cell holds {len(parts)} values ({shown}): two indicators in "
                "one cell? only the first is read"
            )
        else:
            name, first = split
            parts[0] = (first, v.notation, q)
            total = float(f"{sum(p[2].value or 0 for p in parts):.12g}")
            b.update(
                value=total,
                components=[{"name_ja": n, "value": p.value, "notation": t} for n, t, p in parts],
                text=cell,
            )
            reviews.append(
                "the baseline cell holds "
                + " + ".join(f"{n} {t}" for n, t, _ in parts)
                + f": read as the parts of one total {total:g}; check it is one indicator"
            )
            return b, Quantity(total, q.unit), name
    if q.placeholder:
        b["status"] = q.placeholder
    elif q.is_range:
        b["range"] = {"low": q.low, "high": q.high}
    else:
        b["value"] = q.value
        if q.per_year:
            b["per_year"] = True
    b.update(notation=v.notation, text=cell)
    return b, q, v.name


def _target(raw: RawKpi, reviews: list[str], period: tuple[int, int], unit_hint: str | None):
    """(target dict or None, the rule, the name its cell gives)."""
    cell = (raw.target_cell or "").strip()
    v = _read_cell(cell, parse_target) if cell else None
    if v is None:
        reviews.append(
            f"the target {_quote(cell)} cannot be read"
            + _why(" ".join(_tokens(cell)), parse_target)
        )
        return None, None, ""
    _long(cell, "target", reviews)
    rule = v.parsed
    assert isinstance(rule, TargetRule)
    if rule.kind in ("level", "cumulative") and rule.unit is None and unit_hint:
        try:
            rule = parse_target(v.notation + unit_hint)
            v.notation += unit_hint
            cell = cell + unit_hint
        except NotationError:
            pass
    if v.extra:
        reviews.append(
            f"the target cell holds more than one value ({v.notation}, "
            + ", ".join(t for _, t, _ in v.extra)
            + "): only the first is read"
        )
    if re.search(r"\d", v.name) and _first(v.lead, parse_quantity, longest=False):
        reviews.append(f"the target cell holds another value before 「{v.notation}」")
    year = raw.target_year
    if rule.kind == "milestone":
        year = rule.deadline
    if year is None:
        year = period[1]
    t: dict = {"year": year, "kind": rule.kind}
    if rule.kind == "level":
        t.update(value=rule.value, comparator=rule.comparator)
    elif rule.kind in ("increase_pct", "decrease_pct"):
        t.update(percent=rule.percent, approximate=rule.approximate or None)
    elif rule.kind == "cumulative":
        years = rule.years or (year - period[0] + 1)
        t.update(
            value=rule.value,
            comparator=rule.comparator,
            approximate=rule.approximate or None,
            window={"start": year - years + 1, "end": year},
        )
        if rule.years is None:
            reviews.append(
                f"the cumulative target names no window; the period's {year - years + 1}–"
                f"{year} assumed"
            )
    elif rule.kind == "benchmark":
        t.update(benchmark=rule.benchmark, comparator=rule.comparator)
    t.update(notation=v.notation, text=cell)
    return t, rule, v.name


def _why(text: str, parse) -> str:
    """The parser's reason for refusing the cell's last word ('thousands separators every three
    digits'), where there is one."""
    words = text.split() or [text]
    try:
        parse(words[-1])
    except NotationError as exc:
        return f" (expected {exc.expected})"
    return ""


def _direction(rule: TargetRule, q: Quantity | None) -> tuple[str, str, str | None]:
    """(direction, how it was inferred, a review reason if it is a guess)."""
    kind, cmp = rule.kind, rule.comparator
    if kind == "maintain":
        return "maintain", "the target says to hold the baseline (維持)", None
    if kind == "increase_pct":
        return "increase", "the target is a % increase (増加)", None
    if kind == "decrease_pct":
        return "decrease", "the target is a % reduction (削減・減少)", None
    if kind == "milestone":
        return "increase", "a milestone: done by the target year", None
    if cmp in ("<=", "<"):
        return "decrease", "the target is an upper bound (以下・未満)", None
    base = q.value if q is not None else None
    if kind == "benchmark":
        return "increase", "the target is to reach the average (平均以上)", None
    if kind == "cumulative":
        return "increase", "the target is a total over the years (累計)", None
    if base is None or rule.value is None:
        if cmp in (">=", ">"):
            return "increase", "the target is a lower bound (以上)", None
        return (
            "increase",
            "no baseline to compare the target with: taken as increase",
            "the direction cannot be told without a baseline: taken as increase",
        )
    if rule.value == base:
        return "maintain", f"the target {rule.value:,.12g} equals the baseline", None
    if cmp in (">=", ">") and rule.value < base:
        return (
            "maintain",
            f"the target is a floor ({rule.value:,.12g} 以上) below the baseline",
            None,
        )
    if rule.value > base:
        return "increase", f"the target {rule.value:,.12g} is above the baseline {base:,.12g}", None
    return "decrease", f"the target {rule.value:,.12g} is below the baseline {base:,.12g}", None


def build_kpi(raw: RawKpi, kpi_id: str, period: tuple[int, int]) -> dict:
    """The catalog entry of one indicator, valid against the schema, with its review."""
    reviews = list(raw.reviews)
    unit_hint = raw.unit.strip() if raw.unit and raw.unit.strip() else None
    baseline, q, bname = _baseline(raw, reviews, unit_hint)
    target, rule, tname = _target(raw, reviews, period, unit_hint)
    bname, tname = _without_heading(raw, bname, tname, reviews)
    name = _name(raw, bname, tname, reviews)
    units = [u for u in (rule.unit if rule else None, q.unit if q else None) if u]
    unit = units[0] if units else (_scaled_unit(unit_hint) or "")
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
        direction, how, doubt = _direction(rule, q)
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


def _without_heading(raw: RawKpi, bname: str, tname: str, reviews: list[str]):
    """Cells that both begin with the same phrase and then name the indicator differently
    ('全国学力学習 状況調査の結果を全国平均まで引き上げ 全国学力テスト …'): the phrase is a
    heading, not the name."""
    if not (bname and tname) or bname == tname:
        return bname, tname
    a, b = _tokens(raw.baseline_cell or ""), _tokens(raw.target_cell or "")
    k = 0
    while k < min(len(a), len(b)) and a[k] == b[k]:
        k += 1
    if k == 0:
        return bname, tname
    head = squash(" ".join(a[:k]))
    if not (bname.startswith(head) and tname.startswith(head)):
        return bname, tname
    rest_b, rest_t = bname[len(head) :], tname[len(head) :]
    if not (rest_b and rest_t):
        return bname, tname
    reviews.append(f"both cells begin with 「{head}」: read as a heading, not the name")
    return rest_b, rest_t


def _scaled_unit(unit: str | None) -> str | None:
    if not unit:
        return None
    try:
        return parse_quantity("1" + unit).unit or unit
    except NotationError:
        return unit


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
    from kpi_lib.observations.import_sheet import read_sheet
    from kpi_lib.observations.import_text import read_text_layouts

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
