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
from kpi_lib.reporting.context import RELATION_MARK, ReportContext

CACHE_TAG = "CACHEDIR.TAG"  # the standard tag (backup tools skip the folder); kpi's mark on it
_TAG_TEXT = b"Signature: 8a477f597d28d172789f06886806bc55\n# kpi chart cache (docs/report.md)\n"
_CACHED = re.compile(r"[0-9a-f]{64}\.(png|tmp)")  # an earlier version's entries
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_MAX_PNG_BYTES = 4 * 1024 * 1024  # a chart is about 30 kB


class _NotOurs(Exception):
    """The cache folder is not one kpi made."""


CHART_VERSION = "1"  # bump when the chart's drawing changes: old cache entries then miss

CSS = """
body{font-family:"IPAexGothic","IPAPGothic","Noto Sans CJK JP",sans-serif;
max-width:980px;margin:2em auto;
line-height:1.6;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:2px solid #305496;padding-bottom:.2em}
nav ol{columns:2;font-size:.9em}nav a{text-decoration:none}
.kpi{border:1px solid #ccc;border-radius:4px;padding:.6em 1em;margin:1.2em 0;break-inside:avoid;
page-break-inside:avoid}
.kpi h3{margin:.2em 0 .4em;font-size:1.05em}
.badge{display:inline-block;padding:0 .5em;border-radius:3px;font-weight:bold;color:#fff;
background:#757575}
.badge.達成,.badge.A,.badge.S,.badge.◎{background:#2E7D32}.badge.未達成,.badge.D,.badge.×,.badge.C{background:#C62828}
.badge.B,.badge.○{background:#7CB342}.badge.未確定,.badge.−{background:#9E9E9E}
table{border-collapse:collapse;font-size:.85em;margin:.4em 0}
td,th{border:1px solid #ddd;padding:2px 6px;text-align:left}
.row{display:flex;gap:1em;flex-wrap:wrap;align-items:flex-start}.row img{max-width:460px;width:100%}
.calc{font-size:.85em;color:#444}.muted{color:#666;font-size:.85em}
@media print{nav{display:none}body{max-width:none;margin:0}
.kpi{border:none;border-top:1px solid #999}
a{color:inherit;text-decoration:none}}
"""


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
        f'<li><a href="#kpi-{e(k.kpi_id)}">{e(k.measure_code)} {e(k.label)}</a> '
        f"{_badge(card.loc[k.kpi_id])}</li>"
        for k in kpis
    )
    return f"""<!DOCTYPE html>
<html lang="ja"><head><meta charset="utf-8">
<title>基本目標{goal} {e(title)}（{ctx.fiscal_year}年度）</title>
<style>{CSS}</style></head><body>
<p class="muted">{e(s.title_ja)}　効果検証報告（{ctx.fiscal_year}年度・{to_era(ctx.fiscal_year)}）
　<a href="index.html">目次へ</a></p>
<h1>基本目標{goal}　{e(title)}</h1>
<p>{len(kpis)}指標。各指標について、戦略の記載、評価（目標年度からは最終評価）、推移と目標への直線、
使用した値と出典、評価の算定を示します。★は基本目標の数値目標です。</p>
<nav><h2>指標の一覧</h2><ol>{toc}</ol></nav>
{"".join(sections)}
</body></html>
"""


def _badge(r) -> str:
    label = r["verdict"] if isinstance(r["verdict"], str) else r["grade"]
    return f'<span class="badge {html.escape(str(label))}">{html.escape(str(label))}</span>'


def _section(ctx: ReportContext, kpi: Kpi, r, charts: ChartCache) -> str:
    e = html.escape
    ev = ctx.evaluations[kpi.kpi_id]
    b, t = kpi.baseline, kpi.target
    history = ctx.history(kpi.kpi_id)
    facts = [
        ("施策", f"{kpi.measure_code}　{kpi.measure.title_ja}"),
        ("基準値（戦略の記載）", b.text if b is not None and b.text else "記載なし"),
        ("目標（戦略の記載）", (t.text or "") + ("（仮の目標）" if t.placeholder else "")),
        ("単位・方向", f"{kpi.unit}　{DIRECTIONS_JA[kpi.direction]}　（{KINDS_JA[t.kind]}）"),
    ]
    for spec in kpi.public_series:
        facts.append((f"公表統計（{spec.relation_ja}）", f"{spec.measure}。{spec.note_ja or ''}"))
    facts_html = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in facts)
    latest = (
        "実績なし"
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
    judgement = (
        f"最終評価 {_badge(r)}"
        if ev.verdict
        else f"評価 {_badge(r)}　進捗状況: {e(PROGRESS_STATUSES[ev.progress_status])}"
    )
    summary = (
        f"<p>{judgement}　実績: {e(latest)}　目標値: "
        f"{e(reader_number(ev.target_resolved))}{'（仮）' if t.placeholder else ''}　達成率:"
        f" {e(reader_percent(ev.achievement_rate)) or '—'}</p>"
    )
    chart = charts.image(kpi, ev, history) if not history.empty else ""
    values_html = (
        _values_html(history)
        if not history.empty
        else '<p class="muted">実績はまだありません（担当課が実績入力シートに入力します）。</p>'
    )
    outlook = _outlook_html(ctx, kpi, ev)
    calc = (f'<p class="calc">算定: {e(ev.calculation)}</p>' if ev.calculation else "") + (
        f'<p class="calc">注記: {e(" / ".join(ev.notes))}</p>' if ev.notes else ""
    )
    star = "★ " if kpi.numeric_goal else ""
    return f"""
<section class="kpi" id="kpi-{e(kpi.kpi_id)}">
<h3>{star}{e(kpi.kpi_id)}　{e(kpi.label)}</h3>
{summary}
<div class="row"><table>{facts_html}</table>{chart}</div>
{values_html}
{outlook}
{calc}
</section>"""


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
        alt = html.escape(f"{kpi.label}の推移と目標")
        return f'<img alt="{alt}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'

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


def draw_png(kpi: Kpi, ev, history: pd.DataFrame) -> bytes:
    """A small chart (about 460×240 px) without pyplot's global state."""
    from matplotlib.figure import Figure

    from kpi_lib.reporting import charts

    charts.use_style()
    fig = Figure(figsize=(5.2, 2.7), dpi=90)
    ax = fig.add_subplot()
    draw = charts.cumulative_chart if kpi.target.kind == "cumulative" else charts.kpi_chart
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # a missing glyph is an error, not a tofu box
        draw(kpi, ev, ev.outlook, history, ax=ax)
        ax.title.set_fontsize(9)
        ax.legend(fontsize=6, loc="best")
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
    return buf.getvalue()
