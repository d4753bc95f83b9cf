"""The execute stage on a Dask cluster: `grader grade ... --scheduler tcp://host:8786`.

Only notebooks travel: the normalized notebook, the (picklable) ExecutionSettings and the assignment's other
files (data, images; with each notebook) go to a worker, which calls the same `execute.execute` as the local
pool; the Executed comes back. Scoring, the gradebook and the
reports stay in the instructor's process (pipeline.grade), which handles each result as it arrives.
"""

from __future__ import annotations

import os
from dataclasses import replace

from distributed import Client, Future, as_completed, get_worker

from grader.errors import UserError
from grader.grading.workers import Progress
from grader.kernels import execute, sandbox
from grader.kernels.execute import Executed, ExecutionSettings
from grader.model import Status

WORKER_GPU = "worker"  # settings.gpu sentinel: the worker puts in its own GPU (it knows it, we do not)
CONNECT_TIMEOUT_S = 10
WAIT_FOR_WORKERS_S = 30


def worker_settings(settings: ExecutionSettings) -> ExecutionSettings:
    """On the worker: the settings with this machine's GPU and share of cores."""
    state = get_worker().state
    try:
        # the cores this worker may use (Slurm, taskset), not the machine's
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        cores = os.cpu_count() or 1
    concurrent = state.nthreads
    changes: dict = {}
    if settings.gpu == WORKER_GPU:
        # one worker process per GPU (README): its CUDA_VISIBLE_DEVICES names it, Slurm's --gres sets it
        changes["gpu"] = os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",")[0].strip() or "0"
        # with resources={"GPU": 1}, no more kernels run at once than the worker has GPUs
        concurrent = min(concurrent, max(1, int(state.total_resources.get("GPU", 1))))
    changes["threads"] = max(1, cores // concurrent)
    return replace(settings, **changes)


def run_notebook(nb, settings: ExecutionSettings, files: dict[str, bytes] | None = None) -> Executed:
    """The task a worker runs: one notebook. Runs in a worker thread, which outlives the kernel (the sandbox
    dies with the thread that started it)."""
    return execute.execute(nb, worker_settings(settings), files)


def worker_problem(use_sandbox: bool) -> str:
    """On each worker before the run: why it cannot grade, or "". A worker without the sandbox would
    otherwise fail every notebook it gets, and record zeros."""
    if use_sandbox:
        return sandbox.unavailable_reason() or ""
    return ""


async def execute_all_on_cluster(
    address: str,
    jobs: list,
    base: ExecutionSettings,
    use_gpu: bool | None,
    progress: bool,
    on_done,
    files: dict[str, bytes] | None = None,
) -> tuple[str, int]:
    """Run every job's notebook on the cluster at `address`, like grader/grading/workers.execute_all: set job.executed and
    call on_done(job) here, as each result arrives. use_gpu None: GPUs when a worker declares one.
    Returns the device used and how many notebooks the cluster runs at once."""
    try:
        client = await Client(address, asynchronous=True, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except Exception as exc:  # noqa: BLE001 (distributed raises anything for a bad address or protocol)
        reason = f"sem resposta em {CONNECT_TIMEOUT_S} s" if isinstance(exc, OSError) else _describe(exc)
        raise UserError(
            f"não foi possível conectar ao scheduler Dask em {address} ({reason}): "
            "confira o endereço e se `dask scheduler` está rodando"
        ) from None
    try:
        workers = await _workers(client, address, base.use_sandbox)
        gpu_workers = [w for w in workers.values() if w["resources"].get("GPU", 0) >= 1]
        if use_gpu and not gpu_workers:
            raise UserError(
                f"--device cuda, mas nenhum worker do scheduler Dask em {address} declara GPU: "
                "inicie cada worker com `--resources GPU=1` (e seu CUDA_VISIBLE_DEVICES), "
                "ou use --device cpu"
            )
        use_gpu = bool(gpu_workers) if use_gpu is None else use_gpu
        if use_gpu:
            slots = sum(int(w["resources"]["GPU"]) for w in gpu_workers)
        else:
            slots = sum(w["nthreads"] for w in workers.values())
        await _run(
            client,
            jobs,
            replace(base, gpu=WORKER_GPU if use_gpu else None),
            use_gpu,
            progress,
            on_done,
            files,
        )
    finally:
        await client.close()
    return ("cuda" if use_gpu else "cpu"), slots


async def _workers(client: Client, address: str, use_sandbox: bool) -> dict[str, dict]:
    """The running workers (scheduler's view), once at least one is there and all can grade."""
    try:
        await client.wait_for_workers(1, timeout=WAIT_FOR_WORKERS_S)
    except TimeoutError:
        raise UserError(
            f"o scheduler Dask em {address} não tem nenhum worker (esperei {WAIT_FOR_WORKERS_S} s): "
            f"inicie `dask worker {address}` nas máquinas de correção"
        ) from None
    try:
        problems = await client.run(worker_problem, use_sandbox)
    except Exception as exc:  # noqa: BLE001 (the worker's own error, re-raised here: any type)
        # e.g. the grader is not installed there: the function cannot even load
        raise UserError(
            f"um worker Dask não tem o ambiente do curso ({_describe(exc)}): instale este "
            "repositório (.venv, pip install -e .) e o bubblewrap em cada máquina"
        ) from None
    for worker, problem in problems.items():
        if problem:
            raise UserError(
                f"o worker Dask {worker} não pode corrigir: {problem}; para corrigir mesmo assim, "
                "sem isolamento, use --no-sandbox"
            )
    # an asynchronous client's scheduler_info() holds no workers: ask the scheduler
    info = await client.scheduler.identity(n_workers=-1)
    return {a: w for a, w in info["workers"].items() if w.get("status", "running") == "running"}


async def _run(
    client: Client,
    jobs: list,
    settings: ExecutionSettings,
    use_gpu: bool,
    progress: bool,
    on_done,
    files: dict[str, bytes] | None = None,
) -> None:
    bar = Progress(len(jobs), progress)
    # a worker started with --resources GPU=1 runs one submission per GPU at a time
    resources = {"GPU": 1} if use_gpu else None
    futures = {
        client.submit(run_notebook, job.notebook, settings, files, pure=False, resources=resources): job
        for job in jobs
    }
    try:
        async for future in as_completed(futures, loop=client.loop):  # not set_as_default: say the loop
            job = futures[future]
            job.executed = await _outcome(future, job)
            on_done(job)
            bar.done(job.executed)
    finally:
        bar.close()


async def _outcome(future: Future, job) -> Executed:
    """What came back, or, when the task failed on the cluster (worker died, lost connection), an error
    for this notebook alone: the rest of the class goes on."""
    if future.status == "finished":
        try:
            return await future
        except Exception as exc:  # noqa: BLE001 (what the task or unpickling its result raised: any type)
            problem = _describe(exc)
    elif future.status == "error":
        exc = await future.exception()
        if type(exc).__name__ == "KilledWorker":
            problem = "o worker Dask morreu em todas as tentativas de rodar esta submissão"
        else:
            problem = _describe(exc)
    else:
        problem = "tarefa cancelada (conexão com o scheduler perdida?)"
    message = f"falha no cluster Dask: {problem}; corrija de novo"
    # the notebook came back without outputs: every code cell fails, or its tests would pass untouched
    for cell in job.notebook.cells:
        if cell.cell_type == "code":
            cell.outputs.append(execute.error_output("FalhaNoCluster", message))
    return Executed(notebook=job.notebook, status=Status.ERROR, message=message)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
