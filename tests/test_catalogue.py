"""The catalogues of answers (tests/catalogue/<assignment>.py), each graded as a real submission in a real kernel:
every wrong answer loses points in exactly the test cells meant to catch it and keeps them elsewhere, every
right answer earns full marks."""

from __future__ import annotations

import copy
import importlib
import os
import re

import nbformat
import pytest

from grader.course.release import solved_copy
from grader.grading.pipeline import execution_settings, grade_notebooks
from grader.intake.assignment import Assignment
from grader.nbmeta import nbgrader_meta
from tests.helpers import REPO, repo_assignments

CATALOGUES = {name: importlib.import_module(f"tests.catalogue.{name}").ANSWERS for name in repo_assignments()}
CASES = [(name, answer) for name, answers in CATALOGUES.items() for answer in answers]


def packs(answers, solutions: dict[str, str]) -> list[list]:
    """Answers grouped so that notebook k holds the k-th answer of every answer cell (the other cells keep the
    solution): as many kernels as the longest list of answers for one cell, not one per answer. Test cells
    call only the function they test, so answers to different cells do not see each other; an answer that
    calls another graded function that its solution does not call (say, the vectorized product calling the
    loop) runs alone, beside the solution of everything else; so does one the audit must flag (its flags are the
    notebook's)."""
    functions = {a.cell.removeprefix("resposta_") for a in answers}

    def calls(code: str) -> set[str]:
        return {f for f in functions if re.search(rf"\b{re.escape(f)}\s*\(", code)}

    by_cell: dict[str, list] = {}
    alone = []
    for answer in answers:
        if answer.audit or calls(answer.code) - calls(solutions[answer.cell]) - {
            answer.cell.removeprefix("resposta_")
        }:
            alone.append([answer])
        else:
            by_cell.setdefault(answer.cell, []).append(answer)
    depth = max(len(group) for group in by_cell.values())
    return [[group[k] for group in by_cell.values() if k < len(group)] for k in range(depth)] + alone


@pytest.fixture(scope="module")
def graded(sandbox_available, repo_settings):
    """answer name -> (failed cells of its pack, cells its pack may fail, flags), graded in real kernels."""
    workers = os.cpu_count() or 1
    outcome, variants_run = {}, []
    for name, answers in CATALOGUES.items():
        assignment = Assignment.load(repo_settings, name)
        (notebook,) = assignment.sources  # one notebook per assignment
        base = solved_copy(assignment.sources[notebook])
        variants, members = {}, {}
        for index, pack in enumerate(packs(answers, solutions(base))):
            nb = copy.deepcopy(base)
            for answer in pack:
                cells = [c for c in nb.cells if nbgrader_meta(c).get("grade_id") == answer.cell]
                assert len(cells) == 1, f"{answer.name}: no answer cell {answer.cell!r}"
                cells[0].source = answer.code
            variants[f"pacote-{index}"] = (notebook, nb)
            members[f"pacote-{index}"] = pack
        variants_run += list(variants)
        settings = execution_settings(repo_settings, workers, sandbox_available, assignment)
        for label, result in grade_notebooks(assignment, variants, settings, workers).items():
            allowed = frozenset().union(*(a.must_fail for a in members[label]))
            for answer in members[label]:
                # cells another answer of the pack must fail (a function that calls another) say nothing of it
                others = frozenset().union(*(a.must_fail for a in members[label] if a is not answer))
                outcome[(name, answer.name)] = (
                    _failed(result) - (others - answer.must_fail),
                    allowed,
                    result.flags,
                    result,
                )
    wrong = [(n, a) for n, a in CASES if not a.is_right]
    caught = sum(_ok(a, outcome[(n, a.name)]) for n, a in wrong)
    accepted = sum(_ok(a, outcome[(n, a.name)]) for n, a in CASES if a.is_right)
    print(
        f"\ncatálogo: erradas pegas {caught}/{len(wrong)}, certas aceitas {accepted}/{len(CASES) - len(wrong)}, "
        f"em {len(variants_run)} notebooks"
    )
    return outcome


def solutions(nb) -> dict[str, str]:
    return {
        c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells if nbgrader_meta(c).get("solution")
    }


def _failed(result) -> frozenset[str]:
    return frozenset(c.grade_id for c in result.cells.values() if not c.manual and not c.passed)


def _own_cells(answer, failed) -> frozenset[str]:
    function = answer.cell.removeprefix("resposta_")
    return frozenset(g for g in failed if g.startswith(function))


def _ok(answer, outcome) -> bool:
    failed, allowed, flags, _ = outcome
    return (
        set(flags) == {f"auditoria: {finding}" for finding in answer.audit}
        and answer.must_fail <= failed
        and failed <= allowed
        and _own_cells(answer, failed) <= answer.must_fail
    )


def test_catalogue_size():
    for name, answers in CATALOGUES.items():
        by_cell: dict[str, list] = {}
        for answer in answers:
            by_cell.setdefault(answer.cell, []).append(answer)
        source = nbformat.read(REPO / "source" / name / f"{name}.ipynb", 4)
        answer_cells = {
            c.metadata["nbgrader"]["grade_id"]
            for c in source.cells
            if nbgrader_meta(c).get("solution") and c.cell_type == "code"
        }
        assert set(by_cell) == answer_cells, f"{name}: catalogue and answer cells differ"
        for cell, group in by_cell.items():
            assert sum(not a.is_right for a in group) >= 3, f"{name}/{cell}: fewer than 3 wrong answers"
            assert sum(a.is_right for a in group) >= 2, f"{name}/{cell}: fewer than 2 right answers"
        assert len({a.name for a in answers}) == len(answers), f"{name}: repeated answer names"


@pytest.mark.slow
@pytest.mark.parametrize("assignment, answer", CASES, ids=[f"{n}:{a.name}" for n, a in CASES])
def test_answer(graded, assignment, answer):
    failed, allowed, flags, result = graded[(assignment, answer.name)]
    assert set(flags) == {f"auditoria: {finding}" for finding in answer.audit}, (
        f"{answer.name} was flagged: {flags}"
    )
    messages = {c.grade_id: c.message for c in result.cells.values() if c.grade_id in failed}
    why = f"{answer.name} ({answer.why}): failed {sorted(failed)}; {messages}"
    assert answer.must_fail <= failed, f"not caught where expected {sorted(answer.must_fail)}: {why}"
    assert failed <= allowed, f"cells failed that no answer in its notebook should fail: {why}"
    assert _own_cells(answer, failed) <= answer.must_fail, f"its own function's other cells failed: {why}"
    for grade_id in failed:  # every failure tells the student something
        assert messages[grade_id].strip(), f"{grade_id} failed without a message"
