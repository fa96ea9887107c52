"""One document per basic goal: every KPI as a compact section, for council members to read.

Each section: the strategy's own text, the verdict or grade, a small chart (history, the
straight path to the target, the outlook), the values with their sources, and how the
grade was reached. A table of contents links every KPI (anchor `kpi-<id>`); the CSS prints
one section per page block. Rendered in the report's own process, beside the notebooks:
no kernel per KPI. Charts are cached by the hash of what they show (docs/report.md).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import html
import io
import json
import os
import re
import secrets
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from kpi_lib.catalog.model import Kpi
from kpi_lib.catalog.notation import to_era
from kpi_lib.core.numbers import reader_number, reader_percent
from kpi_lib.core.output import progress
from kpi_lib.evaluation.rules import PROGRESS_STATUSES
from kpi_lib.evaluation.scorecard import DIRECTIONS_JA, KINDS_JA
from kpi_lib.observations.judgements import (
    ACTIONS_HEADER,
    ASSESSMENT_HEADER,
    DIRECTION_HEADER,
)
from kpi_lib.reporting import reading
from kpi_lib.reporting.context import RELATION_MARK, REVIEW_MARK, ReportContext
from kpi_lib.reporting.pages import page

CACHE_TAG = "CACHEDIR.TAG"  # the standard tag (backup tools skip the folder); kpi's mark on it
_TAG_TEXT = b"Signature: 8a477f597d28d172789f06886806bc55\n# kpi chart cache (docs/report.md)\n"
_CACHED = re.compile(r"[0-9a-f]{64}\.(png|tmp)")  # an earlier version's entries
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_MAX_PNG_BYTES = 4 * 1024 * 1024  # a chart is about 30 kB


class _NotOurs(Exception):
    """The cache folder is not one kpi made."""


CHART_VERSION = "2"  # bump when the chart's drawing changes: old cache entries then miss


@dataclass
class GoalDocument:
    """One basic goal's HTML document of the report."""

    goal: int
    file_name: str
    title: str
    html: str
    kpi_ids: list[str]


def goal_documents(ctx: ReportContext, cache_dir: Path | None = None) -> list[GoalDocument]:
    """The HTML of every basic goal's document."""
    charts = ChartCache(cache_dir)
    try:
        return _documents(ctx, charts)
    finally:
        charts.close()


def _documents(ctx: ReportContext, charts: ChartCache) -> list[GoalDocument]:
    card = ctx.card.set_index("kpi_id")
    docs = []
    for g in ctx.catalog.goals:
        kpis = [k for k in ctx.catalog.kpis if k.goal == g.goal]
        if not kpis:
            continue
        kpis.sort(key=lambda k: (not k.numeric_goal, ctx.catalog.kpis.index(k)))
        sections = [_section(ctx, k, card.loc[k.kpi_id], charts) for k in kpis]
        docs.append(
            GoalDocument(
                g.goal,
                f"goal{g.goal}.html",
                g.title_ja,
                _page(ctx, g.goal, g.title_ja, kpis, card, sections),
                [k.kpi_id for k in kpis],
            )
        )
    return docs


def _page(
    ctx: ReportContext,
    goal: int,
    title: str,
    kpis: list[Kpi],
    card: pd.DataFrame,
    sections: list[str],
) -> str:
    e = html.escape
    s = ctx.catalog.strategy
    toc = "\n".join(
        f'<li><a href="#kpi-{e(k.kpi_id)}">{e(k.measure_code)} {e(k.label)}'
        f"{REVIEW_MARK if k.review else ''}</a> {_badge(k, card.loc[k.kpi_id])}</li>"
        for k in kpis
    )
    name = reading.evaluation_name(ctx.catalog, ctx.fiscal_year)
    body = f"""<h1>基本目標{goal}　{e(title)}</h1>
{_goal_summary(ctx, goal, kpis, card)}
<nav><h2>指標の一覧（{len(kpis)}指標）</h2><ol>{toc}</ol></nav>
<p class="muted">各指標について、戦略の記載、評価、推移と目標への直線、使用した値と出典を示します。
★は基本目標の数値目標です。{e(reading.grade_legend(ctx.settings))}</p>
{"".join(sections)}"""
    return page(
        f"基本目標{goal} {title}（{ctx.fiscal_year}年度 {name}）",
        body,
        "goal",
        header=f"{s.title_ja}　{name}（{ctx.fiscal_year}年度・{to_era(ctx.fiscal_year)}）",
    )


def _badge(kpi: Kpi, r) -> str:
    return badge_html(reading.status(kpi, r))


def badge_html(label: str) -> str:
    """A result as a coloured badge (達成 green, 未達成 red, 公表待ち grey …)."""
    return f'<span class="badge {html.escape(label)}">{html.escape(label)}</span>'


def _target_text(t) -> str:
    """The target as the catalog words it, marked once as provisional where it is a placeholder
    (catalogs written by earlier starters carry the mark in their text already)."""
    text = t.text or ""
    return text + "（仮の目標）" if t.placeholder and "仮の目標" not in text else text


def _section(ctx: ReportContext, kpi: Kpi, r, charts: ChartCache) -> str:
    e = html.escape
    ev = ctx.evaluations[kpi.kpi_id]
    b, t = kpi.baseline, kpi.target
    history = ctx.history(kpi.kpi_id)
    facts = [
        ("施策", f"{kpi.measure_code}　{kpi.measure.title_ja}"),
        ("基準値（戦略の記載）", b.text if b is not None and b.text else "記載なし"),
        ("目標（戦略の記載）", _target_text(t)),
        ("単位・方向", f"{kpi.unit}　{DIRECTIONS_JA[kpi.direction]}　（{KINDS_JA[t.kind]}）"),
    ]
    for spec in kpi.public_series:
        facts.append((f"公表統計（{spec.relation_ja}）", f"{spec.measure}。{spec.note_ja or ''}"))
    facts_html = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in facts)
    latest = (
        "なし"
        if ev.latest_value is None
        else (
            f"{reader_number(r['latest_value'])}（{int(r['latest_year'])}"
            + (
                f"・{RELATION_MARK[r['latest_relation']]}"
                if r.get("latest_relation") in RELATION_MARK
                else ""
            )
            + "）"
        )
    )
    if t.kind == "cumulative" and ev.cumulative_value is not None:
        latest = f"累計 {reader_number(ev.cumulative_value)}（{t.span.start}〜{ev.latest_year}）"
    shown = reading.status(kpi, r)
    placeholder = "（仮）" if t.placeholder else ""
    label = "最終評価" if ev.verdict else "評価"
    rate = reader_percent(ev.achievement_rate)
    if rate and ev.verdict not in (reading.ACHIEVED, reading.MISSED, None):
        rate = f"参考 {rate}（{ev.latest_year}年度の実績による）"  # no result yet
    progress = (
        f"　進捗状況: {e(PROGRESS_STATUSES[ev.progress_status])}"
        if not ev.verdict and ev.progress_status != "unable_to_assess"
        else ""
    )
    summary = (
        f"<p>{label} {badge_html(shown)}　実績: {e(latest)}　目標値: "
        f"{e(reader_number(ev.target_resolved))}{placeholder}"
        + (f"　達成率: {e(rate)}" if rate else "")
        + f"{progress}</p>"
    )
    plain = reading.result_words(kpi, ev, r, ctx.fiscal_year)
    chart = charts.image(kpi, ev, history) if not history.empty else ""
    values_html = (
        _values_html(history)
        if not history.empty
        else '<p class="muted">実績はまだありません'
        f"（{e(reading.open_reason(kpi, r, ctx.fiscal_year) or '入力待ち')}）。</p>"
    )
    outlook = _outlook_html(ctx, kpi, ev)
    notes = f"<p>注記: {e(' / '.join(ev.notes))}</p>" if ev.notes else ""
    calc = (
        f'<details class="calc"><summary>算定式（分析担当者向け）</summary>'
        f"<p>{e(ev.calculation)}</p>{notes}</details>"
        if ev.calculation or notes
        else ""
    )
    heading = "★ 数値目標" if kpi.numeric_goal else kpi.measure_code
    review = f' <span class="review">{REVIEW_MARK}</span>' if kpi.review else ""
    return f"""
<section class="kpi" id="kpi-{e(kpi.kpi_id)}">
<h3>{e(heading)}　{e(kpi.label)}{review}</h3>
{summary}
{f'<p class="plain">{e(plain)}</p>' if plain else ""}
{_judgement_html(ctx, r)}
<div class="row"><table>{facts_html}</table>{chart}</div>
{values_html}
{outlook}
{calc}
</section>"""


def _judgement_html(ctx: ReportContext, r) -> str:
    """The department's own judgement of the year beside its KPI (or that it is still due)."""
    e = html.escape
    department = r["department"] if isinstance(r["department"], str) else ""
    texts = [(ACTIONS_HEADER, r["actions"]), (ASSESSMENT_HEADER, r["assessment"])]
    direction = r["direction_next"] if isinstance(r["direction_next"], str) else ""
    if not any(isinstance(v, str) and v for _, v in texts) and not direction:
        if not department:
            return ""
        return (
            f'<p class="muted">担当課: {e(department)}（{ctx.fiscal_year}年度の評価は未提出）</p>'
        )
    rows = "".join(
        f"<tr><th>{e(label)}</th><td>{e(value)}</td></tr>"
        for label, value in texts
        if isinstance(value, str) and value
    )
    if direction:
        rows += (
            f'<tr><th>{DIRECTION_HEADER}</th><td><span class="dir">{e(direction)}</span></td></tr>'
        )
    who = f"（{e(department)}）" if department else ""
    return (
        f'<div class="judgement"><p><strong>担当課の評価{who}</strong></p>'
        f"<table>{rows}</table></div>"
    )


def _goal_summary(ctx: ReportContext, goal: int, kpis: list[Kpi], card: pd.DataFrame) -> str:
    """The committee's opinion and 今後の方向性 tallied, at the top of a goal's document."""
    e = html.escape
    tally = reading.direction_tally(card.loc[[k.kpi_id for k in kpis], "direction_next"])
    statuses = [reading.status(k, card.loc[k.kpi_id]) for k in kpis]
    counts_line = "、".join(
        f"{label} {statuses.count(label)}"
        for label in reading.status_order(ctx.settings)
        if label in statuses
    )
    parts = [f"<p><strong>{len(kpis)}指標の評価</strong>　{e(counts_line)}</p>"]
    for k in kpis:
        if k.numeric_goal:
            r = card.loc[k.kpi_id]
            words = reading.result_words(k, ctx.evaluations[k.kpi_id], r, ctx.fiscal_year)
            parts.append(
                f"<p><strong>★ 数値目標</strong>　{e(k.label)} {_badge(k, r)}　{e(words)}</p>"
            )
    parts.append(f"<p><strong>{DIRECTION_HEADER}</strong>　{e(tally)}（指標数）</p>")
    opinion = ctx.opinions.get(goal)
    if opinion:
        parts.append(
            '<div class="opinion"><p><strong>有識者会議の意見</strong></p>'
            f"<p>{e(opinion)}</p></div>"
        )
    return f'<div class="summary">{"".join(parts)}</div>'


SHOWN_YEARS = 12  # the rest of a long history is in the KPI deep-dive notebook


def _values_html(history: pd.DataFrame) -> str:
    """The values the rules used, years across, and one line naming each source and its years."""
    e = html.escape
    rows = history.tail(SHOWN_YEARS)
    word = "年" if (rows["year_basis"] == "calendar").all() else "年度"
    marks = rows["relation"].map(lambda r: "※" if r in RELATION_MARK else "")
    head = "".join(f"<th>{int(y)}</th>" for y in rows["year"])
    cells = "".join(
        f"<td>{e(reader_number(v))}{m}</td>" for v, m in zip(rows["value"], marks, strict=True)
    )
    sources = []
    for (source, relation), g in rows.groupby(["source", "relation"], sort=False, dropna=False):
        years = (
            f"{int(g['year'].min())}〜{int(g['year'].max())}"
            if len(g) > 1
            else f"{int(g['year'].iloc[0])}"
        )
        label = RELATION_MARK.get(str(relation))
        sources.append(f"{years}{word}: {source}" + (f"（※{label}）" if label else ""))
    earlier = (
        f"（{int(rows['year'].min())}{word}より前の{len(history) - len(rows)}年分は省略）"
        if len(history) > len(rows)
        else ""
    )
    return (
        f"<table><tr><th>{word}</th>{head}</tr><tr><th>値</th>{cells}</tr></table>"
        f'<p class="muted">出典{e(earlier)}: {e("／".join(sources))}</p>'
    )


def _outlook_html(ctx: ReportContext, kpi: Kpi, ev) -> str:
    e = html.escape
    if ev.final:
        h = getattr(ev, "hindsight", None)
        if h is None or h.outlook.forecast_value is None:
            return ""
        o = h.outlook
        said = reader_number(o.forecast_value) + (
            f"（{o.level:.0%}区間 "
            f"{reader_number(o.forecast_lower)}〜{reader_number(o.forecast_upper)}）"
            if o.forecast_lower is not None
            else ""
        )
        outcome = reader_number(h.actual) if h.actual is not None else "未確定"
        inside = "" if h.inside is None else ("、区間内" if h.inside else "、区間外")
        return (
            f'<p class="calc">見通しの検証: {h.origin}年度までのデータによる当時の見通しは '
            f"{e(said)}"
            f"{e('、達成確率 ' + reader_percent(o.p_meet)) if o.p_meet is not None else ''}。"
            f"結果は {e(outcome)}{e(inside)}。</p>"
        )
    o = ev.outlook
    if o is None or o.forecast_value is None:
        return ""
    interval = (
        f"（{o.level:.0%}区間 "
        f"{reader_number(o.forecast_lower)}〜{reader_number(o.forecast_upper)}）"
        if o.forecast_lower is not None
        else "（区間なし）"
    )
    p = f"、達成確率 {reader_percent(o.p_meet)}" if o.p_meet is not None else ""
    said = reader_number(o.forecast_value) + interval + p
    return f'<p class="calc">見通し（{kpi.target.year}年度）: {e(said)}</p>'


class ChartCache:
    """PNG charts keyed by the hash of everything they show; a re-run after one changed value
    redraws only the charts whose inputs changed.

    The folder is used only if kpi made it (it holds CACHEDIR.TAG) and is a real folder of this
    user; entries are opened relative to it without following links, written under a fresh
    name and renamed into place. A planted link, folder or odd file is never read or written
    through: it counts as a miss and is replaced. A folder that cannot be used (a file, a link,
    a read-only or full disk) gives a warning and charts drawn without the cache."""

    def __init__(self, folder: Path | None):
        self.folder = folder
        self.drawn = self.reused = 0
        self.fd: int | None = None
        if folder is not None:
            self.fd = self._open(folder)

    def _open(self, folder: Path) -> int | None:
        try:
            created = False
            with contextlib.suppress(FileExistsError):
                os.mkdir(folder, 0o755)
                created = True
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError as exc:
            self._without(f"{folder} cannot be the chart cache ({exc.strerror})")
            return None
        try:
            if os.fstat(fd).st_uid != os.getuid():
                raise _NotOurs("it belongs to another user")
            if not created and not self._is_entry(fd, CACHE_TAG):
                if any(not _CACHED.fullmatch(name) for name in os.listdir(fd)):
                    raise _NotOurs(f"kpi did not make it (no {CACHE_TAG})")
                created = True  # an earlier version's cache: only chart files in it
            if created:
                self._write(fd, CACHE_TAG, _TAG_TEXT)
        except (OSError, _NotOurs) as exc:
            os.close(fd)
            self._without(f"{folder} is not used as the chart cache: {exc}")
            return None
        return fd

    @staticmethod
    def _without(why: str) -> None:
        progress("report", f"warning: {why}; the charts are drawn without the cache")

    def close(self) -> None:
        """Release the cache folder."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    @staticmethod
    def _is_entry(fd: int, name: str) -> bool:
        try:
            return stat.S_ISREG(os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode)
        except OSError:
            return False

    @staticmethod
    def _write(fd: int, name: str, data: bytes) -> None:
        """`data` into the entry `name`: a new file of this run renamed over it (a link there
        is replaced, not followed)."""
        tmp = f".{name}.{secrets.token_hex(8)}.tmp"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        out = os.open(tmp, flags, 0o644, dir_fd=fd)
        try:
            with os.fdopen(out, "wb") as fh:
                fh.write(data)
            os.replace(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp, dir_fd=fd)

    def _read(self, name: str) -> bytes | None:
        """The cached PNG, or None: missing, or anything but a regular PNG file of sane size."""
        assert self.fd is not None
        try:
            fd = os.open(
                name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=self.fd
            )
        except OSError:
            return None
        with os.fdopen(fd, "rb") as fh:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_size > _MAX_PNG_BYTES:
                return None
            png = fh.read()
        return png if png.startswith(_PNG_SIGNATURE) else None

    def image(self, kpi: Kpi, ev, history: pd.DataFrame) -> str:
        """The KPI's chart as a data URI, drawn or taken from the cache by the hash of what it
        shows."""
        key = self._key(kpi, ev, history)
        name = f"{key}.png"
        png = self._read(name) if self.fd is not None else None
        if png is not None:
            self.reused += 1
        else:
            png = draw_png(kpi, ev, history)
            self.drawn += 1
            if self.fd is not None:
                try:
                    self._write(self.fd, name, png)
                except OSError as exc:  # a full or read-only disk: go on without the cache
                    self.close()
                    self._without(f"{self.folder}: {exc.strerror}")
        alt = html.escape(chart_alt(kpi, ev, history))
        w, h = CHART_PX
        return (
            f'<img alt="{alt}" width="{w}" height="{h}" '
            f'style="width:{w}px;max-width:100%;height:auto" '
            f'src="data:image/png;base64,{base64.b64encode(png).decode()}">'
        )

    @staticmethod
    def _key(kpi: Kpi, ev, history: pd.DataFrame) -> str:
        o = ev.outlook
        shown = {
            "v": CHART_VERSION,
            "kpi": kpi.model_dump(mode="json"),
            "history": history[["year", "value", "year_basis", "relation"]]
            .astype(str)
            .values.tolist()
            if not history.empty
            else [],
            "ev": [
                ev.baseline_year,
                ev.baseline_value,
                ev.target_year,
                ev.target_resolved,
                ev.latest_year,
                ev.latest_value,
            ],
            "outlook": [o.method, o.level, [list(map(str, p)) for p in o.path]]
            if o is not None
            else None,
        }
        return hashlib.sha256(
            json.dumps(shown, ensure_ascii=False, sort_keys=True, default=str).encode()
        ).hexdigest()


# The chart's size in the page: 720×400 px at 100 %, which prints about 19 cm wide on A4.
CHART_PX = (720, 400)
CHART_DPI = 90  # drawn at the size it is shown: 8 pt legend text is 10 px, 10 pt ticks 12.5 px


def chart_alt(kpi: Kpi, ev, history: pd.DataFrame) -> str:
    """What the chart shows, in words (its alt text): the span of the figures, the latest and
    the target."""
    unit = kpi.unit or ""
    years = history["year"].dropna().astype(int) if not history.empty else pd.Series(dtype=int)
    said = [f"{kpi.label}の推移のグラフ"]
    if not years.empty:
        span = f"{years.min()}〜{years.max()}" if years.min() != years.max() else f"{years.min()}"
        said.append(f"実績 {span}（{len(years)}点）")
    cumulative = kpi.target.kind == "cumulative"
    if ev.latest_year is not None and ev.latest_value is not None:
        one_year = "（単年）" if cumulative else ""
        said.append(f"最新 {ev.latest_year}: {reader_number(ev.latest_value)}{unit}{one_year}")
    if ev.target_resolved is not None:
        total = "累計" if cumulative else ""
        said.append(f"目標 {kpi.target.year}年度: {total}{reader_number(ev.target_resolved)}{unit}")
    return "。".join(said)


def draw_png(kpi: Kpi, ev, history: pd.DataFrame) -> bytes:
    """The KPI's chart (720×400 px, legend 8 pt) without pyplot's global state."""
    from matplotlib.figure import Figure

    from kpi_lib.reporting import charts

    charts.use_style()
    fig = Figure(figsize=(CHART_PX[0] / CHART_DPI, CHART_PX[1] / CHART_DPI), dpi=CHART_DPI)
    ax = fig.add_subplot()
    draw = charts.cumulative_chart if kpi.target.kind == "cumulative" else charts.kpi_chart
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # a missing glyph is an error, not a tofu box
        draw(kpi, ev, ev.outlook, history, ax=ax)
        ax.title.set_fontsize(11)
        ax.legend(fontsize=8, loc="best", framealpha=0.9)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
    return buf.getvalue()
