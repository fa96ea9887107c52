"""The typed Scorecard (issue 21): one object per KPI holding everything a reader is shown, counted
one way, with the calculation composed from the formula and the grade kept apart."""

import io
from pathlib import Path

import pandas as pd
import pytest

from kpi_lib.catalog.model import load_catalog
from kpi_lib.evaluation.outlook import Hindsight, Outlook
from kpi_lib.evaluation.rules import evaluate
from kpi_lib.evaluation.scorecard import (
    EVALUATION_FIELDS,
    SCORECARD_COLUMNS,
    _evaluation_fields,
    build_scorecard,
)
from kpi_lib.observations.handle import load_observations
from kpi_lib.reporting import batch, reading
from kpi_lib.reporting.sheet import sheet_frame, write_sheet_csv
from kpi_lib.reporting.tables import judgement_text
from tests.helpers import make_kpi, obs


@pytest.fixture(scope="module")
def cards(bundled_scorecard):
    return {year: bundled_scorecard(year) for year in (2021, 2024)}  # once per session


def test_an_entry_holds_the_kpi_its_evaluation_outlook_values_and_department(cards):
    before, final = cards[2021]["G2-2-3"], cards[2024]["G2-2-3"]  # ふるさと納税の寄附件数
    assert before.kpi.kpi_id == "G2-2-3" and before.evaluation.grade == "A"
    assert isinstance(before.outlook, Outlook) and before.hindsight is None
    assert final.evaluation.verdict == "未達成" and final.outlook is None
    assert isinstance(final.hindsight, Hindsight) and final.hindsight.origin == 2021
    # the values used, with their sources, up to the evaluation year only
    assert final.used["year"].max() == 2024 and before.used["year"].max() == 2021
    assert final.used["source"].str.contains("ふるさと納税").all()
    assert final.judgement.department == final.kpi.department  # no judgement: the catalog's
    assert cards[2024]["G1-1-1"].hindsight is None  # no public data: nothing to look back at


def test_the_frame_is_one_row_per_entry_in_the_scorecard_columns(cards):
    card = cards[2024]
    frame = card.frame()
    assert list(frame.columns) == SCORECARD_COLUMNS and len(frame) == len(card) == 65
    assert list(frame["kpi_id"]) == [k.kpi_id for k in card.catalog.kpis]
    row = frame.set_index("kpi_id").loc["G2-2-3"]
    assert (row.verdict, row.latest_value, row.latest_year) == ("未達成", 11_899, 2024)
    assert row.calculation == card["G2-2-3"].evaluation.calculation
    assert set(_evaluation_fields(card["G2-0"].evaluation)) == set(EVALUATION_FIELDS)


def test_results_are_counted_one_way(cards):
    card = cards[2024]
    results = card.results()
    assert results == {"未達成": 1, "公表待ち": 4, "未入力": 60}
    by_goal = card.results_by_goal(reading.status_order(card.settings))
    assert by_goal.columns.name == "最終評価" and list(by_goal.columns) == [
        "未達成",
        "公表待ち",
        "未入力",
    ]
    assert by_goal.loc["計"].to_dict() == dict(results)
    assert by_goal.drop(index="計").sum().sum() == 65
    assert cards[2021].results_by_goal(["A", "D"]).columns.name == "評価"


def test_the_batch_summary_row_matches_what_the_towns_csv_says(cards, tmp_path):
    """The summary now reads the scorecard; it must say what the town's own CSV says (the way
    the summary was counted before, from the file)."""
    for card in cards.values():
        write_sheet_csv(tmp_path / "scorecard.csv", sheet_frame(card))
        csv = pd.read_csv(io.StringIO((tmp_path / "scorecard.csv").read_text(encoding="utf-8-sig")))
        column = "最終評価" if "最終評価" in csv else "評価"
        counted = csv[column].value_counts()
        actuals = [c for c in csv.columns if c.endswith("実績")]
        row = batch._summary_row(card, Path("芦別市"))
        assert row["指標数"] == len(csv)
        assert row["実績のある指標"] == int(csv[actuals].notna().any(axis=1).sum())
        for label in ("達成", "未達成", "公表待ち", "未入力"):
            assert row[label] == int(counted.get(label, 0)), (card.as_of, label)
    assert batch._summary_row(cards[2024], Path("x"))["実績のある指標"] == 4


def test_a_departments_judgement_travels_with_its_entry():
    catalog = load_catalog()
    judgements = pd.DataFrame(
        [
            {
                "kpi_id": "G2-0",
                "department": "",  # left empty: the catalog's department stays
                "actions": "移住相談会を年4回開催",
                "assessment": "転出超過は縮小",
                "direction_next": "継続",
            }
        ]
    )
    card = build_scorecard(
        catalog, load_observations(catalog), 2024, forecast=False, judgements=judgements
    )
    j = card["G2-0"].judgement
    assert (j.actions, j.assessment, j.direction_next) == (
        "移住相談会を年4回開催",
        "転出超過は縮小",
        "継続",
    )
    assert j.department == catalog.get("G2-0").department
    row = card.frame().set_index("kpi_id").loc["G2-0"]
    assert row.actions == "移住相談会を年4回開催" and row.direction_next == "継続"
    assert sheet_frame(card).set_index("指標").loc[card["G2-0"].kpi.label, "今後の方向性"] == "継続"
    assert reading.direction_tally(list(card)) == "継続 1、未提出 64"


def test_the_calculation_is_the_formula_and_the_grade_composed():
    level = make_kpi(baseline=(2018, 100.0), value=200)
    ev = evaluate(level, obs((2021, 160)), 2021)
    assert ev.calculation == f"{ev.formula} → {ev.grade}" and " → " not in ev.formula
    worse = evaluate(level, obs((2021, 90)), 2021)
    assert worse.calculation.endswith(" → D（基準値より悪化）")
    final = evaluate(level, obs((2021, 160), (2024, 190)), 2024)
    assert final.calculation == f"最終評価（2024年度）: 未達成。{final.formula}"
    assert "→" not in final.calculation  # no pace grade beside the verdict
    open_ = evaluate(level, obs((2021, 160)), 2024)
    assert open_.calculation == f"最終評価は未確定。参考（最新の実績による）: {open_.formula}"


def test_a_milestones_final_verdict_carries_no_grade():
    plan = make_kpi(kind="milestone", baseline=None, unit="計画")
    before = evaluate(plan, obs((2022, 0)), 2022)
    assert before.calculation == "未策定（期限 2024年度まで）→ C"  # no space after the bracket
    final = evaluate(plan, obs((2022, 0), (2023, 1)), 2024)
    # the old text cut missed '）→ A' and kept the grade beside the verdict
    assert final.calculation == "最終評価（2024年度）: 達成。2023年度に策定済み（期限 2024年度）"


def test_a_final_verdict_is_shown_alone_under_a_chart(cards):
    final = judgement_text(cards[2024]["G2-2-3"])
    assert "最終評価 **未達成**" in final and "評価 **D**" not in final
    before = judgement_text(cards[2021]["G2-2-3"])
    assert "評価 **A**" in before and "最終評価" not in before.split("算定")[0]
