"""The catalogues of answers (tests/catalogue/<assignment>.py), each graded as a real submission in a real kernel:
every wrong answer loses points in exactly the test cells meant to catch it and keeps them elsewhere, every
right answer earns full marks."""

from __future__ import annotations

import copy
import importlib
import os

import nbformat
import pytest

from grader.config import load_settings
from grader.pipeline import Assignment, execution_settings, grade_notebooks
from grader.release import solved_copy
from tests.conftest import REPO

SETTINGS = load_settings(REPO)
CATALOGUES = {name: importlib.import_module(f"tests.catalogue.{name}").ANSWERS for name in SETTINGS.assignments}
CASES = [(name, answer) for name, answers in CATALOGUES.items() for answer in answers]


@pytest.fixture(scope="module")
def graded(sandbox_available):
    """Every answer of every catalogue, graded in one parallel batch per assignment."""
    workers = os.cpu_count() or 1
    results = {}
    for name, answers in CATALOGUES.items():
        assignment = Assignment.load(SETTINGS, name)
        (notebook,) = assignment.sources  # one notebook per assignment
        base = solved_copy(assignment.sources[notebook])
        variants = {}
        for answer in answers:
            nb = copy.deepcopy(base)
            cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == answer.cell]
            assert len(cells) == 1, f"{answer.name}: no answer cell {answer.cell!r}"
            cells[0].source = answer.code
            variants[answer.name] = (notebook, nb)
        settings = execution_settings(SETTINGS, workers, sandbox_available)
        for label, result in grade_notebooks(assignment, variants, settings, workers).items():
            results[(name, label)] = result
    wrong = [(n, a) for n, a in CASES if not a.is_right]
    caught = sum(_failed(results[(n, a.name)]) == a.must_fail for n, a in wrong)
    accepted = sum(not _failed(results[(n, a.name)]) for n, a in CASES if a.is_right)
    print(f"\ncatálogo: erradas pegas {caught}/{len(wrong)}, certas aceitas {accepted}/{len(CASES) - len(wrong)}")
    return results


def _failed(result) -> frozenset[str]:
    return frozenset(c.grade_id for c in result.cells.values() if not c.manual and not c.passed)


def test_catalogue_size():
    for name, answers in CATALOGUES.items():
        by_cell: dict[str, list] = {}
        for answer in answers:
            by_cell.setdefault(answer.cell, []).append(answer)
        source = nbformat.read(REPO / "source" / name / f"{name}.ipynb", 4)
        answer_cells = {c.metadata["nbgrader"]["grade_id"] for c in source.cells
                        if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"}
        assert set(by_cell) == answer_cells, f"{name}: catalogue and answer cells differ"
        for cell, group in by_cell.items():
            assert sum(not a.is_right for a in group) >= 3, f"{name}/{cell}: fewer than 3 wrong answers"
            assert sum(a.is_right for a in group) >= 2, f"{name}/{cell}: fewer than 2 right answers"
        assert len({a.name for a in answers}) == len(answers), f"{name}: repeated answer names"


@pytest.mark.parametrize("assignment, answer", CASES, ids=[f"{n}:{a.name}" for n, a in CASES])
def test_answer(graded, assignment, answer):
    result = graded[(assignment, answer.name)]
    assert not result.flags, f"{answer.name} was flagged: {result.flags}"
    failed = _failed(result)
    messages = {c.grade_id: c.message for c in result.cells.values() if c.grade_id in failed}
    assert failed == answer.must_fail, (
        f"{answer.name} ({answer.why}): failed {sorted(failed)}, expected {sorted(answer.must_fail)}; {messages}"
    )
    for grade_id in failed:  # every failure tells the student something
        assert messages[grade_id].strip(), f"{grade_id} failed without a message"
