"""The course's settings, declared once. SETTINGS below is the only place where a setting's name, default and
description are written; everything else is derived from it:

- load_settings reads a course's grader_config.py into Settings (a setting the file leaves out takes its default);
- render_config writes a complete, documented grader_config.py (`grader init`; `python -m grader.config FILE`
  rewrites one keeping its values), and config_problems says where a grader_config.py strays from the table;
- configure_nbgrader gives nbgrader (nbgrader_config.py, the formgrader, `grader release`) the same values;
- Settings.runtime_values are what the kernels run with (grader/kernels/execute.ExecutionSettings.from_settings),
  and the table's defaults are ExecutionSettings' and sandbox.Limits' defaults.
"""

from __future__ import annotations

import ast
import difflib
import importlib.util
import json
import os
import sys
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from grader.errors import UserError

LINE = 110  # grader_config.py's line length, as the code's


def _same(value, path: Path):
    return value


def _plain(convert: Callable) -> Callable:
    return lambda value, path: convert(value)


def _course_id(value, path: Path):
    return path.parent.name if value is None else value


def _db_url(value: str, path: Path) -> str:
    """A relative sqlite path is the course folder's: one rule for the grader and for nbgrader."""
    if value.startswith("sqlite:///") and not value.startswith("sqlite:////"):
        return "sqlite:///" + str(path.parent / value[len("sqlite:///") :])
    return value


def _due_dates(values, path: Path) -> dict[str, datetime]:
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


@dataclass(frozen=True)
class Setting:
    """One setting of grader_config.py. Its Settings field is `name` in lower case."""

    name: str  # the upper-case global in grader_config.py
    default: object  # the value when grader_config.py does not assign it
    description: str  # English, one paragraph: grader_config.py's comment on it
    section: str  # a key of SECTIONS: the comment heading its group in grader_config.py
    read: Callable[[object, Path], object] = _same  # grader_config.py's value -> Settings' (Path: the file)
    default_doc: str = ""  # the default in words, where its literal does not say it
    runtime: str = ""  # the ExecutionSettings field it sets ("limits.x": sandbox.Limits's)
    nbgrader: str = ""  # the nbgrader trait it sets ("Section.trait")
    to_nbgrader: Callable[[object], object] = lambda value: value

    @property
    def field(self) -> str:
        return self.name.lower()

    def value(self, namespace: Mapping, path: Path):
        """Its value for the grader_config.py at `path` whose globals are `namespace`."""
        raw = namespace.get(self.name, self.default)
        try:
            return self.read(raw, path)
        except (TypeError, ValueError, AttributeError):  # the instructor's value: say which, in one line
            raise UserError(
                f"{path}: {self.name} = {raw!r} não é um valor válido; use um valor como "
                f"{literal(self.default)}"
            ) from None

    def lines(self, value) -> list[str]:
        """`NAME = value` with its description: on the line when it fits, else above it."""
        text = self.description
        if value != self.default:  # the course changed it: say what it was
            shown = self.default_doc or literal(self.default)
            text += f" Default: {shown}." if text.endswith(".") else f" (default: {shown})"
        assignment = f"{self.name} = {literal(value)}"
        inline = f"{assignment}  # {text}"
        return [inline] if len(inline) <= LINE else [*_comment(text), assignment]


# The comment over each group of settings in grader_config.py ("": none).
SECTIONS = {
    "identity": "Course identity.",
    "students": (
        "The students' repository: public, it holds only what `grader publish` writes (release notebooks, their "
        'data and a README). The "Abrir no Colab" links point at <STUDENT_REPOSITORY_URL>/blob/<BRANCH>/'
        "<assignment>/<nb>.ipynb, never at this course repository, which holds the solutions and hidden tests and "
        "must stay private."
    ),
    "assignments": "",
    "due_dates": "",
    "gate": "",
    "gradebook": "",
    "grading": "Grading defaults (the command line overrides DEVICE, WORKERS, SCHEDULER and SUBMISSION_TIMEOUT_S).",
    "submissions": (
        "What the grader reads of what students send (grader/intake/entries.py), before anything runs: a notebook "
        "over a limit is never read (whatever a zip's header says, reading stops at the limit) and that student's "
        "result is an error naming the file, its size and the limit; the rest of the class is graded."
    ),
    "limits": "Limits per submission, enforced by the sandbox (grader/kernels/sandbox.py).",
    "moodle": "",
    "stubs": "Text that replaces solutions in the student release (Portuguese: students read it).",
}

# Every setting, in grader_config.py's order. Adding one here adds it to Settings (a field of the same name, in
# lower case), to grader_config.py (python -m grader.config grader_config.py) and, with `runtime` or
# `nbgrader`, to the kernels' settings or nbgrader's config; tests/test_config.py fails until all agree.
SETTINGS: tuple[Setting, ...] = (
    Setting(
        "COURSE_ID",
        None,
        "nbgrader's course id",
        "identity",
        _course_id,
        default_doc="the course folder's name",
        nbgrader="CourseDirectory.course_id",
    ),
    Setting(
        "STUDENT_REPOSITORY_URL",
        "",
        "edit: the students' public repository",
        "students",
        default_doc='"": no repository yet, the Colab links lead nowhere',
    ),
    Setting(
        "STUDENT_REPOSITORY_BRANCH", "main", "its branch, in the Colab links and `grader publish`", "students"
    ),
    Setting(
        "ASSIGNMENTS",
        [],
        "Assignments, in teaching order: folder names under source/ and release/.",
        "assignments",
        _plain(list),
    ),
    Setting(
        "DUE_DATES",
        {},
        (
            'Due dates (optional), assignment -> date, time and time zone ("2025-05-10 23:59 -0300", or a zone name as '
            '"2025-05-10 23:59 America/Sao_Paulo"). A submission is on time up to that instant; later ones are marked '
            "late (atrasada) in scores.json, index.html and the feedback, and the gradebook gets the due date, so the "
            "formgrader shows how late. The submission time is nbgrader's timestamp.txt when the student's folder has "
            "one, else the notebook file's time (in Moodle's zip, the time recorded inside the zip)."
        ),
        "due_dates",
        _due_dates,
    ),
    Setting(
        "STRICT_CONVENTIONS",
        False,
        (
            "The release's quality gate (`grader release`): what nbgrader's model requires (valid metadata, unique "
            "ids, nothing of a solution or hidden test in the release, the solution earns full marks) always stops "
            "the release; this course's conventions (test cells locked, solution code between ### BEGIN/END "
            "SOLUTION, no outputs in source/, graded cells with points, the blank release earns zero) are warnings, "
            "or errors with True."
        ),
        "gate",
        _plain(bool),
    ),
    Setting(
        "DB_URL",
        "sqlite:///gradebook.db",
        (
            "Gradebook: nbgrader's database. Any SQLAlchemy URL works; a relative sqlite path is taken from the course "
            "directory."
        ),
        "gradebook",
        _db_url,
        nbgrader="CourseDirectory.db_url",
    ),
    Setting("DEVICE", "auto", "auto | cpu | cuda", "grading"),
    Setting("WORKERS", 0, "0: one per core (one per GPU with cuda)", "grading", _plain(int)),
    Setting(
        "SCHEDULER",
        None,
        'Dask scheduler ("tcp://host:8786"): run the notebooks on its workers; None: here',
        "grading",
        lambda value, path: value or None,
    ),
    Setting(
        "CELL_TIMEOUT_S",
        120,
        "wall time one cell may take",
        "grading",
        _plain(int),
        runtime="cell_timeout_s",
        nbgrader="ExecutePreprocessor.timeout",
    ),
    Setting(
        "SUBMISSION_TIMEOUT_S",
        600,
        "wall time one whole notebook may take",
        "grading",
        _plain(int),
        runtime="submission_timeout_s",
    ),
    Setting(
        "WARM_KERNELS",
        True,
        (
            "Each worker keeps a sandboxed Python with the notebooks' imports done (torch: 4-8 s) and forks a fresh "
            "kernel from it per submission (grader/kernels/warm.py); False starts every kernel from scratch."
        ),
        "grading",
        _plain(bool),
        runtime="warm",
    ),
    Setting("MAX_NOTEBOOK_MB", 50, "largest notebook file a student may hand in", "submissions", _plain(int)),
    Setting("MAX_SUBMISSION_MB", 100, "all of one student's notebooks together", "submissions", _plain(int)),
    Setting(
        "SANDBOX",
        True,
        "`--no-sandbox` turns it off for one run, and the report says so",
        "limits",
        _plain(bool),
        runtime="use_sandbox",
    ),
    Setting(
        "CPU_TIME_S",
        900,
        "CPU seconds (all threads) for one kernel",
        "limits",
        _plain(int),
        runtime="limits.cpu_time_s",
    ),
    Setting(
        "MEMORY_MB", 6144, "address space of the kernel", "limits", _plain(int), runtime="limits.memory_mb"
    ),
    Setting(
        "SUBMISSION_MEMORY_MB",
        6144,
        "resident memory of a submission's processes, all together",
        "limits",
        _plain(int),
        runtime="limits.submission_memory_mb",
    ),
    Setting(
        "MAX_PROCESSES",
        256,
        "processes and threads the kernel may hold",
        "limits",
        _plain(int),
        runtime="limits.max_processes",
    ),
    Setting(
        "MAX_FILE_MB",
        64,
        "largest file the kernel may write",
        "limits",
        _plain(int),
        runtime="limits.max_file_mb",
    ),
    Setting(
        "MAX_OUTPUT_KB",
        512,
        "outputs kept per cell in the graded notebook",
        "limits",
        _plain(int),
        runtime="max_output_kb",
    ),
    Setting(
        "MAX_TRANSFER_MB",
        64,
        (
            "The most one answer of the student's kernel may carry to the trusted test kernel (a result, the "
            "arguments it changed): more fails that test (grader/kernels/standalone/inkernel/wire.py)."
        ),
        "limits",
        _plain(int),
        runtime="transfer_mb",
    ),
    Setting(
        "MOODLE_LANGUAGE",
        "pt_br",
        (
            "Moodle: the language of moodle.csv's headers when no grading worksheet is given (`grader grade "
            '--worksheet` fills the worksheet downloaded from the assignment instead, in its own language): "pt_br" '
            'or "en".'
        ),
        "moodle",
    ),
    Setting(
        "CODE_STUB",
        "# SEU CÓDIGO AQUI\nraise NotImplementedError()",
        "replaces solution code",
        "stubs",
        nbgrader="ClearSolutions.code_stub",
        to_nbgrader=lambda stub: {"python": stub},
    ),
    Setting(
        "TEXT_STUB",
        "SUA RESPOSTA AQUI",
        "replaces written answers",
        "stubs",
        nbgrader="ClearSolutions.text_stub",
    ),
)
SETTING = {setting.name: setting for setting in SETTINGS}


def default(name: str):
    """The default of setting `name` (the kernels' dataclasses take theirs from here)."""
    return SETTING[name].default


@dataclass(frozen=True)
class Settings:
    """A course's settings: one field per row of SETTINGS (defaults and meanings there), read by load_settings."""

    course_dir: Path
    course_id: str
    student_repository_url: str  # the students' public repository: Colab links and `grader publish`
    student_repository_branch: str
    assignments: list[str]
    due_dates: dict[str, datetime]  # assignment -> due date (aware)
    strict_conventions: bool  # the gate's course conventions are errors, not warnings
    db_url: str  # a relative sqlite path made absolute
    device: str
    workers: int
    scheduler: str | None  # Dask scheduler address; None: run on this machine
    cell_timeout_s: int
    submission_timeout_s: int
    warm_kernels: bool  # fork kernels from a Python with the libraries imported (grader/kernels/warm.py)
    max_notebook_mb: int  # a submitted notebook larger than this is not read (grader/intake/entries.py)
    max_submission_mb: int  # nor a student's notebooks that together pass this
    sandbox: bool
    cpu_time_s: int
    memory_mb: int
    submission_memory_mb: int
    max_processes: int
    max_file_mb: int
    max_output_kb: int
    max_transfer_mb: int
    moodle_language: str  # moodle.csv's headers without a worksheet: pt_br | en
    code_stub: str
    text_stub: str
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
            where = (
                (
                    f"há notebooks em {folder}, mas ela não está em ASSIGNMENTS; acrescente {assignment!r} à lista "
                    "ASSIGNMENTS de grader_config.py"
                )
                if notebooks
                else (
                    f"não está em ASSIGNMENTS de grader_config.py nem tem notebooks em {folder}; confira o nome"
                )
            )
            raise UserError(f"atividade desconhecida: {assignment!r}: {where} (atividades: {known})")
        if not folder.is_dir():
            raise UserError(
                f"a atividade {assignment!r} está em ASSIGNMENTS, mas a pasta {folder} não existe: "
                "crie-a com os notebooks do professor ou tire a atividade da lista"
            )
        if not notebooks:
            raise UserError(
                f"a atividade {assignment!r} não tem notebooks em {folder}: ponha lá os notebooks "
                "do professor (.ipynb)"
            )
        return notebooks

    def due_date(self, assignment: str) -> datetime | None:
        return self.due_dates.get(assignment)

    def runtime_values(self) -> dict[str, object]:
        """What the kernels run with, by ExecutionSettings field ("limits.x": sandbox.Limits's)."""
        return {setting.runtime: getattr(self, setting.field) for setting in SETTINGS if setting.runtime}


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
    return read_settings(vars(module), path, module)


def read_settings(namespace: Mapping, path: Path, module: object = None) -> Settings:
    """The settings of the grader_config.py at `path` whose globals are `namespace`."""
    if (
        "REPOSITORY_URL" in namespace
    ):  # it used to send Colab to the course repository, which must stay private
        raise UserError(
            f"{path}: REPOSITORY_URL não é mais usado; troque-o por STUDENT_REPOSITORY_URL, o repositório público "
            "dos alunos (o do curso deve ficar privado), e REPOSITORY_BRANCH por STUDENT_REPOSITORY_BRANCH"
        )
    values = {setting.field: setting.value(namespace, path) for setting in SETTINGS}
    return Settings(course_dir=path.parent, module=module, **values)


def configure_nbgrader(c, namespace: Mapping) -> None:
    """Set nbgrader's traits from a grader_config.py's globals: what its configure_nbgrader(c) does."""
    path = Path(os.path.abspath(namespace["__file__"]))
    for setting in SETTINGS:
        if setting.nbgrader:
            section, trait = setting.nbgrader.split(".")
            setattr(getattr(c, section), trait, setting.to_nbgrader(setting.value(namespace, path)))


# --------------------------------------------------------------------------------------------------
# grader_config.py's text, derived from SETTINGS

HEADER = '''"""The single place of configuration for this course.

Read by the `grader` command (grader/config.py) and, through nbgrader_config.py, by plain `nbgrader`
and the JupyterLab formgrader, so every tool agrees. Plain Python: edit the values, keep the names; a
setting left out takes its default. The comments come from the table of settings in grader/config.py.
"""'''

FOOTER = '''def configure_nbgrader(c):
    """Apply these settings to an nbgrader traitlets config `c` (nbgrader_config.py calls it)."""
    import grader.config

    grader.config.configure_nbgrader(c, globals())'''


def literal(value) -> str:
    """`value` as Python source; strings in double quotes, as in the rest of grader_config.py."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON's escapes are Python's
    if isinstance(value, list):
        return "[" + ", ".join(map(literal, value)) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    return repr(value)


def _comment(text: str) -> list[str]:
    if not text:
        return []
    return [
        "# " + line for line in textwrap.wrap(text, LINE - 2, break_long_words=False, break_on_hyphens=False)
    ]


def render_config(
    values: Mapping[str, object],
    table: tuple[Setting, ...] = SETTINGS,
    sections: Mapping[str, str] = SECTIONS,
) -> str:
    """A complete grader_config.py: every setting of `table`, documented, with its value in `values` (setting
    name -> value as written) or its default."""
    unknown = [name for name in values if name not in {setting.name for setting in table}]
    if unknown:
        raise ValueError(f"not settings: {', '.join(unknown)}")
    lines, section = [HEADER], None
    for setting in table:
        if setting.section != section:
            section = setting.section
            lines += ["", *_comment(sections[section])]
        lines += setting.lines(values.get(setting.name, setting.default))
    return "\n".join([*lines, "", "", FOOTER]) + "\n"


def assigned(text: str) -> dict[str, object]:
    """What a grader_config.py assigns at its top level (`NAME = literal`), by name."""
    values = {}
    for node in ast.parse(text).body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id.isupper()
        ):
            values[node.targets[0].id] = ast.literal_eval(node.value)
    return values


def config_problems(
    text: str, table: tuple[Setting, ...] = SETTINGS, sections: Mapping[str, str] = SECTIONS
) -> list[str]:
    """Where `text` (a grader_config.py) strays from `table`: a setting in one and not the other, or comments
    that are not the table's descriptions. [] when it is what render_config writes for its values."""
    values = assigned(text)
    names = [setting.name for setting in table]
    problems = [
        f"{name}: assigned in grader_config.py, but SETTINGS (grader/config.py) has no such setting"
        for name in values
        if name not in names
    ]
    problems += [
        f"{name}: in SETTINGS (grader/config.py), but grader_config.py does not assign it"
        for name in names
        if name not in values
    ]
    if problems:
        return problems
    expected = render_config(values, table, sections)
    if text != expected:
        diff = difflib.unified_diff(
            text.splitlines(), expected.splitlines(), "grader_config.py", "SETTINGS", lineterm="", n=0
        )
        problems.append(
            "grader_config.py is not what SETTINGS says (`python -m grader.config grader_config.py` "
            "rewrites it, keeping the values):\n" + "\n".join(list(diff)[:30])
        )
    return problems


def write_config(path: Path) -> None:
    """Rewrite the grader_config.py at `path` from SETTINGS, keeping the values it assigns."""
    text = path.read_text(encoding="utf-8")
    try:
        values = assigned(text)
    except (SyntaxError, ValueError) as exc:
        raise UserError(f"{path}: só sei reescrever valores literais (NAME = valor): {exc}") from None
    body = ast.parse(text).body
    kept = [
        node
        for node in body
        if isinstance(node, ast.Assign)
        or (isinstance(node, ast.FunctionDef) and node.name == "configure_nbgrader")
    ]
    if len(body) - len(kept) > (
        isinstance(body[0], ast.Expr) if body else 0
    ):  # more than a docstring: it'd go
        raise UserError(
            f"{path} tem mais que configurações (NAME = valor) e configure_nbgrader: reescrevê-lo "
            "apagaria o resto; mova-o para nbgrader_config.py"
        )
    unknown = [name for name in values if name not in SETTING]
    if unknown:
        raise UserError(
            f"{path}: {', '.join(unknown)} não são configurações do grader (veja SETTINGS em "
            "grader/config.py); corrija o nome ou tire-as"
        )
    path.write_text(render_config(values), encoding="utf-8")


if __name__ == "__main__":  # python -m grader.config grader_config.py: its comments made the table's again
    for name in sys.argv[1:] or ["grader_config.py"]:
        write_config(Path(name))
