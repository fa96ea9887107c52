"""Reader of a spreadsheet KPI list (.xlsx or .csv) for `kpi catalog import` (import_build.py).

The header row is in the town's own words: the indicator (指標 / 指標名 / KPI / 成果指標),
the baseline (基準値 / 現状値) and its year (its own column such as 現状値の時点 「2022年度
（R4）」, or in the header 「基準値（R4）」), the target (目標値) and its year (目標年度 or
in the header), and optionally 単位, 基本目標, 施策, 担当課. A column it does not
understand is named with the wordings it does. CSV may be UTF-8 (with or without BOM) or
Shift_JIS (cp932). Formula cells are refused: the value a formula shows is not stored
reliably, and a KPI list should hold the figures themselves.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

from kpi_lib.catalog.notation import NotationError, parse_year
from kpi_lib.core.errors import InputError
from kpi_lib.core.limits import MAX_ROWS, MAX_XLSX_UNCOMPRESSED, check_cell
from kpi_lib.observations.import_source import Imported, RawKpi, read_bounded, source_text, squash

MAX_UNZIPPED = MAX_XLSX_UNCOMPRESSED  # an xlsx is a zip: bound what it can decompress to

# Column roles and the header wordings that name them (compared without spaces, brackets
# and their content, full-width letters folded).
ROLES: dict[str, tuple[str, ...]] = {
    "name": (
        "指標",
        "指標名",
        "KPI",
        "KPI名",
        "成果指標",
        "重要業績評価指標",
        "評価指標",
        "KPI指標",
    ),
    "baseline": ("基準値", "現状値", "現状", "基準", "当初値"),
    "baseline_year": (
        "基準年度",
        "基準年",
        "基準値の時点",
        "現状値の時点",
        "基準値の年度",
        "現状値の年度",
        "基準値年度",
        "現状値年度",
        "基準時点",
        "時点",
    ),
    "target": ("目標値", "目標", "KPI目標値", "目標数値"),
    "target_year": ("目標年度", "目標年", "目標値の年度", "目標値の時点", "目標時点", "目標値年度"),
    "unit": ("単位",),
    "goal": ("基本目標", "基本目標名", "基本目標番号"),
    "measure": ("施策", "具体的な施策", "施策名", "主な施策", "事業", "事業名", "具体的施策"),
    "department": ("担当課", "所管課", "担当部署", "担当部局", "所管部署", "担当", "所管"),
    "number": ("No", "No.", "番号", "項番", "NO"),
}
ROLE_HELP = (
    "指標名 (or 指標, KPI, 成果指標), 基準値 (or 現状値), 基準年度 (or 現状値の時点), 目標値, "
    "目標年度, 単位, 基本目標, 施策, 担当課"
)
# a year as written: 2022年度 / 2022 (a number in Excel; not a date's 2022/4/1) / R4 / 令和4年度
YEAR_RE = re.compile(
    r"(?<![\d/.\-])(?:19|20)\d\d(?![\d/.\-])(?:\s*年度?)?|(令和|平成|R|H)\s*(\d{1,2}|元)\s*年?度?"
)


def _key(header: str) -> tuple[str, str | None]:
    """The header's words and the year in its brackets ('基準値（R4）' → ('基準値', 'R4'))."""
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", header))  # '基準値\n（R4）' too
    m = re.search(r"[(\[]([^)\]]*)[)\]]", text)
    inner = m[1] if m else None
    words = re.sub(r"[(\[][^)\]]*[)\]]", "", text)
    return words, inner


def _role(header: str) -> str | None:
    words, _ = _key(header)
    for role, names in ROLES.items():
        if words in names or words.upper() in {n.upper() for n in names}:
            return role
    return None


@dataclass
class _Header:
    """The header row: its index, the column of each role, and the years and units that the
    baseline's and the target's headers give in brackets."""

    at: int
    roles: dict[str, int]
    years: dict[str, int]
    units: dict[str, str]


def _header(rows: list[list], file: str, notices: list[str]) -> _Header:
    """The first row (of 30) naming the indicator column, read column by column; a column it
    does not understand is named in `notices`, a missing name or target column refused."""
    header_at = next(
        (i for i, r in enumerate(rows[:30]) if any(_role(str(c or "")) == "name" for c in r)), None
    )
    if header_at is None:
        raise InputError(
            file,
            "no header row naming the indicator column in the first 30 rows: name the "
            f"columns {ROLE_HELP}",
        )
    header = [str(c or "").strip() for c in rows[header_at]]
    roles: dict[str, int] = {}
    header_years: dict[str, int] = {}
    header_units: dict[str, str] = {}
    for col, h in enumerate(header):
        if not h:
            continue
        role = _role(h)
        if role is None or role in roles:
            why = "is not understood" if role is None else f"repeats the {role} column"
            notices.append(
                f"{file}, row {header_at + 1}, column {_letter(col)} 「{h}」 {why} and was "
                f"left out; to use it, name it one of {ROLE_HELP}"
            )
            continue
        roles[role] = col
        _, inner = _key(h)
        if inner and role in ("baseline", "target"):
            try:
                header_years[role] = _year_of(inner)
            except NotationError:
                header_units[role] = inner  # '目標値（千円）': the unit of the column
    missing = [r for r in ("name", "target") if r not in roles]
    if missing:
        words = {"name": "指標名", "target": "目標値"}
        raise InputError(
            file,
            f"the header row (row {header_at + 1}) has no column "
            + " and no column ".join(words[m] for m in missing)
            + f"; the columns it understands: {ROLE_HELP}",
        )
    return _Header(header_at, roles, header_years, header_units)


def read_sheet(path: Path) -> Imported:
    """The KPI list of a spreadsheet: one indicator per row under the header row."""
    rows = _rows(path)
    file = str(path)
    found = Imported({}, [])
    head = _header(rows, file, found.notices)
    carried: dict[str, str] = {}
    sections: dict[tuple[int, str], int] = {}
    for i, row in enumerate(rows[head.at + 1 :], start=head.at + 2):

        def cell(role: str, row=row) -> str:
            col = head.roles.get(role)
            if col is None or col >= len(row) or row[col] is None:
                return ""
            return _cell_text(row[col])

        name = cell("name")
        if not name:
            if any(_cell_text(c) for c in row):
                found.notices.append(f"{file}, row {i}: no indicator name, left out")
            continue
        for role in ("goal", "measure"):  # merged cells: carried down
            if cell(role):
                carried[role] = cell(role)
        goal, title = _goal(carried.get("goal", ""), found.goals)
        if goal not in found.goals or (title and found.goals[goal].startswith("基本目標")):
            found.goals[goal] = title or found.goals.get(goal, f"基本目標{goal}")
        reviews: list[str] = []
        star = name.startswith("★")
        measure = carried.get("measure", "")
        number = sections.setdefault(
            (goal, measure), len([k for k in sections if k[0] == goal]) + 1
        )
        by = _year_cell(cell("baseline_year"), head.years.get("baseline"), reviews, "baseline")
        ty = _year_cell(cell("target_year"), head.years.get("target"), reviews, "target")
        found.kpis.append(
            RawKpi(
                goal,
                None if star else 1,
                None,
                None if star else number,
                "数値目標" if star else (squash(measure) or "（施策の記載なし）"),
                cell("baseline") if "baseline" in head.roles else None,
                cell("target"),
                by,
                ty,
                f"row {i}",
                name=name.lstrip("★").strip(),
                unit=cell("unit") or head.units.get("target") or head.units.get("baseline"),
                department=cell("department") or None,
                numeric_goal=star,
                reviews=reviews,
            )
        )
    return found


def _letter(col: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(col + 1)


def _cell_text(v) -> str:
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip() if v is not None else ""


def _goal(text: str, goals: dict[int, str]) -> tuple[int, str]:
    """'基本目標1 「…」' / '1' / '1. …' / '基本目標Ⅰ …' / 'Ⅰ …' → (1, the title). A title without
    a number is the goal already read with that title, or the next number (goals numbered in
    order of appearance, as measures are); no goal at all is goal 1."""
    from kpi_lib.observations.import_source import roman_goal

    norm = unicodedata.normalize("NFKC", roman_goal(text.strip(), prefix="(?:基本目標)?")).strip()
    m = re.match(r"^(?:基本目標)?\s*(\d{1,2})\s*[.:、:]?\s*(.*)$", norm)
    if m:
        return int(m[1]), squash(m[2])
    title = squash(norm)
    if not title:
        return 1, title
    same = next((g for g, t in goals.items() if t == title), None)
    return (same if same is not None else max(goals, default=0) + 1), title


def _year_of(text: str) -> int:
    """'2022年度（R4）', 'R4', '令和4年度', '2022': one year; two forms must agree."""
    norm = unicodedata.normalize("NFKC", text)
    years = set()
    for m in YEAR_RE.finditer(norm):
        years.add(parse_year(m[0].replace(" ", "")).year)
    if len(years) != 1:
        raise NotationError(text, "one year such as 2022年度（R4）, R4 or 令和4年度")
    return years.pop()


def _year_cell(text: str, default: int | None, reviews: list[str], what: str) -> int | None:
    if not text:
        return default
    try:
        return _year_of(text)
    except NotationError:
        reviews.append(f"the {what} year 「{text}」 cannot be read")
        return default


def _rows(path: Path) -> list[list]:
    from openpyxl.utils import get_column_letter

    raw = read_bounded(path)
    if path.suffix.lower() == ".csv":
        if b"\x00" in raw[:65536]:
            raise InputError(str(path), "binary data, not a CSV text file")
        reader = csv.reader(io.StringIO(source_text(path), newline=""))
        try:
            rows = [row for _, row in zip(range(MAX_ROWS), reader, strict=False)]
        except csv.Error as exc:  # a field over csv's 131,072 characters, a NUL byte
            raise InputError(
                str(path), f"not a readable CSV row: {exc}", row=reader.line_num
            ) from None
    else:
        rows = _xlsx_rows(path)
    for r, row in enumerate(rows, start=1):  # the entry files' bounds: length, control characters
        for j, v in enumerate(row):
            if isinstance(v, str):
                check_cell(str(path), v, row=r, column=get_column_letter(j + 1))
    return rows


def _xlsx_rows(path: Path) -> list[list]:
    try:
        with zipfile.ZipFile(path) as z:
            unzipped = sum(i.file_size for i in z.infolist())
    except (zipfile.BadZipFile, OSError):
        raise InputError(str(path), "not an .xlsx workbook (not a zip archive)") from None
    if unzipped > MAX_UNZIPPED:
        raise InputError(
            str(path),
            f"the workbook decompresses to {unzipped:,} bytes (at most {MAX_UNZIPPED:,}): "
            "not a KPI list",
        )
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=False)
    except Exception as exc:  # openpyxl's own errors for corrupt workbooks
        raise InputError(str(path), f"cannot read it as an Excel workbook: {exc}") from None
    try:
        ws = wb.worksheets[0]
        rows = []
        for r, cells in enumerate(ws.iter_rows(), start=1):
            if r > MAX_ROWS:
                break
            row = []
            for c in cells:
                if getattr(c, "data_type", None) == "f":
                    raise InputError(
                        str(path),
                        f"cell {c.coordinate} holds a formula ({str(c.value)[:40]}): a KPI "
                        "list needs the figures themselves (copy, then paste values only)",
                        sheet=ws.title,
                        row=r,
                    )
                value = c.value
                if isinstance(value, int | float) and "%" in str(getattr(c, "number_format", "")):
                    value = f"{value * 100:.10g}%"  # a cell formatted 0%: 0.35 is shown as 35%
                row.append(value)
            rows.append(row)
        return rows
    finally:
        wb.close()
