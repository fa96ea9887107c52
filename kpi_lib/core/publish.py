"""Publishing a folder safely: only over what the tool wrote, one run at a time, whole or not
at all.

A folder the tool writes (a report, the bundled data) carries a marker file. `claim` refuses
any existing target without it, so `--out ~/Documents` can never be emptied. The new folder
is built in a staging folder beside the target and swapped in with two renames; `recover`
puts the previous folder back if a run was killed between them, and removes staging
folders of runs that died. `locked` keeps two runs off the same target.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from kpi_lib.core.errors import KpiError

REPORT_MARKER = ".kpi-report"


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
        (final / marker).is_file()
        or not any(final.iterdir())
        or (also_ours is not None and also_ours(final))
    ):
        return
    raise KpiError(
        f"{final} exists and is not a {what} written by kpi (no {marker} in it): choose "
        "a folder that does not exist yet, or one kpi wrote before; nothing was changed"
    )


def write_marker(folder: Path, marker: str, **facts) -> None:
    """Mark `folder` as written by kpi, with facts about the run."""
    (folder / marker).write_text(
        json.dumps({"written_by": "kpi", **facts}, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def staging_dir(final: Path) -> Path:
    """A fresh staging folder beside `final`, named for this process."""
    staging = final.parent / f".{final.name}.building-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    return staging


def _pid_alive(pid: int) -> bool:
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
    for p in final.parent.glob(f".{final.name}.{kind}-*"):
        m = pattern.match(p.name)
        if m:
            found.append((p, int(m[1])))
    return found


def recover(final: Path) -> list[str]:
    """Undo what a killed run left: restore the previous folder if the swap was cut between
    its two renames, and remove staging and old folders of runs no longer alive.
    Returns what was done, for the progress log."""
    done = []
    olds = [(p, pid) for p, pid in _leftovers(final, "old") if not _pid_alive(pid)]
    if not final.exists() and olds:
        newest = max(olds, key=lambda o: o[0].stat().st_mtime)
        newest[0].rename(final)
        done.append(f"restored the previous {final.name} from an interrupted run")
        olds.remove(newest)
    for p, pid in [*olds, *_leftovers(final, "building")]:
        if not _pid_alive(pid):
            shutil.rmtree(p, ignore_errors=True)
            done.append(f"removed {p.name}, left by a run that was killed")
    return done


def swap_in(staging: Path, final: Path) -> None:
    """Replace the folder `final` with `staging` in two renames; the old one goes last.

    Killed between the renames, `recover` puts the old folder back on the next run.
    """
    old = final.parent / f".{final.name}.old-{os.getpid()}"
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    staging.rename(final)
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def locked(final: Path) -> Iterator[None]:
    """One run at a time per target: a second one fails at once, naming the first."""
    final.parent.mkdir(parents=True, exist_ok=True)
    lock_path = final.parent / f".{final.name}.lock"
    fh = open(lock_path, "a+", encoding="utf-8")  # noqa: SIM115 (held for the whole run)
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another run"
            raise KpiError(f"{final} is being written by {holder}; wait for it to finish") from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"kpi (process {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')})")
        fh.flush()
        yield
    finally:
        fh.close()  # releases the lock
