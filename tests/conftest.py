"""Shared fixtures (their helpers are in tests/helpers.py): a tiny course (one assignment, two functions) for
fast tests of the pipeline, the real course and the example class graded once, and the check that no process
the suite started outlives it. Test files never import this file."""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

import pytest

from tests.helpers import REPO, build_example_course, build_mini_course, grade_examples

# Every process this suite starts inherits this variable (a sandbox clears the environment inside, but all of
# it dies with its bwrap, which has it); whatever still has it at the end outlived the test that started it,
# even once reparented to PID 1. Unique per run: other runs on the machine are not ours to judge.
RUN_MARK = "GRADER_TEST_RUN"
_TESTS_STARTED: list[tuple[float, str]] = []  # (seconds since boot, test id)
# Python's own helpers of this process (multiprocessing starts a resource tracker for the Dask workers): they
# read a pipe from it and end with it.
_OWN_HELPERS = (
    b"from multiprocessing.resource_tracker import main",
    b"from multiprocessing.forkserver import main",
)


def pytest_configure(config):
    os.environ[RUN_MARK] = uuid.uuid4().hex


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
    test = next(
        (t for when, t in reversed(_TESTS_STARTED) if when <= started + tick), "(before the first test)"
    )
    try:
        cmdline = (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        )
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


@pytest.fixture(scope="session")
def sandbox_available() -> bool:
    from grader.kernels import sandbox

    return sandbox.unavailable_reason() is None


@pytest.fixture(scope="session")
def graded_examples(tmp_path_factory, sandbox_available):
    """The example class graded once on this machine, for every test that needs it (it takes minutes)."""
    return grade_examples(build_example_course(tmp_path_factory.mktemp("curso"), sandbox_available))


@pytest.fixture
def mini_course(tmp_path, sandbox_available):
    """A course folder with the released `mini` assignment; its settings."""
    return build_mini_course(tmp_path, sandbox_available)


@pytest.fixture(scope="session")
def repo_settings():
    """The real course's settings (grader_config.py at the repository's root)."""
    from grader.config import load_settings

    return load_settings(REPO)
