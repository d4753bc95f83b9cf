"""An nbgrader course, written here as an instructor using nbgrader would write it, graded by `grader` and by
stock `nbgrader autograde` (0.9.6) side by side: the same per-cell scores and totals, except where the grader
restores what nbgrader cannot (each such difference is named in DIFFERENCES below).

The course: one assignment, `lista`, with two notebooks (parte1, parte2); a task cell, a manually graded
written answer and a manually graded code answer without solution markers (nbgrader replaces it by the stub),
a test cell that is not locked (nbgrader treats it as locked); a data file and a nested one that both the
student's code and the tests open; the grade_id `teste_basico` in both notebooks, with different points;
partial credit. The class: one right, one partly wrong and late (timestamp.txt with a numeric offset), one
without parte2, one without timestamp.txt who deletes a failing test cell and sends a data file of his own.

Run with -s to see the gate's verdict and the side-by-side table."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader.course.init import config_text
from grader.course.release import solved_copy
from grader.nbmeta import nbgrader_meta
from tests.helpers import cell_by_grade_id, tree_digest, with_meta

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent  # nbgrader, and the alembic it calls to make a gradebook
ASSIGNMENT = "lista"
DUE = "2025-05-10 23:59 -0300"  # 02:59 UTC on the 11th
STUB = "# SEU CÓDIGO AQUI\nraise NotImplementedError()"
NBGRADER_CONFIG = f"""c = get_config()
c.CourseDirectory.course_id = "curso-teste"
c.ClearSolutions.code_stub = {{"python": {STUB!r}}}
c.ClearSolutions.text_stub = "SUA RESPOSTA AQUI"
c.ExecutePreprocessor.timeout = 60
"""
DATA = "1.5\n2.5\n4\n"  # dados.txt: sum 8
WEIGHTS = "3\n"  # dados/pesos.txt
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)

# Where the two graders differ on purpose, and why (the test fails on any other difference).
DIFFERENCES = {
    ("davi", "parte2", "teste_basico"): (
        "davi apagou a célula de teste: o nbgrader não tem o que rodar e deixa a nota à espera de correção "
        "manual; o grader restaura a célula de source/ e a roda (falha: dobro errado), sem revisão"
    ),
}
TIME_DIFFERENCES = {
    "bruno": (
        "timestamp.txt com deslocamento numérico (2025-05-11 09:30:00 -0300): o parse_utc do nbgrader lê "
        "-0300 como 300 segundos e registra 09:35 UTC; o grader lê 12:30 UTC"
    ),
    "davi": (
        "sem timestamp.txt: o nbgrader não registra a hora do envio (nem o atraso); o grader usa o horário "
        "do arquivo do notebook"
    ),
}


def notebook(cells):
    return new_notebook(
        cells=cells,
        metadata={"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
    )


def parte1():
    return notebook(
        [
            new_markdown_cell("# Parte 1: médias\n\n![figura](imagens/figura.png)"),
            with_meta(new_code_cell("import math"), "preparo", locked=True),
            with_meta(
                new_code_cell(
                    'def media(xs):\n    """A média dos números de xs."""\n    ### BEGIN SOLUTION\n'
                    "    return sum(xs) / len(xs)\n    ### END SOLUTION"
                ),
                "resposta_media",
                solution=True,
            ),
            with_meta(
                new_code_cell(
                    'assert media([1, 2, 3]) == 2, "media([1, 2, 3]) deveria ser 2"\n'
                    "### BEGIN HIDDEN TESTS\nassert media([1, 2]) == 1.5\n### END HIDDEN TESTS"
                ),
                "teste_basico",
                grade=True,
                locked=True,
                points=2,
            ),
            new_markdown_cell("## Um arquivo de dados"),
            with_meta(
                new_code_cell(
                    'def soma_arquivo(nome):\n    """A soma dos números do arquivo, um por linha."""\n'
                    "    ### BEGIN SOLUTION\n    with open(nome) as arquivo:\n"
                    "        return sum(float(linha) for linha in arquivo if linha.strip())\n"
                    "    ### END SOLUTION"
                ),
                "resposta_soma_arquivo",
                solution=True,
            ),
            with_meta(
                new_code_cell(
                    "with open('dados.txt') as arquivo:\n"
                    "    esperado = sum(float(linha) for linha in arquivo if linha.strip())\n"
                    "assert soma_arquivo('dados.txt') == esperado == 8"
                ),
                "teste_dados",
                grade=True,
                locked=True,
                points=1,
            ),
            new_markdown_cell("## Nota parcial"),
            with_meta(
                new_code_cell(
                    "pontos = 0\nif media([2, 4]) == 3:\n    pontos += 1\n"
                    "if media([1, 2, 3, 4]) == 2.5:\n    pontos += 1\nif media([-1, 1]) == 0:\n"
                    "    pontos += 1\npontos"
                ),
                "parcial",
                grade=True,
                locked=True,
                points=3,
            ),
            new_markdown_cell("## Para escrever"),
            with_meta(
                new_markdown_cell(
                    "Por que a média de uma lista vazia não existe?\n\n### BEGIN SOLUTION\n"
                    "Porque dividiria por zero.\n### END SOLUTION"
                ),
                "explicacao",
                grade=True,
                solution=True,
                points=1,
            ),
            with_meta(
                new_markdown_cell("## Tarefa\nFaça um gráfico das médias móveis de `dados.txt` e comente-o."),
                "tarefa_grafico",
                locked=True,
                task=True,
                points=2,
            ),
        ]
    )


def parte2():
    return notebook(
        [
            new_markdown_cell("# Parte 2: dobro e pesos"),
            with_meta(
                new_code_cell(
                    "def dobro(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"
                ),
                "resposta_dobro",
                solution=True,
            ),
            # the same grade_id as parte1's, other points; and not locked (nbgrader locks test cells anyway)
            with_meta(
                new_code_cell(
                    "assert dobro(3) == 6\n### BEGIN HIDDEN TESTS\nassert dobro(-1) == -2\n"
                    "### END HIDDEN TESTS"
                ),
                "teste_basico",
                grade=True,
                points=1,
            ),
            with_meta(
                new_code_cell(
                    "with open('dados/pesos.txt') as arquivo:\n    peso = float(arquivo.read())\n"
                    "assert dobro(peso) == 6"
                ),
                "teste_pesos",
                grade=True,
                locked=True,
                points=1,
            ),
            new_markdown_cell("## Aplicação\nEscreva `triplo(x)` como quiser."),
            # a manually graded code answer without ### BEGIN SOLUTION: the release holds only the stub
            with_meta(
                new_code_cell("def triplo(x):\n    return 3 * x"),
                "aplicacao",
                grade=True,
                solution=True,
                points=1,
            ),
        ]
    )


MAX_SCORES = {
    ("parte1", "teste_basico"): 2,
    ("parte1", "teste_dados"): 1,
    ("parte1", "parcial"): 3,
    ("parte1", "explicacao"): 1,
    ("parte1", "tarefa_grafico"): 2,
    ("parte2", "teste_basico"): 1,
    ("parte2", "teste_pesos"): 1,
    ("parte2", "aplicacao"): 1,
}


def write_course(folder: Path) -> None:
    source = folder / "source" / ASSIGNMENT
    (source / "dados").mkdir(parents=True)
    (source / "imagens").mkdir()
    nbformat.write(parte1(), source / "parte1.ipynb")
    nbformat.write(parte2(), source / "parte2.ipynb")
    (source / "dados.txt").write_text(DATA)
    (source / "dados" / "pesos.txt").write_text(WEIGHTS)
    (source / "imagens" / "figura.png").write_bytes(PNG)
    (folder / "nbgrader_config.py").write_text(NBGRADER_CONFIG)


def write_class(course: Path, folder: Path) -> None:
    """The class, in nbgrader's layout (submitted/<student>/lista/), from the grader's release."""
    release = {
        n: nbformat.read(course / "release" / ASSIGNMENT / f"{n}.ipynb", as_version=4)
        for n in ("parte1", "parte2")
    }
    source = {
        n: nbformat.read(course / "source" / ASSIGNMENT / f"{n}.ipynb", as_version=4)
        for n in ("parte1", "parte2")
    }

    def answered(name, answers):
        nb = copy.deepcopy(release[name])
        solved = solved_copy(source[name])
        for grade_id in ("resposta_media", "resposta_soma_arquivo", "resposta_dobro"):
            if any(nbgrader_meta(c).get("grade_id") == grade_id for c in nb.cells):
                cell_by_grade_id(nb, grade_id).source = cell_by_grade_id(solved, grade_id).source
        for grade_id, text in answers.items():
            cell_by_grade_id(nb, grade_id).source = text
        return nb

    def submit(student, notebooks, timestamp=None, when=None):
        target = folder / student / ASSIGNMENT
        target.mkdir(parents=True)
        for name, nb in notebooks.items():
            nbformat.write(nb, target / f"{name}.ipynb")
            if when is not None:
                os.utime(target / f"{name}.ipynb", (when, when))
        if timestamp:
            (target / "timestamp.txt").write_text(timestamp + "\n")

    written = {"explicacao": "Porque não há elementos: seria 0/0."}
    submit(
        "ana",
        {
            "parte1": answered("parte1", written),
            "parte2": answered("parte2", {"aplicacao": "def triplo(x):\n    return x + x + x"}),
        },
        "2025-05-10 20:00:00.000000 America/Sao_Paulo",
    )
    # integer division: right on [2, 4] and [-1, 1], wrong on [1, 2, 3, 4] (partial credit 2/3) and [1, 2]
    wrong = "def media(xs):\n    return sum(xs) // len(xs)"
    submit(
        "bruno",
        {"parte1": answered("parte1", {"resposta_media": wrong}), "parte2": answered("parte2", {})},
        "2025-05-11 09:30:00 -0300",
    )
    submit("carla", {"parte1": answered("parte1", written)}, "2025-05-10 12:00:00.000000 UTC")
    deleted = answered("parte2", {"resposta_dobro": "def dobro(x):\n    return x * 3"})
    deleted.cells = [c for c in deleted.cells if nbgrader_meta(c).get("grade_id") != "teste_basico"]
    submit(
        "davi",
        {"parte1": answered("parte1", {}), "parte2": deleted},
        when=datetime(2025, 5, 10, 22, 0, tzinfo=timezone.utc).timestamp(),
    )
    (folder / "davi" / ASSIGNMENT / "dados.txt").write_text("100\n")  # his own: must not replace the course's


def run(args: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PATH": f"{BIN}:{os.environ.get('PATH', '')}"}
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


def grader_cli(course: Path, *args: str) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", "grader.cli", "--course-dir", str(course), *args], course)


@pytest.fixture(scope="module")
def side_by_side(tmp_path_factory, sandbox_available):
    """The course converted and released by `grader`, the class graded by both; what each recorded."""
    from nbgrader.api import Gradebook

    from grader.timestamps import gradebook_time, parse_time

    root = tmp_path_factory.mktemp("nbgrader_course")
    original, ours, stock = root / "original", root / "grader", root / "nbgrader"
    write_course(original)
    shutil.copytree(original, ours)
    shutil.copytree(original, stock)

    # the grader's side: `grader init` keeps nbgrader's settings; the release goes through the gate
    initialized = grader_cli(ours, "init")
    assert initialized.returncode == 0, initialized.stderr
    config = ours / "grader_config.py"
    config.write_text(
        config_text(
            config.read_text(),
            {"SANDBOX": sandbox_available, "DUE_DATES": {ASSIGNMENT: DUE}, "SUBMISSION_TIMEOUT_S": 300},
        )
    )
    released = grader_cli(ours, "release", ASSIGNMENT)
    submissions = root / "submitted"
    write_class(ours, submissions)
    before = tree_digest(submissions)
    graded = grader_cli(
        ours,
        "grade",
        ASSIGNMENT,
        "--submissions",
        str(submissions),
        "--workers",
        "2",
        "--no-progress",
        "--no-similarity",
        "--report-dir",
        str(ours / "reports"),
    )
    assert graded.returncode == 0, graded.stderr[-3000:]
    assert tree_digest(submissions) == before, "the grader modified its input"

    # stock nbgrader on a copy of the same course, the same files, the same due date
    assert (
        run([str(BIN / "nbgrader"), "generate_assignment", ASSIGNMENT, "--log-level=ERROR"], stock).returncode
        == 0
    )
    with Gradebook(f"sqlite:///{stock / 'gradebook.db'}") as gb:
        gb.update_or_create_assignment(ASSIGNMENT, duedate=gradebook_time(parse_time(DUE)))
    shutil.copytree(submissions, stock / "submitted")
    autograded = run([str(BIN / "nbgrader"), "autograde", ASSIGNMENT, "--log-level=WARN"], stock)
    assert autograded.returncode == 0, autograded.stderr[-3000:]
    scores = json.loads((ours / "reports" / ASSIGNMENT / "scores.json").read_text())
    return {
        "init": initialized,
        "release": released,
        "grade": graded,
        "nbgrader": autograded,
        "scores": scores,
        "ours": ours,
        "stock": stock,
        "submissions": submissions,
    }


def gradebook_cells(db: Path) -> dict:
    """(student, notebook, grade_id) -> (score, needs_manual_grade), and student -> (score, max, timestamp,
    seconds late), as nbgrader's gradebook holds them."""
    from nbgrader.api import Gradebook

    cells, totals = {}, {}
    with Gradebook(f"sqlite:///{db}") as gb:
        for submission in gb.find_assignment(ASSIGNMENT).submissions:
            totals[submission.student_id] = (
                submission.score,
                submission.max_score,
                submission.timestamp,
                submission.total_seconds_late,
            )
            for nb in submission.notebooks:
                for grade in nb.grades:
                    cells[submission.student_id, nb.name, grade.name] = (
                        grade.score,
                        grade.needs_manual_grade,
                    )
    return cells, totals


@pytest.mark.slow
def test_gate_releases_nbgrader_legal_notebooks_with_warnings(side_by_side):
    released, ours = side_by_side["release"], side_by_side["ours"]
    print("\n$ grader release lista   (STRICT_CONVENTIONS = False, como o `grader init` escreve)")
    print(released.stdout + released.stderr)
    assert released.returncode == 0, released.stdout + released.stderr
    assert "liberação OK" in released.stdout and "✗" not in released.stdout
    assert "! parte2.ipynb: célula de teste 'teste_basico' não está travada" in released.stdout
    assert "! parte2.ipynb: célula de solução 'aplicacao' sem ### BEGIN SOLUTION" in released.stdout
    folder = ours / "release" / ASSIGNMENT
    assert (folder / "dados.txt").read_text() == DATA and (
        folder / "dados" / "pesos.txt"
    ).read_text() == WEIGHTS
    assert (folder / "imagens" / "figura.png").read_bytes() == PNG  # release copies the assignment's files
    assert cell_by_grade_id(nbformat.read(folder / "parte2.ipynb", as_version=4), "aplicacao").source == STUB


@pytest.mark.slow
def test_strict_conventions_stop_the_release_and_leave_it_as_it_was(side_by_side):
    ours = side_by_side["ours"]
    config = ours / "grader_config.py"
    text = config.read_text()
    folder = ours / "release" / ASSIGNMENT
    before = tree_digest(folder)
    try:
        config.write_text(config_text(text, {"STRICT_CONVENTIONS": True}))
        strict = grader_cli(ours, "release", ASSIGNMENT, "--no-grade-check")
    finally:
        config.write_text(text)
    print("\n$ grader release lista --no-grade-check   (STRICT_CONVENTIONS = True)")
    print(strict.stdout + strict.stderr)
    assert strict.returncode == 2
    assert "✗ parte2.ipynb: célula de teste 'teste_basico' não está travada" in strict.stdout
    assert f"{folder} não foi alterada" in strict.stdout
    assert strict.stderr.strip().splitlines()[-1] == (  # (before it, the warning about the Colab links)
        "erro: o portão de qualidade falhou em lista (release/ ficou como estava): corrija source/ e rode "
        "`grader release` de novo"
    )
    assert tree_digest(folder) == before


@pytest.mark.slow
def test_init_keeps_nbgrader_settings(side_by_side):
    ours, done = side_by_side["ours"], side_by_side["init"]
    from grader.config import load_settings

    settings = load_settings(ours)
    assert settings.course_id == "curso-teste" and settings.assignments == [ASSIGNMENT]
    assert settings.code_stub == STUB and settings.text_stub == "SUA RESPOSTA AQUI"
    assert settings.cell_timeout_s == 60 and settings.db_url == f"sqlite:///{ours / 'gradebook.db'}"
    assert not settings.strict_conventions
    nbgrader_config = (ours / "nbgrader_config.py").read_text()
    assert nbgrader_config.startswith(NBGRADER_CONFIG) and "grader_config.py" in nbgrader_config
    assert "grader_config.py criado" in done.stdout
    again = grader_cli(ours, "init")
    assert again.returncode == 2 and "já existe" in again.stderr


@pytest.mark.slow
def test_same_scores_as_nbgrader_cell_by_cell(side_by_side):
    scores, stock = side_by_side["scores"], side_by_side["stock"]
    theirs, _ = gradebook_cells(stock / "gradebook.db")
    students = {s["student_id"]: s for s in scores["students"]}
    assert scores["notebooks"] == ["parte1", "parte2"] and scores["max_score"] == 12.0
    rows, differences = [], []
    for student in sorted(students):
        for (notebook_name, grade_id), points in MAX_SCORES.items():
            ours = students[student]["cells"][f"{notebook_name}/{grade_id}"]
            assert ours["max_score"] == points
            mine = (ours["score"], ours["needs_manual_grade"])
            stock_cell = theirs[student, notebook_name, grade_id]
            named = DIFFERENCES.get((student, notebook_name, grade_id))
            rows.append((student, f"{notebook_name}/{grade_id}", points, mine, stock_cell, named))
            if named:
                differences.append((student, notebook_name, grade_id))
                assert mine != stock_cell, f"{named}: no longer a difference"
            else:
                assert mine == stock_cell, (student, notebook_name, grade_id, mine, stock_cell)
    assert sorted(differences) == sorted(DIFFERENCES)
    print(
        "\nlado a lado: (pontos, espera correção manual) no scores.json do grader e no gradebook do nbgrader"
    )
    print(f"{'aluno':<7}{'célula':<22}{'máx':>4}  {'grader':<14}{'nbgrader':<14}diferença")
    for student, cell, points, mine, stock_cell, named in rows:
        mark = "≠ (ver abaixo)" if named else ""
        print(f"{student:<7}{cell:<22}{points:>4}  {_shown(mine):<14}{_shown(stock_cell):<14}{mark}")
    for (student, notebook_name, grade_id), why in DIFFERENCES.items():
        print(f"≠ {student} {notebook_name}/{grade_id}: {why}")


def _shown(cell) -> str:
    score, manual = cell
    return f"{score:g}" + (" (manual)" if manual else "")


@pytest.mark.slow
def test_same_totals_and_times_as_nbgrader(side_by_side):
    from grader.timestamps import parse_time

    scores, stock = side_by_side["scores"], side_by_side["stock"]
    _, totals = gradebook_cells(stock / "gradebook.db")
    students = {s["student_id"]: s for s in scores["students"]}
    assert set(students) == set(totals) == {"ana", "bruno", "carla", "davi"}
    print("\ntotais e horários (grader | nbgrader)")
    for student, ours in sorted(students.items()):
        score, max_score, timestamp, late = totals[student]
        assert (ours["score"], ours["max_score"]) == (score, max_score) == (ours["score"], 12.0)
        when = parse_time(ours["submitted_at"]).astimezone(timezone.utc).replace(tzinfo=None)
        print(
            f"{student:<7}{ours['score']:g}/{ours['max_score']:g} | {score:g}/{max_score:g}   "
            f"{when} atraso {ours['seconds_late']:g} s | {timestamp} atraso {late:g} s"
        )
        if student in TIME_DIFFERENCES:
            assert (when, ours["seconds_late"]) != (timestamp, late), TIME_DIFFERENCES[student]
            print(f"  ≠ {TIME_DIFFERENCES[student]}")
        else:
            assert when == timestamp and ours["seconds_late"] == late
    assert students["bruno"]["late"] and students["bruno"]["seconds_late"] == 9.5 * 3600 + 60
    assert students["davi"]["submitted_at"] == "2025-05-10T22:00:00+00:00" and not students["davi"]["late"]
    assert students["ana"]["submitted_at"] == "2025-05-10T20:00:00-03:00" and not students["ana"]["late"]
    assert scores["due_date"] == "2025-05-10T23:59:00-03:00"


@pytest.mark.slow
def test_missing_notebook_zero_without_review_and_said(side_by_side):
    scores, ours = side_by_side["scores"], side_by_side["ours"]
    carla = next(s for s in scores["students"] if s["student_id"] == "carla")
    assert carla["missing_notebooks"] == ["parte2"]
    for key in ("parte2/teste_basico", "parte2/teste_pesos", "parte2/aplicacao"):
        assert carla["cells"][key]["score"] == 0 and not carla["cells"][key]["needs_manual_grade"]
    assert (
        "carla: parte2.ipynb não foi enviado: as questões dele ficaram com 0" in side_by_side["grade"].stdout
    )
    page = (ours / "reports" / ASSIGNMENT / "feedback" / "carla.html").read_text(encoding="utf-8")
    assert "Notebook não enviado: parte2.ipynb; as questões dele ficaram com 0." in page
    index = (ours / "reports" / ASSIGNMENT / "index.html").read_text(encoding="utf-8")
    assert "parte2.ipynb não foi enviado" in index


@pytest.mark.slow
def test_repeated_grade_id_and_task_everywhere(side_by_side):
    scores, ours = side_by_side["scores"], side_by_side["ours"]
    ana = next(s for s in scores["students"] if s["student_id"] == "ana")
    assert ana["cells"]["parte1/teste_basico"] == {
        "score": 2.0,
        "max_score": 2.0,
        "passed": True,
        "needs_manual_grade": False,
    }
    assert (
        ana["cells"]["parte2/teste_basico"]["max_score"] == 1.0
        and ana["cells"]["parte2/teste_basico"]["passed"]
    )
    assert ana["cells"]["parte1/tarefa_grafico"] == {
        "score": 0.0,
        "max_score": 2.0,
        "passed": False,
        "needs_manual_grade": True,
    }
    header = (
        (ours / "reports" / ASSIGNMENT / "scores.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    )
    assert header.count("parte1/teste_basico") == header.count("parte2/teste_basico") == 1
    assert "parte1/tarefa_grafico" in header
    table = side_by_side["grade"].stdout
    assert "nota máxima 12" in table
    bruno = next(s for s in scores["students"] if s["student_id"] == "bruno")
    assert bruno["cells"]["parte1/parcial"]["score"] == 2.0 and bruno["score"] == 2 + 1 + 1 + 1
    index = (ours / "reports" / ASSIGNMENT / "index.html").read_text(encoding="utf-8")
    assert "tarefa (manual)" in index and "atrasada 9 h 31 min" in index
    assert "tarefa (correção manual)" in (ours / "reports" / ASSIGNMENT / "feedback" / "ana.html").read_text(
        encoding="utf-8"
    )
    page = (ours / "reports" / ASSIGNMENT / "feedback" / "bruno.html").read_text(encoding="utf-8")
    assert "11/05/2025 09:30 (UTC−03:00), pelo timestamp.txt; atrasada 9 h 31 min" in page


@pytest.mark.slow
def test_manual_grades_give_the_same_totals(side_by_side):
    """Grades given by hand (the formgrader writes them in the gradebook) count the same in both."""
    from nbgrader.api import Gradebook

    ours, stock = side_by_side["ours"], side_by_side["stock"]
    for db in (ours / "gradebook.db", stock / "gradebook.db"):
        with Gradebook(f"sqlite:///{db}") as gb:
            for notebook_name, grade_id, score in (
                ("parte1", "tarefa_grafico", 1.5),
                ("parte1", "explicacao", 1),
                ("parte2", "aplicacao", 1),
            ):
                grade = gb.find_grade(grade_id, notebook_name, ASSIGNMENT, "ana")
                grade.manual_score, grade.needs_manual_grade = score, False
            gb.db.commit()
    rebuilt = grader_cli(ours, "report", ASSIGNMENT, "--report-dir", str(ours / "reports"))
    assert rebuilt.returncode == 0, rebuilt.stderr
    scores = json.loads((ours / "reports" / ASSIGNMENT / "scores.json").read_text())
    ana = next(s for s in scores["students"] if s["student_id"] == "ana")
    _, totals = gradebook_cells(stock / "gradebook.db")
    assert (ana["score"], ana["max_score"]) == totals["ana"][:2] == (11.5, 12.0)
    assert "ana" in rebuilt.stdout and "11,5/12" in rebuilt.stdout
    print(
        f"\nana com notas manuais: grader {ana['score']:g}/{ana['max_score']:g}, "
        f"nbgrader {totals['ana'][0]:g}/{totals['ana'][1]:g}"
    )


@pytest.mark.slow
def test_the_students_data_file_is_not_used(side_by_side):
    """davi sent a dados.txt of his own: the course's is the one his notebook and the tests read."""
    davi = next(s for s in side_by_side["scores"]["students"] if s["student_id"] == "davi")
    assert davi["cells"]["parte1/teste_dados"]["passed"]
    assert (
        "davi: ignorado: davi/lista/dados.txt (a correção usa o dados.txt da atividade, de source/)"
        in side_by_side["grade"].stdout
    )


def test_messages_say_what_is_wrong_and_what_to_do(tmp_path, capsys):
    """No kernel: an assignment whose notebooks are there but not in ASSIGNMENTS, a course with only
    nbgrader_config.py, an assignment listed without a folder."""
    from grader import cli

    write_course(tmp_path)

    def error(*args) -> str:
        assert cli.main(["--course-dir", str(tmp_path), *args]) == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1, lines
        return lines[0]

    only_nbgrader = error("release", ASSIGNMENT)
    assert "é um curso do nbgrader (tem nbgrader_config.py), mas não tem grader_config.py" in only_nbgrader
    assert f"`grader --course-dir {tmp_path} init`" in only_nbgrader
    (tmp_path / "grader_config.py").write_text(
        config_text(
            (REPO / "grader_config.py").read_text(),
            {"ASSIGNMENTS": ["outra"], "STUDENT_REPOSITORY_URL": "https://github.com/curso/alunos"},
        )
    )
    unknown = error("grade", ASSIGNMENT, "--submissions", str(tmp_path))
    assert unknown == (
        f"erro: atividade desconhecida: 'lista': há notebooks em {tmp_path / 'source' / ASSIGNMENT}, "
        "mas ela não está em ASSIGNMENTS; acrescente 'lista' à lista ASSIGNMENTS de grader_config.py "
        "(atividades: outra)"
    )
    assert "sem notebooks" not in unknown
    assert "a pasta" in error("release", "outra") and "não existe" in error("report", "outra")


@pytest.mark.slow
def test_moodle_comments_name_the_notebook(side_by_side):
    """The comment for Moodle's worksheet names each question with its notebook, says which notebook is missing
    and how late the submission was."""
    from grader.config import load_settings
    from grader.grading.reports import cell_infos
    from grader.grading.results import load_results
    from grader.intake.assignment import Assignment
    from grader.report.moodle_export import moodle_comment

    settings = load_settings(side_by_side["ours"])
    cells = cell_infos(Assignment.load(settings, ASSIGNMENT))
    results = {r.student_id: r for r in load_results(settings, ASSIGNMENT)}
    bruno = moodle_comment(results["bruno"], cells, 12)
    assert (
        "Questões sem pontuação total: “parte1 — Parte 1: médias”, “parte1 — Para escrever”, "
        "“parte2 — Aplicação”. Pontuação parcial: “parte1 — Nota parcial”. Aguardando correção manual: "
        "“parte1 — Tarefa”."
    ) in bruno
    assert "Entrega atrasada (9 h 31 min depois do prazo)." in bruno
    carla = moodle_comment(results["carla"], cells, 12)
    assert "Notebook não enviado: parte2.ipynb; as questões dele ficaram com 0." in carla
    assert "parte2 —" not in carla  # its questions are not listed one by one as failed


def test_init_takes_the_due_dates_from_the_gradebook(tmp_path, capsys):
    """No kernel: `nbgrader db assignment add --duedate` kept a due date in the gradebook; grader_config.py
    gets it, and the grader reads the same instant."""
    from nbgrader.api import Gradebook

    import grader.grading.record  # noqa: F401 (a new gradebook without running `alembic heads`)
    from grader import cli
    from grader.config import load_settings
    from grader.timestamps import gradebook_time, parse_time

    write_course(tmp_path)
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gb:
        gb.update_or_create_assignment(ASSIGNMENT, duedate=gradebook_time(parse_time(DUE)))
    assert cli.main(["--course-dir", str(tmp_path), "init"]) == 0
    assert "DUE_DATES = {'lista': '2025-05-11 02:59:00 UTC'}" in capsys.readouterr().out
    assert load_settings(tmp_path).due_date(ASSIGNMENT) == parse_time(DUE)
