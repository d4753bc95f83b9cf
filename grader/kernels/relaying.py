"""The student's kernel is reached through a relay (grader/kernels/standalone/relay.py), never directly.

The kernel owns its ZeroMQ sockets: whatever it sends, the receiving side allocates before anyone reads it,
so the grader's own sockets would hold a student's gigabyte, or spend the grader's CPU on a flood of messages,
at the cost of every other student graded meanwhile. `Relayed` is a kernel manager whose clients (nbclient's,
and its own control socket) connect to a relay started for that kernel: a process of its own, with its address
space capped, that forwards the kernel's messages only while they stay within its bounds. When it stops,
`stopped()` gives its reason, and the submission's guard (grader/kernels/guard.py) ends the submission with it.
"""

from __future__ import annotations

import asyncio
import json
import select
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import zmq

from grader.kernels import sandbox, warm
from grader.kernels.standalone import relay as relay_script

RELAY = Path(relay_script.__file__)
PORTS = tuple(f"{channel}_port" for channel in relay_script.CHANNELS)
START_TIMEOUT_S = 10
MESSAGES_FLAG = "mensagens do kernel"  # the flag of a submission whose relay stopped it


def limits_for(max_output_kb: int) -> dict[str, int]:
    """The relay's bounds for a notebook whose cells keep `max_output_kb` each: one message may carry four cells'
    worth (2 MiB at least); more is cut in the graded notebook anyway, and every MiB of JSON the grader parses
    can weigh forty once parsed (nested lists)."""
    return {"message_bytes": max(2 * 1024 * 1024, 4 * max_output_kb * 1024)}


def _text(key: bytes | str) -> str:
    return key.decode() if isinstance(key, bytes) else str(key)


class Relay:
    """One relay process, for one kernel, started from its connection info."""

    def __init__(self, kernel: dict[str, Any], limits: dict[str, int] | None = None):
        self.folder = sandbox.short_temp_dir("gr-")
        transport = kernel["transport"]
        self.ip = str(self.folder / "r") if transport == "ipc" else "127.0.0.1"
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-S", str(RELAY), str(Path(zmq.__file__).parent.parent)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C at the terminal reaches the grader, which stops it
        )
        self._lock = threading.Lock()
        self._reason: str | None = None
        request = {
            "kernel": {
                **{key: kernel[key] for key in ("transport", "ip", *PORTS)},
                "key": _text(kernel.get("key", b"")),
            },
            "bind": {"transport": transport, "ip": self.ip},
            "limits": limits or {},
        }
        self.proc.stdin.write(json.dumps(request).encode() + b"\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], START_TIMEOUT_S)
        line = self.proc.stdout.readline() if ready else b""
        try:
            self.ports: dict[str, int] = json.loads(line)["ports"]
        except (ValueError, KeyError, TypeError):
            self.stop()
            raise RuntimeError("o relay do kernel do aluno não começou") from None

    def stopped(self) -> str:
        """Why the relay stopped forwarding ("" while it forwards); read once it has exited."""
        with self._lock:
            if self._reason is None and self.proc.poll() is not None:
                said = {}
                for line in self.proc.stdout.read().splitlines():
                    try:
                        said.update(json.loads(line))
                    except ValueError:
                        continue
                self._reason = said.get("stopped") or (
                    "o kernel do aluno mandou de uma vez mais dados do que o corretor recebe "
                    f"({relay_script.ADDRESS_SPACE_MB} MiB)"
                    if self.proc.returncode != 0
                    else ""
                )
            return self._reason or ""

    def stop(self) -> None:
        self.stopped()  # a reason it gave stays; one it did not give is not made up from our kill
        with self._lock:
            if self._reason is None:
                self._reason = ""
                self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            pipe.close()
        shutil.rmtree(self.folder, ignore_errors=True)


class Relayed:
    """Mixin for a jupyter_client kernel manager: once the kernel is launched, its clients get the relay's
    sockets instead of the kernel's (the connection file the kernel read keeps its own)."""

    relay: Relay | None = None
    relay_limits: dict[str, int] | None = None  # (`limits_for`)
    _kernel_address: dict[str, Any] | None = None

    async def _async_post_start_kernel(self, **kw: Any) -> None:
        info = self.get_connection_info()
        self.relay = await asyncio.to_thread(Relay, info, self.relay_limits)  # (~0.07 s: Python and pyzmq)
        self._kernel_address = {key: info[key] for key in ("ip", *PORTS)}
        self.ip = self.relay.ip
        for key, port in self.relay.ports.items():
            setattr(self, key, port)
        await super()._async_post_start_kernel(**kw)

    post_start_kernel = _async_post_start_kernel

    def relay_stopped(self) -> str:
        return self.relay.stopped() if self.relay is not None else ""

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        if self.relay is not None:
            self.relay.stop()
        if self._kernel_address is not None:  # the kernel's own sockets, which jupyter_client removes
            for key, value in self._kernel_address.items():
                setattr(self, key, value)
        await super()._async_cleanup_resources(restart)

    cleanup_resources = _async_cleanup_resources


class RelayedWarmKernelManager(Relayed, warm.WarmKernelManager):
    """The student's kernel, forked by its server."""


class RelayedSandboxedKernelManager(Relayed, sandbox.SandboxedKernelManager):
    """The student's kernel, started cold."""
