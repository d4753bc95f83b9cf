"""One submission's memory, all its processes together, bounded by the grader from outside its sandbox.

The kernel's own limits are per process (`MEMORY_MB` of address space, `MAX_PROCESSES`): a student whose code
starts children, each under those limits, could hold gigabytes more, and on a class run the machine's
out-of-memory killer would then pick a process at random, maybe another student's kernel or the test kernel.
So while a submission runs, a thread adds up the resident memory of every process below its roots (the student's
server's sandbox, where the zygote forks the kernel and the replay; or a cold kernel's and the replay server's)
every `INTERVAL_S`; when they pass `SUBMISSION_MEMORY_MB`, it SIGKILLs them all and says so, and the submission
ends with that limit (grader/kernels/execute.py). The roots do not count, nor the servers (a zygote's memory is
the imports its kernels share) and the launchers above them; a process that left its parent (an orphan, taken
by the sandbox's init) is still below the roots, and counts.

The cheap sum (RSS, from /proc/PID/statm) counts a page shared by a fork and its parent twice; only when it passes
the limit is the exact one read (PSS, from /proc/PID/smaps_rollup), so a `fork` or a DataLoader's workers are
not mistaken for memory. Reading a process's PSS walks its pages (half a second for 200 forks of a torch
kernel): a process's PSS is read again only when it touched a MiB of pages since (its page faults: a page a
fork writes to becomes its own without changing its RSS) or its RSS moved by a MiB, all of them when a
process of the submission ended (the others' shares of what it shared grow), every `REFRESH_EVERY` readings
and before the guard stops anything (a new fork makes the others' kept shares too large); after a reading
that took long, the next one waits four times as long, so that the guard takes at most a fifth of a core. What the bound leaves out: files in the sandbox's tmpfs that no process maps (/tmp,
/dev/shm and the working directory, capped at `Limits.tmp_mb` each), and what a process allocates between
two readings.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable

INTERVAL_S = 0.2
REFRESH_EVERY = 25  # readings of the exact sum between two in which every process's is read again (5 s)
_PAGE = os.sysconf("SC_PAGE_SIZE")
_MIB = 1024 * 1024


_known: dict[int, int] = {}  # pid -> parent pid, as the last reading (of any guard) found them


def _parents() -> dict[int, int]:
    """pid -> parent pid, for every process this machine shows. A process keeps its parent until that parent
    exits (then its namespace's init takes it), so a stat file is read again only for a process new since the
    last reading or whose parent is gone: a tenth of the cost of reading them all (a pid reused within one
    interval would keep its predecessor's parent: it takes the machine's whole pid space to come back)."""
    global _known
    live = {int(name) for name in os.listdir("/proc") if name.isdigit()}
    parents = {}
    for pid in live:
        parent = _known.get(pid)
        if parent is None or (parent and parent not in live):
            try:
                with open(f"/proc/{pid}/stat", "rb") as stat:
                    parent = int(stat.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue  # gone meanwhile
        parents[pid] = parent
    _known = parents
    return parents


def descendants(roots: list[int], parents: dict[int, int] | None = None) -> list[int]:
    """The processes below `roots` (not the roots themselves)."""
    parents = _parents() if parents is None else parents
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    found, stack = [], list(roots)
    while stack:
        for child in children.get(stack.pop(), ()):
            found.append(child)
            stack.append(child)
    return found


def _statm_rss(folder: str) -> int:
    try:
        with open(f"{folder}/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


def _memory_folder(pid: int) -> tuple[str, int]:
    """Where the process's memory reads, and its resident bytes: /proc/PID; or, once its first thread has
    exited while others run on (/proc/PID then reads as empty), one of the live threads' /proc/PID/task/TID.
    ("", 0) once it is gone."""
    folder = f"/proc/{pid}"
    rss = _statm_rss(folder)
    if rss:
        return folder, rss
    try:
        threads = [tid for tid in os.listdir(f"{folder}/task") if tid != str(pid)]
    except OSError:
        return "", 0
    for tid in threads:
        rss = _statm_rss(f"{folder}/task/{tid}")
        if rss:
            return f"{folder}/task/{tid}", rss
    return "", 0


def _faults(pid: int) -> int:
    """Page faults of the process's threads so far (minor and major): each page it touched for the first time,
    a copy-on-write included."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        return int(fields[7]) + int(fields[9])
    except (OSError, IndexError, ValueError):
        return 0


def resident(pid: int) -> int:
    """Resident bytes of one process (0 once it is gone)."""
    return _memory_folder(pid)[1]


def proportional(pid: int) -> int:
    """Proportional bytes of one process (its share of each page it maps); its RSS where that cannot be read."""
    folder, rss = _memory_folder(pid)
    try:
        with open(f"{folder}/smaps_rollup", "rb") as rollup:
            for line in rollup:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    return rss


def _kill(pid: int, roots: set[int]) -> None:
    """SIGKILL `pid` if it is still below one of `roots`: through a pidfd taken before checking, so a pid reused
    by another process meanwhile is never the one signalled."""
    try:
        handle = os.pidfd_open(pid)
    except OSError:
        return  # gone
    try:
        if set(_ancestors(pid)) & roots:
            signal.pidfd_send_signal(handle, signal.SIGKILL)
    except OSError:
        pass
    finally:
        os.close(handle)


def _ancestors(pid: int) -> list[int]:
    found = []
    with contextlib.suppress(OSError, IndexError, ValueError):
        while pid > 1 and len(found) < 64:
            with open(f"/proc/{pid}/stat", "rb") as stat:
                pid = int(stat.read().rsplit(b")", 1)[1].split()[1])
            found.append(pid)
    return found


class MemoryGuard:
    """Watches one submission while it runs (`with guard:`); `roots()` gives the pids whose descendants are the
    submission's processes, but for `servers()` and the processes above them (both found again at each reading:
    the kernel starts after the guard). `tripped` says, once it stopped them, how much they held."""

    def __init__(
        self, limit_mb: int, roots: Callable[[], list[int]], servers: Callable[[], list[int]] = list
    ):
        self.limit = limit_mb * _MIB
        self.roots, self.servers = roots, servers
        self.tripped = ""  # Portuguese, for the report
        self.peak = 0  # the largest sum read (PSS where it was read, else RSS), bytes
        self._pss: dict[int, tuple[int, int, int]] = {}  # pid -> (RSS, page faults, PSS) when PSS was read
        self._exact_readings = 0
        self._resume_at = 0.0  # no reading before this (monotonic): the last exact one took long
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memoria-da-submissao", daemon=True)

    def __enter__(self) -> MemoryGuard:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def check(self) -> bool:
        """One reading; True when it stopped the submission."""
        roots = [pid for pid in self.roots() if pid]
        if not roots or time.monotonic() < self._resume_at:
            return False
        parents = _parents()
        spared = set()
        for server in self.servers():
            while server and server not in spared:  # it and its launchers, up to the machine's init
                spared.add(server)
                server = parents.get(server, 0)
        pids = [pid for pid in descendants(roots, parents) if pid not in spared]
        rss = {pid: resident(pid) for pid in pids}
        total = sum(rss.values())
        if total > self.limit:  # shared pages counted once per process: the exact sum decides
            started = time.monotonic()
            total = self._exact(rss)
            spent = time.monotonic() - started
            self._resume_at = time.monotonic() + 4 * spent if spent > INTERVAL_S / 4 else 0.0
        self.peak = max(self.peak, total)
        if total <= self.limit:
            return False
        # said before the kills: the kernel's death, which they cause, must find the reason already there
        self.tripped = (
            f"a submissão passou do limite de memória: {total // _MIB} MiB em {len(pids)} processo(s) juntos, "
            f"e o limite é {self.limit // _MIB} MiB"
        )
        for pid in reversed(pids):  # children before their parents (an orphan leaves the roots' tree)
            _kill(pid, set(roots))
        return True

    def _exact(self, rss: dict[int, int]) -> int:
        """The PSS sum, reading again only what may have changed (see the module's doc)."""
        self._exact_readings += 1
        ended = any(not rss.get(pid) for pid in self._pss)  # gone, or a zombie
        fresh = self._exact_readings % REFRESH_EVERY == 1 or ended
        kept = {} if fresh else self._pss
        self._pss = {}
        for pid, now in rss.items():
            known, faults = kept.get(pid), _faults(pid)
            if known and abs(now - known[0]) <= _MIB and faults - known[1] <= _MIB // _PAGE:
                self._pss[pid] = known
            else:
                self._pss[pid] = (now, faults, proportional(pid))
        total = sum(pss for *_, pss in self._pss.values())
        if total > self.limit and not fresh:  # never stop a submission on a kept share
            self._pss = {pid: (now, _faults(pid), proportional(pid)) for pid, now in rss.items()}
            total = sum(pss for *_, pss in self._pss.values())
        return total

    def _run(self) -> None:
        while not self._stop.wait(INTERVAL_S):
            try:
                if self.check():
                    return
            except Exception:  # noqa: BLE001 (a reading that failed is skipped; the next one tries again)
                continue
