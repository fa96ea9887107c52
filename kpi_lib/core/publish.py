"""Publishing a folder safely: only over what the tool wrote, one run at a time, whole or not
at all.

A folder the tool writes (a report, the bundled data) carries a marker file. `claim` refuses
any existing target without it, so `--out ~/Documents` can never be emptied. The new folder
is built in a staging folder beside the target and swapped in with two renames; `recover`
puts the previous folder back if a run was killed between them, and removes staging
folders of runs that died. `locked` keeps two runs off the same target.

Every path the tool names itself (lock, staging, old folder) is opened or created without
following links: a planted symlink, folder or device there is refused, never written through.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import shutil
import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path

from kpi_lib.core.errors import KpiError

REPORT_MARKER = ".kpi-report"
STAGING_MARKER = ".kpi-staging"  # in a staging folder from its creation until the swap
# The longest suffix kpi adds to a target's name (".NAME.building-PID" with a 7-digit PID).
_SUFFIX_BYTES = len("..building-") + 7
_NAME_MAX = 255


def check_target(final: Path, option: str = "--out") -> None:
    """Refuse, before anything is created, a target kpi cannot write: a control character or
    a name too long for the files kpi puts beside it, or a file where a parent folder should
    be."""
    if any(ord(c) < 32 or ord(c) == 127 for c in str(final)):
        raise KpiError(f"{option} {str(final)!r}: a path with a control character is refused")
    room = _NAME_MAX - _SUFFIX_BYTES
    if len(final.name.encode()) > room:
        raise KpiError(
            f"{option} {final.name[:40]}…: the name is {len(final.name.encode())} bytes long; "
            f"at most {room} are possible (kpi adds .lock and staging folders beside it)"
        )
    for parent in final.parents:
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                raise KpiError(
                    f"{option} {final}: {parent} is a file, not a folder; choose another {option}"
                )
            return


def refuse_overlap(
    final: Path, reads: dict[str, Path], holds: dict[str, Path] | None = None
) -> None:
    """Refuse a target that is, contains or lies inside a folder the run `reads`, or that is or
    contains a path it `holds` (a swap would replace what the run reads or the next run reads)."""
    for what, p in {**reads, **(holds or {})}.items():
        p = p.resolve()
        inside = what in reads and p in final.parents
        if final == p or final in p.parents or inside:
            raise KpiError(
                f"--out {final} overlaps {what} {p}, which this run reads; choose a folder "
                "outside it (nothing was changed)"
            )


def claim(final: Path, marker: str, what: str, also_ours=None) -> None:
    """Refuse to replace `final` unless it is missing, empty, or a folder this tool wrote
    (`marker` in it, or `also_ours(final)` true: folders of earlier versions)."""
    if not final.exists() and not final.is_symlink():
        return
    if final.is_symlink() or not final.is_dir():
        raise KpiError(
            f"{final} exists and is not a folder: choose another --out (nothing was changed)"
        )
    if (
        _is_regular(final / marker)
        or not any(final.iterdir())
        or (also_ours is not None and also_ours(final))
    ):
        return
    raise KpiError(
        f"{final} exists and is not a {what} written by kpi (no {marker} in it): choose "
        "a folder that does not exist yet, or one kpi wrote before; nothing was changed"
    )


def _is_regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _is_real_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def write_marker(folder: Path, marker: str, **facts) -> None:
    """Mark `folder` as written by kpi, with facts about the run: a new file renamed into place
    (a link at the marker's name is replaced, never written through)."""
    tmp = folder / f".{marker}.{os.getpid()}.tmp"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    write_new(tmp, json.dumps({"written_by": "kpi", **facts}, ensure_ascii=False) + "\n")
    os.replace(tmp, folder / marker)


def write_new(path: Path, text: str) -> None:
    """Create `path` with `text`; an existing file, link or anything else there is an error."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)


def staging_dir(final: Path) -> Path:
    """A fresh staging folder beside `final`, named for this process and marked as kpi's."""
    staging = final.parent / f".{final.name}.building-{os.getpid()}"
    _remove_ours(staging)
    staging.mkdir(parents=True)
    write_marker(staging, STAGING_MARKER, pid=os.getpid(), host=socket.gethostname())
    return staging


def _remove_ours(path: Path) -> bool:
    """Remove a staging or old folder kpi made: a real folder (not a link) that is empty or
    carries a kpi marker. Anything else at the path is left alone."""
    if not _is_real_dir(path):
        return False
    if any(path.iterdir()) and not (
        _is_regular(path / STAGING_MARKER)
        or _is_regular(path / REPORT_MARKER)
        or _is_regular(path / "MANIFEST.json")
    ):
        return False
    shutil.rmtree(path, ignore_errors=True)  # rmtree never follows links inside
    return True


def pid_alive(pid: int) -> bool:
    """Whether a process of this number runs on this machine (another user's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _leftovers(final: Path, kind: str) -> list[tuple[Path, int]]:
    pattern = re.compile(rf"^\.{re.escape(final.name)}\.{kind}-(\d+)$")
    found = []
    for p in final.parent.glob(f".{glob_escape(final.name)}.{kind}-*"):
        m = pattern.match(p.name)
        if m and _is_real_dir(p):
            found.append((p, int(m[1])))
    return found


def glob_escape(name: str) -> str:
    """`name` with glob's special characters taken literally."""
    return re.sub(r"([*?\[])", r"[\1]", name)


def recover(final: Path) -> list[str]:
    """Undo what a killed run left: restore the previous folder if the swap was cut between
    its two renames, and remove staging and old folders of runs no longer alive (only real
    folders kpi marked; a link or a user's folder of that name is left alone).
    Called under the lock, so no live run of this target can own them.
    Returns what was done, for the progress log."""
    done = []
    olds = [(p, pid) for p, pid in _leftovers(final, "old") if not pid_alive(pid)]
    if not final.exists() and not final.is_symlink() and olds:
        newest = max(olds, key=lambda o: o[0].stat().st_mtime)
        newest[0].rename(final)
        done.append(f"restored the previous {final.name} from an interrupted run")
        olds.remove(newest)
    for p, pid in [*olds, *_leftovers(final, "building")]:
        if not pid_alive(pid) and _remove_ours(p):
            done.append(f"removed {p.name}, left by a run that was killed")
    return done


def swap_in(staging: Path, final: Path) -> None:
    """Replace the folder `final` with `staging` in two renames; the old one goes last.

    Killed between the renames, `recover` puts the old folder back on the next run.
    """
    old = final.parent / f".{final.name}.old-{os.getpid()}"
    _remove_ours(old)
    with contextlib.suppress(FileNotFoundError):
        (staging / STAGING_MARKER).unlink()
    if final.exists():
        final.rename(old)
        # claimed under the lock before the run (a report of an earlier version may carry no
        # marker): marked now, so that this removal or the next run's recovery takes it
        write_marker(old, STAGING_MARKER)
    staging.rename(final)
    _remove_ours(old)


def _lock_error(lock_path: Path, final: Path, what: str) -> KpiError:
    return KpiError(
        f"{lock_path} {what}; kpi keeps its lock for {final.name} there and does not write "
        "through it: remove it or choose another --out (nothing was changed)"
    )


def _open_lock(lock_path: Path, final: Path) -> int:
    """The lock file's descriptor: created new, or an existing regular file kpi wrote, never a
    link, folder, device or a file with other names (hard links)."""
    flags = os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
    try:
        return os.open(lock_path, flags | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        pass
    if lock_path.is_symlink():
        raise _lock_error(lock_path, final, "is a symbolic link")
    if not _is_regular(lock_path):
        raise _lock_error(lock_path, final, "is a folder or a special file, not a lock file")
    try:
        fd = os.open(lock_path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _lock_error(lock_path, final, "is a symbolic link") from None
        raise
    info = os.fstat(fd)
    head = os.pread(fd, 5, 0)
    if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1 or head not in (b"", b"kpi ("):
        os.close(fd)
        raise _lock_error(lock_path, final, "is not a lock file kpi wrote")
    return fd


@contextlib.contextmanager
def locked(final: Path) -> Iterator[None]:
    """One run at a time per target: a second one fails at once, naming the first.

    The lock file is removed at the end; a run that found it replaced or removed meanwhile
    tries again, so two runs never hold locks on different files of the same name."""
    check_target(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    lock_path = final.parent / f".{final.name}.lock"
    for _attempt in range(5):
        fd = _open_lock(lock_path, final)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 400, 0).decode("utf-8", "replace").strip() or "another run"
            os.close(fd)
            raise KpiError(f"{final} is being written by {holder}; wait for it to finish") from None
        try:
            same = os.path.samestat(os.fstat(fd), os.lstat(lock_path))
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the file was removed by the run that just finished: lock the new one
    else:
        raise _lock_error(lock_path, final, "keeps changing")
    try:
        os.ftruncate(fd, 0)
        note = (
            f"kpi (process {os.getpid()} on {socket.gethostname()}, "
            f"started {time.strftime('%Y-%m-%d %H:%M:%S')})"
        )
        os.pwrite(fd, note.encode(), 0)
        yield
    finally:
        with contextlib.suppress(OSError):
            if os.path.samestat(os.fstat(fd), os.lstat(lock_path)):
                lock_path.unlink()  # while still held: the next run creates a fresh one
        os.close(fd)  # releases the lock
