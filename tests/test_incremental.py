"""Incremental grading (grader/grading/reuse.py): grading a class again regrades only the submissions whose grade
could have changed, on the tiny `mini` course, in real kernels, through the pipeline and the command line. Each
test checks which students' notebooks ran (none: no worker started) and that a written answer graded by hand
keeps its grade and comment."""

from __future__ import annotations

import copy
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from grader.config import load_settings
from grader.course.release import solved_copy
from grader.grading import pipeline, reuse
from grader.model import RESULT_FILE
from tests.helpers import (
    EN,
    REPO,
    cell_by_grade_id,
    entry,
    set_config,
    team_prefix,
    worksheet,
    write_notebook,
)

pytestmark = pytest.mark.slow  # real kernels, or the command line on a released course

STUDENTS = ["branco", "certo", "errado", "segundo"]  # in the order the pipeline lists them
COMMENT = "Faltou um exemplo."


def write_class(settings, folder: Path) -> None:
    """Right (a written answer graded by hand later), wrong (quadrado), blank, and a second right answer."""
    source = nbformat.read(settings.source_dir / "mini" / "mini.ipynb", as_version=4)
    right = solved_copy(source)
    cell_by_grade_id(right, "resposta_explicacao").source = "Dobrar é somar o número a ele mesmo."
    wrong = copy.deepcopy(right)
    cell_by_grade_id(wrong, "resposta_quadrado").source = "def quadrado(x):\n    return x * 2"
    second = copy.deepcopy(right)
    cell_by_grade_id(second, "resposta_explicacao").source = "Porque 2x = x + x."
    write_notebook(folder / "certo" / "mini" / "mini.ipynb", right)
    write_notebook(folder / "errado" / "mini" / "mini.ipynb", wrong)
    write_notebook(
        folder / "branco" / "mini" / "mini.ipynb",
        nbformat.read(settings.release_dir / "mini" / "mini.ipynb", as_version=4),
    )
    write_notebook(folder / "segundo" / "mini" / "mini.ipynb", second)


class Grader:
    """`pipeline.grade` in this process, recording whether the local workers started and whose notebooks ran."""

    def __init__(self, monkeypatch, settings, submissions: Path, report_dir: Path):
        self.settings, self.submissions, self.report_dir = settings, submissions, report_dir
        self.ran: list[str] = []
        self.workers_started = 0
        real_execute_all, real_slots = pipeline.execute_all, pipeline.WorkerSlots

        async def execute_all(jobs, *args, **kwargs):
            self.ran += [job.student.student_id for job in jobs]
            return await real_execute_all(jobs, *args, **kwargs)

        def worker_slots(*args, **kwargs):
            self.workers_started += 1
            return real_slots(*args, **kwargs)

        monkeypatch.setattr(pipeline, "execute_all", execute_all)
        monkeypatch.setattr(pipeline, "WorkerSlots", worker_slots)

    def grade(self, **options):
        self.ran, self.workers_started = [], 0
        options = {"workers": 2, "progress": False, **options}
        return pipeline.grade(
            self.settings,
            "mini",
            pipeline.GradeOptions(submissions=self.submissions, report_dir=self.report_dir, **options),
        )

    def scores(self) -> dict[str, dict]:
        data = json.loads((self.report_dir / "mini" / "scores.json").read_text(encoding="utf-8"))
        return {s["student_id"]: s for s in data["students"]}


def grade_by_hand(settings, student: str, score: float) -> None:
    """A written answer graded in the formgrader: a manual score and a comment."""
    with Gradebook(settings.db_url) as gb:
        grade = gb.find_grade("resposta_explicacao", "mini", "mini", student)
        grade.manual_score, grade.needs_manual_grade = score, False
        gb.find_comment("resposta_explicacao", "mini", "mini", student).manual_comment = COMMENT
        gb.db.commit()


def by_hand(settings, student: str) -> tuple:
    with Gradebook(settings.db_url) as gb:
        grade = gb.find_grade("resposta_explicacao", "mini", "mini", student)
        comment = gb.find_comment("resposta_explicacao", "mini", "mini", student).manual_comment
        return grade.manual_score, grade.needs_manual_grade, comment


def executed(settings, student: str) -> Path:
    return settings.autograded_dir / student / "mini" / "mini.ipynb"


def written_at(path: Path) -> tuple[int, int]:
    """Inode and modification time: the same pair, a file not written again."""
    stat = path.stat()
    return stat.st_ino, stat.st_mtime_ns


@pytest.fixture
def graded(mini_course, tmp_path, monkeypatch):
    """The class graded once, and certo's written answer graded by hand (0.5 of 1, with a comment)."""
    settings = mini_course
    write_class(settings, tmp_path / "entregas")
    grader = Grader(monkeypatch, settings, tmp_path / "entregas", tmp_path / "relatorios")
    run = grader.grade()
    assert sorted(grader.ran) == STUDENTS and grader.workers_started == 1
    assert run.reuse == "reaproveitadas 0 de 4 correções; corrigidas 4: 4 sem correção anterior"
    grade_by_hand(settings, "certo", 0.5)
    return grader


def test_an_unchanged_class_is_reused_whole(graded):
    settings = graded.settings
    before = {student: written_at(executed(settings, student)) for student in STUDENTS}
    first = {s: (v["score"], v["cells"]) for s, v in graded.scores().items() if s != "certo"}
    # the instructor opened source/ in Jupyter: its checkpoint is not part of the assignment (nbgrader ignores it)
    checkpoints = settings.source_dir / "mini" / ".ipynb_checkpoints"
    checkpoints.mkdir()
    (checkpoints / "mini-checkpoint.ipynb").write_text("{}")
    run = graded.grade()
    assert graded.ran == [] and graded.workers_started == 0  # no worker, no kernel
    assert run.reuse == "reaproveitadas 4 de 4 correções (nada mudou; --force corrige tudo de novo)"
    assert sorted(run.reused) == STUDENTS and run.regraded == {}
    assert {student: written_at(executed(settings, student)) for student in STUDENTS} == before
    # the reports are rebuilt over the whole class, with the grade given by hand
    scores = graded.scores()
    assert {s: (v["score"], v["cells"]) for s, v in scores.items() if s != "certo"} == first
    assert scores["certo"]["score"] == 3.5 and scores["errado"]["score"] == 1.0
    assert by_hand(settings, "certo") == (0.5, False, COMMENT)
    page = (graded.report_dir / "mini" / "feedback" / "certo.html").read_text(encoding="utf-8")
    assert COMMENT in page
    assert (graded.report_dir / "mini" / "similaridade.json").is_file()
    # a student missing from this batch keeps the grade saved before, and stays in the reports (as before)
    shutil.move(graded.submissions / "branco", graded.submissions.parent / "branco")
    run = graded.grade()
    assert graded.ran == [] and [r.student_id for r in run.results] == ["certo", "errado", "segundo"]
    assert set(graded.scores()) == set(STUDENTS)


def test_one_changed_submission_regrades_only_it(graded):
    settings = graded.settings
    path = graded.submissions / "errado" / "mini" / "mini.ipynb"
    nb = nbformat.read(path, as_version=4)
    cell_by_grade_id(nb, "resposta_quadrado").source = "def quadrado(x):\n    return x * x"
    nbformat.write(nb, path)
    run = graded.grade()
    assert graded.ran == ["errado"]
    assert run.reuse == "reaproveitadas 3 de 4 correções; corrigidas 1: 1 envio mudou"
    assert run.regraded == {"errado": "submission"}
    assert graded.scores()["errado"]["score"] == 3.0
    assert by_hand(settings, "certo") == (0.5, False, COMMENT)


def test_what_decides_every_grade_regrades_everyone(graded, monkeypatch, tmp_path):
    def everyone_for(reason: str, line: str) -> None:
        run = graded.grade()
        assert sorted(graded.ran) == STUDENTS, reason
        assert set(run.regraded.values()) == {reason}
        assert run.reuse == f"reaproveitadas 0 de 4 correções; corrigidas 4: 4 {line}"
        assert by_hand(graded.settings, "certo") == (0.5, False, COMMENT), reason  # same answer: kept
        assert graded.scores()["certo"]["score"] == 3.5

    # a hidden test changes in source/ (the release stays the same)
    source = graded.settings.source_dir / "mini" / "mini.ipynb"
    nb = nbformat.read(source, as_version=4)
    test = cell_by_grade_id(nb, "dobro_valores")
    test.source = test.source.replace(
        "### END HIDDEN TESTS", 'assert dobro(0) == 0, "dobro(0) deveria ser 0"\n### END HIDDEN TESTS'
    )
    nbformat.write(nb, source)
    everyone_for("assignment", "pela atividade alterada")
    # a data file of the assignment
    (graded.settings.source_dir / "mini" / "dados.csv").write_text("x\n1\n", encoding="utf-8")
    everyone_for("assignment", "pela atividade alterada")
    # a grading setting
    set_config(graded.settings.course_dir, CELL_TIMEOUT_S=29)
    graded.settings = load_settings(graded.settings.course_dir)
    everyone_for("settings", "pelas configurações alteradas")
    # the grader's own code: a copy of the package, the same bytes elsewhere, then one file changed
    same = tmp_path / "mesmo" / "grader"
    shutil.copytree(reuse.PACKAGE_DIR, same, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(reuse, "PACKAGE_DIR", same)
    graded.grade()
    assert graded.ran == []
    changed = tmp_path / "outro" / "grader"
    shutil.copytree(same, changed)
    with (changed / "grading" / "score.py").open("a", encoding="utf-8") as file:
        file.write("\n# a new version of the grader\n")
    monkeypatch.setattr(reuse, "PACKAGE_DIR", changed)
    everyone_for("grader", "pelo corretor alterado")
    # and then nothing changed
    graded.grade()
    assert graded.ran == [] and graded.workers_started == 0


def test_a_damaged_stored_result_is_regraded(graded):
    settings = graded.settings
    grade_by_hand(settings, "errado", 0.25)
    (settings.autograded_dir / "certo" / "mini" / RESULT_FILE).write_text(
        '{"student_id": "certo", ', encoding="utf-8"
    )
    executed(settings, "errado").unlink()
    with Gradebook(settings.db_url) as gb:  # the gradebook no longer holds what the stored result says
        gb.find_grade("quadrado_valores", "mini", "mini", "branco").auto_score = 2.0
        gb.db.commit()
    untouched = written_at(executed(settings, "segundo"))
    run = graded.grade()
    assert sorted(graded.ran) == ["branco", "certo", "errado"]
    assert run.regraded == {"certo": "damaged", "errado": "damaged", "branco": "gradebook"}
    assert run.reuse == (
        "reaproveitadas 1 de 4 correções; corrigidas 3: 2 correções anteriores ilegíveis ou incompletas, "
        "1 diferente do gradebook"
    )
    assert written_at(executed(settings, "segundo")) == untouched
    scores = graded.scores()
    assert (
        scores["branco"]["score"] == 0.0
        and scores["certo"]["score"] == 3.5
        and scores["errado"]["score"] == 1.25
    )
    assert by_hand(settings, "certo") == (0.5, False, COMMENT)
    assert by_hand(settings, "errado") == (0.25, False, COMMENT)  # its executed notebook was gone: submitted/
    # the whole stored result gone: graded as new, and the grade given by hand still holds (submitted/ says the
    # answers are the ones graded)
    shutil.rmtree(settings.autograded_dir / "certo")
    run = graded.grade()
    assert graded.ran == ["certo"] and run.regraded == {"certo": "new"}
    assert by_hand(settings, "certo") == (0.5, False, COMMENT)
    # a new written answer is graded by a person again, as before
    path = graded.submissions / "certo" / "mini" / "mini.ipynb"
    nb = nbformat.read(path, as_version=4)
    cell_by_grade_id(nb, "resposta_explicacao").source = "Outra explicação."
    nbformat.write(nb, path)
    graded.grade()
    assert graded.ran == ["certo"]
    assert by_hand(settings, "certo")[:2] == (None, True)


def test_a_new_due_date_or_submission_time_reuses_the_grade(graded):
    settings = graded.settings
    set_config(settings.course_dir, DUE_DATES={"mini": "2025-05-10 23:59 -0300"})
    graded.settings = load_settings(settings.course_dir)
    (graded.submissions / "certo" / "mini" / "timestamp.txt").write_text("2025-05-10 22:00:00 -0300\n")
    graded.grade()
    assert graded.ran == []
    assert not graded.scores()["certo"]["late"]
    (graded.submissions / "certo" / "mini" / "timestamp.txt").write_text("2025-05-11 09:30:00 -0300\n")
    run = graded.grade()
    assert graded.ran == [] and run.regraded == {}
    certo = graded.scores()["certo"]
    assert certo["late"] and certo["seconds_late"] == 9 * 3600 + 31 * 60 and certo["score"] == 3.5
    assert certo["submitted_at"] == "2025-05-11T09:30:00-03:00"
    with Gradebook(graded.settings.db_url) as gb:  # the formgrader shows the new time, and how late
        submission = gb.find_submission("mini", "certo")
        assert submission.timestamp == datetime(2025, 5, 11, 12, 30) and submission.total_seconds_late > 0
    kept = (
        settings.course_dir / "submitted" / "certo" / "mini" / "timestamp.txt"
    )  # the Autograde button's copy
    assert kept.read_text() == "2025-05-11 12:30:00.000000 UTC\n"


def test_a_new_worksheet_changes_names_not_grades(mini_course, tmp_path, monkeypatch):
    """A team zip graded with Moodle's worksheet; a second worksheet renames a member and the zip is downloaded
    again (other times): the grade is reused, the names are the new ones everywhere."""
    settings = mini_course
    source = nbformat.read(settings.source_dir / "mini" / "mini.ipynb", as_version=4)
    data = nbformat.writes(solved_copy(source)).encode()

    def download(name: str, when: datetime) -> Path:
        info = zipfile.ZipInfo(entry(team_prefix("Grupo A", 45), "mini.ipynb", "4.1"), (2025, 5, 1, 0, 0, 0))
        info.extra = struct.pack("<HHBi", 0x5455, 5, 1, int(when.timestamp()))  # the time in UTC
        with zipfile.ZipFile(tmp_path / name, "w") as archive:
            archive.writestr(info, data)
        return tmp_path / name

    def sheet(name: str, bruno: str) -> Path:
        people = [
            {"id": 31, "name": "Ana Lima", "email": "ana@uni.br", "group": "Grupo A"},
            {"id": 32, "name": bruno, "email": "bruno@uni.br", "group": "Grupo A"},
        ]
        return worksheet(tmp_path / name, EN, people, 4.0, team=True)

    grader = Grader(
        monkeypatch, settings, download("1.zip", datetime(2025, 5, 9, tzinfo=timezone.utc)), tmp_path / "rel"
    )
    grader.grade(worksheet=sheet("1.csv", "Bruno Reis"))
    assert grader.ran == ["grupo-45"]
    grader.submissions = download("2.zip", datetime(2025, 5, 10, tzinfo=timezone.utc))
    run = grader.grade(worksheet=sheet("2.csv", "Bruno Reis Souza"))
    assert grader.ran == [] and grader.workers_started == 0
    result = run.results[0]
    assert [m["name"] for m in result.members] == ["Ana Lima", "Bruno Reis Souza"]
    assert datetime.fromisoformat(result.submitted_at) == datetime(2025, 5, 10, tzinfo=timezone.utc)
    assert result.score == 3.0
    with Gradebook(settings.db_url) as gb:
        assert gb.find_student("grupo-45").first_name == "Ana Lima, Bruno Reis Souza"
    saved = json.loads(
        (settings.autograded_dir / "grupo-45" / "mini" / RESULT_FILE).read_text(encoding="utf-8")
    )
    assert [m["name"] for m in saved["members"]] == ["Ana Lima", "Bruno Reis Souza"]


# --- the command line ---------------------------------------------------------------------------------------

GRADER = [sys.executable, "-m", "grader.cli"]


def grader_command(settings, *args) -> list[str]:
    return [*GRADER, "--course-dir", str(settings.course_dir), *args]


def run_cli(settings, *args):
    return subprocess.run(
        grader_command(settings, *args),
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        cwd=settings.course_dir,
    )


def test_force_and_named_students_on_the_command_line(graded):
    settings, subs = graded.settings, str(graded.submissions)
    options = ["--report-dir", str(graded.report_dir), "--no-progress", "--workers", "2"]
    before = {student: written_at(executed(settings, student)) for student in STUDENTS}
    done = run_cli(settings, "grade", "mini", "--submissions", subs, "--student", "errado", *options)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (
        "corrigidos só os alunos pedidos com --student (errado); os outros ficaram como estavam"
        in done.stdout
    )
    after = {student: written_at(executed(settings, student)) for student in STUDENTS}
    assert [s for s in STUDENTS if after[s] != before[s]] == ["errado"]
    assert set(graded.scores()) == set(STUDENTS)  # the reports cover the whole class
    done = run_cli(settings, "grade", "mini", "--submissions", subs, *options)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "reaproveitadas 4 de 4 correções (nada mudou; --force corrige tudo de novo)" in done.stdout
    assert {student: written_at(executed(settings, student)) for student in STUDENTS} == after
    done = run_cli(settings, "grade", "mini", "--submissions", subs, "--force", *options)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "reaproveitadas 0 de 4 correções; corrigidas 4: 4 pedidas com --force" in done.stdout
    assert all(written_at(executed(settings, student)) != after[student] for student in STUDENTS)
    assert by_hand(settings, "certo") == (0.5, False, COMMENT)
    assert graded.scores()["certo"]["score"] == 3.5
    done = run_cli(settings, "grade", "mini", "--submissions", subs, "--student", "ninguem", *options)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "--student ninguem: nenhuma submissão desse aluno" in lines[0], done.stderr
    assert "alunos encontrados: branco, certo, errado, segundo" in lines[0]


def test_an_interrupted_run_grades_only_what_it_had_not_finished(mini_course, tmp_path):
    settings = mini_course
    source = nbformat.read(settings.source_dir / "mini" / "mini.ipynb", as_version=4)
    slow = solved_copy(source)
    answer = cell_by_grade_id(slow, "resposta_dobro")
    answer.source = "import time\ntime.sleep(15)\n" + answer.source  # within the 30 s a cell may take
    subs = tmp_path / "entregas"
    for student, nb in [
        ("a_rapida", solved_copy(source)),
        ("b_rapida", solved_copy(source)),
        ("c_lenta", slow),
    ]:
        write_notebook(subs / student / "mini" / "mini.ipynb", nb)
    args = [
        "grade",
        "mini",
        "--submissions",
        str(subs),
        "--report-dir",
        str(tmp_path / "rel"),
        "--no-progress",
    ]
    first = subprocess.Popen(
        grader_command(settings, *args, "--workers", "2"),
        cwd=settings.course_dir,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    quick = [settings.autograded_dir / s / "mini" / RESULT_FILE for s in ("a_rapida", "b_rapida")]
    try:
        deadline = time.monotonic() + 300
        while not all(path.exists() for path in quick):
            assert first.poll() is None and time.monotonic() < deadline, "the quick students were never saved"
            time.sleep(0.1)
        first.send_signal(signal.SIGKILL)  # while c_lenta sleeps: nothing of it is saved
        first.wait(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
    assert not (settings.autograded_dir / "c_lenta" / "mini" / RESULT_FILE).exists()
    saved = [written_at(executed(settings, s)) for s in ("a_rapida", "b_rapida")]
    done = run_cli(settings, *args, "--workers", "2")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "reaproveitadas 2 de 3 correções; corrigidas 1: 1 sem correção anterior" in done.stdout
    assert [written_at(executed(settings, s)) for s in ("a_rapida", "b_rapida")] == saved
    scores = json.loads((tmp_path / "rel" / "mini" / "scores.json").read_text(encoding="utf-8"))
    assert {s["student_id"]: s["score"] for s in scores["students"]} == {
        "a_rapida": 3.0,
        "b_rapida": 3.0,
        "c_lenta": 3.0,
    }
