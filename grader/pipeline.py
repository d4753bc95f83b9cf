"""`grader grade`: ingest -> normalize -> execute -> score -> record -> report, for a whole class.

Execution runs many kernels at once (each kernel is its own process) from one asyncio loop; everything else
(scoring, the gradebook, the reports) happens here, in this one process, as results arrive.
"""

from __future__ import annotations

import ast
import asyncio
import fnmatch
import importlib.util
import json
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from tqdm import tqdm

from grader import ingest, sandbox, tamper, warm
from grader.config import Settings
from grader.errors import UserError
from grader.execute import (
    STATUS_ERROR,
    STATUS_GRADED,
    STATUS_TIMEOUT,
    Executed,
    ExecutionSettings,
    execute_async,
    is_test_cell,
    warm_key,
)
from grader.normalize import nbgrader_meta, normalize
from grader.results import RESULT_FILE, CellResult, StudentResult

# grader.record and grader.score import nbgrader (1 s, its server extensions): imported where used, so that
# `grader grade` starts its kernel servers that much sooner and the writer thread pays the import meanwhile.

MIN_ANCHOR_SHARE = 0.3  # below this share of the release's fixed cells, it is another notebook

# What a library imports only on first use, which every fresh kernel would pay again: a tensor on the "meta"
# device, the profiler or a benchmark Timer import torch._dynamo and with it sympy and ~800 modules (1.5 s;
# measured on programacao_diferenciavel's solution); the first figure imports the inline backend. Warm
# servers import them once. None starts a thread (checked with OMP_NUM_THREADS=1), so forking stays safe.
LAZY_IMPORTS = {
    "torch": ("torch._dynamo", "torch._meta_registrations", "torch.utils.benchmark", "torch.profiler"),
    "matplotlib.pyplot": ("matplotlib_inline.backend_inline", "matplotlib.backends.backend_agg"),
}


@dataclass
class GradeOptions:
    submissions: Path
    report_dir: Path = Path("reports")
    workers: int | None = None
    device: str | None = None  # auto | cpu | cuda; None: grader_config.py
    timeout: int | None = None  # per-submission wall time; None: grader_config.py
    sandbox: bool | None = None  # None: grader_config.py
    progress: bool = True
    scheduler: str | None = None  # Dask scheduler address: execute there; None: grader_config.py; "local": here
    similarity: bool = True  # compare the answers at the end (grader/similarity.py)
    previous: list[Path] = field(default_factory=list)  # earlier semesters' autograded/ folders or zips
    worksheet: Path | None = None  # Moodle's grading worksheet of the same assignment: identities, moodle.csv
    moodle_language: str | None = None  # moodle.csv's headers without a worksheet; None: grader_config.py


@dataclass
class Assignment:
    """An assignment's notebooks as instructors wrote them (source) and students received them (release)."""

    name: str
    sources: dict[str, NotebookNode]
    releases: dict[str, NotebookNode]
    settings: Settings | None = field(default=None, repr=False)
    _files: dict[str, bytes] | None = field(default=None, repr=False)

    @classmethod
    def load(cls, settings: Settings, name: str, release_dir: Path | None = None) -> Assignment:
        """`release_dir`: where the release notebooks are (default release/; the gate checks a fresh one)."""
        sources, releases = {}, {}
        for path in settings.source_notebooks(name):
            release_path = Path(release_dir or settings.release_dir) / name / path.name
            if not release_path.is_file():
                raise UserError(f"falta a liberação {release_path}: rode `grader release {name}` antes de corrigir")
            sources[path.stem] = nbformat.read(path, as_version=4)
            releases[path.stem] = nbformat.read(release_path, as_version=4)
        return cls(name, sources, releases, settings)

    @property
    def files(self) -> dict[str, bytes]:
        """The assignment's other files in source/<name>/ (data, images): relative path -> content; each kernel
        gets them in its working directory, as nbgrader copies them next to the notebook it grades. Read on
        first use: finding them imports nbgrader (1 s), which `grader grade` pays after its kernels start."""
        if self._files is None:
            self._files = assignment_files(self.settings, self.name) if self.settings is not None else {}
        return self._files

    @property
    def multi_notebook(self) -> bool:
        return len(self.sources) > 1

    def imports(self, tests: bool | None = None) -> tuple[str, ...]:
        """Modules the solution imports (of packages installed here): what a warm server imports once, for
        every kernel it forks. `tests`: only those of the test cells (True: what the test kernel needs) or of
        the others (False: the student's kernel); None: all."""
        found = set()
        for nb in self.sources.values():
            for cell in nb.cells:
                if cell.cell_type != "code" or (tests is not None and is_test_cell(cell) != tests):
                    continue
                try:
                    tree = ast.parse(cell.source)
                except SyntaxError:
                    continue
                for node in ast.walk(tree):
                    if isinstance(node, ast.Import):
                        found.update(alias.name for alias in node.names)
                    elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                        # `from torch.utils import benchmark`: maybe a submodule (the zygote skips what is not)
                        found.add(node.module)
                        found.update(f"{node.module}.{alias.name}" for alias in node.names)
        for library, lazy in LAZY_IMPORTS.items():
            if library in found:
                found.update(lazy)
        return tuple(sorted(m for m in found if importlib.util.find_spec(m.split(".")[0]) is not None))

    def exercises(self) -> dict[tuple[str, str], str]:
        """Every nbgrader cell (graded, task or answer), by (notebook, grade_id) -> the title of its exercise: the
        nearest heading above it, after the notebook's name in an assignment of several notebooks."""
        found = {}
        for nb_name, nb in self.sources.items():
            title = ""
            for cell in nb.cells:
                lines = cell.source.lstrip().lstrip("-").strip().splitlines() if cell.cell_type == "markdown" else []
                if lines and lines[0].startswith("#"):
                    title = lines[0].lstrip("#").strip().replace("`", "")
                meta = nbgrader_meta(cell)
                if meta.get("grade_id") and (meta.get("grade") or meta.get("solution") or meta.get("task")):
                    found[nb_name, meta["grade_id"]] = f"{nb_name} — {title}" if self.multi_notebook else title
        return found

    def grade_cells(self) -> list[CellResult]:
        """Every cell nbgrader grades (grade cells and tasks), in notebook order, scored zero: the shape of a
        result that earned nothing."""
        cells = []
        for nb_name, nb in self.sources.items():
            for cell in nb.cells:
                meta = nbgrader_meta(cell)
                if meta.get("grade") or meta.get("task"):
                    manual = bool(meta.get("solution") or meta.get("task")) or cell.cell_type != "code"
                    cells.append(CellResult(meta["grade_id"], nb_name, 0.0, float(meta.get("points", 0)), False,
                                            manual=manual, task=bool(meta.get("task")) and not meta.get("grade")))
        return cells


# nbgrader's CourseDirectory.ignore default
NBGRADER_IGNORE = (".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback")


def assignment_files(settings: Settings, name: str) -> dict[str, bytes]:
    """The files nbgrader copies with an assignment's notebooks (generate_assignment into release/, autograde
    next to the graded notebook): everything in source/<name>/ but notebooks and CourseDirectory.ignore, by
    nbgrader's rule (utils.find_all_files: a file or folder whose name matches a pattern is left out). Written
    here rather than imported: importing nbgrader takes 2.5 s, which `grader grade` would pay before its first
    notebook runs."""
    from grader.release import nbgrader_config

    config = nbgrader_config(settings).CourseDirectory
    ignore = [*(config.ignore if "ignore" in config else NBGRADER_IGNORE), "*.ipynb"]
    folder = settings.source_dir / name
    found = {}
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not any(fnmatch.fnmatch(d, pattern) for pattern in ignore))
        for file in names:
            if not any(fnmatch.fnmatch(file, pattern) for pattern in ignore):
                path = Path(root, file)
                found[path.relative_to(folder).as_posix()] = path.read_bytes()
    return dict(sorted(found.items()))


@dataclass
class Job:
    student: ingest.StudentSubmission
    notebook_name: str
    notebook: NotebookNode  # normalized
    audit_flags: list[str] = field(default_factory=list)
    executed: Executed | None = None
    finished: bool = False  # scored and recorded, with the student's other notebooks

    @classmethod
    def build(cls, student, name: str, normalized: NotebookNode, release: NotebookNode) -> Job:
        return cls(student, name, normalized, tamper.audit(normalized, release))

    def finish(self, result: StudentResult) -> None:
        """Score the executed notebook into `result`; the audit's findings are for a person to read."""
        ex = self.executed
        result.flags += [f for f in self.audit_flags if f not in result.flags]
        from grader.score import score_cells

        cells = score_cells(ex.notebook, self.notebook_name)  # by grade_id: unique within a notebook
        if tamper.requires_review(self.audit_flags):
            # Only what is measured inside the student's kernel could be forged there: those cells wait
            # for a person when the code does what no honest answer needs (README, "Segurança").
            held = tamper.hold_measured_cells(ex.notebook, cells)
            if held:
                result.notes.append(f"{self.notebook_name}: {', '.join(held)} retida(s) para revisão: a "
                                    "medição é feita no kernel do aluno e o código mexe no IPython, em "
                                    "bibliotecas ou em __eq__")
                result.held_for_review = True
                if tamper.TAMPERING not in result.flags:
                    result.flags.append(tamper.TAMPERING)
        result.cells.update({cell.key: cell for cell in cells.values()})
        result.seconds += ex.seconds
        if ex.status != STATUS_GRADED and result.status == STATUS_GRADED:
            result.status = STATUS_TIMEOUT if ex.status == STATUS_TIMEOUT else STATUS_ERROR
        if ex.message:
            result.notes.append(f"{self.notebook_name}: {ex.message}")
        for limit in ex.limits_hit:
            flag = f"limite: {limit}"
            if flag not in result.flags:
                result.flags.append(flag)


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


def visible_gpus() -> list[str]:
    """GPU indices this machine exposes, without importing torch (slow) where there is obviously none."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [g for g in env.split(",") if g.strip() and g.strip() != "-1"]
    if not any(Path("/dev").glob("nvidia[0-9]*")):
        return []
    try:
        import torch

        return [str(i) for i in range(torch.cuda.device_count())]
    except Exception:
        return []


def resolve_device(requested: str, remote: bool = False) -> tuple[str, list[str]]:
    if requested not in ("auto", "cpu", "cuda"):
        raise UserError(f"--device {requested!r} desconhecido: use auto, cpu ou cuda")
    if remote:  # the GPUs are on the Dask workers: grader/cluster.py checks them there
        return requested, []
    gpus = visible_gpus() if requested != "cpu" else []
    if requested == "cuda" and not gpus:
        raise UserError("--device cuda, mas nenhuma GPU está visível nesta máquina: use --device cpu (ou auto)")
    return ("cuda" if gpus else "cpu"), gpus


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
        return _grade(settings, assignment, options, base, slots, scheduler, device, workers, started, previous)
    finally:
        if slots is not None:
            slots.close()


def _grade(settings: Settings, assignment: Assignment, options: GradeOptions, base: ExecutionSettings,
           slots: WorkerSlots | None, scheduler: str | None, device: str, workers: int,
           started: float, previous: tuple[list, list[str]] | None) -> GradingRun:
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
        from grader import record

        record.sync_assignment(settings, assignment_name)
        import grader.report  # noqa: F401  (its matplotlib import, off the end of the run)

    run = GradingRun(notes=batch_notes, workers=workers, device=device, sandboxed=use_sandbox)
    jobs: list[Job] = []
    results: dict[str, StudentResult] = {}
    for student in students:
        result = StudentResult(student.student_id, assignment_name, first_name=student.first_name,
                               last_name=student.last_name, notes=list(student.notes), sandboxed=use_sandbox,
                               source_files=[f.path for f in student.notebooks.values()],
                               moodle_id=student.moodle_id, moodle_name=student.moodle_name,
                               members=[{"participant_id": m.participant_id, "name": m.name,
                                         "student_id": m.student_id} for m in student.members])
        results[student.student_id] = result
        if student.missing:
            result.status = "missing"
            result.notes.append("nenhum notebook desta atividade na submissão")
            continue
        _submission_time(settings, result, student)
        for name, file in student.notebooks.items():
            nb, problem = _prepare(file, assignment, name)
            if problem:
                result.status = STATUS_ERROR
                result.notes.append(f"{file.path}: {problem}")
                result.problem = problem
            else:
                jobs.append(Job.build(student, name, nb, assignment.releases[name]))
        if result.status == STATUS_ERROR:  # one bad notebook: the student's other notebooks are not graded
            jobs = [j for j in jobs if j.student is not student]
            from grader import record

            record.write_submitted(settings, assignment_name, student.student_id,
                                   {name: f.data for name, f in student.notebooks.items()},
                                   datetime.fromisoformat(result.submitted_at))
    if not use_sandbox:
        run.notes.append("correção feita SEM sandbox (--no-sandbox): o código dos alunos rodou sem isolamento")

    if scheduler:  # only the notebooks travel; scoring and the gradebook stay here
        from grader import cluster

        if options.workers:
            run.notes.append("--workers não vale com --scheduler: cada worker Dask roda até --nthreads notebooks")
        run.notes.append(f"notebooks executados nos workers do scheduler Dask {scheduler}")
        use_gpu = {"cuda": True, "cpu": False}.get(device)  # auto: GPUs if the workers have them
        sync_gradebook()
        run.device, run.workers = asyncio.run(cluster.execute_all_on_cluster(
            scheduler, jobs, base, use_gpu, options.progress,
            lambda job: _finish_job(settings, assignment, job, jobs, results), assignment.files))
    else:
        asyncio.run(_execute_all(jobs, slots, options.progress,
                                 lambda job: _finish_job(settings, assignment, job, jobs, results), sync_gradebook,
                                 assignment.files))
    for result in results.values():
        if result.status != STATUS_GRADED or not result.cells:
            _fill_zero_cells(result, assignment)
            result.save(settings.autograded_dir / result.student_id / assignment_name)
    run.results = [results[s.student_id] for s in students]
    if previous is not None and any(settings.autograded_dir.glob(f"*/{assignment_name}/*.ipynb")):
        from grader import similarity

        answers, notes = previous
        try:
            report = similarity.similarity_report(settings, assignment_name, options.report_dir,
                                                  previous_answers=answers)
            run.notes += notes + report.notes
            run.similarity = similarity.summary(report)
        except Exception as exc:  # the grades are recorded: their reports still get written
            run.notes.append(f"o relatório de similaridade falhou ({type(exc).__name__}: {exc}); "
                             f"as notas e os outros relatórios não foram afetados: rode `grader similarity "
                             f"{assignment_name}` para tentar de novo")
    run.table, run.report_folder = rebuild_reports(settings, assignment_name, options.report_dir, use_sandbox,
                                                   moodle_language=options.moodle_language)
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
    from grader import similarity

    notes: list[str] = []
    return similarity.load_previous_all(options.previous, assignment.name, list(assignment.releases), notes), notes


def _prepare(file: ingest.SubmittedFile, assignment: Assignment, name: str) -> tuple[NotebookNode | None, str]:
    """The notebook to run for one submitted file, or why there is none."""
    invalid = "o arquivo enviado não é um notebook válido"
    try:
        student_nb = nbformat.reads(file.data.decode("utf-8"), as_version=4)
    except UnicodeDecodeError:
        return None, f"{invalid}: não é texto UTF-8 (um notebook .ipynb é um arquivo de texto JSON)"
    except (json.JSONDecodeError, nbformat.reader.NotJSONError) as exc:
        detail = str(exc).splitlines()[0][:120]
        return None, f"{invalid}: o JSON está incompleto ou corrompido ({detail}); baixe o .ipynb de novo e reenvie"
    except Exception as exc:
        return None, f"{invalid}: {type(exc).__name__}: {str(exc)[:120]}"
    normalized = normalize(student_nb, assignment.sources[name], assignment.releases[name])
    if normalized.anchor_share < MIN_ANCHOR_SHARE:
        return None, (
            f"o arquivo enviado não parece ser o notebook {name}.ipynb desta atividade "
            f"(só {normalized.anchor_share:.0%} das células fixas encontradas)"
        )
    return normalized.notebook, ""


class Progress:
    """The bar shown while notebooks run (here or on a Dask cluster), with how many failed."""

    def __init__(self, total: int, enabled: bool):
        self.bar = tqdm(total=total, unit="nb", disable=not enabled or not total, desc="corrigindo",
                        bar_format="{desc}: {n}/{total} {bar} [{elapsed}<{remaining}]{postfix}")
        self.failures = 0

    def done(self, executed: Executed) -> None:
        self.failures += executed.status != STATUS_GRADED
        self.bar.set_postfix_str(f"falhas: {self.failures}")
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


class WorkerSlots:
    """The local workers: each slot's settings (its GPU) and, with warm kernels, its pair of servers. Servers
    start on creation, so their imports overlap with whatever the caller does next; `close()` stops them."""

    def __init__(self, base: ExecutionSettings, gpus: list[str], workers: int):
        self.queue: asyncio.Queue | None = None
        self.slots = []
        for slot in range(workers):
            settings = base if not gpus else _with_gpu(base, gpus[slot % len(gpus)])
            self.slots.append([settings, warm.Pair(warm_key(settings)) if settings.warm else None])

    async def take(self) -> list:
        if self.queue is None:  # made in the running event loop
            self.queue = asyncio.Queue()
            for slot in self.slots:
                self.queue.put_nowait(slot)
        slot = await self.queue.get()
        settings, server = slot
        if server is not None:  # its last kernel may have broken it: then a new sandbox
            slot[1] = warm.renewed(server, warm_key(settings))
        return slot

    def give_back(self, slot: list) -> None:
        self.queue.put_nowait(slot)

    def close(self) -> None:
        for _, server in self.slots:
            if server is not None:
                server.stop()


async def _execute_all(jobs: list[Job], slots: WorkerSlots, progress: bool, on_done,
                       before=lambda: None, files: dict[str, bytes] | None = None) -> None:
    """Run every job on the slots; `on_done(job)` (scoring, the gradebook) runs in one writer thread, one job
    at a time, so the event loop keeps feeding cells to the other kernels meanwhile. `before()` runs first
    in that thread (the gradebook's copy of the assignment), while the first notebooks already run.

    Interrupted (Ctrl-C or SIGTERM cancel this coroutine) or failed, it stops every kernel at once and records
    nothing more but what the writer has already begun: nbclient reports a cancelled cell as a dead kernel,
    which must not be graded as one."""
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gradebook")
    loop = asyncio.get_running_loop()
    ready = loop.run_in_executor(writer, before)
    bar = Progress(len(jobs), progress)
    stopping = False

    async def run(job: Job) -> None:
        slot = await slots.take()
        try:
            job.executed = await execute_async(job.notebook, *slot, files=files)  # the assignment's files
        finally:
            slots.give_back(slot)
        if stopping:  # cut short: not what the student's notebook did
            return
        await ready  # its error (say, nbgrader could not read source/) ends the run before any recording
        await loop.run_in_executor(writer, on_done, job)
        bar.done(job.executed)

    tasks = [ready, *(asyncio.ensure_future(run(job)) for job in jobs)]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            task.result()  # the first error, if any
    except BaseException:
        stopping = True
        for task in tasks:
            task.cancel()
        slots.close()  # a kernel that a cancellation does not reach dies with its server
        await asyncio.wait(tasks)
        raise
    finally:
        bar.close()
        writer.shutdown()


def _with_gpu(base: ExecutionSettings, gpu: str) -> ExecutionSettings:
    return replace(base, gpu=gpu)


def _finish_job(settings: Settings, assignment: Assignment, job: Job, jobs: list[Job],
                results: dict[str, StudentResult]) -> None:
    """Once every notebook of a student ran: score, save, record. Runs in _execute_all's writer thread (one
    writer for the gradebook), possibly after the student's last notebook ran but before its turn came."""
    mine = [j for j in jobs if j.student is job.student]
    if any(j.executed is None or j.finished for j in mine):
        return
    for j in mine:
        j.finished = True
    result = results[job.student.student_id]
    folder = settings.autograded_dir / result.student_id / assignment.name
    previous = _graded_notebooks(folder, [j.notebook_name for j in mine])
    _keep_identity(result, folder / RESULT_FILE)
    if folder.exists():
        shutil.rmtree(folder)  # a regrade replaces the previous run entirely
    folder.mkdir(parents=True)
    executed: dict[str, NotebookNode] = {}
    for j in mine:
        j.finish(result)
        executed[j.notebook_name] = j.executed.notebook
        if result.held_for_review:  # the formgrader shows the notebook: say so on top of it
            j.executed.notebook.cells.insert(0, nbformat.v4.new_markdown_cell(HELD_BANNER))
        nbformat.write(j.executed.notebook, folder / f"{j.notebook_name}.ipynb")
    _not_submitted(result, assignment, [name for name in assignment.sources if name not in executed])
    _fill_zero_cells(result, assignment)
    when = datetime.fromisoformat(result.submitted_at)
    from grader import record

    record.write_submitted(settings, assignment.name, result.student_id,
                           {name: f.data for name, f in job.student.notebooks.items()}, when)
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


HELD_BANNER = ("**⚠ Nota automática retida para revisão**: os testes que medem algo no kernel do aluno (memória) "
               "estão zerados até um professor revisar, porque o código mexe no IPython, em bibliotecas ou em "
               "`__eq__`; veja as observações em `reports/` (index.html).")


def _keep_identity(result: StudentResult, previous: Path) -> None:
    """Regraded from nbgrader's submitted/ (the formgrader's Autograde button), a submission no longer carries
    its Moodle folder or worksheet identity: the previous result's is kept."""
    if result.moodle_id or result.members or not previous.is_file():
        return
    try:
        old = StudentResult.load(previous)
    except Exception:
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
            except Exception:  # an unreadable old run: its manual grades are asked again
                continue
    return found


def _identify(settings: Settings, assignment: str, students: list[ingest.StudentSubmission],
              worksheet: Path | None) -> list[str]:
    """Identities from Moodle's worksheet (kept for `grader report`), or the warning that, without it, Moodle's
    numbers are per assignment."""
    from grader import moodle

    saved = settings.course_dir / "moodle" / assignment / moodle.WORKSHEET_COPY
    if worksheet is None:
        if any(s.moodle_id or s.team for s in students):
            return ["sem --worksheet: os números das pastas do Moodle são ids de participante desta tarefa (mudam "
                    "de uma tarefa para outra, então cada tarefa cria outros alunos no gradebook) e moodle.csv só "
                    "serve para esta tarefa; passe a planilha de notas da tarefa com --worksheet"]
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
    results = [StudentResult.load(path)
               for path in sorted(settings.autograded_dir.glob(f"*/{assignment}/{RESULT_FILE}"))]
    from grader import record

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


def execution_settings(settings: Settings, workers: int, use_sandbox: bool,
                       assignment: Assignment | None = None) -> ExecutionSettings:
    """How `assignment`'s notebooks run here; its imports are what each warm server imports once (the test
    kernel's server only what the test cells import)."""
    preloads = {}
    if assignment is not None:
        preloads = {"preload": assignment.imports(tests=False), "test_preload": assignment.imports(tests=True)}
    return ExecutionSettings(
        warm=settings.warm_kernels,
        **preloads,
        cell_timeout_s=settings.cell_timeout_s,
        submission_timeout_s=settings.submission_timeout_s,
        use_sandbox=use_sandbox,
        limits=sandbox.Limits(settings.cpu_time_s, settings.memory_mb, settings.max_processes,
                              settings.max_file_mb),
        threads=max(1, (os.cpu_count() or 1) // workers),
        max_output_kb=settings.max_output_kb,
        transfer_mb=settings.max_transfer_mb,
    )


def grade_notebooks(assignment: Assignment, notebooks: dict[str, tuple[str, NotebookNode]],
                    base: ExecutionSettings, workers: int) -> dict[str, StudentResult]:
    """Grade loose notebooks (label -> (assignment notebook name, notebook)) without touching the gradebook:
    the quality gate and the answer catalogues use it. Same normalize, execute, tamper checks and score."""
    jobs = []
    for label, (name, nb) in notebooks.items():
        normalized = normalize(nb, assignment.sources[name], assignment.releases[name])
        jobs.append(Job.build(ingest.StudentSubmission(label), name, normalized.notebook,
                              assignment.releases[name]))
    slots = WorkerSlots(base, [], max(1, min(workers, len(jobs))))
    try:
        asyncio.run(_execute_all(jobs, slots, False, lambda job: None, files=assignment.files))
    finally:
        slots.close()
    results = {}
    for job in jobs:
        result = results.setdefault(job.student.student_id, StudentResult(job.student.student_id, assignment.name))
        job.finish(result)
    return results


def cell_infos(assignment: Assignment) -> list:
    """The graded cells for the reports: a short label each, under its exercise's title."""
    from grader import report

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
            label = f"{prefix}: {label[len(prefix) + 1:]}"
        infos.append(report.GradeCellInfo(c.grade_id, c.notebook, c.max_score, c.manual,
                                          label.replace("_", " "), exercises.get(c.key, ""), task=c.task))
    return infos


def rebuild_reports(settings: Settings, assignment_name: str, report_dir: Path,
                    sandboxed: bool | None = None, moodle_language: str | None = None,
                    worksheet: Path | None = None) -> tuple[str, Path]:
    """Write every report of `assignment_name` from autograded/ and the gradebook; the terminal table (with the
    rows Moodle would drop) and the reports' folder. `grader grade` ends with it and `grader report` is only it.
    The worksheet is `worksheet`, else the one `grader grade --worksheet` kept."""
    from grader import moodle, report

    assignment = Assignment.load(settings, assignment_name)
    cells = cell_infos(assignment)
    results = load_results(settings, assignment_name)
    if sandboxed is None:  # rebuilt later: unsandboxed if any student's last grading was
        sandboxed = all(r.sandboxed for r in results)
    kept = settings.course_dir / "moodle" / assignment_name / moodle.WORKSHEET_COPY
    sheet = moodle.read_worksheet(worksheet or kept) if worksheet or kept.is_file() else None
    language = moodle_language or settings.moodle_language
    if language not in report.MOODLE_STRINGS:
        raise UserError(f"idioma do Moodle desconhecido: {language!r}; use um de: {', '.join(report.MOODLE_STRINGS)}")
    paths = report.write_reports(report_dir, assignment_name, cells, results, sandboxed=sandboxed,
                                 moodle_language=language, worksheet=sheet,
                                 answer_exercises=assignment.exercises(), notebooks=list(assignment.sources),
                                 due_date=settings.due_date(assignment_name))
    table = report.terminal_table(assignment_name, cells, results, sandboxed=sandboxed)
    lines = [f"planilha do Moodle: {note}" for note in paths.moodle_notes]
    if paths.moodle_dropped:
        lines.append(f"o Moodle vai ignorar {len(paths.moodle_dropped)} linha(s) de moodle.csv:")
        lines += [f"  ✗ {d.name} ({d.participant_id}): {d.reason} → {d.action}" for d in paths.moodle_dropped]
    return "\n".join([table, *lines]), Path(report_dir) / assignment_name
