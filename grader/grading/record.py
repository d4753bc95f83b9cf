"""Write grades into nbgrader's gradebook, from one process only, so parallel grading never fights over the
database. nbgrader's own SaveAutoGrades does the writing: the JupyterLab formgrader then shows the grades and
manual grading works as usual. A regrade overwrites every automatic grade (the normalized notebook holds every
test cell, deleted ones included, so none keeps a stale score) and keeps the manual ones."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from datetime import datetime
from pathlib import Path

from nbformat import NotebookNode
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import SaveAutoGrades

from grader.config import Settings
from grader.model import StudentResult
from grader.nbgrader_app import patch, run_generate_assignment
from grader.nbmeta import is_answer, nbgrader_meta
from grader.timestamps import gradebook_time, nbgrader_timestamp

patch()  # before any gradebook is opened


def sync_assignment(settings: Settings, assignment: str) -> None:
    """Make the gradebook know the assignment's notebooks and cells, as `nbgrader generate_assignment`
    records them (it is what runs, into a scratch release folder), and its due date (DUE_DATES), as
    `nbgrader db assignment add --duedate` would: the formgrader then shows how late each submission is."""
    with tempfile.TemporaryDirectory() as scratch:
        run_generate_assignment(settings, assignment, Path(scratch) / "release", settings.db_url)
    set_due_date(settings, assignment)


def set_due_date(settings: Settings, assignment: str) -> None:
    due = settings.due_date(assignment)
    if due is not None:
        with Gradebook(settings.db_url) as gb:
            gb.update_or_create_assignment(assignment, duedate=gradebook_time(due))


def write_submitted(
    settings: Settings, assignment: str, student_id: str, files: dict[str, bytes], when: datetime
) -> None:
    """nbgrader's submitted/<student>/<assignment>/: each notebook the student handed in, under the assignment's
    notebook name, and timestamp.txt, as `nbgrader collect` leaves them. The formgrader counts submissions there."""
    folder = settings.course_dir / "submitted" / student_id / assignment
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name, data in files.items():
        path = folder / f"{name}.ipynb"
        path.write_bytes(data)
        os.utime(path, (when.timestamp(), when.timestamp()))
    # regraded from here (the Autograde button), the same submission time
    (folder / "timestamp.txt").write_text(nbgrader_timestamp(when) + "\n", encoding="utf-8")


def gradebook_names(result: StudentResult) -> tuple[str, str]:
    """(first, last) for the gradebook: the formgrader shows "last, first", and "None, None" when either is
    missing. A group shows its name and its members."""
    if len(result.members) > 1 or result.student_id.startswith("grupo-"):
        return ", ".join(m["name"] for m in result.members), result.first_name or result.student_id
    if result.last_name:
        return result.first_name, result.last_name
    return "", result.first_name or result.student_id


class HeldGradebook:
    """One gradebook for every student a run records, opened by the thread that records (the writer) on first
    use: its engine compiles nbgrader's queries once for the class, where a gradebook per student opened an
    engine, checked the schema and compiled them all again (0.3 s of CPU over 24 students)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._gradebook: Gradebook | None = None
        self._session = None

    def get(self) -> Gradebook:
        if self._gradebook is None:
            self._gradebook = Gradebook(self.settings.db_url)
            self._session = self._gradebook.db()  # the recording thread's own session
        return self._gradebook

    def close(self) -> None:
        """From any thread, once the recording thread is done."""
        if self._gradebook is not None:
            gradebook, self._gradebook = self._gradebook, None
            self._session.close()
            gradebook.engine.dispose()


@contextlib.contextmanager
def _gradebook(settings: Settings, held: HeldGradebook | None):
    """`held`'s gradebook, rolled back on any error (the next student starts clean), or one of its own."""
    if held is None:
        with Gradebook(settings.db_url) as gb:
            yield gb
        return
    gb = held.get()
    try:
        yield gb
    except BaseException:
        gb.db.rollback()
        raise


def record_student(
    settings: Settings,
    assignment: str,
    result: StudentResult,
    executed: dict[str, NotebookNode],
    when: datetime,
    previous: dict[str, NotebookNode] | None = None,
    held: HeldGradebook | None = None,
) -> None:
    """Store one student's automatic grades (the cells of a notebook not submitted: zero, no manual grading, as
    nbgrader's autograde does).

    `previous` are the notebooks graded last time: a written answer a person already graded keeps its manual
    grade unless its text changed (nbgrader's SaveAutoGrades would ask for a new manual grade). `held`: the
    run's gradebook (one per run), else one opened for this student."""
    timestamp = nbgrader_timestamp(when)
    with _gradebook(settings, held) as gb:
        first, last = gradebook_names(result)
        gb.update_or_create_student(result.student_id, first_name=first, last_name=last)
        submission = gb.update_or_create_submission(assignment, result.student_id, timestamp=timestamp)
        submission.flagged = bool(result.flags)
        for name, nb in executed.items():
            resources = {
                "nbgrader": {"notebook": name, "assignment": assignment, "student": result.student_id}
            }
            _SaveAutoGradesInto(gb).preprocess(nb, resources)
            _keep_manual_grades(gb, assignment, result.student_id, name, nb, (previous or {}).get(name))
        for name in result.missing_notebooks:  # nbgrader's Autograde.init_assignment, "No submitted file"
            for grade in gb.find_submission_notebook(name, assignment, result.student_id).grades:
                grade.auto_score = 0.0
                grade.needs_manual_grade = False
        gb.db.commit()


class _FlushingGradebook:
    """A gradebook whose `db.commit()` only flushes: SaveAutoGrades commits after every cell (fsyncs, and the
    session's objects expired and read again), where one commit for a student's grades is enough, and an
    interruption then never leaves some of them new and others old."""

    def __init__(self, gradebook: Gradebook):
        self._gradebook = gradebook
        self.db = self

    def commit(self) -> None:
        self._gradebook.db.flush()

    def __getattr__(self, name):
        return getattr(self._gradebook, name)


class _SaveAutoGradesInto(SaveAutoGrades):
    """nbgrader's SaveAutoGrades (its rules for the automatic score and for what needs a person) on a gradebook
    the caller holds and commits: nbgrader's opens a gradebook of its own per notebook (an engine, the schema
    checked) and commits after every cell."""

    def __init__(self, gradebook: Gradebook, **kwargs):
        super().__init__(**kwargs)
        self._held = gradebook

    def preprocess(self, nb: NotebookNode, resources: dict):
        self.notebook_id = resources["nbgrader"]["notebook"]
        self.assignment_id = resources["nbgrader"]["assignment"]
        self.student_id = resources["nbgrader"]["student"]
        self.gradebook = _FlushingGradebook(self._held)
        return super(SaveAutoGrades, self).preprocess(nb, resources)  # the cells, each by preprocess_cell


def refresh_students(settings: Settings, assignment: str, results: list[StudentResult]) -> None:
    """What a reused grade still takes from this run (grader/grading/reuse.py): each student's names (a new
    worksheet) and submission time; the grades stay as they are, manual ones included."""
    with Gradebook(settings.db_url) as gb:
        for result in results:
            first, last = gradebook_names(result)
            gb.update_or_create_student(result.student_id, first_name=first, last_name=last)
            when = nbgrader_timestamp(datetime.fromisoformat(result.submitted_at))
            gb.update_or_create_submission(assignment, result.student_id, timestamp=when)
        gb.db.commit()


def _answer_texts(nb: NotebookNode | None) -> dict[str, str]:
    if nb is None:
        return {}
    return {
        c.metadata["nbgrader"]["grade_id"]: c.source.strip()
        for c in nb.cells
        if is_answer(c) and nbgrader_meta(c).get("grade")
    }


def _keep_manual_grades(
    gb: Gradebook,
    assignment: str,
    student: str,
    notebook: str,
    nb: NotebookNode,
    previous: NotebookNode | None,
) -> None:
    before = _answer_texts(previous)
    for grade_id, text in _answer_texts(nb).items():
        grade = gb.find_grade(grade_id, notebook, assignment, student)
        if grade.manual_score is None:
            continue
        if before.get(grade_id) == text:  # graded by hand, same answer: still graded
            grade.needs_manual_grade = False
        else:  # a new answer: a person grades it again
            grade.manual_score = None
            grade.needs_manual_grade = True


def _submitted_notebooks(settings: Settings, assignment: str, student_ids: list[str]):
    """(student id, nbgrader SubmittedNotebook) for each student's recorded notebooks, over one gradebook
    connection for the whole class (opening one per student costs more than the queries)."""
    with Gradebook(settings.db_url) as gb:
        for student_id in student_ids:
            try:
                submission = gb.find_submission(assignment, student_id)
            except MissingEntry:
                continue
            for notebook in submission.notebooks:
                yield student_id, notebook


def _cell_rows(settings: Settings, assignment: str, student_ids: list[str], table, *columns):
    """(student id, notebook, cell name, *columns) for each row of nbgrader's `table` (Grade or Comment) in the
    students' recorded notebooks: one query for the class, where walking nbgrader's objects loads each row's
    cell on its own (a query per grade: 0.2 s for a class of 24, against 0.01 s)."""
    from nbgrader.api import Assignment, BaseCell, Notebook, SubmittedAssignment, SubmittedNotebook

    wanted = set(student_ids)
    with Gradebook(settings.db_url) as gb:
        rows = (
            gb.db.query(SubmittedAssignment.student_id, Notebook.name, BaseCell.name, *columns)
            .select_from(table)
            .join(SubmittedNotebook, table.notebook_id == SubmittedNotebook.id)
            .join(SubmittedAssignment, SubmittedNotebook.assignment_id == SubmittedAssignment.id)
            .join(Assignment, SubmittedAssignment.assignment_id == Assignment.id)
            .join(Notebook, SubmittedNotebook.notebook_id == Notebook.id)
            .join(BaseCell, table.cell_id == BaseCell.id)
            .filter(Assignment.name == assignment)
            .all()
        )
    return [row for row in rows if row[0] in wanted]


def current_scores(
    settings: Settings, assignment: str, student_ids: list[str]
) -> dict[str, dict[tuple[str, str], tuple[float, bool]]]:
    """student -> (notebook, grade_id) -> (score, needs_manual_grade) as the gradebook holds them now: manual
    grades given in the formgrader after grading are included (tasks too)."""
    from nbgrader.api import Grade

    scores: dict[str, dict[tuple[str, str], tuple[float, bool]]] = {
        student_id: {} for student_id in student_ids
    }
    for student_id, notebook, name, score, needs_manual in _cell_rows(
        settings, assignment, student_ids, Grade, Grade.score, Grade.needs_manual_grade
    ):
        scores[student_id][notebook, name] = (float(score or 0.0), bool(needs_manual))
    return scores


def auto_grades(
    settings: Settings, assignment: str, student_ids: list[str]
) -> dict[str, dict[tuple[str, str], float | None] | None]:
    """student -> (notebook, grade_id) -> the automatic score the gradebook holds (None: a cell nbgrader does not
    grade automatically); None for a student without a submission there."""
    found: dict[str, dict[tuple[str, str], float | None] | None] = dict.fromkeys(student_ids)
    for student_id, notebook in _submitted_notebooks(settings, assignment, student_ids):
        if found[student_id] is None:
            found[student_id] = {}
        grades = found[student_id]
        for grade in notebook.grades:
            grades[notebook.name, grade.name] = None if grade.auto_score is None else float(grade.auto_score)
    return found


def current_comments(
    settings: Settings, assignment: str, student_ids: list[str]
) -> dict[str, dict[tuple[str, str], str]]:
    """student -> (notebook, cell name) -> the comment a person wrote in the formgrader."""
    from nbgrader.api import Comment

    comments: dict[str, dict[tuple[str, str], str]] = {student_id: {} for student_id in student_ids}
    for student_id, notebook, name, text in _cell_rows(
        settings, assignment, student_ids, Comment, Comment.manual_comment
    ):
        if text and text.strip():
            comments[student_id][notebook, name] = text.strip()
    return comments
