"""Shared fixtures: a tiny course (one assignment, two functions) for fast tests of the pipeline, and the real
course for the tests of the real notebooks. Both grade real notebooks in real kernels."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import sys
import time
import uuid
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests.catalogue
EXAMPLES = "programacao_diferenciavel"  # the assignment of examples/submissions/

# Every process this suite starts inherits this variable (a sandbox clears the environment inside, but all of
# it dies with its bwrap, which has it); whatever still has it at the end outlived the test that started it,
# even once reparented to PID 1. Unique per run: other runs on the machine are not ours to judge.
RUN_MARK = "GRADER_TEST_RUN"
_TESTS_STARTED: list[tuple[float, str]] = []  # (seconds since boot, test id)
# Python's own helpers of this process (multiprocessing starts a resource tracker for the Dask workers): they
# read a pipe from it and end with it.
_OWN_HELPERS = (b"from multiprocessing.resource_tracker import main", b"from multiprocessing.forkserver import main")


def pytest_configure(config):
    os.environ[RUN_MARK] = uuid.uuid4().hex  # here: test modules import this file a second time


def pytest_runtest_logstart(nodeid, location):
    _TESTS_STARTED.append((time.clock_gettime(time.CLOCK_BOOTTIME), nodeid))


def _own_helper(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return any(helper in cmdline for helper in _OWN_HELPERS)


def _describe(pid: int, stat: str) -> str:
    """One line that names a process: pid, parent, state, command line, and the test it was started in."""
    fields = stat.rsplit(")", 1)[1].split()
    tick = 1 / os.sysconf("SC_CLK_TCK")
    started = int(fields[19]) * tick  # starttime, seconds since boot, in whole ticks
    test = next((t for when, t in reversed(_TESTS_STARTED) if when <= started + tick), "(before the first test)")
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        cmdline = ""
    return f"pid {pid} (parent {fields[1]}, state {fields[0]}): {cmdline[:160]} [started in {test}]"


def _marked_processes(name: str = RUN_MARK, value: str | None = None) -> dict[int, str]:
    """Live processes (zombies are dead) whose environment has name=value (default: this run's mark), each
    described in one line."""
    wanted = f"{name}={os.environ[name] if value is None else value}".encode()
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            if wanted not in Path(f"/proc/{entry}/environ").read_bytes().split(b"\0"):
                continue
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:  # gone, or not ours to read
            continue
        state, parent = stat.rsplit(")", 1)[1].split()[:2]
        if state in ("Z", "X") or (int(parent) == os.getpid() and _own_helper(int(entry))):
            continue
        found[int(entry)] = _describe(int(entry), stat)
    return found


def _left_behind(name: str = RUN_MARK, value: str | None = None, wait_s: float = 15) -> list[str]:
    """What is still alive after `wait_s` (a process killed a moment ago takes its sandbox along in a few
    milliseconds); those are SIGKILLed, so that a failing run leaves nothing either."""
    deadline = time.monotonic() + wait_s
    while (left := _marked_processes(name, value)) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return sorted(left.values())


@pytest.fixture(scope="session", autouse=True)
def no_process_outlives_the_suite():
    """After the last test (this fixture is torn down after every other one): no process the suite started,
    bwrap, zygote, kernel, Dask worker or grader, is still alive."""
    yield
    left = _left_behind()
    assert not left, "processes started by the tests are still alive:\n" + "\n".join(left)


@pytest.fixture
def left_behind():
    """`left_behind(name, value)`: the live processes whose environment has name=value, after a few seconds
    for them to end (a fixture, so that the test ids it gives come from this module as pytest loaded it)."""
    return _left_behind


def nbgrader(cell, grade_id, *, grade=False, solution=False, locked=False, points=0):
    cell.metadata["nbgrader"] = {
        "grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
        "solution": solution, "task": False,
    }
    if grade:
        cell.metadata["nbgrader"]["points"] = points
    return cell


def mini_source() -> nbformat.NotebookNode:
    return new_notebook(
        cells=[
            new_markdown_cell("# Mini atividade\nEscreva as funções abaixo."),
            nbgrader(new_code_cell("import math"), "preparo", locked=True),
            nbgrader(new_code_cell(
                'def dobro(x):\n    """O dobro de x."""\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION'
            ), "resposta_dobro", solution=True),
            nbgrader(new_code_cell(
                'assert dobro(2) == 4, f"dobro(2) deveria ser 4, mas é {dobro(2)}"\n'
                "### BEGIN HIDDEN TESTS\n"
                'assert dobro(-3) == -6, "dobro(-3) deveria ser -6"\n'
                "### END HIDDEN TESTS"
            ), "dobro_valores", grade=True, locked=True, points=1),
            new_markdown_cell("Agora o quadrado."),
            nbgrader(new_code_cell(
                'def quadrado(x):\n    """x ao quadrado."""\n    ### BEGIN SOLUTION\n    return x * x\n    ### END SOLUTION'
            ), "resposta_quadrado", solution=True),
            nbgrader(new_code_cell(
                'assert quadrado(3) == 9, f"quadrado(3) deveria ser 9, mas é {quadrado(3)}"\n'
                "### BEGIN HIDDEN TESTS\n"
                'assert quadrado(-4) == 16, "quadrado(-4) deveria ser 16"\n'
                "### END HIDDEN TESTS"
            ), "quadrado_valores", grade=True, locked=True, points=2),
            nbgrader(new_markdown_cell("Explique: ### BEGIN SOLUTION\nPorque sim.\n### END SOLUTION"),
                     "resposta_explicacao", grade=True, solution=True, points=1),
        ],
        metadata={"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
    )


def course_config(assignments: list[str], **values) -> str:
    """The real grader_config.py with other assignments and values (e.g. SANDBOX=False)."""
    from grader.course.init import config_text

    values = {"ASSIGNMENTS": assignments, "CELL_TIMEOUT_S": 30, "SUBMISSION_TIMEOUT_S": 120, **values}
    return config_text((REPO / "grader_config.py").read_text(), values)


@pytest.fixture(scope="session")
def sandbox_available() -> bool:
    from grader.kernels import sandbox

    return sandbox.unavailable_reason() is None


def build_example_course(course: Path, sandbox_available: bool):
    """A copy of the real course (source/ and release/) in `course`; its settings."""
    from grader.config import load_settings

    for part in ("source", "release"):
        shutil.copytree(REPO / part, course / part)
    (course / "grader_config.py").write_text(course_config([EXAMPLES, "grafo_computacional"],
                                                           SANDBOX=sandbox_available, CELL_TIMEOUT_S=120,
                                                           SUBMISSION_TIMEOUT_S=600))
    return load_settings(course)


def grade_examples(settings, **options):
    """Grade the example class as `grader demo` does: the run, scores.json's students by id, the max score."""
    from grader.grading import pipeline

    options = pipeline.GradeOptions(submissions=REPO / "examples" / "submissions" / EXAMPLES,
                                    report_dir=settings.course_dir / "reports", progress=False, **options)
    run = pipeline.grade(settings, EXAMPLES, options)
    scores = json.loads((settings.course_dir / "reports" / EXAMPLES / "scores.json").read_text())
    return run, {s["student_id"]: s for s in scores["students"]}, scores["max_score"]


@pytest.fixture(scope="session")
def graded_examples(tmp_path_factory, sandbox_available):
    """The example class graded once on this machine, for every test that needs it (it takes minutes)."""
    return grade_examples(build_example_course(tmp_path_factory.mktemp("curso"), sandbox_available))


@pytest.fixture
def mini_course(tmp_path, sandbox_available):
    """A course folder with the released `mini` assignment; its settings."""
    return build_mini_course(tmp_path, sandbox_available)


# A test whose verdict is measured in the student's kernel (grader/grading/tamper.py holds it for review when the
# student's code hooks IPython): dobro must answer within seconds.
PROBE_TEST = (
    "def _no_kernel_do_aluno(funcao):\n"
    '    """Na correção, a função marcada assim roda no kernel do aluno (mede o que só existe lá)."""\n'
    "    return funcao\n\n\n"
    "@_no_kernel_do_aluno\n"
    "def _segundos(chamada):\n"
    "    import time\n"
    "    inicio = time.perf_counter()\n"
    "    chamada()\n"
    "    return time.perf_counter() - inicio\n\n\n"
    'assert _segundos(lambda: dobro(10**6)) < 5, "dobro deveria responder em segundos"'
)


def build_mini_course(tmp_path: Path, sandbox_available: bool, *, probe: bool = False):
    from grader.config import load_settings
    from grader.course import release

    course = tmp_path / "curso"
    (course / "source" / "mini").mkdir(parents=True)
    (course / "source" / "outra").mkdir(parents=True)
    (course / "grader_config.py").write_text(course_config(["mini", "outra"], SANDBOX=sandbox_available))
    source = mini_source()
    if probe:
        source.cells.insert(4, nbgrader(new_code_cell(PROBE_TEST), "dobro_rapida", grade=True, locked=True,
                                        points=1))
    nbformat.write(source, course / "source" / "mini" / "mini.ipynb")
    other = new_notebook(cells=[new_markdown_cell("# Outra atividade"), new_code_cell("print('outra')")])
    nbformat.write(other, course / "source" / "outra" / "outra.ipynb")
    settings = load_settings(course)
    release.generate(settings, "mini")
    return settings


def tree_digest(root: Path) -> str:
    """Names, contents and modification times of everything under `root`: equal digests, an untouched tree."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        digest.update(str(path.relative_to(root)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
            digest.update(str(path.stat().st_mtime_ns).encode())
    return digest.hexdigest()
