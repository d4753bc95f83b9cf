"""`grader init`: turn an existing nbgrader course (nbgrader_config.py, source/) into one the grader reads.

It writes grader_config.py with the settings nbgrader used for the course (course id, gradebook, the stubs
that replaced solutions, the cell timeout; nbgrader's defaults where the course set none, so a new release
looks like the one students already have), the assignments found in source/ and the due dates the gradebook
holds, and appends to nbgrader_config.py the lines that load grader_config.py after the course's own settings,
so `nbgrader`, the formgrader and `grader` keep agreeing; everything else in nbgrader_config.py (exchange,
ignore patterns, delimiters) stays in force, for nbgrader and for `grader release`.

grader_config.py is written from the table of settings (grader/config.py's SETTINGS): a converted course gets
every setting, documented, with its own values and the defaults for the rest. The loader appended to
nbgrader_config.py is this repository's nbgrader_config.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from grader.config import assigned, render_config
from grader.errors import UserError
from grader.nbgrader_app import nbgrader_settings

TEMPLATES = Path(__file__).resolve().parents[2]  # this repository: its nbgrader_config.py
LOADER_MARK = "grader_config.py"  # an nbgrader_config.py that names it already loads it


def config_text(template: str, values: dict) -> str:
    """A grader_config.py with `template`'s values (a grader_config.py), those in `values` changed."""
    return render_config({**assigned(template), **values})


@dataclass
class Converted:
    """What `grader init` did, for the terminal (Portuguese)."""

    values: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    appended: bool = False  # nbgrader_config.py got the lines that load grader_config.py


def init_course(course: Path) -> Converted:
    course = course.resolve()
    target = course / "grader_config.py"
    if target.exists():
        raise UserError(f"{target} já existe: o curso já está configurado para o grader (edite esse arquivo)")
    if not (course / "nbgrader_config.py").is_file() and not (course / "source").is_dir():
        raise UserError(
            f"{course} não parece um curso do nbgrader (sem nbgrader_config.py nem source/): rode "
            "`grader init` na pasta do curso ou passe --course-dir"
        )
    if not (TEMPLATES / "nbgrader_config.py").is_file():
        raise UserError(
            f"{TEMPLATES / 'nbgrader_config.py'} não encontrado: `grader init` usa os arquivos do "
            "repositório do corretor; instale-o com `pip install -e` a partir do clone"
        )
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.preprocessors import ClearSolutions

    config = nbgrader_settings(course)
    done = Converted()
    directory = CourseDirectory(config=config)
    root = Path(config.CourseDirectory.root) if "root" in config.CourseDirectory else course
    if root.resolve() != course:
        done.notes.append(
            f"nbgrader_config.py aponta CourseDirectory.root para {root}; o grader usa {course}"
        )
    if directory.source_directory != "source":
        raise UserError(
            f"o curso usa CourseDirectory.source_directory = {directory.source_directory!r}; o grader "
            "lê os notebooks de source/: renomeie a pasta e tire essa configuração"
        )
    clear = ClearSolutions(config=config)
    stub = clear.code_stub.get("python", "") if isinstance(clear.code_stub, dict) else str(clear.code_stub)
    db_url = config.CourseDirectory.db_url if "db_url" in config.CourseDirectory else "sqlite:///gradebook.db"
    absolute = db_url
    if db_url.startswith("sqlite:///"):
        database = course / db_url[len("sqlite:///") :]  # an absolute path stays absolute
        absolute = f"sqlite:///{database}"
        if database.parent.resolve() == course:
            db_url = f"sqlite:///{database.name}"  # relative to the course, as grader_config.py reads it
    assignments = (
        sorted(p.name for p in (course / "source").iterdir() if p.is_dir() and any(p.glob("*.ipynb")))
        if (course / "source").is_dir()
        else []
    )
    timeout = config.ExecutePreprocessor.timeout if "timeout" in config.ExecutePreprocessor else None
    done.values = {
        "COURSE_ID": directory.course_id or course.name,
        "ASSIGNMENTS": assignments,
        "DB_URL": db_url,
        "CODE_STUB": stub,
        "TEXT_STUB": clear.text_stub,
        "DUE_DATES": _due_dates(absolute, done.notes),
        "STRICT_CONVENTIONS": False,
        "STUDENT_REPOSITORY_URL": f"https://github.com/SEU-USUARIO/{directory.course_id or course.name}-alunos",
    }
    if isinstance(timeout, int) and timeout > 0:
        done.values["CELL_TIMEOUT_S"] = timeout
    if not assignments:
        done.notes.append("nenhuma atividade com notebooks em source/: acrescente-as a ASSIGNMENTS depois")
    target.write_text(render_config(done.values), encoding="utf-8")
    done.appended = _append_loader(course / "nbgrader_config.py")
    return done


def _due_dates(db_url: str, notes: list[str]) -> dict[str, str]:
    """The due dates nbgrader's gradebook holds (`nbgrader db assignment add --duedate`), in UTC."""
    if db_url.startswith("sqlite:///") and not Path(db_url[len("sqlite:///") :]).is_file():
        return {}
    from nbgrader.api import Gradebook

    try:
        with Gradebook(db_url) as gb:
            return {a.name: f"{a.duedate:%Y-%m-%d %H:%M:%S} UTC" for a in gb.assignments if a.duedate}
    # an unreachable database (each driver raises its own types: SQLAlchemy's, its DBAPI's, a missing
    # module's): the due dates can be written by hand
    except Exception as exc:  # noqa: BLE001 (see above)
        notes.append(
            f"não consegui ler os prazos do gradebook ({type(exc).__name__}); preencha DUE_DATES à mão"
        )
        return {}


def _append_loader(path: Path) -> bool:
    """Append the loader of this repository's nbgrader_config.py to the course's (made if missing)."""
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    if LOADER_MARK in text:
        return False
    loader = (TEMPLATES / "nbgrader_config.py").read_text(encoding="utf-8")
    lines = [line for line in loader.splitlines() if not line.startswith("#")]
    block = [
        "",
        "# Added by `grader init`: grader_config.py holds the course's settings and applies them after the",
        "# ones above (so `nbgrader`, the formgrader and `grader` agree); settings it does not have stay here.",
        *lines,
    ]
    path.write_text(text.rstrip("\n") + "\n" + "\n".join(block) + "\n", encoding="utf-8")
    return True
