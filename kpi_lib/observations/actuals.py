"""Analysts' actuals: reading back the entry workbooks city departments return.

`kpi template` (kpi_lib.observations.template) writes one row per KPI and one column per
fiscal year to fill, with the department's judgement beside them. The workbook, or a CSV of
the same shape, is read back here and checked cell by cell; every problem names the file,
sheet, row and column. The committee's workbook (kpi_lib.observations.judgements) is
recognised by its sheet and read through the same bounds.
"""

from __future__ import annotations

import csv
import io
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
from kpi_lib.core.limits import (
    MAX_CSV_BYTES,
    MAX_ROWS,
    check_cell,
    check_xlsx,
    read_bytes,
)
from kpi_lib.core.output import progress
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


# The files read as actuals, in DATA/actuals/, with --actuals and by `kpi validate` alike: Excel
# workbooks (.xlsm too: openpyxl reads its cells and never runs its macros) and CSVs.
ACTUALS_SUFFIXES = (".xlsx", ".xlsm", ".csv")
ACTUALS_KINDS = "an .xlsx/.xlsm workbook or a .csv file"


def _read_rows(path: Path) -> tuple[list[list], str | None]:
    """The sheet's (or CSV's) rows as lists of cell values, and the sheet name, within the bounds
    of kpi_lib.core.limits."""
    file = str(path)
    if path.suffix.lower() == ".csv":
        reader = csv.reader(io.StringIO(decode_csv(path), newline=""))
        rows: list[list] = []
        try:
            for row in reader:
                _check_row(file, None, len(rows) + 1, row)
                rows.append(row)
        except csv.Error as exc:  # a field over csv's 131,072 characters, a NUL byte
            raise InputError(file, f"not a readable CSV row: {exc}", row=reader.line_num) from None
        return rows, None
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from openpyxl.utils import get_column_letter

        check_xlsx(path)
        (values, sheet), (formulas, _) = _workbook_rows(path, True), _workbook_rows(path, False)
        uncached = [
            InputError(
                file,
                f"a formula ({f[:60]}) with no saved value: open the workbook in Excel and "
                "save it, or enter the value",
                sheet=sheet,
                row=i + 1,
                column=get_column_letter(j + 1),
            )
            for i, (vrow, frow) in enumerate(zip(values, formulas, strict=True))
            for j, (v, f) in enumerate(zip(vrow, frow, strict=True))
            if v is None and isinstance(f, str) and f.startswith("=")
        ]
        if uncached:
            raise InputErrors(uncached)
        return values, sheet
    raise InputError(file, f"expected {ACTUALS_KINDS} of the template's shape")


def _workbook_rows(path: Path, data_only: bool) -> tuple[list[list], str]:
    """The entry sheet's (or the committee's sheet's) rows: cached values (data_only) or the
    formulas themselves; and the sheet's name."""
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=data_only)
    except Exception as exc:
        cause = exc.__context__ or exc
        if type(cause).__name__ in ("EntitiesForbidden", "DTDForbidden"):  # from defusedxml
            exc = ValueError("it declares XML entities, which no Excel workbook does (a bomb?)")
        raise InputError(str(path), f"cannot read it as an Excel workbook: {exc}") from None
    try:
        sheet = next((name for name in (SHEET, REVIEW_SHEET) if name in wb.sheetnames), None)
        if sheet is None:
            raise InputError(
                str(path),
                f"expected a sheet named {SHEET!r} (figures) or {REVIEW_SHEET!r} (the "
                f"committee's opinions), found {wb.sheetnames[:20]}",
            )
        rows: list[list] = []
        try:
            for row in wb[sheet].iter_rows(values_only=True):
                _check_row(str(path), sheet, len(rows) + 1, row)
                rows.append(list(row))
        except InputError:
            raise
        except Exception as exc:  # a damaged sheet: openpyxl parses it only as it reads the rows
            raise InputError(
                str(path), f"cannot read the sheet: {exc}", sheet=sheet, row=len(rows) + 1
            ) from None
        return rows, sheet
    finally:
        wb.close()


def _check_row(file: str, sheet: str | None, line: int, row) -> None:
    """Refuse the MAX_ROWS+1-th row and any overlong cell before reading further."""
    from openpyxl.utils import get_column_letter

    if line > MAX_ROWS:
        raise InputError(
            file, f"more than {MAX_ROWS:,} rows: an entry file has one per KPI", sheet=sheet
        )
    for j, v in enumerate(row):
        if isinstance(v, str):
            check_cell(file, v, sheet=sheet, row=line, column=get_column_letter(j + 1))


ENCODINGS = (
    "utf-8-sig",
    "cp932",
)  # UTF-8 (with or without BOM), and Shift_JIS as Japanese Excel saves it


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


def decode_csv(path: Path) -> str:
    """The CSV's text in UTF-8 or Shift_JIS (cp932); if neither, the error names the first row
    that fits neither."""
    raw = read_bytes(path, "CSV file", MAX_CSV_BYTES)
    for encoding in ENCODINGS:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    for line_no, line in enumerate(raw.split(b"\n"), start=1):
        if not any(_decodes(line, e) for e in ENCODINGS):
            raise InputError(
                str(path),
                "this row is neither UTF-8 nor Shift_JIS (cp932) text; save "
                "the file as CSV (UTF-8) or CSV (コンマ区切り) from Excel",
                row=line_no,
            )
    raise InputError(
        str(path), "the file mixes UTF-8 and Shift_JIS (cp932) text; save it again in one encoding"
    )


def _decodes(line: bytes, encoding: str) -> bool:
    try:
        line.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _text(v) -> str:
    return "" if v is None else str(v).strip()


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
    rows, sheet = _read_rows(path)
    file = str(path)
    if is_review(rows):
        returned = Returned.empty()
        returned.opinions = read_review(rows, file, sheet, catalog)
        return returned
    header_index = next(
        (i for i, r in enumerate(rows) if any(_text(v) == ID_HEADER for v in r)), None
    )
    if header_index is None:
        raise InputError(
            file,
            f"no header row with a column {ID_HEADER!r}; use the workbook `kpi template` writes",
            sheet=sheet,
        )
    header = [_text(h) for h in rows[header_index]]
    errors: list[InputError] = []
    named = [
        *FIXED_HEADERS,
        *(OVERRIDE_HEADER, CONFIRM_HEADER, SOURCE_HEADER, LEGACY_SOURCE_HEADER, NOTE_HEADER),
        *JUDGEMENT_HEADERS,
    ]
    twice = sorted({h for h in header if h in named and header.count(h) > 1}, key=named.index)
    if twice:  # the reader would take one of them and drop the other without a word
        raise InputError(
            file,
            f"two columns named {', '.join(twice)}: keep one",
            sheet=sheet,
            row=header_index + 1,
        )

    def err(problem, row=None, column=None, kpi_id=None):
        """Collect a problem with its place; all are raised together at the end."""
        errors.append(InputError(file, problem, sheet=sheet, row=row, column=column, kpi_id=kpi_id))

    col = {h: j for j, h in enumerate(header) if h}
    year_cols = _year_columns(
        header, catalog, lambda problem, column: err(problem, header_index + 1, column)
    )
    if "単位" not in col:
        err("expected a column 単位 (unit)", row=header_index + 1)
    if errors:  # without its columns nothing in the file can be read right
        raise InputErrors(errors)

    records: list = []
    judgements: list = []
    seen: dict = {}
    for i in range(header_index + 1, len(rows)):
        row = rows[i]
        line = i + 1
        kpi_id = _text(row[col[ID_HEADER]]) if col[ID_HEADER] < len(row) else ""
        if not kpi_id:
            if any(_text(v) for v in row):
                err("a row with values but no kpi_id", row=line, column=ID_HEADER)
            continue
        if kpi_id not in catalog.by_id:
            err(f"unknown KPI id {kpi_id!r}", row=line, column=ID_HEADER)
            continue
        kpi = catalog.by_id[kpi_id]

        def cell(name, row=row):
            """The text of the named column in this row ('' where the row is short)."""
            j = col.get(name)
            return _text(row[j]) if j is not None and j < len(row) else ""

        unit = cell("単位")
        if unit and unit != kpi.unit:
            err(
                f"unit {unit!r} does not match the catalog's {kpi.unit!r}",
                row=line,
                column="単位",
                kpi_id=kpi_id,
            )
            continue
        flags = {}
        for name in (OVERRIDE_HEADER, CONFIRM_HEADER):
            flag = cell(name).lower()
            if flag not in YES | NO:
                err(
                    f"expected はい or an empty cell, found {flag!r}",
                    row=line,
                    column=name,
                    kpi_id=kpi_id,
                )
            flags[name] = flag in YES
        values = {}
        for j, year in year_cols.items():
            raw = row[j] if j < len(row) else None
            if raw is None or _text(raw) == "":
                continue
            try:
                value = _entered_number(raw, kpi.unit)
            except NotationError:
                err(
                    f"expected a number in {kpi.unit}, found {_text(raw)!r}",
                    row=line,
                    column=header[j],
                    kpi_id=kpi_id,
                )
                continue
            key = (kpi_id, year)
            if key in seen:
                err(
                    f"duplicate (KPI, year) value for {year}: first given on row {seen[key]}",
                    row=line,
                    column=header[j],
                    kpi_id=kpi_id,
                )
                continue
            seen[key] = line
            values[year] = (value, header[j])
        for problem, column in check_values(kpi, values, confirmed=flags[CONFIRM_HEADER]):
            err(problem, row=line, column=column, kpi_id=kpi_id)

        def row_err(problem: str, column: str, line=line, kpi_id=kpi_id) -> None:
            err(problem, line, column, kpi_id)

        judgement = read_judgement(cell, kpi, catalog.evaluation_years, row_err)
        if judgement is not None:
            judgements.append({**judgement, "file": file, "sheet": sheet, "row": line})
        for year, (value, _) in values.items():
            records.append(
                {
                    "kpi_id": kpi_id,
                    "year": year,
                    "year_basis": "fiscal",
                    "value": value,
                    "unit": kpi.unit,
                    "provenance": "analyst",
                    "source": cell(SOURCE_HEADER)
                    or cell(LEGACY_SOURCE_HEADER)
                    or f"担当課入力（{path.name}）",
                    "licence": "",
                    "source_file": path.name,
                    "as_of": None,
                    "note": cell(NOTE_HEADER) or None,
                    "override": flags[OVERRIDE_HEADER],
                    "file": file,
                    "sheet": sheet,
                    "row": line,
                }
            )
    if errors:
        raise InputErrors(errors)
    returned = Returned.empty()
    returned.observations = pd.DataFrame(records, columns=[*OBS_COLUMNS, *PLACE_COLUMNS])
    returned.judgements = pd.DataFrame(judgements, columns=JUDGEMENT_COLUMNS)
    return returned


def _year_columns(header: list[str], catalog: Catalog, err) -> dict[int, int]:
    """Column index -> fiscal year, found by the header's text, never by position.

    Every year of the catalog's range must have its column: a deleted column would
    otherwise drop that year's values without a word.
    """
    first, last = year_range(catalog)
    known = {
        *FIXED_HEADERS,
        *(OVERRIDE_HEADER, CONFIRM_HEADER, SOURCE_HEADER, LEGACY_SOURCE_HEADER, NOTE_HEADER, ""),
        *JUDGEMENT_HEADERS,
    }
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
    ACTUALS_SUFFIXES. Excel lock files (~$) and hidden files are left out silently; anything else
    (another kind of file, a folder, a FIFO) with a warning, and never opened."""
    if not folder.is_dir():
        return []
    files = []
    for p in sorted(folder.iterdir()):
        if p.name.startswith(("~$", ".")):
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
