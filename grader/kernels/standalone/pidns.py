"""Start bubblewrap so that nothing it starts outlives it, however and whenever it ends.

    python -I -S pidns.py --parent PID -- bwrap ...

Why: with --unshare-pid, bwrap clones the sandbox's first process (the init of the sandbox's PID namespace),
and that process arms --die-with-parent (PR_SET_PDEATHSIG) only once the sandbox is set up, milliseconds
later. A bwrap killed in between (a server stopped right after its start, the grader killed, the thread that
started bwrap exiting) leaves that process behind, parented to PID 1: blocked for ever on the go-ahead bwrap
never sent (an eventfd read), or running the sandbox with nobody to stop it. As the init of a PID namespace
it ignores every signal but SIGKILL.

How: this launcher (the caller's process) unshares a PID namespace and forks bwrap into it as its init, with
its death signal armed before the exec; the sandbox's own namespace nests inside. The kernel SIGKILLs every
process of a PID namespace, nested ones included, when its init dies. So: caller dies -> launcher dies ->
bwrap dies -> nothing of the sandbox is left, whatever state it was in, and no clean-up code is involved.
The launcher waits for bwrap and exits with its status. A fresh /proc in a mount namespace of its own lets
bwrap read its child's /proc entry by the pid it knows (a pid of the new namespace). Where this machine does
not allow these namespaces, bwrap runs as before, with a warning on stderr.

Stdlib only, like grader/kernels/standalone/kernel_limits.py; run with -I -S (a few milliseconds).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable

_CLONE_NEWNS = 0x00020000
_CLONE_NEWUSER = 0x10000000
_CLONE_NEWPID = 0x20000000
_MS_NOSUID, _MS_NODEV, _MS_NOEXEC, _MS_REC, _MS_PRIVATE = 0x2, 0x4, 0x8, 0x4000, 0x40000
_PR_SET_PDEATHSIG = 1


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p]
    return libc


def _die_with_parent(libc: ctypes.CDLL, parent_gone: Callable[[], bool]) -> None:
    """SIGKILL for this process when its parent (the thread that forked it) dies; exit now if the parent has
    already gone (the signal would never come). Kept across exec."""
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if parent_gone():
        os._exit(1)


def _closed(fd: int) -> bool:
    """Whether the other end of this pipe is closed (it never carries data)."""
    os.set_blocking(fd, False)
    try:
        return os.read(fd, 1) == b""
    except BlockingIOError:
        return False


def _error(libc: ctypes.CDLL, what: str) -> str:
    return f"{what}: {os.strerror(ctypes.get_errno())}"


def _enter_namespaces(libc: ctypes.CDLL) -> str | None:
    """Children of this process go into a new PID namespace (and a private copy of the mounts). Root creates
    them directly; any other user needs a user namespace to own them, which maps its uid and gid to themselves
    (bwrap inside sees the same unprivileged user as without it). None on success, else what failed."""
    uid, gid = os.getuid(), os.getgid()
    user = os.geteuid() != 0
    if libc.unshare(_CLONE_NEWPID | _CLONE_NEWNS | (_CLONE_NEWUSER if user else 0)) != 0:
        return _error(libc, "unshare")
    try:
        if user:
            for name, text in (
                ("setgroups", "deny"),
                ("uid_map", f"{uid} {uid} 1"),
                ("gid_map", f"{gid} {gid} 1"),
            ):
                with open(f"/proc/self/{name}", "w") as f:
                    f.write(text)
    except OSError as e:
        return f"user namespace: {e}"
    if libc.mount(None, b"/", None, _MS_REC | _MS_PRIVATE, None) != 0:  # no mount of ours reaches the host
        return _error(libc, "mount --make-rprivate /")
    return None


def _namespaces(libc: ctypes.CDLL) -> bool:
    """Enter them if this machine allows it. Tried first in a throwaway child: once made they cannot be left,
    and bwrap must still run without them (a policy may allow user namespaces to bwrap alone, as AppArmor does
    on Ubuntu 24.04)."""
    trial = os.fork()
    if trial == 0:
        problem = _enter_namespaces(libc)
        if problem:
            print(
                f"pidns: sandbox sem namespace de PIDs próprio ({problem}); ele pode sobreviver ao corretor",
                file=sys.stderr,
                flush=True,
            )
        os._exit(1 if problem else 0)
    if os.waitstatus_to_exitcode(os.waitpid(trial, 0)[1]) != 0:
        return False
    problem = _enter_namespaces(libc)
    if problem:  # it worked a moment ago: nothing sensible is left to do
        sys.exit(f"pidns: {problem}")
    return True


def _run_init(libc: ctypes.CDLL, lifeline: int, command: list[str]) -> None:
    """In the forked child, the namespace's init: becomes bwrap. `lifeline`: a pipe the launcher holds open
    (its parent is outside its PID namespace: getppid() says 0 whether the launcher lives or not)."""
    _die_with_parent(libc, lambda: _closed(lifeline))
    os.close(lifeline)
    # the namespace's own /proc: bwrap looks its child up there by pid
    if libc.mount(b"proc", b"/proc", b"proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, None) != 0:
        print(f"pidns: {_error(libc, 'mount /proc')}", file=sys.stderr)
    _exec(command)


def _exec(command: list[str]) -> None:
    for signum in (signal.SIGPIPE, signal.SIGXFSZ):  # Python ignores them; subprocess restores them too
        signal.signal(signum, signal.SIG_DFL)
    try:
        os.execvp(command[0], command)
    except OSError as e:
        print(f"pidns: não foi possível executar {command[0]}: {e}", file=sys.stderr)
        os._exit(127)


def _wait(child: int) -> None:
    """The launcher, once bwrap runs: exit as bwrap did (a signal as 128 + its number, like bwrap itself)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C ends it quietly, and bwrap with it
    code = os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])
    os._exit(code if code >= 0 else 128 - code)


def main(argv: list[str]) -> None:
    if argv[:1] == ["--wait"]:
        _wait(int(argv[1]))
    if "--" not in argv:
        sys.exit("pidns: falta o comando depois de --")
    parent = int(argv[argv.index("--parent") + 1]) if "--parent" in argv[: argv.index("--")] else None
    command = argv[argv.index("--") + 1 :]
    libc = _libc()
    isolated = _namespaces(libc)
    _die_with_parent(libc, lambda: parent is not None and os.getppid() != parent)
    if not isolated:  # bwrap still runs, without this guarantee (its --die-with-parent stays)
        _exec(command)
    lifeline, held = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(held)
        _run_init(libc, lifeline, command)
    os.close(lifeline)
    os.set_inheritable(held, True)  # held open by the waiting launcher below
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):  # bwrap's stdin and stdout are the caller's pipes: only bwrap holds them open
        os.dup2(null, fd)
    # a short command line while it waits, not bwrap's whole one (ps, and whoever looks for the sandboxed command)
    os.execv(sys.executable, [sys.executable, "-I", "-S", os.path.abspath(__file__), "--wait", str(child)])


if __name__ == "__main__":
    main(sys.argv[1:])
