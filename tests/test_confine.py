"""What a confined process (the student's kernel and replay: grader/kernels/standalone/inkernel/confine.py) may no
longer do, tried in a real process: the calls the seccomp filter refuses, by every calling convention."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import pytest

INKERNEL = Path(__file__).resolve().parents[1] / "grader" / "kernels" / "standalone"

# Run confined; prints one "name result errno" line per try (result -1 and errno 1: refused with EPERM).
PROBE = r"""
import ctypes, os, subprocess, sys, threading
sys.path.insert(0, sys.argv[1])
from inkernel import confine
print("confined", sorted(confine.confine()))
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def tried(name, number, *args):
    ctypes.set_errno(0)
    print(name, libc.syscall(number, *args), ctypes.get_errno())
ADD_KEY, KEYCTL, MEMFD, SHMGET, MSGGET, MQ_OPEN, USERFAULTFD, IO_URING_SETUP, GETPID = {
    "x86_64": (248, 250, 319, 29, 68, 240, 323, 425, 39),
    "aarch64": (217, 219, 279, 194, 186, 180, 282, 425, 172),
}[os.uname().machine]
tried("add_key", ADD_KEY, b"user", b"recado", b"x", 1, -4)
tried("keyctl", KEYCTL, 0, -4, 0)  # KEYCTL_GET_KEYRING_ID of the user keyring
tried("memfd_create", MEMFD, b"escondido", 0)
tried("shmget", SHMGET, 0, 1 << 20, 0o1600)  # IPC_PRIVATE, IPC_CREAT | 0600
tried("msgget", MSGGET, 0, 0o1600)
tried("mq_open", MQ_OPEN, b"recado", 0o102, 0o600, None)
tried("userfaultfd", USERFAULTFD, 0o2000000 | 1)  # O_CLOEXEC | UFFD_USER_MODE_ONLY
params = ctypes.create_string_buffer(120)
tried("io_uring_setup", IO_URING_SETUP, 8, params)
SETXATTR, UNSHARE, SETNS, CLONE = {"x86_64": (188, 272, 308, 56), "aarch64": (5, 97, 268, 220)}[os.uname().machine]
import tempfile as _t
with _t.NamedTemporaryFile() as marked:
    tried("setxattr", SETXATTR, marked.name.encode(), b"user.recado", b"x" * 64, 64, 0)
NEWUSER, NEWNS = 0x10000000, 0x00020000
tried("unshare", UNSHARE, NEWUSER | NEWNS)
with open(f"/proc/{os.getpid()}/ns/mnt") as own:
    tried("setns", SETNS, own.fileno(), 0)
tried("fsopen", 430, b"tmpfs", 0)
tried("fsmount", 432, -1, 0, 0)
tried("clone newuser", CLONE, NEWUSER | 17, 0, 0, 0, 0)  # | SIGCHLD; refused, so no child runs this
ctypes.set_errno(0)
print("clone3", libc.syscall(435, None, 0), ctypes.get_errno())  # ENOSYS: glibc falls back to clone
import socket
pair = socket.socketpair()
try:
    pair[0].setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    print("so_sndbuf allowed")
except PermissionError as error:
    print("so_sndbuf", -1, error.errno)
pair[0].setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)  # any other option: allowed
for name, family in (("tcp socket", socket.AF_INET), ("tcp6 socket", socket.AF_INET6), ("packet socket", 17)):
    try:
        socket.socket(family, socket.SOCK_STREAM if family < 17 else socket.SOCK_RAW).close()
        print(name, "allowed")
    except PermissionError as error:
        print(name, -1, error.errno)
socket.socket(16, socket.SOCK_RAW).close()  # netlink (what libzmq uses to list interfaces): allowed
child = os.fork()  # clone without namespaces: allowed
if child == 0:
    os._exit(7)
print("fork", os.waitpid(child, 0)[1] >> 8)
print("subprocess", subprocess.run([sys.executable, "-c", "print(6 * 7)"], capture_output=True, text=True).stdout.strip())
import mmap, tempfile
try:
    mmap.mmap(-1, 4096)  # MAP_SHARED | MAP_ANONYMOUS: its pages outlive what maps them
    print("shared anonymous mmap allowed")
except PermissionError as error:
    print("shared anonymous mmap", -1, error.errno)
private = mmap.mmap(-1, 4096, flags=mmap.MAP_PRIVATE)  # what malloc and numpy use: allowed
with tempfile.TemporaryFile() as backing:  # a file's pages (a tmpfs, capped): allowed
    backing.truncate(4096)
    shared_file = mmap.mmap(backing.fileno(), 4096)
if os.uname().machine == "x86_64":
    tried("x32 getpid", 0x40000000 | GETPID)
    # getpid through int 0x80 (the i386 calling convention), from code mapped below 4 GiB
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
    page = libc.mmap(None, 4096, 7, 0x02 | 0x20 | 0x40, -1, 0)  # PRIVATE | ANONYMOUS | 32BIT
    code = bytes([0x53, 0xB8, 20, 0, 0, 0, 0xCD, 0x80, 0x48, 0x63, 0xC0, 0x5B, 0xC3])  # mov eax, 20; int 0x80
    ctypes.memmove(page, code, len(code))
    print("i386 getpid", ctypes.CFUNCTYPE(ctypes.c_long)(page)())
# what a notebook needs still works
thread = threading.Thread(target=lambda: None)
thread.start()
thread.join()
print("ok", os.getpid() > 0, len(open(sys.executable, "rb").read(16)))
"""


def test_the_filter_refuses_every_calling_convention_and_the_hidden_memory_calls():
    machine = platform.machine()
    if machine not in ("x86_64", "aarch64"):
        pytest.skip(f"o filtro não conhece {machine}")
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(INKERNEL)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    if "seccomp" not in lines[0]:
        pytest.skip(f"seccomp indisponível nesta máquina: {lines[0]}")
    results = dict(
        line.rsplit(" ", 2)[0:1] + [" ".join(line.rsplit(" ", 2)[1:])]
        for line in lines[1:-1]
        if not line.startswith(("x32", "i386", "clone3", "fork", "subprocess"))
    )
    refused = {name: value for name, value in results.items() if value != "-1 1"}
    assert not refused, refused
    if machine == "x86_64":
        assert "x32 getpid -1 1" in lines
        assert "i386 getpid -1" in lines  # -EPERM, as the i386 convention returns it
    assert "clone3 -1 38" in lines and "fork 7" in lines and "subprocess 42" in lines
    assert {
        "setxattr",
        "unshare",
        "setns",
        "fsopen",
        "fsmount",
        "clone newuser",
        "so_sndbuf",
        "tcp socket",
        "tcp6 socket",
        "packet socket",
    } <= set(results)
    assert lines[-1] == "ok True 16"
