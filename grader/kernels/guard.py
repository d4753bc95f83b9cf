"""One submission's memory, all its processes together, bounded by the grader from outside its sandbox.

The kernel's own limits are per process (`MEMORY_MB` of address space, `MAX_PROCESSES`): a student whose code
starts children, each under those limits, could hold gigabytes more, and on a class run the machine's
out-of-memory killer would then pick a process at random, maybe another student's kernel or the test kernel.
So while a submission runs, a thread reads every `INTERVAL_S` the memory of every process below its roots (the
student's server's sandbox, where the zygote forks the kernel and the replay; or a cold kernel's and the replay
server's); when they hold more than `SUBMISSION_MEMORY_MB` together, it SIGKILLs them all and says so, and the
submission ends with that limit (grader/kernels/execute.py). The roots do not count, nor the servers (a zygote's
memory is the imports its kernels share) and the launchers above them; a process that left its parent (an
orphan, taken by the sandbox's init) is still below the roots, and counts.

Each reading is cheap: the sum of RSS (/proc/PID/statm) and of page faults (/proc/PID/stat). RSS counts a page
that a `fork` shares with its parent once per process, so a sum over the limit is not yet a verdict: the exact
one (PSS, /proc/PID/smaps_rollup) walks every page of every process, half a second for 200 forks of a torch
kernel, and is read only when the bound below passes the limit. Between two exact readings the total can grow
only by pages touched for the first time, a copy-on-write included: the last exact total plus the page faults
since is an upper bound (a fork, an exit, a page freed never raise it). An exact reading is itself a window in
which memory can come and go unseen, so it may take at most `EXACT_S`: a submission whose processes take longer
to read (hundreds of forks, each mapping gigabytes, while their RSS passes the limit: nothing a notebook of
the course does) is stopped as unmeasurable, and the message says so. The files of the sandbox's own tmpfs
(/tmp, /dev/shm and the working directory: memory of the machine, mapped or not) count too, with what tmpfs
charges per file (`sandbox_files`), so a million empty files are not free; and so do the sandbox's sockets, each
for the most its buffers may hold (`sandbox_sockets`). What the bound leaves out: the rest of the Linux kernel's
own memory on the processes' behalf (pipe buffers, page tables), and what a process allocates between two
readings.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

from grader.kernels import meter
from grader.kernels.standalone import zygote

INTERVAL_S = 0.2
MEMORY_FLAG = "memória da submissão"  # the flag of a submission the guard stopped for its memory
# the longest an exact reading may take: of this thread's CPU (the grader's other threads, busy, only delay it),
# and of the clock (a notebook's processes take milliseconds)
EXACT_S = 0.5
EXACT_WALL_S = 3.0
_PAGE = os.sysconf("SC_PAGE_SIZE")
_MIB = 1024 * 1024


_scan_lock = threading.Lock()
# (when, every process's parent): the last reading of the process table, which the guards share
_scan: tuple[float, dict[int, int]] = (0.0, {})


def _read_parents() -> dict[int, int]:
    """pid -> parent pid, for every process this machine shows, read now."""
    parents = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            parents[int(name)] = int(meter.stat_fields(int(name))[1])
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
    return parents


def _parents() -> dict[int, int]:
    """The process table for a guard's reading: read afresh (a cached parent would outlive a pid that a new
    process reuses), but at most once per half interval for all the guards of this process."""
    global _scan
    with _scan_lock:
        if time.monotonic() - _scan[0] >= INTERVAL_S / 2:
            _scan = (time.monotonic(), _read_parents())
        return _scan[1]


def descendants(roots: list[int], parents: dict[int, int] | None = None) -> list[int]:
    """The processes below `roots` (not the roots themselves)."""
    parents = _read_parents() if parents is None else parents
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    found, stack = [], list(roots)
    while stack:
        for child in children.get(stack.pop(), ()):
            found.append(child)
            stack.append(child)
    return found


_host_mounts: tuple[float, set[str]] = (0.0, set())


def _host_tmpfs() -> set[str]:
    """The devices of this machine's own tmpfs (read again every 10 s): a sandbox that binds one of them in (the
    channel's folder) does not make it the submission's."""
    global _host_mounts
    when, devices = _host_mounts
    if time.monotonic() - when > 10:
        devices = {dev for dev, _, fstype in zygote.mounts() if fstype == "tmpfs"}
        _host_mounts = (time.monotonic(), devices)
    return devices


def sandbox_files(pids: list[int]) -> int:
    """Bytes held by the files of the tmpfs that `pids` see and this machine does not (the sandbox's /tmp,
    /dev/shm and working directory): their blocks, and 1 KiB per inode (the budget tmpfs charges a file, or its
    extended attributes, whatever its size). Read through /proc/PID/root, from one process of each mount
    namespace that lets us (a kernel or a replay; not the zygote, which is not dumpable)."""
    host, seen_namespaces, seen_devices, held = _host_tmpfs(), set(), set(), 0
    for pid in pids:
        namespace = _namespace(pid, "mnt")
        if namespace is None or namespace in seen_namespaces:
            continue
        try:
            mounts = zygote.mounts(pid)
        except OSError:
            continue
        for device, point, fstype in mounts:
            if fstype != "tmpfs" or device in host or device in seen_devices:
                continue
            try:
                usage = os.statvfs(f"/proc/{pid}/root{point}")
            except OSError:
                break  # not through this process: another of the namespace may do
            seen_devices.add(device)
            held += (usage.f_blocks - usage.f_bfree) * usage.f_frsize + (usage.f_files - usage.f_ffree) * 1024
        else:
            seen_namespaces.add(namespace)
    return held


def _socket_default() -> int:
    try:
        return max(int(Path(f"/proc/sys/net/core/{name}_default").read_text()) for name in ("wmem", "rmem"))
    except (OSError, ValueError):
        return 212992  # Linux's usual default


# what one socket may hold in its buffers: the default (the sandbox cannot raise it), and one more message that
# may pass it
SOCKET_BYTES = 2 * _socket_default()


def sandbox_sockets(pids: list[int]) -> int:
    """Bytes the Unix and netlink sockets of the network namespaces that `pids` see and this machine does not
    (the sandbox's) may hold in their buffers: `SOCKET_BYTES` each, counted in /proc/PID/net/{unix,netlink}.
    What a socket holds is the Linux kernel's memory, in no process's; the sandbox cannot raise a buffer past
    that default, nor open a socket of another family (seccomp)."""
    own, seen, sockets = _namespace("self", "net"), set(), 0
    for pid in pids:
        namespace = _namespace(pid, "net")
        if namespace in (own, None) or namespace in seen:
            continue
        try:
            counted = 0
            for family in ("unix", "netlink"):
                with open(f"/proc/{pid}/net/{family}", encoding="utf-8", errors="replace") as table:
                    counted += sum(1 for _ in table) - 1  # (a header line)
        except OSError:
            continue  # not through this process: another of the namespace may do
        seen.add(namespace)
        sockets += counted
    return sockets * SOCKET_BYTES


def _namespace(pid: int | str, kind: str) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/{kind}")
    except OSError:
        return None


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


def _faults(pid: int) -> tuple[int, int]:
    """(When the process started, its threads' page faults so far, minor and major): each page it touched for
    the first time, a copy-on-write included. The start tells a pid reused by a new process from the old one."""
    try:
        fields = meter.stat_fields(pid)
        return int(fields[19]), int(fields[7]) + int(fields[9])  # starttime; minflt + majflt
    except (OSError, IndexError, ValueError):
        return 0, 0


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
    """The processes above `pid`, up to the machine's init (however deep: the student may nest them)."""
    found: list[int] = []
    while pid > 1:
        try:
            pid = int(meter.stat_fields(pid)[1])
        except (OSError, IndexError, ValueError):
            break
        if pid in found:  # (a pid reused meanwhile could make a loop)
            break
        found.append(pid)
    return found


class MemoryGuard:
    """Watches one submission while it runs (`with guard:`); `roots()` gives the pids whose descendants are the
    submission's processes, but for `servers()` and the processes above them (both found again at each reading:
    the kernel starts after the guard). `tripped` says, once it stopped them, how much they held."""

    def __init__(
        self,
        limit_mb: int,
        roots: Callable[[], list[int]],
        servers: Callable[[], list[int]] = list,
        stops: Callable[[], str] = str,
        stops_flag: str = "",
    ):
        self.limit = limit_mb * _MIB
        self.roots, self.servers = roots, servers
        # another reason to stop the submission, asked at each reading (the relay's: grader/kernels/relaying.py)
        self.stops, self.stops_flag = stops, stops_flag
        self.tripped = ""  # Portuguese, for the report
        self.flag = MEMORY_FLAG  # which limit `tripped` is
        self.peak = 0  # the largest total read (exact where it was read, else the bound), bytes
        self.exact_readings = 0
        # the last exact total, and each process's (start, faults) when it was read
        self._base: tuple[int, dict[int, tuple[int, int]]] | None = None
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
        if not roots:
            return False
        parents = _parents()
        spared = set()
        for server in self.servers():
            while server and server not in spared:  # it and its launchers, up to the machine's init
                spared.add(server)
                server = parents.get(server, 0)
        pids = [pid for pid in descendants(roots, parents) if pid not in spared]
        reason = self.stops()
        if reason:
            self.flag, self.tripped = self.stops_flag, reason
            self._kill_all(pids, roots)
            return True
        files = sandbox_files(pids) + sandbox_sockets(pids)
        limit = self.limit - files  # what the processes may hold beside the files and the sockets
        # the faults before the memory: what is touched in between counts at the next reading
        faults = {pid: _faults(pid) for pid in pids}
        total = sum(resident(pid) for pid in pids)  # RSS counts a shared page more than once: an upper bound
        if total > limit and self._base is not None:
            base, then = self._base
            grown = 0
            for pid, (start, count) in faults.items():
                before = then.get(pid)
                grown += count - before[1] if before and before[0] == start and count >= before[1] else count
            total = min(total, base + _PAGE * grown)
        measured = True
        if total > limit:  # neither bound settles it: the exact sum does
            total, measured = self._exact(pids, faults)
        total += files
        self.peak = max(self.peak, total)
        if measured and total <= self.limit:
            return False
        # said before the kills: the kernel's death, which they cause, must find the reason already there
        if measured:
            self.tripped = (
                f"a submissão passou do limite de memória: {total // _MIB} MiB em {len(pids)} processo(s) juntos"
                + (
                    f" (contando {files // _MIB} MiB em arquivos (/tmp, /dev/shm e a pasta de trabalho) e sockets "
                    "do sandbox)"
                    if files > 64 * _MIB
                    else ""
                )
                + f", e o limite é {self.limit // _MIB} MiB"
            )
        else:
            seconds = f"{EXACT_S:g}".replace(".", ",")
            self.tripped = (
                f"a memória da submissão não pôde ser medida a tempo: os seus {len(pids)} processos passam do "
                f"limite de {self.limit // _MIB} MiB contando mais de uma vez o que dividem, e medir o que "
                f"dividem levaria mais de {seconds} s"
            )
        self._kill_all(pids, roots)
        return True

    @staticmethod
    def _kill_all(pids: list[int], roots: list[int]) -> None:
        for pid in reversed(pids):  # children before their parents
            _kill(pid, set(roots))

    def _exact(self, pids: list[int], faults: dict[int, tuple[int, int]]) -> tuple[int, bool]:
        """(The PSS sum, True); or (what was read when `EXACT_S` of CPU or `EXACT_WALL_S` passed, False)."""
        cpu_deadline, deadline = time.thread_time() + EXACT_S, time.monotonic() + EXACT_WALL_S
        total = 0
        for pid in pids:
            if time.thread_time() > cpu_deadline or time.monotonic() > deadline:
                return total, False
            total += proportional(pid)
        self._base = (total, faults)
        self.exact_readings += 1
        return total, True

    def _run(self) -> None:
        while not self._stop.wait(INTERVAL_S):
            try:
                if self.check():
                    return
            except Exception:  # noqa: BLE001 (a reading that failed is skipped; the next one tries again)
                continue
