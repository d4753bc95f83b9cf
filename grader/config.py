"""Loads grader_config.py, the course's single place of configuration, into a typed Settings object."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from grader.errors import UserError


@dataclass(frozen=True)
class Settings:
    course_dir: Path
    course_id: str
    student_repository_url: str  # the students' public repository: Colab links and `grader publish`
    student_repository_branch: str
    assignments: list[str]
    db_url: str
    device: str = "auto"
    workers: int = 0
    scheduler: str | None = None  # Dask scheduler address; None: run on this machine
    cell_timeout_s: int = 120
    submission_timeout_s: int = 600
    sandbox: bool = True
    warm_kernels: bool = True  # fork kernels from a Python with the libraries imported (grader/kernels/warm.py)
    cpu_time_s: int = 900
    memory_mb: int = 6144
    max_processes: int = 256
    max_file_mb: int = 64
    max_output_kb: int = 512
    max_transfer_mb: int = 64
    code_stub: str = "# SEU CÓDIGO AQUI\nraise NotImplementedError()"
    text_stub: str = "SUA RESPOSTA AQUI"
    moodle_language: str = "pt_br"  # moodle.csv's headers without a worksheet: pt_br | en
    due_dates: dict[str, datetime] = field(default_factory=dict)  # assignment -> due date (aware)
    strict_conventions: bool = False  # the gate's course conventions are errors, not warnings
    module: object = field(default=None, repr=False, compare=False)

    @property
    def source_dir(self) -> Path:
        return self.course_dir / "source"

    @property
    def release_dir(self) -> Path:
        return self.course_dir / "release"

    @property
    def autograded_dir(self) -> Path:
        return self.course_dir / "autograded"

    def source_notebooks(self, assignment: str) -> list[Path]:
        folder = self.source_dir / assignment
        notebooks = sorted(folder.glob("*.ipynb"))
        known = ", ".join(self.assignments) or "nenhuma"
        if assignment not in self.assignments:
            where = (f"há notebooks em {folder}, mas ela não está em ASSIGNMENTS; acrescente {assignment!r} à lista "
                     "ASSIGNMENTS de grader_config.py") if notebooks else (
                f"não está em ASSIGNMENTS de grader_config.py nem tem notebooks em {folder}; confira o nome")
            raise UserError(f"atividade desconhecida: {assignment!r}: {where} (atividades: {known})")
        if not folder.is_dir():
            raise UserError(f"a atividade {assignment!r} está em ASSIGNMENTS, mas a pasta {folder} não existe: "
                            "crie-a com os notebooks do professor ou tire a atividade da lista")
        if not notebooks:
            raise UserError(f"a atividade {assignment!r} não tem notebooks em {folder}: ponha lá os notebooks "
                            "do professor (.ipynb)")
        return notebooks

    def due_date(self, assignment: str) -> datetime | None:
        return self.due_dates.get(assignment)


def find_course_dir(start: Path | None = None) -> Path:
    """The nearest folder, from `start` upwards, holding grader_config.py."""
    here = (start or Path.cwd()).resolve()
    for folder in [here, *here.parents]:
        if (folder / "grader_config.py").is_file():
            return folder
    for folder in [here, *here.parents]:
        if (folder / "nbgrader_config.py").is_file():
            raise UserError(
                f"{folder} é um curso do nbgrader (tem nbgrader_config.py), mas não tem grader_config.py: rode "
                f"`grader --course-dir {folder} init` para criá-lo com as configurações do nbgrader_config.py"
            )
    raise UserError(
        f"grader_config.py não encontrado em {here} nem acima: rode o comando na pasta do curso "
        "ou passe --course-dir (num curso do nbgrader, `grader init` cria o grader_config.py)"
    )


def load_settings(course_dir: Path | None = None) -> Settings:
    course_dir = find_course_dir(course_dir)
    path = course_dir / "grader_config.py"
    spec = importlib.util.spec_from_file_location("grader_config", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the instructor's file: say where it broke
        raise UserError(f"erro ao ler {path}: {exc}; corrija o arquivo") from exc

    def get(name: str, default):
        return getattr(module, name, default)

    if hasattr(module, "REPOSITORY_URL"):  # it used to send Colab to the course repository, which must stay private
        raise UserError(
            f"{path}: REPOSITORY_URL não é mais usado; troque-o por STUDENT_REPOSITORY_URL, o repositório público "
            "dos alunos (o do curso deve ficar privado), e REPOSITORY_BRANCH por STUDENT_REPOSITORY_BRANCH"
        )
    db_url = get("DB_URL", "sqlite:///gradebook.db")
    if db_url.startswith("sqlite:///") and not db_url.startswith("sqlite:////"):
        db_url = "sqlite:///" + str(course_dir / db_url[len("sqlite:///") :])
    return Settings(
        course_dir=course_dir,
        course_id=get("COURSE_ID", course_dir.name),
        student_repository_url=get("STUDENT_REPOSITORY_URL", ""),
        student_repository_branch=get("STUDENT_REPOSITORY_BRANCH", "main"),
        assignments=list(get("ASSIGNMENTS", [])),
        db_url=db_url,
        device=get("DEVICE", "auto"),
        workers=int(get("WORKERS", 0)),
        scheduler=get("SCHEDULER", None) or None,
        cell_timeout_s=int(get("CELL_TIMEOUT_S", 120)),
        submission_timeout_s=int(get("SUBMISSION_TIMEOUT_S", 600)),
        sandbox=bool(get("SANDBOX", True)),
        warm_kernels=bool(get("WARM_KERNELS", True)),
        cpu_time_s=int(get("CPU_TIME_S", 900)),
        memory_mb=int(get("MEMORY_MB", 6144)),
        max_processes=int(get("MAX_PROCESSES", 256)),
        max_file_mb=int(get("MAX_FILE_MB", 64)),
        max_output_kb=int(get("MAX_OUTPUT_KB", 512)),
        max_transfer_mb=int(get("MAX_TRANSFER_MB", 64)),
        code_stub=get("CODE_STUB", Settings.code_stub),
        text_stub=get("TEXT_STUB", Settings.text_stub),
        moodle_language=get("MOODLE_LANGUAGE", Settings.moodle_language),
        due_dates=_due_dates(path, get("DUE_DATES", {})),
        strict_conventions=bool(get("STRICT_CONVENTIONS", False)),
        module=module,
    )


def _due_dates(path: Path, values) -> dict[str, datetime]:
    from grader.timestamps import EXAMPLE, TimeFormatError, parse_time

    if not isinstance(values, dict):
        raise UserError(f"{path}: DUE_DATES deve ser um dicionário {{'atividade': {EXAMPLE!r}}}")
    dates = {}
    for assignment, text in values.items():
        try:
            dates[str(assignment)] = parse_time(text)
        except TimeFormatError as exc:
            raise UserError(f"{path}: DUE_DATES[{assignment!r}]: {exc}") from None
    return dates
