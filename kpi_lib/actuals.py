"""Analysts' actuals: the entry workbook city departments fill in, and reading it back.

`kpi template` writes one row per KPI (name, unit, baseline and target filled in) and one
column per fiscal year to fill. The same workbook, or a CSV of the same shape, is read
back here and checked cell by cell; every problem names the file, sheet, row and column.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd

from .catalog import Catalog
from .errors import InputError, InputErrors
from .notation import NotationError, parse_number, parse_year, to_era
from .observations import OBS_COLUMNS

SHEET = "実績入力"
HELP_SHEET = "記入方法"
ID_HEADER = "kpi_id"
FIXED_HEADERS = ["kpi_id", "基本目標", "施策", "指標", "単位", "基準年度", "基準値", "目標年度", "目標値", "目標（原文）"]
OVERRIDE_HEADER = "公表値より優先"
SOURCE_HEADER = "出典・担当課"
NOTE_HEADER = "備考"
YES = {"はい", "yes", "y", "true", "1", "○", "◯"}
NO = {"", "いいえ", "no", "n", "false", "0"}


def year_range(catalog: Catalog) -> tuple[int, int]:
    """Fiscal years an analyst may report: from the earliest baseline to the target year."""
    first = min((k.baseline.year for k in catalog.kpis if k.baseline), default=catalog.strategy.period.start)
    return first, catalog.strategy.period.end


def year_header(year: int) -> str:
    return f"{year}年度({to_era(year)})"


# ── writing the template ──────────────────────────────────────────────────────

def write_template(catalog: Catalog, path: str | Path) -> None:
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    first, last = year_range(catalog)
    years = list(range(first, last + 1))
    headers = [*FIXED_HEADERS, *(year_header(y) for y in years), OVERRIDE_HEADER, SOURCE_HEADER, NOTE_HEADER]
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    ws.append([f"{catalog.strategy.title_ja} KPI実績入力シート"])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append(["黄色の欄に各年度の実績値を、指標の単位で入力してください（例: 1234、△12）。記入方法は「記入方法」シートを参照。"])
    ws.append(headers)
    header_row = ws.max_row
    for cell in ws[header_row]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True)
        cell.fill = PatternFill("solid", fgColor="D9E1F2")
    for kpi in catalog.kpis:
        b, t = kpi.baseline, kpi.target
        ws.append([
            kpi.kpi_id, kpi.goal, kpi.measure_code, kpi.label, kpi.unit,
            b.year if b else None, b.value if b else None, t.year, kpi.resolve_target(), t.text or t.notation,
        ])
    first_data, last_data = header_row + 1, ws.max_row
    year_cols = range(len(FIXED_HEADERS) + 1, len(FIXED_HEADERS) + len(years) + 1)
    entry = PatternFill("solid", fgColor="FFF2CC")
    numbers = DataValidation(type="decimal", operator="between", formula1="-1000000000000", formula2="1000000000000",
                             allow_blank=True, showErrorMessage=True, errorTitle="数値を入力してください",
                             error="実績値は数値で入力してください（単位は指標の単位）。")
    override = DataValidation(type="list", formula1='"はい,いいえ"', allow_blank=True, showErrorMessage=True,
                              errorTitle="はい／いいえ", error="「はい」または空欄にしてください。")
    ws.add_data_validation(numbers)
    ws.add_data_validation(override)
    for col in year_cols:
        letter = get_column_letter(col)
        numbers.add(f"{letter}{first_data}:{letter}{last_data}")
        for r in range(first_data, last_data + 1):
            ws.cell(r, col).fill = entry
    override_col = get_column_letter(len(FIXED_HEADERS) + len(years) + 1)
    override.add(f"{override_col}{first_data}:{override_col}{last_data}")
    ws.cell(header_row, len(FIXED_HEADERS) + len(years) + 1).comment = Comment(
        "「はい」とすると、同じ年度の公表統計（住民基本台帳など）よりこの行の値を優先します。", "kpi")
    for j, width in enumerate([9, 8, 6, 36, 7, 9, 12, 9, 12, 28], start=1):
        ws.column_dimensions[get_column_letter(j)].width = width
    for col in year_cols:
        ws.column_dimensions[get_column_letter(col)].width = 12
    ws.freeze_panes = ws.cell(first_data, 5)

    help_ws = wb.create_sheet(HELP_SHEET)
    for line in [
        "記入方法",
        "1. 「実績入力」シートの黄色の欄に、年度ごとの実績値を入力します（年度は4月〜翌3月）。",
        "2. 値は指標の「単位」で入力します（例: 観光入込客数は人。千人単位の値は1,000倍してください）。",
        "3. 数値のみを入力します。△12・▲12（マイナス）、1,234、全角数字も読み取れます。",
        "4. 累計目標（5年間で○件など）の指標は、各年度の件数を入力します（累計はツールが計算します）。",
        "5. 計画策定などの指標は、策定した年度に 1、未策定の年度に 0 を入力します。",
        "6. 全国平均との比較の指標は、全国平均との差（ポイント、下回る場合は△）を入力します。",
        f"7. 「{OVERRIDE_HEADER}」を「はい」にすると、公表統計がある年度でもこの値を使います。",
        "8. 行や列の追加・削除、kpi_id の変更はしないでください。確認は `kpi validate ファイル名` で行えます。",
    ]:
        help_ws.append([line])
    help_ws.column_dimensions["A"].width = 110
    wb.save(path)


# ── reading it back ───────────────────────────────────────────────────────────

def _read_rows(path: Path) -> tuple[list[list], str | None]:
    """The sheet's (or CSV's) rows as lists of cell values, and the sheet name."""
    if path.suffix.lower() == ".csv":
        try:
            with path.open(encoding="utf-8-sig", newline="") as fh:
                return [row for row in csv.reader(fh)], None
        except UnicodeDecodeError as exc:
            raise InputError(str(path), f"expected UTF-8 text (save the CSV as UTF-8): {exc}") from None
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        try:
            wb = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:
            raise InputError(str(path), f"cannot read it as an Excel workbook: {exc}") from None
        if SHEET not in wb.sheetnames:
            raise InputError(str(path), f"expected a sheet named {SHEET!r}, found {wb.sheetnames}")
        rows = [list(r) for r in wb[SHEET].iter_rows(values_only=True)]
        wb.close()
        return rows, SHEET
    raise InputError(str(path), "expected an .xlsx workbook or a .csv file of the template's shape")


def _text(v) -> str:
    return "" if v is None else str(v).strip()


def read_actuals(path: str | Path, catalog: Catalog) -> pd.DataFrame:
    """Every filled cell as an observation with provenance 'analyst'.

    All problems are collected and raised together (InputErrors), so one run of
    `kpi validate` lists everything to fix.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(str(path), "file not found")
    rows, sheet = _read_rows(path)
    file = str(path)
    header_index = next((i for i, r in enumerate(rows) if r and _text(r[0]) == ID_HEADER), None)
    if header_index is None:
        raise InputError(file, f"no header row starting with {ID_HEADER!r}; use the workbook `kpi template` writes",
                         sheet=sheet)
    header = [_text(h) for h in rows[header_index]]
    errors: list[InputError] = []

    def err(problem, row=None, column=None, kpi_id=None):
        errors.append(InputError(file, problem, sheet=sheet, row=row, column=column, kpi_id=kpi_id))

    first, last = year_range(catalog)
    year_cols: dict[int, int] = {}
    for j, h in enumerate(header):
        if j < len(FIXED_HEADERS) or h in (OVERRIDE_HEADER, SOURCE_HEADER, NOTE_HEADER, ""):
            continue
        m = re.match(r"^([^()（）]+)", h)
        try:
            year = parse_year(m[1] if m else h).year
        except NotationError:
            err(f"expected a fiscal-year header such as {year_header(2021)}, found {h!r}", row=header_index + 1, column=h)
            continue
        if not first <= year <= last:
            err(f"year {year} is outside the strategy's range {first}–{last}", row=header_index + 1, column=h)
            continue
        year_cols[j] = year
    col = {h: j for j, h in enumerate(header)}
    if "単位" not in col:
        err("expected a column 単位 (unit)", row=header_index + 1)

    records, seen = [], {}
    for i in range(header_index + 1, len(rows)):
        row = rows[i]
        line = i + 1
        kpi_id = _text(row[0]) if row else ""
        if not kpi_id:
            if any(_text(v) for v in row):
                err("a row with values but no kpi_id", row=line, column=ID_HEADER)
            continue
        if kpi_id not in catalog.by_id:
            err(f"unknown KPI id {kpi_id!r}", row=line, column=ID_HEADER)
            continue
        kpi = catalog.by_id[kpi_id]

        def cell(name, row=row):
            j = col.get(name)
            return _text(row[j]) if j is not None and j < len(row) else ""

        unit = cell("単位")
        if unit and unit != kpi.unit:
            err(f"unit {unit!r} does not match the catalog's {kpi.unit!r}", row=line, column="単位", kpi_id=kpi_id)
            continue
        flag = cell(OVERRIDE_HEADER).lower()
        if flag not in YES | NO:
            err(f"expected はい or an empty cell, found {flag!r}", row=line, column=OVERRIDE_HEADER, kpi_id=kpi_id)
        for j, year in year_cols.items():
            raw = row[j] if j < len(row) else None
            if _text(raw) == "":
                continue
            try:
                value = parse_number(raw)
            except NotationError:
                err(f"expected a number in {kpi.unit}, found {_text(raw)!r}", row=line, column=header[j], kpi_id=kpi_id)
                continue
            key = (kpi_id, year)
            if key in seen:
                err(f"duplicate (KPI, year) value for {year}: first given on row {seen[key]}", row=line,
                    column=header[j], kpi_id=kpi_id)
                continue
            seen[key] = line
            records.append({
                "kpi_id": kpi_id, "year": year, "year_basis": "fiscal", "value": value, "unit": kpi.unit,
                "provenance": "analyst", "source": cell(SOURCE_HEADER) or f"担当課入力（{path.name}）",
                "licence": "", "source_file": path.name, "as_of": None, "note": cell(NOTE_HEADER) or None,
                "override": flag in YES,
            })
    if errors:
        raise InputErrors(errors)
    return pd.DataFrame(records, columns=[*OBS_COLUMNS, "override"])


def default_files(folder: Path) -> list[Path]:
    """Analysts' files kept in data/actuals (Excel lock files left out)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir()
                  if p.suffix.lower() in (".xlsx", ".csv") and not p.name.startswith(("~$", ".")))
