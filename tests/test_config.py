"""The settings declared once (grader/config.py's SETTINGS): grader_config.py, Settings, the kernels' settings and
nbgrader's config agree with the table, and each check below fails when a setting is added in one place only.
No kernels: in memory and in tmp_path."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from grader import config
from grader.config import SETTINGS, Setting, Settings, config_problems, load_settings, render_config
from grader.errors import UserError
from grader.kernels.execute import ExecutionSettings
from grader.kernels.sandbox import Limits

REPO = Path(__file__).resolve().parents[1]
# ExecutionSettings and Limits fields that are the kernels' own, not the course's (no row in SETTINGS)
KERNEL_ONLY = {"limits", "gpu", "threads", "preload", "test_preload", "limits.tmp_mb"}


def settings_mismatch(settings_class=Settings, table=SETTINGS) -> list[str]:
    """Settings fields without a row, rows without a Settings field."""
    fields = {f.name for f in dataclasses.fields(settings_class)} - {"course_dir", "module"}
    rows = {setting.field for setting in table}
    return [f"Settings.{name}: no row in SETTINGS" for name in sorted(fields - rows)] + [
        f"{name.upper()}: in SETTINGS, no Settings.{name}" for name in sorted(rows - fields)
    ]


def runtime_mismatch(execution=ExecutionSettings, limits=Limits, table=SETTINGS) -> list[str]:
    """Kernel fields that are neither the kernels' own nor a row's `runtime`; rows naming a field that is not
    there; a field whose default is not its row's."""
    defaults = {f.name: f.default for f in dataclasses.fields(execution)}
    defaults |= {f"limits.{f.name}": f.default for f in dataclasses.fields(limits)}
    sources = {setting.runtime: setting for setting in table if setting.runtime}
    problems = [
        f"{name}: a kernel setting without a row in SETTINGS (or KERNEL_ONLY)"
        for name in defaults
        if name not in sources and name not in KERNEL_ONLY
    ]
    problems += [
        f"{setting.name}: runtime {name!r} is not a field of ExecutionSettings or Limits"
        for name, setting in sources.items()
        if name not in defaults
    ]
    problems += [
        f"{name}: default {defaults[name]!r}, SETTINGS says {setting.default!r} ({setting.name})"
        for name, setting in sources.items()
        if name in defaults and defaults[name] != setting.default
    ]
    return problems


def write_course(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "grader_config.py").write_text(text, encoding="utf-8")
    return folder


# -- the table and its places ------------------------------------------------------------------------------


def test_repository_grader_config_is_the_tables():
    """Every setting in grader_config.py and in SETTINGS, with the table's descriptions and defaults."""
    assert config_problems((REPO / "grader_config.py").read_text(encoding="utf-8")) == []


def test_settings_fields_and_kernel_fields_are_the_tables():
    assert settings_mismatch() == []
    assert runtime_mismatch() == []
    assert len({setting.name for setting in SETTINGS}) == len(SETTINGS)
    assert all(setting.name.isupper() and setting.description for setting in SETTINGS)


def test_a_setting_added_to_grader_config_only_is_caught():
    text = (REPO / "grader_config.py").read_text(encoding="utf-8")
    extra = text.replace('DEVICE = "auto"', 'DEVICE = "auto"\nGPU_MEMORY_MB = 8000  # per kernel')
    assert config_problems(extra) == [
        "GPU_MEMORY_MB: assigned in grader_config.py, but SETTINGS (grader/config.py) has no such setting"
    ]
    missing = "\n".join(line for line in text.splitlines() if not line.startswith("MEMORY_MB ="))
    assert config_problems(missing) == [
        "MEMORY_MB: in SETTINGS (grader/config.py), but grader_config.py does not assign it"
    ]


def test_a_setting_added_to_the_table_only_is_caught():
    text = (REPO / "grader_config.py").read_text(encoding="utf-8")
    row = Setting(
        "GPU_MEMORY_MB", 8000, "GPU memory one kernel may use", "limits", runtime="limits.gpu_memory_mb"
    )
    table = (*SETTINGS, row)
    assert config_problems(text, table) == [
        "GPU_MEMORY_MB: in SETTINGS (grader/config.py), but grader_config.py does not assign it"
    ]
    assert settings_mismatch(table=table) == ["GPU_MEMORY_MB: in SETTINGS, no Settings.gpu_memory_mb"]
    assert runtime_mismatch(table=table) == [
        "GPU_MEMORY_MB: runtime 'limits.gpu_memory_mb' is not a field of ExecutionSettings or Limits"
    ]
    # written by render_config, grader_config.py has it, documented
    assert config_problems(render_config(config.assigned(text), table), table) == []
    assert "GPU_MEMORY_MB = 8000  # GPU memory one kernel may use" in render_config({}, table)


def test_a_kernel_or_settings_field_without_a_row_is_caught():
    @dataclasses.dataclass(frozen=True)
    class MoreLimits(Limits):
        gpu_memory_mb: int = 8000

    @dataclasses.dataclass(frozen=True)
    class OtherDefault(ExecutionSettings):
        cell_timeout_s: int = 60

    @dataclasses.dataclass(frozen=True)
    class MoreSettings(Settings):
        gpu_memory_mb: int = 8000

    assert runtime_mismatch(limits=MoreLimits) == [
        "limits.gpu_memory_mb: a kernel setting without a row in SETTINGS (or KERNEL_ONLY)"
    ]
    assert runtime_mismatch(execution=OtherDefault) == [
        "cell_timeout_s: default 60, SETTINGS says 120 (CELL_TIMEOUT_S)"
    ]
    assert settings_mismatch(MoreSettings) == ["Settings.gpu_memory_mb: no row in SETTINGS"]


def test_a_description_changed_in_one_place_is_caught():
    text = (REPO / "grader_config.py").read_text(encoding="utf-8")
    edited = text.replace("# wall time one cell may take", "# seconds one cell may take")
    [problem] = config_problems(edited)
    assert problem.startswith("grader_config.py is not what SETTINGS says")
    assert "-CELL_TIMEOUT_S = 120  # seconds one cell may take" in problem
    assert "+CELL_TIMEOUT_S = 120  # wall time one cell may take" in problem


# -- reading grader_config.py ----------------------------------------------------------------------------


def test_a_setting_left_out_takes_the_tables_default(tmp_path):
    course = write_course(tmp_path / "meu-curso", "")
    settings = load_settings(course)
    assert settings.course_id == "meu-curso"  # COURSE_ID's default: the folder's name
    assert settings.db_url == f"sqlite:///{course / 'gradebook.db'}"
    for setting in SETTINGS:
        if setting.name not in ("COURSE_ID", "DB_URL"):
            assert getattr(settings, setting.field) == setting.default, setting.name
    assert ExecutionSettings.from_settings(settings) == ExecutionSettings()


def test_values_are_read_as_the_grader_uses_them(tmp_path):
    course = write_course(
        tmp_path / "curso",
        render_config(
            {
                "ASSIGNMENTS": ("a", "b"),
                "DB_URL": "sqlite:///dados/notas.db",
                "SCHEDULER": "",
                "WORKERS": "3",
                "CELL_TIMEOUT_S": 30,
                "SANDBOX": 0,
                "CPU_TIME_S": 60,
                "MAX_TRANSFER_MB": 8,
                "DUE_DATES": {"a": "2025-05-10 23:59 -0300"},
            }
        ),
    )
    (course / "sub").mkdir()
    settings = load_settings(course / "sub")  # the nearest grader_config.py above
    assert settings.course_dir == course and settings.assignments == ["a", "b"]
    assert settings.db_url == f"sqlite:///{course / 'dados' / 'notas.db'}"
    assert settings.scheduler is None and settings.workers == 3 and settings.sandbox is False
    assert settings.due_date("a").isoformat() == "2025-05-10T23:59:00-03:00"
    run = ExecutionSettings.from_settings(settings, threads=2)
    assert (run.cell_timeout_s, run.use_sandbox, run.limits.cpu_time_s, run.transfer_mb, run.threads) == (
        30,
        False,
        60,
        8,
        2,
    )
    assert run.limits.memory_mb == Limits().memory_mb and run.limits.tmp_mb == Limits().tmp_mb
    absolute = write_course(tmp_path / "outro", 'DB_URL = "sqlite:////srv/notas.db"\n')
    assert load_settings(absolute).db_url == "sqlite:////srv/notas.db"


def test_bad_values_are_told_in_portuguese(tmp_path):
    course = write_course(tmp_path / "curso", 'DUE_DATES = {"a": "amanhã"}\n')
    with pytest.raises(UserError, match=r"DUE_DATES\['a'\]"):
        load_settings(course)
    write_course(course, "DUE_DATES = ['a']\n")
    with pytest.raises(UserError, match="DUE_DATES deve ser um dicionário"):
        load_settings(course)
    write_course(course, 'REPOSITORY_URL = "https://github.com/prof/curso"\n')
    with pytest.raises(UserError, match="REPOSITORY_URL não é mais usado"):
        load_settings(course)
    write_course(course, 'CELL_TIMEOUT_S = "dois minutos"\n')
    with pytest.raises(
        UserError, match="CELL_TIMEOUT_S = 'dois minutos' não é um valor válido; use um valor como 120"
    ):
        load_settings(course)


def test_a_grader_config_from_before_the_table_still_works(tmp_path):
    """A course converted by an older `grader init`: its own configure_nbgrader, some settings left out."""
    from grader.nbgrader_app import nbgrader_config

    course = write_course(
        tmp_path / "antigo",
        """COURSE_ID = "antigo"
ASSIGNMENTS = ["lista"]
DB_URL = "sqlite:///gradebook.db"
CELL_TIMEOUT_S = 60
CODE_STUB = "# SEU CÓDIGO AQUI\\nraise NotImplementedError()"
TEXT_STUB = "SUA RESPOSTA AQUI"


def configure_nbgrader(c):
    c.CourseDirectory.course_id = COURSE_ID
    c.CourseDirectory.db_url = "sqlite:///" + __file__.rsplit("/", 1)[0] + "/gradebook.db"
    c.ClearSolutions.code_stub = {"python": CODE_STUB}
    c.ClearSolutions.text_stub = TEXT_STUB
    c.ExecutePreprocessor.timeout = CELL_TIMEOUT_S
""",
    )
    settings = load_settings(course)
    assert (
        settings.cell_timeout_s == 60 and settings.memory_mb == 6144 and settings.moodle_language == "pt_br"
    )
    c = nbgrader_config(settings)
    assert c.CourseDirectory.db_url == settings.db_url and c.ExecutePreprocessor.timeout == 60


# -- nbgrader's config -----------------------------------------------------------------------------------


def test_nbgrader_gets_the_same_values(tmp_path):
    """Through grader's nbgrader_config and through nbgrader_config.py, as plain nbgrader and the formgrader
    read it: each row's trait holds the Settings value."""
    from grader.nbgrader_app import nbgrader_config, nbgrader_settings

    course = write_course(
        tmp_path / "curso",
        render_config(
            {
                "COURSE_ID": "c1",
                "DB_URL": "sqlite:///gb.db",
                "CELL_TIMEOUT_S": 45,
                "CODE_STUB": "pass",
                "TEXT_STUB": "RESPOSTA",
            }
        ),
    )
    shutil.copy(REPO / "nbgrader_config.py", course / "nbgrader_config.py")
    settings = load_settings(course)
    rows = [setting for setting in SETTINGS if setting.nbgrader]
    assert {setting.name for setting in rows} == {
        "COURSE_ID",
        "DB_URL",
        "CELL_TIMEOUT_S",
        "CODE_STUB",
        "TEXT_STUB",
    }
    for c in (nbgrader_config(settings), nbgrader_settings(course)):
        for setting in rows:
            section, trait = setting.nbgrader.split(".")
            assert c[section][trait] == setting.to_nbgrader(getattr(settings, setting.field)), setting.name
    assert nbgrader_settings(course).CourseDirectory.db_url == f"sqlite:///{course / 'gb.db'}"


# -- writing grader_config.py ----------------------------------------------------------------------------


def test_rendered_values_come_back_unchanged():
    values = {
        "ASSIGNMENTS": ["a", "ç"],
        "DUE_DATES": {"a": "2025-05-10 23:59 America/Sao_Paulo"},
        "CODE_STUB": '# "aspas"\n\traise NotImplementedError()  # \\',
        "SCHEDULER": None,
        "SANDBOX": False,
    }
    assert config.assigned(render_config(values)) == {
        **{setting.name: setting.default for setting in SETTINGS},
        **values,
    }
    with pytest.raises(ValueError, match="not settings: CELL_TIMEOUT"):
        render_config({"CELL_TIMEOUT": 3})


def test_a_changed_value_keeps_its_comment_and_shows_the_default():
    from grader.course.init import config_text

    text = config_text((REPO / "grader_config.py").read_text(encoding="utf-8"), {"CELL_TIMEOUT_S": 30})
    assert "\nCELL_TIMEOUT_S = 30  # wall time one cell may take (default: 120)\n" in text
    assert "\nSUBMISSION_TIMEOUT_S = 600  # wall time one whole notebook may take\n" in text
    assert config_problems(text) == []


def test_write_config_rewrites_the_comments_and_keeps_the_values(tmp_path):
    path = (
        write_course(tmp_path, 'CELL_TIMEOUT_S = 30  # old comment\nASSIGNMENTS = ["a"]\n')
        / "grader_config.py"
    )
    config.write_config(path)
    text = path.read_text(encoding="utf-8")
    assert config_problems(text) == [] and "old comment" not in text
    assert config.assigned(text)["CELL_TIMEOUT_S"] == 30 and config.assigned(text)["ASSIGNMENTS"] == ["a"]
    path.write_text("import os\nCELL_TIMEOUT_S = 30\n")
    with pytest.raises(UserError, match="mais que configurações"):
        config.write_config(path)
    path.write_text("CEL_TIMEOUT_S = 30\n")
    with pytest.raises(UserError, match="CEL_TIMEOUT_S não são configurações do grader"):
        config.write_config(path)


def test_init_writes_a_complete_documented_config(tmp_path):
    """`grader init` on an nbgrader course: every setting, the table's comments, nbgrader's values."""
    from grader.course.init import init_course

    course = tmp_path / "curso"
    (course / "source" / "lista").mkdir(parents=True)
    (course / "source" / "lista" / "parte1.ipynb").write_text("{}")
    (course / "nbgrader_config.py").write_text(
        'c = get_config()\nc.CourseDirectory.course_id = "curso-teste"\nc.ExecutePreprocessor.timeout = 60\n'
    )
    init_course(course)
    text = (course / "grader_config.py").read_text(encoding="utf-8")
    assert config_problems(text) == []
    assert "\nCELL_TIMEOUT_S = 60  # wall time one cell may take (default: 120)\n" in text
    settings = load_settings(course)
    assert (settings.course_id, settings.assignments, settings.cell_timeout_s) == (
        "curso-teste",
        ["lista"],
        60,
    )
    assert settings.strict_conventions is False and settings.memory_mb == config.default("MEMORY_MB")
