"""`kpi template`: the entry workbooks the departments fill in and return.

One workbook for the whole city, or one per 担当課 (`--by-department`), each holding only its
rows: the KPI (name, unit, baseline and target filled in), a column per fiscal year for the
figures, and the department's judgement for the evaluation year (取組内容, 評価・要因分析 and
今後の方向性 as a drop-down). The returned workbooks are simply put into DATA/actuals/ and read
together (kpi_lib.observations.actuals).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from pathlib import Path

from kpi_lib.catalog.model import Catalog, Kpi
from kpi_lib.core.errors import ArgumentError
from kpi_lib.core.output import defuse_workbook
from kpi_lib.observations.actuals import (
    CONFIRM_HEADER,
    FIXED_HEADERS,
    HELP_SHEET,
    NOTE_HEADER,
    OVERRIDE_HEADER,
    SHEET,
    SOURCE_HEADER,
    year_header,
    year_range,
)
from kpi_lib.observations.judgements import (
    ACTIONS_HEADER,
    ASSESSMENT_HEADER,
    DEPARTMENT_HEADER,
    DIRECTION_HEADER,
    DIRECTIONS_NEXT,
    JUDGEMENT_HEADERS,
    JUDGEMENT_YEAR_HEADER,
    UNASSIGNED,
)

HELP_LINES = [
    "記入方法",
    "1. 「実績入力」シートの黄色の欄に、年度ごとの実績値を入力します（年度は4月〜翌3月）。",
    "2. 値は指標の「単位」で入力します"
    "（例: 観光入込客数は人。千人単位の値は1,000倍してください）。",
    "3. 数値のみを入力します。△12・▲12（マイナス）、1,234、全角数字も読み取れます。",
    "4. 累計目標（5年間で○件など）の指標は、各年度の件数を入力します（累計はツールが計算します）。",
    "5. 計画策定などの指標は、策定した年度に 1、未策定の年度に 0 を入力します。",
    "6. 全国平均との比較の指標は、全国平均との差（ポイント、下回る場合は△）を入力します。",
    f"7. 「{OVERRIDE_HEADER}」を「はい」にすると、公表統計がある年度でもこの値を使います。",
    "8. 基準値・目標値から桁違いに離れた値は確認を求めます。"
    f"正しい場合は「{CONFIRM_HEADER}」を「はい」にします（負の件数や100%を超える割合など、"
    "ありえない値は受け付けません）。",
    f"9. 緑の欄には、{JUDGEMENT_YEAR_HEADER}の取組と評価を記入します: "
    f"「{ACTIONS_HEADER}」（実施した事業）、"
    f"「{ASSESSMENT_HEADER}」（実績が動いた理由）、「{DIRECTION_HEADER}」"
    f"（{' / '.join(DIRECTIONS_NEXT)} から選択）。",
    f"10. 「{DEPARTMENT_HEADER}」は戦略の担当課です。異なる場合は書き換えてください。",
    "11. 行や列の追加・削除、kpi_id の変更はしないでください。"
    "確認は `kpi validate ファイル名` で行えます。",
]


def default_year(catalog: Catalog, today: dt.date | None = None) -> int:
    """The evaluation year a template is for when none is given: the last fiscal year that has
    ended (April–March), within the strategy's period."""
    today = today or dt.date.today()
    ended = today.year - 1 if today.month >= 4 else today.year - 2
    period = catalog.strategy.period
    return min(max(ended, period.start), period.end)


def write_template(
    catalog: Catalog,
    path: str | Path,
    fiscal_year: int | None = None,
    kpis: list[Kpi] | None = None,
) -> None:
    """Write the entry workbook for `kpis` (default: every KPI of the catalog): a column per year
    for the figures, the judgement of `fiscal_year`, notes and input rules."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    fiscal_year = fiscal_year or default_year(catalog)
    kpis = catalog.kpis if kpis is None else kpis
    first, last = year_range(catalog)
    years = list(range(first, last + 1))
    after_years = [OVERRIDE_HEADER, CONFIRM_HEADER, SOURCE_HEADER, NOTE_HEADER]
    headers = [*FIXED_HEADERS, *(year_header(y) for y in years), *after_years, *JUDGEMENT_HEADERS]
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    ws.append([f"{catalog.strategy.title_ja} KPI実績入力シート（{fiscal_year}年度の効果検証）"])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append(
        [
            "黄色の欄に各年度の実績値を、指標の単位で入力してください（例: 1234、△12）。"
            f"緑の欄に{fiscal_year}年度の取組内容・評価・今後の方向性を記入します。"
            "記入方法は「記入方法」シートを参照。"
        ]
    )
    ws.append(headers)
    header_row = ws.max_row
    for cell in ws[header_row]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True)
        cell.fill = PatternFill("solid", fgColor="D9E1F2")
    for kpi in kpis:
        b, t = kpi.baseline, kpi.target
        fixed = [
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
        blank = [None] * (len(years) + len(after_years))
        judgement = [kpi.department or "", fiscal_year, None, None, None]
        ws.append([*fixed, *blank, *judgement])
    first_data, last_data = header_row + 1, max(ws.max_row, header_row + 1)
    column = {h: j for j, h in enumerate(headers, start=1)}
    _entry_rules(ws, [column[year_header(y)] for y in years], column, first_data, last_data)
    ws.cell(header_row, column[OVERRIDE_HEADER]).comment = Comment(
        "「はい」とすると、同じ年度の公表統計（住民基本台帳など）よりこの行の値を優先します。",
        "kpi",
    )
    for j, width in enumerate([9, 8, 6, 36, 7, 9, 12, 9, 12, 28], start=1):
        ws.column_dimensions[get_column_letter(j)].width = width
    for y in years:
        ws.column_dimensions[get_column_letter(column[year_header(y)])].width = 12
    widths = {DEPARTMENT_HEADER: 14, JUDGEMENT_YEAR_HEADER: 9, DIRECTION_HEADER: 12}
    for h in JUDGEMENT_HEADERS:
        ws.column_dimensions[get_column_letter(column[h])].width = widths.get(h, 40)
    ws.freeze_panes = ws.cell(first_data, 5)
    help_ws = wb.create_sheet(HELP_SHEET)
    for line in HELP_LINES:
        help_ws.append([line])
    help_ws.column_dimensions["A"].width = 110
    defuse_workbook(wb)
    wb.save(path)


def _entry_rules(ws, year_cols: list[int], column: dict[str, int], first: int, last: int) -> None:
    """The colours and Excel input rules of the cells departments fill in."""
    from openpyxl.styles import Alignment, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    def rule(title: str, message: str, **kind) -> DataValidation:
        """An input rule of the workbook: Excel refuses other entries with `message`."""
        dv = DataValidation(
            allow_blank=True, showErrorMessage=True, errorTitle=title, error=message, **kind
        )
        ws.add_data_validation(dv)
        return dv

    def cells(col: int) -> str:
        letter = get_column_letter(col)
        return f"{letter}{first}:{letter}{last}"

    numbers = rule(
        "数値を入力してください",
        "実績値は数値で入力してください（単位は指標の単位）。",
        type="decimal",
        operator="between",
        formula1="-1000000000000",
        formula2="1000000000000",
    )
    yes = rule(
        "はい／いいえ", "「はい」または空欄にしてください。", type="list", formula1='"はい,いいえ"'
    )
    direction = rule(
        "今後の方向性",
        f"{' / '.join(DIRECTIONS_NEXT)} から選んでください。",
        type="list",
        formula1='"' + ",".join(DIRECTIONS_NEXT) + '"',
    )
    figures, judgement = (
        PatternFill("solid", fgColor="FFF2CC"),
        PatternFill("solid", fgColor="E2EFDA"),
    )
    for col in year_cols:
        numbers.add(cells(col))
        for r in range(first, last + 1):
            ws.cell(r, col).fill = figures
    for name in (OVERRIDE_HEADER, CONFIRM_HEADER):
        yes.add(cells(column[name]))
    direction.add(cells(column[DIRECTION_HEADER]))
    for name in (ACTIONS_HEADER, ASSESSMENT_HEADER, DIRECTION_HEADER):
        for r in range(first, last + 1):
            ws.cell(r, column[name]).fill = judgement
            ws.cell(r, column[name]).alignment = Alignment(wrap_text=True, vertical="top")


# Names Windows cannot give a file (the workbooks go to municipal staff on Windows).
_RESERVED = re.compile(r"(CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9])", re.IGNORECASE)


def department_file_name(department: str | None) -> str:
    """A file name for a department's workbook: its name kept to letters, digits and ・ー－
    (a department name is free text from the catalog and may be hostile). 未割当.xlsx is only
    ever the KPIs without a department (None)."""
    if department is None:
        return f"{UNASSIGNED}.xlsx"
    name = re.sub(r"[^\w・ー－]", "_", department).strip("_.")[:60] or "担当課"
    if _RESERVED.fullmatch(name) or name == UNASSIGNED:
        name += "_担当課"
    return f"{name}.xlsx"


def write_department_templates(
    catalog: Catalog, out: str | Path, fiscal_year: int | None = None
) -> dict[str, int]:
    """One workbook per department in the folder `out` (KPIs without one in 未割当.xlsx), each
    holding only its rows; the department and its count of KPIs.

    The folder appears whole or not at all: it is built beside `out` and moved into place, over
    nothing or an empty folder (never over a user's files).
    """
    out = Path(out)
    if out.is_symlink() or (out.exists() and (not out.is_dir() or any(out.iterdir()))):
        raise ArgumentError(
            "out", f"{out} exists and is not an empty folder; name a new folder for the workbooks"
        )
    groups: dict[str | None, list[Kpi]] = {}  # None: the KPIs the catalog assigns to none
    for kpi in catalog.kpis:
        groups.setdefault((kpi.department or "").strip() or None, []).append(kpi)
    files: dict[str | None, str] = {}
    for department in groups:
        name = department_file_name(department)
        if name in files.values():  # two departments whose names differ only in punctuation
            stem = name.removesuffix(".xlsx")
            name = f"{stem}_{sum(v.startswith(stem) for v in files.values()) + 1}.xlsx"
        files[department] = name
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.building-{os.getpid()}"
    staging.mkdir()  # fails on a planted file or link: never followed
    try:
        for department, kpis in groups.items():
            write_template(catalog, staging / files[department], fiscal_year, kpis)
        if out.exists():
            out.rmdir()  # empty, checked above
        staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {d or UNASSIGNED: len(kpis) for d, kpis in groups.items()}
