"""Analysts' actuals: reading back the entry workbooks city departments return.

`kpi template` (kpi_lib.observations.template) writes one row per KPI and one column per
fiscal year to fill, with the department's judgement beside them. The workbook, or a CSV of
the same shape, is read back here and checked cell by cell; every problem names the file,
sheet, row and column. The committee's workbook (kpi_lib.observations.judgements) is
recognised by its sheet and read through the same bounds.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd

from kpi_lib.catalog.model import Catalog
from kpi_lib.catalog.notation import (
    NotationError,
    parse_number,
    parse_quantity,
    parse_year,
    to_era,
)
from kpi_lib.core.errors import InputError, InputErrors
from kpi_lib.core.output import progress
from kpi_lib.observations.entry_files import ACTUALS_KINDS, ACTUALS_SUFFIXES, cell_text, read_rows
from kpi_lib.observations.judgements import (
    JUDGEMENT_COLUMNS,
    JUDGEMENT_HEADERS,
    REVIEW_SHEET,
    Returned,
    is_review,
    read_judgement,
    read_review,
)
from kpi_lib.observations.values import OBS_COLUMNS

SHEET = "実績入力"
HELP_SHEET = "記入方法"
ID_HEADER = "kpi_id"
FIXED_HEADERS = [
    "kpi_id",
    "基本目標",
    "施策",
    "指標",
    "単位",
    "基準年度",
    "基準値",
    "目標年度",
    "目標値",
    "目標（原文）",
]
OVERRIDE_HEADER = "公表値より優先"
CONFIRM_HEADER = (
    "確認済み"  # はい: an implausible value was checked and is right (docs/validation.md)
)
# Beside an analyst's figure: the override flag and where it was written (for conflicts).
PLACE_COLUMNS = ["override", "file", "sheet", "row"]
SOURCE_HEADER = "出典"
LEGACY_SOURCE_HEADER = "出典・担当課"  # the column before departments had their own
NOTE_HEADER = "備考"
YES = {"はい", "yes", "y", "true", "1", "○", "◯"}
NO = {"", "いいえ", "no", "n", "false", "0"}


def year_range(catalog: Catalog) -> tuple[int, int]:
    """Fiscal years an analyst may report: from the earliest baseline to the target year."""
    first = min(
        (k.baseline.year for k in catalog.kpis if k.baseline), default=catalog.strategy.period.start
    )
    return first, catalog.strategy.period.end


def year_header(year: int) -> str:
    """The year column's heading in the entry workbook: 2024年度(R6)."""
    return f"{year}年度({to_era(year)})"


# ── reading it back ───────────────────────────────────────────────────────────


def _entered_number(raw, unit: str) -> float:
    """An entered value: a number in the KPI's unit, or a figure with a unit that scales to it
    ('5,780億円' for a KPI in 円, '421万人' in 人), as the catalog scales its baseline and
    target."""
    try:
        return parse_number(raw)
    except NotationError:
        q = parse_quantity(str(raw))
        if q.value is None or q.per_year or q.unit != unit:
            raise
        return q.value


def read_actuals(path: str | Path, catalog: Catalog) -> pd.DataFrame:
    """Every filled figure of an entry file as an observation with provenance 'analyst'."""
    return read_returned(path, catalog).observations


def read_returned(path: str | Path, catalog: Catalog) -> Returned:
    """A returned file: an entry workbook/CSV (figures and judgements) or the committee's
    workbook (opinions per basic goal).

    All problems are collected and raised together (InputErrors), so one run of
    `kpi validate` lists everything to fix.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(str(path), "file not found")
    if not path.is_file():  # a folder named y.csv, a FIFO, a device: never opened
        raise InputError(str(path), f"not a regular file: expected {ACTUALS_KINDS}")
    rows, sheet = read_rows(path, {SHEET: "figures", REVIEW_SHEET: "the committee's opinions"})
    if is_review(rows):
        returned = Returned.empty()
        returned.opinions = read_review(rows, str(path), sheet, catalog)
        return returned
    entry = _EntrySheet(path, sheet, catalog, rows)
    for i in range(entry.header_index + 1, len(rows)):
        entry.read_row(rows[i], i + 1)
    return entry.returned()


# Every column the entry sheet names; any other header is a year column or the analyst's own
NAMED_HEADERS = [
    *FIXED_HEADERS,
    *(OVERRIDE_HEADER, CONFIRM_HEADER, SOURCE_HEADER, LEGACY_SOURCE_HEADER, NOTE_HEADER),
    *JUDGEMENT_HEADERS,
]


class _EntrySheet:
    """One entry sheet being read: its columns, then row by row its figures and judgements,
    with every problem collected and its place (file, sheet, row, column, KPI)."""

    def __init__(self, path: Path, sheet: str | None, catalog: Catalog, rows: list[list]):
        self.path, self.file, self.sheet, self.catalog = path, str(path), sheet, catalog
        self.errors: list[InputError] = []
        self.records: list[dict] = []
        self.judgements: list[dict] = []
        self.seen: dict[tuple[str, int], int] = {}
        self.header_index = self._find_header(rows)
        self.header = [cell_text(h) for h in rows[self.header_index]]
        self.col = {h: j for j, h in enumerate(self.header) if h}
        self.year_cols = _year_columns(
            self.header,
            catalog,
            lambda problem, column: self.err(problem, self.header_index + 1, column),
        )
        if "単位" not in self.col:
            self.err("expected a column 単位 (unit)", row=self.header_index + 1)
        if self.errors:  # without its columns nothing in the file can be read right
            raise InputErrors(self.errors)

    def err(self, problem, row=None, column=None, kpi_id=None) -> None:
        """Collect a problem with its place; all are raised together at the end."""
        self.errors.append(
            InputError(self.file, problem, sheet=self.sheet, row=row, column=column, kpi_id=kpi_id)
        )

    def _find_header(self, rows: list[list]) -> int:
        """The header row: the first with a kpi_id column, each named column in it once."""
        index = next(
            (i for i, r in enumerate(rows) if any(cell_text(v) == ID_HEADER for v in r)), None
        )
        if index is None:
            raise InputError(
                self.file,
                f"no header row with a column {ID_HEADER!r}; use the workbook "
                "`kpi template` writes",
                sheet=self.sheet,
            )
        header = [cell_text(h) for h in rows[index]]
        twice = sorted(
            {h for h in header if h in NAMED_HEADERS and header.count(h) > 1},
            key=NAMED_HEADERS.index,
        )
        if twice:  # the reader would take one of them and drop the other without a word
            raise InputError(
                self.file,
                f"two columns named {', '.join(twice)}: keep one",
                sheet=self.sheet,
                row=index + 1,
            )
        return index

    def read_row(self, row: list, line: int) -> None:
        """One KPI's row: its figures (checked) and the department's judgement."""
        id_col = self.col[ID_HEADER]
        kpi_id = cell_text(row[id_col]) if id_col < len(row) else ""
        if not kpi_id:
            if any(cell_text(v) for v in row):
                self.err("a row with values but no kpi_id", row=line, column=ID_HEADER)
            return
        if kpi_id not in self.catalog.by_id:
            self.err(f"unknown KPI id {kpi_id!r}", row=line, column=ID_HEADER)
            return
        kpi = self.catalog.by_id[kpi_id]

        def cell(name: str) -> str:
            """The text of the named column in this row ('' where the row is short)."""
            j = self.col.get(name)
            return cell_text(row[j]) if j is not None and j < len(row) else ""

        def row_err(problem: str, column: str | None = None) -> None:
            self.err(problem, line, column, kpi_id)

        unit = cell("単位")
        if unit and unit != kpi.unit:
            row_err(f"unit {unit!r} does not match the catalog's {kpi.unit!r}", "単位")
            return
        flags = {
            name: self._flag(cell(name), name, row_err)
            for name in (OVERRIDE_HEADER, CONFIRM_HEADER)
        }
        values = self._values(row, kpi, line, row_err)
        for problem, column in check_values(kpi, values, confirmed=flags[CONFIRM_HEADER]):
            row_err(problem, column)
        judgement = read_judgement(cell, kpi, self.catalog.evaluation_years, row_err)
        if judgement is not None:
            self.judgements.append(
                {**judgement, "file": self.file, "sheet": self.sheet, "row": line}
            )
        source = (
            cell(SOURCE_HEADER) or cell(LEGACY_SOURCE_HEADER) or f"担当課入力（{self.path.name}）"
        )
        for year, (value, _) in values.items():
            self.records.append(
                {
                    "kpi_id": kpi_id,
                    "year": year,
                    "year_basis": "fiscal",
                    "value": value,
                    "unit": kpi.unit,
                    "provenance": "analyst",
                    "source": source,
                    "licence": "",
                    "source_file": self.path.name,
                    "as_of": None,
                    "note": cell(NOTE_HEADER) or None,
                    "override": flags[OVERRIDE_HEADER],
                    "file": self.file,
                    "sheet": self.sheet,
                    "row": line,
                }
            )

    @staticmethod
    def _flag(text: str, name: str, row_err) -> bool:
        """A yes/no column: はい (or yes, ○ …) or empty."""
        flag = text.lower()
        if flag not in YES | NO:
            row_err(f"expected はい or an empty cell, found {flag!r}", name)
        return flag in YES

    def _values(self, row: list, kpi, line: int, row_err) -> dict[int, tuple[float, str]]:
        """The row's figures per fiscal year, with the column each came from."""
        values: dict[int, tuple[float, str]] = {}
        for j, year in self.year_cols.items():
            raw = row[j] if j < len(row) else None
            column = self.header[j]
            if raw is None or cell_text(raw) == "":
                continue
            try:
                value = _entered_number(raw, kpi.unit)
            except NotationError:
                row_err(f"expected a number in {kpi.unit}, found {cell_text(raw)!r}", column)
                continue
            key = (kpi.kpi_id, year)
            if key in self.seen:
                row_err(
                    f"duplicate (KPI, year) value for {year}: first given on row {self.seen[key]}",
                    column,
                )
                continue
            self.seen[key] = line
            values[year] = (value, column)
        return values

    def returned(self) -> Returned:
        """The sheet's figures and judgements, or every problem found in it."""
        if self.errors:
            raise InputErrors(self.errors)
        returned = Returned.empty()
        returned.observations = pd.DataFrame(self.records, columns=[*OBS_COLUMNS, *PLACE_COLUMNS])
        returned.judgements = pd.DataFrame(self.judgements, columns=JUDGEMENT_COLUMNS)
        return returned


def _year_columns(header: list[str], catalog: Catalog, err) -> dict[int, int]:
    """Column index -> fiscal year, found by the header's text, never by position.

    Every year of the catalog's range must have its column: a deleted column would
    otherwise drop that year's values without a word.
    """
    first, last = year_range(catalog)
    known = {*NAMED_HEADERS, ""}
    year_cols: dict[int, int] = {}
    for j, h in enumerate(header):
        if h in known:
            continue
        m = re.match(r"^([^()（）]+)", h)
        try:
            year = parse_year(m[1] if m else h).year
        except NotationError:
            continue  # an analyst's own column (a memo) is left alone
        if not first <= year <= last:
            err(f"year {year} is outside the strategy's range {first}–{last}", h)
            continue
        if year in year_cols.values():
            err(f"two columns for {year}", h)
            continue
        year_cols[j] = year
    if not year_cols:
        err(
            f"no fiscal-year columns such as {year_header(first)} … "
            f"{year_header(last)}: use the workbook `kpi template` writes",
            None,
        )
    else:
        missing = [year_header(y) for y in range(first, last + 1) if y not in year_cols.values()]
        if missing:
            err(
                f"the year column(s) {', '.join(missing)} "
                "are missing; restore them (empty is fine)",
                None,
            )
    return year_cols


# A value this many times larger than the KPI's scale (its baseline and target) or than the
# row's other years is taken for a typo or a wrong unit until the analyst confirms it
# (docs/validation.md). Real series move less: ふるさと納税's boom was 16× its baseline.
IMPLAUSIBLE_FACTOR = 100


def check_values(
    kpi, values: dict[int, tuple[float, str]], confirmed: bool = False
) -> list[tuple[str, str]]:
    """Problems of one row's values: (message, column). Impossible values are always refused;
    implausible ones unless the row is marked 確認済み."""
    problems = []
    low, high = kpi.bounds()
    for v, column in values.values():
        if not math.isfinite(v):
            problems.append((f"expected a finite number, found {v}", column))
        elif low is not None and v < low:
            problems.append(
                (
                    f"impossible value {v:,.10g}: {kpi.label} "
                    f"cannot be below {low:,.10g} {kpi.unit}",
                    column,
                )
            )
        elif high is not None and v > high:
            problems.append(
                (
                    f"impossible value {v:,.10g}: {kpi.label} "
                    f"cannot exceed {high:,.10g} {kpi.unit}",
                    column,
                )
            )
    if confirmed or problems:
        return problems
    b = kpi.baseline.value if kpi.baseline is not None and kpi.baseline.value is not None else 0.0
    scale = max(abs(b), abs(kpi.resolve_target() or 0.0), 1.0)
    advice = f"check the unit and the digits, or mark {CONFIRM_HEADER} はい if it is right"
    for year, (v, column) in values.items():
        # Jumps are judged against at least two non-zero other years (a 0 beside 15,020 says
        # nothing).
        others = sorted(abs(o) for y, (o, _) in values.items() if y != year and o != 0)
        neighbours = max(others[len(others) // 2], 1.0) if len(others) >= 2 else None
        if abs(v) > IMPLAUSIBLE_FACTOR * scale:
            problems.append(
                (
                    f"implausible value {v:,.10g} {kpi.unit}: over {IMPLAUSIBLE_FACTOR}× "
                    f"the baseline and target ({scale:,.10g}); {advice}",
                    column,
                )
            )
        elif neighbours is not None and abs(v) > IMPLAUSIBLE_FACTOR * neighbours:
            problems.append(
                (
                    f"implausible jump to {v:,.10g} {kpi.unit}: over {IMPLAUSIBLE_FACTOR}× "
                    f"the row's other years (median {neighbours:,.10g}); {advice}",
                    column,
                )
            )
    return problems


def default_files(folder: Path) -> list[Path]:
    """Analysts' files kept in data/actuals: every regular file with a suffix of
    ACTUALS_SUFFIXES. Excel lock files (~$), hidden files and the folder's own README (the
    bundled folder explains itself) are left out silently; anything else (another kind of file,
    a folder, a FIFO) with a warning, and never opened."""
    if not folder.is_dir():
        return []
    files = []
    for p in sorted(folder.iterdir()):
        if p.name.startswith(("~$", ".")) or (
            p.stem.upper() == "README" and p.suffix.lower() not in ACTUALS_SUFFIXES
        ):
            continue
        if p.suffix.lower() not in ACTUALS_SUFFIXES:
            why = f"not {ACTUALS_KINDS}"
        elif not p.is_file():
            why = "not a regular file (a folder, FIFO or device)"
        else:
            files.append(p)
            continue
        progress("actuals", f"skipped {p}: {why}")
    return files
