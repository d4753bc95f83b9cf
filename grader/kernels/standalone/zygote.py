"""Warm kernel server ("zygote"): imports the heavy libraries once, then forks one fresh kernel per submission.

    python zygote.py [--imports torch,numpy,...] [--sandboxed --workdir DIR]

It runs where a kernel would run (inside the bubblewrap sandbox, behind grader/kernels/standalone/kernel_limits.py), so it is
stdlib-only until the imports it is told to make and imports nothing from the `grader` package. The grader
(grader/kernels/warm.py) talks to it over its stdin/stdout, one JSON object per line:

    {"op": "spawn", "connection_file": F, "cwd": D, "env": {...}} -> {"pid": P}   fork a kernel
    {"op": "poll"}                                                 -> {"returncode": None | int}
    {"op": "signal", "signum": S}                                  -> {}         to the kernel's group
    {"op": "replay", "socket": S, "secret": K, "cwd": D, ...}      -> {"pid": P}   fork the replay (agent.py)
    {"op": "reset"}                                      -> {"clean": bool, "left": [what remains]}
    {"op": "learn", "module": M, "texts": [...]}                   -> {"learned": N}  parse cells before forking

Why a fork is as good as a fresh kernel here: the zygote never runs student code, so every kernel starts
from the same state, the state of a Python that has just imported these modules. Between submissions
`reset` kills every other process in the sandbox (its own pid namespace) and empties /tmp, /dev/shm and
the working directory (all three tmpfs of the sandbox's own). The zygote is not dumpable, so a kernel (same uid, no
capabilities) can neither ptrace it nor read its memory; it can kill it, which only costs a restart.
"""

from __future__ import annotations

import ctypes
import importlib
import json
import os
import re
import shutil
import signal
import sys
import time

try:  # run as a script (in the sandbox): inkernel/ beside it; imported by the grader: this package's
    from inkernel import confine
except ImportError:
    from .inkernel import confine

_PR_SET_DUMPABLE = 4
_PR_SET_PDEATHSIG = 1
_WIPED = ("/tmp", "/dev/shm")  # private tmpfs of the sandbox, shared by the slot's successive kernels
# What a kernel imports as it starts, imported here once instead of in every kernel: ipykernel imports its
# debugger (debugpy and pydevd, some 150 modules) when it creates the kernel, then IPython's pdb, magics and
# completer. A forked kernel's start went from 0.20 to 0.07 s of CPU, twice per submission (both kernels).
_KERNEL_MODULES = (
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.debugger",
    "IPython.core.debugger",
    "IPython.core.magics.execution",
    "IPython.core.completerlib",
    "IPython.extensions.storemagic",
    "IPython.core.pylabtools",
    "tornado.platform.asyncio",
    # and what every forked kernel still imported by itself as it started (measured: 5 to 17 modules)
    "IPython.core.logger",
    "IPython.core.oinspect",
    "IPython.utils.wildcard",
    "faulthandler",
    "resource",
    "zmq.utils.garbage",
)


def _reply(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def _in_own_pid_namespace() -> bool:
    # kill(-1) outside a pid namespace would hit every process of the uid on the machine
    try:
        with open("/proc/1/comm") as f:
            return f.read().strip() == "bwrap"
    except OSError:
        return False


def _signal(child: int, signum: int) -> None:
    """To the kernel's process group; to the kernel alone if it has not yet made its group (a kernel forked
    a moment ago, before its setsid()), which would otherwise escape and outlive the slot."""
    try:
        os.killpg(child, signum)
    except ProcessLookupError:
        try:
            os.kill(child, signum)
        except ProcessLookupError:
            pass


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _live_others() -> list[int]:
    me, alive = os.getpid(), []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) in (1, me):
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state not in ("Z", "X"):  # zombies are dead; bwrap's init reaps the orphans among them
            alive.append(int(name))
    return alive


def _kill_everything_else() -> bool:
    for _ in range(200):  # a fork bomb may race the first rounds
        try:
            os.kill(-1, signal.SIGKILL)  # all we may signal in the namespace but init and ourselves
        except ProcessLookupError:
            pass
        _reap()
        if not _live_others():
            return True
        time.sleep(0.01)
    return False


_IPC_RMID = 0


def _remove_sysv_ipc() -> list[str]:
    """Remove every System V shared memory segment, semaphore set and message queue of the sandbox's own IPC
    namespace (they outlive the processes that made them: one submission could leave data, or memory no
    limit counts, to the next). What could not be removed, as text."""
    libc = ctypes.CDLL(None, use_errno=True)
    left = []
    for kind, remove in (
        ("shm", lambda i: libc.shmctl(i, _IPC_RMID, None)),
        ("sem", lambda i: libc.semctl(i, 0, _IPC_RMID)),
        ("msg", lambda i: libc.msgctl(i, _IPC_RMID, None)),
    ):
        try:
            with open(f"/proc/sysvipc/{kind}") as table:
                rows = table.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            ident = int(row.split()[1])
            if remove(ident) != 0:
                left.append(f"IPC {kind} {ident}: {os.strerror(ctypes.get_errno())}")
    return left


def _unlock(top: str) -> None:
    """Give the owner's permissions back on every directory under `top` (a student may have removed them
    from their own, which would stop rmtree); top-down, so each is opened before being walked into."""
    for root, dirs, _ in os.walk(top):
        for name in dirs:
            path = os.path.join(root, name)
            if not os.path.islink(path):
                try:
                    os.chmod(path, 0o700)
                except OSError:
                    pass


def mounts(pid: int | str = "self") -> list[tuple[str, str, str]]:
    """(device, mount point, filesystem type) of each mount `pid` sees, from /proc/PID/mountinfo (the memory
    guard reads a sandbox's through it too: grader/kernels/guard.py)."""
    found = []
    with open(f"/proc/{pid}/mountinfo", encoding="utf-8", errors="replace") as table:
        for line in table:
            fields = line.split()
            try:
                fstype = fields[fields.index("-") + 1]
            except (ValueError, IndexError):
                continue
            point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
            found.append((fields[2], point, fstype))
    return found


def _mount_points() -> set[str]:
    """Mount points of this sandbox (bwrap's binds: the Python environment, which may live under /tmp, the
    font list, the slot's directories): never removed, and the directories leading to them kept."""
    return {point for _, point, _ in mounts()}


def empty(directory: str, mounts: set[str]) -> bool:
    """Remove what `directory` holds but mount points, recursing into the directories that lead to one;
    whether nothing else is left. (grader/kernels/warm.py uses it too, on the host's side of a slot.)"""
    try:
        entries = os.listdir(directory)
    except OSError:
        return False
    clean = True
    for name in entries:
        path = os.path.join(directory, name)
        if path in mounts:
            continue
        if any(m.startswith(path + "/") for m in mounts):
            clean &= empty(path, mounts)
            continue
        if os.path.isdir(path) and not os.path.islink(path):
            try:
                os.chmod(path, 0o700)
            except OSError:
                pass
            _unlock(path)
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                os.unlink(path)
            except OSError:
                pass
        clean &= not os.path.lexists(path)
    return clean


def _run_kernel(request: dict, zygote: int) -> None:
    """In the forked child: become an ordinary ipykernel, as `python -m ipykernel_launcher -f F` would."""
    libc = ctypes.CDLL(None)
    # dies with the zygote (without the sandbox, nothing else would end it with the grader)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != zygote:
        os._exit(1)
    os.setsid()  # its own process group: signals and kills reach the kernel and what it starts
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):  # never the zygote's control pipe; stderr stays the zygote's (the grader's log)
        os.dup2(devnull, fd)
    os.close(devnull)
    libc.prctl(_PR_SET_DUMPABLE, 1, 0, 0, 0)  # its own /proc entries, like any process
    if request.get("oom_first"):
        _oom_first()
    # what the grader reads of it from outside (grader/kernels/meter.py) stays its count, and the replay
    # beside it stays out of its reach: grader/kernels/standalone/inkernel/confine.py
    confine.confine()
    os.environ.update(request.get("env", {}))
    os.chdir(request["cwd"])
    sys.path[0] = request["cwd"]  # what `python -m` puts first
    # fresh random state, as a newly started Python has (a fork would share the zygote's)
    import random

    random.seed()
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()
    from ipykernel.kernelapp import IPKernelApp

    # Plain tracebacks: the grader reads only the error name and value, and the default ("Context") format
    # costs ~30 ms per failing cell, Plain ~1 ms
    # No history: nothing reads a graded kernel's, and keeping it writes SQLite for every cell
    sys.argv = [
        "ipykernel_launcher",
        "-f",
        request["connection_file"],
        "--InteractiveShell.xmode=Plain",
        "--HistoryManager.enabled=False",
    ]
    if "matplotlib_inline.backend_inline" in sys.modules:
        # The inline backend hooks itself into IPython when it is imported inside a kernel (its figures become
        # PNG outputs). Imported here, in the zygote, it found no IPython and stays unhooked, so a figure would
        # print as "<Figure size ...>": the kernel turns the integration on itself, as `%matplotlib inline`.
        sys.argv.append("--matplotlib=inline")
    IPKernelApp.launch_instance(argv=sys.argv[1:])


def _oom_first() -> None:
    """If the machine runs out of memory, its killer takes a process that runs the student's code (this one, or
    one it starts) before the grader, a test kernel or a server. Before confine(), which forbids writing under
    /proc; raising one's own score needs no privilege, and what it starts inherits it."""
    try:
        with open("/proc/self/oom_score_adj", "w", encoding="ascii") as score:
            score.write("1000")
    except OSError:
        pass


def _fast_cell_names() -> None:
    """ipykernel names each cell's code (for its debugger) after a murmur2 hash written in pure Python, a few
    milliseconds for a long cell, in every cell of every kernel: the same role, with hashlib."""
    import hashlib

    try:
        import ipykernel.compiler
    except ImportError:
        return

    def name_hash(data: str, seed: int) -> int:
        digest = hashlib.blake2b(
            data.encode("utf-8", "surrogatepass"), digest_size=4, salt=seed.to_bytes(4, "little")
        )
        return int.from_bytes(digest.digest(), "little")

    ipykernel.compiler.murmur2_x86 = name_hash


def _run_replay(request: dict, zygote: int) -> None:
    """In the forked child: the replay (grader/kernels/standalone/inkernel/agent.py's replay_main), which runs the
    notebook's plain defs as its text has them for the tests that read code or measure memory. Beside the
    student's kernel, in the same sandbox: confined as the kernel is, it runs nothing of what the student's
    other cells do, reads no file of the working copy (it works from /, without it on sys.path) and proves to
    the test kernel who it is with a secret only the grader, the test kernel and this process know."""
    libc = ctypes.CDLL(None)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != zygote:
        os._exit(1)
    os.setsid()
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):
        os.dup2(devnull, fd)
    os.close(devnull)
    libc.prctl(_PR_SET_DUMPABLE, 1, 0, 0, 0)  # the grader's meter reads its /proc entries
    _oom_first()
    confine.confine()
    os.environ.update(request.get("env", {}))
    os.chdir("/")
    writable = tuple(os.path.realpath(p) + os.sep for p in (request["cwd"], "/tmp", "/dev/shm"))
    sys.path[:] = [p for p in sys.path if p and not (os.path.realpath(p) + os.sep).startswith(writable)]
    import random

    random.seed()
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()
    from inkernel import agent

    agent.replay_main(request["socket"], request["secret"], request["frame_bytes"])


def main(argv: list[str]) -> None:
    imports = []
    sandboxed = "--sandboxed" in argv
    if "--imports" in argv:
        imports = [m for m in argv[argv.index("--imports") + 1].split(",") if m]
    wiped = _WIPED
    if "--workdir" in argv:  # a tmpfs of the sandbox's own, emptied here too
        wiped += (argv[argv.index("--workdir") + 1],)
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")  # as ipykernel sets it
    # debugpy warns on stderr when imported under frozen modules (the stdlib's, in any Python 3.11+); that line
    # would become the last words this server leaves in the grader's log (ZygoteError's message)
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    failed = []
    for module in [*_KERNEL_MODULES, *imports]:
        try:
            importlib.import_module(module)
        except Exception as exc:  # noqa: BLE001 (any import error: the notebook reports it when it imports it)
            failed.append(f"{module}: {type(exc).__name__}")
    # each kernel reseeds numpy's generator (_run_kernel), which imports numpy.random (12 modules) unless done here
    if "numpy" in sys.modules:
        try:
            importlib.import_module("numpy.random")
        except Exception as exc:  # noqa: BLE001 (as above)
            failed.append(f"numpy.random: {type(exc).__name__}")
    _fast_cell_names()
    import gc

    gc.freeze()  # keeps the imported objects' pages shared with every kernel (no refcount writes)
    ctypes.CDLL(None).prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)
    kill_all = sandboxed and _in_own_pid_namespace()
    _reply({"ready": True, "failed": failed, "isolated": kill_all, "pid": os.getpid()})

    child, exit_code, replay = None, 0, None
    for line in sys.stdin:
        request = json.loads(line)
        op = request["op"]
        if op == "replay":
            if replay is not None:
                _signal(replay, signal.SIGKILL)
            replay = os.fork()
            if replay == 0:
                try:
                    _run_replay(request, zygote=os.getppid())
                finally:
                    os._exit(0)
            _reply({"pid": replay})
            continue
        if op == "spawn":
            zygote = os.getpid()
            child, exit_code = os.fork(), 0
            if child == 0:
                code = 1
                try:
                    _run_kernel(request, zygote)
                    code = 0
                except BaseException:  # noqa: BLE001 (the forked kernel's last words, whatever ended it)
                    import traceback

                    traceback.print_exc()  # to the grader's log of this server
                finally:
                    os._exit(code)
            _reply({"pid": child})
        elif op == "poll":
            if child is not None:
                try:
                    pid, status = os.waitpid(child, os.WNOHANG)
                except ChildProcessError:
                    pid, status = child, 0
                if pid:
                    exit_code, child = os.waitstatus_to_exitcode(status), None
            _reply({"returncode": None if child is not None else exit_code})
        elif op == "signal":
            if child is not None:
                _signal(child, request["signum"])
                if request["signum"] == signal.SIGKILL:  # dead in a moment: reap it, so the next poll says so
                    exit_code, child = os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]), None
            _reply({})
        elif op == "learn":  # the cells its kernels will run (inkernel/fastpath.py), parsed once, here
            try:
                learned = importlib.import_module(request["module"]).learn(request["texts"])
            except Exception:  # noqa: BLE001 (only a head start: the kernels parse what was not learned)
                learned = 0
            gc.freeze()  # the trees too: shared with every kernel, never traversed by their collector
            _reply({"learned": learned})
        elif op == "reset":
            for process in (child, replay):
                if process is not None:
                    _signal(process, signal.SIGKILL)
                    try:
                        os.waitpid(process, 0)
                    except ChildProcessError:
                        pass
            child = replay = None
            left = []
            if kill_all:
                if not _kill_everything_else():
                    left.append(f"processos {_live_others()}")
                left += _remove_sysv_ipc()  # (sandboxed: the IPC namespace is the sandbox's own)
                mounts = _mount_points()
                for directory in wiped:
                    if not empty(directory, mounts):
                        left.append(f"arquivos em {directory}: {sorted(os.listdir(directory))[:5]}")
            _reply({"clean": not left, "left": left})
    for process in (
        child,
        replay,
    ):  # the grader is done with this slot: no kernel outlives it (spare included)
        if process is not None:
            _signal(process, signal.SIGKILL)


if __name__ == "__main__":
    main(sys.argv[1:])
