"""The report stage on a small class built in memory: every file, read back and checked on its content."""

from __future__ import annotations

import ast
import copy
import csv
import json
import re
import struct
from pathlib import Path

import pytest

from grader.model import CellResult, StudentResult, scores_json
from grader.report import wording, write_reports
from grader.report.cells import GradeCellInfo
from grader.report.insights import class_insights, insights_json
from grader.report.pages import TEMPLATES, inline, template_environment
from grader.report.terminal import terminal_table

ASSIGNMENT = "programacao_diferenciavel"
NB = "programacao_diferenciavel"
EVIL = "AssertionError: C deveria ter formato (128, 128), mas tem (128, 256) <script>alert('ação')</script>"

CELLS = [
    GradeCellInfo("ex1_formato", NB, 3.0, False, "Formato de C"),
    GradeCellInfo("ex2_update_c", NB, 4.0, False, "update_c: atualização"),
    GradeCellInfo("ex3_gradiente", NB, 2.0, False, "Gradiente é nulo?"),
    GradeCellInfo("discussao", NB, 1.0, True, "Discussão escrita"),
]
MAX = 10.0


def cell(grade_id, score, passed, *, message="", manual=False, needs_manual=False):
    maximum = next(c.max_score for c in CELLS if c.grade_id == grade_id)
    return CellResult(grade_id, NB, score, maximum, passed, needs_manual, manual, message)


def full_cells(**overrides):
    cells = {
        "ex1_formato": cell("ex1_formato", 3.0, True),
        "ex2_update_c": cell("ex2_update_c", 4.0, True),
        "ex3_gradiente": cell("ex3_gradiente", 2.0, True),
        "discussao": cell("discussao", 1.0, True, manual=True),
    }
    cells.update(overrides)
    return cells


def make_class() -> list[StudentResult]:
    students = _class()
    for student in students:  # the numbered ones came from Moodle folders: their participant ids
        if student.student_id.isdigit():
            student.moodle_id = student.student_id
    return students


def _class() -> list[StudentResult]:
    return [
        StudentResult("1001", ASSIGNMENT, "graded", "Ana", "Araújo", cells=full_cells()),
        StudentResult(
            "1002",
            ASSIGNMENT,
            "graded",
            "João",
            "Conceição",
            cells=full_cells(
                ex2_update_c=cell("ex2_update_c", 0.0, False, message=EVIL),
                ex3_gradiente=cell("ex3_gradiente", 0.0, False, message="ValueError: gradiente não é nulo"),
                discussao=cell("discussao", 0.0, False, manual=True, needs_manual=True),
            ),
        ),
        StudentResult("1003", ASSIGNMENT, "missing", "Márcia", "Ibiapina"),
        StudentResult(
            "1004",
            ASSIGNMENT,
            "error",
            "Pedro",
            "Sá",
            notes=["notebook inválido: JSON corrompido", "ignorado: <img src=x onerror=alert(1)>.txt"],
            cells={"ex1_formato": cell("ex1_formato", 3.0, True)},
        ),
        StudentResult(
            "1005",
            ASSIGNMENT,
            "timeout",
            "Luíza",
            "Gonçalves",
            cells={
                "ex1_formato": cell("ex1_formato", 3.0, True),
                "ex2_update_c": cell(
                    "ex2_update_c", 0.0, False, message="TimeoutError: célula excedeu 120 s"
                ),
            },
        ),
        StudentResult(
            "1006",
            ASSIGNMENT,
            "graded",
            "Caio",
            "Müller",
            flags=["auditoria: ctypes"],  # the audit flags for a person; the grade stands (grading/tamper.py)
            cells=full_cells(ex2_update_c=cell("ex2_update_c", 0.0, False, message=EVIL)),
        ),
        # Not from Moodle and no Moodle folder: left out of moodle.csv, present everywhere else.
        StudentResult(
            "aluno_local",
            ASSIGNMENT,
            "graded",
            "Zé",
            "",
            cells=full_cells(
                ex1_formato=cell("ex1_formato", 0.0, False, message="NameError: name 'C' is not defined")
            ),
        ),
        # A Moodle folder name as the source: the participant id comes from there.
        StudentResult(
            "bia",
            ASSIGNMENT,
            "graded",
            "Beatriz",
            "Lima",
            source_files=["Beatriz Lima_777_assignsubmission_file_/Cópia de programacao_diferenciavel.ipynb"],
            cells=full_cells(discussao=cell("discussao", 0.0, False, manual=True)),
        ),
    ]


@pytest.fixture(scope="module")
def students():
    return make_class()


@pytest.fixture(scope="module")
def reports(tmp_path_factory, students):
    return write_reports(tmp_path_factory.mktemp("reports"), ASSIGNMENT, CELLS, students)


@pytest.fixture(scope="module")
def reports_en_unsandboxed(tmp_path_factory, students):
    return write_reports(
        tmp_path_factory.mktemp("reports_en"),
        ASSIGNMENT,
        CELLS,
        students,
        sandboxed=False,
        moodle_language="en",
    )


def read_csv(path):
    raw = path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf"), "plain UTF-8, no BOM"
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


# ---------------------------------------------------------------------------------------------------------------


def test_layout(reports, tmp_path_factory):
    folder = reports.folder
    assert folder.name == ASSIGNMENT
    for path in (
        reports.scores_json,
        reports.scores_csv,
        reports.moodle_csv,
        reports.index_html,
        reports.pass_rate_png,
        reports.histogram_png,
    ):
        assert path.parent == folder and path.is_file()
    assert reports.pass_rate_png.name == "taxa_acerto.png"
    assert reports.histogram_png.name == "histograma.png"
    assert set(reports.feedback) == {s.student_id for s in make_class()}
    assert reports.feedback["1001"] == folder / "feedback" / "1001.html"


def test_scores_json_is_the_shared_shape(reports, students):
    data = json.loads(reports.scores_json.read_text(encoding="utf-8"))
    found = insights_json(class_insights(CELLS, students))
    assert data == scores_json(ASSIGNMENT, MAX, students, insights=found)
    # counted: 1001, 1002, 1006, aluno_local, bia (graded); 1002 failed ex2 and ex3, 1006 ex2, aluno_local ex1
    assert data["insights"]["students"] == 5
    by_cell = {q["cell"]: q for q in data["insights"]["questions"]}
    assert set(by_cell) == {"ex1_formato", "ex2_update_c", "ex3_gradiente"}  # automatic questions only
    assert [
        (g["cause"], g["count"], g["share"], g["students"]) for g in by_cell["ex1_formato"]["groups"]
    ] == [("NameError: name '…' is not defined", 1, 0.2, ["aluno_local"])]
    assert by_cell["ex2_update_c"]["groups"][0]["message"] == EVIL
    assert by_cell["ex2_update_c"]["groups"][0]["students"] == ["1002", "1006"]
    assert data["max_score"] == 10.0
    by_id = {s["student_id"]: s for s in data["students"]}
    assert by_id["1001"]["score"] == 10.0 and by_id["1001"]["status"] == "graded"
    assert by_id["1002"]["score"] == 3.0
    assert by_id["1002"]["cells"]["discussao"] == {
        "score": 0.0,
        "max_score": 1.0,
        "passed": False,
        "needs_manual_grade": True,
    }
    assert by_id["1003"] == {
        "student_id": "1003",
        "score": 0.0,
        "max_score": 10.0,
        "status": "missing",
        "flags": [],
        "submitted_at": None,
        "late": False,
        "seconds_late": 0.0,
        "missing_notebooks": [],
        "cells": {},
    }
    assert by_id["1005"]["status"] == "timeout" and by_id["1005"]["score"] == 3.0
    assert by_id["1006"]["score"] == 6.0 and by_id["1006"]["flags"] == ["auditoria: ctypes"]
    assert "Araújo" not in reports.scores_json.read_text(encoding="utf-8")  # no names in the shared shape


def test_scores_csv(reports):
    rows = read_csv(reports.scores_csv)
    assert rows[0] == [
        "student_id",
        "nome",
        "status",
        "score",
        "max_score",
        "flags",
        "ex1_formato",
        "ex2_update_c",
        "ex3_gradiente",
        "discussao",
        "submitted_at",
        "late",
    ]
    by_id = {row[0]: row for row in rows[1:]}
    assert len(rows) == 1 + len(make_class())
    assert by_id["1001"] == [
        "1001",
        "Ana Araújo",
        "graded",
        "10.0",
        "10.0",
        "",
        "3.0",
        "4.0",
        "2.0",
        "1.0",
        "",
        "",
    ]
    assert by_id["1002"] == [
        "1002",
        "João Conceição",
        "graded",
        "3.0",
        "10.0",
        "",
        "3.0",
        "0.0",
        "0.0",
        "0.0",
        "",
        "",
    ]
    assert by_id["1003"] == ["1003", "Márcia Ibiapina", "missing", "0.0", "10.0", "", "", "", "", "", "", ""]
    assert by_id["1004"][2:5] == ["error", "3.0", "10.0"] and by_id["1004"][6:10] == ["3.0", "", "", ""]
    assert by_id["1005"][2:4] == ["timeout", "3.0"]
    assert by_id["1006"][2:6] == ["graded", "6.0", "10.0", "auditoria: ctypes"]


@pytest.mark.parametrize(
    ("language", "header", "participant"),
    [
        (
            "pt_br",
            [
                "Identificador",
                "Nome completo",
                "Nota",
                "Nota máxima",
                "Última modificação (nota)",
                "Comentários de feedback",
            ],
            "Participante",
        ),
        (
            "en",
            [
                "Identifier",
                "Full name",
                "Grade",
                "Maximum grade",
                "Last modified (grade)",
                "Feedback comments",
            ],
            "Participant ",
        ),
    ],
)
def test_moodle_csv(tmp_path, students, language, header, participant):
    paths = write_reports(tmp_path, ASSIGNMENT, CELLS, students, moodle_language=language)
    rows = read_csv(paths.moodle_csv)
    assert rows[0] == header
    by_id = {row[0]: row for row in rows[1:]}
    assert set(by_id) == {participant + i for i in ("1001", "1002", "1003", "1004", "1005", "1006", "777")}
    assert paths.moodle_skipped == ("aluno_local",)
    ana = by_id[participant + "1001"]
    assert ana[1:4] == ["Ana Araújo", "10", "10"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", ana[4])  # strtotime reads ISO 8601
    assert ana[5].startswith("Nota automática: 10/10.")
    joao = by_id[participant + "1002"]
    assert joao[2] == "3"
    assert "“update_c: atualização”, “Gradiente é nulo?”." in joao[5]
    assert "Aguardando correção manual: “Discussão escrita”." in joao[5]
    assert "<script>" not in joao[5] and "AssertionError" not in joao[5]  # no failure messages in Moodle
    assert by_id[participant + "1003"][2] == "0"
    assert "Nenhuma submissão" in by_id[participant + "1003"][5]
    assert by_id[participant + "1004"][2] == "3"
    assert by_id[participant + "1005"][2] == "3" and "tempo limite" in by_id[participant + "1005"][5]
    flagged = by_id[participant + "1006"]
    assert flagged[2] == "6", "an audit flag does not hold the grade back"
    assert "a auditoria do código encontrou ctypes" in flagged[5]
    assert by_id[participant + "777"][1:3] == ["Beatriz Lima", "9"]


def test_moodle_grades_use_a_dot(tmp_path):
    half = [
        StudentResult(
            "42",
            ASSIGNMENT,
            "graded",
            "Ana",
            "",
            cells={
                "ex1_formato": CellResult("ex1_formato", NB, 1.5, 3.0, False, message="AssertionError: quase")
            },
            moodle_id="42",
        )
    ]
    paths = write_reports(tmp_path, ASSIGNMENT, CELLS, half)
    row = read_csv(paths.moodle_csv)[1]
    assert row[2] == "1.5" and row[3] == "10"
    assert "1,5/10" in row[5]  # the comment is Portuguese text


def test_unknown_moodle_language(tmp_path, students):
    with pytest.raises(ValueError, match="moodle_language"):
        write_reports(tmp_path, ASSIGNMENT, CELLS, students, moodle_language="fr")


def test_feedback_page_escapes_student_text(reports):
    page = reports.feedback["1002"].read_text(encoding="utf-8")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(" in page
    assert "AssertionError: C deveria ter formato (128, 128), mas tem (128, 256)" in page
    assert "ValueError: gradiente não é nulo" in page
    assert "João Conceição" in page and "programacao_diferenciavel" in page
    assert "3<small> / 10" in page
    assert "aguardando correção manual" in page
    for info in CELLS:
        assert info.title.replace("?", "") in page
    assert "SEM sandbox" not in page


def questions(page: str) -> str:
    """The feedback page's questions, without the legend."""
    return page.split("<h2>Questões</h2>")[1].split('<p class="small">✓ passou')[0]


def test_feedback_pages_in_portuguese(reports):
    ana = reports.feedback["1001"].read_text(encoding="utf-8")
    assert '<html lang="pt-BR">' in ana and '<meta charset="utf-8">' in ana
    assert ana.count("✓") >= 4 and "✗" not in questions(ana)
    assert "10<small> / 10" in ana and "corrigido" in ana
    missing = reports.feedback["1003"].read_text(encoding="utf-8")
    assert "sem envio" in missing and "Nenhuma submissão foi encontrada" in missing
    error = reports.feedback["1004"].read_text(encoding="utf-8")
    assert "erro" in error and "Não foi possível executar o notebook" in error
    assert "JSON corrompido" not in error  # instructor notes stay on the instructor's page
    timeout = reports.feedback["1005"].read_text(encoding="utf-8")
    assert "tempo esgotado" in timeout and "TimeoutError: célula excedeu 120 s" in timeout
    flagged = reports.feedback["1006"].read_text(encoding="utf-8")
    assert "a auditoria do código encontrou ctypes" in flagged
    assert "6<small> / 10" in flagged and "retid" not in flagged
    bia = reports.feedback["bia"].read_text(encoding="utf-8")
    assert "sem resposta" in bia
    for path in reports.feedback.values():  # self-contained: no external resources
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"""(src|href)=["']https?:""", text)
        assert "<style>" in text


def test_no_test_code_in_feedback(reports):
    for path in reports.feedback.values():
        text = path.read_text(encoding="utf-8")
        assert "assert " not in text and "def test" not in text and "### BEGIN HIDDEN TESTS" not in text


def test_index_page(reports):
    page = reports.index_html.read_text(encoding="utf-8")
    assert '<html lang="pt-BR">' in page
    for word in ("alunos", "corrigidos", "erros", "média", "mediana", "Taxa de acerto"):
        assert word in page
    assert page.count("data:image/png;base64,") == 1  # the histogram; the pass-rate chart is SVG, with links
    chart = page.split("<svg", 1)[1].split("</svg>", 1)[0]
    for info in CELLS[:3]:  # each automatic question's bar links to its section, which is collapsed
        anchor = f"causas-{NB}--{info.grade_id}"
        assert f'xlink:href="#{anchor}"' in chart and f'<details class="card insight" id="{anchor}">' in page
    assert "causas-programacao_diferenciavel--discussao" not in page  # written answers: none
    assert 'target="_blank"' not in chart
    for student in make_class():
        assert f'href="feedback/{student.student_id}.html"' in page
    assert "Ana Araújo" in page and "Caio Müller" in page
    assert "<script>alert" not in page
    assert "notebook inválido: JSON corrompido" in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;.txt" in page
    assert "SEM sandbox" not in page
    # Stats describe the 5 graded students: 10, 3, 6, 7, 9 -> mean 7, median 7.
    assert ">7<" in page and "retidos" not in page
    assert "aluno_local" in page


def test_no_sandbox_banner_everywhere(reports_en_unsandboxed):
    paths = reports_en_unsandboxed
    assert "Correção feita SEM sandbox (--no-sandbox)" in paths.index_html.read_text(encoding="utf-8")
    for page in paths.feedback.values():
        assert "Correção feita SEM sandbox (--no-sandbox)" in page.read_text(encoding="utf-8")


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    return len(data), struct.unpack(">II", data[16:24])


def test_charts_are_pngs(reports):
    for path in (reports.pass_rate_png, reports.histogram_png):
        size, (width, height) = png_size(path)
        assert size > 5000 and width >= 400 and height >= 200


def test_charts_with_nobody_graded(tmp_path):
    nobody = [StudentResult("1", ASSIGNMENT, "missing")]
    paths = write_reports(tmp_path, ASSIGNMENT, CELLS, nobody)
    for path in (paths.pass_rate_png, paths.histogram_png):
        assert png_size(path)[0] > 2000
    assert json.loads(paths.scores_json.read_text(encoding="utf-8"))["students"][0]["status"] == "missing"


def test_no_pyplot_state(reports):
    import sys

    if "matplotlib.pyplot" in sys.modules:
        import matplotlib.pyplot as plt

        assert plt.get_fignums() == []


@pytest.mark.parametrize("width", [120, 80, 60, 40])
def test_terminal_table_fits(students, width):
    table = terminal_table(ASSIGNMENT, CELLS, students, width=width)
    lines = table.splitlines()
    assert all(len(line) <= width for line in lines), [line for line in lines if len(line) > width]
    for student in students:
        assert any(line.startswith(student.student_id) for line in lines), student.student_id
    assert "SEM SANDBOX" not in table
    assert "média 7/10" in table.replace("\n", " ") or width < 60


def test_terminal_table_content(students):
    table = terminal_table(ASSIGNMENT, CELLS, students, width=140)
    lines = table.splitlines()
    ids = [
        line.split()[0]
        for line in lines
        if line.split() and line.split()[0] in {s.student_id for s in students}
    ]
    assert ids == ["1001", "1002", "1003", "1004", "1005", "1006", "aluno_local", "bia"]
    row = {line.split()[0]: line for line in lines if line.split()}
    assert "Ana Araújo" in row["1001"] and "10/10" in row["1001"] and "✓✓✓✓" in row["1001"]
    assert "3/10" in row["1002"] and "✓✗✗?" in row["1002"]
    assert "sem envio" in row["1003"] and "····" in row["1003"]
    assert "erro" in row["1004"] and "✓···" in row["1004"]
    assert "tempo esgotado" in row["1005"] and "✓✗··" in row["1005"]
    assert "6/10" in row["1006"] and "auditoria" in row["1006"] and "retido" not in row["1006"]
    assert "8 alunos" in table and "1 sem envio" in table and "média 7/10" in table


def test_terminal_table_without_sandbox_and_narrow(students):
    table = terminal_table(ASSIGNMENT, CELLS, students, sandboxed=False, width=30)
    assert "SEM SANDBOX" in table
    assert all(len(line) <= 30 for line in table.splitlines())
    for student in students:
        assert any(line.startswith(student.student_id) for line in table.splitlines())


def test_terminal_table_default_width(monkeypatch, students):
    monkeypatch.setenv("COLUMNS", "72")
    monkeypatch.setenv("LINES", "20")
    table = terminal_table(ASSIGNMENT, CELLS, students)
    assert max(len(line) for line in table.splitlines()) <= 72


def test_templates_load_and_pages_inline_style_and_script(reports):
    """Every template in templates/ compiles; the pages carry style.css and sort_table.js as they are, so each page
    works alone (offline, sent to a student)."""
    env = template_environment()
    names = sorted(path.name for path in TEMPLATES.glob("*.html.j2"))
    assert names == ["feedback.html.j2", "index.html.j2", "insights.html.j2", "similaridade.html.j2"]
    for name in names:
        env.get_template(name)
    style, script = inline("style.css"), inline("sort_table.js")
    assert style == (TEMPLATES / "style.css").read_text(encoding="utf-8") and ":root" in style
    assert "querySelectorAll" in script
    index = reports.index_html.read_text(encoding="utf-8")
    assert f"<style>\n{style}</style>" in index and f"<script>\n{script}</script>" in index
    for page in reports.feedback.values():
        assert f"<style>\n{style}</style>" in page.read_text(encoding="utf-8")


def test_no_markup_in_python():
    """HTML, CSS and JavaScript live in templates/, not in the report modules' strings."""
    for module in sorted((Path(__file__).parents[1] / "grader" / "report").glob("*.py")):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                for marker in ("<html", "<style", "<script", "{%", "{{", "querySelector", ":root {"):
                    assert marker not in node.value, (module.name, marker)


def test_shared_wording():
    assert [wording.format_number(x) for x in (7.0, 7.5, 2 / 3, -0.001)] == ["7", "7,5", "0,67", "0"]
    assert wording.format_number(7.5, ".") == "7.5"
    assert (
        wording.plural(1, "aluno", "alunos") == "1 aluno"
        and wording.plural(0, "aluno", "alunos") == "0 alunos"
    )
    assert sorted(["aluno10", "Aluno2", "aluno1"], key=wording.natural_key) == ["aluno1", "Aluno2", "aluno10"]
    late = StudentResult("1", ASSIGNMENT, "graded", seconds_late=60.0)
    assert wording.status_label(late) == "corrigido, atrasado"
    assert wording.status_label(late, short=True) == "corrigido, atrasado"


# --- titles written for students (metadata["grader"]["title"] of the source notebook's cells) -----------------


def titled_assignment():
    """An assignment built in memory: a list's heading and its first exercise in one markdown cell, cells with
    and without a title; the release carries other titles (a submission is built from it: never read)."""
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    from grader.intake.assignment import Assignment
    from tests.helpers import with_meta

    def titled(cell, title):
        cell.metadata["grader"] = {"title": title}
        return cell

    source = new_notebook(
        cells=[
            new_markdown_cell(
                "## Lista de exercícios 1: vetorização\n\n```python\n# não é um título\n```\n\n"
                "### Exercício 5: as matrizes A e B"
            ),
            with_meta(new_code_cell("A = B = None"), "resposta_A_B", solution=True),
            titled(
                with_meta(new_code_cell("assert A is not None"), "A_B_distribuicao", grade=True, points=1),
                "As matrizes A e B: distribuição",
            ),
            with_meta(new_code_cell("assert B is not None"), "A_B_formato", grade=True, points=1),
            titled(
                with_meta(
                    new_markdown_cell("Explique.\n### BEGIN SOLUTION\nPorque sim.\n### END SOLUTION"),
                    "resposta_porque",
                    grade=True,
                    solution=True,
                    points=1,
                ),
                "Por que é mais rápido?",
            ),
        ]
    )
    release = copy.deepcopy(source)
    for cell in release.cells:
        if "grader" in cell.metadata:
            cell.metadata["grader"]["title"] = "título trocado"
    return Assignment("lista", {"lista": source}, {"lista": release})


def test_titles_come_from_the_source_notebook_with_todays_naming_as_fallback():
    from grader.grading.reports import cell_infos

    infos = {info.grade_id: info for info in cell_infos(titled_assignment())}
    assert (infos["A_B_distribuicao"].title, infos["A_B_distribuicao"].titled) == (
        "As matrizes A e B: distribuição",
        True,
    )
    assert (infos["A_B_formato"].title, infos["A_B_formato"].titled) == ("A B: formato", False)  # no title
    assert infos["resposta_porque"].title == "Por que é mais rápido?"
    # the exercise, not the list's heading the same markdown cell starts with; nbgrader's markers in a written
    # answer and a comment in a code block are no headings
    assert {info.exercise for info in infos.values()} == {"Exercício 5: as matrizes A e B"}


def test_titles_in_feedback_moodle_comment_overview_and_chart(tmp_path):
    from grader.grading.reports import cell_infos
    from grader.report.moodle_export import moodle_comment

    cells = cell_infos(titled_assignment())

    def failed(grade_id, points=1.0):
        return CellResult(grade_id, "lista", 0.0, points, False, message="AssertionError: errado")

    student = StudentResult(
        "ana",
        "lista",
        cells={
            ("lista", "A_B_distribuicao"): failed("A_B_distribuicao"),
            ("lista", "A_B_formato"): failed("A_B_formato"),
            ("lista", "resposta_porque"): CellResult(
                "resposta_porque", "lista", 0.0, 1.0, False, needs_manual_grade=True, manual=True
            ),
        },
    )
    paths = write_reports(tmp_path, "lista", cells, [student])
    page = paths.feedback["ana"].read_text(encoding="utf-8")
    assert "As matrizes A e B: distribuição" in page and "Por que é mais rápido?" in page
    assert "<h3>Exercício 5: as matrizes A e B</h3>" in page and "Lista de exercícios 1" not in page
    assert "título trocado" not in page and "A_B_distribuicao" not in page
    comment = moodle_comment(student, cells, 3.0)
    # a titled question by its title; an untitled one by its exercise, as before titles
    assert (
        "Questões sem pontuação total: “As matrizes A e B: distribuição”, “Exercício 5: as matrizes A e B”."
        in (comment)
    )
    assert "Aguardando correção manual: “Por que é mais rápido?”." in comment
    index = paths.index_html.read_text(encoding="utf-8")
    chart = index.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert "As matrizes A e B: distribuição" in chart  # the chart's label (its text stays text)
    section = index.split('<h2 id="causas">', 1)[1]
    assert "<strong>As matrizes A e B: distribuição</strong>" in section
