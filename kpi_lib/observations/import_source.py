"""What a reader of `kpi catalog import` hands the builder (import_build.py), and the source
read within bounds.

The readers (import_text.py for a strategy's text and for line lists, import_sheet.py for
spreadsheets) turn their layout into `RawKpi` items: the cells as written, where they
stand in the strategy (goal, section, measure and the strategy's own numbers) and the
years their headers give. They read the source through `read_bounded` / `source_text`
(size, binary data, encodings, control characters) and clean its cells with `strip_html`
and `squash`.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path

from kpi_lib.core.errors import InputError
from kpi_lib.core.limits import MAX_CSV_BYTES

MAX_INPUT_BYTES = MAX_CSV_BYTES  # a strategy's KPI list is kilobytes; refuse before reading more


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


ROMAN = "ⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩ"


def roman_goal(text: str, prefix: str = "基本目標") -> str:
    """'基本目標Ⅱ …' as '基本目標2 …': a basic goal numbered in Roman numerals, after
    `prefix` (a regular expression), in digits."""
    return re.sub(
        rf"^({prefix}\s*)([{ROMAN}])",
        lambda m: m[1] + str(ROMAN.index(m[2]) + 1),
        text,
    )
