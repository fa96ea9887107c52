"""The kernel client of the report's kernels: jupyter_client's, without the idle wait at the end
of `wait_for_ready`.

jupyter_client's `wait_for_ready` asks the kernel for kernel_info until the reply has come on
the shell channel and a message on IOPub (so that IOPub is known connected), then waits until
IOPub has been quiet for 0.2 s, reading and dropping what comes. nbclient calls it at every
notebook's start, so every notebook waited 0.2 s with nothing to do (a report's two waves of
notebooks: 0.4 s). What that wait drops are the kernel's status messages about the kernel_info
request; nbclient reads only the messages that answer its own requests, so they may as well be
left. This client does the same handshake and drops only what has already arrived.
"""

from __future__ import annotations

import time
from queue import Empty

from jupyter_client.asynchronous import AsyncKernelClient

SHELL_WAIT = 1.0  # seconds for a kernel_info reply before asking again (jupyter_client's)
IOPUB_WAIT = 0.2  # seconds for the first IOPub message after the reply (jupyter_client's)


class ReadyKernelClient(AsyncKernelClient):
    """AsyncKernelClient whose `wait_for_ready` returns once the kernel has answered on shell
    and IOPub (see the module doc)."""

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        """Wait until the kernel answers kernel_info on the shell channel and IOPub carries its
        messages; RuntimeError if it dies first or does not answer within `timeout` seconds."""
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            self.kernel_info()
            try:
                msg = await self.shell_channel.get_msg(timeout=SHELL_WAIT)
            except Empty:
                msg = None
            if msg is not None and msg["msg_type"] == "kernel_info_reply":
                try:
                    await self.iopub_channel.get_msg(timeout=IOPUB_WAIT)
                except Empty:
                    pass  # IOPub not connected yet: ask again
                else:
                    self._handle_kernel_info_reply(msg)
                    break
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")
        while True:  # drop what has already arrived, without waiting for more
            try:
                await self.iopub_channel.get_msg(timeout=0)
            except Empty:
                break
