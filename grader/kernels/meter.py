"""The student's kernel's peak memory, read by the grader from outside both sandboxes, for the test kernel.

A test's `@_medida_externa` measure (grader/kernels/standalone/inkernel/runtime.py) asks, through a socket only
the test kernel's sandbox can reach, to "reset" the peak resident memory of the student's kernel process and
later to "read" it. Linux keeps that peak (VmHWM in /proc/<pid>/status) and resets it when "5" is written to
/proc/<pid>/clear_refs (the kernel process itself may not write under /proc: grader/kernels/standalone/zygote.py
confines it with Landlock), and counts the pages a process touches for the first time (its minor faults, which
no free takes back: a process that frees memory it held before the call to make room hides nothing from them).
A request names the process: "reset" and "read" are the student's kernel, "reset replay" and "read replay" the
submission's replay (the process that runs the notebook's defs as written, for the tests that measure them).
Each answer is one line: "ok <resident or peak bytes> <faulted bytes>" or "erro <why>".
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path

SOCKET_NAME = "medida.sock"


def _status(pid: int) -> dict[str, int]:
    values = {}
    with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                values[key] = int(rest.split()[0]) * 1024
    return values


_PAGE = os.sysconf("SC_PAGE_SIZE")


def stat_fields(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name (which may hold spaces and parentheses): state first.
    (Read on the memory guard's every pass over the process table: open() is cheaper than Path.read_text.)"""
    with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as stat:
        return stat.read().rsplit(")", 1)[1].split()


def faulted(pid: int) -> int:
    """Bytes of memory the process (all its threads, and its children once reaped) has touched for the first
    time since it started: its page faults, which freeing memory never takes back."""
    fields = stat_fields(pid)
    return (int(fields[7]) + int(fields[8])) * _PAGE  # minflt, cminflt


def reset_peak(pid: int) -> tuple[int, int]:
    """Make the process's peak resident memory its current one: (that memory, `faulted`), in bytes."""
    with open(f"/proc/{pid}/clear_refs", "w", encoding="ascii") as clear:
        clear.write("5")
    return _status(pid)["VmRSS"], faulted(pid)


def read_peak(pid: int) -> tuple[int, int]:
    """(The process's peak resident memory since the last reset, `faulted`), in bytes."""
    values = _status(pid)
    return max(values["VmHWM"], values["VmRSS"]), faulted(pid)


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(n) for n in (task / "children").read_text().split()]
    return found


def descendants(pid: int) -> list[int]:
    """`pid`'s descendants, nearest first."""
    found, pending = [], [pid]
    while pending:
        for child in _children(pending.pop(0)):
            found.append(child)
            pending.append(child)
    return found


def host_pid(root: int, inner_pid: int) -> int | None:
    """The pid, in this machine's pid namespace, of the descendant of `root` whose pid inside its own (the
    sandbox's) namespace is `inner_pid`."""
    for pid in descendants(root):
        with contextlib.suppress(OSError, ValueError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("NSpid:") and int(line.split()[-1]) == inner_pid:
                    return pid
    return None


def kernel_pid(root: int) -> int | None:
    """The kernel among `root`'s descendants (a kernel started cold, with or without bwrap and its launcher,
    whose command lines name ipykernel too): the deepest process that runs `python -m ipykernel_launcher`.
    Asked before the student's first cell runs, when the kernel has no child of its own."""
    found = None
    for pid in [root, *descendants(root)]:
        with contextlib.suppress(OSError):
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            if b"-m" in argv and b"ipykernel_launcher" in argv:
                found = pid
    return found


class MemoryMeter:
    """Serves the test kernel's requests on `folder`/medida.sock (a folder shown to the test kernel's sandbox
    alone). `watch(find_pid)` says how to find the student's kernel process of the submission running now."""

    def __init__(self, folder: Path):
        self.path = folder / SOCKET_NAME
        os.chmod(folder, 0o755)  # reachable by a root grader's sandboxed test kernel (SANDBOX_UID)
        self._find_pid: Callable[[], int | None] | None = None
        self._pid: int | None = None
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(str(self.path))
        os.chmod(self.path, 0o666)  # the test kernel may run as another uid (a root grader's sandbox)
        self._listener.listen(4)
        self._closed = False
        threading.Thread(target=self._serve, name="medida-de-memoria", daemon=True).start()

    def watch(self, find_pid: Callable[[], int | None] | None) -> None:
        """How to find the student's kernel of the next submission (None: no submission running)."""
        self._find_pid, self._pid, self._replay = find_pid, None, None

    def resolve(self) -> None:
        """Find the student's kernel now: once it runs, before any student code (which could start a process
        that looks like it)."""
        self._pid = self._find_pid() if self._find_pid is not None else None

    def replay(self, pid: int | None) -> None:
        """The submission's replay process (grader/kernels/standalone/zygote.py), measured when a test asks for it."""
        self._replay = pid

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()

    def _serve(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rwb") as stream:
            for line in stream:
                stream.write((self._reply(line.decode(errors="replace").strip()) + "\n").encode())
                stream.flush()

    def _reply(self, request: str) -> str:
        what, _, target = request.partition(" ")
        if what not in ("reset", "read") or target not in ("", "replay"):
            return "erro pedido desconhecido"
        pid = self._replay if target == "replay" else self._pid
        if pid is None:
            return "erro o processo a medir não foi encontrado"
        try:
            memory, faults = reset_peak(pid) if what == "reset" else read_peak(pid)
            return f"ok {memory} {faults}"
        except (OSError, KeyError, ValueError) as exc:
            return f"erro {type(exc).__name__}: {exc}"
