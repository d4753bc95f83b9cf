"""`grader grade` for a whole class, its stages in order (`_grade`):

1. intake     grader/intake/ingest.py finds the submissions; Moodle's worksheet identifies them (`_find_students`)
   reuse      a submission whose grade nothing changed keeps its stored result (grading/reuse.py, `_decide`)
2. normalize  each submitted notebook read and aligned with the release, one Job per notebook (`_prepare_jobs`)
3. execute    the jobs on the local workers (grading/workers.py) or a Dask cluster (grading/cluster.py)
4. score      each student once their last notebook ran (Job.score_into, grading/score.py) ...
5. record     ... saved to autograded/ and nbgrader's gradebook by one writer thread (grading/results.py)
6. report     the similarity between answers, then every report (grading/reports.py)

Execution runs many kernels at once (each kernel is its own process) from one asyncio loop; everything else
(scoring, the gradebook, the reports) happens in this one process, as results arrive.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from nbformat import NotebookNode

from grader.config import Settings
from grader.errors import UserError
from grader.grading import reuse
from grader.grading.job import Job, read_submitted
from grader.grading.reports import rebuild_reports
from grader.grading.results import (
    fill_zero_cells,
    keep_identity,
    not_recorded,
    record_when_complete,
    set_submission_time,
)
from grader.grading.workers import WorkerSlots, execute_all, resolve_device
from grader.intake import ingest
from grader.intake.assignment import Assignment
from grader.intake.normalize import normalize
from grader.kernels import sandbox
from grader.kernels.execute import ExecutionSettings, lessons
from grader.model import RESULT_FILE, Status, StudentResult

LOG = logging.getLogger(__name__)

# grading/record.py and grading/score.py import nbgrader (1 s, its server extensions): imported where used, so
# that `grader grade` starts its kernel servers that much sooner and the writer thread pays the import meanwhile.


@dataclass
class GradeOptions:
    submissions: Path
    report_dir: Path = Path("reports")
    workers: int | None = None
    device: str | None = None  # auto | cpu | cuda; None: grader_config.py
    timeout: int | None = None  # per-submission wall time; None: grader_config.py
    sandbox: bool | None = None  # None: grader_config.py
    progress: bool = True
    scheduler: str | None = (
        None  # Dask scheduler address: execute there; None: grader_config.py; "local": here
    )
    similarity: bool = True  # compare the answers at the end (grader/grading/similarity.py)
    previous: list[Path] = field(default_factory=list)  # earlier semesters' autograded/ folders or zips
    worksheet: Path | None = None  # Moodle's grading worksheet of the same assignment: identities, moodle.csv
    moodle_language: str | None = None  # moodle.csv's headers without a worksheet; None: grader_config.py
    force: bool = False  # grade every submission again, even those whose stored result still holds
    # grade only these students (again, whatever changed), and leave the others as they are
    students: list[str] = field(default_factory=list)


@dataclass
class GradingRun:
    results: list[StudentResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    workers: int = 1
    device: str = "cpu"
    sandboxed: bool = True
    table: str = ""  # the terminal table of the whole class
    refused: list[ingest.Refused] = field(default_factory=list)  # files of the submissions never read
    report_folder: Path | None = None
    similarity: str = ""  # the similarity report's line for the terminal
    reuse: str = ""  # how many stored results were reused, and why the others were graded (grading/reuse.py)
    reused: list[str] = field(default_factory=list)  # the students whose stored result was reused
    regraded: dict[str, str] = field(default_factory=dict)  # student -> why it was graded (reuse.REASONS)


def grade(settings: Settings, assignment_name: str, options: GradeOptions) -> GradingRun:
    started = time.monotonic()
    assignment = Assignment.load(settings, assignment_name)
    scheduler = options.scheduler or settings.scheduler
    scheduler = None if scheduler == "local" else scheduler
    device, gpus = resolve_device(options.device or settings.device, remote=bool(scheduler))
    cores = os.cpu_count() or 1
    workers = options.workers or settings.workers or (len(gpus) if gpus else cores)
    if workers < 1:
        raise UserError("--workers precisa ser pelo menos 1")
    use_sandbox = settings.sandbox if options.sandbox is None else options.sandbox
    if use_sandbox and not scheduler:  # with a scheduler, each worker checks its own sandbox
        reason = sandbox.unavailable_reason()
        if reason:
            raise UserError(f"{reason}; para corrigir mesmo assim, sem isolamento, use --no-sandbox")
    base = execution_settings(settings, workers, use_sandbox, assignment)
    if options.timeout:
        base = replace(base, submission_timeout_s=options.timeout)
    previous = _previous_answers(assignment, options)  # a bad --previous stops here, not after grading
    started_slots: list[WorkerSlots] = []

    def start_workers() -> WorkerSlots | None:
        """The local workers, started once something is to be graded here: their imports (seconds) overlap with
        the checks and the preparing of the submissions that follow."""
        if not scheduler and not started_slots:
            started_slots.append(WorkerSlots(base, gpus if device == "cuda" else [], workers))
        return started_slots[0] if started_slots else None

    try:
        return _grade(
            settings, assignment, options, base, start_workers, scheduler, device, workers, started, previous
        )
    finally:
        for slots in started_slots:
            slots.close()


def _grade(
    settings: Settings,
    assignment: Assignment,
    options: GradeOptions,
    base: ExecutionSettings,
    start_workers,
    scheduler: str | None,
    device: str,
    workers: int,
    started: float,
    previous: tuple[list, list[str]] | None,
) -> GradingRun:
    """The stages, in order, for the whole class."""
    run = GradingRun(workers=workers, device=device, sandboxed=base.use_sandbox)
    # 1. intake: the class's submissions, identified by Moodle's worksheet when there is one
    students = _named(_find_students(settings, assignment, options, run), options)
    # which stored results still hold: the others are graded (and the workers start)
    if options.force or options.students or any(_never_graded(settings, assignment, s) for s in students):
        start_workers()  # before the key, whose reading of source/ imports nbgrader (a second)
    shared = reuse.class_key(assignment, base, device)
    keys = {s.student_id: reuse.student_key(shared, s) for s in students if not s.missing}
    stored = _decide(settings, assignment, options, students, keys, run, start_workers)
    # 2. normalize: one job per submitted notebook; a student with a broken notebook is an error already
    results, jobs = _prepare_jobs(
        settings, assignment, [s for s in students if s.student_id not in stored], base.use_sandbox, keys
    )
    reused = [
        _reused_result(settings, assignment, s, stored[s.student_id])
        for s in students
        if s.student_id in stored
    ]
    if not base.use_sandbox:
        run.notes.append(
            "correção feita SEM sandbox (--no-sandbox): o código dos alunos rodou sem isolamento"
        )
    # 3-5. execute, then score, save and record each student when their last notebook has run
    slots = start_workers() if jobs else None
    _run_jobs(settings, assignment, options, jobs, results, run, base, slots, scheduler, reused)
    for result in results.values():  # never ran: zero on every cell
        if result.status != Status.GRADED or not result.cells:
            fill_zero_cells(result, assignment)
            result.save(settings.autograded_dir / result.student_id / assignment.name)
    results.update({result.student_id: result for result, _ in reused})
    run.results = [results[s.student_id] for s in students]
    run.reuse = reuse.summary(len(keys), run.regraded, options.students)
    # 6. reports: similarity between answers, then scores, Moodle, feedback, the overview, the terminal table
    _similarity(settings, assignment, options, previous, run)
    run.table, run.report_folder = rebuild_reports(
        settings,
        assignment.name,
        options.report_dir,
        base.use_sandbox,
        moodle_language=options.moodle_language,
        refused=run.refused,
    )
    run.seconds = time.monotonic() - started
    return run


def _find_students(
    settings: Settings, assignment: Assignment, options: GradeOptions, run: GradingRun
) -> list[ingest.StudentSubmission]:
    others = {
        name: [p.stem for p in (settings.source_dir / name).glob("*.ipynb")]
        for name in settings.assignments
        if name != assignment.name
    }
    students, notes, run.refused = ingest.find_submissions(
        options.submissions,
        assignment.name,
        list(assignment.sources),
        others,
        set(assignment.files),
        max_notebook_mb=settings.max_notebook_mb,
        max_submission_mb=settings.max_submission_mb,
    )
    if not students:
        why = (
            f" ({len(run.refused)} arquivo(s) recusado(s), como {run.refused[0].line()})"
            if run.refused
            else ""
        )
        raise UserError(
            f"nenhuma submissão encontrada em {options.submissions}{why}: confira a pasta ou o zip"
        )
    run.notes += notes + _identify(settings, assignment.name, students, options.worksheet)
    return students


def _named(students: list[ingest.StudentSubmission], options: GradeOptions) -> list[ingest.StudentSubmission]:
    """The students `--student` names (all without it)."""
    if not options.students:
        return students
    found = {s.student_id: s for s in students}
    unknown = [name for name in options.students if name not in found]
    if unknown:
        known = ", ".join(list(found)[:10]) + (", …" if len(found) > 10 else "")
        raise UserError(
            f"--student {unknown[0]}: nenhuma submissão desse aluno em {options.submissions} "
            f"(alunos encontrados: {known or 'nenhum'}); confira a identificação"
        )
    return [found[name] for name in dict.fromkeys(options.students)]


def _never_graded(settings: Settings, assignment: Assignment, student: ingest.StudentSubmission) -> bool:
    folder = settings.autograded_dir / student.student_id / assignment.name
    return not student.missing and not (folder / RESULT_FILE).is_file()


def _decide(
    settings: Settings,
    assignment: Assignment,
    options: GradeOptions,
    students: list[ingest.StudentSubmission],
    keys: dict[str, dict[str, str]],
    run: GradingRun,
    start_workers,
) -> dict[str, StudentResult]:
    """The stored results that still hold (student id -> result); why each other student is graded goes into
    `run.regraded`, and the workers start as soon as one is. Students without a notebook are neither: there is
    nothing to run."""
    stored: dict[str, StudentResult] = {}
    for student in students:
        if student.missing:
            continue
        if options.force or options.students:
            run.regraded[student.student_id] = "force"
            continue
        folder = settings.autograded_dir / student.student_id / assignment.name
        old, why = reuse.stored_result(folder, keys[student.student_id], list(student.notebooks))
        if old is None:
            run.regraded[student.student_id] = why
        else:
            stored[student.student_id] = old
    if run.regraded:
        start_workers()
    recorded = [student_id for student_id, old in stored.items() if old.recorded]
    if recorded:
        from grader.grading import record

        grades = record.auto_grades(settings, assignment.name, recorded)
        for student_id in recorded:
            if not reuse.agrees_with_gradebook(stored[student_id], grades[student_id]):
                del stored[student_id]
                run.regraded[student_id] = "gradebook"
    if run.regraded:
        start_workers()
    run.reused = list(stored)
    return stored


def _new_result(
    settings: Settings, assignment: Assignment, student: ingest.StudentSubmission, use_sandbox: bool
) -> StudentResult:
    """A student's result as this run reads the submission: identity, notes, submission time; no grade yet."""
    result = StudentResult(
        student.student_id,
        assignment.name,
        first_name=student.first_name,
        last_name=student.last_name,
        notes=list(student.notes),
        intake_notes=len(student.notes),
        sandboxed=use_sandbox,
        source_files=[f.path for f in student.notebooks.values()],
        moodle_id=student.moodle_id,
        moodle_name=student.moodle_name,
        members=[
            {"participant_id": m.participant_id, "name": m.name, "student_id": m.student_id}
            for m in student.members
        ],
    )
    if not student.missing:
        set_submission_time(settings, result, student)
    return result


def _reused_result(
    settings: Settings, assignment: Assignment, student: ingest.StudentSubmission, old: StudentResult
) -> tuple[StudentResult, ingest.StudentSubmission]:
    """The stored grade `old`, with this run's names, Moodle identity, submission time and notes on reading the
    submission (a new worksheet changes names, not grades); and the submission."""
    result = reuse.carry_over(_new_result(settings, assignment, student, old.sandboxed), old)
    keep_identity(result, old)
    return result, student


def _refresh_reused(
    settings: Settings, assignment: Assignment, reused: list[tuple[StudentResult, ingest.StudentSubmission]]
) -> None:
    """Write what a reused grade takes from this run where the grade is kept: nbgrader's submitted/ copy, the
    gradebook's names and submission time, resultado.json. The grades themselves are not touched."""
    if not reused:
        return
    from grader.grading import record

    for result, student in reused:
        when = datetime.fromisoformat(result.submitted_at)
        # a file over a limit (or damaged) is never read, nor copied: the key already tried it
        files = {name: f.data for name, f in student.notebooks.items() if not f.problem}
        record.write_submitted(settings, assignment.name, result.student_id, files, when)
    record.refresh_students(settings, assignment.name, [result for result, _ in reused if result.recorded])
    for result, _ in reused:
        result.save(settings.autograded_dir / result.student_id / assignment.name)


def _prepare_jobs(
    settings: Settings,
    assignment: Assignment,
    students: list[ingest.StudentSubmission],
    use_sandbox: bool,
    keys: dict[str, dict[str, str]],
) -> tuple[dict[str, StudentResult], list[Job]]:
    """Each student's result, and a job for each notebook to run."""
    jobs: list[Job] = []
    results: dict[str, StudentResult] = {}
    for student in students:
        result = _new_result(settings, assignment, student, use_sandbox)
        results[student.student_id] = result
        if student.missing:
            result.status = Status.MISSING
            result.notes.append("nenhum notebook desta atividade na submissão")
            continue
        result.grading_key = keys[student.student_id]  # saved with the result: the next run may reuse it
        for name, file in student.notebooks.items():
            try:
                nb, problem = read_submitted(file, assignment, name)
                if not problem:
                    jobs.append(Job.build(student, name, nb, assignment.releases[name]))
            # whatever a hostile file makes the readers raise is that student's problem, never the class's
            except Exception as exc:  # noqa: BLE001 (see above)
                problem = f"o notebook enviado não pôde ser lido ({type(exc).__name__}); baixe o .ipynb de novo e reenvie"
            if problem:
                result.status = Status.ERROR
                result.notes.append(f"{file.path}: {problem}")
                result.problem = problem
        if result.status == Status.ERROR:  # one bad notebook: the student's other notebooks are not graded
            jobs = [j for j in jobs if j.student is not student]
            from grader.grading import record

            record.write_submitted(
                settings,
                assignment.name,
                student.student_id,
                # a file over a limit (or damaged) is never read, nor copied
                {name: f.data for name, f in student.notebooks.items() if not f.problem},
                datetime.fromisoformat(result.submitted_at),
            )
    return results, jobs


def _run_jobs(
    settings: Settings,
    assignment: Assignment,
    options: GradeOptions,
    jobs: list[Job],
    results: dict[str, StudentResult],
    run: GradingRun,
    base: ExecutionSettings,
    slots: WorkerSlots | None,
    scheduler: str | None,
    reused: list[tuple[StudentResult, ingest.StudentSubmission]],
) -> None:
    """Run every job here (`slots`) or on a Dask cluster; each student is scored and recorded in one writer
    thread as soon as their last notebook has run. The reused results are refreshed first, in that thread."""
    from grader.grading import record

    jobs = longest_first(jobs)
    if not jobs:  # nothing runs: no writer thread, no cluster
        record.set_due_date(settings, assignment.name)
        _refresh_reused(settings, assignment, reused)
        return

    def sync_gradebook() -> None:
        if slots is not None:  # the servers' imports first: the first notebooks wait for those, not for this
            slots.wait_started()
        record.sync_assignment(settings, assignment.name)
        _refresh_reused(settings, assignment, reused)
        from grader.report import charts

        try:  # matplotlib's imports and fonts, off the end of the run
            charts.warm_up()
        except Exception:  # noqa: BLE001 (only a head start: the reports draw the charts, or say why not)
            LOG.debug("chart warm-up failed", exc_info=True)

    held = record.HeldGradebook(settings)  # opened by the thread that records, closed once it is done

    def on_done(job: Job) -> None:
        try:
            record_when_complete(settings, assignment, job, jobs, results, held)
        except Exception as exc:  # noqa: BLE001 (what one student's notebook makes fail is theirs alone)
            not_recorded(settings, assignment, results[job.student.student_id], exc)
        if options.similarity:
            _similarity_warm_up(assignment, job)

    try:
        if scheduler:  # only the notebooks travel; scoring and the gradebook stay here
            from grader.grading import cluster

            if options.workers:
                run.notes.append(
                    "--workers não vale com --scheduler: cada worker Dask roda até --nthreads notebooks"
                )
            run.notes.append(f"notebooks executados nos workers do scheduler Dask {scheduler}")
            use_gpu = {"cuda": True, "cpu": False}.get(run.device)  # auto: GPUs if the workers have them
            sync_gradebook()
            run.device, run.workers = asyncio.run(
                cluster.execute_all_on_cluster(
                    scheduler, jobs, base, use_gpu, options.progress, on_done, assignment.files
                )
            )
        else:
            slots.teach(*_instructor_cells(assignment))
            asyncio.run(execute_all(jobs, slots, options.progress, on_done, sync_gradebook, assignment.files))
    finally:
        held.close()  # the recording is over (execute_all has shut its writer thread down)


def _instructor_cells(assignment: Assignment) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The test cells and the given cells of the assignment's notebooks, as the instructor wrote them (each
    release normalized as a submission is): what the warm servers parse before they fork. Never the jobs'
    notebooks: a submission's text would reach the servers, which serve the whole class."""
    return lessons(
        normalize(release, assignment.sources[name], release).notebook
        for name, release in assignment.releases.items()
    )


def longest_first(jobs: list[Job]) -> list[Job]:
    """The students who answered most first (a blank notebook runs in a second), in their order otherwise, each
    student's notebooks together (a student is recorded when their last one has run): the run does not end on
    one long notebook while the other workers have nothing left to do."""
    answered: dict[int, int] = {}
    first: dict[int, int] = {}
    for position, job in enumerate(jobs):
        answered[id(job.student)] = answered.get(id(job.student), 0) + job.answered
        first.setdefault(id(job.student), position)
    return sorted(jobs, key=lambda job: (-answered[id(job.student)], first[id(job.student)]))


def _similarity(
    settings: Settings,
    assignment: Assignment,
    options: GradeOptions,
    previous: tuple[list, list[str]] | None,
    run: GradingRun,
) -> None:
    if previous is None or not any(settings.autograded_dir.glob(f"*/{assignment.name}/*.ipynb")):
        return
    from grader.grading import similarity

    answers, notes = previous
    try:
        report = similarity.similarity_report(
            settings, assignment.name, options.report_dir, previous_answers=answers
        )
        run.notes += notes + report.notes
        run.similarity = similarity.summary(report)
    # any failure of the similarity report: the grades are recorded, their reports still get written
    except Exception as exc:  # noqa: BLE001 (see above)
        run.notes.append(
            f"o relatório de similaridade falhou ({type(exc).__name__}: {exc}); "
            f"as notas e os outros relatórios não foram afetados: rode `grader similarity "
            f"{assignment.name}` para tentar de novo"
        )


def _similarity_warm_up(assignment: Assignment, job: Job) -> None:
    """The similarity report's work on one notebook's answers, done while the class still runs (the writer
    thread waits for kernels most of the time) rather than at the end, when only this process is left."""
    from grader.grading import similarity

    try:
        similarity.warm_up(assignment.releases, {job.notebook_name: job.executed.notebook})
    except Exception:  # noqa: BLE001 (only a head start: the report redoes whatever this could not)
        LOG.debug("similarity warm-up failed for %s", job.student.student_id, exc_info=True)


def _previous_answers(assignment: Assignment, options: GradeOptions) -> tuple[list, list[str]] | None:
    """Earlier semesters' answers for the similarity report, with notes on files skipped; None: no report."""
    if not options.similarity:
        if options.previous:
            raise UserError("--previous é para o relatório de similaridade: tire --no-similarity")
        return None
    if not options.previous:
        return [], []
    from grader.grading import similarity

    notes: list[str] = []
    return similarity.load_previous_all(
        options.previous, assignment.name, list(assignment.releases), notes
    ), notes


def _identify(
    settings: Settings, assignment: str, students: list[ingest.StudentSubmission], worksheet: Path | None
) -> list[str]:
    """Identities from Moodle's worksheet (kept for `grader report`), or the warning that, without it, Moodle's
    numbers are per assignment."""
    from grader.report import moodle

    saved = settings.course_dir / "moodle" / assignment / moodle.WORKSHEET_COPY
    if worksheet is None:
        if any(s.moodle_id or s.team for s in students):
            return [
                "sem --worksheet: os números das pastas do Moodle são ids de participante desta tarefa (mudam "
                "de uma tarefa para outra, então cada tarefa cria outros alunos no gradebook) e moodle.csv só "
                "serve para esta tarefa; passe a planilha de notas da tarefa com --worksheet"
            ]
        return []
    sheet = moodle.read_worksheet(worksheet)
    notes = moodle.resolve(students, sheet)
    saved.parent.mkdir(parents=True, exist_ok=True)
    if Path(worksheet).resolve() != saved.resolve():
        shutil.copyfile(worksheet, saved)
    return notes


def execution_settings(
    settings: Settings, workers: int, use_sandbox: bool, assignment: Assignment | None = None
) -> ExecutionSettings:
    """How `assignment`'s notebooks run here; its imports are what each warm server imports once (the test
    kernel's server only what the test cells import)."""
    preloads = {}
    if assignment is not None:
        preloads = {
            "preload": assignment.imports(tests=False),
            "test_preload": assignment.imports(tests=True),
        }
    return ExecutionSettings.from_settings(
        settings, **preloads, use_sandbox=use_sandbox, threads=max(1, (os.cpu_count() or 1) // workers)
    )


def grade_notebooks(
    assignment: Assignment,
    notebooks: dict[str, tuple[str, NotebookNode]],
    base: ExecutionSettings,
    workers: int,
) -> dict[str, StudentResult]:
    """Grade loose notebooks (label -> (assignment notebook name, notebook)) without touching the gradebook:
    the quality gate and the answer catalogues use it. Same normalize, execute, tamper checks and score."""
    jobs = []
    for label, (name, nb) in notebooks.items():
        normalized = normalize(nb, assignment.sources[name], assignment.releases[name])
        jobs.append(
            Job.build(ingest.StudentSubmission(label), name, normalized.notebook, assignment.releases[name])
        )
    slots = WorkerSlots(base, [], max(1, min(workers, len(jobs))))
    try:
        slots.teach(*_instructor_cells(assignment))
        asyncio.run(execute_all(jobs, slots, False, lambda job: None, files=assignment.files))
    finally:
        slots.close()
    results = {}
    for job in jobs:
        result = results.setdefault(
            job.student.student_id, StudentResult(job.student.student_id, assignment.name)
        )
        job.score_into(result)
    return results
