"""One kernel start for all the report's notebooks: a server process that imports ipykernel and
what the notebooks import (`jobs.PRELOAD`) once, then forks a kernel for each notebook.

A kernel started the usual way spends about a second starting ipykernel and one or two importing
pandas, matplotlib and kpi_lib; four of them did that four times on two cores. A forked kernel
finds all of it in memory (shared until written) and only runs ipykernel's own start.

`ForkedProvisioner` is the kernel managers' launcher: it asks the server for a kernel instead of
starting a process, and falls back to the usual start whenever the server cannot give one (it
failed to start or died, or the kernel is not this interpreter's ipykernel). Each kernel leads
its own session, so the pool's kill of its process group works as for any other kernel.

The server lives in the pool's private folder (its socket beside the connection files), ends
when its standard input closes (the report's process ended, however it ended), and its kernels
end within a second of the server (ipykernel watches its parent).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
import traceback
from pathlib import Path

from jupyter_client.provisioning import LocalProvisioner

LAUNCHER = "ipykernel_launcher"
READY_TIMEOUT = 60.0  # seconds a request waits for the server's imports (a loaded machine)


class ForkServer:
    """The server process of one kernel pool, started at once (it imports while the report's
    process evaluates) and asked for kernels over a Unix socket in `folder`."""

    def __init__(self, folder: Path, preload: str):
        self.socket_path = folder / "forkserver.sock"
        self.failed = False  # once set, the rest of the run starts kernels the usual way
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kpi_lib.reporting.forkserver", str(self.socket_path), preload],
            stdin=subprocess.PIPE,  # closed by close() or by this process's end: the server ends
            cwd=folder,
            start_new_session=True,  # a Ctrl-C in the terminal goes to the report, not here
        )

    def fork(self, cmd: list[str], cwd: str, env: dict[str, str]) -> int | None:
        """The pid of a kernel forked to run `cmd` (this interpreter's ipykernel launcher) in
        `cwd` with `env`; None when the server cannot give one (the caller starts it itself)."""
        args = kernel_arguments(cmd)
        if args is None or self.failed:
            return None
        request = json.dumps({"argv": args, "cwd": cwd, "env": env}).encode() + b"\n"
        try:
            with self._connect() as conn:
                conn.sendall(request)
                reply = _read_line(conn)
            return int(json.loads(reply)["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            self.failed = True
            return None

    def _connect(self) -> socket.socket:
        """A connection to the server, once it has bound its socket (it does so first, then
        imports: a request made meanwhile waits in the socket's backlog)."""
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            conn.settimeout(READY_TIMEOUT)
            try:
                conn.connect(str(self.socket_path))
                return conn
            except (FileNotFoundError, ConnectionRefusedError):
                conn.close()
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def close(self) -> None:
        """End the server (its kernels have been ended by the pool)."""
        with contextlib.suppress(OSError):
            if self.process.stdin is not None:
                self.process.stdin.close()
        try:
            self.process.wait(timeout=1)  # still importing (an early Ctrl-C): no need to wait
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def kernel_arguments(cmd: list[str]) -> list[str] | None:
    """The launcher's arguments (`-f CONNECTION_FILE …`) if `cmd` runs this interpreter's
    ipykernel launcher, the only kernel the server can fork; None otherwise."""
    if not cmd or os.path.realpath(cmd[0]) != os.path.realpath(sys.executable):
        return None
    with contextlib.suppress(ValueError):
        at = cmd.index(LAUNCHER)
        if at >= 2 and cmd[at - 1] == "-m":
            return cmd[at + 1 :]
    return None


def _read_line(conn: socket.socket, limit: int = 1 << 16) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(4096)
        if not chunk or len(data) > limit:
            raise OSError("the fork server closed the connection")
        data += chunk
    return data


class ForkedProcess:
    """What the kernel manager knows of a process (`subprocess.Popen`'s poll, wait, signals) for
    a kernel the server forked: not this process's child, so its end is seen through a pidfd
    (or, without one, by signal 0); the server reaps it."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None
        try:
            self._pidfd: int | None = os.pidfd_open(pid)
        except ProcessLookupError:
            self._pidfd, self.returncode = None, 0  # it has already ended
        except (AttributeError, OSError):
            self._pidfd = None

    def poll(self) -> int | None:
        """The exit code once the kernel has ended (0: the server has it), else None."""
        if self.returncode is None and self._ended(0):
            self._close(0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the kernel to end, as `Popen.wait`."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout or 0)
            self._ended(0.1)
        return self.returncode or 0

    def _ended(self, seconds: float) -> bool:
        if self._pidfd is not None:
            return bool(select.select([self._pidfd], [], [], seconds)[0])
        time.sleep(seconds)
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # a new process of another user has the number: ours ended
            return True
        return False

    def _close(self, code: int) -> None:
        # The exit code belongs to the server, which reaps its children: the end is what counts.
        self.returncode = code
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None

    def send_signal(self, signum: int) -> None:
        """Signal the kernel, unless it has ended (through its pidfd: never another process)."""
        if self.poll() is None:
            if self._pidfd is not None:
                signal.pidfd_send_signal(self._pidfd, signum)
            else:
                os.kill(self.pid, signum)

    def kill(self) -> None:
        """SIGKILL, as `Popen.kill`."""
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        """SIGTERM, as `Popen.terminate`."""
        self.send_signal(signal.SIGTERM)


class ForkedProvisioner(LocalProvisioner):
    """A kernel manager's launcher that takes its kernel from the pool's fork server (set as
    `server` before the kernel starts), or starts it the usual way when the server cannot."""

    server: ForkServer | None = None

    async def launch_kernel(self, cmd: list[str], **kwargs):
        """A kernel forked by the server, or started as LocalProvisioner starts one."""
        pid = None
        if self.server is not None:
            env = dict(kwargs.get("env") or os.environ)
            pid = self.server.fork(cmd, str(kwargs.get("cwd") or os.getcwd()), env)
        if pid is None:
            return await super().launch_kernel(cmd, **kwargs)
        self.process = ForkedProcess(pid)  # type: ignore[assignment]
        self.pid = self.pgid = pid  # the kernel leads its own session and process group
        self.cwd = kwargs.get("cwd")
        return self.connection_info


# The server's side: run as `python -m kpi_lib.reporting.forkserver SOCKET PRELOAD`.


def serve(socket_path: str, preload: str) -> None:
    """Bind first (requests wait in the backlog), import, then fork a kernel per request until
    standard input closes."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)
    listener.listen(16)
    home = os.getcwd()  # sys.path[0] of `python -m`, which ipykernel_launcher takes off
    spec = importlib.util.find_spec(LAUNCHER)
    launcher = str(spec.origin) if spec is not None else LAUNCHER  # its sys.argv[0]
    # The backend ipykernel sets when none is given, set before matplotlib is imported here.
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    import ipykernel.kernelapp  # noqa: F401  (what every kernel starts with)

    if preload:
        exec(preload, {})  # the report notebooks' own imports (jobs.PRELOAD), trusted code
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernels are reaped as they end
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        ready, _, _ = select.select([listener, sys.stdin], [], [])
        if sys.stdin in ready and not os.read(sys.stdin.fileno(), 1):
            return  # the report's process closed its end, or ended
        if listener in ready:
            conn, _ = listener.accept()
            with conn:
                _answer(conn, listener, home, launcher)


def _answer(conn: socket.socket, listener: socket.socket, home: str, launcher: str) -> None:
    try:
        request = json.loads(_read_line(conn))
    except (OSError, ValueError):
        return
    pid = os.fork()
    if pid == 0:
        conn.close()
        listener.close()
        _become_kernel(request, home, launcher)  # never returns
    conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")


def _become_kernel(request: dict, home: str, launcher: str) -> None:
    """In the forked child: the process `python -m ipykernel_launcher ARGS` would have been."""
    code = 1
    try:
        os.setsid()
        for signum in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_DFL)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)  # as the usual launch: no terminal input (the server's pipe is not)
        os.close(devnull)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        # As ipykernel_launcher: the server's folder off sys.path (IPython puts '' first).
        if sys.path and sys.path[0] in ("", home):
            del sys.path[0]
        # ipykernel read JPY_PARENT_PID when the server imported it (none then): its parent is
        # this server, whose end ends it (and without one it prints a Ctrl-C notice)
        sys.argv = [launcher, *request["argv"], f"--IPKernelApp.parent_handle={os.getppid()}"]
        from ipykernel import kernelapp

        kernelapp.launch_new_instance()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()  # on the report's terminal, as a kernel's own start error
    finally:
        os._exit(code)


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "")
    # Nothing to flush or clean up (the kernels are the pool's, the folder too): ending without
    # the interpreter's finalisation of pandas and matplotlib spares the report's end 0.3 s.
    sys.stderr.flush()
    os._exit(0)
