"""One hostile file cannot take the class down (issue 25): intake reads no notebook past MAX_NOTEBOOK_MB (a zip's
declared sizes, the bytes inflated, the size on disk), refuses entries it must not read (unsafe paths, links,
encrypted, archives, names not in UTF-8, duplicates) and names each with its student; and `grader grade` on a zip
with 3 GB bombs beside honest students grades the honest ones, fails the bombs' owners with the limit, names the
refused entries in the terminal and index.html, and stays far from the memory the bombs would take.

Zips are written byte by byte (tests/helpers.raw_zip) so that they can hold what zipfile would not write; bombs are
deflated beforehand (tests/helpers.bomb), so that building one costs a CRC, not gigabytes."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from grader.course.release import solved_copy
from grader.intake.entries import Unreadable, read_capped
from grader.intake.ingest import Refused, find_submissions
from grader.intake.normalize import parse_submitted
from tests.helpers import RawEntry, bomb, build_mini_course, notebook_bytes, raw_zip, run_measuring_memory

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
]
MB = 1 << 20
GB = 1 << 30
HONEST = notebook_bytes()  # one notebook's bytes (nbformat gives each cell a new id)
ANA = "Ana Lima_5_assignsubmission_file"
BRUNO = "Bruno Reis_6_assignsubmission_file"


def find(path: Path, notebooks=("mini",), **limits):
    students, _, refused = find_submissions(path, "mini", list(notebooks), {}, set(), **limits)
    return {s.student_id: s for s in students}, refused


def reasons(refused: list[Refused]) -> dict[str, tuple[str, str, str]]:
    """path -> (student id, student name, reason)"""
    return {r.path: (r.student_id, r.student_name, r.reason) for r in refused}


def peak_while(read) -> int:
    """The peak of the memory Python allocated while `read()` ran (tracemalloc), in bytes."""
    tracemalloc.start()
    try:
        read()
    except Unreadable:
        pass
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


# -- sizes ---------------------------------------------------------------------------------------------------


def test_a_bomb_with_an_honest_header_is_refused_by_its_size_unread(tmp_path):
    path = raw_zip(
        tmp_path / "moodle.zip",
        [RawEntry.of(f"{ANA}/mini.ipynb", HONEST), bomb(f"{BRUNO}/mini.ipynb", 256 * MB)],
    )
    students, refused = find(path, max_notebook_mb=1)
    assert refused == []
    ana, bruno = students["5"].notebooks["mini"], students["6"].notebooks["mini"]
    assert ana.problem == "" and ana.data == HONEST
    assert bruno.problem == (
        "o arquivo tem 256 MB, acima do limite de 1 MB por notebook: limpe as saídas das células "
        "(Editar → Limpar todas as saídas) e envie de novo"
    )
    assert peak_while(bruno.read) < MB  # not a byte inflated
    with pytest.raises(Unreadable, match="256 MB, acima do limite de 1 MB"):
        bruno.read()


def test_a_bomb_whose_header_lies_is_never_inflated_past_the_declared_size(tmp_path):
    """The header says 512 KB (under the limit); the data inflates to 256 MB. zipfile stops at the declared size
    and the CRC fails: a damaged file, that student's error, read no further."""
    path = raw_zip(tmp_path / "moodle.zip", [bomb(f"{BRUNO}/mini.ipynb", 256 * MB, declared=512 * 1024)])
    students, _ = find(path, max_notebook_mb=1)
    file = students["6"].notebooks["mini"]
    assert file.problem == ""  # nothing to see before reading
    assert peak_while(file.read) < 16 * MB  # a MiB of deflated data at a time, never 256 MB inflated
    assert file.problem.startswith("o arquivo não pôde ser lido, está danificado (BadZipFile: Bad CRC-32")


def test_reading_stops_at_the_limit_whatever_the_stream_says():
    class Endless(io.RawIOBase):
        given = 0

        def read(self, size=-1):
            self.given += size
            return b" " * size

    stream = Endless()
    with pytest.raises(Unreadable, match="passa do limite de 1 MB por notebook ao ser lido"):
        read_capped(stream, MB, declared=1024)
    assert stream.given == MB + 1


def test_a_submission_whose_notebooks_together_pass_the_limit(tmp_path):
    big = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5, "x": "' + b" " * 700_000 + b'"}'
    path = raw_zip(
        tmp_path / "moodle.zip",
        [RawEntry.of(f"{ANA}/parte1.ipynb", big), RawEntry.of(f"{ANA}/parte2.ipynb", big)],
    )
    students, _ = find(path, ("parte1", "parte2"), max_notebook_mb=1, max_submission_mb=1)
    files = students["5"].notebooks.values()
    assert {f.problem for f in files} == {
        "os notebooks da submissão somam 1,3 MB, acima do limite de 1 MB por submissão: limpe as saídas das "
        "células e envie de novo"
    }
    students, _ = find(path, ("parte1", "parte2"), max_notebook_mb=1, max_submission_mb=2)
    assert all(f.problem == "" for f in students["5"].notebooks.values())


def test_a_huge_timestamp_is_not_read(tmp_path):
    path = raw_zip(
        tmp_path / "moodle.zip",
        [RawEntry.of(f"{ANA}/mini.ipynb", HONEST), bomb(f"{ANA}/timestamp.txt", 64 * MB)],
    )
    students, _ = find(path)
    assert students["5"].submitted_at is None
    assert students["5"].notes == [
        f"{ANA}/timestamp.txt ilegível (tem 64 MB, e ele é uma linha): vale o horário do notebook"
    ]


def test_outputs_a_notebook_carries_are_dropped_before_it_runs():
    image = "A" * (4 * MB)
    nb = new_notebook(
        cells=[
            new_code_cell(
                "x = 1",
                outputs=[
                    new_output("display_data", data={"image/png": image}),
                    new_output("stream", text="linha\n" * 100_000),
                ],
            )
        ]
    )
    parsed = parse_submitted(nbformat.writes(nb).encode())
    assert parsed.cells[0].source == "x = 1" and parsed.cells[0].outputs == []


# -- refused entries of a zip ----------------------------------------------------------------------------------


def test_every_refused_zip_entry_is_named_with_its_student(tmp_path):
    honest = HONEST
    path = raw_zip(
        tmp_path / "moodle.zip",
        [
            RawEntry.of(f"{ANA}/mini.ipynb", honest),
            RawEntry.of("../fora/mini.ipynb", honest),
            RawEntry.of("/etc/mini.ipynb", honest),
            RawEntry.of(f"{BRUNO}/../../fora.ipynb", honest),
            RawEntry.of("C:\\Users\\x\\mini.ipynb", honest),
            RawEntry.of(f"{BRUNO}/mini.ipynb", b"/etc/passwd", mode=0o120777),  # a link
            RawEntry.of(f"{BRUNO}/fila", b"", mode=0o010644),  # a fifo
            RawEntry.of("Carla Dias_7_assignsubmission_file/mini.ipynb", honest, flags=0x1),  # encrypted
            RawEntry.of("Davi Melo_8_assignsubmission_file/mini.zip", b"PK\x05\x06" + bytes(18)),
            RawEntry.of(
                b"Jo\xe3o Souza_9_assignsubmission_file/mini.ipynb", honest
            ),  # Latin-1, no UTF-8 flag
            RawEntry.of(
                "Jos\u00e9 Lima_10_assignsubmission_file/mini.ipynb".encode(), honest
            ),  # UTF-8, no flag
            RawEntry.of("Eva Luz_11_assignsubmission_file/mini.ipynb", honest),
            RawEntry.of("Eva Luz_11_assignsubmission_file/mini.ipynb", notebook_bytes(2)),
            RawEntry.of(f"{ANA}/sai\x1b[2Jda.txt", b""),  # a control character in a name, kept off the screen
        ],
    )
    students, refused = find(path)
    assert reasons(refused) == {
        "../fora/mini.ipynb": ("", "", "o caminho sobe para fora da pasta das submissões (..)"),
        "/etc/mini.ipynb": ("", "", "caminho absoluto: aponta para fora da pasta das submissões"),
        f"{BRUNO}/../../fora.ipynb": (
            "6",
            "Bruno Reis",
            "o caminho sobe para fora da pasta das submissões (..)",
        ),
        "C:\\Users\\x\\mini.ipynb": ("", "", "caminho absoluto: aponta para fora da pasta das submissões"),
        "Jo\\xe3o Souza_9_assignsubmission_file/mini.ipynb": (
            "9",
            "Jo\\xe3o Souza",
            "o nome não está em UTF-8 (zip recompactado num sistema antigo?): use o zip como o Moodle o gera, "
            "sem recompactar",
        ),
        f"{BRUNO}/mini.ipynb": ("6", "Bruno Reis", "é um link simbólico: links não são seguidos"),
        f"{BRUNO}/fila": ("6", "Bruno Reis", "não é um arquivo comum (dispositivo, fifo ou socket)"),
        "Carla Dias_7_assignsubmission_file/mini.ipynb": (
            "7",
            "Carla Dias",
            "está protegido por senha: peça ao aluno o arquivo sem senha",
        ),
        "Davi Melo_8_assignsubmission_file/mini.zip": (
            "8",
            "Davi Melo",
            "é um arquivo compactado (.zip): o corretor não abre arquivos compactados dentro da submissão; peça "
            "ao aluno o .ipynb",
        ),
        "Eva Luz_11_assignsubmission_file/mini.ipynb": (
            "11",
            "Eva Luz",
            "o zip tem 2 entradas com este caminho: nenhuma foi lida (não dá para saber qual vale); baixe o zip "
            "de novo do Moodle",
        ),
    }
    # only Ana and José have a notebook; the students whose every file was refused are there, without one
    assert students["5"].notebooks["mini"].data == honest
    assert students["10"].first_name == "José" and students["10"].notebooks["mini"].data == honest
    assert all(students[i].missing for i in ("6", "7", "8", "11"))
    assert students["7"].notes == [
        "recusado sem ser lido: Carla Dias_7_assignsubmission_file/mini.ipynb (veja os arquivos recusados)"
    ]
    assert "9" not in students  # a name not in UTF-8 makes no student of its garbled name
    assert students["5"].notes == [f"ignorado: {ANA}/sai\\x1b[2Jda.txt não é um notebook (.ipynb)"]
    assert refused[2].line() == (
        f"{BRUNO}/../../fora.ipynb (Bruno Reis (6)): o caminho sobe para fora da pasta das submissões (..)"
    )
    assert refused[0].line().startswith("../fora/mini.ipynb (aluno não identificado): ")


# -- folders ---------------------------------------------------------------------------------------------------


def test_a_folder_with_a_huge_file_a_link_out_and_a_fifo(tmp_path):
    turma, fora = tmp_path / "turma", tmp_path / "fora"
    for folder in ("ana/mini", "bruno/mini", "carla", "davi/mini"):
        (turma / folder).mkdir(parents=True)
    fora.mkdir()
    (fora / "mini.ipynb").write_bytes(HONEST)  # the instructor's solution, say
    (turma / "ana/mini/mini.ipynb").write_bytes(HONEST)
    with open(turma / "bruno/mini/mini.ipynb", "wb") as huge:  # sparse: 3 GB on paper, nothing on disk
        huge.truncate(3 * GB)
    (turma / "carla/mini.ipynb").symlink_to(fora / "mini.ipynb")
    (turma / "davi/mini/mini.ipynb").symlink_to("../../ana/mini/mini.ipynb")  # inside, still a link
    (turma / "elisa").symlink_to(fora)  # a whole folder elsewhere
    os.mkfifo(turma / "davi/mini/fila.ipynb")
    (turma / os.fsdecode(b"f\xe1bio")).mkdir()  # a name in Latin-1
    students, refused = find(turma)
    assert reasons(refused) == {
        "carla/mini.ipynb": (
            "carla",
            "",
            f"é um link simbólico para fora da pasta das submissões ({fora / 'mini.ipynb'}): não é seguido",
        ),
        "davi/mini/mini.ipynb": ("davi", "", "é um link simbólico: links não são seguidos"),
        "davi/mini/fila.ipynb": ("davi", "", "não é um arquivo comum (dispositivo, fifo ou socket)"),
        "elisa": ("", "", f"é um link simbólico para fora da pasta das submissões ({fora}): não é seguido"),
        "f\\xe1bio": ("", "", "o nome não está em UTF-8: renomeie o arquivo ou a pasta"),
    }
    assert sorted(students) == ["ana", "bruno", "carla", "davi"]
    assert students["ana"].notebooks["mini"].data == HONEST
    bruno = students["bruno"].notebooks["mini"]
    assert bruno.problem.startswith("o arquivo tem 3 GB, acima do limite de 50 MB por notebook")
    assert peak_while(bruno.read) < MB
    assert students["carla"].missing and students["davi"].missing


# -- a class graded with bombs in its zip ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def bombed_class(tmp_path_factory, sandbox_available):
    """The mini course graded through `grader grade` from a Moodle zip: Ana (right) and Bruno (blank) honest,
    two 3 GB bombs with honest headers, one that lies (1 KB declared, 3 GB inflated), and refused entries; the
    command's result, the peak memory of the grader's processes (tests/helpers.run_measuring_memory: /proc
    sampled every 20 ms, kernels excluded, and the main process's VmHWM) and the report folder."""
    tmp_path = tmp_path_factory.mktemp("bombas")
    settings = build_mini_course(tmp_path, sandbox_available)
    source = nbformat.read(settings.source_dir / "mini" / "mini.ipynb", as_version=4)
    release = nbformat.read(settings.release_dir / "mini" / "mini.ipynb", as_version=4)
    archive = raw_zip(
        tmp_path / "moodle.zip",
        [
            RawEntry.of(f"{ANA}/mini.ipynb", nbformat.writes(solved_copy(source)).encode()),
            RawEntry.of(f"{BRUNO}/mini.ipynb", nbformat.writes(release).encode()),
            bomb("Bia Bomba_21_assignsubmission_file/mini.ipynb", 3 * GB),
            bomb("Beto Bomba_22_assignsubmission_file/mini.ipynb", 3 * GB),
            bomb("Lia Mentira_23_assignsubmission_file/mini.ipynb", 3 * GB, declared=1024),
            RawEntry.of("../fora/mini.ipynb", b"{}"),
            RawEntry.of(f"{BRUNO}/atalho.ipynb", b"/etc/passwd", mode=0o120777),
        ],
    )
    assert archive.stat().st_size < 10 * MB
    report = tmp_path / "rel"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    command = [sys.executable, "-m", "grader.cli", "--course-dir", str(settings.course_dir), "grade", "mini"]
    command += ["--submissions", str(archive), "--report-dir", str(report), "--workers", "2", "--no-progress"]
    done, peak = run_measuring_memory(command, env=env, cwd=settings.course_dir)
    assert done.returncode == 0, done.stderr[-3000:]
    print(f"peak memory of the grader's processes: {peak / GB:.3f} GiB")
    return done, peak, report / "mini", (command[:5], env, settings.course_dir)


@pytest.mark.slow
def test_bombs_fail_their_owners_only_and_memory_stays_bounded(bombed_class):
    done, peak, folder, _ = bombed_class
    assert peak < 2 * GB, f"{peak / GB:.2f} GiB"
    scores = {s["student_id"]: s for s in json.loads((folder / "scores.json").read_text())["students"]}
    assert (
        scores["5"]["status"] == "graded" and scores["5"]["score"] == 3.0
    )  # the written answer awaits a person
    assert scores["6"]["status"] == "graded" and scores["6"]["score"] == 0.0
    assert {scores[i]["status"] for i in ("21", "22", "23")} == {"error"}
    for student, name in (("21", "Bia Bomba"), ("22", "Beto Bomba")):
        assert (
            f"• {student}: {name}_{student}_assignsubmission_file/mini.ipynb: o arquivo tem 3 GB, acima do limite "
            "de 50 MB por notebook: limpe as saídas das células (Editar → Limpar todas as saídas) e envie de novo"
        ) in done.stdout.splitlines()
    assert (
        "• 23: Lia Mentira_23_assignsubmission_file/mini.ipynb: o arquivo não pôde ser lido, está danificado"
        in (done.stdout)
    )
    feedback = (folder / "feedback" / "21.html").read_text(encoding="utf-8")
    assert "O arquivo tem 3 GB, acima do limite de 50 MB por notebook" in feedback


@pytest.mark.slow
def test_refused_entries_in_the_terminal_and_the_overview(bombed_class):
    done, _, folder, (grader, env, course) = bombed_class
    expected = [
        "2 arquivo(s) das submissões recusado(s), sem ler nada deles:",
        "  ✗ ../fora/mini.ipynb (aluno não identificado): o caminho sobe para fora da pasta das submissões (..)",
        f"  ✗ {BRUNO}/atalho.ipynb (Bruno Reis (6)): é um link simbólico: links não são seguidos",
    ]
    lines = done.stdout.splitlines()
    assert lines[lines.index(expected[0]) :][:3] == expected
    # `grader report` rebuilds the reports later (after manual grading): the refused files are named again
    again = subprocess.run(
        [*grader, "report", "mini", "--report-dir", str(folder.parent)],
        capture_output=True,
        text=True,
        env=env,
        cwd=course,
        timeout=300,
    )
    assert again.returncode == 0, again.stderr[-2000:]
    lines = again.stdout.splitlines()
    assert lines[lines.index(expected[0]) :][:3] == expected
    page = " ".join((folder / "index.html").read_text(encoding="utf-8").split())
    assert "2 arquivo(s) das submissões recusado(s)</strong>: o corretor não leu nada deles" in page
    assert (
        f"<tr><td>{BRUNO}/atalho.ipynb</td><td>Bruno Reis (6)</td><td>é um link simbólico: links não são "
        "seguidos</td></tr>"
    ) in page
    kept = json.loads((folder / "recusados.json").read_text(encoding="utf-8"))
    assert [r["path"] for r in kept] == ["../fora/mini.ipynb", f"{BRUNO}/atalho.ipynb"]


@pytest.mark.slow
@pytest.mark.browser
def test_refused_entries_are_seen_in_the_browser(bombed_class):
    """The overview's table of refused files, as Debian's chromium shows it."""
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium ausente: ./tasks test instala o pacote Debian chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    folder = bombed_class[2]
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto((folder / "index.html").as_uri())
            box = page.locator("#recusados")
            sync_api.expect(box).to_be_visible()
            rows = box.locator("tbody tr")
            sync_api.expect(rows).to_have_count(2)
            assert rows.nth(1).locator("td").all_inner_texts() == [
                f"{BRUNO}/atalho.ipynb",
                "Bruno Reis (6)",
                "é um link simbólico: links não são seguidos",
            ]
            box.screenshot(path=folder.parent / "recusados.png")
        finally:
            browser.close()
