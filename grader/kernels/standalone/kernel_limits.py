"""Tiny launcher: set resource limits, optionally drop root, then exec a command (the kernel).

    python -I -S kernel_limits.py --cpu S --mem MB [--mem-kind as|data] --nproc N --fsize MB
                                  [--uid U --gid G] [--chdir DIR] [--parent PID] -- argv...

It runs inside the bubblewrap sandbox (grader/kernels/sandbox.py binds this one file read-only) and also on its
own for `--no-sandbox` runs, so it is stdlib-only and imports nothing from the `grader` package.

Why each step is here:
- the limits are per process and inherited across fork/exec, so setting them just before exec bounds the
  kernel and everything it starts;
- RLIMIT_NPROC is never enforced for a process whose real uid is host root (the kernel skips the check
  for INIT_USER), not even inside a user namespace that maps to root. So when the grader runs as root,
  bubblewrap starts this launcher as root (with only CAP_SETUID/CAP_SETGID) and the launcher switches to
  an unprivileged uid (`--uid`, "nobody") before the kernel starts;
- RLIMIT_NPROC counts the tasks of one uid per user namespace. After dropping root the launcher enters
  a fresh user namespace of its own (mapping the uid to itself), so each sandbox gets its own count
  instead of sharing one with every other sandbox that runs as "nobody";
- it is set last because a user namespace records the creator's RLIMIT_NPROC as a ceiling for the whole
  namespace: lowering it first would make the parent count (every "nobody" task on the host) the limit;
- without the sandbox nothing else ends the command with the grader (`--parent`, the grader's pid): the
  kernel SIGKILLs it when its parent dies (PR_SET_PDEATHSIG), armed last because dropping root clears it.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import sys
import types

_CLONE_NEWUSER = 0x10000000
_PR_SET_DUMPABLE = 4
_PR_SET_PDEATHSIG = 1
_PR_SET_NO_NEW_PRIVS = 38
_MB = 1024 * 1024


_OPTIONS = {  # option: (attribute, default); all take an integer, except --chdir and --mem-kind
    "--cpu": ("cpu", 0),  # CPU seconds (0: no limit)
    "--mem": ("mem", 0),  # memory in MiB (0: no limit)
    "--mem-kind": ("mem_kind", "as"),  # as: RLIMIT_AS; data: RLIMIT_DATA (CUDA maps huge address ranges)
    "--nproc": ("nproc", 0),  # processes + threads of the uid (0: no limit)
    "--fsize": ("fsize", 0),  # largest file written, MiB (0: no limit)
    "--uid": ("uid", None),  # when root: switch to this uid before exec
    "--gid": ("gid", None),  # when root: switch to this gid before exec
    "--chdir": ("chdir", None),  # working directory, entered after dropping root
    "--parent": ("parent", None),  # die with this process (the grader), which must be our parent
}


def _parse(argv: list[str]) -> types.SimpleNamespace:
    """Hand-rolled rather than argparse: this runs before every kernel, and importing argparse costs
    tens of milliseconds."""
    args = types.SimpleNamespace(**{attr: default for attr, default in _OPTIONS.values()}, command=[])
    i = 0
    while i < len(argv):
        option = argv[i]
        if option == "--":
            args.command = argv[i + 1 :]
            break
        if option not in _OPTIONS or i + 1 >= len(argv):
            sys.exit(f"kernel_limits: bad option {option!r}; see the top of {__file__}")
        attr = _OPTIONS[option][0]
        value = argv[i + 1]
        setattr(args, attr, value if attr in ("chdir", "mem_kind") else int(value))
        i += 2
    if not args.command:
        sys.exit("kernel_limits: missing command after --")
    if args.mem_kind not in ("as", "data"):
        sys.exit("kernel_limits: --mem-kind must be 'as' or 'data'")
    return args


OPEN_FILES = 1024  # the usual default (a kernel uses about a hundred)


def _set(kind: int, value: int) -> None:
    resource.setrlimit(kind, (value, value))


def _libc() -> ctypes.CDLL:
    # the interpreter's own symbols include libc's; ctypes.util.find_library would spawn ldconfig
    return ctypes.CDLL(None, use_errno=True)


def _drop_root(uid: int, gid: int) -> None:
    """Become uid/gid for good (real, effective and saved ids): a real uid other than 0 is what makes
    RLIMIT_NPROC apply, and changing all three ids from 0 clears every capability."""
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)


def _own_user_namespace(libc: ctypes.CDLL) -> str | None:
    """Enter a new user namespace that maps our (unprivileged) uid/gid to themselves, so RLIMIT_NPROC
    is counted for this sandbox alone. Returns None on success, else why it failed (not fatal: the limit
    still applies, only shared with other processes of the same uid)."""
    uid, gid = os.getuid(), os.getgid()
    # dropping root made us non-dumpable, which leaves /proc/self owned by root and the maps unwritable
    libc.prctl(_PR_SET_DUMPABLE, 1, 0, 0, 0)
    if libc.unshare(_CLONE_NEWUSER) != 0:
        return f"unshare(CLONE_NEWUSER): {os.strerror(ctypes.get_errno())}"
    try:
        with open("/proc/self/setgroups", "w") as f:
            f.write("deny")
        with open("/proc/self/uid_map", "w") as f:
            f.write(f"{uid} {uid} 1")
        with open("/proc/self/gid_map", "w") as f:
            f.write(f"{gid} {gid} 1")
    except OSError as e:
        return f"user namespace map: {e}"
    return None


def main(argv: list[str] | None = None) -> None:
    args = _parse(sys.argv[1:] if argv is None else argv)
    libc = _libc()

    _set(resource.RLIMIT_CORE, 0)  # a crashing kernel must not drop a core file of GBs in the workdir
    # each open pipe or socket holds buffers of the machine's, in no process's memory: the grader counts the
    # sockets (grader/kernels/guard.py); pipes past the user's quota get a page each, a bounded number of them
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    _set(resource.RLIMIT_NOFILE, OPEN_FILES if hard == resource.RLIM_INFINITY else min(OPEN_FILES, hard))
    if args.cpu > 0:
        # soft limit: SIGXCPU (kills Python); hard limit a bit later: SIGKILL even if SIGXCPU is caught
        resource.setrlimit(resource.RLIMIT_CPU, (args.cpu, args.cpu + 2))
    if args.mem > 0:
        _set(resource.RLIMIT_DATA if args.mem_kind == "data" else resource.RLIMIT_AS, args.mem * _MB)
    if args.fsize > 0:
        # Python ignores SIGXFSZ, so an oversized write fails with OSError(EFBIG) instead of a kill
        _set(resource.RLIMIT_FSIZE, args.fsize * _MB)

    if os.geteuid() == 0 and args.uid is not None:
        _drop_root(args.uid, args.gid if args.gid is not None else args.uid)
        problem = _own_user_namespace(libc)
        if problem:
            print(f"kernel_limits: {problem}; RLIMIT_NPROC is shared by uid {args.uid}", file=sys.stderr)

    if args.nproc > 0:
        _set(resource.RLIMIT_NPROC, args.nproc)
    if args.chdir:
        # here, not with bwrap --chdir: bwrap would enter it as a root without CAP_DAC_OVERRIDE, which
        # a working directory owned by the sandbox uid (mode 0700) refuses
        os.chdir(args.chdir)

    # setuid programs must not give privileges back (bubblewrap sets this too; --no-sandbox runs need it)
    libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    if args.parent is not None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # kept across exec
        if os.getppid() != args.parent:  # already gone: the signal would never come
            sys.exit("kernel_limits: the grader that started this is gone")
    try:
        os.execvp(args.command[0], args.command)
    except OSError as e:
        print(f"kernel_limits: cannot run {args.command[0]}: {e}", file=sys.stderr)
        sys.exit(127)


if __name__ == "__main__":
    main()
