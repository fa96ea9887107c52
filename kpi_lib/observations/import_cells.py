"""The value cells of `kpi catalog import` read through the notation parser
(kpi_lib.catalog.notation): a cell's name part, its value and any further values in it; the
baseline and the target as catalog entries, with what could not be read under review; the
direction inferred from them and how.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from kpi_lib.catalog.notation import (
    NotationError,
    Quantity,
    TargetRule,
    parse_quantity,
    parse_target,
)
from kpi_lib.observations.import_source import RawKpi, squash, strip_html

# A value is short: at most 8 words and 80 characters ('2024年度 (令和6年度) 中の計画策定');
# a value cell is read up to its 200th word.
MAX_RUN, MAX_VALUE, MAX_TOKENS = 8, 80, 200


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


def read_baseline(raw: RawKpi, reviews: list[str], unit_hint: str | None):
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


def read_target(raw: RawKpi, reviews: list[str], period: tuple[int, int], unit_hint: str | None):
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


def infer_direction(rule: TargetRule, q: Quantity | None) -> tuple[str, str, str | None]:
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


def without_heading(raw: RawKpi, bname: str, tname: str, reviews: list[str]):
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


def scaled_unit(unit: str | None) -> str | None:
    """A unit column's entry as the notation parser scales it ('千円' → '円'); as written where
    the parser cannot read it."""
    if not unit:
        return None
    try:
        return parse_quantity("1" + unit).unit or unit
    except NotationError:
        return unit
