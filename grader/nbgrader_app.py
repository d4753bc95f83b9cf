"""nbgrader, used as a library: the course's nbgrader configuration (nbgrader_config.py, then grader_config.py),
its generate_assignment (which also records an assignment's cells in a gradebook), and the two changes made to
nbgrader made by `patch()`. Every module that runs nbgrader reaches it through this one. nbgrader itself is
imported only where used: it takes a second, which `grader grade` would pay before its first kernel starts."""

from __future__ import annotations

import functools
import tempfile
import warnings
from pathlib import Path

from traitlets.config import Config

from grader.config import Settings
from grader.errors import UserError


@functools.cache
def _alembic_head() -> str:
    """nbgrader runs `alembic heads` in a subprocess for every new gradebook (seconds each); the same answer,
    read in-process once."""
    import nbgrader
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    config = AlembicConfig()
    config.set_main_option("script_location", str(Path(nbgrader.__file__).parent / "alembic"))
    return ScriptDirectory.from_config(config).get_current_head()


@functools.cache
def patch() -> None:
    """Before nbgrader makes a gradebook: a new one without `alembic heads` in a subprocess; no autoflush noise."""
    import nbgrader.api
    from sqlalchemy.exc import SAWarning

    nbgrader.api.get_alembic_version = _alembic_head
    # nbgrader's add_submission trips an autoflush warning in SQLAlchemy 2; the rows are written correctly.
    warnings.filterwarnings("ignore", category=SAWarning, module="nbgrader")


def nbgrader_settings(course: Path):
    """The course's nbgrader configuration, as nbgrader reads nbgrader_config.py."""
    from traitlets.config.loader import PyFileConfigLoader

    path = course / "nbgrader_config.py"
    if not path.is_file():
        return Config()
    try:
        return PyFileConfigLoader(path.name, path=str(course)).load_config()
    except Exception as exc:  # noqa: BLE001 (the instructor's file can raise anything: say where it broke)
        raise UserError(f"erro ao ler {path}: {type(exc).__name__}: {exc}; corrija o arquivo") from None


def nbgrader_config(settings: Settings, release_dir: Path | None = None, db_url: str | None = None) -> Config:
    """nbgrader's configuration for this course: nbgrader_config.py where there is one (a course converted by
    `grader init` keeps settings there that grader_config.py does not have), then grader_config.py's."""
    c = nbgrader_settings(settings.course_dir)
    settings.module.configure_nbgrader(c)
    c.CourseDirectory.root = str(settings.course_dir)
    if release_dir is not None:
        c.CourseDirectory.release_directory = str(release_dir)  # absolute: os.path.join keeps it
    if db_url is not None:
        c.CourseDirectory.db_url = db_url
    c.Application.log_level = "ERROR"
    c.Exchange.root = tempfile.gettempdir()  # unused here; keeps nbgrader from complaining at start-up
    return c


def run_generate_assignment(settings: Settings, assignment: str, release_dir: Path, db_url: str) -> None:
    """nbgrader's generate_assignment into `release_dir`, recording the assignment's cells in `db_url`."""
    from nbgrader.apps import NbGraderAPI

    patch()
    config = nbgrader_config(settings, release_dir, db_url)
    result = NbGraderAPI(config=config).generate_assignment(assignment, force=True, create=True)
    if not result["success"]:
        detail = (result.get("error") or result.get("log") or "").strip().splitlines()[-1:]
        raise UserError(f"nbgrader não gerou {assignment} ({db_url}): {detail}")
