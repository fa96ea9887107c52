"""Readers of a strategy's KPI list as text, for `kpi catalog import` (import_build.py).

Two layouts:

* the strategy's text as extracted from its PDF: 基本目標 headings, ★ numeric goals
  (「★ 指標名：5年間で200人」), numbered measure sections (「1. 農業振興事業」) and
  tab-separated tables headed 具体的な施策 / 基準値(H30) / KPI(R6), the years changing from
  table to table, a measure cell (「①…」, HTML fragments and all) beside its baseline and
  target cells, an empty measure cell for a measure's further indicators;
* a line list: 「指標名:基準値 → 目標値」 under numbered headings (基本目標 / 1. / (1) / ①,
  whichever the list uses, outermost first), years in brackets beside a value or in a line
  「基準値(R5) → 目標値(R11)」, 「―」 for no baseline.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from kpi_lib.catalog.model import CIRCLED
from kpi_lib.catalog.notation import NotationError, parse_year
from kpi_lib.core.errors import InputError
from kpi_lib.observations.import_source import (
    Imported,
    RawKpi,
    read_bounded,
    roman_goal,
    source_text,
    squash,
    strip_html,
)

_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
GOAL_RE = re.compile(r"^基本目標\s*(?P<n>\d{1,2})\s*[:：.．、]?\s*(?P<title>.*)$")
STAR_RE = re.compile(r"^★\s*(?P<name>.+?)\s*[:：]\s*(?P<target>.+)$")
SECTION_RE = re.compile(r"^(?P<n>\d{1,2})\s*[.．]\s*(?P<title>\S.*)$")
PAREN_RE = re.compile(r"^[(（]\s*(?P<n>\d{1,2})\s*[)）]\s*(?P<title>\S.*)$")
CIRCLED_RE = re.compile(rf"^(?P<c>[{CIRCLED}])\s*(?P<title>.*)$", re.S)
# 基準値(H30) / 現状値（R4） / KPI (R6) / 目標値(R11)
YEAR_IN = r"[(（]\s*(?P<y>[^()（）]{1,12})\s*[)）]"
BASE_HEAD = re.compile(rf"(基準値|現状値|基準|現状)\s*{YEAR_IN}")
TARGET_HEAD = re.compile(rf"(KPI|ＫＰＩ|目標値|目標)\s*{YEAR_IN}")
ARROW = re.compile(r"\s*(?:→|⇒|->|➡|＞)\s*")


def read_text_layouts(path: Path) -> Imported:
    """A strategy's text or a line list, told apart by their shape."""
    raw = read_bounded(path)
    if path.suffix.lower() == ".pdf" or raw[:4] == b"%PDF":
        raise InputError(
            str(path),
            "a PDF: give the text extracted from it instead (each table row on one line, "
            "its cells separated by tabs), or the KPI list as .xlsx/.csv",
        )
    if path.suffix.lower() == ".xls":
        raise InputError(str(path), "an old .xls workbook: save it as .xlsx (or .csv) first")
    if b"\x00" in raw[:65536]:
        raise InputError(
            str(path),
            "binary data, not text: give the strategy's text (a PDF's text as extracted, "
            "UTF-8 or Shift_JIS), a line list or an .xlsx/.csv KPI list",
        )
    text = source_text(path)
    lines = text.splitlines()
    if any("\t" in line and BASE_HEAD.search(line) for line in lines):
        return read_strategy_text(lines, str(path))
    if any(ARROW.search(line) for line in lines):
        return read_line_list(lines, str(path))
    raise InputError(
        str(path),
        "no KPI table or KPI line found: expected tab-separated tables headed "
        "具体的な施策 / 基準値(H30) / KPI(R6), or lines 「指標名:基準値 → 目標値」",
    )


def _year(text: str, file: str, where: str) -> int:
    try:
        return parse_year(text).year
    except NotationError as exc:
        raise InputError(file, f"{where}: {exc}") from None


def _heading(title: str) -> str:
    return squash(strip_html(title))


@dataclass
class _Place:
    """Where the reader stands in a strategy's text: the goal, the section (and the numbers
    used so far), the current table's years and columns, and the measure of its rows."""

    goal: int | None = None
    section: int | None = None
    section_ja: str | None = None
    used: set[int] = field(default_factory=set)
    years: tuple[int, int] | None = None
    measure: tuple[int | None, str] | None = None
    review_section: str | None = None
    columns: tuple[int | None, int, int] = (None, 1, 2)  # name, baseline, target


def read_strategy_text(lines: list[str], file: str) -> Imported:
    """The KPI chapter of a strategy as extracted from its PDF (the seed file's layout)."""
    found = Imported({}, [])
    at = _Place()
    for no, line in enumerate(lines, start=1):
        plain = roman_goal(line.strip().translate(_DIGITS))  # 基本目標Ⅱ
        if "\t" not in line:
            _heading_line(plain, line, no, at, found)
            continue
        cells = [c.strip() for c in line.split("\t")]
        while cells and not cells[-1]:
            cells.pop()
        head = "\t".join(cells)
        if (b := BASE_HEAD.search(head)) and (t := TARGET_HEAD.search(head)):
            at.years = (
                _year(b["y"], file, f"line {no}, baseline header"),
                _year(t["y"], file, f"line {no}, target header"),
            )
            at.columns = _columns(cells)
            continue
        _table_row(cells, no, at, found)
    _number_unnumbered(found)
    return found


def _heading_line(plain: str, line: str, no: int, at: _Place, found: Imported) -> None:
    """A line outside the tables: a basic goal's heading, a ★ numeric goal or a numbered
    measure section (with the strategy's numbering slips renumbered); other text is prose. A ★
    goal before any basic goal's heading is named in the notices, not taken."""
    if m := GOAL_RE.match(plain):
        at.goal, at.section, at.used, at.years, at.measure = int(m["n"]), None, set(), None, None
        found.goals[at.goal] = _heading(m["title"])
    elif at.goal is not None and (m := STAR_RE.match(plain)):
        found.kpis.append(
            RawKpi(
                at.goal,
                None,
                None,
                None,
                "数値目標",
                None,
                line.strip(),
                None,
                None,
                f"line {no}",
                name=m["name"],
                numeric_goal=True,
            )
        )
    elif at.goal is not None and (m := SECTION_RE.match(plain)):
        at.section, at.section_ja = int(m["n"]), _heading(m["title"])
        at.years, at.measure = None, None
        at.review_section = None
        if at.section in at.used:  # a numbering slip of the strategy: the next free number
            written, at.section = at.section, max(at.used) + 1
            at.review_section = (
                f"the strategy numbers this section {written}. after section "
                f"{max(at.used - {at.section})}; numbered {at.section} here"
            )
        at.used.add(at.section)
    elif at.goal is None and STAR_RE.match(plain):
        found.notices.append(f"line {no}: a ★ numeric goal before any 基本目標 heading, left out")


def _table_row(cells: list[str], no: int, at: _Place, found: Imported) -> None:
    """A row of a KPI table: its measure cell (or the measure above it), and the name,
    baseline and target cells where the table's header puts them."""
    if at.goal is None or at.section is None or len(cells) < 2:
        found.notices.append(f"line {no}: a table row outside a goal's section, left out")
        return
    if cells[0]:
        at.measure = _measure_cell(cells[0])
    if at.measure is None:
        found.notices.append(f"line {no}: a row without its measure (施策), left out")
        return
    number, title = at.measure
    reviews = [at.review_section] if at.review_section else []
    if number is None:
        reviews.append("the measure cell has no number (①…)")
    if at.years is None:
        reviews.append("the table has no header with the baseline and target years")
    name_col, base_col, target_col = at.columns
    name = cells[name_col] if name_col is not None and name_col < len(cells) else None
    values = [cells[c] if c < len(cells) else "" for c in (base_col, target_col)]
    if len(cells) > max(c for c in at.columns if c is not None) + 1:
        reviews.append(
            f"the row has {len(cells)} cells, more than its header: extra cells left out"
        )
    found.kpis.append(
        RawKpi(
            at.goal,
            at.section,
            at.section_ja,
            number or 0,
            title,
            values[0],
            values[1],
            at.years[0] if at.years else None,
            at.years[1] if at.years else None,
            f"line {no}",
            name=name or None,
            reviews=reviews,
        )
    )


NAME_HEAD = re.compile(r"^(指標|指標名|KPI|ＫＰＩ|成果指標|重要業績評価指標|評価指標)$")


def _columns(cells: list[str]) -> tuple[int | None, int, int]:
    """Where a table's header puts the indicator's name (if in its own column), the baseline
    and the target: 具体的な施策 / 基準値(H30) / KPI(R6), or 施策 / 指標 / 基準値 / 目標値."""
    base = next((i for i, c in enumerate(cells) if BASE_HEAD.search(c)), 1)
    target = next((i for i, c in enumerate(cells) if TARGET_HEAD.search(c) and i != base), base + 1)
    name = next((i for i, c in enumerate(cells) if NAME_HEAD.match(squash(c))), None)
    return name, base, target


def _measure_cell(cell: str) -> tuple[int | None, str]:
    """'①農業の振興及び経営基盤の安定化 関係団体との…' → (1, the title): the title is the
    first paragraph (<p>) or the words before the first space between two Japanese words."""
    paragraphs = re.findall(r"<p>(.*?)</p>", cell, re.S)
    text = strip_html(paragraphs[0] if paragraphs else cell).strip()
    lead = strip_html(cell[: cell.find("<p>")]).strip() if paragraphs else ""
    if len(lead) == 1 and lead in CIRCLED and not CIRCLED_RE.match(text):
        text = lead + text  # '②<p>関係人口の創出</p>…': the number stands before the paragraph
    m = CIRCLED_RE.match(text)
    number = CIRCLED.index(m["c"]) + 1 if m else None
    rest = m["title"] if m else text
    if not paragraphs:
        split = re.search(r"(?<=[^\sA-Za-z0-9])\s+(?=[^\sA-Za-z0-9<])", rest)
        rest = rest[: split.start()] if split else rest
    return number, squash(rest)


def _number_unnumbered(found: Imported) -> None:
    """Measures without a ① number get the next number of their section."""
    for r in found.kpis:
        if r.section is not None and not r.number:
            same = [k.number or 0 for k in found.kpis if (k.goal, k.section) == (r.goal, r.section)]
            r.number = max(same) + 1


# ── line lists ────────────────────────────────────────────────────────────────────────────

_STYLES = (
    ("goal", GOAL_RE),
    ("dot", SECTION_RE),
    ("paren", PAREN_RE),
    ("circled", CIRCLED_RE),
)
YEAR_TOKEN = re.compile(
    r"[(（]\s*(?P<y>(?:\d{4}|(?:令和|平成|R|H)(?:\d{1,2}|元))(?:年度|年)?)\s*[)）]"
)


def read_line_list(lines: list[str], file: str) -> Imported:
    """「指標名:基準値 → 目標値」 lines under numbered headings."""
    found = Imported({}, [])
    styles: list[str] = []  # heading styles in order of first use: goal, section, measure
    numbers: dict[str, tuple[int, str]] = {}
    default_years: list[int | None] = [None, None]
    for no, line in enumerate(lines, start=1):
        plain = unicodedata.normalize("NFC", line).strip().translate(_DIGITS)
        if not plain:
            continue
        if ARROW.search(plain) and not re.search(r"[:：]", plain):
            sides = ARROW.split(plain, maxsplit=1)  # 「基準値(R5) → 目標値(R11)」
            ys = [YEAR_TOKEN.search(s) for s in sides]
            if all(ys):
                default_years = [_year(y["y"], file, f"line {no}") for y in ys if y]
                continue
        style = next(((s, m) for s, rx in _STYLES if (m := rx.match(plain))), None)
        if style and not ARROW.search(plain):
            s, m = style
            if s not in styles:
                styles.append(s)
            level = styles.index(s)
            n = CIRCLED.index(m["c"]) + 1 if s == "circled" else int(m["n"])
            numbers[["goal", "section", "measure"][min(level, 2)]] = (n, _heading(m["title"]))
            for deeper in ("section", "measure")[level:]:
                numbers.pop(deeper, None)
            if level == 0:
                found.goals[n] = _heading(m["title"]) or f"基本目標{n}"
            continue
        m = re.match(r"^(?P<star>★)?\s*(?P<name>[^:：]+?)\s*[:：]\s*(?P<rest>.+)$", plain)
        if not m or not ARROW.search(m["rest"]):
            if ARROW.search(plain):
                found.notices.append(f"line {no}: no 「指標名:」 before the values, left out")
            elif m or plain.startswith("★"):  # it reads like an indicator: say it was not taken
                found.notices.append(
                    f"line {no}: 「{plain[:40]}」 has no 「基準値 → 目標値」, left out"
                )
            continue
        base, target = ARROW.split(m["rest"], maxsplit=1)
        base, by = _side_year(base, file, no)
        target, ty = _side_year(target, file, no)
        goal = numbers.get("goal", (1, ""))[0]
        star = bool(m["star"])
        section, section_ja = numbers.get("section", (None, None)) if not star else (None, None)
        measure = numbers.get("measure")
        if not star and section is None:
            section, section_ja = 1, None
        if not star and measure is None:
            same = [k for k in found.kpis if (k.goal, k.section) == (goal, section)]
            measure = (len(same) + 1, squash(m["name"]))
        found.kpis.append(
            RawKpi(
                goal,
                section,
                section_ja,
                measure[0] if measure and not star else None,
                "数値目標" if star else (measure[1] if measure else squash(m["name"])),
                base,
                target,
                by or default_years[0],
                ty or default_years[1],
                f"line {no}",
                name=m["name"],
                numeric_goal=star,
            )
        )
    return found


def _side_year(text: str, file: str, no: int) -> tuple[str, int | None]:
    """A value with its year in brackets beside it: ('1.4人/年', 2023) from '1.4人/年（R5）'."""
    m = YEAR_TOKEN.search(text)
    if not m:
        return text.strip(), None
    return (text[: m.start()] + text[m.end() :]).strip(), _year(m["y"], file, f"line {no}")
