"""Run one normalized notebook in two fresh kernels: the execute stage.

The student's cells run in the student's kernel S; the test cells run in a trusted test kernel T, in a
sandbox of its own, where the student's names are stand-ins that call into S and bring back only data
(grader/kernels/standalone/inkernel/). So a test's verdict is computed where the student's code cannot reach.

A pure function of (notebook, settings) -> executed notebook, so the same call runs in the local pool
(grader/grading/pipeline.py) and on a Dask worker. Each cell has a wall-time limit, the whole notebook another; a
cell that times out fails and the rest goes on; a dead kernel (segfault, os._exit, out of memory) fails the
cells that did not run, and so does a student's kernel that stops answering the test kernel. Every error
the grader adds is an ordinary `error` output, so scoring follows nbgrader's rule (an error fails a test
cell) without special cases.

The assignment's other files (data, images: `files`) are put in a folder shown read-only to both sandboxes,
and each kernel copies them into its own working directory before the notebook's first cell, as nbgrader's
autograde copies them next to the notebook: a test opens the same data file the student's code does, and what
the student's code writes over its copy never reaches the test kernel's.
"""

from __future__ import annotations

import ast
import asyncio
import atexit
import base64
import contextlib
import functools
import json
import logging
import secrets
import shutil
import tempfile
import time
import zlib
from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from nbformat import NotebookNode

from grader.config import Settings, default
from grader.errors import MachineError
from grader.kernels import guard, meter, relaying, sandbox, warm
from grader.model import Status
from grader.nbmeta import is_test_cell, nbgrader_meta

# What goes wrong inside a kernel is the student's and lands in the result; nbclient and jupyter_client would
# also log it (tracebacks included) over the instructor's progress bar.
MEMORY_LIMIT = guard.MEMORY_FLAG  # the flag of a submission the guard stopped for its memory
REPLAY_SOCKET = "r.sock"  # in the channel folder: where T waits for the submission's replay
TESTS_SOCKET = "t.sock"  # in the channel folder: where T's runtime waits for S's agent
KERNEL_LOG = logging.getLogger("grader.kernels")
KERNEL_LOG.setLevel(logging.CRITICAL + 1)
KERNEL_LOG.propagate = False


@dataclass(frozen=True)
class ExecutionSettings:
    """Everything the execute stage needs; picklable, so it travels to Dask workers. The course's settings
    (grader_config.py) are the defaults of grader/config.py's SETTINGS; the other fields are the kernels' own."""

    cell_timeout_s: int = default("CELL_TIMEOUT_S")
    submission_timeout_s: int = default("SUBMISSION_TIMEOUT_S")
    use_sandbox: bool = default("SANDBOX")
    limits: sandbox.Limits = field(default_factory=sandbox.Limits)
    gpu: str | None = None  # CUDA_VISIBLE_DEVICES for this kernel; None: no GPU visible
    threads: int = 1  # torch/OpenMP threads: cores shared among parallel kernels
    max_output_kb: int = default("MAX_OUTPUT_KB")
    # warm: kernels forked from a Python that already imported `preload` (grader/kernels/warm.py); cold: each kernel
    # is a new interpreter (slower by the imports, 4-8 s with torch)
    warm: bool = default("WARM_KERNELS")
    preload: tuple[str, ...] = ("torch", "numpy", "matplotlib.pyplot")
    test_preload: tuple[str, ...] = ("torch", "numpy")  # what the test kernel's server imports
    transfer_mb: int = default("MAX_TRANSFER_MB")  # the most one answer of the student's kernel may carry

    @classmethod
    def from_settings(cls, settings: Settings, **fields) -> ExecutionSettings:
        """The course's settings as the kernels take them (SETTINGS' `runtime`); `fields` set the rest."""
        values = settings.runtime_values()
        limits = {
            name.removeprefix("limits."): value
            for name, value in values.items()
            if name.startswith("limits.")
        }
        own = {name: value for name, value in values.items() if not name.startswith("limits.")}
        return cls(**{**own, "limits": sandbox.Limits(**limits), **fields})


@dataclass
class Executed:
    notebook: NotebookNode
    status: Status = Status.GRADED
    message: str = ""  # Portuguese, for the report, when status is not graded
    limits_hit: list[str] = field(default_factory=list)
    seconds: float = 0.0


def error_output(ename: str, evalue: str) -> NotebookNode:
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


NOTEBOOK_OUTPUT_CAPS = 32  # the notebook's output, all cells together: this many cells' caps


class _Client(NotebookClient):
    """nbclient with two things it lacks: a record of which cell timed out, and a cap on all it keeps of what the
    kernel sends (outputs, display updates, errors, execution counts; no widget state)."""

    def __init__(self, *args, max_output_bytes: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_output_bytes = max_output_bytes
        self.timed_out = False
        self._output_bytes: dict[int, int] = {}
        self._notebook_bytes = 0
        # the cells whose outputs now hold the notice, or an error: known here, not searched for in each message
        self._noticed: set[int] = set()
        self._errored: set[int] = set()

    @asynccontextmanager
    async def async_setup_kernel(self, **kwargs):
        """nbclient's, less its SIGINT and SIGTERM handlers: while a notebook runs they would shut its kernel
        down and let grading go on (recording a dead kernel), and on the way out they reset SIGTERM to the
        default action, over the grader's own (grader/cli.py). The caller starts and stops the kernel."""
        if not self.km.has_kernel:
            await self.async_start_new_kernel(**kwargs)
        if self.kc is None:
            await self.async_start_new_kernel_client()
        yield

    async def _check_raise_for_error(self, cell, cell_index, exec_reply):
        """A cell whose reply says it failed has an error output, whatever happened to its outputs on the way (a
        flood of output cut off): nbgrader fails a test cell by its outputs alone."""
        content = (exec_reply or {}).get("content", {})
        failed = content.get("status") == "error" and not self.timed_out  # (a timeout says so itself)
        if failed and not any(o.get("output_type") == "error" for o in cell.outputs):
            cell.outputs.append(
                error_output(str(content.get("ename") or "Erro"), str(content.get("evalue") or ""))
            )
        await super()._check_raise_for_error(cell, cell_index, exec_reply)

    async def _async_handle_timeout(self, timeout, cell=None):
        self.timed_out = True
        await asyncio.wait_for(asyncio.shield(self._interrupt()), 5)
        return {"content": {"status": "error", "ename": "TimeoutError", "evalue": "", "traceback": []}}

    async def _interrupt(self):
        try:
            await self.km.interrupt_kernel()
        except Exception:  # noqa: BLE001 (best effort: the kernel may already be gone; the poller reports it)
            pass

    def process_message(self, msg, cell, cell_index):
        """nbclient's, with an `execution_count` taken only as a number and only from the two messages that carry
        one: nbclient writes any message's into the cell, outside every cap (a 2 MiB list of lists: 57 MB)."""
        content = msg.get("content")
        if isinstance(content, dict) and "execution_count" in content:
            count = content["execution_count"]
            if msg.get("msg_type") not in ("execute_input", "execute_result") or not (
                count is None or type(count) is int
            ):
                msg = {**msg, "content": {k: v for k, v in content.items() if k != "execution_count"}}
        return super().process_message(msg, cell, cell_index)

    def handle_comm_msg(self, outs, msg, cell_index):
        """Widgets are not kept in a graded notebook: nbclient would keep every widget's state, of any size,
        for the whole notebook, outside any cap."""

    def _charge(self, cell_index: int, size: int) -> bool:
        """Charge `size` to the cell (and to the notebook); whether the cell is now over its cap (or the notebook
        over `NOTEBOOK_OUTPUT_CAPS` cells' worth)."""
        used = self._output_bytes.get(cell_index, 0) + size
        self._output_bytes[cell_index] = used
        self._notebook_bytes += size
        return (
            used > self.max_output_bytes
            or self._notebook_bytes > NOTEBOOK_OUTPUT_CAPS * self.max_output_bytes
        )

    def _update_display_id(self, display_id, msg):
        """nbclient's, with the cap: an update rewrites every output shown with that display id, in any cell,
        outside `output`; each cell it rewrites is charged for it, and over the cap gets the notice instead."""
        content = _compact(msg.get("content", {}))
        size = len(str(content))
        over = False
        for cell_index, indices in self._display_id_map.get(display_id, {}).items():
            over = self._charge(cell_index, size * len(indices)) or over
        if over:
            notice = f"[saída truncada: mais de {self.max_output_bytes // 1024} KB nesta célula]"
            content = {**content, "data": {"text/plain": notice}, "metadata": {}}
        return super()._update_display_id(display_id, {**msg, "content": content})

    def output(self, outs, msg, display_id, cell_index):
        content = _compact(msg.get("content", {}))
        if msg.get("msg_type") == "error":  # cut to its first KBs; a cell's first error is always kept: it is
            content = {  # what fails a test cell
                **content,
                "ename": str(content.get("ename", ""))[:200],
                "evalue": str(content.get("evalue", ""))[:4000],
                "traceback": [str(line)[:4000] for line in content.get("traceback", [])[-20:]],
            }
            over = self._charge(cell_index, len(str(content)))
            if over and cell_index in self._errored:
                return None
            kept = self._keep(outs, {**msg, "content": content}, display_id, cell_index)
            self._errored.add(cell_index)
            return kept
        msg = {**msg, "content": content}
        size = len(str(content))
        used = self._output_bytes.get(cell_index, 0)
        if not self._charge(cell_index, size):
            return self._keep(outs, msg, display_id, cell_index)
        if used > self.max_output_bytes or cell_index in self._noticed:
            return None  # already cut: the rest of the cell's output is dropped
        if msg.get("msg_type") == "stream" and content.get("name") == "stdout":
            # keep what fits of the text, then say it was cut (never on stderr: that would fail a test cell)
            notebook_room = NOTEBOOK_OUTPUT_CAPS * self.max_output_bytes - (self._notebook_bytes - size)
            room = max(0, min(self.max_output_bytes - used, notebook_room) - 200)
            msg = {**msg, "content": {**content, "text": str(content.get("text", ""))[:room]}}
            self._keep(outs, msg, display_id, cell_index)
        outs.append(nbformat.v4.new_output("stream", name="stdout", text=self._notice))
        self._noticed.add(cell_index)
        return None

    def _keep(self, outs, msg, display_id, cell_index):
        """nbclient's `output`, which first empties the cell's outputs when a clear_output(wait=True) asked it to."""
        if self.clear_before_next_output:
            self._noticed.discard(cell_index)
            self._errored.discard(cell_index)
        return super().output(outs, msg, display_id, cell_index)

    def clear_output(self, outs, msg, cell_index):
        super().clear_output(outs, msg, cell_index)
        if not outs:  # (with wait=True, `_keep` empties them later)
            self._noticed.discard(cell_index)
            self._errored.discard(cell_index)

    @property
    def _notice(self) -> str:
        return f"\n[saída truncada: mais de {self.max_output_bytes // 1024} KB nesta célula]\n"


def _compact(content: dict) -> dict:
    """An output's content as the graded notebook keeps it: each `data` entry as text (a JSON entry, which could
    be nested lists that weigh forty times their text once parsed, is dropped), and `metadata` only when small."""
    if not isinstance(content, dict):
        return {}
    compact = dict(content)
    if "data" in content:
        data = content["data"] if isinstance(content["data"], dict) else {}
        compact["data"] = {
            str(mime): value if isinstance(value, str) else "".join(value)
            for mime, value in data.items()
            if isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))
        }
    if "metadata" in content:
        metadata = content["metadata"]
        compact["metadata"] = metadata if isinstance(metadata, dict) and len(str(metadata)) <= 1024 else {}
    if "text" in content and not isinstance(content["text"], str):  # a stream's: text, or no valid notebook
        compact["text"] = str(content["text"])
    return compact


async def execute_async(
    nb: NotebookNode,
    settings: ExecutionSettings,
    pair: warm.Pair | None = None,
    files: dict[str, bytes] | None = None,
) -> Executed:
    """Execute `nb` (modified in place) in a fresh pair of kernels; never raises for what the student did.
    `files`: the assignment's other files (relative path -> content), in both kernels' working directories.

    Warm settings fork both kernels from `pair` (default: this thread's, started on first use); a server that
    cannot vouch that nothing of its kernel is left is stopped, and the next submission gets a new one."""
    if settings.warm:
        return await _execute_warm(nb, settings, pair or warm.thread_pair(warm.warm_key(settings)), files)
    started = time.monotonic()
    channel = sandbox.short_temp_dir("gc-")
    shared = sandbox.short_temp_dir("gf-")
    meter_dir = sandbox.short_temp_dir("gm-")
    memory = meter.MemoryMeter(meter_dir)
    replay_server = None
    workdirs = [Path(tempfile.mkdtemp(prefix="grader-")) for _ in range(2)]
    try:
        warm.write_files(shared, files or {})
        with sandbox.workdir_access(channel) if settings.use_sandbox else contextlib.nullcontext():
            kernels = [
                sandbox.make_kernel_manager(
                    workdir,
                    settings.limits,
                    sandbox=settings.use_sandbox,
                    gpu=settings.gpu is not None,
                    env=sandbox.kernel_env(workdir, settings.threads, settings.gpu),
                    private_workdir=True,
                    manager=manager,
                    **paths,
                )
                for workdir, manager, paths in zip(
                    workdirs,
                    (relaying.RelayedSandboxedKernelManager, sandbox.SandboxedKernelManager),
                    (
                        {"readonly_paths": [channel, shared]},
                        {"writable_paths": [channel], "readonly_paths": [shared, meter_dir]},
                    ),
                    strict=True,
                )
            ]
            student_km = kernels[0]
            student_km.relay_limits = relaying.limits_for(settings.max_output_kb)
            memory.watch(lambda: meter.kernel_pid(student_km.provisioner.pid))
            # the replay comes from a kernel server of its own, started now (its imports take seconds)
            replay_server = warm.ForkServer(
                warm.warm_key(settings),
                warm.STUDENT_MODULE,
                readonly=(channel, shared),
                preload=settings.preload,
            )
            frame_bytes = settings.transfer_mb * 1024 * 1024
            watched = guard.MemoryGuard(  # the kernel's sandbox, and the replay's server's
                settings.limits.submission_memory_mb,
                lambda: [student_km.provisioner.pid, replay_server.proc.pid],
                lambda: [replay_server.zygote_pid],
                student_km.relay_stopped,
                relaying.MESSAGES_FLAG,
            )
            result = await _run_cells(
                nb,
                settings,
                *kernels,
                channel,
                started,
                shared if files else None,
                memory,
                lambda socket, secret: replay_server.spawn_replay(socket, secret, frame_bytes),
                watched,
            )
    finally:
        if replay_server is not None:
            replay_server.stop()
        memory.close()
        for folder in (channel, shared, meter_dir, *workdirs):
            shutil.rmtree(folder, ignore_errors=True)
    result.seconds = time.monotonic() - started
    return result


async def _execute_warm(
    nb: NotebookNode, settings: ExecutionSettings, pair: warm.Pair, files: dict[str, bytes] | None = None
) -> Executed:
    try:
        await asyncio.to_thread(pair.wait_ready)  # the slot's first submission waits for the imports, once
    except warm.ZygoteError as exc:
        pair.stop()
        result = Executed(
            notebook=nb, status=Status.ERROR, message=f"não foi possível iniciar o kernel: {exc}"
        )
        _mark_not_run(nb.cells, result.message)
        return result
    started = time.monotonic()
    student_km = relaying.RelayedWarmKernelManager(pair.student)
    student_km.relay_limits = relaying.limits_for(settings.max_output_kb)
    pair.meter.watch(lambda: pair.student.host_pid(student_km.provisioner.pid))
    frame_bytes = settings.transfer_mb * 1024 * 1024
    result = await _run_cells(
        nb,
        settings,
        student_km,
        warm.WarmKernelManager(pair.tests),
        pair.channel,
        started,
        pair.put_files(files),
        pair.meter,
        lambda socket, secret: pair.student.spawn_replay(socket, secret, frame_bytes),
        guard.MemoryGuard(
            settings.limits.submission_memory_mb,
            lambda: [pair.student.proc.pid],
            lambda: [pair.student.zygote_pid],
            student_km.relay_stopped,
            relaying.MESSAGES_FLAG,
        ),
    )
    pair.meter.watch(None)
    await asyncio.to_thread(pair.reset)  # a server that cannot vouch for a clean slot is stopped
    result.seconds = time.monotonic() - started
    return result


def execute(nb: NotebookNode, settings: ExecutionSettings, files: dict[str, bytes] | None = None) -> Executed:
    """Synchronous form of execute_async, for process pools and Dask workers."""
    return asyncio.run(execute_async(nb, settings, files=files))


def _mark_not_run(cells, reason: str) -> None:
    for cell in cells:
        if cell.cell_type == "code":
            cell.outputs.append(error_output("NaoExecutada", f"célula não executada: {reason}"))


class _SetupError(MachineError):
    """The grader's own code failed in a kernel, before the notebook: the machine's fault."""


async def _run_setup(client: _Client, code: str) -> None:
    """Run the grader's own code in a kernel, outside the notebook: an error is the machine's."""
    try:
        # silent: the kernel does not echo the code back on IOPub, nor count it, nor run the cell hooks for it
        reply = await asyncio.wait_for(
            client.kc._async_execute_interactive(code, silent=True, output_hook=lambda msg: None), 60
        )
    except Exception as exc:  # noqa: BLE001 (a kernel that never answers: reported as the machine's fault)
        raise _SetupError(f"{type(exc).__name__}: {exc}") from exc
    content = reply["content"]
    if content["status"] != "ok":
        raise _SetupError(f"{content.get('ename')}: {content.get('evalue')}")


def _trusted_imports(nb: NotebookNode) -> str:
    """The import statements of the notebook's locked cells (the instructor's text, restored from source/):
    the test kernel makes the same imports, so a test may use `np` as the notebook does."""
    lines = []
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type != "code" or not meta.get("locked") or is_test_cell(cell):
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        lines += [ast.unparse(node) for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    return "\n".join(lines)


# Run in each kernel before the notebook, in a namespace of its own (nothing is left in the notebook's): the
# assignment's files, copied from the read-only folder into the working directory, without copying the folder's
# own mode onto the working directory (shutil.copytree would).
_COPY_FILES = """import os, shutil
for folder, _, names in os.walk(source):
    here = os.path.relpath(folder, source)
    os.makedirs(here, exist_ok=True)
    for name in names:
        shutil.copyfile(os.path.join(folder, name), os.path.join(here, name))
"""


async def _start_tests(
    tests: _Client,
    nb: NotebookNode,
    settings: ExecutionSettings,
    channel: Path,
    files: Path | None,
    meter_path: Path | None,
    secret: str,
) -> Path:
    """T's side of the connection, as soon as T is up (S's kernel may still be starting): the assignment's
    `files` copied into its working directory, then its runtime listening in `channel`, reading S's memory
    through `meter_path` and waiting for the submission's replay, which will prove itself with `secret`; the
    file where T says that S broke off."""
    await _copy_files(tests, files)
    parent = sandbox.inkernel_parent(settings.use_sandbox)
    socket_path, state = channel / TESTS_SOCKET, channel / "estado.json"
    cells = [(_kind(cell), cell.source) for cell in nb.cells if cell.cell_type == "code"]
    frame_bytes = settings.transfer_mb * 1024 * 1024
    names = {cell.source: _free_names(cell.source) for cell in nb.cells if is_test_cell(cell)}
    briefing = {
        "path": str(socket_path),
        "cells": cells,
        "call_timeout_s": max(1, settings.cell_timeout_s - 5),
        "state_path": str(state),
        "imports": _trusted_imports(nb),
        "frame_bytes": frame_bytes,
        "names": names,
        "meter": str(meter_path) if meter_path else None,
        "replay": [str(channel / REPLAY_SOCKET), secret],
    }
    packed = base64.b64encode(zlib.compress(json.dumps(briefing).encode(), 1)).decode("ascii")
    await _run_setup(
        tests,
        f"__import__('sys').path.append({parent!r}) or "
        f"__import__('inkernel.runtime').runtime.start_packed({packed!r})",
    )
    return state


async def _copy_files(client: _Client, files: Path | None) -> None:
    """The assignment's `files`, if any, copied into the kernel's working directory."""
    if files is not None:
        await _run_setup(client, f"exec({_COPY_FILES!r}, {{'source': {str(files)!r}}})")


async def _connect(tests: _Client, student: _Client, settings: ExecutionSettings, channel: Path) -> None:
    """Once both sides are up: S's agent connecting to T's runtime, and T accepting it."""
    parent = sandbox.inkernel_parent(settings.use_sandbox)
    socket_path = channel / TESTS_SOCKET
    frame_bytes = settings.transfer_mb * 1024 * 1024
    await _run_setup(
        student,
        (
            f"__import__('sys').path.append({parent!r}) or __import__('inkernel.agent').agent.start("
            f"{str(socket_path)!r}, {frame_bytes!r})"
        ),
    )
    await _run_setup(tests, "__import__('inkernel.runtime').runtime.accept(30)")


def lessons(notebooks) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The cells every submission runs as they are: the test cells (for T's kernel server) and the given cells (for
    S's), each text once; warm servers parse them before they fork (grader/kernels/warm.py's `teach`).
    `notebooks`: the instructor's (grader/grading/pipeline.py), never a submission."""
    found: dict[str, dict[str, None]] = {"test": {}, "given": {}}
    for nb in notebooks:
        for cell in nb.cells:
            if cell.cell_type == "code":
                found.get(_kind(cell), {})[cell.source] = None
    return tuple(found["test"]), tuple(found["given"])


def _kind(cell) -> str:
    """What T's runtime must know of a code cell: a test cell, the instructor's text (locked, or a lesson cell
    as released: grader/intake/normalize.py marks it), or the student's."""
    if is_test_cell(cell):
        return "test"
    if nbgrader_meta(cell).get("locked") or cell.metadata.get("grader", {}).get("given"):
        return "given"
    return "student"


@functools.lru_cache(maxsize=1024)
def _free_names(source: str) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """What a test cell reads from its globals (fetched from S before it runs) and what it binds (T's from then
    on), worked out once per test text here rather than in every submission's test kernel."""
    from IPython.core.inputtransformer2 import TransformerManager

    from grader.kernels.standalone.inkernel.runtime import free_names
    from grader.kernels.standalone.inkernel.source import read_cell

    try:
        tree = ast.parse(TransformerManager().transform_cell(source))
    except (SyntaxError, ValueError, RecursionError):
        return None
    bound = tuple(sorted({name for name, _ in read_cell(0, source).top}))
    return tuple(free_names(tree)), bound


def _broken_off(state: Path) -> str:
    """Why the student's kernel stopped answering the test kernel ("" while it answers)."""
    try:
        return str(json.loads(state.read_text(encoding="utf-8")).get("motivo", "?"))
    except FileNotFoundError:
        return ""
    except (OSError, ValueError):
        return "?"


async def _run_cells(
    nb: NotebookNode,
    settings: ExecutionSettings,
    student_km: AsyncKernelManager,
    tests_km: AsyncKernelManager,
    channel: Path,
    started: float,
    files: Path | None = None,
    memory: meter.MemoryMeter | None = None,
    replay: Callable[[Path, str], int | None] | None = None,
    watched: guard.MemoryGuard | None = None,
) -> Executed:
    """Run the notebook's cells in the two kernels; `replay(socket, secret)` starts the submission's replay
    (the process that runs the notebook's defs as written, for the tests that read code or measure memory)
    and gives its pid; `watched` bounds the memory of the student's side, all processes together, while the
    cells run."""
    result = Executed(notebook=nb)
    replay_started: asyncio.Future | None = None
    clients = {}
    for role, km in (("student", student_km), ("tests", tests_km)):
        km.log = KERNEL_LOG
        clients[role] = _Client(
            nb,
            km=km,
            timeout=settings.cell_timeout_s,
            allow_errors=True,
            interrupt_on_timeout=True,
            shutdown_kernel="immediate",
            startup_timeout=60,
            resources={"metadata": {}},
            max_output_bytes=settings.max_output_kb * 1024,
            log=KERNEL_LOG,
        )
    deadline = started + settings.submission_timeout_s
    submission_timed_out = f"tempo total da submissão esgotado ({settings.submission_timeout_s} s)"
    code_cells = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    position, client = 0, clients["student"]
    try:
        async with contextlib.AsyncExitStack() as stack:
            if watched is not None:
                stack.enter_context(watched)
            secret = secrets.token_hex(16)

            async def tests_side() -> Path:
                await stack.enter_async_context(clients["tests"].async_setup_kernel())
                return await _start_tests(
                    clients["tests"], nb, settings, channel, files, memory and memory.path, secret
                )

            async def student_side() -> None:
                await stack.enter_async_context(clients["student"].async_setup_kernel())
                await _copy_files(clients["student"], files)

            # both kernels start at once, and each side gets ready as soon as its kernel is up (a forked kernel
            # takes ~0.1 s to start); the first failure is raised once neither side is pending
            sides = await asyncio.gather(tests_side(), student_side(), return_exceptions=True)
            for outcome in sides:
                if isinstance(outcome, BaseException):
                    raise outcome
            state = sides[0]
            await _connect(clients["tests"], clients["student"], settings, channel)
            if memory is not None:
                memory.resolve()  # before the student's first cell
            if (
                replay is not None
            ):  # forked meanwhile: the test kernel waits for it when a test first needs it
                replay_started = asyncio.ensure_future(
                    asyncio.to_thread(replay, channel / REPLAY_SOCKET, secret)
                )
                if memory is not None:
                    replay_started.add_done_callback(
                        lambda task: memory.replay(None if task.exception() else task.result())
                    )
            for position, (index, cell) in enumerate(code_cells):  # noqa: B007 (position used after)
                remaining = deadline - time.monotonic()
                if remaining <= 1:
                    result.status = Status.TIMEOUT
                    result.limits_hit.append("tempo total")
                    result.message = submission_timed_out
                    break
                client = clients["tests" if is_test_cell(cell) else "student"]
                client.timeout = int(min(settings.cell_timeout_s, remaining))
                client.timed_out = False
                await client.async_execute_cell(cell, index)
                if client.timed_out:
                    total = client.timeout < settings.cell_timeout_s
                    limit = (
                        f"{settings.submission_timeout_s} s por submissão"
                        if total
                        else (f"{settings.cell_timeout_s} s por célula")
                    )
                    cell.outputs.append(error_output("TempoEsgotado", f"limite de tempo excedido ({limit})"))
                    result.limits_hit.append("tempo total" if total else "tempo por célula")
                    if total:
                        result.status = Status.TIMEOUT
                        result.message = submission_timed_out
                        position += 1
                        break
                    if not await _kernel_idle(client):
                        result.status = Status.ERROR
                        result.message = "o kernel não respondeu depois de interrompido"
                        position += 1
                        break
                broken = _broken_off(state) if client is clients["tests"] else ""
                if watched is not None and watched.tripped:  # killed by the guard, during a test or not
                    raise DeadKernelError(watched.tripped)
                if broken:  # the student's code hung, died or broke the protocol during a test
                    result.status = Status.ERROR
                    result.limits_hit.append(
                        "tempo por célula" if "não respondeu" in broken else "kernel morreu"
                    )
                    result.message = f"o kernel do aluno parou de responder aos testes ({broken})"
                    position += 1
                    break
            else:
                position = len(code_cells)
    except DeadKernelError:
        result.status = Status.ERROR
        result.limits_hit.append("kernel morreu")
        result.message = (
            "o kernel morreu durante a execução (falha de segmentação, os._exit, "
            "ou limite de memória/processos do corretor)"
        )
        if watched is not None and watched.tripped:
            result.limits_hit[-1], result.message = watched.flag, watched.tripped
        elif client is clients["tests"]:
            result.message = "o kernel de testes morreu durante a execução"
        code_cells[position][1].outputs.append(error_output("KernelMorreu", result.message))
        position += 1
    # the kernels never started (jupyter_client, zmq, the sandbox, a kernel server: each its own errors):
    # the machine's fault, not the student's
    except Exception as exc:  # noqa: BLE001 (see above)
        result.status = Status.ERROR
        result.message = f"não foi possível iniciar o kernel: {exc}"
    finally:
        if replay_started is not None:  # (its failure shows where a test needed it)
            await asyncio.wait([replay_started])
        # nbclient leaves a kernel it did not create running; the two at once (each waits for its server to reap
        # it: ~40 ms for a kernel holding torch's memory)
        await asyncio.gather(_shutdown(student_km), _shutdown(tests_km))
        for each in clients.values():
            atexit.unregister(each._cleanup_kernel)  # registered by nbclient; left behind when a start failed
            if getattr(each, "kc", None) is not None:
                each.kc.stop_channels()  # nor does it close its client's sockets (and their zmq context)
    if watched is not None and watched.tripped and watched.flag not in result.limits_hit:
        result.status, result.message = Status.ERROR, watched.tripped  # (it tripped after the last cell)
        result.limits_hit.append(watched.flag)
    _mark_not_run([cell for _, cell in code_cells[position:]], result.message or "célula não executada")
    # two kernels count their cells apart ("In [2]" then "In [1]" in the formgrader): one count, in order
    count = 0
    for _, cell in code_cells[:position]:
        if cell.get("execution_count") is not None:
            count += 1
            cell.execution_count = count
            for output in cell.outputs:
                if "execution_count" in output:  # Out[n] beside its In [n]
                    output.execution_count = count
    return result


async def _shutdown(km: AsyncKernelManager) -> None:
    try:
        if km.has_kernel:
            await km.shutdown_kernel(now=True)
        else:
            await km.cleanup_resources()
    except Exception:  # noqa: BLE001 (cleanup in a finally: nothing may replace the notebook's result)
        pass  # already gone: nothing to stop


async def _kernel_idle(client: _Client, wait_s: float = 10) -> bool:
    """After an interrupt, whether the kernel answers again (a C loop may ignore SIGINT)."""
    try:
        reply = await asyncio.wait_for(
            client.kc._async_execute_interactive("pass", store_history=False), wait_s
        )
        return reply["content"]["status"] == "ok"
    except Exception:  # noqa: BLE001 (no answer, in jupyter_client's or zmq's ways, is not idle)
        return False
