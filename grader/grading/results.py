"""Each student's result once grading starts: when they handed in, then, when all their notebooks ran, the scores
(Job.score_into), autograded/<id>/<assignment>/ (graded notebooks and resultado.json) and nbgrader's gradebook,
written together by the one writer thread; and all of it read back for the reports (`load_results`)."""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from grader.config import Settings
from grader.grading.job import Job
from grader.grading.reuse import file_digest
from grader.intake import ingest
from grader.intake.assignment import Assignment
from grader.kernels.execute import Executed
from grader.model import RESULT_FILE, Status, StudentResult


def set_submission_time(settings: Settings, result: StudentResult, student: ingest.StudentSubmission) -> None:
    """When the student handed in: nbgrader's timestamp.txt if the folder has one, else the latest notebook's
    time (inside Moodle's zip, the time the zip records); how late, if the assignment has a due date."""
    if student.submitted_at is not None:
        when, result.submitted_from = student.submitted_at, "timestamp.txt"
    else:
        latest = max(f.mtime for f in student.notebooks.values())
        when = datetime.fromtimestamp(latest, tz=timezone.utc).astimezone()
        result.submitted_from = "zip" if student.from_zip else "arquivo"
    result.submitted_at = when.isoformat()
    due = settings.due_date(result.assignment)
    result.seconds_late = max(0.0, (when - due).total_seconds()) if due is not None else 0.0


def record_when_complete(
    settings: Settings,
    assignment: Assignment,
    job: Job,
    jobs: list[Job],
    results: dict[str, StudentResult],
    held=None,
) -> None:
    """Once every notebook of a student ran: score, save, record. Runs in execute_all's writer thread (one
    writer for the gradebook), possibly after the student's last notebook ran but before its turn came. `held`:
    the run's gradebook (record.HeldGradebook)."""
    mine = [j for j in jobs if j.student is job.student]
    if any(j.executed is None or j.recorded for j in mine):
        return
    for j in mine:
        j.recorded = True
    result = results[job.student.student_id]
    folder = settings.autograded_dir / result.student_id / assignment.name
    previous = _previous_answers(settings, folder, mine)
    old = _stored(folder / RESULT_FILE)
    if old is not None:
        keep_identity(result, old)
    # Written aside, and put in place of the previous run's only once the gradebook holds their grades: what
    # autograded/ and submitted/ hold always matches the gradebook's last recording, whenever a run is killed.
    scratch = folder.with_name(f".{assignment.name}.nova")
    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir(parents=True)
    executed: dict[str, NotebookNode] = {}
    for j in mine:
        j.score_into(result)
        executed[j.notebook_name] = j.executed.notebook
        path = scratch / f"{j.notebook_name}.ipynb"
        nbformat.write(j.executed.notebook, path)
        result.graded_files[j.notebook_name] = file_digest(path)  # a later run reuses it only if unchanged
    if any(_machine_failed(j.executed) for j in mine):  # not the student's doing: graded again next time
        result.grading_key = {}
    _not_submitted(result, assignment, [name for name in assignment.sources if name not in executed])
    fill_zero_cells(result, assignment)
    when = datetime.fromisoformat(result.submitted_at)
    from grader.grading import record

    record.record_student(settings, assignment.name, result, executed, when, previous, held)
    record.write_submitted(
        settings,
        assignment.name,
        result.student_id,
        {name: f.data for name, f in job.student.notebooks.items()},
        when,
    )
    result.recorded = True
    if folder.exists():
        shutil.rmtree(folder)  # a regrade replaces the previous run entirely
    scratch.rename(folder)
    result.save(folder)  # last: a result without its resultado.json is graded again


def not_recorded(settings: Settings, assignment: Assignment, result: StudentResult, exc: Exception) -> None:
    """What a student's notebook made fail while it was scored or written (a character no file can hold, a
    value nbformat refuses): that student is an error, graded again next run; the class goes on."""
    result.status = Status.ERROR
    result.cells.clear()
    result.grading_key = {}
    result.problem = "a correção deste notebook não pôde ser gravada"
    result.notes.append(
        f"{result.problem} ({type(exc).__name__}: {str(exc)[:160]}); a próxima correção tenta de novo"
    )
    scratch = settings.autograded_dir / result.student_id / f".{assignment.name}.nova"
    shutil.rmtree(scratch, ignore_errors=True)


def _not_submitted(result: StudentResult, assignment: Assignment, names: list[str]) -> None:
    """The assignment's notebooks the student did not hand in score 0 on every cell, without review, as
    nbgrader's autograde gives them ("No submitted file"); the report and the feedback say so."""
    result.missing_notebooks = names
    for name in names:
        result.notes.append(f"{name}.ipynb não foi enviado: as questões dele ficaram com 0")
        for cell in assignment.grade_cells():
            if cell.notebook == name:
                cell.not_submitted = True
                result.cells[cell.key] = cell


def _machine_failed(executed: Executed) -> bool:
    """An error that no limit explains: the kernel never started, the Dask cluster lost the task."""
    return executed.status == Status.ERROR and not executed.limits_hit


def _stored(path: Path) -> StudentResult | None:
    if not path.is_file():
        return None
    try:
        return StudentResult.load(path)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):  # damaged, or of another shape
        return None


def keep_identity(result: StudentResult, old: StudentResult) -> None:
    """Regraded from nbgrader's submitted/ (the formgrader's Autograde button), a submission no longer carries
    its Moodle folder or worksheet identity: the previous result's is kept."""
    if result.moodle_id or result.members:
        return
    result.moodle_id, result.moodle_name, result.members = old.moodle_id, old.moodle_name, old.members
    if not result.last_name:
        result.first_name, result.last_name = old.first_name, old.last_name


def _previous_answers(settings: Settings, folder: Path, mine: list[Job]) -> dict[str, NotebookNode]:
    """The notebooks graded last time (their written answers decide whether manual grades still hold): the
    executed ones in autograded/; where those are gone or unreadable, this very notebook if nbgrader's submitted/
    copy, written once the last grades were recorded, holds the same bytes (the answers a person graded)."""
    found = {}
    submitted = settings.course_dir / "submitted" / folder.parent.name / folder.name
    for j in mine:
        path = folder / f"{j.notebook_name}.ipynb"
        try:
            found[j.notebook_name] = nbformat.read(path, as_version=4)
            continue
        # gone, or an unreadable old run (nbformat fails in many ways)
        except Exception:  # noqa: BLE001 (see above)
            pass
        copy = submitted / f"{j.notebook_name}.ipynb"
        if copy.is_file() and copy.read_bytes() == j.student.notebooks[j.notebook_name].data:
            found[j.notebook_name] = j.executed.notebook
    return found


def fill_zero_cells(result: StudentResult, assignment: Assignment) -> None:
    for cell in assignment.grade_cells():
        if result.cell(*cell.key) is None:
            result.cells[cell.key] = cell


def load_results(settings: Settings, assignment: str) -> list[StudentResult]:
    """Every student graded so far for `assignment`, with the gradebook's current scores (manual grades
    given in the formgrader included)."""
    results = [
        StudentResult.load(path)
        for path in sorted(settings.autograded_dir.glob(f"*/{assignment}/{RESULT_FILE}"))
    ]
    from grader.grading import record

    ids = [r.student_id for r in results]
    scores = record.current_scores(settings, assignment, ids)
    comments = record.current_comments(settings, assignment, ids)
    for result in results:
        if not result.recorded:  # the gradebook holds an older submission, if any
            continue
        for (notebook, grade_id), (score, needs_manual) in scores[result.student_id].items():
            cell = result.cell(notebook, grade_id)
            if cell is not None:
                cell.score, cell.needs_manual_grade = score, needs_manual
                cell.passed = not needs_manual and score >= cell.max_score
        result.comments = {}
        for (notebook, grade_id), text in comments[result.student_id].items():
            result.comments[f"{notebook}/{grade_id}"] = text
            cell = result.cell(notebook, grade_id)
            if cell is not None:
                cell.comment = text
    return results
