"""Where notebooks run on this machine: the GPUs it has, the worker slots (one warm pair of kernel servers each),
the loop that feeds them jobs and hands each finished one to a single writer thread, and the progress bar."""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from tqdm import tqdm

from grader.errors import UserError
from grader.grading.job import Job
from grader.kernels import warm
from grader.kernels.execute import Executed, ExecutionSettings, execute_async
from grader.model import Status


def visible_gpus() -> list[str]:
    """GPU indices this machine exposes, without importing torch (slow) where there is obviously none."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [g for g in env.split(",") if g.strip() and g.strip() != "-1"]
    if not any(Path("/dev").glob("nvidia[0-9]*")):
        return []
    try:
        import torch

        return [str(i) for i in range(torch.cuda.device_count())]
    except Exception:  # noqa: BLE001 (a broken torch or CUDA install fails in any way): no GPU
        return []


def resolve_device(requested: str, remote: bool = False) -> tuple[str, list[str]]:
    if requested not in ("auto", "cpu", "cuda"):
        raise UserError(f"--device {requested!r} desconhecido: use auto, cpu ou cuda")
    if remote:  # the GPUs are on the Dask workers: grader/grading/cluster.py checks them there
        return requested, []
    gpus = visible_gpus() if requested != "cpu" else []
    if requested == "cuda" and not gpus:
        raise UserError(
            "--device cuda, mas nenhuma GPU está visível nesta máquina: use --device cpu (ou auto)"
        )
    return ("cuda" if gpus else "cpu"), gpus


class Progress:
    """The bar shown while notebooks run (here or on a Dask cluster), with how many failed."""

    def __init__(self, total: int, enabled: bool):
        self.bar = tqdm(
            total=total,
            unit="nb",
            disable=not enabled or not total,
            desc="corrigindo",
            bar_format="{desc}: {n}/{total} {bar} [{elapsed}<{remaining}]{postfix}",
        )
        self.failures = 0

    def done(self, executed: Executed) -> None:
        self.failures += executed.status != Status.GRADED
        self.bar.set_postfix_str(f"falhas: {self.failures}")
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


@dataclass
class Slot:
    """One local worker: its settings (its GPU) and, with warm kernels, its pair of servers."""

    settings: ExecutionSettings
    pair: warm.Pair | None  # replaced when its last kernel broke it


class WorkerSlots:
    """The local workers. Servers start on creation, so their imports overlap with whatever the caller does
    next; `close()` stops them."""

    def __init__(self, base: ExecutionSettings, gpus: list[str], workers: int):
        self.queue: asyncio.Queue | None = None
        self.slots: list[Slot] = []
        for index in range(workers):
            settings = base if not gpus else replace(base, gpu=gpus[index % len(gpus)])
            self.slots.append(Slot(settings, warm.Pair(warm.warm_key(settings)) if settings.warm else None))

    async def take(self) -> Slot:
        if self.queue is None:  # made in the running event loop
            self.queue = asyncio.Queue()
            for slot in self.slots:
                self.queue.put_nowait(slot)
        slot = await self.queue.get()
        if slot.pair is not None:  # its last kernel may have broken it: then a new sandbox
            slot.pair = warm.renewed(slot.pair, warm.warm_key(slot.settings))
        return slot

    def give_back(self, slot: Slot) -> None:
        self.queue.put_nowait(slot)

    def teach(self, tests: tuple[str, ...], given: tuple[str, ...]) -> None:
        """The assignment's test and given cells, parsed by each server before its first fork (warm.Pair.teach)."""
        for slot in self.slots:
            if slot.pair is not None:
                slot.pair.teach(tests, given)

    def wait_started(self) -> None:
        """Block until every server has imported its libraries (or failed: its first job says why)."""
        for slot in self.slots:
            if slot.pair is not None:
                try:
                    slot.pair.wait_ready()
                except Exception:  # noqa: BLE001 (the job that takes this slot renews the server or fails)
                    pass

    def close(self) -> None:
        for slot in self.slots:
            if slot.pair is not None:
                slot.pair.stop()


async def execute_all(
    jobs: list[Job],
    slots: WorkerSlots,
    progress: bool,
    on_done,
    before=lambda: None,
    files: dict[str, bytes] | None = None,
) -> None:
    """Run every job on the slots; `on_done(job)` (scoring, the gradebook) runs in one writer thread, one job
    at a time, so the event loop keeps feeding cells to the other kernels meanwhile. `before()` runs first
    in that thread (the gradebook's copy of the assignment), while the first notebooks already run.

    Interrupted (Ctrl-C or SIGTERM cancel this coroutine) or failed, it stops every kernel at once and records
    nothing more but what the writer has already begun: nbclient reports a cancelled cell as a dead kernel,
    which must not be graded as one."""
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gradebook")
    loop = asyncio.get_running_loop()
    # the kernel servers' calls run in the loop's default threads (grader/kernels/warm.py): room for each slot's
    # few at once, where asyncio's default (cores + 4, at most 32) let a few slots waiting on their servers
    # hold every thread the others need
    loop.set_default_executor(
        ThreadPoolExecutor(max_workers=4 * len(slots.slots) + 4, thread_name_prefix="slot")
    )
    ready = loop.run_in_executor(writer, before)
    bar = Progress(len(jobs), progress)
    stopping = False

    async def run(job: Job) -> None:
        slot = await slots.take()
        try:
            # the assignment's files
            job.executed = await execute_async(job.notebook, slot.settings, slot.pair, files=files)
        finally:
            slots.give_back(slot)
        if stopping:  # cut short: not what the student's notebook did
            return
        await ready  # its error (say, nbgrader could not read source/) ends the run before any recording
        await loop.run_in_executor(writer, on_done, job)
        bar.done(job.executed)

    tasks = [ready, *(asyncio.ensure_future(run(job)) for job in jobs)]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            task.result()  # the first error, if any
    except BaseException:
        stopping = True
        for task in tasks:
            task.cancel()
        slots.close()  # a kernel that a cancellation does not reach dies with its server
        await asyncio.wait(tasks)
        raise
    finally:
        bar.close()
        writer.shutdown()
