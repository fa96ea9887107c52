"""The report's Jupyter kernels: the pool that owns them (IPC sockets in a private folder), the
sweep of folders left by killed runs, and Ctrl-C / SIGTERM turned into a clean stop."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import shutil
import signal
import stat
import sys
import tempfile
import threading
import time
from pathlib import Path

from kpi_lib.core.errors import KpiError
from kpi_lib.core.output import progress, terminal_text
from kpi_lib.core.publish import pid_alive
from kpi_lib.reporting.run_settings import KERNEL

IPC_PREFIX = "kpi-ipc-"
STOPPED = "interrupted; no report was written and the staging folder was removed"


class ReportInterrupted(KpiError):
    """Ctrl-C or SIGTERM: the run stopped and cleaned up."""

    exit_code = 130


def ensure_kernel(name: str = KERNEL) -> str:
    """The named Jupyter kernel, installed for this interpreter if it is missing."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel:
        from ipykernel.kernelspec import install

        install(kernel_name=name, display_name=f"{name} (効果検証)", prefix=sys.prefix)
        progress("report", f"installed the Jupyter kernel {name!r} for {sys.executable}")
    return name


class KernelPool:
    """The kernels of one run: on IPC sockets in a private folder (no TCP port, no
    unencrypted-TCP warning). nbclient does not shut down a kernel it was handed, so each
    is ended here when its notebook is done, and all at once when the run is interrupted.

    With `preload` (the notebooks' imports), the kernels are forked from one server process that
    has started ipykernel and run `preload` once (`forkserver`), instead of each doing both."""

    def __init__(self, kernel: str, preload: str | None = None):
        self.kernel = kernel
        remove_dead_ipc_folders()
        # Short (socket paths are limited) and named for this process, so that the next run
        # removes it if this one is killed.
        self.folder = Path(tempfile.mkdtemp(prefix=f"{IPC_PREFIX}{os.getpid()}-"))
        self.server = None
        if preload is not None:
            from kpi_lib.reporting.forkserver import ForkServer

            self.server = ForkServer(self.folder, preload)
        self.live: dict[int, object] = {}
        self.stopping = False
        self._lock = threading.Lock()
        self._count = 0

    def manager(self):
        # The async manager: with the blocking one nbclient ignores the cell timeout.
        """Start a kernel this pool owns (refused once the pool is stopping)."""
        from jupyter_client.manager import AsyncKernelManager

        with self._lock:
            if self.stopping:
                raise ReportInterrupted("interrupted")
            self._count += 1
            km = AsyncKernelManager(
                kernel_name=self.kernel,
                transport="ipc",
                ip=str(self.folder / f"k{self._count}"),
                # Its HMAC key stays in the private folder, removed with it (not /tmp/tmp*.json).
                connection_file=str(self.folder / f"k{self._count}.json"),
                client_class="kpi_lib.reporting.ready_client.ReadyKernelClient",
            )
            if self.server is not None:
                self._fork_from_server(km)
            self.live[id(km)] = km
            return km

    def _fork_from_server(self, km) -> None:
        """Give `km` the launcher that asks the pool's fork server for its kernel."""
        import uuid

        from kpi_lib.reporting.forkserver import ForkedProvisioner

        km.kernel_id = str(uuid.uuid4())
        provisioner = ForkedProvisioner(
            kernel_id=km.kernel_id, kernel_spec=km.kernel_spec, parent=km
        )
        provisioner.server = self.server
        km.provisioner = provisioner

    def start(self, km, cwd: Path, preload: str = "") -> None:
        """Start the kernel in `cwd` and run `preload` (imports), if any, in it, so that the
        notebook finds them done. Called in the thread that then runs the notebook: the kernel
        manager lives on that thread's event loop, as nbclient's run_sync uses it. A failure is
        left to the notebook, which meets it and reports it."""
        from jupyter_core.utils import run_sync

        with contextlib.suppress(Exception):
            run_sync(self._start)(km, cwd, preload)

    async def _start(self, km, cwd: Path, preload: str) -> None:
        # As nbclient starts it: in-memory history, nothing written to ~/.ipython.
        await km.start_kernel(cwd=str(cwd), extra_arguments=["--HistoryManager.hist_file=:memory:"])
        if preload:
            await self._execute(km, preload, silent=True)

    async def _execute(self, km, code: str, silent: bool, timeout: float = 0) -> dict | None:
        """Execute `code` on the started kernel `km`: the reply's content, or None if the kernel
        died or the run is being stopped first. Unless `silent`, what it printed is passed on
        to this process's stderr. `timeout` (seconds, 0 for none): KpiError when exceeded."""
        kc = km.client()
        kc.start_channels()
        try:
            try:
                await kc.wait_for_ready(timeout=60)
            except RuntimeError as exc:  # jupyter_client's "Kernel died before replying …"
                raise KpiError(f"its kernel did not start: {exc}") from None
            msg_id = kc.execute(code, silent=silent, store_history=False)
            deadline = time.monotonic() + timeout if timeout else float("inf")
            while not self.stopping:  # the reply, unless the run is being stopped
                try:
                    reply = await kc.get_shell_msg(timeout=0.5)
                except queue.Empty:
                    if not await km.is_alive():
                        return None
                    if time.monotonic() > deadline:
                        raise KpiError(f"it ran longer than the timeout of {timeout} s") from None
                    continue
                if reply.get("parent_header", {}).get("msg_id") == msg_id:
                    if not silent:
                        await _pass_on_output(kc, msg_id)
                    return reply["content"]
            return None
        finally:
            kc.stop_channels()

    def run_code(self, cwd: Path, code: str, timeout: int) -> None:
        """Run `code` in a kernel of its own from this pool (forked like the notebooks'), in
        `cwd`, off this process and its interpreter; what it prints goes to this process's
        stderr. KpiError naming the exception it raised, a kernel that died or the timeout;
        ReportInterrupted once the pool is stopping. Each call runs on its own event loop, so
        call it from a thread of its own (as the notebooks' jobs do)."""
        from jupyter_core.utils import run_sync

        km = self.manager()

        async def start_and_execute():
            await self._start(km, cwd, "")
            return await self._execute(km, code, silent=False, timeout=timeout)

        try:
            content = run_sync(start_and_execute)()
        finally:
            self.end(km)
        if content is None:
            raise ReportInterrupted("interrupted") if self.stopping else KpiError("its kernel died")
        if content.get("status") != "ok":
            raise KpiError(f"{content.get('ename')}: {content.get('evalue')}")

    def end(self, km) -> None:
        """Kill the kernel's process group (kernels start their own session)."""
        with self._lock:
            self.live.pop(id(km), None)
        self._kill(km)

    @staticmethod
    def _kill(km) -> bool:
        """Kill the kernel if its process has started; False if it has not yet."""
        process = getattr(getattr(km, "provisioner", None), "process", None)
        if process is None:
            return False
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(Exception):
                process.wait(timeout=5)
        return True

    def stop_all(self) -> None:
        """Stop every live kernel (on Ctrl-C, SIGTERM or a failure). A kernel still starting
        has no process yet: it stays listed, for the next call to kill."""
        with self._lock:
            self.stopping = True
            kms = list(self.live.values())
        for km in kms:
            if self._kill(km):
                with self._lock:
                    self.live.pop(id(km), None)

    def close(self) -> None:
        """End the fork server, if any, and remove the pool's private folder of connection
        files."""
        if self.server is not None:
            self.server.close()
        shutil.rmtree(self.folder, ignore_errors=True)


async def _pass_on_output(kc, msg_id: str) -> None:
    """What the kernel printed for the request `msg_id`, written to this process's stderr, its
    control characters escaped (a library's warning may quote a catalog's text)."""
    while True:
        try:
            msg = await kc.get_iopub_msg(timeout=1)
        except queue.Empty:
            return
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream":
            sys.stderr.write(terminal_text(msg["content"].get("text", "")))
            sys.stderr.flush()
        elif msg["msg_type"] == "status" and msg["content"].get("execution_state") == "idle":
            return


def remove_dead_ipc_folders(tmp: Path | None = None) -> list[Path]:
    """Remove the private IPC folders (sockets, connection files with their keys) of runs that
    were killed: a real folder of this user, named kpi-ipc-PID-…, whose process is gone."""
    removed = []
    for p in Path(tmp or tempfile.gettempdir()).glob(f"{IPC_PREFIX}*"):
        m = re.fullmatch(rf"{IPC_PREFIX}(\d+)-\w+", p.name)
        try:
            info = p.lstat()
        except OSError:
            continue
        if not m or not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            continue
        if not pid_alive(int(m[1])):
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
    return removed


_INTERRUPTED = threading.Event()


def _raise_interrupt(signum, frame):
    _INTERRUPTED.set()
    raise KeyboardInterrupt


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def interruptible():
    """Ctrl-C and SIGTERM raise KeyboardInterrupt in every phase of the run, even when the
    caller's shell started kpi with SIGINT ignored (a background job of a script)."""
    if not _in_main_thread():
        yield
        return
    _INTERRUPTED.clear()
    previous = {
        signal.SIGINT: signal.signal(signal.SIGINT, _raise_interrupt),
        signal.SIGTERM: signal.signal(signal.SIGTERM, _raise_interrupt),
    }
    try:
        yield
    except Exception as exc:
        # A library that caught the KeyboardInterrupt and raised its own error instead (pandas'
        # C reader turns it into a ParserError) must not turn Ctrl-C into a crash.
        if _INTERRUPTED.is_set() and not isinstance(exc, ReportInterrupted):
            raise ReportInterrupted(STOPPED) from None
        raise
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def ignore_interrupts() -> None:
    """While the kernels are being stopped: a second Ctrl-C must not cut the clean-up short."""
    if _in_main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
