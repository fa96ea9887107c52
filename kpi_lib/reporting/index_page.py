"""The report's first page: what a council member reads in a minute.

The evaluation's name (最終評価 / 中間評価 / 効果検証), the ★ numeric goals with their result, one
line of counts per basic goal (in a final evaluation 未確定 is split into 公表待ち, naming the
statistic awaited, and 未入力, naming the department), the departments' submission status and
the committee's opinions, then the documents, the analyses and the sources.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from urllib.parse import quote

from kpi_lib.catalog.notation import to_era
from kpi_lib.core.vocabulary import AWAITED, NOT_ENTERED
from kpi_lib.observations.status import department_status
from kpi_lib.reporting import reading
from kpi_lib.reporting.context import ReportContext
from kpi_lib.reporting.pages import render, table_values
from kpi_lib.reporting.tables import freshness_table, freshness_warning, period_notice


def index_html(ctx: ReportContext, jobs: list, sources: list[dict]) -> str:
    """The first page of the report for `ctx`; `jobs` are the notebooks run, `sources` the
    statistics used with their years and as-of dates. The page is templates/index.html; here
    only its plain values are prepared (the template escapes them)."""
    catalog, year = ctx.catalog, ctx.fiscal_year
    s = catalog.strategy
    name = reading.evaluation_name(catalog, year)
    notices = [
        ("戦略の期間の前の年度です", period_notice(catalog, year)),
        ("データの時点について", freshness_warning(ctx)),
    ]
    return render(
        "index.html",
        title=f"{s.title_ja} {name}（{year}年度）",
        kind="index",
        header="",
        strategy_title=s.title_ja,
        name=name,
        year=year,
        era=to_era(year),
        municipality=s.municipality_ja,
        period_start=s.period.start,
        period_end=s.period.end,
        notices=[(head, text) for head, text in notices if text],
        stars=_numeric_goals(ctx),
        counts=_goal_counts(ctx),
        open=_open_results(ctx),
        submissions=table_values(
            f"担当課の提出状況（{year}年度）",
            department_status(ctx.status).drop(columns=["未提出の指標"]),
        ),
        opinion_goals=sorted(ctx.opinions),
        # relative links: a ':' of a notebook's name encoded, so that no name is a scheme
        links=[(quote(Path(j.output_name).with_suffix(".html").name), j.title) for j in jobs],
        freshness=table_values("公表統計の最新の年", freshness_table(ctx)),
        sources=sources,
        legend=reading.grade_legend(ctx.settings),
    )


def _numeric_goals(ctx: ReportContext) -> list[dict]:
    """The ★ numeric goals first: each with its result and figure."""
    return [
        {
            "goal": entry.kpi.goal,
            "label": entry.kpi.label,
            "result": entry.result,
            "words": reading.result_words(entry, ctx.fiscal_year),
        }
        for entry in ctx.scorecard
        if entry.kpi.numeric_goal
    ]


def _goal_counts(ctx: ReportContext) -> dict:
    """One line per basic goal: how many KPIs have each result (the results no goal has are
    left out), and the line of totals."""
    labels = reading.status_order(ctx.settings)
    per_goal = {
        g.goal: ctx.scorecard.results(ctx.scorecard.of_goal(g.goal)) for g in ctx.catalog.goals
    }
    used = [label for label in labels if any(c[label] for c in per_goal.values())]
    goals = [
        {
            "goal": g.goal,
            "title": g.title_ja,
            "total": sum(per_goal[g.goal].values()),
            "cells": [per_goal[g.goal][label] for label in used],
        }
        for g in ctx.catalog.goals
        if per_goal[g.goal]
    ]
    total = ctx.scorecard.results()
    return {
        "labels": used,
        "goals": goals,
        "total": sum(total.values()),
        "cells": [total[label] for label in used],
    }


def _open_results(ctx: ReportContext) -> dict:
    """What the open results wait for: the statistics awaited, and the departments to enter;
    and the departments' 今後の方向性 tallied once any is given."""
    awaited: list[str] = []
    entering: Counter[str] = Counter()
    for entry in ctx.scorecard:
        k = entry.kpi
        if entry.result == AWAITED:
            awaited.append(f"{k.label}（{reading.open_reason(entry, ctx.fiscal_year)}）")
        elif entry.result == NOT_ENTERED:
            entering[k.department or "担当課の記載なし"] += 1
    given = any(x.judgement.direction_next is not None for x in ctx.scorecard)
    return {
        "tally": reading.direction_tally(list(ctx.scorecard)) if given else "",
        "awaited_word": AWAITED,
        "awaited": "、".join(awaited),
        "entering_word": NOT_ENTERED,
        "entering": sum(entering.values()),
        "who": "、".join(f"{d} {n}" for d, n in entering.most_common()),
    }
