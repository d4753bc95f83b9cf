"""Recording a student's grades in nbgrader's gradebook (grader/grading/record.py), without kernels."""

from __future__ import annotations

from datetime import datetime, timezone

import nbformat
import pytest
from nbgrader.api import Gradebook
from nbgrader.preprocessors import SaveAutoGrades

from grader.grading import record
from grader.model import StudentResult
from grader.nbmeta import is_test_cell
from tests.helpers import build_mini_course


def _scores(settings, student: str = "ana") -> dict[str, float | None]:
    with Gradebook(settings.db_url) as gb:
        notebook = gb.find_submission_notebook("mini", "mini", student)
        return {grade.name: grade.auto_score for grade in notebook.grades}


def _executed(settings, failing: bool):
    """mini's source as if run: every test cell passed, or every one failed."""
    nb = nbformat.read(settings.source_dir / "mini" / "mini.ipynb", as_version=4)
    for cell in nb.cells:
        if is_test_cell(cell):
            cell.outputs = (
                [nbformat.v4.new_output("error", ename="AssertionError", evalue="", traceback=[])]
                if failing
                else []
            )
    return nb


@pytest.mark.parametrize("held", [False, True], ids=["own gradebook", "the run's gradebook"])
def test_a_students_grades_are_written_together(tmp_path, monkeypatch, held):
    """Also with the gradebook a run holds for all its students (record.HeldGradebook): what one student's
    interrupted recording began is rolled back, and the next recording in the same gradebook goes through."""
    settings = build_mini_course(tmp_path, sandbox_available=False)
    record.sync_assignment(settings, "mini")
    student = StudentResult(student_id="ana", assignment="mini", first_name="Ana")
    when = datetime.now(timezone.utc)
    gradebook = record.HeldGradebook(settings) if held else None
    record.record_student(
        settings, "mini", student, {"mini": _executed(settings, failing=False)}, when, held=gradebook
    )
    passed = _scores(settings)
    tests = [name for name, score in passed.items() if score]
    assert len(tests) >= 2, passed  # several test cells, each with its points

    # a regrade where every test fails, cut off after nbgrader has scored the first cell
    scored = []
    original = SaveAutoGrades._add_score

    def cut_off(self, cell, resources):
        if len(scored) == 1:
            raise KeyboardInterrupt
        scored.append(cell.metadata["nbgrader"]["grade_id"])
        original(self, cell, resources)

    monkeypatch.setattr(SaveAutoGrades, "_add_score", cut_off)
    with pytest.raises(KeyboardInterrupt):
        record.record_student(
            settings, "mini", student, {"mini": _executed(settings, failing=True)}, when, held=gradebook
        )
    assert scored  # the first cell was scored (0 points) before the interruption...
    assert _scores(settings) == passed  # ...and nothing of that regrade reached the gradebook

    monkeypatch.setattr(SaveAutoGrades, "_add_score", original)
    # the next student, in the same gradebook: what the interruption left must not be committed with it
    other = StudentResult(student_id="bruno", assignment="mini", first_name="Bruno")
    record.record_student(
        settings, "mini", other, {"mini": _executed(settings, failing=False)}, when, held=gradebook
    )
    assert _scores(settings, "bruno") == passed
    assert _scores(settings) == passed
    record.record_student(
        settings, "mini", student, {"mini": _executed(settings, failing=True)}, when, held=gradebook
    )
    assert all(_scores(settings)[name] == 0 for name in tests)
    if gradebook is not None:
        gradebook.close()
