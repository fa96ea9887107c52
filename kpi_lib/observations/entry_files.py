"""Reading a returned entry file's rows (an Excel workbook or a CSV) within the bounds of
kpi_lib.core.limits: the size, the row count, each cell's length, the encoding, formulas
without a saved value. What the rows mean is read in kpi_lib.observations.actuals."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from kpi_lib.core.errors import InputError, InputErrors
from kpi_lib.core.limits import MAX_CSV_BYTES, MAX_ROWS, check_cell, check_xlsx, read_bytes

# The files read as actuals, in DATA/actuals/, with --actuals and by `kpi validate` alike: Excel
# workbooks (.xlsm too: openpyxl reads its cells and never runs its macros) and CSVs.
ACTUALS_SUFFIXES = (".xlsx", ".xlsm", ".csv")
ACTUALS_KINDS = "an .xlsx/.xlsm workbook or a .csv file"


def read_rows(path: Path, sheets: dict[str, str]) -> tuple[list[list], str | None]:
    """The CSV's rows, or those of the first of these sheets (name: what it holds) the workbook
    has, as lists of cell values, and the sheet name, within the bounds of kpi_lib.core.limits."""
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
        (values, sheet), (formulas, _) = (
            _workbook_rows(path, sheets, True),
            _workbook_rows(path, sheets, False),
        )
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


def _workbook_rows(path: Path, sheets: dict[str, str], data_only: bool) -> tuple[list[list], str]:
    """The first of these sheets' rows: cached values (data_only) or the formulas themselves; and
    the sheet's name."""
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=data_only)
    except Exception as exc:
        cause = exc.__context__ or exc
        if type(cause).__name__ in ("EntitiesForbidden", "DTDForbidden"):  # from defusedxml
            exc = ValueError("it declares XML entities, which no Excel workbook does (a bomb?)")
        raise InputError(str(path), f"cannot read it as an Excel workbook: {exc}") from None
    try:
        sheet = next((name for name in sheets if name in wb.sheetnames), None)
        if sheet is None:
            raise InputError(
                str(path),
                "expected a sheet named "
                + " or ".join(f"{name!r} ({what})" for name, what in sheets.items())
                + f", found {wb.sheetnames[:20]}",
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


def cell_text(v) -> str:
    """A cell's value as stripped text ('' for an empty cell)."""
    return "" if v is None else str(v).strip()
