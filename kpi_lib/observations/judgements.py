"""The departments' judgement of their KPIs and the committee's opinion per basic goal.

A 効果検証 is not only numbers: each 担当課 returns, beside its figures, what was done (取組内容),
why the figure moved (評価・要因分析) and what happens next (今後の方向性), for one evaluation
year (評価年度). The external committee (有識者会議) adds its opinion per basic goal in a
workbook of its own. Both are read from DATA/actuals/ with the figures; the same judgement or
figure given twice with different contents is refused naming both places (`conflicts`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from kpi_lib.catalog.model import Catalog, Kpi
from kpi_lib.catalog.notation import NotationError, parse_year
from kpi_lib.core.errors import InputError, InputErrors
from kpi_lib.core.numbers import number_text
from kpi_lib.core.vocabulary import HEADERS_JA
from kpi_lib.observations.entry_files import cell_text

DEPARTMENT_HEADER = HEADERS_JA["department"]
JUDGEMENT_YEAR_HEADER = "評価年度"
ACTIONS_HEADER = HEADERS_JA["actions"]
ASSESSMENT_HEADER = HEADERS_JA["assessment"]
DIRECTION_HEADER = HEADERS_JA["direction_next"]
JUDGEMENT_HEADERS = [
    DEPARTMENT_HEADER,
    JUDGEMENT_YEAR_HEADER,
    ACTIONS_HEADER,
    ASSESSMENT_HEADER,
    DIRECTION_HEADER,
]
# The wording of 今後の方向性 used in Japanese municipal evaluations (the drop-down's choices).
DIRECTIONS_NEXT = ("拡充", "継続", "改善", "縮小", "廃止", "完了")
UNASSIGNED = "未割当"  # the department of KPIs the catalog assigns to none

# One judgement: the KPI, the evaluation year, the texts, and where it was written.
JUDGEMENT_COLUMNS = [
    "kpi_id",
    "fiscal_year",
    "department",
    "actions",
    "assessment",
    "direction_next",
    "file",
    "sheet",
    "row",
]
TEXT_FIELDS = {
    "actions": ACTIONS_HEADER,
    "assessment": ASSESSMENT_HEADER,
    "direction_next": DIRECTION_HEADER,
}

REVIEW_SHEET = "有識者会議の意見"
REVIEW_HEADERS = ["基本目標", "基本目標の名称", JUDGEMENT_YEAR_HEADER, REVIEW_SHEET]
OPINION_COLUMNS = ["goal", "fiscal_year", "opinion", "file", "sheet", "row"]


def department_of(kpi: Kpi) -> str:
    """The KPI's 担当課 as the catalog names it, or 未割当."""
    return (kpi.department or "").strip() or UNASSIGNED


def judgement_year(text: str) -> int:
    """The evaluation year written as 2024, 2024年度, R6 or 令和6年度 (NotationError otherwise)."""
    return parse_year(text.split("(")[0].split("（")[0]).year


def read_judgement(
    cell: Callable[[str], str],
    kpi: Kpi,
    years: tuple[int, int],
    err: Callable[[str, str], None],
) -> dict | None:
    """The judgement on one row of an entry file, or None where its cells are empty.

    `cell(header)` gives a cell's text; `err(problem, column)` collects a problem of this row.
    """
    texts = {field: cell(header) for field, header in TEXT_FIELDS.items()}
    if not any(texts.values()):
        return None
    direction = texts["direction_next"]
    if direction and direction not in DIRECTIONS_NEXT:
        err(f"expected one of {' / '.join(DIRECTIONS_NEXT)}, found {direction!r}", DIRECTION_HEADER)
        return None
    raw_year = cell(JUDGEMENT_YEAR_HEADER)
    try:
        year = judgement_year(raw_year)
    except NotationError:
        err(
            f"expected the evaluation year of the judgement (e.g. 2024年度), found {raw_year!r}",
            JUDGEMENT_YEAR_HEADER,
        )
        return None
    if not years[0] <= year <= years[1]:
        err(f"evaluation year {year} is outside {years[0]}–{years[1]}", JUDGEMENT_YEAR_HEADER)
        return None
    department = cell(DEPARTMENT_HEADER) or department_of(kpi)
    return {"kpi_id": kpi.kpi_id, "fiscal_year": year, "department": department, **texts}


# ── the committee's workbook ──────────────────────────────────────────────────


def write_review_template(catalog: Catalog, path: str | Path, fiscal_year: int) -> None:
    """The committee's workbook: one row per basic goal for 有識者会議の意見 on `fiscal_year`."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    from kpi_lib.core.output import defuse_workbook

    wb = Workbook()
    ws = wb.active
    ws.title = REVIEW_SHEET
    ws.append([f"{catalog.strategy.title_ja} 有識者会議の意見（{fiscal_year}年度の効果検証）"])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append(["黄色の欄に、基本目標ごとの意見を記入してください。"])
    ws.append(REVIEW_HEADERS)
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="D9E1F2")
    entry = PatternFill("solid", fgColor="FFF2CC")
    for goal in catalog.goals:
        ws.append([goal.goal, goal.title_ja, fiscal_year, None])
        ws.cell(ws.max_row, 4).fill = entry
        ws.cell(ws.max_row, 4).alignment = Alignment(wrap_text=True, vertical="top")
    for letter, width in zip("ABCD", (9, 48, 10, 80), strict=True):
        ws.column_dimensions[letter].width = width
    defuse_workbook(wb)
    wb.save(path)


def is_review(rows: list[list]) -> bool:
    """Whether the rows are the committee's workbook (its header names 有識者会議の意見)."""
    return any(cell_text(v) == REVIEW_SHEET for r in rows[:10] for v in r)


def read_review(rows: list[list], file: str, sheet: str | None, catalog: Catalog) -> pd.DataFrame:
    """The committee's opinions, one per basic goal and year; every problem names its cell."""
    header_index = next(
        i for i, r in enumerate(rows) if any(cell_text(v) == REVIEW_SHEET for v in r)
    )
    col = {cell_text(h): j for j, h in enumerate(rows[header_index]) if cell_text(h)}
    errors: list[InputError] = []
    for name in ("基本目標", JUDGEMENT_YEAR_HEADER):
        if name not in col:
            errors.append(
                InputError(file, f"expected a column {name}", sheet=sheet, row=header_index + 1)
            )
    if errors:
        raise InputErrors(errors)
    goals = {g.goal for g in catalog.goals}
    records = []
    for i in range(header_index + 1, len(rows)):
        row, line = rows[i], i + 1

        def cell(name, row=row) -> str:
            j = col.get(name)
            return cell_text(row[j]) if j is not None and j < len(row) else ""

        opinion = cell(REVIEW_SHEET)
        if not opinion:
            continue

        def err(problem, column, line=line):
            errors.append(InputError(file, problem, sheet=sheet, row=line, column=column))

        try:
            goal = int(float(cell("基本目標")))
        except ValueError:
            err(f"expected the number of a basic goal, found {cell('基本目標')!r}", "基本目標")
            continue
        if goal not in goals:
            err(f"basic goal {goal} is not in the catalog ({sorted(goals)})", "基本目標")
            continue
        try:
            year = judgement_year(cell(JUDGEMENT_YEAR_HEADER))
        except NotationError:
            err("expected the evaluation year (e.g. 2024年度)", JUDGEMENT_YEAR_HEADER)
            continue
        records.append(
            {
                "goal": goal,
                "fiscal_year": year,
                "opinion": opinion,
                "file": file,
                "sheet": sheet,
                "row": line,
            }
        )
    if errors:
        raise InputErrors(errors)
    return pd.DataFrame(records, columns=OPINION_COLUMNS)


# ── everything returned, checked across files ────────────────────────────────


@dataclass
class Returned:
    """What the departments and the committee returned: figures (observations with provenance
    'analyst'), judgements per KPI and year, opinions per basic goal and year."""

    observations: pd.DataFrame
    judgements: pd.DataFrame
    opinions: pd.DataFrame

    @classmethod
    def empty(cls) -> Returned:
        """Nothing returned yet."""
        return cls(
            pd.DataFrame(),
            pd.DataFrame(columns=JUDGEMENT_COLUMNS),
            pd.DataFrame(columns=OPINION_COLUMNS),
        )

    def judgements_for(self, fiscal_year: int) -> pd.DataFrame:
        """The judgements of one evaluation year, one row per KPI."""
        j = self.judgements
        return j[j["fiscal_year"] == fiscal_year].drop_duplicates("kpi_id")

    def opinions_for(self, fiscal_year: int) -> dict[int, str]:
        """The committee's opinion per basic goal for one evaluation year."""
        o = self.opinions[self.opinions["fiscal_year"] == fiscal_year]
        return dict(zip(o["goal"].astype(int), o["opinion"], strict=True))


def _place(r) -> str:
    sheet = f", sheet {r['sheet']}" if isinstance(r["sheet"], str) and r["sheet"] else ""
    return f"{r['file']}{sheet}, row {int(r['row'])}"


def conflicts(
    frame: pd.DataFrame, key: list[str], compared: list[str], what: str
) -> list[InputError]:
    """Rows that give one `key` different `compared` contents in two places: an error naming
    both (the same contents twice are fine)."""
    if frame.empty:
        return []
    problems = []
    for k, group in frame.groupby(key, sort=True):
        distinct = group.drop_duplicates(compared)
        if len(distinct) < 2:
            continue
        first, second = distinct.iloc[0], distinct.iloc[1]
        label = " ".join(str(v) for v in (k if isinstance(k, tuple) else (k,)))
        problems.append(
            InputError(
                str(second["file"]),
                f"{what} for {label} differs from {_place(first)}: "
                f"{_shown(first, compared)} there, {_shown(second, compared)} here; "
                "keep one of them",
                sheet=second["sheet"] if isinstance(second["sheet"], str) else None,
                row=int(second["row"]),
            )
        )
    return problems


def _shown(r, compared: list[str]) -> str:
    """The compared contents as a person reads them: 1,234 or 「継続」."""
    return " / ".join(
        number_text(r[c]) if isinstance(r[c], int | float) else f"「{str(r[c])[:40]}」"
        for c in compared
    )
