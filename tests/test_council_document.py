"""The words of a result as the council reads them (issue 23): statuses that say why a result
is open, plain sentences, one reading of grades, the 効果検証 sheet. The whole FY2024 report is
read in tests/test_report.py (council_reads_the_final_evaluation), built once there."""

import pytest
from openpyxl import load_workbook

from kpi_lib.catalog.model import load_catalog
from kpi_lib.core.numbers import reader_percent
from kpi_lib.evaluation.rules import RuleSettings
from kpi_lib.evaluation.scorecard import build_scorecard
from kpi_lib.observations.handle import load_observations
from kpi_lib.reporting import reading
from kpi_lib.reporting.sheet import sheet_frame


@pytest.fixture(scope="module")
def judged():
    catalog = load_catalog()
    obs = load_observations(catalog)
    out = {}
    for year in (2022, 2024):
        out[year] = build_scorecard(catalog, obs, year, forecast=False)
    return out


def test_a_final_result_says_what_it_waits_for(judged):
    card = judged[2024]
    furusato, migration, hires = (card[i] for i in ("G2-2-3", "G2-0", "G1-0"))
    assert furusato.result == "未達成"  # 11,899 against 35,000
    assert migration.result == "公表待ち"
    assert reading.open_reason(migration, 2024) == (
        "住民基本台帳または社会・人口統計体系の2024年の値の公表待ち"
    )
    assert hires.result == "未入力"  # no department has entered it
    assert reading.open_reason(hires, 2024) == "担当課による2024年度の実績の入力待ち"
    assert card.results() == {
        "未達成": 1,
        "公表待ち": 4,
        "未入力": 60,
    }


def test_plain_sentences_from_the_figures(judged):
    card = judged[2024]
    sentence = reading.plain_sentence(card["G2-0"])
    # SSDS 2023: 301 − 426 = −125; baseline H30 −153; target −100: 28 of 53 = 53 %
    assert sentence == (
        "目標 ▲100人 に対し実績 ▲125人（2023年）。基準値 ▲153人から目標までの53%まで進みました。"
    )
    sentence = reading.plain_sentence(card["G2-2-3"])
    assert sentence == (
        "目標 35,000件 に対し実績 11,899件（2024年度）。"
        "基準値 3,366件から目標までの27%まで進みました。"
    )
    sentence = reading.plain_sentence(card["G3-0"])
    assert sentence == (
        "目標（2020〜2024年度の累計）150件に対し、2020〜2022年度の累計は91件（目標の61%）。"
    )
    assert reading.plain_sentence(card["G1-0"]) == "実績なし。"


def test_before_the_target_year_the_grade_is_the_result(judged):
    migration = judged[2022]["G2-0"]
    assert migration.result == migration.evaluation.grade != "−"


def test_one_reading_of_grades():
    legend = reading.grade_legend(RuleSettings())
    assert "進捗" in legend and "A 100%以上、B 80%以上、C 50%以上" in legend
    assert "最終評価（達成／未達成）" in legend and "進捗による評価は示しません" in legend
    assert "◎ 100%以上" in reading.grade_legend(RuleSettings(grades="symbols"))


def test_the_evaluation_is_named_by_its_year():
    catalog = load_catalog()
    assert reading.evaluation_name(catalog, 2024) == "最終評価"
    assert reading.evaluation_name(catalog, 2021) == "中間評価"  # the year the final looks back to
    assert reading.evaluation_name(catalog, 2022) == "効果検証"


def test_negative_shares_carry_the_triangle():
    assert reader_percent(-0.6) == "▲60%" and reader_percent(0.27) == "27%"
    assert reader_percent(-0.001) == "0%"


def test_the_sheet_before_the_target_year(judged):
    frame = sheet_frame(judged[2022])
    assert "評価" in frame.columns and "最終評価" not in frame.columns
    furusato = frame.set_index("指標").loc["ふるさと納税の寄附件数"]
    assert furusato["R4実績"] == 24_829 and furusato["R5実績"] is None  # nothing after the year
    assert furusato["施策"] == "2-③" and isinstance(furusato["R4実績"], int)


def test_kpi_scorecard_xlsx_is_the_evaluation_sheet(scorecard_workbook):
    wb = load_workbook(scorecard_workbook(2024))  # written once per session (tests/conftest.py)
    assert wb.sheetnames == ["効果検証", "スコアカード", "データの時点"]
    ws = wb["効果検証"]
    values = [c.value for row in ws.iter_rows(min_row=3) for c in row if isinstance(c.value, str)]
    for code in ("sufficient", "not_applicable", "unable_to_assess", "KPI ID", "increase"):
        assert code not in values
    detail = [c.value for row in wb["スコアカード"].iter_rows(min_row=3) for c in row]
    assert "sufficient" not in detail and "not_applicable" not in detail


def test_the_readers_table_shows_no_pace_grade_beside_a_final_verdict(judged):
    from kpi_lib.reporting.tables import reader_table

    final = reader_table(judged[2024].entries)
    assert "最終評価" in final.columns and "評価" not in final.columns
    # an open verdict says what it waits for, counted as the first page counts it
    assert "未確定" not in set(final["最終評価"])
    assert final["最終評価"].value_counts().to_dict() == dict(judged[2024].results())
    assert "評価" in reader_table(judged[2022].entries).columns  # before the target year: the grade


def test_the_look_back_table_says_what_an_open_result_waits_for(report_context):
    from kpi_lib.reporting.tables import hindsight_table

    table = hindsight_table(report_context(2024))
    assert not any("未確定" in cell for cell in [*table["結果"], *table["最終評価"]])
    migration = table[table["指標"].str.contains("社会移動数")].iloc[0]
    assert migration["結果"] == "公表待ち（最新 2023: ▲125）"  # 住民基本台帳 to 2023
    assert migration["最終評価"] == "公表待ち"
