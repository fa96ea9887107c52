"""Writing tables for people and programs: table, csv, json or xlsx, whole or not at all."""

from __future__ import annotations

import contextlib
import errno
import gc
import hashlib
import io
import json
import math
import os
import re
import shutil
import stat
import sys
import tempfile
import traceback
import unicodedata
from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd

from kpi_lib.core.errors import ArgumentError, KpiError
from kpi_lib.core.numbers import number_text
from kpi_lib.core.publish import check_target

FORMATS = ("table", "csv", "json", "xlsx")
_UMASK = os.umask(0o022)  # read once (os.umask can only be read by setting it)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(path: str | Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside `path`; move it into place only on success.

    Readers never see a half-written file, and a failure leaves any old file as it was.
    A folder at `path` is refused: a file output never replaces a directory. A FIFO, a
    terminal or another character device (`/dev/stdout`, `>(…)`) is written to, never
    replaced: the whole output is built first, then streamed into it.
    """
    path = Path(path)
    if path.is_dir():
        raise ArgumentError(
            "out", f"{path} is a folder; it needs a file name such as {path / 'out.csv'}"
        )
    try:
        if (target := _stream_target(path)) is not None:
            with tempfile.TemporaryDirectory(prefix="kpi-out-") as folder:
                tmp_path = Path(folder) / f"out{suffix or path.suffix}"
                yield tmp_path
                _stream(tmp_path, path, target)
            return
        check_target(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=suffix or path.suffix, dir=path.parent
        )
        os.close(fd)
        tmp_path = Path(tmp)
        try:
            yield tmp_path
            os.chmod(tmp_path, 0o666 & ~_UMASK)  # mkstemp makes it private; outputs are for all
            os.replace(tmp_path, path)
        finally:
            tmp_path.unlink(missing_ok=True)
    except OSError as exc:
        _drop_half_written(exc)
        raise KpiError(os_error_message(exc, path)) from None


def _drop_half_written(exc: OSError) -> None:
    """Close now, quietly, what the failed writer left open (an xlsx's zip file would otherwise
    print a traceback from its finaliser when it retries the write at exit)."""
    hook = sys.unraisablehook
    sys.unraisablehook = lambda unraisable: None
    try:
        traceback.clear_frames(exc.__traceback__)
        gc.collect()
    finally:
        sys.unraisablehook = hook


def os_error_message(exc: OSError, path: str | Path | None = None, doing: str = "write") -> str:
    """What a failed file operation means for the user, naming the file. Nothing is half-written
    (every writer builds beside its target and removes what it built on failure)."""
    where = exc.filename or path
    why = {
        errno.EROFS: "the file system is read-only",
        errno.ENOSPC: "the disk is full",
        errno.EDQUOT: "the disk quota is used up",
        errno.EACCES: "permission denied",
        errno.EPERM: "operation not permitted",
        errno.ENAMETOOLONG: "the name is too long for the file system",
        errno.ENOTDIR: "a part of the path is a file, not a folder",
        errno.ENXIO: "no program is reading from it",
    }.get(exc.errno or 0, exc.strerror or str(exc))
    if doing:
        return f"cannot {doing} {where}: {why}; nothing was changed"
    return f"{where}: {why}; nothing that existed was changed"


def _stream_target(path: Path) -> int | None:
    """How to write `path` in place instead of replacing it: a descriptor of this process
    (`/dev/stdout`, `/dev/fd/N`), -1 for a FIFO or character device, None for a file."""
    link = Path(os.readlink(path)) if path.is_symlink() else path
    own_fds = os.path.realpath(f"/proc/{os.getpid()}/fd")
    for named in (path, link if link.is_absolute() else path.parent / link):
        if os.path.realpath(named.parent) == own_fds and named.name.isdigit():
            return int(named.name)
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if stat.S_ISBLK(mode) or stat.S_ISSOCK(mode):
        raise KpiError(f"{path} is a disk or a socket; kpi writes only files, FIFOs and terminals")
    return -1 if (stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)) else None


def _stream(tmp: Path, path: Path, target: int) -> None:
    """Copy the finished output into the special file `path` that `_stream_target` found before
    the output was built (opened without blocking on a FIFO nobody reads); a regular file put
    there meanwhile is never written into."""
    if target >= 0:
        fd = os.dup(target)
    else:
        fd = os.open(path, os.O_WRONLY | os.O_NOCTTY | os.O_NONBLOCK | os.O_CLOEXEC)
        mode = os.fstat(fd).st_mode
        if not (stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)):
            os.close(fd)
            raise KpiError(f"{path} changed while the output was built; nothing was written")
        os.set_blocking(fd, True)
    with os.fdopen(fd, "wb") as out, open(tmp, "rb") as src:
        shutil.copyfileobj(src, out)


def check_out(out: str | Path | None, inputs=(), force: bool = False) -> None:
    """Refuse an `--out` that is one of the inputs (even with --force: the run would destroy
    what it reads) or an existing file without --force. FIFOs and terminals are written to."""
    if not out:
        return
    path = Path(out)
    check_target(path)
    if not os.path.lexists(path) or path.is_dir():
        return  # a folder is refused by atomic_path with its own message
    if _stream_target(path) is not None:
        return
    for inp in inputs:
        with contextlib.suppress(OSError):
            if os.path.samefile(path, inp):
                raise ArgumentError(
                    "out", f"{path} is an input of this run ({inp}); choose another file"
                )
    if not force:
        raise ArgumentError(
            "out",
            f"{path} exists; add ‹force› to replace it, or choose another file (nothing was "
            "changed)",
        )


def progress(tag: str, message: str) -> None:
    """A progress line on stderr, so that stdout stays clean for data."""
    print(f"[{tag}] {terminal_text(message)}", file=sys.stderr, flush=True)


# A cell starting with one of these is read as a formula by spreadsheet programs
# (CSV injection); text from workbooks and catalogs gets a leading apostrophe instead.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def defuse(value):
    """Text that a spreadsheet would run as a formula, made inert; numbers pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def defuse_frame(df: pd.DataFrame) -> pd.DataFrame:
    """`defuse` over every text column (numeric columns, negatives included, stay numbers)."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            # element by element, kept as objects: map() would turn 2018 and None into 2018.0
            out[col] = pd.Series([defuse(v) for v in out[col]], index=out.index, dtype=object)
    return out


def defuse_workbook(wb) -> None:
    """Store every formula-looking cell of an openpyxl workbook as plain text (the tool writes no
    formulas)."""
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    # openpyxl types any str starting with "=" as a formula; store it as the text it
                    # is
                    cell._value, cell.data_type = str(cell.value), "s"


def write_csv_for_people(df: pd.DataFrame, path: str | Path) -> None:
    """A CSV to open in Excel: BOM (so Japanese text shows), formulas defused, written
    atomically."""
    with atomic_path(path) as tmp:
        tidy_types(defuse_frame(df)).to_csv(
            tmp, index=False, encoding="utf-8-sig", lineterminator="\n"
        )


def sha256(path: Path) -> str:
    """The file's SHA-256, hex."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _json_value(v):
    if isinstance(v, float) and math.isnan(v):
        return None
    if hasattr(v, "item"):
        return _json_value(v.item())
    return v


def to_json(df: pd.DataFrame) -> str:
    """A table as a JSON list of records (NaN as null, numbers as numbers)."""
    records = [{k: _json_value(v) for k, v in row.items()} for row in df.to_dict(orient="records")]
    return json.dumps(records, ensure_ascii=False, indent=2, default=str)


INTEGER_COLUMNS = ("goal", "n_points", "window_start", "window_end", "year", "month")


def tidy_types(df: pd.DataFrame) -> pd.DataFrame:
    """Years and counts as integers even where some are missing (2018, not 2018.0)."""
    df = df.copy()
    for col in df.columns:
        if (col in INTEGER_COLUMNS or col.endswith("_year")) and df[col].dtype.kind in "fiO":
            df[col] = pd.to_numeric(df[col], errors="coerce").astype("Int64")
    return df


# Characters a terminal acts on (ESC starts a control sequence, C1 0x9b too) or that hide text.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def terminal_text(text: str) -> str:
    """Text safe to print: control characters shown as \\x1b escapes (newline and tab kept)."""
    return _CONTROL.sub(lambda m: repr(m[0])[1:-1], text)


def _table_cell(v) -> str:
    """A cell of the terminal table: floats with up to 10 decimals, gaps empty, control
    characters escaped."""
    if isinstance(v, float) or v is None or v is pd.NA:
        return number_text(v, decimals=10)
    return terminal_text(str(v))


def render(df: pd.DataFrame, fmt: str) -> str:
    """The text form of a table: an aligned table, CSV or JSON."""
    df = tidy_types(df)
    if fmt == "csv":
        buf = io.StringIO()
        defuse_frame(df).to_csv(buf, index=False, lineterminator="\n")
        return buf.getvalue()
    if fmt == "json":
        return to_json(df) + "\n"
    if fmt == "table":
        with pd.option_context(
            "display.max_rows",
            None,
            "display.max_columns",
            None,
            "display.width",
            250,
            "display.max_colwidth",
            40,
        ):
            cells = df.astype(object).map(_table_cell)
            return cells.to_string(index=False) + "\n"
    raise KpiError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")


def display_width(text: str) -> int:
    """Columns `text` takes in a terminal: wide (CJK) characters two, combining marks none."""
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
        for c in text
    )


def clip_text(text: str, width: int) -> str:
    """`text` cut with … to at most `width` terminal columns."""
    if display_width(text) <= width:
        return text
    out, used = "", 0
    for c in text:
        if used + display_width(c) > width - 1:
            break
        out, used = out + c, used + display_width(c)
    return out + "…"


def terminal_width(low: int = 100, high: int = 120) -> int:
    """The width a terminal table is fitted to: the terminal's, kept within low–high columns."""
    return min(max(shutil.get_terminal_size((high, 24)).columns, low), high)


def fitted_table(
    df: pd.DataFrame,
    width: int,
    shrink: str,
    optional: Sequence[str] = (),
    least: int = 20,
) -> str:
    """An aligned table of text cells no wider than `width` columns. The `shrink` column (long
    names) is clipped with …; while it would get fewer than `least` columns, the `optional`
    columns are left out in their order, and a last line names them."""
    cells = df.astype(object).map(
        lambda v: "" if v is None or v is pd.NA else terminal_text(str(v).replace("\n", " "))
    )
    cells = cells.map(lambda v: "" if v == "nan" else v)
    gap = 2

    def widths_of(frame) -> dict[str, int]:
        return {
            c: max([display_width(c), *(display_width(v) for v in frame[c])]) for c in frame.columns
        }

    def room(widths) -> int:
        others = sum(w for c, w in widths.items() if c != shrink)
        return width - others - gap * (len(widths) - 1)

    dropped: list[str] = []
    widths = widths_of(cells)
    for col in optional:
        if room(widths) >= min(least, widths[shrink]):
            break
        if col in cells.columns:
            cells, dropped = cells.drop(columns=[col]), [*dropped, col]
            widths = widths_of(cells)
    widths[shrink] = max(min(widths[shrink], room(widths)), display_width(shrink), 4)
    cells[shrink] = cells[shrink].map(lambda v: clip_text(v, widths[shrink]))

    def line(values) -> str:
        pairs = zip(widths, values, strict=True)
        parts = [v + " " * (widths[c] - display_width(v)) for c, v in pairs]
        return (" " * gap).join(parts).rstrip()

    rows = [line(cells.columns), *(line(r) for r in cells.itertuples(index=False))]
    if dropped:
        rows.append(f"（幅に収まらない列を省略: {'、'.join(dropped)}）")
    return "\n".join(rows) + "\n"


def emit(df: pd.DataFrame, fmt: str, out: str | Path | None, xlsx_writer=None) -> None:
    """Print `df` or write it to `out`; xlsx needs a file and a writer function."""
    if fmt == "xlsx":
        if not out:
            raise ArgumentError("format", "xlsx needs ‹out› FILE.xlsx")
        if xlsx_writer is None:
            raise KpiError("this command has no xlsx form; use table, csv or json")
        with atomic_path(out) as tmp:
            xlsx_writer(df, tmp)
        print(f"wrote {out}", file=sys.stderr)
        return
    text = render(df, fmt)
    if out:
        with atomic_path(out) as tmp:
            # A CSV file is for people opening it in Excel: with a BOM; standard output stays plain.
            tmp.write_text(text, encoding="utf-8-sig" if fmt == "csv" else "utf-8")
        print(f"wrote {out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
