"""The scorecard: every KPI of a catalog judged as of one fiscal year, one row each."""

from __future__ import annotations

import json
from pathlib import Path
from typing import cast

import pandas as pd

from kpi_lib.catalog.model import Catalog
from kpi_lib.core.paths import DATA_DIR
from kpi_lib.evaluation.outlook import ForecastConfig, hindsight, load_config, outlook
from kpi_lib.evaluation.rules import PROGRESS_STATUSES, RuleSettings, evaluate
from kpi_lib.observations.values import (
    choose_values,
)

# The department's judgement of the evaluation year beside its KPI (observations.judgements).
JUDGEMENT_FIELDS = ["department", "actions", "assessment", "direction_next"]
SCORECARD_COLUMNS = [
    "kpi_id",
    "goal",
    "measure",
    "name_ja",
    "unit",
    "direction",
    "target_kind",
    "baseline_year",
    "baseline_value",
    "target_year",
    "target_resolved",
    "target_placeholder",
    "review",
    "latest_year",
    "latest_value",
    "latest_relation",
    "cumulative_value",
    "expected_value",
    "achievement_rate",
    "pace",
    "grade",
    "progress_status",
    "met",
    "verdict",
    "first_met_year",
    "n_points",
    "forecast_value",
    "forecast_lower",
    "forecast_upper",
    "p_meet",
    "forecast_method",
    "evidence",
    "year_basis",
    "source",
    "provenance",
    "rate_based",
    "calculation",
    "notes",
    *JUDGEMENT_FIELDS,
    "inputs",
]

# Japanese headers for people (xlsx, notebooks).
HEADERS_JA = {
    "kpi_id": "ID",
    "goal": "基本目標",
    "measure": "施策",
    "name_ja": "指標",
    "unit": "単位",
    "direction": "方向",
    "target_kind": "目標の種類",
    "baseline_year": "基準年度",
    "baseline_value": "基準値",
    "target_year": "目標年度",
    "target_resolved": "目標値",
    "target_placeholder": "仮の目標",
    "review": "要確認",
    "latest_year": "実績年度",
    "latest_value": "実績値",
    "latest_relation": "実績値の統計",
    "cumulative_value": "累計",
    "expected_value": "目安値",
    "achievement_rate": "達成率",
    "pace": "進捗（目安値比）",
    "grade": "評価",
    "progress_status": "進捗状況",
    "met": "目標達成",
    "verdict": "最終評価",
    "first_met_year": "初めて目標に達した年度",
    "n_points": "データ数",
    "forecast_value": "見通し（目標年度）",
    "forecast_lower": "見通し下限",
    "forecast_upper": "見通し上限",
    "p_meet": "達成確率",
    "forecast_method": "予測手法",
    "evidence": "根拠の強さ",
    "year_basis": "年の区分",
    "source": "出典",
    "provenance": "データの種類",
    "rate_based": "率による評価",
    "calculation": "算定",
    "notes": "注記",
    "inputs": "算定の入力",
    "department": "担当課",
    "actions": "取組内容",
    "assessment": "評価・要因分析",
    "direction_next": "今後の方向性",
}
EVIDENCE_JA = {
    "none": "データ不足",
    "low": "弱い（2〜3点）",
    "moderate": "中（4点）",
    "sufficient": "十分（5点以上）",
    "not_applicable": "対象外",
    None: "",
}
DIRECTIONS_JA = {
    "increase": "増加が望ましい",
    "decrease": "減少が望ましい",
    "maintain": "水準を維持",
}
KINDS_JA = {
    "level": "目標値",
    "increase_pct": "基準値からの増加率",
    "decrease_pct": "基準値からの削減率",
    "maintain": "基準値を維持",
    "cumulative": "期間の累計",
    "benchmark": "全国平均との比較",
    "milestone": "計画策定",
}
OBS_HEADERS_JA = {
    "year": "年",
    "year_basis": "年の区分",
    "value": "値",
    "unit": "単位",
    "provenance": "種類",
    "source": "出典",
}


# Evaluation attributes the scorecard copies as they are, in its column order.
EVALUATION_FIELDS = [
    *("baseline_year", "baseline_value", "target_year", "target_resolved"),
    *("latest_year", "latest_value", "cumulative_value", "expected_value"),
    *("achievement_rate", "pace", "grade", "verdict", "progress_status"),
    *("met", "first_met_year"),
]

# The judgement as a person reads it, in order: the terminal table and the workbook (which adds
# the counts, sources and the calculation in words).
READER_COLUMNS = [
    *("kpi_id", "measure", "name_ja", "unit"),
    *EVALUATION_FIELDS[:-2],
    *("forecast_value", "forecast_lower", "forecast_upper", "p_meet", "evidence"),
]


def build_scorecard(
    catalog: Catalog,
    observations: pd.DataFrame,
    as_of: int,
    settings: RuleSettings | None = None,
    *,
    forecast: bool = True,
    data_dir: str | Path = DATA_DIR,
    municipality_code: str | None = None,
    forecast_config: ForecastConfig | None = None,
    judgements: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, dict]:
    """One row per KPI, and per kpi_id the evaluation (with history and inputs) and outlook;
    with the departments' `judgements` of the year as_of (Returned.judgements_for) beside."""
    settings = settings or RuleSettings()
    municipality_code = municipality_code or catalog.strategy.municipality_code
    forecast_config = forecast_config or load_config(Path(data_dir) / "forecast.yaml")
    chosen = choose_values(observations)
    rows, evaluations = [], {}
    for kpi in catalog.kpis:
        obs = chosen[chosen["kpi_id"] == kpi.kpi_id] if not chosen.empty else chosen
        ev = evaluate(kpi, obs, as_of, settings)
        # Once the target year is reached the verdict is final: no forecast, but a look
        # back at what the outlook said mid-period (public series only).
        ol = (
            outlook(
                kpi,
                obs,
                as_of,
                data_dir=Path(data_dir),
                municipality_code=municipality_code,
                config=forecast_config,
                settings=settings,
                target_resolved=ev.target_resolved,
            )
            if forecast and not ev.final
            else None
        )
        evaluations[kpi.kpi_id] = ev
        ev.outlook = ol
        if forecast and ev.final and kpi.public_series:
            ev.hindsight = hindsight(
                kpi,
                obs,
                ev,
                data_dir=Path(data_dir),
                municipality_code=municipality_code,
                config=forecast_config,
                settings=settings,
            )
        used = obs[obs["year"] <= as_of] if not obs.empty else obs
        rows.append(
            {
                "kpi_id": kpi.kpi_id,
                "goal": kpi.goal,
                "measure": kpi.measure_code,
                "name_ja": kpi.label,
                "unit": kpi.unit,
                "direction": kpi.direction,
                "target_kind": kpi.target.kind,
                **{name: getattr(ev, name) for name in EVALUATION_FIELDS},
                "target_placeholder": kpi.target.placeholder,
                "review": kpi.review,  # an import's open question: reports mark 要確認
                "latest_relation": _relation_of(used, ev.latest_year),
                "n_points": ev.n_points,
                "forecast_value": ol.forecast_value if ol else None,
                "forecast_lower": ol.forecast_lower if ol else None,
                "forecast_upper": ol.forecast_upper if ol else None,
                "p_meet": ol.p_meet if ol else None,
                "forecast_method": ol.method if ol else None,
                "evidence": ol.evidence if ol else None,
                "year_basis": _joined(used, "year_basis"),
                "source": _joined(used, "source"),
                "provenance": _joined(used, "provenance"),
                "rate_based": ev.rate_based,
                "calculation": ev.calculation,
                "notes": " / ".join(ev.notes),
                "inputs": json.dumps(
                    {
                        "rule": ev.rule,
                        "baseline": [ev.baseline_year, ev.baseline_value],
                        "baseline_source": ev.baseline_source,
                        "values_used": ev.history,
                        "settings": ev.settings,
                    },
                    ensure_ascii=False,
                ),
            }
        )
    card = pd.DataFrame(rows, columns=SCORECARD_COLUMNS)
    return _with_judgements(card, catalog, judgements), evaluations


def _with_judgements(card: pd.DataFrame, catalog: Catalog, judgements) -> pd.DataFrame:
    """The department of each KPI (the judgement's, else the catalog's) and its judgement."""
    card["department"] = [k.department for k in catalog.kpis]
    if judgements is None or judgements.empty:
        return card
    by_kpi = judgements.drop_duplicates("kpi_id").set_index("kpi_id")
    for field in JUDGEMENT_FIELDS:
        given = card["kpi_id"].map(by_kpi[field].replace("", None))
        card[field] = given.where(given.notna(), card[field])
    return card


def _relation_of(used: pd.DataFrame, year: int | None) -> str | None:
    """same / related / proxy for the public figure of that year (None: an analyst's value)."""
    if year is None or used.empty or "relation" not in used:
        return None
    rel = used.loc[used["year"] == year, "relation"].dropna()
    return str(rel.iloc[0]) if not rel.empty and rel.iloc[0] else None


def _joined(obs: pd.DataFrame, column: str) -> str:
    if obs.empty or column not in obs:
        return ""
    return " / ".join(dict.fromkeys(str(v) for v in obs[column].dropna()))


def grade_counts(card: pd.DataFrame, labels: list[str], column: str = "grade") -> pd.DataFrame:
    """Grades (or, with column='verdict', final verdicts) per basic goal in the given order;
    grades end with '−' for no data."""
    order = [*labels, "−"] if column == "grade" else list(labels)
    counts = pd.crosstab(card["goal"], card[column]).reindex(columns=order, fill_value=0)
    counts.loc["計"] = counts.sum()
    return counts.rename_axis(index="基本目標", columns=HEADERS_JA[column])


def add_scorecard_sheets(
    wb,
    ws,
    card: pd.DataFrame,
    as_of: int,
    catalog: Catalog,
    settings: RuleSettings | None = None,
    freshness: pd.DataFrame | None = None,
) -> None:
    """Fill `ws` with the detailed scorecard and add the sheet of the data's as-of years."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    settings = settings or RuleSettings()
    columns = [*READER_COLUMNS, "n_points", "source", "calculation", "notes", *JUDGEMENT_FIELDS]
    rates = {"achievement_rate", "pace", "p_meet"}
    values = {
        "baseline_value",
        "target_resolved",
        "latest_value",
        "cumulative_value",
        "expected_value",
        "forecast_value",
        "forecast_lower",
        "forecast_upper",
    }
    ws.title = "スコアカード"
    ws.append([f"{catalog.strategy.title_ja} 効果検証スコアカード（{as_of}年度時点）"])
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
    for goal, group in card.groupby("goal", sort=True):
        ws.append([f"基本目標{goal} {catalog.goal_title(int(cast(int, goal)))}"])
        r = ws.max_row
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=len(columns))
        ws.cell(r, 1).font = Font(bold=True)
        ws.cell(r, 1).fill = goal_fill
        for _, row in group.iterrows():
            ws.append([_xlsx_value(row[c], c) for c in columns])
            r = ws.max_row
            for j, c in enumerate(columns, start=1):
                if c in rates:
                    ws.cell(r, j).number_format = "0.0%"
                elif c in values:
                    ws.cell(r, j).number_format = "#,##0.##"
    widths = {
        "kpi_id": 9,
        "measure": 6,
        "name_ja": 34,
        "unit": 7,
        "source": 40,
        "calculation": 60,
        "notes": 30,
        "progress_status": 12,
        "department": 14,
        "actions": 40,
        "assessment": 40,
        "direction_next": 10,
    }
    for j, c in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(j)].width = widths.get(c, 11)
    ws.freeze_panes = f"D{header_row + 1}"
    if freshness is not None:
        fs = wb.create_sheet("データの時点")
        fs.append([f"公表統計ごとの最新の年（{as_of}年度の評価）"])
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
