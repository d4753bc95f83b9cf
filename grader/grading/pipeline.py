"""`grader grade` for a whole class, its stages in order (`_grade`):

1. intake     grader/intake/ingest.py finds the submissions; Moodle's worksheet identifies them (`_find_students`)
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
import os
import shutil
import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from nbformat import NotebookNode

from grader.config import Settings
from grader.errors import UserError
from grader.grading.job import Job, read_submitted
from grader.grading.reports import rebuild_reports
from grader.grading.results import fill_zero_cells, record_when_complete, set_submission_time
from grader.grading.workers import WorkerSlots, execute_all, resolve_device
from grader.intake import ingest
from grader.intake.assignment import Assignment
from grader.intake.normalize import normalize
from grader.kernels import sandbox
from grader.kernels.execute import ExecutionSettings
from grader.model import Status, StudentResult

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
    # local workers start now: their imports (seconds) overlap with reading and preparing the submissions
    slots = None if scheduler else WorkerSlots(base, gpus if device == "cuda" else [], workers)
    try:
        return _grade(
            settings, assignment, options, base, slots, scheduler, device, workers, started, previous
        )
    finally:
        if slots is not None:
            slots.close()


def _grade(
    settings: Settings,
    assignment: Assignment,
    options: GradeOptions,
    base: ExecutionSettings,
    slots: WorkerSlots | None,
    scheduler: str | None,
    device: str,
    workers: int,
    started: float,
    previous: tuple[list, list[str]] | None,
) -> GradingRun:
    """The stages, in order, for the whole class."""
    run = GradingRun(workers=workers, device=device, sandboxed=base.use_sandbox)
    # 1. intake: the class's submissions, identified by Moodle's worksheet when there is one
    students = _find_students(settings, assignment, options, run)
    # 2. normalize: one job per submitted notebook; a student with a broken notebook is an error already
    results, jobs = _prepare_jobs(settings, assignment, students, base.use_sandbox)
    if not base.use_sandbox:
        run.notes.append(
            "correção feita SEM sandbox (--no-sandbox): o código dos alunos rodou sem isolamento"
        )
    # 3-5. execute, then score, save and record each student when their last notebook has run
    _run_jobs(settings, assignment, options, jobs, results, run, base, slots, scheduler)
    for result in results.values():  # never ran: zero on every cell
        if result.status != Status.GRADED or not result.cells:
            fill_zero_cells(result, assignment)
            result.save(settings.autograded_dir / result.student_id / assignment.name)
    run.results = [results[s.student_id] for s in students]
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


def _prepare_jobs(
    settings: Settings, assignment: Assignment, students: list[ingest.StudentSubmission], use_sandbox: bool
) -> tuple[dict[str, StudentResult], list[Job]]:
    """Each student's result, and a job for each notebook to run."""
    jobs: list[Job] = []
    results: dict[str, StudentResult] = {}
    for student in students:
        result = StudentResult(
            student.student_id,
            assignment.name,
            first_name=student.first_name,
            last_name=student.last_name,
            notes=list(student.notes),
            sandboxed=use_sandbox,
            source_files=[f.path for f in student.notebooks.values()],
            moodle_id=student.moodle_id,
            moodle_name=student.moodle_name,
            members=[
                {"participant_id": m.participant_id, "name": m.name, "student_id": m.student_id}
                for m in student.members
            ],
        )
        results[student.student_id] = result
        if student.missing:
            result.status = Status.MISSING
            result.notes.append("nenhum notebook desta atividade na submissão")
            continue
        set_submission_time(settings, result, student)
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
) -> None:
    """Run every job here (`slots`) or on a Dask cluster; each student is scored and recorded in one writer
    thread as soon as their last notebook has run."""

    def sync_gradebook() -> None:
        from grader.grading import record

        record.sync_assignment(settings, assignment.name)
        import grader.report  # noqa: F401  (its matplotlib import, off the end of the run)

    def on_done(job: Job) -> None:
        record_when_complete(settings, assignment, job, jobs, results)

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
        asyncio.run(execute_all(jobs, slots, options.progress, on_done, sync_gradebook, assignment.files))


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
