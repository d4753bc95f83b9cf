"""The instructor's round trip in a real browser (Playwright driving Debian's chromium, localhost only): a student
runs a wrong answer in JupyterLab and reads the Portuguese message; the class is graded; a written answer is
graded in the formgrader with a comment; `grader report` brings it to the feedback page, which is read at phone
width. Screenshots land in the test's temporary folder (printed)."""

from __future__ import annotations

import copy
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from grader.course.release import solved_copy
from tests.helpers import (
    PT_BR,
    REPO,
    build_mini_course,
    cell_by_grade_id,
    entry,
    make_zip,
    student_prefix,
    worksheet,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
TOKEN = "teste-navegador"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def lab(tmp_path, sandbox_available):
    """A course folder served by JupyterLab (with the formgrader and grader's extension) on 127.0.0.1."""
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium ausente: ./tasks test instala o pacote Debian chromium")
    pytest.importorskip("playwright")
    settings = build_mini_course(tmp_path, sandbox_available, probe=True)
    course = settings.course_dir
    shutil.copy(REPO / "nbgrader_config.py", course / "nbgrader_config.py")
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config"),
        "JUPYTER_CONFIG_PATH": str(REPO / "jupyter-config"),
    }  # grader/formgrader.py, as ./tasks enables it
    log = (tmp_path / "lab.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={port}",
            f"--IdentityProvider.token={TOKEN}",
            f"--ServerApp.root_dir={course}",
            "--ServerApp.open_browser=False",
            *(["--allow-root"] if os.geteuid() == 0 else []),
        ],
        cwd=course,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2)
                break
            except OSError:
                if server.poll() is not None:
                    break
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab não respondeu em 60 s")
        assert server.poll() is None, (tmp_path / "lab.log").read_text()
        yield settings, url
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def run_grader(settings, *args):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "grader.cli", "--course-dir", str(settings.course_dir), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=settings.course_dir,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout


def test_round_trip_in_the_browser(lab, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    settings, url = lab
    course = settings.course_dir
    source = nbformat.read(settings.source_dir / "mini" / "mini.ipynb", as_version=4)
    release = nbformat.read(settings.release_dir / "mini" / "mini.ipynb", as_version=4)
    (course / "aluno").mkdir()
    # as downloaded
    shutil.copy(settings.release_dir / "mini" / "mini.ipynb", course / "aluno" / "mini.ipynb")
    wrong = copy.deepcopy(release)  # what the student below writes in JupyterLab, for the class
    cell_by_grade_id(wrong, "resposta_dobro").source = "def dobro(x):\n    return x + 1"
    # The class, as Moodle sends it: a 4.1 zip and the assignment's worksheet (pt_br, with e-mails). Ana answers
    # right and writes an explanation, Bruno is wrong, Carla hooks IPython (her memory test, dobro_rapida, is
    # measured from outside her kernel, and her grade is her answers').
    right = solved_copy(source)
    cell_by_grade_id(right, "resposta_explicacao").source = "Porque dobrar é somar o número a ele mesmo."
    hooked = copy.deepcopy(right)
    cell_by_grade_id(
        hooked, "resposta_dobro"
    ).source += "\nget_ipython().events.register('post_run_cell', print)"
    people = [
        {"id": 1201, "name": "Ana Lima", "email": "ana@uni.br"},
        {"id": 1202, "name": "Bruno Reis", "email": "bruno@uni.br"},
        {"id": 1203, "name": "Carla Dias", "email": "carla@uni.br"},
    ]
    archive = make_zip(
        tmp_path / "envios.zip",
        {
            entry(student_prefix(p["name"], p["id"]), "mini.ipynb", "4.1"): nbformat.writes(nb).encode()
            for p, nb in zip(people, (right, wrong, hooked), strict=True)
        },
    )
    sheet = worksheet(tmp_path / "planilha.csv", PT_BR, people, 10.0, language="pt_br")
    shots = tmp_path / "telas"
    shots.mkdir()
    print(f"screenshots: {shots}")

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            # 1. The student runs the wrong answer in JupyterLab and reads the message in Portuguese.
            page.goto(f"{url}/lab/tree/aluno/mini.ipynb?token={TOKEN}")
            page.locator(".jp-Notebook").wait_for(timeout=90_000)
            page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=120_000)
            answer = page.locator(".jp-CodeCell", has_text="def dobro(x):").locator(".cm-content")
            answer.click()
            page.keyboard.press("Control+A")
            page.keyboard.type("def dobro(x):\n")
            page.keyboard.press("Shift+Tab")  # CodeMirror indented the new line: write the body from column 0
            page.keyboard.type("    return x + 1")
            page.keyboard.press("Escape")
            page.get_by_role("menuitem", name="Run").click()
            page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
            message = page.locator(".jp-OutputArea-output", has_text="dobro(2) deveria ser 4, mas é 3")
            try:
                expect(message.first).to_be_visible(timeout=120_000)
            finally:
                page.screenshot(path=shots / "jupyterlab.png")

            # 2. The class is graded.
            run_grader(
                settings,
                "grade",
                "mini",
                "--submissions",
                str(archive),
                "--worksheet",
                str(sheet),
                "--no-progress",
                "--workers",
                "1",
            )
            with Gradebook(settings.db_url) as gb:
                notebook_id = gb.find_submission_notebook("mini", "mini", "ana@uni.br").id

            # 3. The formgrader lists the class with names; its Autograde button regrades with `grader grade`.
            page.goto(f"{url}/formgrader/manage_submissions/mini")
            rows = page.locator("tbody#main-table tr")
            expect(rows.filter(has_text="Lima, Ana")).to_have_count(1, timeout=30_000)
            expect(rows).to_have_count(3)
            page.screenshot(path=shots / "formgrader_envios.png", full_page=True)
            graded = course / "autograded" / "bruno@uni.br" / "mini" / "mini.ipynb"
            before = graded.stat().st_mtime_ns
            rows.filter(has_text="Reis, Bruno").locator(".autograde a").click()
            expect(page.locator("#success-modal")).to_be_visible(timeout=180_000)
            # the submission did not change, but the button asked for a regrade: it ran again (`--force`)
            assert graded.stat().st_mtime_ns != before
            page.screenshot(path=shots / "formgrader_autograde.png", full_page=True)
            # The written answer is graded, with a comment.
            page.goto(f"{url}/formgrader/submissions/{notebook_id}/")
            score = page.locator("input.score#resposta_explicacao")
            score.wait_for(timeout=60_000)
            page.wait_for_load_state("networkidle")  # the formgrader fills the fields from its API first
            score.fill("0.5")
            score.press("Tab")
            comment = page.locator("textarea#resposta_explicacao-comment")
            comment.fill("Boa ideia, mas faltou mostrar um exemplo.")
            comment.press("Tab")
            page.wait_for_load_state("networkidle")  # the formgrader saves each field on change
            page.screenshot(path=shots / "formgrader.png", full_page=True)
            for _ in range(40):
                with Gradebook(settings.db_url) as gb:
                    saved = (
                        gb.find_grade("resposta_explicacao", "mini", "mini", "ana@uni.br").manual_score,
                        gb.find_comment("resposta_explicacao", "mini", "mini", "ana@uni.br").manual_comment,
                    )
                if saved == (0.5, "Boa ideia, mas faltou mostrar um exemplo."):
                    break
                time.sleep(0.25)
            assert saved == (0.5, "Boa ideia, mas faltou mostrar um exemplo.")

            # 4. `grader report`; the feedback page, at phone width, has the comment and the partial score.
            run_grader(settings, "report", "mini")
            filled = (course / "reports" / "mini" / "moodle.csv").read_text(encoding="utf-8")
            assert "Boa ideia, mas faltou mostrar um exemplo." in filled and "Participante1201" in filled
            phone = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
            phone.goto((course / "reports" / "mini" / "feedback" / "ana@uni.br.html").as_uri())
            expect(phone.locator("body")).to_contain_text("Boa ideia, mas faltou mostrar um exemplo.")
            expect(phone.locator("body")).to_contain_text("corrigida: nota parcial")
            expect(phone.locator("body")).to_contain_text("0,5 / 1")
            expect(phone.locator("body")).to_contain_text("Ana Lima")
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"a devolutiva é mais larga que o telefone: {width}px"
            phone.screenshot(path=shots / "devolutiva_390px.png", full_page=True)
            index = browser.new_page(viewport={"width": 1024, "height": 800})
            index.goto((course / "reports" / "mini" / "index.html").as_uri())
            assert index.evaluate("document.documentElement.scrollWidth") <= 1024
            index.screenshot(path=shots / "index.png", full_page=True)
        finally:
            browser.close()


def test_what_the_class_got_wrong_opens_from_the_chart(tmp_path):
    """index.html's section of what the class got wrong: collapsed, opened by a bar of the pass-rate chart and by
    its summary, readable at phone width; the feedback pages at phone width have nothing of it."""
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium ausente: ./tasks test instala o pacote Debian chromium")
    pytest.importorskip("playwright")
    from playwright.sync_api import expect, sync_playwright

    from grader.model import CellResult, StudentResult
    from grader.report import write_reports
    from grader.report.cells import GradeCellInfo
    from grader.report.insights import Answer

    cells = [
        GradeCellInfo("dobro_valores", "mini", 1.0, False, "Dobro: valores", "Exercício 1", titled=True),
        GradeCellInfo(
            "quadrado_valores", "mini", 2.0, False, "Quadrado: valores", "Exercício 2", titled=True
        ),
    ]
    wrong = (
        "dobro(2) deveria ser 4, mas é {}, e uma linha longa que precisa quebrar na tela estreita do telefone"
    )

    def student(sid, got):
        failed = CellResult(
            "dobro_valores",
            "mini",
            0.0,
            1.0,
            False,
            message=f"AssertionError: {wrong.format(got)}",
            cause=wrong.format("…"),
        )
        right = CellResult("quadrado_valores", "mini", 2.0, 2.0, True)
        return StudentResult(sid, "mini", cells={failed.key: failed, right.key: right})

    students = [student("ana", 3), student("bruno", 5), student("carla", 2)]
    answer = "def dobro(x):\n    return x + 1  # uma resposta errada com um comentário comprido, para quebrar"
    paths = write_reports(
        tmp_path, "mini", cells, students, answer_of=lambda sid, nb, gid: Answer(answer, blank=False)
    )
    shots = tmp_path / "telas"
    shots.mkdir()
    print(f"screenshots: {shots}")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1024, "height": 800})
            page.goto(paths.index_html.as_uri())
            section = page.locator("details#causas-mini--dobro_valores")
            expect(section).not_to_have_attribute("open", "")
            expect(section.locator("pre.msg")).to_be_hidden()
            # the question's label on the chart (its bar, at 0%, has no width)
            page.locator(
                'svg.chart a[*|href="#causas-mini--dobro_valores"]', has_text="Dobro: valores"
            ).click()
            expect(section).to_have_attribute("open", "")
            expect(section.locator("pre.msg")).to_contain_text("dobro(2) deveria ser 4, mas é 3")
            expect(section.locator(".cause-count")).to_have_text("3 alunos · 100% da turma")
            section.locator("details.answer > summary").click()
            expect(section.locator("pre.code")).to_contain_text("return x + 1")
            page.screenshot(path=shots / "causas.png", full_page=True)
            other = page.locator("details#causas-mini--quadrado_valores")
            other.locator("summary").click()
            expect(other).to_contain_text("todos passaram")

            phone = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
            phone.goto(paths.index_html.as_uri() + "#causas-mini--dobro_valores")
            expect(phone.locator("details#causas-mini--dobro_valores")).to_have_attribute("open", "")
            expect(phone.locator("details#causas-mini--dobro_valores pre.msg")).to_be_visible()
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"a visão geral com a seção aberta é mais larga que o telefone: {width}px"
            phone.screenshot(path=shots / "causas_390px.png", full_page=True)
            for feedback in paths.feedback.values():
                phone.goto(feedback.as_uri())
                expect(phone.locator("body")).not_to_contain_text("O que a turma errou")
                expect(phone.locator("body")).not_to_contain_text("return x + 1")
                assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        finally:
            browser.close()
