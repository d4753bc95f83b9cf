"""The grading pipeline on a small course: a class graded through the command line and the Python API, in real
kernels, checked in scores.json, the gradebook and the feedback."""

from __future__ import annotations

import copy
import json
import os
import struct
import subprocess
import sys
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from grader.config import load_settings
from grader.course.release import solved_copy
from grader.grading import pipeline, reports, workers
from grader.nbmeta import nbgrader_meta
from tests.helpers import build_mini_course, cell_by_grade_id, set_config, tree_digest, write_notebook

GRADER = [sys.executable, "-m", "grader.cli"]
pytestmark = pytest.mark.slow  # real kernels, or the command line on a released course


def build_class(settings, tmp_path):
    """A class in nbgrader's layout: every kind of submission the issue lists."""
    source = nbformat.read(settings.source_dir / "mini" / "mini.ipynb", as_version=4)
    release = nbformat.read(settings.release_dir / "mini" / "mini.ipynb", as_version=4)
    right = solved_copy(source)
    cell_by_grade_id(right, "resposta_explicacao").source = "Porque dobrar é somar o número a ele mesmo."
    subs = tmp_path / "submitted"
    write_notebook(subs / "certo" / "mini" / "mini.ipynb", right)
    write_notebook(subs / "branco" / "mini" / "mini.ipynb", release)
    wrong = copy.deepcopy(right)
    cell_by_grade_id(wrong, "resposta_quadrado").source = "def quadrado(x):\n    return x * 2"
    write_notebook(subs / "errado" / "mini" / "mini.ipynb", wrong)
    deleted = copy.deepcopy(wrong)  # hides the failing test by deleting it
    deleted.cells = [c for c in deleted.cells if nbgrader_meta(c).get("grade_id") != "quadrado_valores"]
    write_notebook(subs / "apagou" / "mini" / "mini.ipynb", deleted)
    edited = copy.deepcopy(wrong)
    cell_by_grade_id(edited, "quadrado_valores").source = "pass"
    write_notebook(subs / "editou" / "mini" / "mini.ipynb", edited)
    stripped = copy.deepcopy(right)
    for cell in stripped.cells:
        cell.metadata = {}
    write_notebook(subs / "colab" / "mini" / "Cópia de mini (1).ipynb", stripped)
    (subs / "quebrado" / "mini").mkdir(parents=True)
    (subs / "quebrado" / "mini" / "mini.ipynb").write_text('{"cells": [', encoding="utf-8")
    (subs / "vazio" / "mini").mkdir(parents=True)
    (subs / "vazio" / "mini" / "leiame.txt").write_text("esqueci o notebook")
    write_notebook(subs / "dois" / "mini" / "mini.ipynb", release)
    newer = subs / "dois" / "mini" / "mini (1).ipynb"
    write_notebook(newer, right)
    os.utime(newer, (os.path.getmtime(newer) + 60, os.path.getmtime(newer) + 60))
    other = nbformat.read(settings.source_dir / "outra" / "outra.ipynb", as_version=4)
    write_notebook(subs / "trocou" / "mini" / "outra.ipynb", other)
    loop = copy.deepcopy(right)
    cell_by_grade_id(loop, "resposta_dobro").source = "def dobro(x):\n    return 2 * x\nwhile True:\n    pass"
    write_notebook(subs / "laco" / "mini" / "mini.ipynb", loop)
    # JSON may spell a lone surrogate, which no UTF-8 file holds: in a comment and a markdown cell of the right
    # answer (graded, the character replaced), and printed or raised by an added cell (that cell's own output)
    odd = copy.deepcopy(right)
    cell_by_grade_id(odd, "resposta_dobro").source += "  # \ud800"
    odd.cells.insert(1, nbformat.v4.new_markdown_cell("Minha nota \udfff"))
    (subs / "surrogate" / "mini").mkdir(parents=True)
    (subs / "surrogate" / "mini" / "mini.ipynb").write_text(json.dumps(odd), encoding="ascii")
    printed = copy.deepcopy(right)
    printed.cells.append(nbformat.v4.new_code_cell('print("\\udc80 \\ud800")\nraise ValueError("\\udc80")'))
    write_notebook(subs / "imprime" / "mini" / "mini.ipynb", printed)
    dies = copy.deepcopy(right)
    cell_by_grade_id(dies, "resposta_quadrado").source = "import os\nos._exit(3)"
    write_notebook(subs / "morre" / "mini" / "mini.ipynb", dies)
    return settings, subs


@pytest.fixture
def mini_class(mini_course, tmp_path):
    return build_class(mini_course, tmp_path)


def run_cli(settings, *args, timeout=600):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    return subprocess.run(
        GRADER + ["--course-dir", str(settings.course_dir), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=settings.course_dir,
    )


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory, sandbox_available):
    """The class graded once through the command line; the tests below read what it produced."""
    tmp_path = tmp_path_factory.mktemp("turma")
    settings, subs = build_class(build_mini_course(tmp_path, sandbox_available), tmp_path)
    before = tree_digest(subs)
    # A short cell timeout so the infinite loop costs little; --timeout is the per-submission limit.
    set_config(settings.course_dir, CELL_TIMEOUT_S=15)
    done = run_cli(
        settings,
        "grade",
        "mini",
        "--submissions",
        str(subs),
        "--report-dir",
        str(tmp_path / "rel"),
        "--workers",
        "2",
        "--no-progress",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert tree_digest(subs) == before, "the grader modified its input"
    scores = json.loads((tmp_path / "rel" / "mini" / "scores.json").read_text())
    return settings, subs, scores, done, tmp_path / "rel" / "mini"


def by_id(scores):
    return {s["student_id"]: s for s in scores["students"]}


def test_scores_json_shape_and_values(graded_class):
    _, _, scores, _, _ = graded_class
    assert scores["assignment"] == "mini" and scores["max_score"] == 4.0
    assert scores["notebooks"] == ["mini"] and scores["due_date"] is None
    students = by_id(scores)
    for student in students.values():
        assert set(student) == {
            "student_id",
            "score",
            "max_score",
            "status",
            "flags",
            "cells",
            "submitted_at",
            "late",
            "seconds_late",
            "missing_notebooks",
        }
        assert not student["late"] and student["missing_notebooks"] == []
        # one notebook: the cells keyed by grade_id, as before issue 14
        assert set(student["cells"]) == {"dobro_valores", "quadrado_valores", "resposta_explicacao"}
        for cell in student["cells"].values():
            assert set(cell) == {"score", "max_score", "passed", "needs_manual_grade"}
    assert students["certo"]["score"] == 3.0 and students["certo"]["status"] == "graded"
    assert students["certo"]["cells"]["resposta_explicacao"]["needs_manual_grade"] is True
    assert students["branco"]["score"] == 0.0
    assert students["branco"]["cells"]["resposta_explicacao"]["needs_manual_grade"] is False
    assert students["errado"]["score"] == 1.0
    assert not students["errado"]["cells"]["quadrado_valores"]["passed"]
    # Deleting or editing the failing test cell changes nothing: it is restored from source/.
    assert students["apagou"]["cells"] == students["errado"]["cells"]
    assert students["editou"]["cells"] == students["errado"]["cells"]
    # Metadata stripped and file renamed by Colab: matched by content, graded as the right answer.
    assert students["colab"]["cells"] == students["certo"]["cells"]
    assert students["quebrado"]["status"] == "error" and students["quebrado"]["score"] == 0.0
    assert students["vazio"]["status"] == "missing"
    assert students["dois"]["score"] == 3.0  # the newer of two notebooks
    assert students["trocou"]["status"] == "missing"  # a notebook of another assignment is not graded
    assert students["surrogate"]["cells"] == students["certo"]["cells"]
    assert students["imprime"]["cells"] == students["certo"]["cells"]


def test_limits_fail_only_their_own_submission(graded_class):
    _, _, scores, _, _ = graded_class
    students = by_id(scores)
    loop = students["laco"]
    assert loop["status"] == "graded" and "limite: tempo por célula" in loop["flags"]
    # The cell that timed out defined dobro before looping: the kernel was interrupted and went on.
    assert loop["cells"]["dobro_valores"]["passed"] and loop["cells"]["quadrado_valores"]["passed"]
    dead = students["morre"]
    assert dead["status"] == "error" and dead["score"] == 1.0  # dobro's test ran before the kernel died
    assert "limite: kernel morreu" in dead["flags"]


def test_every_problem_reported_in_one_line(graded_class):
    _, _, _, done, _ = graded_class
    out = done.stdout
    assert "quebrado: quebrado/mini/mini.ipynb: o arquivo enviado não é um notebook válido: o JSON" in out
    assert "vazio: ignorado: vazio/mini/leiame.txt não é um notebook" in out
    assert "dois: dois notebooks para mini: usado dois/mini/mini (1).ipynb (o mais recente)" in out
    assert "trocou: ignorado: trocou/mini/outra.ipynb é um notebook da atividade outra" in out
    assert "morre: mini: o kernel morreu" in out
    assert "Traceback" not in done.stderr


def test_gradebook_and_feedback(graded_class):
    settings, _, scores, _, reports = graded_class
    with Gradebook(settings.db_url) as gb:
        assert gb.find_submission("mini", "certo").score == 3.0
        assert gb.find_submission("mini", "errado").score == 1.0
        assert gb.find_submission("mini", "colab").score == 3.0
        assert gb.find_grade("resposta_explicacao", "mini", "mini", "certo").needs_manual_grade
    page = (reports / "feedback" / "errado.html").read_text(encoding="utf-8")
    assert "quadrado(3) deveria ser 9, mas é 6" in page
    assert "assert quadrado(-4)" not in page and "BEGIN HIDDEN" not in page  # never the tests' code
    executed = nbformat.read(settings.autograded_dir / "certo" / "mini" / "mini.ipynb", as_version=4)
    # hidden tests ran
    assert "assert quadrado(-4) == 16" in cell_by_grade_id(executed, "quadrado_valores").source
    # one count down the notebook, though the test cells ran in the test kernel (the formgrader shows them)
    counts = [c.execution_count for c in executed.cells if c.cell_type == "code" and c.execution_count]
    assert counts == list(range(1, len(counts) + 1)) and len(counts) >= 4
    assert (reports / "moodle.csv").is_file() and (reports / "histograma.png").stat().st_size > 1000


def test_similarity_report_at_the_end(graded_class):
    _, _, _, done, reports = graded_class
    data = json.loads((reports / "similaridade.json").read_text(encoding="utf-8"))
    assert data["students"] >= 5 and data["pairs"] == []  # one-line answers are not compared on their own
    assert "similaridade: 0 par(es) de respostas parecidas" in done.stdout
    assert 'href="similaridade.html"' in (reports / "index.html").read_text(encoding="utf-8")
    for page in (reports / "feedback").glob("*.html"):
        assert "similaridade" not in page.read_text(encoding="utf-8").lower()


def test_regrade_replaces_auto_grades_and_keeps_manual(mini_class, tmp_path):
    settings, _ = mini_class
    source = nbformat.read(settings.source_dir / "mini" / "mini.ipynb", as_version=4)
    right = solved_copy(source)
    cell_by_grade_id(right, "resposta_explicacao").source = "Uma resposta escrita."
    first = tmp_path / "primeira"
    write_notebook(first / "aluna" / "mini" / "mini.ipynb", right)
    options = pipeline.GradeOptions(submissions=first, report_dir=tmp_path / "rel", workers=1, progress=False)
    pipeline.grade(settings, "mini", options)
    with Gradebook(settings.db_url) as gb:
        grade = gb.find_grade("resposta_explicacao", "mini", "mini", "aluna")
        grade.manual_score = 0.5  # partial credit, with a comment, as the formgrader saves them
        grade.needs_manual_grade = False
        gb.find_comment(
            "resposta_explicacao", "mini", "mini", "aluna"
        ).manual_comment = "Faltou o caso negativo."
        gb.db.commit()
        assert gb.find_submission("mini", "aluna").score == 3.5
    # The resubmission breaks quadrado and deletes its test cell: stock nbgrader would keep the old 2 points.
    second = tmp_path / "segunda"
    broken = copy.deepcopy(right)
    cell_by_grade_id(broken, "resposta_quadrado").source = "def quadrado(x):\n    return 0"
    broken.cells = [c for c in broken.cells if nbgrader_meta(c).get("grade_id") != "quadrado_valores"]
    write_notebook(second / "aluna" / "mini" / "mini.ipynb", broken)
    run = pipeline.grade(
        settings,
        "mini",
        pipeline.GradeOptions(submissions=second, report_dir=tmp_path / "rel", workers=1, progress=False),
    )
    with Gradebook(settings.db_url) as gb:
        assert gb.find_grade("quadrado_valores", "mini", "mini", "aluna").score == 0.0
        written = gb.find_grade("resposta_explicacao", "mini", "mini", "aluna")
        assert written.manual_score == 0.5 and not written.needs_manual_grade  # same answer: still graded
        assert gb.find_submission("mini", "aluna").score == 1.5
    page = (tmp_path / "rel" / "mini" / "feedback" / "aluna.html").read_text(encoding="utf-8")
    assert "Faltou o caso negativo." in page and "corrigida: nota parcial" in page and "0,5 / 1" in page
    # Grading the same notebook again gives the same scores as the first time.
    again = pipeline.grade(
        settings,
        "mini",
        pipeline.GradeOptions(submissions=second, report_dir=tmp_path / "rel", workers=1, progress=False),
    )
    assert {k: v.score for k, v in again.results[0].cells.items()} == {
        k: v.score for k, v in run.results[0].cells.items()
    }
    rebuilt = json.loads((tmp_path / "rel" / "mini" / "scores.json").read_text())
    table, _ = reports.rebuild_reports(settings, "mini", tmp_path / "rel2")
    manual = json.loads((tmp_path / "rel2" / "mini" / "scores.json").read_text())
    assert manual["students"][0]["score"] == 1.5 == rebuilt["students"][0]["score"]
    assert "aluna" in table
    # A new written answer is graded by a person again.
    third = tmp_path / "terceira"
    cell_by_grade_id(broken, "resposta_explicacao").source = "Outra explicação, escrita de novo."
    write_notebook(third / "aluna" / "mini" / "mini.ipynb", broken)
    pipeline.grade(
        settings,
        "mini",
        pipeline.GradeOptions(submissions=third, report_dir=tmp_path / "rel", workers=1, progress=False),
    )
    with Gradebook(settings.db_url) as gb:
        written = gb.find_grade("resposta_explicacao", "mini", "mini", "aluna")
        assert written.needs_manual_grade and written.manual_score is None


def test_moodle_zip(mini_course, tmp_path):
    settings = mini_course
    source = nbformat.read(settings.source_dir / "mini" / "mini.ipynb", as_version=4)
    archive = tmp_path / "moodle.zip"
    # the submission time is the one inside the zip: its DOS time (no zone: this machine's), or the extended
    # timestamp field (UTC) where the zip has one
    dos = zipfile.ZipInfo("Maria da Silva_123456_assignsubmission_file_/mini.ipynb", (2025, 5, 10, 21, 30, 0))
    extended = zipfile.ZipInfo(
        "João Souza_654321_assignsubmission_file_/Cópia de mini.ipynb", (2025, 5, 11, 0, 0, 0)
    )
    utc = datetime(2025, 5, 11, 3, 0, tzinfo=timezone.utc)
    extended.extra = struct.pack("<HHBi", 0x5455, 5, 1, int(utc.timestamp()))
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(dos, nbformat.writes(solved_copy(source)))
        z.writestr(
            extended,
            nbformat.writes(nbformat.read(settings.release_dir / "mini" / "mini.ipynb", as_version=4)),
        )
        z.writestr("João Souza_654321_assignsubmission_file_/rascunho.pdf", b"%PDF-1.4")
    run = pipeline.grade(
        settings,
        "mini",
        pipeline.GradeOptions(submissions=archive, report_dir=tmp_path / "rel", workers=2, progress=False),
    )
    results = {r.student_id: r for r in run.results}
    assert results["123456"].score == 3.0 and results["654321"].score == 0.0
    assert results["123456"].submitted_at == datetime(2025, 5, 10, 21, 30).astimezone().isoformat()
    assert datetime.fromisoformat(results["654321"].submitted_at) == utc
    assert results["654321"].submitted_from == "zip"
    scores = json.loads((tmp_path / "rel" / "mini" / "scores.json").read_text())
    assert {s["student_id"]: s["submitted_at"] for s in scores["students"]}["123456"] == results[
        "123456"
    ].submitted_at
    assert "pelo horário do arquivo no zip" in (tmp_path / "rel" / "mini" / "index.html").read_text(
        encoding="utf-8"
    )
    assert any("rascunho.pdf não é um notebook" in n for n in results["654321"].notes)
    with Gradebook(settings.db_url) as gb:
        student = gb.find_student("123456")
        assert (student.first_name, student.last_name) == ("Maria", "da Silva")
    rows = (tmp_path / "rel" / "mini" / "moodle.csv").read_text(encoding="utf-8")
    assert "123456" in rows and "654321" in rows


@pytest.mark.parametrize(
    "args, expected",
    [
        (["grade", "nenhuma", "--submissions", "."], "atividade desconhecida: 'nenhuma'"),
        (
            ["grade", "mini", "--submissions", "/nao/existe"],
            "submissões não encontradas: /nao/existe não existe",
        ),
        (["grade", "mini", "--submissions", "EMPTY_ZIP"], "está vazio"),
        (["grade", "mini", "--submissions", ".", "--device", "cuda"], "nenhuma GPU está visível"),
        (
            ["grade", "mini", "--submissions", ".", "--previous", "/nao/existe"],
            "--previous /nao/existe: não existe",
        ),
        (
            ["grade", "mini", "--submissions", ".", "--previous", ".", "--no-similarity"],
            "tire --no-similarity",
        ),
    ],
)
def test_instructor_errors_are_one_line(mini_course, tmp_path, args, expected):
    if "cuda" in args and workers.visible_gpus():
        pytest.skip("this machine has a GPU")
    empty = tmp_path / "vazio.zip"
    zipfile.ZipFile(empty, "w").close()
    args = [str(empty) if a == "EMPTY_ZIP" else a for a in args]
    done = run_cli(mini_course, *args, timeout=120)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], done.stderr


@pytest.mark.gpu
@pytest.mark.skipif(not workers.visible_gpus(), reason="no CUDA GPU on this machine")
def test_gpu_path(mini_course, tmp_path):
    """With --device cuda each kernel sees exactly one GPU, through torch.cuda.is_available()."""
    settings = mini_course
    source = nbformat.read(settings.source_dir / "mini" / "mini.ipynb", as_version=4)
    nb = solved_copy(source)
    cell_by_grade_id(nb, "resposta_dobro").source = (
        "import os, torch\nassert torch.cuda.is_available() and torch.cuda.device_count() == 1\n"
        "print('GPU', os.environ['CUDA_VISIBLE_DEVICES'], torch.cuda.get_device_name(0))\n"
        "def dobro(x):\n    return int((torch.tensor(x, device='cuda') * 2).item())"
    )
    write_notebook(tmp_path / "subs" / "gpu" / "mini" / "mini.ipynb", nb)
    run = pipeline.grade(
        settings,
        "mini",
        pipeline.GradeOptions(
            submissions=tmp_path / "subs", device="cuda", report_dir=tmp_path / "rel", progress=False
        ),
    )
    assert run.device == "cuda" and run.results[0].cell("mini", "dobro_valores").passed
    executed = nbformat.read(settings.autograded_dir / "gpu" / "mini" / "mini.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for o in cell_by_grade_id(executed, "resposta_dobro").outputs)
    print(printed)
    assert "GPU" in printed


def test_settings_load(mini_course):
    settings = load_settings(mini_course.course_dir)
    assert settings.assignments == ["mini", "outra"] and settings.db_url.startswith("sqlite:////")
