"""`kpi catalog import` and `kpi catalog diff`: a strategy's KPI list in each of its three layouts
becomes a catalog that validates, reproduces the hand-made Ashibetsu catalog, marks what it could
not read, refuses hostile input, and goes through template, scorecard and report."""

import csv
import json
import sys
import zipfile

import pytest
import yaml
from openpyxl import Workbook, load_workbook

from kpi_lib.catalog.diff import compared
from kpi_lib.catalog.model import load_catalog
from kpi_lib.catalog.notation import NotationError, parse_quantity, parse_target
from kpi_lib.core.paths import PROJECT_ROOT
from kpi_lib.observations.actuals import SHEET
from tests.conftest import (
    FIXTURES,
    STRATEGY,
    kpi,  # `kpi ARGS` in a subprocess, as a user runs it
    need_shared,
)

KPI = [sys.executable, "-m", "kpi_lib.cli"]
ASHIBETSU = "012165"
IDENTITY = ("name_ja", "baseline_year", "baseline_value", "target_year", "target_resolved")


def imported(source, out, period="2025-2029", code=ASHIBETSU):
    proc = kpi(
        "catalog", "import", source, "--municipality", code, "--period", period, "--out", out
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return load_catalog(out), proc.stderr


def _same(a, b) -> bool:
    if isinstance(a, float | int) and isinstance(b, float | int):
        return abs(a - b) <= 1e-9 * max(1.0, abs(a))
    return a == b


def identical(old, new) -> tuple[list[str], list[str]]:
    """Ids identical in name, baseline year and value, target year and resolved target; and
    the others."""
    same, other = [], []
    for k in old.kpis:
        n = new.by_id.get(k.kpi_id)
        ok = n is not None and all(_same(compared(k)[f], compared(n)[f]) for f in IDENTITY)
        (same if ok else other).append(k.kpi_id)
    return same, other


# ── layout 1: the strategy's text ──────────────────────────────────────────────────────────


@pytest.fixture(scope="module")
def seed_import(tmp_path_factory):
    need_shared(STRATEGY)
    out = tmp_path_factory.mktemp("seed") / "ashibetsu.yaml"
    return imported(STRATEGY, out, period="2020-2024") + (out,)


def test_the_seed_strategy_reproduces_the_bundled_catalog(seed_import):
    new, stderr, _ = seed_import
    old = load_catalog()
    assert len(new.kpis) == len(old.kpis) == 65
    same, other = identical(old, new)
    assert len(same) >= 60, other
    assert sorted(other) == ["G2-0", "G3-1-5", "G4-4-1"]
    for kpi_id in other:  # none silently different
        assert new.by_id[kpi_id].review, kpi_id
        assert f"review {kpi_id}" in stderr
    # values traced to the strategy's cells
    assert new.by_id["G1-1-1"].baseline.value == 106_043_000  # 106,043千円
    assert new.by_id["G2-1-2"].resolve_target() == pytest.approx(1_010_936.3)  # 919,033人 +10%
    assert new.by_id["G2-2-3"].baseline.year == 2020  # the table headed 基準値 (R2)
    assert new.by_id["G3-1-8"].baseline.year == 2022 and new.by_id["G3-1-8"].target.value == 3
    assert new.by_id["G1-0"].numeric_goal and new.by_id["G1-0"].target.span.start == 2020
    assert new.by_id["G3-2-2"].baseline.range.low == -10.5
    assert (
        new.by_id["G4-4-1"].target.kind == "milestone" and new.by_id["G4-4-1"].target.year == 2024
    )
    parts = new.by_id["G2-4-2"].baseline.components
    assert [(c.name_ja, c.value) for c in parts] == [("北日本自動車大学校", 19), ("星槎大学", 0)]
    assert "one total" in new.by_id["G2-4-2"].review
    assert "numbers this section 3" in new.by_id["G4-5-1"].review  # the strategy's slip
    assert new.by_id["G1-1-3"].baseline.per_year  # 3人／年
    assert new.by_id["G3-1-4b"].direction == "maintain"  # 100% → 100%
    assert "equals the baseline" in new.by_id["G3-1-4b"].direction_inferred
    # texts verbatim beside what was parsed
    assert new.by_id["G1-2-2"].baseline.text == "木質チップ燃料 生産量 2,500 t"
    assert new.by_id["G1-5-1"].unit == "kg-CO2"


def test_the_imported_seed_validates_with_its_reviews_as_warnings(seed_import):
    new, _, out = seed_import
    proc = kpi("validate", out)
    assert proc.returncode == 0, proc.stderr
    assert f"{sum(1 for k in new.kpis if k.review)} open review item(s)" in proc.stdout
    assert "warning:" in proc.stderr and "G3-1-5" in proc.stderr


def test_diff_of_the_bundled_and_the_imported_catalog(seed_import):
    _, _, out = seed_import
    proc = kpi("catalog", "diff", PROJECT_ROOT / "data/kpis/ashibetsu_2nd_strategy.yaml", out,
               "--format", "json")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    names = {(r["kpi_id"], r["field"]) for r in rows if r["field"].startswith("name_ja")}
    assert {k for k, _ in names} == {"G3-1-5", "G4-4-1"}
    g20 = [r for r in rows if r["kpi_id"] == "G2-0" and r["field"].startswith("baseline_year")]
    assert g20 and g20[0]["old"] == "2018" and g20[0]["new"] == "—"


def test_an_excerpt_of_the_strategy_without_shared(tmp_path):
    """Goals 3 and 4 of the seed text (committed): HTML cells, 基準値(R4) tables, several
    indicators of one measure, 基準値なし, a range and a benchmark, the section-number slip."""
    new, _ = imported(FIXTURES / "strategy_excerpt_goals3_4.txt", tmp_path / "c.yaml", "2020-2024")
    old = load_catalog()
    same, other = identical(old, new)
    assert set(other) - {k.kpi_id for k in old.kpis if k.goal in (3, 4)} == {
        k.kpi_id for k in old.kpis if k.goal in (1, 2)
    }
    assert sorted(k for k in other if k.startswith(("G3", "G4"))) == ["G3-1-5", "G4-4-1"]
    assert [k.kpi_id for k in new.kpis if k.kpi_id.startswith("G3-1-6")] == [
        f"G3-1-6{c}" for c in "abcdef"
    ]
    assert new.by_id["G3-1-6f"].baseline.status == "none"
    assert new.goal_title(4).endswith("地域と地域を連携する")  # the PDF's space dropped


OTHER_TOWN_TEXT = (
    "基本目標Ⅱ　新しいひとの流れをつくる\n\n"
    "★ 社会増減数：5年後に△50人\n\n"
    "１．移住・定住の促進\n\n"
    "施策\t指標\t現状値（R5）\t目標値（R11）\n"
    "①移住支援の充実 相談窓口を充実します。\t移住相談件数\t120 件\t200 件\n"
    "\t空き家バンク成約数\t4件／年\t年間10件\n"
    "②<p>関係人口の創出</p><p>ふるさと納税を活用します。</p>\tふるさと納税額\t"
    "1億2,345万円\t3億円以上\n"
)


def test_another_towns_strategy_text_with_a_name_column(tmp_path):
    source = tmp_path / "strategy.txt"
    source.write_text(OTHER_TOWN_TEXT, encoding="cp932")  # Shift_JIS text
    cat, _ = imported(source, tmp_path / "c.yaml")
    k = cat.by_id
    assert cat.goals[0].goal == 2 and cat.goals[0].title_ja == "新しいひとの流れをつくる"
    assert k["G2-0"].target.value == -50 and k["G2-0"].target.year == 2029
    assert k["G2-1-1a"].name_ja == "移住相談件数" and k["G2-1-1a"].baseline.year == 2023
    assert k["G2-1-1a"].measure.title_ja == "移住支援の充実"
    assert k["G2-1-1b"].baseline.per_year and k["G2-1-1b"].target.value == 10
    money = k["G2-1-2"]
    assert money.measure.title_ja == "関係人口の創出"
    assert (money.baseline.value, money.target.value) == (123_450_000, 300_000_000)
    assert money.target.comparator == ">=" and money.unit == "円"


def test_a_numeric_goal_before_any_goal_heading_is_named_not_dropped(tmp_path):
    """A ★ line above the first 基本目標 heading belongs to no goal: it is left out with a note
    naming its line (it was dropped without a word)."""
    source = tmp_path / "strategy.txt"
    source.write_text("★ 社会増減数：5年後に△50人\n\n" + OTHER_TOWN_TEXT, encoding="utf-8")
    cat, stderr = imported(source, tmp_path / "c.yaml")
    assert "line 1: a ★ numeric goal before any 基本目標 heading, left out" in stderr
    assert [k.kpi_id for k in cat.kpis if k.numeric_goal] == ["G2-0"]  # the one under its goal


def test_a_measure_number_before_its_paragraph(tmp_path):
    """「③<p>関係人口の創出</p>…」: the measure's number stands before the paragraph; it was
    lost (under review 「no number」) and the next free number, 2, taken instead."""
    source = tmp_path / "strategy.txt"
    source.write_text(OTHER_TOWN_TEXT.replace("②<p>", "③<p>"), encoding="utf-8")
    cat, _ = imported(source, tmp_path / "c.yaml")
    money = cat.by_id["G2-1-3"]
    assert (money.measure.number, money.measure.title_ja) == (3, "関係人口の創出")
    assert money.review is None and "G2-1-2" not in cat.by_id


# ── layout 2: a line list ──────────────────────────────────────────────────────────────────

LINE_LIST = """\
第3期総合戦略 KPI一覧
基準値(R5) → 目標値(R11)

1. 結婚・出産・子育ての希望をかなえる
★ 婚姻件数:60件 → 5年間で350件
(1) 結婚支援
① 出会いの場の創出
婚活イベントの参加者数:40人 → 5年間で250人
結婚新生活支援の利用:1.4人/年 → 4組/年
(2) 子育て支援
① 保育の充実
待機児童数:3人 → 0人
子育て支援センターの利用者数:― → 5,000人
2. 安心な暮らし
(1) 防災と環境
① 防災力の強化
自主防災組織の組織率:45.2%（R4） → 60%以上
防災計画の改定:未策定 → 令和8年度中の計画策定
② 脱炭素
市内のCO2排出量:1150万t-CO2 → 基準値の10%削減
ふるさと納税額:4億3,0000万円 → 5億円
"""


def test_a_line_list_under_numbered_headings(tmp_path):
    source = tmp_path / "kpi_lines.txt"
    source.write_text(LINE_LIST, encoding="utf-8")
    cat, stderr = imported(source, tmp_path / "c.yaml")
    k = cat.by_id
    assert [g.title_ja for g in cat.goals] == ["結婚・出産・子育ての希望をかなえる", "安心な暮らし"]
    assert k["G1-0"].numeric_goal and k["G1-0"].target.kind == "cumulative"
    assert k["G1-0"].target.span.start == 2025 and k["G1-0"].baseline.year == 2023  # R5
    assert k["G1-1-1a"].measure.section_ja == "結婚支援"
    assert k["G1-1-1a"].measure.title_ja == "出会いの場の創出"
    rate = k["G1-1-1b"]  # 1.4人/年 → 4組/年
    assert rate.baseline.per_year and rate.baseline.value == 1.4 and rate.target.value == 4
    assert "人" in rate.review and "組" in rate.review
    assert k["G1-2-1a"].direction == "decrease"  # 3人 → 0人
    assert k["G1-2-1b"].baseline.status == "none"  # ―
    assert k["G2-1-1a"].baseline.year == 2022  # (R4) beside the value
    assert k["G2-1-1a"].target.comparator == ">="
    assert k["G2-1-1b"].target.kind == "milestone" and k["G2-1-1b"].target.year == 2026
    co2 = k["G2-1-2a"]
    assert (co2.unit, co2.baseline.value, co2.resolve_target()) == ("t-CO2", 11_500_000, 10_350_000)
    assert co2.direction == "decrease"
    money = k["G2-1-2b"]  # the malformed number is written, not guessed
    assert "4億3,0000万円" in money.review and "three digits" in money.review
    assert money.target.value == 500_000_000 and money.unit == "円"
    assert "review G2-1-2b" in stderr
    assert kpi("validate", tmp_path / "c.yaml").returncode == 0


# ── layout 3: spreadsheets ─────────────────────────────────────────────────────────────────


def _xlsx(path, rows, title="KPI一覧"):
    wb = Workbook()
    ws = wb.active
    ws.title = title
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


SHEET_ROWS = [
    ["第3期 総合戦略 成果指標一覧"],
    [],
    [
        "No.",
        "基本目標",
        "施策",
        "成果指標",
        "現状値",
        "現状値の時点",
        "目標値（R11）",
        "単位",
        "担当課",
        "備考",
    ],  # fmt: skip
    [
        1,
        "基本目標1 しごとをつくる",
        "企業誘致の推進",
        "新規立地企業数",
        2,
        "2022年度（R4）",
        5,
        "社",
        "商工観光課",
        "",
    ],  # fmt: skip
    [2, None, "企業誘致の推進", "市内総生産", 5780, "R4", "6,000", "億円", "企画課", ""],
    [
        3,
        "基本目標2 ひとの流れをつくる",
        "観光振興",
        "観光入込客数",
        "421万人",
        "2023年度",
        "5年間で10%増加",
        None,
        "商工観光課",
        "",
    ],  # fmt: skip
    [4, None, "まちづくり", "都心の区域内実容積率", "237.8%", "R4", "250%", None, "都市計画課", ""],
    [5, None, "まちづくり", "通勤の平均所要時間", "60分", "令和4年度", "50分", None, None, ""],
    [6, None, "移住促進", "移住相談件数", "30件 40件", "R4", "100件", None, "", ""],
]


def test_a_spreadsheet_in_the_towns_own_words(tmp_path):
    source = _xlsx(tmp_path / "kpi.xlsx", SHEET_ROWS)
    cat, stderr = imported(source, tmp_path / "c.yaml")
    k = {x.name_ja: x for x in cat.kpis}
    assert [g.title_ja for g in cat.goals] == ["しごとをつくる", "ひとの流れをつくる"]
    firms = k["新規立地企業数"]
    assert (firms.baseline.year, firms.baseline.value, firms.unit) == (2022, 2, "社")
    assert firms.target.year == 2029 and firms.department == "商工観光課"
    assert k["市内総生産"].baseline.value == 578_000_000_000 and k["市内総生産"].unit == "円"
    assert k["観光入込客数"].resolve_target() == pytest.approx(4_631_000)
    assert k["通勤の平均所要時間"].direction == "decrease" and k["通勤の平均所要時間"].unit == "分"
    assert k["通勤の平均所要時間"].department is None
    assert "2 values" in k["移住相談件数"].review
    assert "column J 「備考」 is not understood" in stderr and "指標名" in stderr
    assert k["都心の区域内実容積率"].bounds() == (0.0, None)  # 237.8 % written: no cap at 100


def test_percent_formatted_cells_and_headers_on_two_lines(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["指標名", "基準値\n（R4）", "目標値\n（R11）"])
    ws.append(["住み続けたい市民の割合", 0.352, 0.5])
    for cell in ws[2][1:]:
        cell.number_format = "0.0%"  # Excel shows 35.2% and 50.0%
    wb.save(tmp_path / "kpi.xlsx")
    cat, _ = imported(tmp_path / "kpi.xlsx", tmp_path / "c.yaml")
    k = cat.kpis[0]
    assert (k.unit, k.baseline.value, k.baseline.year, k.target.value) == ("%", 35.2, 2022, 50)


def test_a_shift_jis_csv_with_other_wordings(tmp_path):
    source = tmp_path / "kpi.csv"
    rows = [
        ["基本目標", "指標", "基準値（R4）", "目標値", "目標年度", "単位", "所管課"],
        ["1", "婚姻件数", "120", "150", "令和11年度", "件", "市民課"],
        ["1", "ごみの総排出量", "1,150", "基準値の5%削減", "R11", "t", "環境課"],
        ["2", "公園の数", "12", "15", "R11", "箇所", ""],
        ["2", "★転出超過数", "85", "40人以下", "R11", "人", ""],
        ["2", "社会増減数", "△85", "△40人以下", "R11", "人", ""],
        ["2", "待機児童数", "?", "0", "R11", "人", ""],
    ]
    with source.open("w", encoding="cp932", newline="") as fh:
        csv.writer(fh).writerows(rows)
    cat, stderr = imported(source, tmp_path / "c.yaml")
    k = {x.name_ja: x for x in cat.kpis}
    assert k["婚姻件数"].baseline.year == 2022 and k["婚姻件数"].target.year == 2029
    assert k["ごみの総排出量"].resolve_target() == pytest.approx(1092.5)
    assert k["転出超過数"].numeric_goal and k["転出超過数"].baseline.value == 85
    assert k["転出超過数"].direction == "decrease"  # 以下
    contradiction = k["社会増減数"]  # 以下, yet above the baseline: not guessed
    assert contradiction.baseline.value == -85 and "schema refuses" in contradiction.review
    assert contradiction.target.placeholder and contradiction.target.text == "△40人以下"
    assert "no readable value" in k["待機児童数"].review  # an unreadable cell
    assert k["公園の数"].department is None and k["婚姻件数"].department == "市民課"


def test_a_utf8_csv_with_bom_and_a_missing_year(tmp_path):
    source = tmp_path / "kpi.csv"
    source.write_text("KPI,現状値,目標値（R11）\n移住者数,16人,40人\n", encoding="utf-8-sig")
    cat, _ = imported(source, tmp_path / "c.yaml")
    k = cat.kpis[0]
    assert (k.name_ja, k.baseline.value, k.target.year) == ("移住者数", 16, 2029)
    assert k.baseline.year == 2024 and "no baseline year" in k.review


def test_bare_years_in_year_columns_and_headers(tmp_path):
    """A year written 2022 (a number in Excel's 基準年度 column, or 目標値（2029） in a header)
    is a year: it was read as no year, and a header's 2029 as the column's unit (16 → 162029)."""
    columns = _xlsx(
        tmp_path / "kpi.xlsx",
        [
            ["指標名", "基準値", "基準年度", "目標値", "目標年度"],
            ["移住者数", "16人", 2022, "40人", 2029],
        ],
    )
    k = imported(columns, tmp_path / "c.yaml")[0].kpis[0]
    assert (k.baseline.year, k.target.year, k.review) == (2022, 2029, None)
    header = tmp_path / "kpi.csv"
    header.write_text("指標名,基準値（2022）,目標値（2029）\n移住者数,16,40\n", encoding="utf-8")
    k = imported(header, tmp_path / "h.yaml")[0].kpis[0]
    assert (k.baseline.year, k.baseline.value, k.target.year, k.target.value) == (
        2022,
        16,
        2029,
        40,
    )
    assert k.unit == "" and "no unit" in k.review
    dated = _xlsx(
        tmp_path / "d.xlsx",
        [["指標名", "基準値", "基準年度", "目標値"], ["移住者数", 16, "2023/3/31", 40]],
    )
    k = imported(dated, tmp_path / "d.yaml")[0].kpis[0]  # a date is not taken for its year
    assert "the baseline year 「2023/3/31」 cannot be read" in k.review


def test_a_sheets_goals_numbered_in_roman_numerals(tmp_path):
    """基本目標Ⅰ / Ⅱ in the goal column are goals 1 and 2 (as in a strategy's text): they were all
    read as goal 1, titled after the last one (基本目標II…), with nothing to review."""
    source = tmp_path / "kpi.csv"
    source.write_text(
        "基本目標,指標名,基準値（R4）,目標値（R11）\n"
        "基本目標Ⅰ しごとをつくる,新規立地企業数,2社,5社\n"
        ",市内総生産,5780億円,6000億円\n"
        "Ⅱ ひとの流れをつくる,移住者数,16人,40人\n",
        encoding="utf-8",
    )
    cat, _ = imported(source, tmp_path / "c.yaml")
    assert [(g.goal, g.title_ja) for g in cat.goals] == [
        (1, "しごとをつくる"),
        (2, "ひとの流れをつくる"),
    ]
    assert [(k.goal, k.name_ja) for k in cat.kpis] == [
        (1, "新規立地企業数"),
        (1, "市内総生産"),
        (2, "移住者数"),
    ]


def test_a_sheets_goal_column_of_titles_without_numbers(tmp_path):
    """A goal column that gives only the goals' titles numbers them in order of appearance (as
    measures are): every indicator was read as goal 1, under the first title."""
    source = _xlsx(
        tmp_path / "kpi.xlsx",
        [
            ["基本目標", "指標名", "基準値（R4）", "目標値（R11）"],
            ["しごとをつくる", "新規立地企業数", "2社", "5社"],
            ["ひとの流れをつくる", "移住者数", "16人", "40人"],
            [None, "転入者数", "300人", "350人"],  # a merged cell: carried down
            ["しごとをつくる", "市内総生産", "5780億円", "6000億円"],
        ],
    )
    cat, _ = imported(source, tmp_path / "c.yaml")
    assert [(g.goal, g.title_ja) for g in cat.goals] == [
        (1, "しごとをつくる"),
        (2, "ひとの流れをつくる"),
    ]
    assert [k.goal for k in cat.kpis] == [1, 2, 2, 1]


def test_a_sheet_without_a_target_column_says_how_to_name_it(tmp_path):
    source = _xlsx(tmp_path / "kpi.xlsx", [["指標名", "基準値", "ゴール"], ["移住者数", 16, 40]])
    proc = kpi("catalog", "import", source, "--municipality", ASHIBETSU, "--out",
               tmp_path / "c.yaml")  # fmt: skip
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "kpi.xlsx" in proc.stderr and "目標値" in proc.stderr and "row 1" in proc.stderr
    assert not (tmp_path / "c.yaml").exists()


# ── hostile input ──────────────────────────────────────────────────────────────────────────


def _refused(tmp_path, source, *says):
    out = tmp_path / "out.yaml"
    proc = kpi("catalog", "import", source, "--municipality", ASHIBETSU, "--out", out)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and source.name in proc.stderr
    for s in says:
        assert s in proc.stderr
    assert not out.exists()


def test_a_100_mb_file_is_refused_unread(tmp_path):
    big = tmp_path / "strategy.txt"
    with big.open("wb") as fh:
        fh.truncate(100_000_000)  # sparse: costs no disk
    _refused(tmp_path, big, "too large")


def test_binary_data_is_refused(tmp_path):
    blob = tmp_path / "strategy.txt"
    blob.write_bytes(bytes(range(256)) * 64)
    _refused(tmp_path, blob, "binary data")
    fake = tmp_path / "kpi.xlsx"
    fake.write_bytes(b"\x89PNG\r\n" + bytes(1000))
    _refused(tmp_path, fake, "not an .xlsx")


def test_a_workbook_that_decompresses_beyond_the_bound_is_refused(tmp_path):
    bomb = tmp_path / "kpi.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/worksheets/sheet1.xml", bytes(101_000_000))  # ~100 KB compressed
    assert bomb.stat().st_size < 1_000_000
    _refused(tmp_path, bomb, "decompresses to 101,000,000 bytes")


def test_an_overlong_cell_is_not_read_as_a_number(tmp_path):
    source = tmp_path / "l.txt"
    source.write_text("移住者数:" + "1" * 100_000 + "人（R1） → 40人\n", encoding="utf-8")
    cat, _ = imported(source, tmp_path / "c.yaml")
    k = cat.kpis[0]
    # no value read from it; the schema's bound on texts (32,767 characters) drops the cell too
    assert (
        k.baseline is None or k.baseline.value is None
    ) and "longer than a value cell" in k.review
    assert len(k.review) < 1000  # the cell is quoted, not copied


def test_formula_cells_are_refused(tmp_path):
    rows = [["指標名", "基準値", "目標値"], ["移住者数", "=SUM(A1:A9)", 40]]
    _refused(tmp_path, _xlsx(tmp_path / "kpi.xlsx", rows), "B2", "formula")


def test_an_existing_out_is_never_overwritten(tmp_path):
    source = tmp_path / "l.txt"
    source.write_text("移住者数:16人（R1） → 40人\n", encoding="utf-8")
    out = tmp_path / "c.yaml"
    out.write_text("mine", encoding="utf-8")
    proc = kpi("catalog", "import", source, "--municipality", ASHIBETSU, "--out", out)
    assert proc.returncode == 2 and out.read_text(encoding="utf-8") == "mine"


def test_hostile_text_stays_text(tmp_path):
    source = tmp_path / "l.txt"
    source.write_text(
        '1. <script>alert(1)</script>\n=cmd|"/c calc"!A1:16人（R1） → 40人\n'
        "名前: &anchor 3件（R1） → 5件\n",
        encoding="utf-8",
    )
    cat, _ = imported(source, tmp_path / "c.yaml")
    assert [k.name_ja for k in cat.kpis] == ['=cmd|"/c calc"!A1', "名前"]  # text, not YAML
    assert cat.goals[0].title_ja == "alert(1)"  # markup is stripped from headings
    assert yaml.safe_load((tmp_path / "c.yaml").read_text(encoding="utf-8"))["kpis"]


# ── diff ───────────────────────────────────────────────────────────────────────────────────


def test_diff_names_each_change_added_and_removed(tmp_path):
    source = tmp_path / "l.txt"
    source.write_text(LINE_LIST, encoding="utf-8")
    old_path = tmp_path / "old.yaml"
    imported(source, old_path)
    raw = yaml.safe_load(old_path.read_text(encoding="utf-8"))
    raw["kpis"][1]["target"]["value"] = 300  # 5年間で250人 → 300人
    raw["kpis"][1]["target"]["notation"] = raw["kpis"][1]["target"]["text"] = "5年間で300人"
    removed = raw["kpis"].pop(3)["kpi_id"]
    raw["kpis"][0]["kpi_id"] = "G1-0x"  # renumbered: paired by name
    new_path = tmp_path / "new.yaml"
    new_path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    proc = kpi("catalog", "diff", old_path, new_path, "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(proc.stdout.splitlines()))
    by = {(r["kpi_id"], r["change"], r["field"].split("（")[0]): r for r in rows}
    assert by[("G1-1-1a", "changed", "target_resolved")]["old"] == "250"
    assert by[("G1-1-1a", "changed", "target_resolved")]["new"] == "300"
    assert ("G1-0x", "changed", "kpi_id") in by
    assert by[(removed, "removed", "")]["old"] == removed
    assert len(rows) == 3
    same = kpi("catalog", "diff", old_path, old_path)
    assert same.returncode == 0 and "0 difference(s)" in same.stderr


# ── the notation the import relies on ──────────────────────────────────────────────────────


# Open units as written after the number, scaled by 千/万/億; full-width digits.
OPEN_UNITS = [
    "421万人 = 4,210,000 人",
    "5780億円 = 578,000,000,000 円",
    "4億3,000万円 = 430,000,000 円",
    "１２３件 = 123 件",
    "1150万t-CO2 = 11,500,000 t-CO2",
    "60分 = 60 分",
    "2.5倍 = 2.5 倍",
    "10か所 = 10 か所",
]


def test_open_units_and_scaling():
    read = []
    for case in OPEN_UNITS:
        q = parse_quantity(case.split(" = ")[0])
        read.append(f"{case.split(' = ')[0]} = {q.value:,.15g} {q.unit}")
    assert read == OPEN_UNITS


@pytest.mark.parametrize("text", ["4億3,0000万円", "5年", "3人程度", "たくさん"])
def test_what_is_not_a_quantity(text):
    with pytest.raises(NotationError):
        parse_quantity(text)


@pytest.mark.parametrize(
    ("text", "kind", "field", "value"),
    [
        ("現状維持", "maintain", "kind", "maintain"),
        ("基準値から10%増加", "increase_pct", "percent", 10),
        ("10%減少", "decrease_pct", "percent", 10),
        ("累計500人", "cumulative", "value", 500),
        ("年間3人", "level", "per_year", True),
        ("△40人以下", "level", "comparator", "<="),
        ("全道平均以上", "benchmark", "benchmark", "prefecture_average"),
        ("2024年度中の計画策定", "milestone", "deadline", 2024),
        ("令和8年度までに策定", "milestone", "deadline", 2026),
    ],
)
def test_target_wordings_of_other_towns(text, kind, field, value):
    rule = parse_target(text)
    assert rule.kind == kind and getattr(rule, field) == value


# ── an imported catalog through template, scorecard and report ────────────────────────────


@pytest.fixture(scope="session")
def small_import(tmp_path_factory):
    """A small imported catalog with an open review, and an entry workbook of actuals."""
    folder = tmp_path_factory.mktemp("small_import")
    source = _xlsx(folder / "kpi.xlsx", SHEET_ROWS)
    cat, _ = imported(source, folder / "town.yaml")
    entry = folder / "entry.xlsx"
    assert kpi("template", "--catalog", folder / "town.yaml", "--out", entry).returncode == 0
    wb = load_workbook(entry)
    ws = wb[SHEET]
    header = [c.value for c in ws[3]]
    rows = {ws.cell(r, 4).value: r for r in range(4, ws.max_row + 1)}
    ws.cell(rows["都心の区域内実容積率"], header.index("2025年度(R7)") + 1, 243.2)
    ws.cell(rows["新規立地企業数"], header.index("2025年度(R7)") + 1, 3)
    ws.cell(rows["市内総生産"], header.index("2025年度(R7)") + 1, "5,900億円")  # scaled as written
    wb.save(entry)
    return folder, cat, entry


def test_an_imported_catalog_goes_through_template_and_scorecard(small_import):
    folder, cat, entry = small_import
    proc = kpi("validate", entry, "--catalog", folder / "town.yaml")
    assert proc.returncode == 0, proc.stderr  # 243.2 % accepted: the baseline is 237.8 %
    proc = kpi("scorecard", "--as-of", 2025, "--catalog", folder / "town.yaml", "--actuals",
               entry, "--format", "json")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    card = {r["name_ja"]: r for r in json.loads(proc.stdout)}
    assert card["都心の区域内実容積率"]["latest_value"] == 243.2
    assert card["新規立地企業数"]["latest_value"] == 3
    assert card["市内総生産"]["latest_value"] == 590_000_000_000
    assert card["移住相談件数"]["review"] and card["新規立地企業数"]["review"] is None


def test_an_imported_catalog_reports_with_its_reviews_marked(small_import, tmp_path):
    folder, _, _ = small_import
    out = tmp_path / "FY2025"
    proc = kpi("report", "--fiscal-year", 2025, "--catalog", folder / "town.yaml", "--out", out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    goal2 = (out / "goal2.html").read_text(encoding="utf-8")
    assert '移住相談件数 <span class="review">【要確認】</span>' in goal2
    assert "都心の区域内実容積率 <span" not in goal2  # no review, no mark
    card = (out / "01_scorecard.html").read_text(encoding="utf-8")
    assert "移住相談件数【要確認】" in card and "芦別市" in card


# ── found by a hostile review ────────────────────────────────────────────────


def test_a_control_character_in_the_source_is_refused_with_its_line(tmp_path):
    source = tmp_path / "m.txt"
    source.write_text(
        "基本目標 1 雇用\n1. 事業\n① 施策\n観光客\x1b[31m数:1,000人 → 1,200人\n", encoding="utf-8"
    )
    _refused(tmp_path, source, "line 4", "U+001B")
    source.write_text(
        "基本目標 1 雇用\n1. 事業\n① 施策\n観光\u202e客数:1人 → 2人\n", encoding="utf-8"
    )
    _refused(tmp_path, source, "line 4", "U+202E")


def test_a_line_that_reads_like_an_indicator_is_never_dropped_silently(tmp_path):
    source = tmp_path / "m.txt"
    source.write_text(
        "基本目標 1 雇用\n1. 事業\n① 施策\n★ 新規雇用者数：5年間で200人\n件数:100件 → 120件\n",
        encoding="utf-8",
    )
    cat, said = imported(source, tmp_path / "c.yaml")
    assert [k.name_ja for k in cat.kpis] == ["件数"]
    assert "line 4: 「★ 新規雇用者数：5年間で200人」 has no 「基準値 → 目標値」, left out" in said


def test_diff_never_replaces_a_file_and_says_when_nothing_differs(tmp_path):
    bundled = PROJECT_ROOT / "data" / "kpis" / "ashibetsu_2nd_strategy.yaml"
    proc = kpi("catalog", "diff", bundled, bundled)
    assert proc.returncode == 0 and proc.stdout == "" and "0 difference(s)" in proc.stderr
    out = tmp_path / "d.csv"
    out.write_text("mine", encoding="utf-8")
    proc = kpi("catalog", "diff", bundled, bundled, "--format", "csv", "--out", out)
    assert proc.returncode == 2 and "exists" in proc.stderr
    assert out.read_text(encoding="utf-8") == "mine"


def test_an_entity_that_spells_a_control_character_is_refused(tmp_path):
    source = tmp_path / "t.txt"
    text = (FIXTURES / "strategy_excerpt_goals3_4.txt").read_text(encoding="utf-8")
    first = next(line for line in text.splitlines() if "\t" in line and "人" in line)
    source.write_text(
        text.replace(first, first.replace("人", "&#x202e;人", 1), 1), encoding="utf-8"
    )
    _refused(tmp_path, source, "U+202E")


def test_a_spreadsheet_cell_is_held_to_the_entry_files_bounds(tmp_path):
    source = tmp_path / "kpi.csv"
    source.write_text(
        '指標名,基準値,目標値\n移住者数,10人,"' + "1" * 140_000 + '"\n', encoding="utf-8"
    )
    _refused(tmp_path, source, "not a readable CSV row")
    rows = [["指標名", "基準値", "目標値"], ["移住\u202e者数", "10人", "20人"]]
    _refused(tmp_path, _xlsx(tmp_path / "kpi.xlsx", rows), "U+202E", "row 2")
