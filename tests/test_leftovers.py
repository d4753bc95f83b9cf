"""No process outlives the grader: a kernel server stopped at any moment of its start, a grader killed while
its servers start, and a `grader grade` interrupted mid-run (Ctrl-C, SIGTERM, SIGKILL) leave nothing behind,
and what was graded before the interruption stays saved. (conftest.py checks the same for the whole suite.)"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid

import nbformat
import pytest
from nbgrader.api import Gradebook

from grader.course.release import solved_copy
from grader.kernels import warm
from grader.kernels.execute import ExecutionSettings
from grader.kernels.warm import warm_key
from grader.model import RESULT_FILE
from tests.helpers import REPO, cell_by_grade_id

pytestmark = pytest.mark.slow  # warm servers, kernels and graders started and killed

CASE_MARK = "GRADER_TEST_CASE"  # next to conftest's run mark: what one test started


@pytest.fixture
def case_mark(monkeypatch) -> str:
    """A mark that every process started from now on by this test (directly or not) carries."""
    mark = uuid.uuid4().hex
    monkeypatch.setenv(CASE_MARK, mark)
    return mark


@pytest.mark.sandbox
def test_a_server_stopped_while_it_starts_leaves_nothing(case_mark, left_behind, sandbox_available):
    # bwrap killed before its sandbox's first process armed --die-with-parent used to leave that process
    # behind for ever (a start raced by a stop: a spare slot, a run that fails at once)
    if not sandbox_available:
        pytest.skip("sem sandbox: o servidor é um processo só, parado pela entrada fechada")
    settings = ExecutionSettings(preload=())
    for _ in range(30):
        server = warm.ForkServer(warm_key(settings))
        time.sleep(random.uniform(0, 0.03))  # anywhere in bwrap's start and the sandbox's set-up
        server.stop()
    assert left_behind(CASE_MARK, case_mark) == []


# A grader that starts a warm server, says so, and waits to be killed.
GRADER_THAT_STARTS_A_SERVER = """
import sys, time
from grader.kernels import warm
from grader.kernels.execute import ExecutionSettings
from grader.kernels.warm import warm_key
server = warm.ForkServer(warm_key(ExecutionSettings(use_sandbox={sandbox}, preload=())))
print("started", flush=True)
time.sleep(600)
"""


def test_a_grader_killed_while_its_server_starts_leaves_nothing(case_mark, left_behind, sandbox_available):
    code = GRADER_THAT_STARTS_A_SERVER.format(sandbox=sandbox_available)
    for _ in range(8):
        grader = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE)
        assert grader.stdout.readline() == b"started\n"
        time.sleep(random.uniform(0, 0.05))
        grader.kill()  # no clean-up code runs: only what the kernel guarantees
        grader.wait()
        grader.stdout.close()
    assert left_behind(CASE_MARK, case_mark) == []


def _class_with_slow_students(settings, folder):
    """Two students graded in a second, then two whose first answer cell sleeps: with two workers the quick
    ones are recorded while the slow ones are still running."""
    source = nbformat.read(settings.source_dir / "mini" / "mini.ipynb", as_version=4)
    right = solved_copy(source)
    slow = solved_copy(source)
    answer = cell_by_grade_id(slow, "resposta_dobro")
    answer.source = "import time\ntime.sleep(600)\n" + answer.source
    for student, nb in [("a_rapida", right), ("b_rapida", right), ("c_lenta", slow), ("d_lenta", slow)]:
        (folder / student / "mini").mkdir(parents=True)
        nbformat.write(nb, folder / student / "mini" / "mini.ipynb")


def _wait_for(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def _sigint_as_in_a_terminal():
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=lambda s: s.name)
def test_interrupted_grading_leaves_nothing_and_keeps_what_was_graded(
    mini_course, tmp_path, case_mark, left_behind, signum
):
    settings = mini_course
    _class_with_slow_students(settings, tmp_path / "entregas")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    grader = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "grader.cli",
            "--course-dir",
            str(settings.course_dir),
            "grade",
            "mini",
            "--submissions",
            str(tmp_path / "entregas"),
            "--report-dir",
            str(tmp_path / "relatorios"),
            "--workers",
            "2",
            "--no-progress",
        ],
        cwd=settings.course_dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # as a terminal starts it: a test run started in the background by a shell (`./tasks test &`, no job
        # control) ignores SIGINT, its children inherit that, and Python then leaves Ctrl-C ignored
        preexec_fn=_sigint_as_in_a_terminal,
    )
    quick = ["a_rapida", "b_rapida"]
    saved = [settings.autograded_dir / student / "mini" / RESULT_FILE for student in quick]
    try:
        _wait_for(
            lambda: all(path.exists() for path in saved) or grader.poll() is not None,
            300,
            "the quick students were never recorded",
        )
        assert grader.poll() is None, grader.communicate()
        time.sleep(2)  # the slow students' kernels are running their sleep
        grader.send_signal(signum)
        out, err = grader.communicate(timeout=120)
    finally:
        if grader.poll() is None:
            grader.kill()
    if signum == signal.SIGKILL:
        assert grader.returncode == -signal.SIGKILL
    else:  # Ctrl-C and SIGTERM alike: one line, the exit status of the signal
        assert grader.returncode == 128 + signum, err
        assert err.strip().splitlines() == [
            "interrompido: o que já foi corrigido está salvo em autograded/ e no gradebook"
        ], err
    assert left_behind(CASE_MARK, case_mark) == []
    for path in saved:
        result = json.loads(path.read_text())
        assert result["recorded"] and result["status"] == "graded", result
    with Gradebook(settings.db_url) as gb:
        assert [gb.find_submission("mini", student).score for student in quick] == [3.0, 3.0]
