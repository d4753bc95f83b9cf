"""Warm kernels: one long-lived sandbox per worker slot whose Python has already imported torch, numpy and
matplotlib (grader/kernels/standalone/zygote.py) and forks a fresh kernel for each submission.

A cold kernel spends 4-8 s importing torch before the student's first line runs; a forked one starts in a
fraction of a second. Isolation between the submissions of a slot is kept by construction: the zygote never
runs student code, and after each kernel `reset` kills every other process in the sandbox and empties
its private /tmp and /dev/shm, and this side empties the working directory and the socket directory. A
kernel that breaks its slot (kills the zygote, leaves something unkillable) makes the slot start over.

jupyter_client drives the forked kernel as any other: the provisioner below launches it by asking the
zygote to fork, and polls, signals and kills it through the zygote (the kernel's pid lives in the
sandbox's pid namespace, not ours).
"""

from __future__ import annotations

import asyncio
import atexit
import fcntl
import itertools
import json
import logging
import os
import secrets
import select
import shutil
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from queue import Empty
from typing import Any

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.connect import write_connection_file
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner

from grader.errors import MachineError
from grader.kernels import meter, sandbox
from grader.kernels.standalone import zygote

# under grader.kernels, silenced by execute.py: for a developer who turns it on
LOG = logging.getLogger("grader.kernels.warm")
READY_TIMEOUT_S = 180  # importing torch on a loaded machine
CALL_TIMEOUT_S = 30  # a zygote that does not answer this fast is stopped, or frozen by a student
STOP_CHECK_S = 0.25  # how often a call that waits looks whether a kernel stopped its zygote (SIGSTOP)


# what the student's kernels run besides the notebook (the test kernels run inkernel.runtime)
STUDENT_MODULE = "inkernel.agent"


class ZygoteError(MachineError):
    """A kernel server died, stopped answering or could not vouch for a clean slot."""


@dataclass(frozen=True)
class WarmKey:
    """What a slot's sandbox is started with; a job with other settings needs another zygote."""

    use_sandbox: bool
    limits: sandbox.Limits
    gpu: str | None
    env: tuple[tuple[str, str], ...]
    preload: tuple[str, ...]
    test_preload: tuple[
        str, ...
    ] = ()  # what the test kernel's server imports (grader/kernels/standalone/inkernel/runtime.py)


def warm_key(settings) -> WarmKey:
    """What a warm server must have been started with to run a kernel for `settings` (an
    execute.ExecutionSettings, untyped here: execute imports this module)."""
    env = sandbox.kernel_env(Path("/"), settings.threads, settings.gpu)
    for key in ("HOME", "MPLCONFIGDIR"):  # the server's own: its working directory, the font cache
        env.pop(key)
    return WarmKey(
        settings.use_sandbox,
        settings.limits,
        settings.gpu,
        tuple(sorted(env.items())),
        settings.preload,
        settings.test_preload,
    )


class ForkServer:
    """Host side of one zygote: starts it, forks kernels from it, resets the slot between them. `module`: what
    its kernels run besides the notebook (grader/inkernel), imported once here too; `writable`/`readonly`:
    host folders shown inside its sandbox (the test kernel's channel)."""

    def __init__(
        self,
        key: WarmKey,
        module: str = "",
        writable: tuple[Path, ...] = (),
        readonly: tuple[Path, ...] = (),
        preload: tuple[str, ...] | None = None,
    ):
        self.key, self.module, self.writable, self.readonly = key, module, tuple(writable), tuple(readonly)
        self.preload = key.preload if preload is None else preload
        self.root = sandbox.short_temp_dir("gw-")
        self.workdir = self.root / "w"
        self.socket_dir = self.root / "s"
        self.workdir.mkdir()
        self.socket_dir.mkdir()
        self._names = itertools.count()
        self._lock = threading.Lock()
        self._buffer = b""
        self._access = sandbox.workdir_access(self.root, self.workdir, self.socket_dir)
        self._access.__enter__()
        self._stderr = StderrTail()
        try:
            self.proc = subprocess.Popen(
                self._command(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr.write_fd,
                bufsize=0,
                **self._popen_kwargs(),
            )
        finally:
            self._stderr.started()
        self.ready = False
        self._lessons: tuple[str, ...] = ()  # cells to parse in the zygote before its next fork (`teach`)
        self.learned = 0  # how many it parsed
        self.isolated = False  # reset() can kill every process of the slot (sandboxed)
        self.stopped = False
        self._zygote_pid: int | None = None  # the zygote's pid on this machine, once it said its own
        # the next submission's kernel, forked and starting while the grader is busy elsewhere
        self.spare: tuple[str, ForkedKernel] | None = None

    # -- starting and stopping ------------------------------------------------------------------------

    def _env(self) -> dict[str, str]:
        env = dict(self.key.env)
        env.update(HOME=str(self.workdir), JPY_PARENT_PID="1")
        if not self.key.use_sandbox:
            env = {**os.environ, **env, "IPYTHONDIR": str(self.root / "ipython")}
            cache = sandbox.matplotlib_cache_dir()
            if cache is not None:
                env["MPLCONFIGDIR"] = str(cache)
        return env

    def _command(self) -> list[str]:
        options = ["--imports", ",".join([*self.preload, *([self.module] if self.module else [])])]
        gpu = self.key.gpu is not None
        if not self.key.use_sandbox:
            return sandbox.limits_command(
                [sys.executable, str(sandbox.ZYGOTE_HOST), *options], self.key.limits, gpu=gpu
            )
        # the working directory is the sandbox's own size-capped tmpfs, emptied by the zygote
        options += ["--sandboxed", "--workdir", str(self.workdir)]
        return sandbox.wrap_command(
            [sys.executable, sandbox.ZYGOTE_INSIDE, *options],
            self.workdir,
            self.key.limits,
            gpu=gpu,
            writable_paths=[self.socket_dir, *self.writable],
            readonly_paths=self.readonly,
            extra_env=self._env(),
            private_workdir=True,
        )

    def _popen_kwargs(self) -> dict[str, Any]:
        # a session of its own: Ctrl-C at the terminal reaches the grader alone, which stops its servers itself
        if self.key.use_sandbox:
            return {"start_new_session": True}  # bwrap clears the environment and enters workdir itself
        return {"cwd": str(self.workdir), "env": self._env(), "start_new_session": True}

    def wait_ready(self) -> None:
        """Block until the zygote has imported everything (seconds) and parsed what it was taught; raises
        ZygoteError if it died."""
        if self.ready and not self._lessons:
            return
        with self._lock:
            if not self.ready:  # another thread may have read the greeting while this one waited
                reply = self._read(READY_TIMEOUT_S)
                self.ready, self.isolated = True, bool(reply.get("isolated"))
                pid = reply.get("pid")
                if isinstance(pid, int):
                    self._zygote_pid = meter.host_pid(self.proc.pid, pid) if self.key.use_sandbox else pid
                if reply.get("failed"):  # its kernels import those themselves, and fail where they do
                    LOG.info("the kernel server could not preload: %s", ", ".join(reply["failed"]))
            lessons, self._lessons = self._lessons, ()
        if lessons:
            self.learned = self.call({"op": "learn", "module": self.module, "texts": list(lessons)})[
                "learned"
            ]

    def teach(self, texts: tuple[str, ...]) -> None:
        """Cells its kernels will run as they are (the assignment's test cells, its given cells): the zygote parses
        them once, before its next fork, and each kernel takes the trees instead of parsing them again
        (grader/kernels/standalone/inkernel/fastpath.py)."""
        if self.module:
            with self._lock:
                self._lessons = tuple(texts)

    def alive(self) -> bool:
        return not self.stopped and self.proc.poll() is None

    def stop(self) -> None:
        self.stopped = True
        if self.proc.poll() is None:
            try:
                if self.key.use_sandbox:
                    raise OSError  # nothing inside to save: bwrap's death takes the whole sandbox with it
                self.proc.stdin.close()  # the zygote's loop ends: it exits, and its spare kernel with it
                self.proc.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        if self._access is not None:
            access, self._access = self._access, None
            access.__exit__(None, None, None)
        shutil.rmtree(self.root, ignore_errors=True)

    def startup_error(self) -> str:
        """The last line the zygote (or a kernel before ipykernel captured its output) wrote on stderr."""
        if self.stopped:
            return "servidor parado"
        return self._stderr.last_line() or f"código de saída {self.proc.poll()}"

    # -- talking to the zygote ------------------------------------------------------------------------

    def _read(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ZygoteError("o servidor de kernels não respondeu")
            if not select.select([fd], [], [], min(left, STOP_CHECK_S))[0]:
                # Nothing legitimate stops a zygote; a kernel can (its server runs as the same user), and by
                # stopping and resuming it, keep every call just inside the time limit
                if self._zygote_stopped():
                    raise ZygoteError("o servidor de kernels foi parado (SIGSTOP) por um kernel")
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                raise ZygoteError(f"o servidor de kernels terminou ({self.startup_error()})")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def _zygote_stopped(self) -> bool:
        """Whether the zygote is stopped (state T, or t), from its /proc entry on this machine."""
        if self._zygote_pid is None:
            return False
        try:
            return meter.stat_fields(self._zygote_pid)[0] in ("T", "t")
        except (OSError, IndexError):
            return False

    def call(self, request: dict, timeout: float = CALL_TIMEOUT_S) -> dict:
        self.wait_ready()
        with self._lock:
            try:
                self.proc.stdin.write((json.dumps(request) + "\n").encode())
                self.proc.stdin.flush()
            except (OSError, ValueError) as e:
                raise ZygoteError(f"o servidor de kernels terminou ({e})") from e
            try:
                return self._read(timeout)
            except ZygoteError:
                self.proc.kill()  # a late answer would be read as the next one's: no next one
                raise

    # -- one submission -------------------------------------------------------------------------------

    def new_connection_file(self) -> str:
        return str(self.socket_dir / f"k{next(self._names)}.json")

    @property
    def zygote_pid(self) -> int | None:
        """The zygote's pid on this machine (None before it is ready): the memory guard counts what is below it
        and the orphans of its sandbox, not the zygote (grader/kernels/guard.py)."""
        return self._zygote_pid

    def host_pid(self, pid: int) -> int | None:
        """A kernel's pid on this machine (sandboxed, `pid` is its pid in the sandbox's own namespace)."""
        return meter.host_pid(self.proc.pid, pid) if self.key.use_sandbox else pid

    def spawn_replay(self, socket_path: Path, secret: str, frame_bytes: int) -> int:
        """Fork the submission's replay (grader/kernels/standalone/zygote.py), which connects to the test kernel at
        `socket_path` and says `secret`; its pid on this machine (None if it could not be found)."""
        reply = self.call(
            {
                "op": "replay",
                "socket": str(socket_path),
                "secret": secret,
                "frame_bytes": frame_bytes,
                "cwd": str(self.workdir),
                "env": dict(self.key.env),
            }
        )
        return self.host_pid(reply["pid"])

    def spawn(self, connection_file: str) -> ForkedKernel:
        reply = self.call(
            {
                "op": "spawn",
                "connection_file": connection_file,
                "cwd": str(self.workdir),
                "oom_first": self.module == STUDENT_MODULE,  # (grader/kernels/standalone/zygote.py)
            }
        )
        return ForkedKernel(self, reply["pid"])

    def prepare_spare(self) -> None:
        """Fork the next kernel now, with a connection file of our own, so that it initializes (half a second
        of ipykernel setup) while the grader scores and records; a slot holds at most one kernel at a time."""
        connection_file = self.new_connection_file()
        write_connection_file(
            connection_file,
            transport="ipc",
            ip=connection_file[: -len(".json")] + "-ipc",
            key=secrets.token_hex(32).encode(),
            shell_port=1,
            iopub_port=2,
            stdin_port=3,
            hb_port=4,
            control_port=5,
            signature_scheme="hmac-sha256",
            kernel_name="python3",
        )
        if self.key.use_sandbox:
            sandbox.connection_file_for_kernel(connection_file)
        self.spare = connection_file, self.spawn(connection_file)

    def take_spare(self) -> tuple[str, ForkedKernel] | None:
        spare, self.spare = self.spare, None
        return spare

    def reset(self) -> None:
        """After a kernel: nothing of it may remain for the next submission; raises ZygoteError if the
        zygote cannot guarantee that (the caller then stops this server)."""
        self.spare = None  # a spare not taken (the job never started its kernel) dies with the rest
        reply = self.call({"op": "reset"})
        if not reply.get("clean", False):
            raise ZygoteError(f"a limpeza entre submissões falhou: {'; '.join(reply.get('left', []))}")
        if not self._stderr.forget():
            raise ZygoteError(
                "a limpeza entre submissões falhou: a saída de erro do servidor não se esvaziou"
            )
        for directory in (self.workdir, self.socket_dir):  # (workdir: empty here when sandboxed)
            os.chmod(directory, 0o700)  # a student may have locked it (without the sandbox)
            if not zygote.empty(str(directory), set()):
                raise ZygoteError(f"a limpeza entre submissões falhou: {sorted(os.listdir(directory))[:5]}")
        self.prepare_spare()


class StderrTail:
    """A zygote's stderr, which its kernels and replays inherit: a pipe that a thread drains, keeping the last
    4 KiB for `startup_error`. Not a file: a kernel could read back, through it, what the kernel of an earlier
    submission wrote there (the red team passed an answer that way). What one writes is drained at once, and
    `forget`, between two submissions, sees the pipe empty and drops what was kept."""

    def __init__(self):
        self._read_fd, self.write_fd = os.pipe()
        self._tail = bytearray()
        self._lock = threading.Lock()
        self._closed = False  # (under the lock: the read end is closed, its number maybe reused)
        threading.Thread(target=self._drain, name="stderr-do-servidor", daemon=True).start()

    def started(self) -> None:
        """The server holds the write end now: ours closed, the drain ends when the last writer is gone."""
        os.close(self.write_fd)

    def _drain(self) -> None:
        try:
            while chunk := os.read(self._read_fd, 65536):
                with self._lock:
                    self._tail += chunk
                    del self._tail[:-4096]
                if len(chunk) == 65536:  # a flood: at most ~6 MB/s of this process's time (the writer waits)
                    time.sleep(0.01)
        finally:
            with self._lock:
                self._closed = True
                os.close(self._read_fd)

    def last_line(self) -> str:
        with self._lock:
            lines = self._tail.decode(errors="replace").strip().splitlines()
        return lines[-1] if lines else ""

    def forget(self, wait_s: float = 2.0) -> bool:
        """Drop what was kept, once nothing is left unread in the pipe; False if it did not empty in time."""
        deadline = time.monotonic() + wait_s
        while True:
            with self._lock:
                waiting = 0 if self._closed else self._unread()
            if not waiting:
                break
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        with self._lock:
            self._tail.clear()
        return True

    def _unread(self) -> int:
        return struct.unpack("i", fcntl.ioctl(self._read_fd, termios.FIONREAD, b"\0" * 4))[0]


class ForkedKernel:
    """The subprocess.Popen surface jupyter_client's LocalProvisioner uses, for a kernel forked by a zygote."""

    stdin = stdout = stderr = None

    def __init__(self, server: ForkServer, pid: int):
        self.server, self.pid, self.returncode = server, pid, None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                self.returncode = self.server.call({"op": "poll"})["returncode"]
            except ZygoteError:
                self.returncode = self._orphan_poll()
        return self.returncode

    def _orphan_poll(self) -> int | None:
        """The zygote is gone. Sandboxed, the kernel went with it; without the sandbox (no pid namespace) the
        kernel may live on as an orphan, whose pid is then a pid of this machine."""
        if self.server.key.use_sandbox:
            return -signal.SIGKILL
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return -signal.SIGKILL
        return None

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired("kernel", timeout)
            time.sleep(0.05)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        try:
            self.server.call({"op": "signal", "signum": int(signum)})
        except ZygoteError:
            if not self.server.key.use_sandbox:  # an orphan kernel (see _orphan_poll): signal it ourselves
                try:
                    os.killpg(self.pid, signum)
                except ProcessLookupError:
                    pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class _ForkProvisioner(LocalProvisioner):
    """LocalProvisioner (connection file, ports, cleanup) with the launch done by the zygote."""

    # Every call to the zygote goes from a thread: a zygote slow to answer then holds only this slot, never the
    # event loop that feeds every slot's kernels (one a kernel stopped with SIGSTOP is given up at once: _read).

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> dict:
        km = self.parent
        self.process = km.spare_process or await asyncio.to_thread(km.server.spawn, km.connection_file)
        self.pid, self.pgid = self.process.pid, None  # signals go through the zygote
        return self.connection_info

    async def poll(self) -> int | None:
        """jupyter_client's liveness check (nbclient's, every second of a running cell), from a thread."""
        return await asyncio.to_thread(self.process.poll) if self.process else 0

    async def send_signal(self, signum: int) -> None:
        """Through the zygote, from a thread: a SIGKILL waits there until the kernel is reaped, 27 ms on average
        for a kernel holding torch's memory (1.3 s of the class of 24, two kernels per submission), during which
        the event loop fed no other worker's kernel."""
        if self.process:
            await asyncio.to_thread(self.process.send_signal, signum)


class ReadyFastClient(AsyncKernelClient):
    """jupyter_client's wait_for_ready with short waits: it waits 0.2 s for IOPub after the kernel_info reply
    and then drains IOPub until 0.2 s pass without a message, 0.4 s or more per kernel; a forked kernel is
    up in a few milliseconds. Same protocol: kernel_info until the reply and an IOPub message both come. The
    status messages left on IOPub are not drained (10 ms more per kernel): nbclient and execute_interactive
    skip messages whose parent is not their request."""

    async def _async_wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (timeout if timeout is not None else float("inf"))
        while True:
            self.kernel_info()
            try:
                msg = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                msg = None
            if msg is not None and msg["msg_type"] == "kernel_info_reply":
                try:
                    await self.iopub_channel.get_msg(timeout=0.05)  # IOPub subscribed: it sees our traffic
                except Empty:
                    pass
                else:
                    self._handle_kernel_info_reply(msg)
                    break
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")

    wait_for_ready = _async_wait_for_ready


class WarmKernelManager(AsyncKernelManager):
    """A kernel manager for nbclient whose kernel is forked by `server`: `NotebookClient(nb, km=...)`."""

    def __init__(self, server: ForkServer, **kwargs: Any):
        super().__init__(
            transport="ipc",
            kernel_name="python3",
            client_class="grader.kernels.warm.ReadyFastClient",
            **kwargs,
        )
        self.server = server
        spare = server.take_spare()
        self.spare_process = spare[1] if spare else None
        if spare:  # already running: take its connection file (same key and sockets) as ours
            self.connection_file = spare[0]
            self.load_connection_file(spare[0])
            # and never rewrite it: jupyter_client deletes before writing, and a kernel still starting that
            # finds no file makes up a connection (and key) of its own, unreachable from here
            self._connection_file_written = True
        else:
            self.connection_file = server.new_connection_file()

    @property
    def kernel_spec(self) -> KernelSpec:
        if self._kernel_spec is None:
            self._kernel_spec = sandbox.ipykernel_spec()
        return self._kernel_spec

    def write_connection_file(self, **kwargs: Any) -> None:
        super().write_connection_file(**kwargs)
        if self.server.key.use_sandbox:
            sandbox.connection_file_for_kernel(self.connection_file)

    async def _async_pre_start_kernel(self, **kw: Any):
        self.kernel_id = self.kernel_id or str(uuid.uuid4())
        if self.provisioner is None:
            self.provisioner = _ForkProvisioner(
                kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self
            )
        return await super()._async_pre_start_kernel(**kw)

    pre_start_kernel = _async_pre_start_kernel


def write_files(folder: Path, files: dict[str, bytes]) -> None:
    """The assignment's files (relative path -> content) into `folder`, emptied first, readable by every uid:
    a root grader's sandboxed kernels run as SANDBOX_UID and only read it (grader/kernels/execute.py copies them)."""
    for child in folder.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
    os.chmod(folder, 0o755)
    for relative, data in files.items():
        path = folder / relative
        if not path.resolve().is_relative_to(folder.resolve()):
            raise ValueError(f"{relative} is outside the assignment's folder")
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        path.write_bytes(data)
        os.chmod(path, 0o644)


class Pair:
    """A worker slot's two warm sandboxes: `student` forks the kernels that run the student's cells, `tests`
    the trusted kernels that run the test cells (grader/kernels/standalone/inkernel/runtime.py). The test kernel listens in
    `channel`, shown read-only to the student's sandbox: the one thing of T's that S can see. `files` holds the
    assignment's other files (data, images), shown read-only to both: each kernel copies them into its own
    working directory before the notebook runs. `meter` reads the student's kernel's peak memory for the test
    kernel, through a socket in a folder only the test kernel's sandbox sees (grader/kernels/meter.py)."""

    def __init__(self, key: WarmKey):
        self.key = key
        self.channel = sandbox.short_temp_dir("gc-")
        self.files = sandbox.short_temp_dir("gf-")
        self.meter_dir = sandbox.short_temp_dir("gm-")
        self.meter = meter.MemoryMeter(self.meter_dir)
        self._files_written: dict[str, bytes] | None = None
        self.lessons: dict[str, tuple[str, ...]] = {}  # role -> the cells its server was taught (`teach`)
        self._access = sandbox.workdir_access(self.channel) if key.use_sandbox else None
        if self._access is not None:
            self._access.__enter__()
        self.tests = self._server("tests")
        self.student = self._server("student")

    def _server(self, role: str) -> ForkServer:
        if role == "tests":
            server = ForkServer(
                self.key,
                "inkernel.runtime",
                writable=(self.channel,),
                readonly=(self.files, self.meter_dir),
                preload=self.key.test_preload,
            )
        else:
            server = ForkServer(self.key, STUDENT_MODULE, readonly=(self.channel, self.files))
        server.teach(self.lessons.get(role, ()))
        return server

    def teach(self, tests: tuple[str, ...], given: tuple[str, ...]) -> None:
        """The assignment's test cells to the test kernels' server, its given cells to the student's (never a
        test: the student's kernel can read what its server holds); kept for a server started again."""
        self.lessons = {"tests": tuple(tests), "student": tuple(given)}
        self.tests.teach(self.lessons["tests"])
        self.student.teach(self.lessons["student"])

    def put_files(self, files: dict[str, bytes] | None) -> Path | None:
        """`files` in the folder both sandboxes see (rewritten only when they change); None without files."""
        if not files:
            return None
        if self._files_written != files:
            write_files(self.files, files)
            self._files_written = dict(files)
        return self.files

    @property
    def servers(self) -> tuple[ForkServer, ForkServer]:
        return self.tests, self.student

    def wait_ready(self) -> None:
        for server in self.servers:
            server.wait_ready()

    def alive(self) -> bool:
        return all(server.alive() for server in self.servers)

    def renew(self) -> None:
        """A new sandbox for a server its last kernel broke (the student's, say); the other stays warm."""
        if not self.tests.alive():
            self.tests.stop()
            self.tests = self._server("tests")
        if not self.student.alive():
            self.student.stop()
            self.student = self._server("student")

    def reset(self) -> None:
        """Between submissions: nothing of either kernel remains, nor of their channel; a server that cannot
        vouch for that is stopped (`renew` replaces it)."""
        for server in self.servers:
            try:
                server.reset()
            except ZygoteError:
                server.stop()
        if not zygote.empty(str(self.channel), set()):
            self.student.stop()  # something the channel kept would reach the next student: start over

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
        if self._access is not None:
            access, self._access = self._access, None
            access.__exit__(None, None, None)
        self.meter.close()
        shutil.rmtree(self.channel, ignore_errors=True)
        shutil.rmtree(self.files, ignore_errors=True)
        shutil.rmtree(self.meter_dir, ignore_errors=True)


# -------------------------------------------------------------------------------------------------------
# Pairs kept per thread (Dask workers run `execute()` in a few long-lived threads; bwrap dies with the
# thread that started it, so a pair belongs to the thread that uses it)

_local = threading.local()


def renewed(pair: Pair, key: WarmKey) -> Pair:
    """`pair` if it can still serve `key` (a broken server replaced); else it is stopped and a new one starts
    (the settings changed)."""
    if pair.key == key:
        pair.renew()
        return pair
    pair.stop()
    fresh = Pair(key)
    if pair.lessons:
        fresh.teach(pair.lessons["tests"], pair.lessons["student"])
    return fresh


def thread_pair(key: WarmKey) -> Pair:
    pair: Pair | None = getattr(_local, "pair", None)
    fresh = Pair(key) if pair is None else renewed(pair, key)
    if fresh is not pair:
        _local.pair = fresh
        atexit.register(fresh.stop)  # a Dask worker that exits leaves no server nor folder behind
    return fresh
