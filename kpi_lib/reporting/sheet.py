"""The 効果検証 sheet: the evaluation as the city hands it over in Excel.

One row per KPI in the strategy's order: 基本目標, 施策 (the strategy's numbering), 指標, 担当課,
単位, 基準値, the 実績 of every year of the period, 目標値, 達成率, 評価 (最終評価 from the target
year on), and the department's 取組内容, 評価・要因分析, 今後の方向性. Japanese headers and values
only; numbers rounded as the report prints them, negatives shown with ▲ by a number format
(the cells stay numbers); wrapped text, an autofilter, A4 landscape one page wide with the
header rows on every page. The detailed scorecard for analysts follows as further sheets.
The report's CSV for readers has the same columns (`sheet_frame`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import cast

import pandas as pd

from kpi_lib.catalog.notation import to_era
from kpi_lib.core.output import defuse_workbook, write_csv_for_people
from kpi_lib.core.vocabulary import DIRECTIONS_JA, EVIDENCE_JA, HEADERS_JA, PROGRESS_STATUSES
from kpi_lib.evaluation.scorecard import JUDGEMENT_FIELDS, READER_COLUMNS, Scorecard
from kpi_lib.reporting import reading

SHEET = "効果検証"
TEXT_COLUMNS = {"指標": 34, "取組内容": 40, "評価・要因分析": 40}


def _year_label(year: int) -> str:
    return f"{to_era(year)}実績"


def sheet_frame(scorecard: Scorecard) -> pd.DataFrame:
    """The sheet's rows: one per KPI, in Japanese columns, numbers rounded as the report prints
    them (actuals only up to the evaluation year)."""
    fiscal_year = scorecard.as_of
    period = scorecard.catalog.strategy.period
    years = range(period.start, period.end + 1)
    final = fiscal_year >= period.end
    rows = []
    for entry in scorecard:
        kpi, ev, judgement = entry.kpi, entry.evaluation, entry.judgement
        values = dict(ev.history)
        row = {
            "基本目標": kpi.goal,
            "施策": "★" if kpi.numeric_goal else kpi.measure_code,
            "指標": kpi.label,
            "担当課": kpi.department or "",
            "単位": kpi.unit,
            "基準年度": None if ev.baseline_year is None else int(ev.baseline_year),
            "基準値": _rounded(ev.baseline_value),
            **{
                _year_label(y): _rounded(values.get(y)) if y <= fiscal_year else None for y in years
            },
            "目標値": _rounded(ev.target_resolved),
            "達成率": None if ev.achievement_rate is None else round(ev.achievement_rate, 4),
            ("最終評価" if final else "評価"): entry.result,
            "取組内容": judgement.actions or "",
            "評価・要因分析": judgement.assessment or "",
            "今後の方向性": judgement.direction_next or "",
        }
        rows.append(row)
    return pd.DataFrame(rows, dtype=object)  # whole numbers stay 30, not 30.0


def _rounded(v) -> float | int | None:
    """A figure rounded as reader_number prints it: whole from 100 on, one decimal from 1, two
    below."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    x = float(v)
    if x.is_integer() or abs(x) >= 100:
        return int(round(x))
    return round(x, 1 if abs(x) >= 1 else 2)


def _number_format(v: float) -> str:
    """Thousands separators, the decimals reader_number shows, ▲ for negatives."""
    decimals = "" if float(v).is_integer() else (".0" if abs(v) >= 1 else ".00")
    body = f"#,##0{decimals}"
    return f'{body};"▲"{body}'


def write_evaluation_workbook(
    path: str | Path,
    scorecard: Scorecard,
    freshness: pd.DataFrame | None = None,
    frame: pd.DataFrame | None = None,
) -> None:
    """The workbook: the 効果検証 sheet first (`frame`, default `sheet_frame` of the scorecard),
    then the detailed scorecard and the data's as-of years."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    catalog, fiscal_year, settings = scorecard.catalog, scorecard.as_of, scorecard.settings
    if frame is None:
        frame = sheet_frame(scorecard)
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    name = reading.evaluation_name(catalog, fiscal_year)
    ws.append([f"{catalog.strategy.title_ja} {name}（{fiscal_year}年度）"])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append([reading.grade_legend(settings)])
    ws.append(list(frame.columns))
    header_row = ws.max_row
    for cell in ws[header_row]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="305496")
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
    wrap = Alignment(wrap_text=True, vertical="top")
    for record in frame.itertuples(index=False):
        ws.append([None if _gap(v) else v for v in record])
        for j, column in enumerate(frame.columns, start=1):
            cell = ws.cell(ws.max_row, j)
            cell.alignment = wrap
            if column == "達成率" and cell.value is not None:
                cell.number_format = '0%;"▲"0%'
            elif isinstance(cell.value, int | float) and column not in ("基本目標", "基準年度"):
                cell.number_format = _number_format(cell.value)
    last = get_column_letter(len(frame.columns))
    ws.auto_filter.ref = f"A{header_row}:{last}{ws.max_row}"
    ws.freeze_panes = ws.cell(header_row + 1, 4)
    for j, column in enumerate(frame.columns, start=1):
        width = TEXT_COLUMNS.get(column, 14 if column in ("担当課", "今後の方向性") else 9.5)
        ws.column_dimensions[get_column_letter(j)].width = width
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    _detail_sheet(wb.create_sheet(), scorecard)
    if freshness is not None:
        _freshness_sheet(wb.create_sheet("データの時点"), freshness, fiscal_year)
    defuse_workbook(wb)
    wb.save(path)


def _gap(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def write_sheet_csv(path: str | Path, frame: pd.DataFrame) -> None:
    """The report's CSV for readers: the 効果検証 sheet's Japanese columns (`sheet_frame`; BOM,
    formulas defused). `kpi scorecard --format csv` keeps the machine-readable columns."""
    frame = frame.copy()
    rates = frame.pop("達成率")  # a CSV has no number formats: the percentage as a number
    frame.insert(
        list(frame.columns).index("目標値") + 1,
        "達成率（%）",
        pd.Series([None if _gap(v) else round(100 * v) for v in rates], dtype=object),
    )
    write_csv_for_people(frame, path)


# The detailed scorecard for analysts: the readers' columns, the counts, the sources, the
# calculation in words and the departments' judgements.
DETAIL_COLUMNS = [*READER_COLUMNS, "n_points", "source", "calculation", "notes", *JUDGEMENT_FIELDS]
_RATES = {"achievement_rate", "pace", "p_meet"}
_VALUES = {
    *("baseline_value", "target_resolved", "latest_value", "cumulative_value"),
    *("expected_value", "forecast_value", "forecast_lower", "forecast_upper"),
}
_DETAIL_WIDTHS = {
    **{"kpi_id": 9, "measure": 6, "name_ja": 34, "unit": 7, "source": 40, "calculation": 60},
    **{"notes": 30, "progress_status": 12, "department": 14, "actions": 40, "assessment": 40},
    "direction_next": 10,
}


def _detail_sheet(ws, scorecard: Scorecard) -> None:
    """Fill `ws` with the detailed scorecard, one block of rows per basic goal."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    catalog, settings, columns = scorecard.catalog, scorecard.settings, DETAIL_COLUMNS
    ws.title = "スコアカード"
    ws.append([f"{catalog.strategy.title_ja} 効果検証スコアカード（{scorecard.as_of}年度時点）"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(
        [
            "達成率の算定: "
            + ("(実績−基準値)÷(目標値−基準値)" if settings.formula == "progress" else "実績÷目標値")
            + f"／評価（{settings.grades}）は達成率ではなく進捗（目安値に対する実績）で判定: "
            + "、".join(f"{k} 進捗 {v:.0%}以上" for k, v in settings.scale.steps)
            + f"、それ未満または基準値より悪化は {settings.scale.worst}、実績なしは −。"
            + "目標年度からは最終評価（達成／未達成）"
        ]
    )
    ws.append([HEADERS_JA[c] for c in columns])
    header_row = ws.max_row
    for cell in ws[header_row]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="305496")
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    goal_fill = PatternFill("solid", fgColor="D9E1F2")
    for goal, group in scorecard.frame().groupby("goal", sort=True):
        ws.append([f"基本目標{goal} {catalog.goal_title(int(cast(int, goal)))}"])
        r = ws.max_row
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=len(columns))
        ws.cell(r, 1).font = Font(bold=True)
        ws.cell(r, 1).fill = goal_fill
        for _, row in group.iterrows():
            ws.append([_xlsx_value(row[c], c) for c in columns])
            r = ws.max_row
            for j, c in enumerate(columns, start=1):
                if c in _RATES:
                    ws.cell(r, j).number_format = "0.0%"
                elif c in _VALUES:
                    ws.cell(r, j).number_format = "#,##0.##"
    for j, c in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(j)].width = _DETAIL_WIDTHS.get(c, 11)
    ws.freeze_panes = f"D{header_row + 1}"


def _freshness_sheet(fs, freshness: pd.DataFrame, fiscal_year: int) -> None:
    """The latest year each public statistic reaches (the same table as the report's index)."""
    from openpyxl.styles import Font

    fs.append([f"公表統計ごとの最新の年（{fiscal_year}年度の評価）"])
    fs["A1"].font = Font(bold=True)
    fs.append(list(freshness.columns))
    for record in freshness.itertuples(index=False):
        fs.append(list(record))
    for letter, width in zip("ABCDE", (60, 24, 14, 10, 14), strict=True):
        fs.column_dimensions[letter].width = width


def _xlsx_value(value, column: str):
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return None
    if column == "progress_status":
        return PROGRESS_STATUSES.get(value, value)
    if column == "direction":
        return DIRECTIONS_JA.get(value, value)
    if column == "evidence":
        return EVIDENCE_JA.get(value, value)
    if hasattr(value, "item"):
        return value.item()
    return value
