"""The submission's memory guard (grader/kernels/guard.py) on real processes: what it counts, what it kills."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest

from grader.kernels import guard

MIB = 1024 * 1024

# A launcher (the root: not counted) whose children each touch `size` MiB, or one child that touches `size` MiB
# and then forks `forks` times (the forks share its pages). Each prints "pronto" once its memory is in place.
LAUNCHER = """
import os, subprocess, sys, time
size, children, forks = map(int, sys.argv[1:])
hold = "import sys, time\\nb = bytes(1) * ({} * 2**20)\\nprint('pronto', flush=True)\\ntime.sleep(60)"
share = (
    "import os, sys, time\\nb = bytes(1) * ({} * 2**20)\\n"
    "for _ in range({}):\\n    if os.fork() == 0:\\n        time.sleep(60)\\n        os._exit(0)\\n"
    "time.sleep(0.5)\\nprint('pronto', flush=True)\\ntime.sleep(60)"
)
code = share.format(size, forks) if forks else hold.format(size)
procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE) for _ in range(children)]
for p in procs:
    p.stdout.readline()
print("pronto", flush=True)
time.sleep(60)
"""


COW = (  # one process sharing 100 MiB with 6 forks, which write all of it after 1.5 s
    "import os, time\nb = bytearray(bytes(1) * (100 * 2**20))\n"
    "for _ in range(6):\n"
    "    if os.fork() == 0:\n"
    "        time.sleep(1.5)\n"
    "        for i in range(0, len(b), 4096):\n            b[i] = 2\n"
    "        time.sleep(60)\n"
    "        os._exit(0)\n"
    "print('pronto', flush=True)\ntime.sleep(60)"
)


def launch(size_mb: int, children: int, forks: int = 0) -> subprocess.Popen:
    launcher = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, str(size_mb), str(children), str(forks)], stdout=subprocess.PIPE
    )
    assert launcher.stdout.readline() == b"pronto\n"
    return launcher


def launch_one(code: str) -> subprocess.Popen:
    """A launcher with one child running `code`, once the child printed its first line."""
    launcher = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time\n"
            f"child = subprocess.Popen([sys.executable, '-c', {code!r}], stdout=subprocess.PIPE)\n"
            "child.stdout.readline()\nprint('pronto', flush=True)\ntime.sleep(60)",
        ],
        stdout=subprocess.PIPE,
    )
    assert launcher.stdout.readline() == b"pronto\n"
    return launcher


def stop(launcher: subprocess.Popen) -> None:
    """The launcher and everything below it (its children would outlive it)."""
    for pid in reversed(guard.descendants([launcher.pid])):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    launcher.kill()
    launcher.wait()


def gone(pids: list[int], wait_s: float = 5) -> bool:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        alive = [pid for pid in pids if guard.resident(pid)]  # 0 once gone (a zombie holds no memory either)
        if not alive:
            return True
        time.sleep(0.05)
    return False


def test_under_the_limit_nothing_happens():
    launcher = launch(60, 2)
    try:
        watched = guard.MemoryGuard(400, lambda: [launcher.pid])
        assert not watched.check() and not watched.tripped
        assert 120 * MIB <= watched.peak < 400 * MIB  # the children's memory, not the launcher's
        assert len(guard.descendants([launcher.pid])) == 2
    finally:
        stop(launcher)


def test_over_the_limit_every_process_below_the_roots_is_killed():
    launcher = launch(120, 3)
    try:
        children = guard.descendants([launcher.pid])
        watched = guard.MemoryGuard(250, lambda: [launcher.pid])
        assert watched.check()
        assert "passou do limite de memória" in watched.tripped and "3 processo(s) juntos" in watched.tripped
        assert watched.tripped.endswith("e o limite é 250 MiB")
        assert gone(children)
        assert launcher.poll() is None  # the root is not the submission's: left alone
    finally:
        stop(launcher)


def test_pages_a_fork_shares_count_once():
    launcher = launch(150, 1, forks=4)  # RSS: 5 x 150 MiB; PSS: about 150 MiB
    try:
        pids = guard.descendants([launcher.pid])
        assert len(pids) == 5 and sum(guard.resident(pid) for pid in pids) > 600 * MIB
        watched = guard.MemoryGuard(400, lambda: [launcher.pid])
        assert not watched.check(), watched.tripped
        assert watched.peak < 400 * MIB
    finally:
        stop(launcher)


def test_the_thread_stops_a_submission_that_grows_while_it_runs():
    late = "import time\ntime.sleep(1)\nb = bytes(1) * (300 * 2**20)\ntime.sleep(60)"
    launcher = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import subprocess, sys, time\nsubprocess.Popen([sys.executable, '-c', {late!r}])\n"
            "print('pronto', flush=True)\ntime.sleep(60)",
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert launcher.stdout.readline() == b"pronto\n"
        started = time.monotonic()
        with guard.MemoryGuard(200, lambda: [launcher.pid]) as watched:
            child = guard.descendants([launcher.pid])
            while not watched.tripped and time.monotonic() - started < 10:
                time.sleep(0.05)
        assert "passou do limite de memória" in watched.tripped
        assert gone(child)
    finally:
        stop(launcher)


def test_a_process_whose_first_thread_exited_still_counts():
    """Its /proc/PID reads as empty while another thread holds the memory: read through that thread."""
    zombie_leader = (
        "import ctypes, threading, time\n"
        "def hold():\n    b = bytes(1) * (300 * 2**20)\n    print('pronto', flush=True)\n    time.sleep(60)\n"
        "threading.Thread(target=hold).start()\n"
        "ctypes.CDLL(None).syscall({exit})\n"  # SYS_exit: the first thread only
    ).format(exit={"x86_64": 60, "aarch64": 93}[os.uname().machine])
    launcher = launch_one(zombie_leader)
    try:
        [child] = guard.descendants([launcher.pid])
        assert guard._statm_rss(f"/proc/{child}") == 0  # what the guard read before
        assert guard.resident(child) > 300 * MIB
        watched = guard.MemoryGuard(200, lambda: [launcher.pid])
        assert watched.check(), watched.peak
        assert gone([child])
    finally:
        stop(launcher)


def test_idle_forks_are_read_exactly_once(monkeypatch):
    """The exact sum walks every page of every process: read once, then bounded by the page faults since."""
    launcher = launch(100, 1, forks=12)  # RSS: 13 x 100 MiB; PSS: about 100 MiB
    real, reads = guard.proportional, []
    monkeypatch.setattr(guard, "proportional", lambda pid: reads.append(pid) or real(pid))
    try:
        pids = guard.descendants([launcher.pid])
        watched = guard.MemoryGuard(500, lambda: [launcher.pid])
        assert not watched.check() and len(reads) == 13  # over 500 MiB by RSS: every PSS read
        assert not watched.check() and len(reads) == 13  # nothing touched since: the bound is enough
        os.kill(pids[-1], signal.SIGKILL)  # an exit never raises the total
        assert gone(pids[-1:])
        assert not watched.check() and len(reads) == 13 and watched.exact_readings == 1
    finally:
        stop(launcher)


def test_forks_that_write_their_shared_pages_count_what_they_copy():
    """A page a fork writes to becomes its own without changing its RSS: its page faults say so."""
    launcher = launch_one(COW)
    try:
        watched = guard.MemoryGuard(400, lambda: [launcher.pid])
        assert not watched.check(), watched.tripped  # shared: about 100 MiB
        time.sleep(3)  # each fork now holds its own 100 MiB copy
        assert watched.check(), watched.peak
    finally:
        stop(launcher)


def test_a_submission_too_slow_to_measure_is_stopped(monkeypatch):
    """An exact reading is a window in which memory comes and goes unseen: it may not take long."""
    real = guard.proportional

    def slow(pid: int) -> int:  # 0.2 s of this thread's CPU a process
        started = time.thread_time()
        while time.thread_time() - started < 0.2:
            pass
        return real(pid)

    monkeypatch.setattr(guard, "proportional", slow)
    launcher = launch(100, 1, forks=6)  # RSS over the limit, PSS under it: an exact reading is needed
    try:
        pids = guard.descendants([launcher.pid])
        watched = guard.MemoryGuard(400, lambda: [launcher.pid])
        assert watched.check() and watched.exact_readings == 0
        assert "não pôde ser medida a tempo: os seus 7 processos" in watched.tripped, watched.tripped
        assert watched.tripped.endswith("levaria mais de 0,5 s")
        assert gone(pids)
    finally:
        stop(launcher)


def test_processes_nested_deep_below_the_roots_are_killed_too():
    """Ten generations down, the last one holding the memory."""
    nested = "import time\nb = bytes(1) * (300 * 2**20)\nprint('pronto', flush=True)\ntime.sleep(60)"
    for _ in range(10):
        nested = (
            "import subprocess, sys, time\n"
            f"child = subprocess.Popen([sys.executable, '-c', {nested!r}], stdout=subprocess.PIPE)\n"
            "child.stdout.readline()\nprint('pronto', flush=True)\ntime.sleep(60)"
        )
    launcher = launch_one(nested)
    try:
        chain = guard.descendants([launcher.pid])
        assert len(chain) == 11
        watched = guard.MemoryGuard(200, lambda: [launcher.pid])
        assert watched.check()
        assert gone(chain)
    finally:
        stop(launcher)


def test_a_busy_grader_does_not_make_a_submission_unmeasurable():
    """The deadline counts the guard thread's own CPU: waiting for the interpreter behind a busy thread is not
    the submission's doing."""
    launcher = launch(100, 1, forks=20)
    stop_spinning = threading.Event()

    def spin() -> None:
        while not stop_spinning.is_set():
            pass

    spinner = threading.Thread(target=spin)
    spinner.start()
    try:
        watched = guard.MemoryGuard(500, lambda: [launcher.pid])
        assert not watched.check(), watched.tripped
        assert watched.exact_readings == 1
    finally:
        stop_spinning.set()
        spinner.join()
        stop(launcher)


FILES_IN_OWN_TMPFS = (  # a mount namespace of its own (as a sandbox has), with a 1 MiB tmpfs of empty files at $1
    'mount -t tmpfs -o size=1M none "$1" && '
    f"{sys.executable} -c \"import os, sys\nfor i in range(150000):\n    os.close(os.open(f'{{sys.argv[1]}}/{{i}}', "
    'os.O_CREAT))" "$1" && echo pronto && exec sleep 60'
)


def test_files_in_a_tmpfs_of_the_submissions_own_count_and_the_machines_do_not(tmp_path):
    """150 000 empty files in a 1 MiB tmpfs hold ~150 MB of the machine that no process shows: they count,
    1 KiB each (what tmpfs charges), read through /proc/PID/root. A tmpfs of this machine's (where this test's
    process writes) is not the submission's."""
    if not shutil.which("unshare"):
        pytest.skip("sem unshare")
    launcher = subprocess.Popen(
        [sys.executable, "-c", "import subprocess, sys; subprocess.run(sys.argv[1:])"]
        + [
            "unshare",
            "--user",
            "--map-root-user",
            "--mount",
            "sh",
            "-c",
            FILES_IN_OWN_TMPFS,
            "sh",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        line = launcher.stdout.readline()
        if line != b"pronto\n":
            pytest.skip(f"sem namespace de montagem próprio: {launcher.stderr.read(300)!r}")
        pids = guard.descendants([launcher.pid])
        held = guard.sandbox_files(pids)
        assert 150_000 * 1024 <= held < 160_000 * 1024, held
        assert guard.sandbox_files([os.getpid()]) == 0  # this machine's own /tmp, /dev/shm
        watch = guard.MemoryGuard(100, lambda: [launcher.pid])
        assert watch.check()
        assert "MiB em arquivos (/tmp, /dev/shm e a pasta de trabalho) e sockets do sandbox)" in watch.tripped
        assert launcher.wait(10) is not None
    finally:
        stop(launcher)
