"""`kpi status`: who has returned what for an evaluation year, per 担当課.

The planning section chases the missing figures and judgements before the deadline: per KPI,
whether the year's figure is in (entered by the department, or an official statistic that
needs no entry; 公表待ち where that statistic has not reached the year yet) and whether the
department's judgement (取組内容, 評価・要因分析, 今後の方向性) is in; per department, the
counts and what is still missing.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from kpi_lib.catalog.model import Catalog
from kpi_lib.observations.judgements import TEXT_FIELDS, Returned, department_of
from kpi_lib.observations.values import choose_values

ENTERED, PUBLIC, PARTLY, MISSING = "入力済み", "公表統計", "一部のみ", "未入力"
AWAITED = "公表待ち"  # an official statistic feeds the KPI but has not reached the year yet
KPI_COLUMNS = ["担当課", "ID", "施策", "指標", "実績", "取組・評価", "提出ファイル"]
DEPARTMENT_COLUMNS = ["担当課", "指標数", "実績あり", "取組・評価あり", "未提出の指標"]


def kpi_status(catalog: Catalog, returned: Returned, fiscal_year: int) -> pd.DataFrame:
    """One row per KPI: its department, whether the year's figure and judgement are in."""
    chosen = choose_values(returned.observations)
    if not chosen.empty:
        chosen = chosen[chosen["year"] == fiscal_year].set_index("kpi_id")
    judged = returned.judgements_for(fiscal_year).set_index("kpi_id")
    rows = []
    for kpi in catalog.kpis:
        figure = AWAITED if kpi.public_series else MISSING
        files = []
        if kpi.kpi_id in chosen.index:
            obs = chosen.loc[kpi.kpi_id]
            figure = ENTERED if obs["provenance"] == "analyst" else PUBLIC
            if obs["provenance"] == "analyst":
                files.append(str(obs["source_file"]))
        judgement, department = MISSING, department_of(kpi)
        if kpi.kpi_id in judged.index:
            j = judged.loc[kpi.kpi_id]
            filled = [bool(str(j[f] or "").strip()) for f in TEXT_FIELDS]
            judgement = ENTERED if all(filled) else PARTLY
            department = str(j["department"] or department)
            files.append(Path(str(j["file"])).name)
        rows.append(
            {
                "担当課": department,
                "ID": kpi.kpi_id,
                "施策": kpi.measure_code,
                "指標": kpi.label,
                "実績": figure,
                "取組・評価": judgement,
                "提出ファイル": "、".join(dict.fromkeys(files)),
            }
        )
    return pd.DataFrame(rows, columns=KPI_COLUMNS)


def still_due(per_kpi: pd.DataFrame) -> pd.DataFrame:
    """The KPIs whose department still owes the year's figure or its judgement."""
    return per_kpi[(per_kpi["実績"] == MISSING) | (per_kpi["取組・評価"] != ENTERED)]


def department_status(per_kpi: pd.DataFrame) -> pd.DataFrame:
    """Per department: KPIs, how many have the figure and the judgement, which lack either."""
    rows = []
    for department, g in per_kpi.groupby("担当課", sort=True):
        missing = still_due(g)
        rows.append(
            {
                "担当課": department,
                "指標数": len(g),
                "実績あり": int(g["実績"].isin([ENTERED, PUBLIC]).sum()),
                "取組・評価あり": int((g["取組・評価"] == ENTERED).sum()),
                "未提出の指標": "、".join(missing["施策"] + " " + missing["指標"]),
            }
        )
    return pd.DataFrame(rows, columns=DEPARTMENT_COLUMNS)


def write_status_xlsx(per_kpi: pd.DataFrame, path, fiscal_year: int, title: str) -> None:
    """The sheet the planning section sends round: per department, then per KPI."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    from kpi_lib.core.output import defuse_workbook

    wb = Workbook()
    sheets = [
        ("担当課別", department_status(per_kpi), [16, 8, 10, 12, 90]),
        ("指標別", per_kpi, [16, 9, 6, 44, 10, 10, 24]),
    ]
    for i, (name, table, widths) in enumerate(sheets):
        ws = wb.active if i == 0 else wb.create_sheet()
        ws.title = name
        ws.append([f"{title} 提出状況（{fiscal_year}年度の効果検証）"])
        ws["A1"].font = Font(bold=True, size=13)
        ws.append(list(table.columns))
        for cell in ws[2]:
            cell.font = Font(bold=True)
            cell.fill = PatternFill("solid", fgColor="D9E1F2")
        for row in table.itertuples(index=False):
            ws.append(list(row))
            for cell in ws[ws.max_row]:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
        for j, width in enumerate(widths):
            ws.column_dimensions[chr(ord("A") + j)].width = width
        ws.freeze_panes = "A3"
        ws.auto_filter.ref = f"A2:{chr(ord('A') + len(table.columns) - 1)}{ws.max_row}"
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.print_title_rows = "2:2"
    defuse_workbook(wb)
    wb.save(path)
