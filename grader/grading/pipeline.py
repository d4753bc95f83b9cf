"""`grader grade`: ingest -> normalize -> execute -> score -> record -> report, for a whole class.

Execution runs many kernels at once (each kernel is its own process) from one asyncio loop; everything else
(scoring, the gradebook, the reports) happens here, in this one process, as results arrive.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from grader.config import Settings
from grader.errors import UserError
from grader.grading.job import Job
from grader.grading.workers import WorkerSlots, execute_all, resolve_device
from grader.intake import ingest
from grader.intake.assignment import Assignment
from grader.intake.normalize import normalize
from grader.kernels import sandbox
from grader.kernels.execute import ExecutionSettings
from grader.model import RESULT_FILE, Status, StudentResult

# grader.grading.record and grader.grading.score import nbgrader (1 s, its server extensions): imported where used, so that
# `grader grade` starts its kernel servers that much sooner and the writer thread pays the import meanwhile.

MIN_ANCHOR_SHARE = 0.3  # below this share of the release's fixed cells, it is another notebook


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
    assignment_name, use_sandbox = assignment.name, base.use_sandbox
    others = {
        name: [p.stem for p in (settings.source_dir / name).glob("*.ipynb")]
        for name in settings.assignments
        if name != assignment_name
    }
    students, batch_notes = ingest.find_submissions(
        options.submissions, assignment_name, list(assignment.sources), others, set(assignment.files)
    )
    if not students:
        raise UserError(f"nenhuma submissão encontrada em {options.submissions}: confira a pasta ou o zip")
    batch_notes += _identify(settings, assignment_name, students, options.worksheet)

    def sync_gradebook() -> None:
        from grader.grading import record

        record.sync_assignment(settings, assignment_name)
        import grader.report  # noqa: F401  (its matplotlib import, off the end of the run)

    run = GradingRun(notes=batch_notes, workers=workers, device=device, sandboxed=use_sandbox)
    jobs: list[Job] = []
    results: dict[str, StudentResult] = {}
    for student in students:
        result = StudentResult(
            student.student_id,
            assignment_name,
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
        _submission_time(settings, result, student)
        for name, file in student.notebooks.items():
            nb, problem = _prepare(file, assignment, name)
            if problem:
                result.status = Status.ERROR
                result.notes.append(f"{file.path}: {problem}")
                result.problem = problem
            else:
                jobs.append(Job.build(student, name, nb, assignment.releases[name]))
        if result.status == Status.ERROR:  # one bad notebook: the student's other notebooks are not graded
            jobs = [j for j in jobs if j.student is not student]
            from grader.grading import record

            record.write_submitted(
                settings,
                assignment_name,
                student.student_id,
                {name: f.data for name, f in student.notebooks.items()},
                datetime.fromisoformat(result.submitted_at),
            )
    if not use_sandbox:
        run.notes.append(
            "correção feita SEM sandbox (--no-sandbox): o código dos alunos rodou sem isolamento"
        )

    if scheduler:  # only the notebooks travel; scoring and the gradebook stay here
        from grader.grading import cluster

        if options.workers:
            run.notes.append(
                "--workers não vale com --scheduler: cada worker Dask roda até --nthreads notebooks"
            )
        run.notes.append(f"notebooks executados nos workers do scheduler Dask {scheduler}")
        use_gpu = {"cuda": True, "cpu": False}.get(device)  # auto: GPUs if the workers have them
        sync_gradebook()
        run.device, run.workers = asyncio.run(
            cluster.execute_all_on_cluster(
                scheduler,
                jobs,
                base,
                use_gpu,
                options.progress,
                lambda job: _record_when_complete(settings, assignment, job, jobs, results),
                assignment.files,
            )
        )
    else:
        asyncio.run(
            execute_all(
                jobs,
                slots,
                options.progress,
                lambda job: _record_when_complete(settings, assignment, job, jobs, results),
                sync_gradebook,
                assignment.files,
            )
        )
    for result in results.values():
        if result.status != Status.GRADED or not result.cells:
            _fill_zero_cells(result, assignment)
            result.save(settings.autograded_dir / result.student_id / assignment_name)
    run.results = [results[s.student_id] for s in students]
    if previous is not None and any(settings.autograded_dir.glob(f"*/{assignment_name}/*.ipynb")):
        from grader.grading import similarity

        answers, notes = previous
        try:
            report = similarity.similarity_report(
                settings, assignment_name, options.report_dir, previous_answers=answers
            )
            run.notes += notes + report.notes
            run.similarity = similarity.summary(report)
        # any failure of the similarity report: the grades are recorded, their reports still get written
        except Exception as exc:  # noqa: BLE001 (see above)
            run.notes.append(
                f"o relatório de similaridade falhou ({type(exc).__name__}: {exc}); "
                f"as notas e os outros relatórios não foram afetados: rode `grader similarity "
                f"{assignment_name}` para tentar de novo"
            )
    run.table, run.report_folder = rebuild_reports(
        settings, assignment_name, options.report_dir, use_sandbox, moodle_language=options.moodle_language
    )
    run.seconds = time.monotonic() - started
    return run


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


def _prepare(
    file: ingest.SubmittedFile, assignment: Assignment, name: str
) -> tuple[NotebookNode | None, str]:
    """The notebook to run for one submitted file, or why there is none."""
    invalid = "o arquivo enviado não é um notebook válido"
    try:
        student_nb = nbformat.reads(file.data.decode("utf-8"), as_version=4)
    except UnicodeDecodeError:
        return None, f"{invalid}: não é texto UTF-8 (um notebook .ipynb é um arquivo de texto JSON)"
    except (json.JSONDecodeError, nbformat.reader.NotJSONError) as exc:
        detail = str(exc).splitlines()[0][:120]
        return (
            None,
            f"{invalid}: o JSON está incompleto ou corrompido ({detail}); baixe o .ipynb de novo e reenvie",
        )
    # nbformat raises TypeError, AttributeError, jsonschema's errors... for JSON of another shape
    except Exception as exc:  # noqa: BLE001 (see above)
        return None, f"{invalid}: {type(exc).__name__}: {str(exc)[:120]}"
    normalized = normalize(student_nb, assignment.sources[name], assignment.releases[name])
    if normalized.anchor_share < MIN_ANCHOR_SHARE:
        return None, (
            f"o arquivo enviado não parece ser o notebook {name}.ipynb desta atividade "
            f"(só {normalized.anchor_share:.0%} das células fixas encontradas)"
        )
    return normalized.notebook, ""


def _record_when_complete(
    settings: Settings, assignment: Assignment, job: Job, jobs: list[Job], results: dict[str, StudentResult]
) -> None:
    """Once every notebook of a student ran: score, save, record. Runs in execute_all's writer thread (one
    writer for the gradebook), possibly after the student's last notebook ran but before its turn came."""
    mine = [j for j in jobs if j.student is job.student]
    if any(j.executed is None or j.recorded for j in mine):
        return
    for j in mine:
        j.recorded = True
    result = results[job.student.student_id]
    folder = settings.autograded_dir / result.student_id / assignment.name
    previous = _graded_notebooks(folder, [j.notebook_name for j in mine])
    _keep_identity(result, folder / RESULT_FILE)
    if folder.exists():
        shutil.rmtree(folder)  # a regrade replaces the previous run entirely
    folder.mkdir(parents=True)
    executed: dict[str, NotebookNode] = {}
    for j in mine:
        j.score_into(result)
        executed[j.notebook_name] = j.executed.notebook
        if result.held_for_review:  # the formgrader shows the notebook: say so on top of it
            j.executed.notebook.cells.insert(0, nbformat.v4.new_markdown_cell(HELD_BANNER))
        nbformat.write(j.executed.notebook, folder / f"{j.notebook_name}.ipynb")
    _not_submitted(result, assignment, [name for name in assignment.sources if name not in executed])
    _fill_zero_cells(result, assignment)
    when = datetime.fromisoformat(result.submitted_at)
    from grader.grading import record

    record.write_submitted(
        settings,
        assignment.name,
        result.student_id,
        {name: f.data for name, f in job.student.notebooks.items()},
        when,
    )
    record.record_student(settings, assignment.name, result, executed, when, previous)
    result.recorded = True
    result.save(folder)


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


def _submission_time(settings: Settings, result: StudentResult, student: ingest.StudentSubmission) -> None:
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


HELD_BANNER = (
    "**⚠ Nota automática retida para revisão**: os testes que medem algo no kernel do aluno (memória) "
    "estão zerados até um professor revisar, porque o código mexe no IPython, em bibliotecas ou em "
    "`__eq__`; veja as observações em `reports/` (index.html)."
)


def _keep_identity(result: StudentResult, previous: Path) -> None:
    """Regraded from nbgrader's submitted/ (the formgrader's Autograde button), a submission no longer carries
    its Moodle folder or worksheet identity: the previous result's is kept."""
    if result.moodle_id or result.members or not previous.is_file():
        return
    try:
        old = StudentResult.load(previous)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):  # damaged, or of another shape
        return
    result.moodle_id, result.moodle_name, result.members = old.moodle_id, old.moodle_name, old.members
    if not result.last_name:
        result.first_name, result.last_name = old.first_name, old.last_name


def _graded_notebooks(folder: Path, names: list[str]) -> dict[str, NotebookNode]:
    """The notebooks graded last time (their written answers decide whether manual grades still hold)."""
    found = {}
    for name in names:
        path = folder / f"{name}.ipynb"
        if path.is_file():
            try:
                found[name] = nbformat.read(path, as_version=4)
            # an unreadable old run (nbformat fails in many ways): its manual grades are asked again
            except Exception:  # noqa: BLE001 (see above)
                continue
    return found


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


def _fill_zero_cells(result: StudentResult, assignment: Assignment) -> None:
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


def cell_infos(assignment: Assignment) -> list:
    """The graded cells for the reports: a short label each, under its exercise's title."""
    from grader.report.cells import GradeCellInfo

    exercises = assignment.exercises()
    answers = {gid.removeprefix("resposta_") for _, gid in exercises if gid.startswith("resposta_")}
    infos = []
    for c in assignment.grade_cells():
        label = c.grade_id
        prefix = next((a for a in sorted(answers, key=len, reverse=True) if label.startswith(a + "_")), None)
        if c.task:
            label = "tarefa"
        elif c.manual:
            label = "resposta escrita"
        elif prefix:  # "linhas_positivas_casos_limite" -> "linhas positivas: casos limite"
            label = f"{prefix}: {label[len(prefix) + 1 :]}"
        infos.append(
            GradeCellInfo(
                c.grade_id,
                c.notebook,
                c.max_score,
                c.manual,
                label.replace("_", " "),
                exercises.get(c.key, ""),
                task=c.task,
            )
        )
    return infos


def rebuild_reports(
    settings: Settings,
    assignment_name: str,
    report_dir: Path,
    sandboxed: bool | None = None,
    moodle_language: str | None = None,
    worksheet: Path | None = None,
) -> tuple[str, Path]:
    """Write every report of `assignment_name` from autograded/ and the gradebook; the terminal table (with the
    rows Moodle would drop) and the reports' folder. `grader grade` ends with it and `grader report` is only it.
    The worksheet is `worksheet`, else the one `grader grade --worksheet` kept."""
    from grader.report import moodle, write_reports
    from grader.report.moodle_export import MOODLE_STRINGS
    from grader.report.terminal import terminal_table

    assignment = Assignment.load(settings, assignment_name)
    cells = cell_infos(assignment)
    results = load_results(settings, assignment_name)
    if sandboxed is None:  # rebuilt later: unsandboxed if any student's last grading was
        sandboxed = all(r.sandboxed for r in results)
    kept = settings.course_dir / "moodle" / assignment_name / moodle.WORKSHEET_COPY
    sheet = moodle.read_worksheet(worksheet or kept) if worksheet or kept.is_file() else None
    language = moodle_language or settings.moodle_language
    if language not in MOODLE_STRINGS:
        raise UserError(
            f"idioma do Moodle desconhecido: {language!r}; use um de: {', '.join(MOODLE_STRINGS)}"
        )
    paths = write_reports(
        report_dir,
        assignment_name,
        cells,
        results,
        sandboxed=sandboxed,
        moodle_language=language,
        worksheet=sheet,
        answer_exercises=assignment.exercises(),
        notebooks=list(assignment.sources),
        due_date=settings.due_date(assignment_name),
    )
    table = terminal_table(assignment_name, cells, results, sandboxed=sandboxed)
    lines = [f"planilha do Moodle: {note}" for note in paths.moodle_notes]
    if paths.moodle_dropped:
        lines.append(f"o Moodle vai ignorar {len(paths.moodle_dropped)} linha(s) de moodle.csv:")
        lines += [f"  ✗ {d.name} ({d.participant_id}): {d.reason} → {d.action}" for d in paths.moodle_dropped]
    return "\n".join([table, *lines]), Path(report_dir) / assignment_name
