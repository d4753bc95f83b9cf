"""Write grades into nbgrader's gradebook, from one process only, so parallel grading never fights over the
database. nbgrader's own SaveAutoGrades does the writing: the JupyterLab formgrader then shows the grades and
manual grading works as usual. A regrade overwrites every automatic grade (the normalized notebook holds every
test cell, deleted ones included, so none keeps a stale score) and keeps the manual ones."""

from __future__ import annotations

import functools
import tempfile
import warnings
from datetime import datetime, timezone
from pathlib import Path

import nbgrader
import nbgrader.api
from nbformat import NotebookNode
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import SaveAutoGrades
from sqlalchemy.exc import SAWarning

from grader.config import Settings
from grader.results import StudentResult


@functools.cache
def _alembic_head() -> str:
    """nbgrader runs `alembic heads` in a subprocess for every new gradebook (seconds each); the same answer,
    read in-process once."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(Path(nbgrader.__file__).parent / "alembic"))
    return ScriptDirectory.from_config(config).get_current_head()


nbgrader.api.get_alembic_version = _alembic_head

# nbgrader's add_submission trips an autoflush warning in SQLAlchemy 2; the rows are written correctly.
warnings.filterwarnings("ignore", category=SAWarning, module="nbgrader")


def sync_assignment(settings: Settings, assignment: str) -> None:
    """Make the gradebook know the assignment's notebooks and cells, as `nbgrader generate_assignment`
    records them (it is what runs, into a scratch release folder)."""
    from grader.release import run_generate_assignment

    with tempfile.TemporaryDirectory() as scratch:
        run_generate_assignment(settings, assignment, Path(scratch) / "release", settings.db_url)


def record_student(
    settings: Settings, assignment: str, result: StudentResult, executed: dict[str, NotebookNode], when: float
) -> None:
    """Store one student's automatic grades (held test cells: zero and flagged for manual grading)."""
    with Gradebook(settings.db_url) as gb:
        gb.update_or_create_student(result.student_id, first_name=result.first_name or None,
                                    last_name=result.last_name or None)
        timestamp = datetime.fromtimestamp(when, tz=timezone.utc).isoformat()
        submission = gb.update_or_create_submission(assignment, result.student_id, timestamp=timestamp)
        submission.flagged = bool(result.flags)
        gb.db.commit()
    for name, nb in executed.items():
        resources = {
            "nbgrader": {"notebook": name, "assignment": assignment, "student": result.student_id,
                         "db_url": settings.db_url}
        }
        SaveAutoGrades().preprocess(nb, resources)
    held = [cell for cell in result.cells.values() if cell.needs_manual_grade and not cell.manual]
    if held:
        with Gradebook(settings.db_url) as gb:
            for cell in held:
                grade = gb.find_grade(cell.grade_id, cell.notebook, assignment, result.student_id)
                grade.auto_score = 0.0
                grade.needs_manual_grade = True
            gb.db.commit()


def current_scores(settings: Settings, assignment: str,
                   student_ids: list[str]) -> dict[str, dict[str, tuple[float, bool]]]:
    """student -> grade_id -> (score, needs_manual_grade) as the gradebook holds them now: manual grades given
    in the formgrader after grading are included. One gradebook connection for the whole class (opening one
    per student costs more than the queries)."""
    scores: dict[str, dict[str, tuple[float, bool]]] = {}
    with Gradebook(settings.db_url) as gb:
        for student_id in student_ids:
            mine = scores[student_id] = {}
            try:
                submission = gb.find_submission(assignment, student_id)
            except MissingEntry:
                continue
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    mine[grade.name] = (float(grade.score or 0.0), bool(grade.needs_manual_grade))
    return scores
