"""The charts of the goal documents, cached by the hash of what they show (docs/report.md).

A re-run after one changed value redraws only the charts whose inputs changed; the cache folder
is one kpi made, and nothing in it is followed or trusted (see ChartCache).
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
from pathlib import Path

import pandas as pd

from kpi_lib.catalog.model import Kpi
from kpi_lib.core.numbers import reader_number
from kpi_lib.core.output import progress
from kpi_lib.evaluation.outlook import Outlook
from kpi_lib.evaluation.rules import Evaluation

CACHE_TAG = "CACHEDIR.TAG"  # the standard tag (backup tools skip the folder); kpi's mark on it
_TAG_TEXT = b"Signature: 8a477f597d28d172789f06886806bc55\n# kpi chart cache (docs/report.md)\n"
_CACHED = re.compile(r"[0-9a-f]{64}\.(png|tmp)")  # an earlier version's entries
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_MAX_PNG_BYTES = 4 * 1024 * 1024  # a chart is about 30 kB


class _NotOurs(Exception):
    """The cache folder is not one kpi made."""


CHART_VERSION = "2"  # bump when the chart's drawing changes: old cache entries then miss


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

    def image(
        self, kpi: Kpi, ev: Evaluation, outlook: Outlook | None, history: pd.DataFrame
    ) -> str:
        """The KPI's chart as a data URI, drawn or taken from the cache by the hash of what it
        shows."""
        key = self._key(kpi, ev, outlook, history)
        name = f"{key}.png"
        png = self._read(name) if self.fd is not None else None
        if png is not None:
            self.reused += 1
        else:
            png = draw_png(kpi, ev, outlook, history)
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
    def _key(kpi: Kpi, ev: Evaluation, o: Outlook | None, history: pd.DataFrame) -> str:
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


def chart_alt(kpi: Kpi, ev: Evaluation, history: pd.DataFrame) -> str:
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


def draw_png(kpi: Kpi, ev: Evaluation, outlook: Outlook | None, history: pd.DataFrame) -> bytes:
    """The KPI's chart (720×400 px, legend 8 pt) without pyplot's global state."""
    from matplotlib.figure import Figure

    from kpi_lib.reporting import charts

    charts.use_style()
    fig = Figure(figsize=(CHART_PX[0] / CHART_DPI, CHART_PX[1] / CHART_DPI), dpi=CHART_DPI)
    ax = fig.add_subplot()
    draw = charts.cumulative_chart if kpi.target.kind == "cumulative" else charts.kpi_chart
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # a missing glyph is an error, not a tofu box
        draw(kpi, ev, outlook, history, ax=ax)
        ax.title.set_fontsize(11)
        ax.legend(fontsize=8, loc="best", framealpha=0.9)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
    return buf.getvalue()
