"""The report's kernels forked from one server that imported once (issue 21's speed): each is a
real kernel in its notebook's folder, as ipykernel_launcher would start it; the pool kills it; a
server that cannot give one leaves the usual start; and the server ends with its pool."""

import contextlib
import os
import sys
import time

import pytest

from kpi_lib.reporting.forkserver import ForkedProcess, kernel_arguments
from kpi_lib.reporting.kernels import KernelPool


def _run(km, code: str) -> str:
    """Execute `code` in the started kernel `km` and return what it printed."""
    from jupyter_core.utils import run_sync

    async def go():
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=60)
            reply = await kc.execute_interactive(code, timeout=60, output_hook=out.append)
            assert reply["content"]["status"] == "ok", reply["content"]
        finally:
            kc.stop_channels()

    out: list = []
    run_sync(go)()
    return "".join(m["content"].get("text", "") for m in out if m["msg_type"] == "stream")


def _state(km) -> dict:
    printed = _run(
        km,
        "import os, sys, json; print(json.dumps({'ppid': os.getppid(), 'cwd': os.getcwd(), "
        "'path': sys.path, 'argv0': sys.argv[0], "
        "'preloaded': 'kpi_lib.reporting.charts' in sys.modules, "
        "'backend': os.environ.get('MPLBACKEND'), 'pgid': os.getpgid(0), 'pid': os.getpid()}))",
    )
    import json

    return json.loads(printed)


@contextlib.contextmanager
def _kernel(folder, preload: str | None = None, kill_server: bool = False):
    """A started kernel of a pool (forked with `preload`; usual without), ended afterwards."""
    pool = KernelPool("kpi", preload=preload)
    try:
        if kill_server:  # the server died (or failed to start)
            pool.server.process.kill()
            pool.server.process.wait()
        km = pool.manager()
        pool.start(km, folder)
        yield pool, km
    finally:
        pool.stop_all()
        pool.close()


def test_the_pools_clients_lose_no_output_without_jupyter_clients_idle_wait(tmp_path):
    """ready_client: ready once the kernel has answered on shell and IOPub, without waiting
    for IOPub to be quiet for 0.2 s; what the first request prints still arrives, each time."""
    from kpi_lib.reporting.ready_client import ReadyKernelClient

    with _kernel(tmp_path, preload="import kpi_lib.reporting.charts") as (_, km):
        assert isinstance(km.client(), ReadyKernelClient)
        assert [_run(km, f"print({i})") for i in range(5)] == [f"{i}\n" for i in range(5)]


def test_a_kernel_is_forked_from_the_server_in_its_notebooks_folder(tmp_path):
    with _kernel(tmp_path) as (_, km):
        usual = _state(km)
    with _kernel(tmp_path, preload="import kpi_lib.reporting.charts") as (pool, km):
        state = _state(km)
        server = pool.server
        assert server is not None and state["ppid"] == server.process.pid  # forked, not started
        assert state["preloaded"]  # the server's imports are in the kernel already
        assert state["cwd"] == str(tmp_path)  # the notebook's folder, as papermill's kernels
        assert (state["path"], state["argv0"]) == (usual["path"], usual["argv0"])
        assert state["backend"] == "module://matplotlib_inline.backend_inline"
        assert state["pgid"] == state["pid"]  # its own process group: the pool's kill reaches it
        process = km.provisioner.process
        assert isinstance(process, ForkedProcess) and process.poll() is None
        pool.end(km)
        assert process.poll() is not None  # killed and seen to end
    assert server.process.poll() is not None  # the server ended with its pool


def test_without_the_server_the_kernel_starts_the_usual_way(tmp_path):
    with _kernel(tmp_path, preload="", kill_server=True) as (pool, km):
        state = _state(km)
        assert state["ppid"] == os.getpid()  # started by this process, as before the server
        assert not isinstance(km.provisioner.process, ForkedProcess)
        assert pool.server.failed  # the next kernels do not ask again


def test_the_server_ends_when_the_reports_process_has_gone(tmp_path):
    # Its standard input is the report's pipe: closed however the report ended (even killed),
    # and then the server ends, and its kernels with it (ipykernel watches its parent).
    with _kernel(tmp_path, preload="") as (pool, km):
        kernel = km.provisioner.process
        pool.server.process.stdin.close()  # what the report's end does
        pool.server.process.wait(timeout=10)
        deadline = time.monotonic() + 15
        while kernel.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert kernel.poll() is not None  # the orphaned kernel ended by itself


@pytest.mark.parametrize(
    "cmd, expected",
    [
        (
            [sys.executable, "-Xfrozen_modules=off", "-m", "ipykernel_launcher", "-f", "c.json"],
            ["-f", "c.json"],
        ),
        (
            [sys.executable, "-m", "ipykernel_launcher", "-f", "c.json", "--x=1"],
            ["-f", "c.json", "--x=1"],
        ),
        (["/usr/bin/other-python", "-m", "ipykernel_launcher", "-f", "c.json"], None),
        ([sys.executable, "-m", "other_kernel", "-f", "c.json"], None),
        ([sys.executable, "ipykernel_launcher", "-f", "c.json"], None),
        ([], None),
    ],
)
def test_only_this_interpreters_ipykernel_is_forked(cmd, expected):
    assert kernel_arguments(cmd) == expected


def test_code_run_in_a_kernel_of_the_pool_passes_its_output_on_and_names_its_error(
    tmp_path, capsys
):
    """KernelPool.run_code (the goal documents are drawn this way, off the report's process):
    what the code prints reaches the report's stderr, an exception or the timeout is a KpiError
    naming it, and each kernel is ended afterwards."""
    from kpi_lib.core.errors import KpiError

    pool = KernelPool("kpi", preload="import kpi_lib.reporting.charts")
    try:
        code = "import sys\nprint('[report] warning: x\\x1b[2J', file=sys.stderr)\n"
        code += "open('made', 'w').write('1')"
        pool.run_code(tmp_path, code, 60)
        assert (tmp_path / "made").read_text() == "1"  # in its folder
        assert "[report] warning: x\\x1b[2J" in capsys.readouterr().err  # escaped, not obeyed
        with pytest.raises(KpiError, match="ValueError: bad"):
            pool.run_code(tmp_path, "raise ValueError('bad')", 60)
        with pytest.raises(KpiError, match="timeout of 1 s"):
            pool.run_code(tmp_path, "import time\ntime.sleep(30)", 1)
        assert pool.live == {}
    finally:
        pool.stop_all()
        pool.close()


def test_a_kernel_that_dies_at_its_start_is_a_kpi_error(tmp_path, monkeypatch):
    """A goal-documents kernel that exits before it answers is reported as a KpiError (which
    the report turns into its message), not jupyter_client's RuntimeError as a traceback."""
    import json
    import sys

    from kpi_lib.core.errors import KpiError

    spec = tmp_path / "jp" / "kernels" / "dying"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-c", "import sys; sys.exit(1)", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "dying"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jp"))
    pool = KernelPool("dying")
    try:
        with pytest.raises(KpiError, match="did not start|kernel died"):
            pool.run_code(tmp_path, "print(1)", 60)
    finally:
        pool.stop_all()
        pool.close()
