"""What the test files share (conftest.py holds the fixtures): the repository's paths, notebooks with nbgrader
metadata built in memory, the tiny `mini` course and the example class, grader_config.py with other values, and
Moodle's zips and worksheets as mod/assign writes them. Tests import it as `tests.helpers`, never conftest.py."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import shutil
import zipfile
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader.nbmeta import nbgrader_meta

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = "programacao_diferenciavel"  # the assignment of examples/submissions/


def repo_assignments() -> list[str]:
    """The real course's assignments, as folders of source/ (tests/test_release.py checks that grader_config.py
    lists the same): known without loading the settings, for parametrize."""
    return sorted(p.name for p in (REPO / "source").iterdir() if p.is_dir())


# --- notebooks ---------------------------------------------------------------------------------------------


def with_meta(cell, grade_id, *, grade=False, solution=False, locked=False, points=0, task=False):
    """`cell` with nbgrader's metadata (schema 3), as nbgrader's create_assignment writes it."""
    cell.metadata["nbgrader"] = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": 3,
        "solution": solution,
        "task": task,
    }
    if grade or task:
        cell.metadata["nbgrader"]["points"] = points
    return cell


def cell_by_grade_id(nb, grade_id):
    """The cell of `nb` with this grade_id (StopIteration if none)."""
    return next(c for c in nb.cells if nbgrader_meta(c).get("grade_id") == grade_id)


def write_notebook(path: Path, nb) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def tree_digest(root: Path) -> str:
    """Names, contents and modification times of everything under `root`: equal digests, an untouched tree."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        digest.update(str(path.relative_to(root)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
            digest.update(str(path.stat().st_mtime_ns).encode())
    return digest.hexdigest()


# --- courses -----------------------------------------------------------------------------------------------


def config_with(template: str, **values) -> str:
    """A grader_config.py's text with its top-level `NAME = value` lines set to `values`."""
    from grader.course.init import config_text

    return config_text(template, values)


def set_config(course: Path, **values) -> None:
    """Rewrite `course`'s grader_config.py with these values (e.g. CELL_TIMEOUT_S=15)."""
    config = course / "grader_config.py"
    config.write_text(config_with(config.read_text(), **values))


def course_config(assignments: list[str], **values) -> str:
    """The real grader_config.py with other assignments and values (e.g. SANDBOX=False)."""
    values = {"ASSIGNMENTS": assignments, "CELL_TIMEOUT_S": 30, "SUBMISSION_TIMEOUT_S": 120, **values}
    return config_with((REPO / "grader_config.py").read_text(), **values)


def mini_source() -> nbformat.NotebookNode:
    """The instructor's `mini`: two functions, a test cell each (with hidden tests), a written answer."""
    return new_notebook(
        cells=[
            new_markdown_cell("# Mini atividade\nEscreva as funções abaixo."),
            with_meta(new_code_cell("import math"), "preparo", locked=True),
            with_meta(
                new_code_cell(
                    'def dobro(x):\n    """O dobro de x."""\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION'
                ),
                "resposta_dobro",
                solution=True,
            ),
            with_meta(
                new_code_cell(
                    'assert dobro(2) == 4, f"dobro(2) deveria ser 4, mas é {dobro(2)}"\n'
                    "### BEGIN HIDDEN TESTS\n"
                    'assert dobro(-3) == -6, "dobro(-3) deveria ser -6"\n'
                    "### END HIDDEN TESTS"
                ),
                "dobro_valores",
                grade=True,
                locked=True,
                points=1,
            ),
            new_markdown_cell("Agora o quadrado."),
            with_meta(
                new_code_cell(
                    'def quadrado(x):\n    """x ao quadrado."""\n    ### BEGIN SOLUTION\n    return x * x\n    ### END SOLUTION'
                ),
                "resposta_quadrado",
                solution=True,
            ),
            with_meta(
                new_code_cell(
                    'assert quadrado(3) == 9, f"quadrado(3) deveria ser 9, mas é {quadrado(3)}"\n'
                    "### BEGIN HIDDEN TESTS\n"
                    'assert quadrado(-4) == 16, "quadrado(-4) deveria ser 16"\n'
                    "### END HIDDEN TESTS"
                ),
                "quadrado_valores",
                grade=True,
                locked=True,
                points=2,
            ),
            with_meta(
                new_markdown_cell("Explique: ### BEGIN SOLUTION\nPorque sim.\n### END SOLUTION"),
                "resposta_explicacao",
                grade=True,
                solution=True,
                points=1,
            ),
        ],
        metadata={"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
    )


# A test whose verdict is measured in the student's kernel (grader/grading/tamper.py holds it for review when the
# student's code hooks IPython): dobro must answer within seconds.
PROBE_TEST = (
    "def _no_kernel_do_aluno(funcao):\n"
    '    """Na correção, a função marcada assim roda no kernel do aluno (mede o que só existe lá)."""\n'
    "    return funcao\n\n\n"
    "@_no_kernel_do_aluno\n"
    "def _segundos(chamada):\n"
    "    import time\n"
    "    inicio = time.perf_counter()\n"
    "    chamada()\n"
    "    return time.perf_counter() - inicio\n\n\n"
    'assert _segundos(lambda: dobro(10**6)) < 5, "dobro deveria responder em segundos"'
)


def build_mini_course(tmp_path: Path, sandbox_available: bool, *, probe: bool = False):
    """A course folder (tmp_path/curso) with the released `mini` assignment and another one; its settings."""
    from grader.config import load_settings
    from grader.course import release

    course = tmp_path / "curso"
    (course / "source" / "mini").mkdir(parents=True)
    (course / "source" / "outra").mkdir(parents=True)
    (course / "grader_config.py").write_text(course_config(["mini", "outra"], SANDBOX=sandbox_available))
    source = mini_source()
    if probe:
        source.cells.insert(
            4, with_meta(new_code_cell(PROBE_TEST), "dobro_rapida", grade=True, locked=True, points=1)
        )
    nbformat.write(source, course / "source" / "mini" / "mini.ipynb")
    other = new_notebook(cells=[new_markdown_cell("# Outra atividade"), new_code_cell("print('outra')")])
    nbformat.write(other, course / "source" / "outra" / "outra.ipynb")
    settings = load_settings(course)
    release.generate(settings, "mini")
    return settings


def build_example_course(course: Path, sandbox_available: bool):
    """A copy of the real course (source/ and release/) in `course`; its settings."""
    from grader.config import load_settings

    for part in ("source", "release"):
        shutil.copytree(REPO / part, course / part)
    (course / "grader_config.py").write_text(
        course_config(
            [EXAMPLES, *(a for a in repo_assignments() if a != EXAMPLES)],
            SANDBOX=sandbox_available,
            CELL_TIMEOUT_S=120,
            SUBMISSION_TIMEOUT_S=600,
        )
    )
    return load_settings(course)


def grade_examples(settings, **options):
    """Grade the example class as `grader demo` does: the run, scores.json's students by id, the max score."""
    from grader.grading import pipeline

    options = pipeline.GradeOptions(
        submissions=REPO / "examples" / "submissions" / EXAMPLES,
        report_dir=settings.course_dir / "reports",
        progress=False,
        **options,
    )
    run = pipeline.grade(settings, EXAMPLES, options)
    scores = json.loads((settings.course_dir / "reports" / EXAMPLES / "scores.json").read_text())
    return run, {s["student_id"]: s for s in scores["students"]}, scores["max_score"]


# --- Moodle's zips, named as mod/assign writes them --------------------------------------------------------


def clean_filename(name: str) -> str:
    """lib/moodlelib.php clean_filename (PARAM_FILE): drops the characters a file name cannot hold."""
    return re.sub(r'[\x00-\x1f/\\:*?"<>|]', "", name)


def student_prefix(fullname: str, participant_id: int) -> str:
    """mod/assign/classes/downloader.php, get_student_prefix (individual): "_" in the name becomes a space, then
    "_<participant id>" from assign::get_uniqueid_for_user."""
    return clean_filename(fullname.replace("_", " ") + f"_{participant_id}")


def team_prefix(groupname: str | None, groupid: int | None) -> str:
    """downloader.php get_student_prefix (team submission, 4.1+): the group's name and "_<group id>", or the
    `defaultteam` string with no number."""
    if groupname is None:
        return clean_filename("Default group")
    return clean_filename(groupname.replace("_", " ") + f"_{groupid}")


def entry(prefix: str, filename: str, version: str, plugin: str = "file") -> str:
    """The path of one submitted file in the zip.

    - "4.1": downloader.php load_submissionplugin_filelist with downloadasfolders: clean_filename(prefix . '_' .
      subtype . '_' . type) . filepath . name for files, '/' . name for online text;
    - "3.1": locallib.php download_submissions (3.1-4.0): the same folder with a trailing '_';
    - "flat": "Download submissions in folders" off: clean_filename(prefix . '_' . subtype . '_' . type . '_' .
      name) at the zip's root."""
    folder = clean_filename(f"{prefix}_assignsubmission_{plugin}")
    if version == "4.1":
        return f"{folder}/{filename}"
    if version == "3.1":
        return f"{folder}_/{filename}"
    return clean_filename(f"{folder}_{filename}")


def notebook_bytes(cells: int = 1) -> bytes:
    nb = new_notebook(cells=[new_code_cell(f"x = {i}") for i in range(cells)])
    return nbformat.writes(nb).encode()


def make_zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


# --- Moodle's worksheets, as mod/assign/gradingtable.php writes them in downloading mode ---------------------

EN = {
    "recordid": "Identifier",
    "hiddenuser": "Participant ",
    "fullname": "Full name",
    "email": "Email address",
    "status": "Status",
    "team": "Group",
    "grade": "Grade",
    "maxgrade": "Maximum grade",
    "gradecanbechanged": "Grade can be changed",
    "lastmodifiedsubmission": "Last modified (submission)",
    "lastmodifiedgrade": "Last modified (grade)",
    "feedbackcomments": "Feedback comments",
    "yes": "Yes",
    "no": "No",
    "decsep": ".",
    "submitted": "Submitted for grading",
}
PT_BR = {
    "recordid": "Identificador",
    "hiddenuser": "Participante",
    "fullname": "Nome completo",
    "email": "Endereço de email",
    "status": "Status",
    "team": "Grupo",
    "grade": "Nota",
    "maxgrade": "Nota máxima",
    "gradecanbechanged": "A nota pode ser alterada",
    "lastmodifiedsubmission": "Última modificação (envio)",
    "lastmodifiedgrade": "Última modificação (nota)",
    "feedbackcomments": "Comentários de feedback",
    "yes": "Sim",
    "no": "Não",
    "decsep": ",",
    "submitted": "Enviado para avaliação",
}
USERDATE = {"en": "Friday, 3 May 2024, 10:15 AM", "pt_br": "sexta-feira, 3 mai. 2024, 10:15"}


def worksheet(
    path: Path,
    words: dict,
    people: list[dict],
    maximum: float,
    *,
    email: bool = True,
    team: bool = False,
    language: str = "en",
) -> Path:
    """gradingtable.php's columns in downloading mode: recordid, fullname, identity fields, status, [team],
    grade, grademax (format_float with the language's separator), gradecanbechanged, timesubmitted, timemarked
    (userdate, or "-" with no grade), the feedback plugins' editor fields."""
    header = [words["recordid"], words["fullname"]] + ([words["email"]] if email else []) + [words["status"]]
    header += ([words["team"]] if team else []) + [
        words["grade"],
        words["maxgrade"],
        words["gradecanbechanged"],
        words["lastmodifiedsubmission"],
        words["lastmodifiedgrade"],
        words["feedbackcomments"],
    ]
    rows = [header]
    for p in people:
        row = (
            [words["hiddenuser"] + str(p["id"]), p["name"]]
            + ([p["email"]] if email else [])
            + [words["submitted"]]
        )
        row += [p.get("group", "")] if team else []
        row += [
            p.get("grade", ""),
            f"{maximum:.2f}".replace(".", words["decsep"]),
            words["no"] if p.get("locked") else words["yes"],
            USERDATE[language],
            USERDATE[language] if p.get("graded") else "-",
            "",
        ]
        rows.append(row)
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path
