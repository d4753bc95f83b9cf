"""What a process that runs a student's code may no longer do, set by the process on itself before the student's
first line (the zygote's kernels and replays, grader/kernels/standalone/zygote.py). Stdlib only; irrevocable.

- Landlock (Linux 5.13+): no file under /proc or /sys may be opened for writing (`/proc/self/clear_refs` would
  reset the peak memory the grader reads from outside; `/proc/<pid>/mem` of a sibling process would change it).
- seccomp: no ptrace, no process_vm_writev (no writing another process's memory), and no huge pages (prctl
  PR_SET_THP_DISABLE, madvise MADV_HUGEPAGE / MADV_COLLAPSE, process_madvise): one page fault then counts
  4 KiB, as the grader's memory measure assumes (grader/kernels/meter.py). Nor the kernel's keyrings
  (add_key, request_key, keyctl) or POSIX message queues (mq_open): they belong to the sandbox's user and IPC
  namespaces, which outlive a submission, so what one student put there the next one graded in the same slot
  could read (the reset between them kills processes and empties files and System V IPC, not those). Nor
  memory that no process maps and no tmpfs caps (memfd_create, System V shmget and msgget, a shared anonymous
  mmap, whose pages stay behind when a process drops them or exits), nor pages that arrive without a page
  fault (userfaultfd's UFFDIO_COPY, io_uring): the grader's bound on a submission's memory reads what its
  processes hold and the pages they fault in (grader/kernels/guard.py).
  Nor a mount or a namespace of its own (unshare, setns, clone with a CLONE_NEW* flag, the new mount API:
  fsopen, fsmount...), where a tmpfs nobody sees would hold memory; nor extended attributes (setxattr), which a
  tmpfs keeps beside its size cap. clone3 is refused as not implemented (its flags are out of the filter's
  reach), and glibc falls back to clone. Nor socket buffers larger than the machine's default (setsockopt
  SO_SNDBUF, SO_RCVBUF): the grader charges each socket of the sandbox that default, since what they hold is in
  no process's memory; and sockets of the Unix and netlink families only (a TCP socket's buffers grow on their
  own, to megabytes, on the sandbox's loopback; the sandbox has no network anyway). Only this machine's
  own calling convention: a 32-bit call (int 0x80) or an x32 one would reach the kernel by other numbers that
  the filter does not look at, so every such call is refused.
- no huge pages to begin with (PR_SET_THP_DISABLE).

Each step that this machine does not offer is skipped (an old kernel, another architecture); `confine()` says
which were set.
"""

from __future__ import annotations

import ctypes
import os
import platform

_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_THP_DISABLE = 41
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2

_LANDLOCK_WRITE_FILE = 1 << 1
_SYS_LANDLOCK = (
    444,
    445,
    446,
)  # create_ruleset, add_rule, restrict_self: the same numbers on every architecture

# architecture -> its AUDIT_ARCH, the numbers of the calls denied outright (ptrace, process_vm_writev,
# process_madvise, add_key, request_key, keyctl, mq_open, memfd_create, shmget, msgget, userfaultfd,
# io_uring_setup, setxattr, lsetxattr, fsetxattr, unshare, setns), and of those whose arguments are looked at
_SYSCALLS = {
    "x86_64": {
        "arch": 0xC000003E,
        "denied": (101, 311, 440, 248, 249, 250, 240, 319, 29, 68, 323, 425, 188, 189, 190, 272, 308),
        "prctl": 157,
        "madvise": 28,
        "mmap": 9,
        "clone": 56,
        "setsockopt": 54,
        "socket": (41, 53),  # socket, socketpair
    },
    "aarch64": {
        "arch": 0xC00000B7,
        "denied": (117, 271, 440, 217, 218, 219, 180, 279, 194, 186, 282, 425, 5, 6, 7, 97, 268),
        "prctl": 167,
        "madvise": 233,
        "mmap": 222,
        "clone": 220,
        "setsockopt": 208,
        "socket": (198, 199),
    },
}
# the same numbers on every architecture: open_tree, move_mount, fsopen, fsconfig, fsmount, fspick,
# mount_setattr, setxattrat, open_tree_attr (the new mount API: a tmpfs of one's own, never attached anywhere)
_DENIED_EVERYWHERE = (428, 429, 430, 431, 432, 433, 442, 463, 467)
_CLONE3 = 435  # refused as "not implemented": glibc then falls back to clone, whose flags the filter can read
# CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET: no namespace of its own
_CLONE_NAMESPACES = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000
_MAP_SHARED_ANONYMOUS = 0x01 | 0x20  # MAP_SHARED (MAP_SHARED_VALIDATE has the bit too) | MAP_ANONYMOUS
_X32_SYSCALL_BIT = 0x40000000  # x86_64's x32 calls: the same AUDIT_ARCH, other numbers (none on aarch64)
_MADV_HUGEPAGE, _MADV_COLLAPSE = 14, 25
_SOL_SOCKET = 1
_AF_UNIX, _AF_NETLINK = 1, 16  # (netlink: libzmq lists the interfaces through it, getifaddrs)
_SOCKET_BUFFERS = (7, 8, 32, 33)  # SO_SNDBUF, SO_RCVBUF, SO_SNDBUFFORCE, SO_RCVBUFFORCE


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


class _Filter(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_uint16),
        ("jt", ctypes.c_uint8),
        ("jf", ctypes.c_uint8),
        ("k", ctypes.c_uint32),
    ]


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_Filter))]


def confine() -> list[str]:
    """Confine this process (and what it starts); the steps set."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    done = []
    if libc.prctl(_PR_SET_THP_DISABLE, 1, 0, 0, 0) == 0:
        done.append("thp")
    libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)  # required by both below, for an unprivileged process
    if _no_writes_under_proc(libc):
        done.append("landlock")
    if _seccomp(libc):
        done.append("seccomp")
    return done


def _no_writes_under_proc(libc) -> bool:
    create, add, restrict = _SYS_LANDLOCK
    handled = ctypes.c_uint64(_LANDLOCK_WRITE_FILE)
    ruleset = libc.syscall(create, ctypes.byref(handled), ctypes.sizeof(handled), 0)
    if ruleset < 0:
        return False
    try:
        for name in os.listdir("/"):
            if name in ("proc", "sys"):
                continue
            try:
                parent = os.open(os.path.join("/", name), os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            rule = _PathBeneath(_LANDLOCK_WRITE_FILE, parent)
            libc.syscall(add, ruleset, 1, ctypes.byref(rule), 0)  # LANDLOCK_RULE_PATH_BENEATH
            os.close(parent)
        return libc.syscall(restrict, ruleset, 0) == 0
    finally:
        os.close(ruleset)


def _seccomp(libc) -> bool:
    known = _SYSCALLS.get(platform.machine())
    if known is None:
        return False
    arch, denied, prctl, madvise, mmap = (known[k] for k in ("arch", "denied", "prctl", "madvise", "mmap"))
    clone, setsockopt, sockets = known["clone"], known["setsockopt"], known["socket"]
    # BPF_LD|BPF_W|BPF_ABS, BPF_JMP|BPF_JEQ|BPF_K, BPF_JMP|BPF_JGE|BPF_K, BPF_RET|BPF_K, BPF_ALU|BPF_AND|BPF_K
    ld, jeq, jge, ret, and_ = 0x20, 0x15, 0x35, 0x06, 0x54
    allow, deny = 0x7FFF0000, 0x00050000 | 1  # SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO | EPERM
    absent = 0x00050000 | 38  # SECCOMP_RET_ERRNO | ENOSYS
    low_arg = [16 + 8 * i for i in range(6)]  # seccomp_data.args[i], low 32 bits (little-endian)
    # (code, jump if true, jump if false, k), the jumps by label; resolved to offsets below
    labeled = [
        (ld, None, None, 4),  # arch
        (jeq, "number", "deny", arch),  # another calling convention (a 32-bit int 0x80): refused
        ("number", ld, None, None, 0),  # the syscall's number
        (jge, "deny", None, _X32_SYSCALL_BIT),
        *[(jeq, "deny", None, number) for number in (*denied, *_DENIED_EVERYWHERE)],
        (jeq, "absent", None, _CLONE3),
        (jeq, "clone", None, clone),
        (jeq, "setsockopt", None, setsockopt),
        *[(jeq, "socket", None, number) for number in sockets],
        (jeq, "prctl", None, prctl),
        (jeq, "mmap", None, mmap),
        (jeq, "madvise", "allow", madvise),
        ("mmap", ld, None, None, low_arg[3]),  # mmap's flags
        (and_, None, None, _MAP_SHARED_ANONYMOUS),
        (jeq, "deny", "allow", _MAP_SHARED_ANONYMOUS),
        ("clone", ld, None, None, low_arg[0]),  # clone's flags
        (and_, None, None, _CLONE_NAMESPACES),
        (jeq, "allow", "deny", 0),
        ("socket", ld, None, None, low_arg[0]),  # socket's and socketpair's family
        (jeq, "allow", None, _AF_UNIX),
        (jeq, "allow", "deny", _AF_NETLINK),
        ("setsockopt", ld, None, None, low_arg[1]),  # setsockopt's level
        (jeq, None, "allow", _SOL_SOCKET),
        (ld, None, None, low_arg[2]),  # its option
        *[(jeq, "deny", None, option) for option in _SOCKET_BUFFERS],
        (jeq, "allow", "allow", 0),  # (any other option: allowed, either way)
        ("prctl", ld, None, None, low_arg[0]),  # prctl's option
        (jeq, "deny", "allow", _PR_SET_THP_DISABLE),
        ("madvise", ld, None, None, low_arg[2]),  # madvise's advice
        (jeq, "deny", None, _MADV_HUGEPAGE),
        (jeq, "deny", "allow", _MADV_COLLAPSE),
        ("absent", ret, None, None, absent),
        ("deny", ret, None, None, deny),
        ("allow", ret, None, None, allow),
    ]
    rows = [row[1:] if isinstance(row[0], str) else row for row in labeled]
    where = {row[0]: index for index, row in enumerate(labeled) if isinstance(row[0], str)}
    program = []
    for index, (code, true, false, k) in enumerate(rows):
        # a jump counts from the next instruction; None: fall through to it
        jt, jf = ((where[label] - index - 1) if label else 0 for label in (true, false))
        assert 0 <= jt < 256 and 0 <= jf < 256, index
        program.append((code, jt, jf, k))
    filters = (_Filter * len(program))(*[_Filter(*row) for row in program])
    fprog = _Program(len(program), filters)
    return libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) == 0
