"""The report's first page: what a council member reads in a minute.

The evaluation's name (最終評価 / 中間評価 / 効果検証), the ★ numeric goals with their result, one
line of counts per basic goal (in a final evaluation 未確定 is split into 公表待ち, naming the
statistic awaited, and 未入力, naming the department), the departments' submission status and
the committee's opinions, then the documents, the analyses and the sources.
"""

from __future__ import annotations

import html
from collections import Counter
from pathlib import Path

from kpi_lib.catalog.notation import to_era
from kpi_lib.core.vocabulary import AWAITED, NOT_ENTERED
from kpi_lib.observations.status import department_status
from kpi_lib.reporting import reading
from kpi_lib.reporting.context import ReportContext
from kpi_lib.reporting.goal_docs import badge_html
from kpi_lib.reporting.pages import page
from kpi_lib.reporting.tables import freshness_table, freshness_warning, period_notice


def index_html(ctx: ReportContext, jobs: list, sources: list[dict]) -> str:
    """The first page of the report for `ctx`; `jobs` are the notebooks run, `sources` the
    statistics used with their years and as-of dates."""
    e = html.escape
    catalog, year = ctx.catalog, ctx.fiscal_year
    name = reading.evaluation_name(catalog, year)
    title = f"{catalog.strategy.title_ja} {name}（{year}年度）"
    notices = [
        ("戦略の期間の前の年度です", period_notice(catalog, year)),
        ("データの時点について", freshness_warning(ctx)),
    ]
    notice = "".join(
        f'<p class="notice"><strong>{e(head)}</strong>　{e(text)}</p>'
        for head, text in notices
        if text
    )
    body = f"""<h1>{e(catalog.strategy.title_ja)}<br>{name}（{year}年度）</h1>
<p>団体: {e(catalog.strategy.municipality_ja)}　評価年度: {year}年度（{to_era(year)}）
　戦略期間: {catalog.strategy.period.start}〜{catalog.strategy.period.end}年度</p>
{notice}
{_numeric_goals(ctx)}
{_goal_counts(ctx)}
{_open_results(ctx)}
{_submissions(ctx)}
<h2>集計と分析</h2>
<ul>
{_links(jobs)}
<li><a href="scorecard.xlsx">効果検証シート（Excel）</a>・<a href="scorecard.csv">CSV</a></li>
<li><a href="manifest.json">作成記録（パラメータ、入力ファイルのハッシュ、所要時間）</a></li>
</ul>
{_table("公表統計の最新の年", freshness_table(ctx))}
<h2>データの出典と時点</h2>
<table><tr><th>出典</th><th>使用した年（区分）</th><th>データの時点</th><th>ライセンス</th></tr>
{_sources(sources)}
</table>
<p class="muted">{e(reading.grade_legend(ctx.settings))}
暦年の統計（住民基本台帳など）は年度の目標の代用です。</p>"""
    return page(title, body, "index")


def _numeric_goals(ctx: ReportContext) -> str:
    """The ★ numeric goals first: each with its result and figure."""
    e = html.escape
    rows = []
    for entry in ctx.scorecard:
        k = entry.kpi
        if not k.numeric_goal:
            continue
        words = reading.result_words(entry, ctx.fiscal_year)
        rows.append(
            f'<tr><td><a href="goal{k.goal}.html">基本目標{k.goal}</a></td>'
            f"<td>{e(k.label)}</td><td>{badge_html(entry.result)}</td><td>{e(words)}</td></tr>"
        )
    if not rows:
        return ""
    return (
        '<h2>★ 基本目標の数値目標</h2>\n<table class="stars"><tr><th>基本目標</th><th>数値目標</th>'
        "<th>評価</th><th>実績と目標</th></tr>\n" + "\n".join(rows) + "\n</table>"
    )


def _goal_counts(ctx: ReportContext) -> str:
    """One line per basic goal: how many KPIs have each result."""
    e = html.escape
    labels = reading.status_order(ctx.settings)
    per_goal = {
        g.goal: ctx.scorecard.results(ctx.scorecard.of_goal(g.goal)) for g in ctx.catalog.goals
    }
    used = [label for label in labels if any(c[label] for c in per_goal.values())]
    head = "".join(f'<th class="n">{e(label)}</th>' for label in used)
    rows = []
    for g in ctx.catalog.goals:
        counts = per_goal[g.goal]
        if not counts:
            continue
        cells = "".join(f'<td class="n">{counts[label]}</td>' for label in used)
        rows.append(
            f'<tr><td><a href="goal{g.goal}.html">基本目標{g.goal}　{e(g.title_ja)}</a></td>'
            f'<td class="n">{sum(counts.values())}</td>{cells}</tr>'
        )
    total = ctx.scorecard.results()
    cells = "".join(f'<td class="n">{total[label]}</td>' for label in used)
    rows.append(f'<tr><th>計</th><td class="n">{sum(total.values())}</td>{cells}</tr>')
    return (
        "<h2>基本目標別の結果（各基本目標の文書に全指標の評価・推移・出典）</h2>\n"
        f'<table><tr><th>基本目標</th><th class="n">指標数</th>{head}</tr>\n'
        + "\n".join(rows)
        + "\n</table>"
    )


def _open_results(ctx: ReportContext) -> str:
    """What the open results wait for: the statistics awaited, and the departments to enter."""
    e = html.escape
    awaited: list[str] = []
    entering: Counter[str] = Counter()
    for entry in ctx.scorecard:
        k = entry.kpi
        if entry.result == AWAITED:
            awaited.append(f"{k.label}（{reading.open_reason(entry, ctx.fiscal_year)}）")
        elif entry.result == NOT_ENTERED:
            entering[k.department or "担当課の記載なし"] += 1
    parts = []
    if any(x.judgement.direction_next is not None for x in ctx.scorecard):
        tally = reading.direction_tally(list(ctx.scorecard))
        parts.append(
            f"<p><strong>今後の方向性</strong>（担当課の評価）　{e(tally)}"
            "（指標数。理由は各基本目標の文書に）</p>"
        )
    if awaited:
        parts.append(f"<p><strong>{AWAITED}</strong>　{e('、'.join(awaited))}</p>")
    if entering:
        who = "、".join(f"{d} {n}" for d, n in entering.most_common())
        parts.append(
            f"<p><strong>{NOT_ENTERED}</strong>　実績がまだ入力されていない指標: "
            f"{sum(entering.values())}（{e(who)}）</p>"
        )
    return "".join(parts)


def _submissions(ctx: ReportContext) -> str:
    """The departments' submission status and where the committee's opinions are."""

    shown = department_status(ctx.status).drop(columns=["未提出の指標"])
    if not len(shown):
        return ""
    opinions = ctx.opinions
    where = (
        "<p>有識者会議の意見: "
        + "、".join(f'<a href="goal{g}.html">基本目標{g}</a>' for g in sorted(opinions))
        + "（各基本目標の文書の冒頭に掲載）</p>"
        if opinions
        else ""
    )
    return _table(f"担当課の提出状況（{ctx.fiscal_year}年度）", shown) + where


def _table(title: str, df) -> str:
    e = html.escape
    if df is None or not len(df):
        return ""
    return (
        f"<h2>{e(title)}</h2>\n<table><tr>"
        + "".join(f"<th>{e(str(c))}</th>" for c in df.columns)
        + "</tr>\n"
        + "\n".join(
            "<tr>" + "".join(f"<td>{e(str(v))}</td>" for v in row) + "</tr>"
            for row in df.itertuples(index=False)
        )
        + "\n</table>"
    )


def _links(jobs: list) -> str:
    e = html.escape
    return "\n".join(
        f'<li><a href="{e(Path(j.output_name).with_suffix(".html").name)}">{e(j.title)}</a></li>'
        for j in jobs
    )


def _sources(sources: list[dict]) -> str:
    e = html.escape
    return "\n".join(
        f"<tr><td>{e(s['source'])}</td><td>{e(s['years'])}（{e(s['year_basis'])}）"
        f"</td><td>{e(s['as_of'])}</td><td>{e(s['licence'])}</td></tr>"
        for s in sources
    )
