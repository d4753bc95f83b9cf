"""The execute stage on a Dask cluster (grader/grading/cluster.py): the example class graded through a local cluster of
two worker processes, in real kernels, must get exactly what the local path gives; and the errors an instructor
can cause (no scheduler there, no GPU worker) end in one line."""

from __future__ import annotations

import asyncio
import os
import time

import nbformat
import pytest

from grader import cli
from grader.errors import UserError
from grader.grading import cluster
from grader.kernels.execute import ExecutionSettings
from tests.helpers import build_example_course, grade_examples

pytestmark = pytest.mark.slow  # a Dask cluster of two workers, real kernels


@pytest.fixture(scope="module")
def dask_cluster():
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as local:
        yield local


def cells_passed(student):
    return {grade_id: cell["passed"] for grade_id, cell in student["cells"].items()}


def test_cluster_grades_the_class_like_the_local_path(
    graded_examples, dask_cluster, tmp_path, sandbox_available
):
    _, local, local_max = graded_examples
    settings = build_example_course(tmp_path / "curso", sandbox_available)
    run, remote, remote_max = grade_examples(settings, scheduler=dask_cluster.scheduler_address)
    assert remote_max == local_max
    assert sorted(remote) == sorted(local)
    for student_id, expected in local.items():
        got = remote[student_id]
        assert (got["score"], got["status"]) == (expected["score"], expected["status"]), student_id
        assert cells_passed(got) == cells_passed(expected), student_id
    assert (run.device, run.workers) == ("cpu", 2)
    assert any(dask_cluster.scheduler_address in note for note in run.notes)


def test_worker_fills_in_its_gpu_and_threads(dask_cluster):
    from distributed import Client

    with Client(dask_cluster.scheduler_address, set_as_default=False) as client:
        on_worker = client.submit(
            cluster.worker_settings, ExecutionSettings(gpu=cluster.WORKER_GPU), pure=False
        ).result()
        cpu_only = client.submit(cluster.worker_settings, ExecutionSettings(), pure=False).result()
    expected_gpu = os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",")[0].strip() or "0"
    assert on_worker.gpu == expected_gpu
    assert cpu_only.gpu is None
    assert cpu_only.threads == max(1, len(os.sched_getaffinity(0)))  # one thread per worker: all its cores


def test_cuda_without_gpu_workers_is_one_line(dask_cluster):
    run = cluster.execute_all_on_cluster(
        dask_cluster.scheduler_address,
        [],
        ExecutionSettings(use_sandbox=False),
        True,
        False,
        lambda job: None,
    )
    with pytest.raises(UserError, match="nenhum worker .* declara GPU") as error:
        asyncio.run(run)
    assert "\n" not in str(error.value) and "--resources GPU=1" in str(error.value)


def test_unreachable_scheduler_is_one_line(mini_course, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_S", 2)
    release = nbformat.read(mini_course.release_dir / "mini" / "mini.ipynb", as_version=4)
    (tmp_path / "subs" / "aluno").mkdir(parents=True)
    nbformat.write(release, tmp_path / "subs" / "aluno" / "mini.ipynb")
    started = time.monotonic()
    status = cli.main(
        [
            "--course-dir",
            str(mini_course.course_dir),
            "grade",
            "mini",
            "--submissions",
            str(tmp_path / "subs"),
            "--no-progress",
            "--scheduler",
            "tcp://127.0.0.1:1",
        ]
    )
    err = capsys.readouterr().err.strip()
    assert status == 2
    assert err == (
        "erro: não foi possível conectar ao scheduler Dask em tcp://127.0.0.1:1 (sem resposta em 2 s): "
        "confira o endereço e se `dask scheduler` está rodando"
    )
    assert time.monotonic() - started < 60
