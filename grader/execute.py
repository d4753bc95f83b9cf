"""Run one normalized notebook in a fresh kernel: the execute stage.

A pure function of (notebook, settings) -> executed notebook, so the same call runs in the local pool
(grader/pipeline.py) and on a Dask worker. Each cell has a wall-time limit, the whole notebook another; a
cell that times out fails and the rest goes on; a dead kernel (segfault, os._exit, out of memory) fails the
cells that did not run. Every error the grader adds is an ordinary `error` output, so scoring follows
nbgrader's rule (an error fails a test cell) without special cases.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import shutil
import tempfile
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from nbformat import NotebookNode

from grader import sandbox, warm

STATUS_GRADED, STATUS_TIMEOUT, STATUS_ERROR = "graded", "timeout", "error"

# What goes wrong inside a kernel is the student's and lands in the result; nbclient and jupyter_client would
# also log it (tracebacks included) over the instructor's progress bar.
KERNEL_LOG = logging.getLogger("grader.kernels")
KERNEL_LOG.setLevel(logging.CRITICAL + 1)
KERNEL_LOG.propagate = False


@dataclass(frozen=True)
class ExecutionSettings:
    """Everything the execute stage needs; picklable, so it travels to Dask workers."""

    cell_timeout_s: int = 120
    submission_timeout_s: int = 600
    use_sandbox: bool = True
    limits: sandbox.Limits = field(default_factory=sandbox.Limits)
    gpu: str | None = None  # CUDA_VISIBLE_DEVICES for this kernel; None: no GPU visible
    threads: int = 1  # torch/OpenMP threads: cores shared among parallel kernels
    max_output_kb: int = 512
    # warm: kernels forked from a Python that already imported `preload` (grader/warm.py); cold: each kernel
    # is a new interpreter (slower by the imports, 4-8 s with torch)
    warm: bool = True
    preload: tuple[str, ...] = ("torch", "numpy", "matplotlib.pyplot")


@dataclass
class Executed:
    notebook: NotebookNode
    status: str = STATUS_GRADED
    message: str = ""  # Portuguese, for the report, when status is not graded
    limits_hit: list[str] = field(default_factory=list)
    seconds: float = 0.0


def error_output(ename: str, evalue: str) -> NotebookNode:
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


class _Client(NotebookClient):
    """nbclient with two things it lacks: a record of which cell timed out, and a cap on kept output."""

    def __init__(self, *args, max_output_bytes: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_output_bytes = max_output_bytes
        self.timed_out = False
        self._output_bytes: dict[int, int] = {}

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

    async def _async_handle_timeout(self, timeout, cell=None):
        self.timed_out = True
        await asyncio.wait_for(asyncio.shield(self._interrupt()), 5)
        return {"content": {"status": "error", "ename": "TimeoutError", "evalue": "", "traceback": []}}

    async def _interrupt(self):
        try:
            await self.km.interrupt_kernel()
        except Exception:  # the kernel may already be gone; the poller reports it
            pass

    def output(self, outs, msg, display_id, cell_index):
        size = len(str(msg.get("content", "")))
        used = self._output_bytes.get(cell_index, 0)
        self._output_bytes[cell_index] = used + size
        if used + size <= self.max_output_bytes:
            return super().output(outs, msg, display_id, cell_index)
        if used > self.max_output_bytes:
            return None  # already cut: the rest of the cell's output is dropped
        content = msg.get("content", {})
        if msg.get("msg_type") == "stream" and content.get("name") == "stdout":
            # keep what fits of the text, then say it was cut (never on stderr: that would fail a test cell)
            room = max(0, self.max_output_bytes - used - 200)
            msg = {**msg, "content": {**content, "text": content.get("text", "")[:room]}}
            super().output(outs, msg, display_id, cell_index)
        notice = f"\n[saída truncada: mais de {self.max_output_bytes // 1024} KB nesta célula]\n"
        outs.append(nbformat.v4.new_output("stream", name="stdout", text=notice))
        return None


def kernel_env(settings: ExecutionSettings, workdir: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key in ("PATH", "LANG", "LC_ALL", "TZ", "SYSTEMROOT") or key.startswith("LC_")
    }
    threads = str(max(1, settings.threads))
    env.update(
        HOME=str(workdir),
        MPLCONFIGDIR=str(workdir / ".matplotlib"),
        PYTHONDONTWRITEBYTECODE="1",
        PYDEVD_DISABLE_FILE_VALIDATION="1",
        OMP_NUM_THREADS=threads,
        MKL_NUM_THREADS=threads,
        CUDA_VISIBLE_DEVICES=settings.gpu if settings.gpu is not None else "",
    )
    return env


def warm_key(settings: ExecutionSettings) -> warm.WarmKey:
    """What a warm server must have been started with to run a kernel for `settings`."""
    env = kernel_env(settings, Path("/"))
    for key in ("HOME", "MPLCONFIGDIR"):  # the server's own: its working directory, the font cache
        env.pop(key)
    return warm.WarmKey(settings.use_sandbox, settings.limits, settings.gpu, tuple(sorted(env.items())),
                        settings.preload)


async def execute_async(nb: NotebookNode, settings: ExecutionSettings,
                        server: warm.ForkServer | None = None) -> Executed:
    """Execute `nb` (modified in place) in a fresh kernel; never raises for what the student did.

    Warm settings fork the kernel from `server` (default: this thread's, started on first use); the server
    is stopped if it cannot vouch that nothing of this kernel is left, and the caller starts another."""
    if settings.warm:
        return await _execute_warm(nb, settings, server or warm.thread_server(warm_key(settings)))
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="grader-"))
    try:
        km = sandbox.make_kernel_manager(workdir, settings.limits, sandbox=settings.use_sandbox,
                                         gpu=settings.gpu is not None, env=kernel_env(settings, workdir),
                                         private_workdir=True)
        result = await _run_cells(nb, settings, km, workdir, started)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result.seconds = time.monotonic() - started
    return result


async def _execute_warm(nb: NotebookNode, settings: ExecutionSettings, server: warm.ForkServer) -> Executed:
    try:
        await warm.ready(server)  # the slot's first submission waits for the imports, once
    except warm.ZygoteError as exc:
        server.stop()
        result = Executed(notebook=nb, status=STATUS_ERROR, message=f"não foi possível iniciar o kernel: {exc}")
        _mark_not_run(nb.cells, result.message)
        return result
    started = time.monotonic()
    result = await _run_cells(nb, settings, warm.WarmKernelManager(server), server.workdir, started)
    try:
        await asyncio.to_thread(server.reset)
    except warm.ZygoteError:
        server.stop()  # this slot's next submission gets a new sandbox
    result.seconds = time.monotonic() - started
    return result


def execute(nb: NotebookNode, settings: ExecutionSettings) -> Executed:
    """Synchronous form of execute_async, for process pools and Dask workers."""
    return asyncio.run(execute_async(nb, settings))


def _mark_not_run(cells, reason: str) -> None:
    for cell in cells:
        if cell.cell_type == "code":
            cell.outputs.append(error_output("NaoExecutada", f"célula não executada: {reason}"))


async def _run_cells(nb: NotebookNode, settings: ExecutionSettings, km: AsyncKernelManager, workdir: Path,
                     started: float) -> Executed:
    result = Executed(notebook=nb)
    km.log = KERNEL_LOG
    client = _Client(
        nb,
        km=km,
        timeout=settings.cell_timeout_s,
        allow_errors=True,
        interrupt_on_timeout=True,
        shutdown_kernel="immediate",
        startup_timeout=60,
        resources={"metadata": {"path": str(workdir)}},
        max_output_bytes=settings.max_output_kb * 1024,
        log=KERNEL_LOG,
    )
    deadline = started + settings.submission_timeout_s
    code_cells = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    position = 0
    try:
        async with client.async_setup_kernel():
            for position, (index, cell) in enumerate(code_cells):  # noqa: B007 (position used after)
                remaining = deadline - time.monotonic()
                if remaining <= 1:
                    result.status = STATUS_TIMEOUT
                    result.limits_hit.append("tempo total")
                    result.message = f"tempo total da submissão esgotado ({settings.submission_timeout_s} s)"
                    break
                client.timeout = int(min(settings.cell_timeout_s, remaining))
                client.timed_out = False
                await client.async_execute_cell(cell, index)
                if client.timed_out:
                    total = client.timeout < settings.cell_timeout_s
                    limit = f"{settings.submission_timeout_s} s por submissão" if total else (
                        f"{settings.cell_timeout_s} s por célula"
                    )
                    cell.outputs.append(error_output("TempoEsgotado", f"limite de tempo excedido ({limit})"))
                    result.limits_hit.append("tempo total" if total else "tempo por célula")
                    if total:
                        result.status = STATUS_TIMEOUT
                        result.message = f"tempo total da submissão esgotado ({settings.submission_timeout_s} s)"
                        position += 1
                        break
                    if not await _kernel_idle(client):
                        result.status = STATUS_ERROR
                        result.message = "o kernel não respondeu depois de interrompido"
                        position += 1
                        break
            else:
                position = len(code_cells)
    except DeadKernelError:
        result.status = STATUS_ERROR
        result.limits_hit.append("kernel morreu")
        result.message = (
            "o kernel morreu durante a execução (falha de segmentação, os._exit, "
            "ou limite de memória/processos do corretor)"
        )
        code_cells[position][1].outputs.append(error_output("KernelMorreu", result.message))
        position += 1
    except Exception as exc:  # the kernel never started: the machine's fault, not the student's
        result.status = STATUS_ERROR
        result.message = f"não foi possível iniciar o kernel: {exc}"
    finally:
        await _shutdown(km)  # nbclient leaves a kernel it did not create running
        atexit.unregister(client._cleanup_kernel)  # registered by nbclient; left behind when the start failed
    _mark_not_run([cell for _, cell in code_cells[position:]], result.message or "célula não executada")
    return result


async def _shutdown(km: AsyncKernelManager) -> None:
    try:
        if km.has_kernel:
            await km.shutdown_kernel(now=True)
        else:
            await km.cleanup_resources()
    except Exception:  # already gone: nothing to stop
        pass


async def _kernel_idle(client: _Client, wait_s: float = 10) -> bool:
    """After an interrupt, whether the kernel answers again (a C loop may ignore SIGINT)."""
    try:
        reply = await asyncio.wait_for(client.kc._async_execute_interactive("pass", store_history=False), wait_s)
        return reply["content"]["status"] == "ok"
    except Exception:
        return False
