"""Small builders shared by the tests."""

import pandas as pd

from kpi_lib.catalog.model import Kpi


def make_kpi(
    kind="level",
    direction="increase",
    baseline=(2018, 100.0),
    target_year=2024,
    unit="人",
    **target,
) -> Kpi:
    """A KPI with only what the rules read; baseline None for none."""
    target = {"year": target_year, "kind": kind, **target}
    if kind == "cumulative":
        target.setdefault("window", {"start": target_year - 4, "end": target_year})
    raw = {
        "kpi_id": "T-1",
        "goal": 1,
        "measure": {"title_ja": "テスト"},
        "name_ja": "テスト指標",
        "name_en": "test",
        "unit": unit,
        "direction": direction,
        "target": target,
        "baseline": None if baseline is None else {"year": baseline[0], "value": baseline[1]},
    }
    return Kpi.model_validate(raw)


def obs(*pairs) -> pd.DataFrame:
    """Observations from (year, value) pairs."""
    return pd.DataFrame(
        {"year": [p[0] for p in pairs], "value": [float(p[1]) for p in pairs], "source": "test"}
    )


def visible_text(page: str) -> str:
    """What a reader sees of an HTML page: no tags, styles or scripts, entities decoded."""
    import html
    import re

    page = re.sub(r"<(style|script)\b.*?</\1>", "", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def council_reads_the_final_evaluation(out) -> None:
    """The bundled FY2024 report read as a council member would (issue 23): ★ goals first,
    results that say why they are open, no internal ids, an A4 print that keeps the summary."""
    import re

    from openpyxl import load_workbook

    pages = {p.name: p.read_text(encoding="utf-8") for p in out.glob("*.html")}
    index = pages["index.html"]
    assert (
        "<title>第2期芦別市まち・ひと・しごと創生総合戦略（改訂版） 最終評価（2024年度）" in index
    )
    stars = index.split("★ 基本目標の数値目標")[1].split("</table>")[0]
    # the four ★ numeric goals: no figures entered for 1 and 4; 2 and 3 wait for statistics
    for label, status in [
        ("市内企業等における新規雇用者数", "未入力"),
        ("社会移動数（転入者数－転出者数）", "公表待ち"),
        ("婚姻届出数", "公表待ち"),
        ("本市に住み続けたいと思う市民の割合", "未入力"),
    ]:
        row = next(r for r in stars.split("<tr>") if label in r)
        assert f'class="badge {status}"' in row, (label, row)
    assert "住民基本台帳または社会・人口統計体系の2024年の値の公表待ち" in stars
    totals = index.split("<th>計</th>")[1].split("</tr>")[0]
    # 65 KPIs: ふるさと納税 未達成; 4 awaiting statistics; 60 without figures entered
    assert re.findall(r">(\d+)<", totals) == ["65", "1", "4", "60"]
    assert "実績がまだ入力されていない指標: 60" in index
    goal2 = pages["goal2.html"]
    assert "<h3>★ 数値目標　社会移動数（転入者数－転出者数）" in goal2
    assert "<h3>2-③　ふるさと納税の寄附件数" in goal2
    assert (
        "目標 ▲100人 に対し実績 ▲125人（2023年）。基準値 ▲153人から目標までの53%まで進みました。"
        in goal2
    )
    assert "<details" in goal2 and "(-125 − -153) ÷ (-100 − -153)" in goal2  # the formula, folded
    furusato = goal2.split('id="kpi-G2-2-3"')[1].split("</section>")[0]
    assert "未達成" in furusato and not re.search(r"→ [A-D]", furusato)  # no contradicting grade
    for name, page in pages.items():
        text = visible_text(page)
        if name.startswith(("index", "goal", "01_")):
            assert not re.search(r"\bG\d-\d", text), (name, re.findall(r"\bG\d-\d\S*", text)[:5])
        assert "担当課が実績入力シートに入力します" not in text
        assert not re.search(r"達成率: -\d", text)
    css = pages["goal1.html"].split("<style>")[1].split("</style>")[0]
    assert "@page{size:A4" in css and "nav{display:none" not in css.replace(" ", "")
    assert ".noprint" in css and 'class="noprint" href="index.html"' in pages["goal1.html"]
    wb = load_workbook(out / "scorecard.xlsx")
    ws = wb["効果検証"]
    assert wb.sheetnames[0] == "効果検証"
    header = [c.value for c in ws[3]]
    assert header == [
        "基本目標", "施策", "指標", "担当課", "単位", "基準年度", "基準値",
        "R2実績", "R3実績", "R4実績", "R5実績", "R6実績",
        "目標値", "達成率", "最終評価", "取組内容", "評価・要因分析", "今後の方向性",
    ]  # fmt: skip
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9  # A4
    assert ws.page_setup.fitToWidth == 1 and ws.print_title_rows in ("3:3", "$3:$3")
    assert ws.auto_filter.ref == f"A3:R{ws.max_row}"
    rows = {r[2]: r for r in ws.iter_rows(min_row=4, values_only=True)}
    furusato_row = rows["ふるさと納税の寄附件数"]
    assert furusato_row[header.index("R6実績")] == 11_899 and furusato_row[14] == "未達成"
    migration = next(
        c for c in ws[4 + list(rows).index("社会移動数（転入者数－転出者数）")] if c.value == -153
    )
    assert migration.number_format == '#,##0;"▲"#,##0'  # ▲ by the format, the value a number
    csv_head = (out / "scorecard.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert csv_head.startswith("基本目標,施策,指標,担当課") and "達成率（%）" in csv_head
    readers_csv = (out / "scorecard.csv").read_text(encoding="utf-8-sig")
    assert (
        "社会移動数（転入者数－転出者数）,,人,2018,-153,-189,-103,-144,-125,,-100,53,"
        in readers_csv
    )
    assert not re.search(r"\d\.0(,|$)", readers_csv, re.M)  # 2018, not 2018.0
