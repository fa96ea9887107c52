"""A hostile or unlucky filesystem: planted links at the paths kpi names itself, special files
as --out, read-only and full disks, denied permissions, odd names, leftovers of killed runs,
interrupts. Nothing kpi did not create is followed, written or removed; every refusal exits 2
naming the path."""

import ast
import base64
import contextlib
import errno
import fcntl
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from kpi_lib import cli
from kpi_lib.core.errors import KpiError
from kpi_lib.core.paths import DATA_DIR, DEFAULT_CATALOG, PROJECT_ROOT
from kpi_lib.core.publish import REPORT_MARKER, STAGING_MARKER, locked, recover, write_marker
from kpi_lib.reporting.chart_cache import CACHE_TAG, ChartCache
from kpi_lib.reporting.kernels import (
    KernelPool,
    ReportInterrupted,
    interruptible,
    remove_dead_ipc_folders,
)
from kpi_lib.reporting.runner import _deep_dive_ids
from tests.conftest import FY2021_DEEP_DIVE
from tests.test_hostile import KPI, kpi, no_traceback

VICTIM_TEXT = "the user's notes: never overwritten\n"
KPI_ID = "G1-1-1"


def victim(tmp_path: Path, name: str = "notes.txt") -> Path:
    path = tmp_path / name
    path.write_text(VICTIM_TEXT, encoding="utf-8")
    return path


def dead_pid() -> int:
    """The number of a process that has just ended."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def user_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "mine.txt").write_text("not kpi's")
    return folder


# ---- 1. locks ---------------------------------------------------------------------------


def test_a_refused_report_does_not_write_through_a_planted_lock_link(tmp_path):
    notes = victim(tmp_path)
    out = user_folder(tmp_path)  # refused: not a folder kpi wrote
    (tmp_path / ".out.lock").symlink_to(notes)
    proc = kpi("report", "--fiscal-year", 2021, "--out", out)
    assert proc.returncode == 2 and "not a report folder written by kpi" in proc.stderr
    assert notes.read_text(encoding="utf-8") == VICTIM_TEXT
    no_traceback(proc)


def test_a_lock_planted_as_a_link_is_refused_and_its_target_untouched(tmp_path):
    notes = victim(tmp_path)
    (tmp_path / ".FY2021.lock").symlink_to(notes)
    proc = kpi("report", "--fiscal-year", 2021, "--out", tmp_path / "FY2021")
    assert proc.returncode == 2 and ".FY2021.lock is a symbolic link" in proc.stderr
    assert notes.read_text(encoding="utf-8") == VICTIM_TEXT
    assert not (tmp_path / "FY2021").exists()
    no_traceback(proc)


def test_ingest_refuses_a_planted_lock_link(tmp_path):
    notes = victim(tmp_path)
    (tmp_path / ".public.lock").symlink_to(notes)
    proc = kpi("ingest", "--source", tmp_path / "src", "--out", tmp_path / "public")
    assert proc.returncode == 2 and ".public.lock is a symbolic link" in proc.stderr
    assert notes.read_text(encoding="utf-8") == VICTIM_TEXT


def test_a_lock_path_that_is_a_folder_exits_2(tmp_path):
    (tmp_path / ".FY2021.lock").mkdir()
    proc = kpi("report", "--fiscal-year", 2021, "--out", tmp_path / "FY2021")
    assert proc.returncode == 2 and ".FY2021.lock is a folder or a special file" in proc.stderr
    assert (tmp_path / ".FY2021.lock").is_dir()
    no_traceback(proc)


def test_a_lock_hard_linked_to_a_users_file_is_not_written(tmp_path):
    notes = victim(tmp_path)
    os.link(notes, tmp_path / ".FY2021.lock")
    with pytest.raises(KpiError, match="not a lock file kpi wrote"), locked(tmp_path / "FY2021"):
        pass
    assert notes.read_text(encoding="utf-8") == VICTIM_TEXT


def test_a_users_file_named_like_the_lock_is_not_overwritten(tmp_path):
    notes = victim(tmp_path, ".FY2021.lock")
    with pytest.raises(KpiError, match="not a lock file kpi wrote"), locked(tmp_path / "FY2021"):
        pass
    assert notes.read_text(encoding="utf-8") == VICTIM_TEXT


def test_a_refused_run_leaves_no_lock_beside_the_users_folder(tmp_path):
    out = user_folder(tmp_path)
    proc = kpi("report", "--fiscal-year", 2021, "--out", out)
    assert proc.returncode == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert sorted(p.name for p in out.iterdir()) == ["mine.txt"]


def test_a_stale_lock_of_a_killed_run_is_taken_over_and_removed_at_the_end(tmp_path):
    lock = tmp_path / ".FY2021.lock"
    lock.write_text(f"kpi (process {dead_pid()}, started 2026-01-01 00:00:00)")
    with locked(tmp_path / "FY2021"):
        assert f"process {os.getpid()} on {socket.gethostname()}" in lock.read_text()
    assert not lock.exists()


def test_a_marker_link_is_replaced_not_written_through(tmp_path):
    notes = victim(tmp_path)
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / REPORT_MARKER).symlink_to(notes)
    write_marker(folder, REPORT_MARKER, fiscal_year=2021)
    write_marker(folder, REPORT_MARKER, fiscal_year=2021)  # a re-run over its own folder
    assert not (folder / REPORT_MARKER).is_symlink()
    assert '"written_by": "kpi"' in (folder / REPORT_MARKER).read_text(encoding="utf-8")
    assert notes.read_text(encoding="utf-8") == VICTIM_TEXT
    assert sorted(p.name for p in folder.iterdir()) == [REPORT_MARKER]


def test_a_held_lock_names_the_process_and_its_host(tmp_path):
    final = tmp_path / "FY2021"
    with locked(final), pytest.raises(KpiError) as refused, locked(final):
        pass
    assert f"process {os.getpid()} on {socket.gethostname()}" in str(refused.value)


def test_a_lock_replaced_while_waiting_is_not_trusted(tmp_path):
    """A run that opened the lock file just before the previous run removed it must not
    lock the removed file: it tries again on the new one."""
    final = tmp_path / "FY2021"
    lock = tmp_path / ".FY2021.lock"
    lock.write_text("")
    stale = os.open(lock, os.O_RDWR)
    fcntl.flock(stale, fcntl.LOCK_EX)
    os.unlink(lock)  # as the finishing run does, while still holding it
    with locked(final):
        assert lock.exists() and "kpi (process" in lock.read_text()
    os.close(stale)


# ---- 2. the chart cache -------------------------------------------------------------------


@pytest.fixture(scope="module")
def ctx(report_context):
    return report_context(2021)  # load_context(2021), computed once per session (conftest.py)


def chart(cache: ChartCache, ctx) -> str:
    kpi_ = ctx.catalog.get(KPI_ID)
    entry = ctx.scorecard[KPI_ID]
    return cache.image(kpi_, entry.evaluation, entry.outlook, ctx.history(KPI_ID))


def entries(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.endswith(".png")]


def test_a_planted_cache_link_is_neither_followed_nor_embedded(tmp_path, ctx):
    folder = tmp_path / ".kpi-cache"
    cache = ChartCache(folder)
    chart(cache, ctx)
    cache.close()
    (entry,) = entries(folder)
    secret = victim(tmp_path, "secret.txt")
    entry.unlink()
    entry.symlink_to(secret)
    cache = ChartCache(folder)
    html = chart(cache, ctx)
    cache.close()
    assert base64.b64encode(secret.read_bytes()).decode() not in html
    assert cache.drawn == 1 and cache.reused == 0
    assert not entry.is_symlink() and entry.read_bytes().startswith(b"\x89PNG")
    assert secret.read_text(encoding="utf-8") == VICTIM_TEXT


def test_a_planted_tmp_link_in_the_cache_is_not_written_through(tmp_path, ctx):
    folder = tmp_path / ".kpi-cache"
    ChartCache(folder).close()
    notes = victim(tmp_path)
    entry = ctx.scorecard[KPI_ID]
    key = ChartCache._key(entry.kpi, entry.evaluation, entry.outlook, ctx.history(KPI_ID))
    (folder / f"{key}.tmp").symlink_to(notes)  # the old fixed temporary name
    cache = ChartCache(folder)
    chart(cache, ctx)
    cache.close()
    assert notes.read_text(encoding="utf-8") == VICTIM_TEXT
    assert (folder / f"{key}.png").read_bytes().startswith(b"\x89PNG")


def test_a_cache_that_is_a_file_gives_a_cache_less_run_with_a_warning(tmp_path, ctx, capsys):
    notes = victim(tmp_path, ".kpi-cache")
    cache = ChartCache(notes)
    assert "data:image/png;base64," in chart(cache, ctx)
    assert ".kpi-cache cannot be the chart cache" in capsys.readouterr().err
    assert notes.read_text(encoding="utf-8") == VICTIM_TEXT


def test_a_cache_that_is_a_link_to_a_users_folder_is_not_used(tmp_path, ctx, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (tmp_path / ".kpi-cache").symlink_to(mine)
    chart(ChartCache(tmp_path / ".kpi-cache"), ctx)
    assert "cannot be the chart cache" in capsys.readouterr().err
    assert list(mine.iterdir()) == []


def test_a_folder_kpi_did_not_make_is_not_used_as_the_cache(tmp_path, ctx, capsys):
    folder = tmp_path / ".kpi-cache"
    folder.mkdir()
    (folder / "holiday.jpg").write_bytes(b"a user's photo")
    chart(ChartCache(folder), ctx)
    assert f"kpi did not make it (no {CACHE_TAG})" in capsys.readouterr().err
    assert sorted(p.name for p in folder.iterdir()) == ["holiday.jpg"]


def test_a_full_disk_under_the_cache_still_draws_the_chart(tmp_path, ctx, capsys, monkeypatch):
    folder = tmp_path / ".kpi-cache"
    ChartCache(folder).close()

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    assert "data:image/png;base64," in chart(ChartCache(folder), ctx)
    assert "No space left on device" in capsys.readouterr().err
    assert entries(folder) == [] and [p.name for p in folder.iterdir()] == [CACHE_TAG]


# ---- 3. special files as --out --------------------------------------------------------------


def test_out_to_a_fifo_writes_into_it_and_keeps_the_fifo(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    proc = kpi("catalog", "--format", "csv", "--out", fifo)
    reader.join(timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert got and got[0].decode("utf-8-sig").startswith("kpi_id,")
    assert fifo.is_fifo()


def test_out_to_a_fifo_nobody_reads_is_refused_without_hanging(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    proc = kpi("catalog", "--format", "csv", "--out", fifo, timeout=60)
    assert proc.returncode == 2 and "no program is reading from it" in proc.stderr
    assert fifo.is_fifo()
    no_traceback(proc)


def test_out_dev_stdout_prints_and_leaves_dev_stdout_alone():
    before = os.readlink("/dev/stdout")
    proc = kpi("catalog", "--format", "csv", "--out", "/dev/stdout")
    assert proc.returncode == 0, proc.stderr
    assert "kpi_id," in proc.stdout
    assert os.path.islink("/dev/stdout") and os.readlink("/dev/stdout") == before


def test_out_dev_null_is_written_not_replaced():
    proc = kpi("catalog", "--format", "csv", "--out", "/dev/null")
    assert proc.returncode == 0, proc.stderr
    assert Path("/dev/null").is_char_device()


def test_out_to_a_process_substitution_works(tmp_path):
    got = tmp_path / "got.csv"
    command = " ".join([*KPI, "catalog", "--format", "csv", "--out", f">(cat > {got})"])
    proc = subprocess.run(
        ["bash", "-c", f"{command}; wait"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    assert proc.returncode == 0, proc.stderr
    for _ in range(50):  # the substituted process may finish just after
        if got.exists() and got.stat().st_size:
            break
        time.sleep(0.1)
    assert got.read_text(encoding="utf-8-sig").startswith("kpi_id,")
    no_traceback(proc)


# ---- existing files and inputs as --out -----------------------------------------------------


def test_template_refuses_to_replace_an_existing_file_without_force(tmp_path):
    notes = victim(tmp_path, "book.xlsx")
    proc = kpi("template", "--out", notes)
    assert proc.returncode == 2 and "exists; add --force" in proc.stderr
    assert notes.read_text(encoding="utf-8") == VICTIM_TEXT
    assert kpi("template", "--out", notes, "--force").returncode == 0
    assert notes.read_bytes().startswith(b"PK")  # an xlsx now


def refused_as_input(read: Path, out: Path, *args) -> None:
    """`kpi ARGS --out OUT --force` is refused because OUT is the input READ, left as it was."""
    before = read.read_bytes()
    proc = kpi(*args, "--out", out, "--force")
    assert proc.returncode == 2 and "is an input of this run" in proc.stderr
    assert read.read_bytes() == before


def test_scorecard_never_writes_over_the_actuals_it_reads_even_with_force(tmp_path):
    actuals = tmp_path / "actuals.csv"
    actuals.write_text("kpi_id,year,value\n", encoding="utf-8")
    refused_as_input(actuals, actuals, "scorecard", "--as-of", 2021, "--actuals", actuals)


def test_a_hard_link_to_the_catalog_is_refused_as_out(tmp_path):
    catalog = tmp_path / "town.yaml"
    catalog.write_bytes(DEFAULT_CATALOG.read_bytes())
    os.link(catalog, tmp_path / "list.csv")
    refused_as_input(catalog, tmp_path / "list.csv", "catalog", "--catalog", catalog)


def test_forecast_panel_never_writes_over_its_input(tmp_path):
    panel = tmp_path / "panel.csv"
    panel.write_text("series_id,year,value\na,2018,1\na,2019,2\na,2020,3\n", encoding="utf-8")
    args = ("forecast-panel", "--input", panel, "--through", 2020, "--horizon", 1)
    refused_as_input(panel, panel, *args)


def test_a_scorecard_into_the_actuals_folder_is_refused(tmp_path):
    data = tmp_path / "data"
    (data / "actuals").mkdir(parents=True)
    (data / "public").symlink_to(DATA_DIR / "public")
    proc = kpi(
        "scorecard", "--as-of", 2021, "--data", data, "--format", "csv",
        "--out", data / "actuals" / "card.csv",
    )  # fmt: skip
    assert proc.returncode == 2 and "reads as analysts' figures" in proc.stderr
    assert list((data / "actuals").iterdir()) == []


# ---- Low: read-only, full, denied, odd paths ------------------------------------------------


def run_cli(*args: str) -> int:
    return cli.main([*map(str, args)])


def test_a_read_only_filesystem_exits_2_naming_the_file(tmp_path, monkeypatch, capsys):
    def read_only(src, dst, *a, **k):
        raise OSError(errno.EROFS, "Read-only file system", str(dst))

    monkeypatch.setattr(os, "replace", read_only)
    out = tmp_path / "list.csv"
    assert run_cli("catalog", "--format", "csv", "--out", out) == 2
    err = capsys.readouterr().err
    assert str(out) in err and "the file system is read-only" in err
    assert list(tmp_path.iterdir()) == []  # no temporary file left


@contextlib.contextmanager
def tmpfs(path: Path, options: str):
    path.mkdir()
    mount = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True
    )
    if mount.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mount.stderr.decode().strip()})")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_a_real_read_only_mount_exits_2(tmp_path):
    with tmpfs(tmp_path / "ro", "ro,size=1m") as ro:
        proc = kpi("template", "--out", ro / "book.xlsx")
        assert proc.returncode == 2 and "the file system is read-only" in proc.stderr
        no_traceback(proc)
        proc = kpi("report", "--fiscal-year", 2021, "--out", ro / "FY2021")
        assert proc.returncode == 2 and "read-only" in proc.stderr
        no_traceback(proc)


def test_a_full_disk_keeps_the_previous_file(tmp_path):
    with tmpfs(tmp_path / "small", "size=64k") as small:
        previous = small / "list.csv"
        previous.write_text(VICTIM_TEXT, encoding="utf-8")
        with contextlib.suppress(OSError):  # fill the disk to the last byte
            (small / "filler").write_bytes(b"x" * 200_000)
        proc = kpi("template", "--out", small / "list.csv", "--force")
        assert proc.returncode == 2 and "the disk is full" in proc.stderr
        assert previous.read_text(encoding="utf-8") == VICTIM_TEXT
        assert sorted(p.name for p in small.iterdir()) == ["filler", "list.csv"]
        no_traceback(proc)


def test_a_full_disk_in_process_keeps_the_previous_file(tmp_path, monkeypatch, capsys):
    previous = victim(tmp_path, "list.csv")
    real_write = Path.write_text

    def full(self, *a, **k):
        if self.parent == tmp_path:
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return real_write(self, *a, **k)

    monkeypatch.setattr(Path, "write_text", full)
    assert run_cli("catalog", "--format", "csv", "--out", previous, "--force") == 2
    assert "the disk is full" in capsys.readouterr().err
    assert previous.read_text(encoding="utf-8") == VICTIM_TEXT
    assert [p.name for p in tmp_path.iterdir()] == ["list.csv"]


def test_permission_denied_on_an_input_names_it(tmp_path, monkeypatch, capsys):
    catalog = tmp_path / "town.yaml"
    catalog.write_bytes(DEFAULT_CATALOG.read_bytes())
    for method in ("read_text", "read_bytes"):  # the catalog is read through either
        real = getattr(Path, method)

        def denied(self, *a, real=real, **k):
            if self == catalog:
                raise PermissionError(errno.EACCES, "Permission denied", str(self))
            return real(self, *a, **k)

        monkeypatch.setattr(Path, method, denied)
    assert run_cli("catalog", "--catalog", catalog) == 2
    err = capsys.readouterr().err
    assert str(catalog) in err and "permission denied" in err.lower() and "Traceback" not in err


def test_permission_denied_for_real_when_not_root(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root reads and writes whatever the mode says (CI runs as root)")
    locked_out = tmp_path / "closed"
    locked_out.mkdir(mode=0o500)
    proc = kpi("template", "--out", locked_out / "book.xlsx")
    assert proc.returncode == 2 and "permission denied" in proc.stderr


def test_permission_denied_on_the_output_folder_names_it(tmp_path, monkeypatch, capsys):
    import tempfile

    def denied(*a, dir=None, **k):  # noqa: A002 (mkstemp's own name)
        raise PermissionError(errno.EACCES, "Permission denied", str(dir))

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    assert run_cli("template", "--out", tmp_path / "book.xlsx") == 2
    err = capsys.readouterr().err
    assert f"cannot write {tmp_path}: permission denied" in err


@pytest.mark.parametrize("command", ["catalog", "report"])
def test_out_under_a_regular_file_exits_2(tmp_path, command):
    notes = victim(tmp_path)
    extra = ["--format", "csv"] if command == "catalog" else ["--fiscal-year", "2021"]
    proc = kpi(command, *extra, "--out", notes / "x")
    assert proc.returncode == 2 and f"{notes} is a file, not a folder" in proc.stderr
    assert notes.read_text(encoding="utf-8") == VICTIM_TEXT
    no_traceback(proc)


@pytest.mark.parametrize("command", ["catalog", "report"])
def test_a_300_character_out_name_exits_2(tmp_path, command):
    extra = ["--format", "csv"] if command == "catalog" else ["--fiscal-year", "2021"]
    proc = kpi(command, *extra, "--out", tmp_path / ("a" * 300))
    assert proc.returncode == 2 and "the name is 300 bytes long; at most" in proc.stderr
    assert list(tmp_path.iterdir()) == []
    no_traceback(proc)


def test_an_out_with_a_newline_is_refused(tmp_path):
    proc = kpi("report", "--fiscal-year", 2021, "--out", tmp_path / "FY\n2021")
    assert proc.returncode == 2 and "control character" in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_report_into_the_data_it_reads_is_refused(tmp_path):
    data = tmp_path / "data"
    (data / "actuals").mkdir(parents=True)
    (data / "public").symlink_to(DATA_DIR / "public")
    proc = kpi("report", "--fiscal-year", 2021, "--data", data, "--out", data / "actuals")
    assert proc.returncode == 2 and "overlaps the actuals" in proc.stderr
    assert (data / "actuals").is_dir() and list((data / "actuals").iterdir()) == []


def test_a_report_over_the_bundled_public_data_is_refused():
    before = sorted(p.name for p in (DATA_DIR / "public").iterdir())
    proc = kpi("report", "--fiscal-year", 2021, "--out", DATA_DIR / "public")
    assert proc.returncode == 2 and "overlaps the public data" in proc.stderr
    assert sorted(p.name for p in (DATA_DIR / "public").iterdir()) == before


def test_duplicate_deep_dive_ids_run_once(ctx):
    assert _deep_dive_ids(ctx.catalog, [KPI_ID, KPI_ID]) == [KPI_ID]


# ---- 12. leftovers of killed runs -----------------------------------------------------------


def test_staging_of_a_killed_ingest_is_removed_by_the_next_run(tmp_path):
    pid = dead_pid()
    new = tmp_path / f".public.building-{pid}"
    new.mkdir()
    (new / STAGING_MARKER).write_text("{}")
    (new / "jumin.csv.gz").write_bytes(b"half")
    old = tmp_path / ".public.k3x9_a0b"  # an earlier version's mkdtemp name
    old.mkdir()
    (old / "jumin.csv.gz").write_bytes(b"half")
    foreign = tmp_path / ".public.holidays"  # a user's folder of a similar name
    foreign.mkdir()
    (foreign / "photo.jpg").write_bytes(b"mine")
    proc = kpi("ingest", "--source", tmp_path / "nothing", "--out", tmp_path / "public")
    assert proc.returncode == 2 and "source folder not found" in proc.stderr
    assert not new.exists() and not old.exists()
    assert (foreign / "photo.jpg").read_bytes() == b"mine"


def test_recovery_leaves_a_users_folder_and_a_link_of_a_staging_name_alone(tmp_path):
    pid = dead_pid()
    users = tmp_path / f".FY2021.building-{pid}"
    users.mkdir()
    (users / "thesis.docx").write_text("mine")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "a.txt").write_text("mine")
    (tmp_path / f".FY2021.old-{pid}").symlink_to(mine)
    assert recover(tmp_path / "FY2021") == []
    assert (users / "thesis.docx").exists() and (mine / "a.txt").exists()
    assert not (tmp_path / "FY2021").exists()


def test_ipc_folders_of_killed_reports_are_removed(tmp_path):
    dead = tmp_path / f"kpi-ipc-{dead_pid()}-abc"
    dead.mkdir()
    (dead / "k1.json").write_text('{"key": "secret"}')
    alive = tmp_path / f"kpi-ipc-{os.getpid()}-def"
    alive.mkdir()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "a.txt").write_text("mine")
    link = tmp_path / f"kpi-ipc-{dead_pid()}-ghi"
    link.symlink_to(mine)
    assert remove_dead_ipc_folders(tmp_path) == [dead]
    assert alive.is_dir() and link.is_symlink() and (mine / "a.txt").exists()


def test_kernel_connection_files_live_in_the_private_folder():
    pool = KernelPool("kpi")
    km = pool.manager()
    assert Path(km.connection_file).parent == pool.folder
    assert pool.folder.name.startswith(f"kpi-ipc-{os.getpid()}-")
    pool.close()
    assert not pool.folder.exists()


# ---- 13/14. a real report: interrupted in each phase; a Japanese --out with a space --------


@pytest.fixture(scope="session")
def japanese_report(report_fy2021):
    """The session's FY2021 report (tests/conftest.py): out "報告 書", its deep dive asked twice."""
    return report_fy2021[0]


def injected(executed: Path) -> dict:
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    (cell,) = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    tree = ast.parse(cell.source)
    return {a.targets[0].id: ast.literal_eval(a.value) for a in tree.body}  # type: ignore[attr-defined]


def test_executed_notebooks_name_the_final_folder_of_a_japanese_out(japanese_report):
    for executed in japanese_report.glob("*.ipynb"):
        params = injected(executed)
        assert params["output_dir"] == str(japanese_report / "figures"), executed.name
        assert ".building-" not in executed.read_text(encoding="utf-8")


def test_duplicate_deep_dive_ids_make_one_notebook(japanese_report):
    deep = sorted(p.name for p in japanese_report.glob("05_*.ipynb"))
    assert deep == [f"05_kpi_deep_dive_{FY2021_DEEP_DIVE}.ipynb"]


def test_an_interrupt_a_library_turned_into_its_own_error_still_exits_130():
    """pandas' C reader turns a Ctrl-C during read_csv into a ParserError: still an interrupt."""
    with pytest.raises(ReportInterrupted), interruptible():
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
        except KeyboardInterrupt:
            raise ValueError("Calling read(nbytes) on source failed") from None


def interrupt_after(
    out: Path, phase_line: str, delay: float, signum: int
) -> tuple[int, float, str]:
    """Start a rebuild of `out`, send `signum` `delay` s after the progress line `phase_line`;
    the exit status, the seconds it took to stop, and the rest of stderr."""
    proc = subprocess.Popen(
        [*KPI, "report", "--fiscal-year", "2021", "--out", str(out)],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if phase_line in line:
            break
    time.sleep(delay)
    sent = time.monotonic()
    proc.send_signal(signum)
    rest = proc.communicate(timeout=120)[1]
    took = time.monotonic() - sent
    name = signal.Signals(signum).name
    print(f"{name} {delay} s after {phase_line!r}: stopped in {took:.2f} s", file=sys.stderr)
    return proc.returncode, took, rest


@pytest.mark.serial  # a time bound: run alone, after the parallel run
@pytest.mark.parametrize(
    "phase_line, delay, signum",
    [
        ("evaluating the KPIs", 1.0, signal.SIGINT),
        ("evaluating the KPIs", 1.0, signal.SIGTERM),
        ("notebooks with", 2.0, signal.SIGINT),
        ("goal documents written", 0.5, signal.SIGINT),
    ],
    ids=["evaluation", "evaluation-sigterm", "kernels-starting", "notebooks"],
)
def test_ctrl_c_stops_every_phase_within_seconds(japanese_report, phase_line, delay, signum):
    before = (japanese_report / "index.html").read_bytes()
    rc, took, rest = interrupt_after(japanese_report, phase_line, delay, signum)
    assert rc == 130 and "interrupted" in rest, rest[-2000:]
    assert took < 10, f"took {took:.1f} s to stop"  # the measured figure is ~0.3–2 s
    assert (japanese_report / "index.html").read_bytes() == before
    assert (japanese_report / REPORT_MARKER).exists()
    leftovers = [p.name for p in japanese_report.parent.iterdir() if p.name != "報告 書"]
    assert leftovers in ([], [".kpi-cache"]), leftovers
