"""Analysts' actuals: the entry workbook city departments fill in, and reading it back.

`kpi template` writes one row per KPI (name, unit, baseline and target filled in) and one
column per fiscal year to fill. The same workbook, or a CSV of the same shape, is read
back here and checked cell by cell; every problem names the file, sheet, row and column.
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
from kpi_lib.core.output import defuse_workbook
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
SOURCE_HEADER = "出典・担当課"
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


# ── writing the template ──────────────────────────────────────────────────────


def write_template(catalog: Catalog, path: str | Path) -> None:
    """Write the analysts' entry workbook for `catalog`: one row per KPI without a public series, a
    column per year, notes and input rules."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    first, last = year_range(catalog)
    years = list(range(first, last + 1))
    headers = [
        *FIXED_HEADERS,
        *(year_header(y) for y in years),
        OVERRIDE_HEADER,
        CONFIRM_HEADER,
        SOURCE_HEADER,
        NOTE_HEADER,
    ]
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    ws.append([f"{catalog.strategy.title_ja} KPI実績入力シート"])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append(
        [
            "黄色の欄に各年度の実績値を、指標の単位で入力してください（例:"
            " 1234、△12）。記入方法は「記入方法」シートを参照。"
        ]
    )
    ws.append(headers)
    header_row = ws.max_row
    for cell in ws[header_row]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True)
        cell.fill = PatternFill("solid", fgColor="D9E1F2")
    for kpi in catalog.kpis:
        b, t = kpi.baseline, kpi.target
        ws.append(
            [
                kpi.kpi_id,
                kpi.goal,
                kpi.measure_code,
                kpi.label,
                kpi.unit,
                b.year if b else None,
                b.value if b else None,
                t.year,
                kpi.resolve_target(),
                t.text or t.notation,
            ]
        )
    first_data, last_data = header_row + 1, ws.max_row
    year_cols = range(len(FIXED_HEADERS) + 1, len(FIXED_HEADERS) + len(years) + 1)
    entry = PatternFill("solid", fgColor="FFF2CC")

    def rule(title: str, message: str, **kind) -> DataValidation:
        """An input rule of the workbook: Excel refuses other entries with `message`."""
        return DataValidation(
            allow_blank=True, showErrorMessage=True, errorTitle=title, error=message, **kind
        )

    numbers = rule(
        "数値を入力してください",
        "実績値は数値で入力してください（単位は指標の単位）。",
        type="decimal",
        operator="between",
        formula1="-1000000000000",
        formula2="1000000000000",
    )
    override = rule(
        "はい／いいえ", "「はい」または空欄にしてください。", type="list", formula1='"はい,いいえ"'
    )
    ws.add_data_validation(numbers)
    ws.add_data_validation(override)
    for col in year_cols:
        letter = get_column_letter(col)
        numbers.add(f"{letter}{first_data}:{letter}{last_data}")
        for r in range(first_data, last_data + 1):
            ws.cell(r, col).fill = entry
    for offset in (1, 2):  # 公表値より優先, 確認済み
        letter = get_column_letter(len(FIXED_HEADERS) + len(years) + offset)
        override.add(f"{letter}{first_data}:{letter}{last_data}")
    ws.cell(header_row, len(FIXED_HEADERS) + len(years) + 1).comment = Comment(
        "「はい」とすると、同じ年度の公表統計（住民基本台帳など）よりこの行の値を優先します。",
        "kpi",
    )
    for j, width in enumerate([9, 8, 6, 36, 7, 9, 12, 9, 12, 28], start=1):
        ws.column_dimensions[get_column_letter(j)].width = width
    for col in year_cols:
        ws.column_dimensions[get_column_letter(col)].width = 12
    ws.freeze_panes = ws.cell(first_data, 5)

    help_ws = wb.create_sheet(HELP_SHEET)
    for line in [
        "記入方法",
        "1. 「実績入力」シートの黄色の欄に、年度ごとの実績値を入力します（年度は4月〜翌3月）。",
        "2. 値は指標の「単位」で入力します（例: "
        "観光入込客数は人。千人単位の値は1,000倍してください）。",
        "3. 数値のみを入力します。△12・▲12（マイナス）、1,234、全角数字も読み取れます。",
        "4. 累計目標（5年間で○件など）の指標は、"
        "各年度の件数を入力します（累計はツールが計算します）。",
        "5. 計画策定などの指標は、策定した年度に 1、未策定の年度に 0 を入力します。",
        "6. 全国平均との比較の指標は、全国平均との差（ポイント、下回る場合は△）を入力します。",
        f"7. 「{OVERRIDE_HEADER}」を「はい」にすると、公表統計がある年度でもこの値を使います。",
        "8. 基準値・目標値から桁違いに離れた値は確認を求めます。"
        f"正しい場合は「{CONFIRM_HEADER}」を「はい」にします（負の件数や100%を超える割合など、"
        "ありえない値は受け付けません）。",
        "9. 行や列の追加・削除、kpi_id の変更はしないでください。"
        "確認は `kpi validate ファイル名` で行えます。",
    ]:
        help_ws.append([line])
    help_ws.column_dimensions["A"].width = 110
    defuse_workbook(wb)
    wb.save(path)


# ── reading it back ───────────────────────────────────────────────────────────


def _read_rows(path: Path) -> tuple[list[list], str | None]:
    """The sheet's (or CSV's) rows as lists of cell values, and the sheet name."""
    if path.suffix.lower() == ".csv":
        return list(csv.reader(io.StringIO(decode_csv(path), newline=""))), None
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
    raw = path.read_bytes()
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
    """Every filled cell as an observation with provenance 'analyst'.

    All problems are collected and raised together (InputErrors), so one run of
    `kpi validate` lists everything to fix.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(str(path), "file not found")
    rows, sheet = _read_rows(path)
    file = str(path)
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
        for year, (value, _) in values.items():
            records.append(
                {
                    "kpi_id": kpi_id,
                    "year": year,
                    "year_basis": "fiscal",
                    "value": value,
                    "unit": kpi.unit,
                    "provenance": "analyst",
                    "source": cell(SOURCE_HEADER) or f"担当課入力（{path.name}）",
                    "licence": "",
                    "source_file": path.name,
                    "as_of": None,
                    "note": cell(NOTE_HEADER) or None,
                    "override": flags[OVERRIDE_HEADER],
                }
            )
    if errors:
        raise InputErrors(errors)
    return pd.DataFrame(records, columns=[*OBS_COLUMNS, "override"])


def _year_columns(header: list[str], catalog: Catalog, err) -> dict[int, int]:
    """Column index -> fiscal year, found by the header's text, never by position.

    Every year of the catalog's range must have its column: a deleted column would
    otherwise drop that year's values without a word.
    """
    first, last = year_range(catalog)
    known = {*FIXED_HEADERS, OVERRIDE_HEADER, CONFIRM_HEADER, SOURCE_HEADER, NOTE_HEADER, ""}
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
    """Analysts' files kept in data/actuals (Excel lock files left out)."""
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.iterdir()
        if p.suffix.lower() in (".xlsx", ".csv") and not p.name.startswith(("~$", "."))
    )
