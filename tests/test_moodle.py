"""Moodle, both ways: every zip layout Moodle writes, and its grading worksheet filled and read back as Moodle's
importer reads it. The zips and worksheets are built (tests/helpers.py) by following Moodle's own code, cited per helper;
nothing here needs a kernel, except the last test, which grades a team zip end to end."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import datetime
from pathlib import Path

import nbformat
import pytest

from grader.errors import UserError
from grader.grading import pipeline
from grader.intake import ingest
from grader.model import CellResult, StudentResult
from grader.report import moodle, write_reports
from grader.report.cells import GradeCellInfo
from tests.helpers import (
    EN,
    PT_BR,
    entry,
    make_zip,
    notebook_bytes,
    student_prefix,
    team_prefix,
    worksheet,
)

NOTEBOOK = "mini"


# ---------------------------------------------------------------------------------------------------------------
# Zips, named as mod/assign writes them


def ingest_zip(path: Path):
    students, notes, refused = ingest.find_submissions(path, NOTEBOOK, [NOTEBOOK], {"outra": ["outra"]})
    assert refused == [], refused
    return students, notes


@pytest.mark.parametrize("version", ["4.1", "3.1", "flat"])
def test_individual_layouts(tmp_path, version):
    files = {
        entry(student_prefix("Maria da Silva", 1201), "Cópia de mini.ipynb", version): notebook_bytes(),
        entry(student_prefix("João_Souza", 1202), "mini (1).ipynb", version): notebook_bytes(),
        entry(student_prefix("João_Souza", 1202), "rascunho.pdf", version): b"%PDF-1.4",
        entry(
            student_prefix("João_Souza", 1202), "onlinetext.html", version, plugin="onlinetext"
        ): b"<p>oi</p>",
    }
    students, notes = ingest_zip(make_zip(tmp_path / "moodle.zip", files))
    by_id = {s.student_id: s for s in students}
    assert set(by_id) == {"1201", "1202"}, notes
    maria, joao = by_id["1201"], by_id["1202"]
    assert (maria.first_name, maria.last_name, maria.moodle_id) == ("Maria", "da Silva", "1201")
    assert joao.moodle_name == "João Souza" and list(joao.notebooks) == [NOTEBOOK]
    assert any("rascunho.pdf não é um notebook" in n for n in joao.notes)
    assert any("texto online" in n for n in joao.notes)
    assert not any("fora de uma pasta" in n for n in notes)


def test_blind_marking(tmp_path):
    files = {
        entry(student_prefix(name, pid), "mini.ipynb", "4.1"): notebook_bytes()
        for name, pid in (("Participant", 77), ("Participante", 78))
    }  # mod_assign `participant`: en, pt_br
    students, _ = ingest_zip(make_zip(tmp_path / "cego.zip", files))
    assert [(s.student_id, s.moodle_id, s.first_name) for s in students] == [
        ("77", "77", ""),
        ("78", "78", ""),
    ]


def test_outer_folder(tmp_path):
    files = {
        f"Entrega - Mini/{entry(student_prefix('Ana Lima', 5), 'mini.ipynb', '4.1')}": notebook_bytes(),
        f"Entrega - Mini/{entry(student_prefix('Bruno Reis', 6), 'mini.ipynb', 'flat')}": notebook_bytes(),
    }
    students, notes = ingest_zip(make_zip(tmp_path / "recompactado.zip", files))
    assert [s.student_id for s in students] == ["5", "6"]
    assert any("pasta externa (Entrega - Mini/)" in n for n in notes)


def test_team_without_worksheet(tmp_path):
    files = {
        entry(team_prefix("Grupo A", 45), "mini.ipynb", "4.1"): notebook_bytes(),
        entry(team_prefix(None, None), "mini.ipynb", "4.1"): notebook_bytes(),
    }
    students, notes = ingest_zip(make_zip(tmp_path / "grupos.zip", files))
    default = next(s for s in students if s.team)
    assert default.student_id == "grupo-default_group" and default.moodle_name == "Default group"
    assert any("envios em grupo" in n and "--worksheet" in n for n in notes)


# ---------------------------------------------------------------------------------------------------------------
# Worksheets, as mod/assign/gradingtable.php writes them in downloading mode


def strtotime(text: str) -> float | bool:
    """What PHP's strtotime makes of the dates involved: false for "-", Portuguese month names or nothing."""
    for pattern in ("%Y-%m-%d %H:%M", "%A, %d %B %Y, %I:%M %p"):
        try:
            return datetime.strptime(text.strip(), pattern).timestamp()
        except ValueError:
            continue
    return False


def moodle_import(
    path: Path, words: dict, assignment_max: float, current: dict | None = None, version: tuple = (5, 0)
) -> tuple[dict[str, tuple[float, str]], set[str]]:
    """Moodle's worksheet import, as mod/assign/feedback/offline reads a file: importgradeslib.php init() (columns by
    their exact headers in the uploader's language, else invalidgradeimport), next() (the identifier minus
    strlen(hiddenuser)), locallib.php process_import_grades (unformat_float, the skips). `current` maps participant
    id -> (grade, timemodified) already in Moodle. Returns participant id -> (grade, comment) imported, and the
    ids whose grade was skipped."""
    text = path.read_bytes().decode("utf-8").removeprefix("\ufeff")  # csv_import_reader: trim_utf8_bom
    table = list(csv.reader(io.StringIO(text)))
    header = table[0]
    assert all(words[k] in header for k in ("recordid", "grade", "lastmodifiedgrade")), "invalidgradeimport"
    index = {
        k: header.index(words[k])
        for k in ("recordid", "grade", "lastmodifiedgrade", "feedbackcomments", "gradecanbechanged")
        if words[k] in header
    }
    assert len({len(row) for row in table}) == 1, "every row has the header's columns"
    imported, skipped = {}, set()
    for row in table[1:]:
        participant = row[index["recordid"]][len(words["hiddenuser"]) :]
        raw = row[index["grade"]].strip().replace(" ", "").replace(words["decsep"], ".")
        grade = float(raw) if raw else None  # unformat_float
        modified = strtotime(row[index["lastmodifiedgrade"]]) or 0
        old_grade, old_time = (current or {}).get(participant, (None, 0))
        stale = old_grade is not None and old_time > modified + 60
        locked = row[index["gradecanbechanged"]] == words["no"]
        if (
            grade is None
            or grade < 0
            or grade == old_grade
            or stale
            or locked
            or grade > assignment_max
            or (version >= (5, 1) and not grade)
        ):
            skipped.add(participant)
            continue
        imported[participant] = (grade, row[index["feedbackcomments"]] if "feedbackcomments" in index else "")
    return imported, skipped


CELLS = [
    GradeCellInfo("dobro_valores", NOTEBOOK, 1.0, False, "valores", "Exercício 1 — dobro"),
    GradeCellInfo("quadrado_valores", NOTEBOOK, 2.0, False, "valores", "Exercício 2 — quadrado"),
    GradeCellInfo("resposta_explicacao", NOTEBOOK, 1.0, True, "resposta escrita", "Exercício 3 — explique"),
]


def result(student_id, moodle_id, name, scores, **extra):
    first, _, last = name.partition(" ")
    cells = {
        c.grade_id: CellResult(c.grade_id, NOTEBOOK, s, c.max_score, s >= c.max_score, manual=c.manual)
        for c, s in zip(CELLS, scores, strict=True)
    }
    return StudentResult(student_id, "mini", "graded", first, last, cells=cells, moodle_id=moodle_id, **extra)


PEOPLE = [
    {"id": 1201, "name": "Ana Lima", "email": "ana@uni.br"},
    {"id": 1202, "name": "Bruno Reis", "email": "bruno@uni.br"},
    {"id": 1203, "name": "Carla Dias", "email": "carla@uni.br", "locked": True},
    {"id": 1204, "name": "Davi Rocha", "email": "davi@uni.br", "graded": True, "grade": "5"},
    {"id": 1205, "name": "Eva Melo", "email": "eva@uni.br"},  # no submission
]


@pytest.mark.parametrize(("language", "words"), [("pt_br", PT_BR), ("en", EN)])
@pytest.mark.parametrize("email", [True, False])
def test_worksheet_round_trip(tmp_path, language, words, email):
    sheet_path = worksheet(tmp_path / "planilha.csv", words, PEOPLE, 20.0, email=email, language=language)
    original = sheet_path.read_bytes()
    sheet = moodle.read_worksheet(sheet_path)
    assert sheet.maximum == 20.0 and [p.participant_id for p in sheet.participants][:2] == ["1201", "1202"]
    assert sheet.participants[0].student_id == ("ana@uni.br" if email else "1201")
    students = [
        result(
            "ana", "1201", "Ana Lima", [1.0, 2.0, 1.0], comments={"resposta_explicacao": "Ótima explicação."}
        ),
        result("bruno", "1202", "Bruno Reis", [1.0, 0.0, 0.5]),
        result("carla", "1203", "Carla Dias", [1.0, 2.0, 0.0]),
        result("davi", "1204", "Davi Rocha", [0.0, 0.0, 0.0]),
        result("fora", "", "Fora Daqui", [1.0, 1.0, 1.0]),
    ]
    paths = write_reports(tmp_path / "rel", "mini", CELLS, students, worksheet=sheet)
    filled = paths.moodle_csv.read_bytes()
    table = list(csv.reader(io.StringIO(filled.decode("utf-8"))))
    original_table = list(csv.reader(io.StringIO(original.decode("utf-8"))))
    assert table[0] == original_table[0] and len(table) == len(original_table)  # same headers, columns, rows
    assert [row[0] for row in table] == [row[0] for row in original_table]
    imported, skipped = moodle_import(paths.moodle_csv, words, 20.0, current={"1204": (5.0, 0)})
    assert imported["1201"][0] == 20.0 and "Ótima explicação." in imported["1201"][1]  # 4/4 on a 0-20 scale
    assert imported["1202"][0] == 7.5  # 1.5/4 -> 7.5/20
    assert "Pontuação parcial: “Exercício 3 — explique”" in imported["1202"][1]
    assert imported["1204"][0] == 0.0  # up to 5.0 a zero is imported
    assert skipped == {"1203", "1205"}  # locked; no submission (left blank)
    reasons = {d.participant_id: d.reason for d in paths.moodle_dropped}
    assert "não pode ser alterada" in reasons["1203"] and "5.1" in reasons["1204"]
    _, skipped_51 = moodle_import(paths.moodle_csv, words, 20.0, version=(5, 1))
    assert "1204" in skipped_51  # listed above: Moodle 5.1 drops a zero
    assert paths.moodle_skipped == ("fora",)
    page = paths.index_html.read_text(encoding="utf-8")
    assert "linha(s) que o Moodle vai ignorar" in page and "Carla Dias" in page
    assert any("Eva Melo" in note for note in paths.moodle_notes)  # left blank, said so


def test_grade_above_maximum_and_stale_dates(tmp_path):
    people = [{"id": 7, "name": "Ana Lima", "email": "ana@uni.br", "graded": True, "grade": "1,00"}]
    sheet = moodle.read_worksheet(worksheet(tmp_path / "p.csv", PT_BR, people, 10.0, language="pt_br"))
    paths = write_reports(
        tmp_path / "rel", "mini", CELLS, [result("ana", "7", "Ana Lima", [1, 2, 1])], worksheet=sheet
    )
    row = list(csv.reader(io.StringIO(paths.moodle_csv.read_text(encoding="utf-8"))))[1]
    # The worksheet's Portuguese userdate is rewritten in a form strtotime reads: the same minute.
    assert row[sheet.columns["lastmodifiedgrade"]] == "2024-05-03 10:15"
    when = datetime(2024, 5, 3, 10, 15).timestamp()
    imported, _ = moodle_import(paths.moodle_csv, PT_BR, 10.0, current={"7": (1.0, when + 30)})
    assert imported["7"][0] == 10.0  # graded in Moodle before the worksheet: imported
    _, skipped = moodle_import(paths.moodle_csv, PT_BR, 10.0, current={"7": (1.0, when + 3600)})
    assert skipped == {"7"}  # changed in Moodle after the worksheet was made: Moodle keeps its grade
    # A worksheet whose maximum is below the grade: the row is listed, with what to do.
    low = moodle.read_worksheet(worksheet(tmp_path / "baixa.csv", EN, people, 10.0))
    low.rows[0][low.columns["maxgrade"]] = "2.00"
    dropped = write_reports(
        tmp_path / "rel2", "mini", CELLS, [result("ana", "7", "Ana Lima", [1, 2, 1])], worksheet=low
    ).moodle_dropped
    assert dropped == ()  # scaled to the worksheet's maximum, never above it
    over = moodle.fill(low, {"7": (3.0, "")}, tmp_path / "over.csv").dropped
    assert "acima da nota máxima" in over[0].reason and "aumente a nota máxima" in over[0].action


def test_scale_and_unknown_language(tmp_path):
    lines = [
        "ID;Nom complet;Statut;Note;Barème;Peut être modifiée;Modifié (travail);Modifié (note);Commentaires",
        'Participant 9;Ana Lima;Remis;;"Insuffisant\nBien";Oui;-;-;',
    ]
    path = tmp_path / "fr.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    sheet = moodle.read_worksheet(path)
    assert sheet.scale == ["Insuffisant", "Bien"] and sheet.delimiter == ";"
    dropped = moodle.fill(sheet, {"9": (4.0, "ok")}, tmp_path / "out.csv").dropped
    assert "escala" in dropped[0].reason
    # Another language, columns found by Moodle's order and values.
    other = tmp_path / "other.csv"
    other.write_text(
        "Kod,Imię,Stan,Ocena,Maks,Zmiana,Wysłano,Oceniono,Komentarze\n"
        'Uczestnik 3,Ana Lima,Wysłane,,"10,00",Tak,-,-,\n',
        encoding="utf-8",
    )
    sheet = moodle.read_worksheet(other)
    assert sheet.columns["grade"] == 3 and sheet.columns["lastmodifiedgrade"] == 7
    assert sheet.columns["feedbackcomments"] == 8 and sheet.maximum == 10.0


def test_bad_worksheets_are_one_line(tmp_path):
    (tmp_path / "x.csv").write_text("a,b,c\n1,2,3\n", encoding="utf-8")
    with pytest.raises(UserError, match="não parece a planilha de notas do Moodle"):
        moodle.read_worksheet(tmp_path / "x.csv")
    with pytest.raises(UserError, match="planilha de notas não encontrada"):
        moodle.read_worksheet(tmp_path / "nada.csv")
    sheet = moodle.read_worksheet(worksheet(tmp_path / "p.csv", EN, PEOPLE[:2], 10.0))
    students, _ = ingest_zip(
        make_zip(
            tmp_path / "z.zip",
            {entry(student_prefix("Zé Ninguém", 99), "mini.ipynb", "4.1"): notebook_bytes()},
        )
    )
    with pytest.raises(UserError, match="não corresponde a estas submissões.*mesma tarefa"):
        moodle.resolve(students, sheet)
    students, _ = ingest_zip(
        make_zip(
            tmp_path / "z2.zip",
            {
                entry(student_prefix("Ana Lima", 1201), "mini.ipynb", "4.1"): notebook_bytes(),
                entry(student_prefix("Zé Ninguém", 99), "mini.ipynb", "4.1"): notebook_bytes(),
            },
        )
    )
    notes = moodle.resolve(students, sheet)
    assert len(notes) == 1 and "Zé Ninguém (pasta do Moodle 99) não está na planilha" in notes[0]
    assert {s.student_id for s in students} == {"ana@uni.br", "99"}


def test_feedback_zip_names(tmp_path):
    students = [
        result("ana", "1201", "Ana Lima", [1, 2, 1]),
        result("x", "", "Sem Moodle", [0, 0, 0]),
        result("20231234", "", "Matrícula Numérica", [0, 0, 0]),
    ]  # nbgrader layout, registration number
    paths = write_reports(tmp_path, "mini", CELLS, students)
    assert paths.moodle_skipped == ("x", "20231234")  # never written as "Participante20231234"
    names = zipfile.ZipFile(paths.feedback_zip).namelist()
    assert names == ["Ana Lima_1201_assignfeedback_file/devolutiva_mini.html"]
    # importziplib.php is_valid_filename_for_import: explode('_', part, 5) -> participant id, plugin type, name
    parts = names[0].split("/")[0].split("_", 4)
    assert parts[1] == "1201" and (parts[2], parts[3]) == ("assignfeedback", "file")


@pytest.mark.slow
def test_team_submission_graded_once(mini_course, tmp_path):
    """A 4.1 team zip and its worksheet: the group's notebook runs once, every member gets its grade."""
    from nbgrader.apps.api import NbGraderAPI

    from grader.course.release import solved_copy
    from grader.nbgrader_app import nbgrader_config

    settings = mini_course
    source = nbformat.read(settings.source_dir / "mini" / "mini.ipynb", as_version=4)
    people = [
        {"id": 31, "name": "Ana Lima", "email": "ana@uni.br", "group": "Grupo A"},
        {"id": 32, "name": "Bruno Reis", "email": "bruno@uni.br", "group": "Grupo A"},
        {"id": 33, "name": "Carla Dias", "email": "carla@uni.br", "group": "Grupo B"},
    ]
    sheet = worksheet(tmp_path / "planilha.csv", EN, people, 8.0, team=True)
    archive = make_zip(
        tmp_path / "grupos.zip",
        {
            entry(team_prefix("Grupo A", 45), "mini.ipynb", "4.1"): nbformat.writes(
                solved_copy(source)
            ).encode(),
            entry(team_prefix("Grupo B", 46), "mini.ipynb", "4.1"): b'{"cells": [',
        },
    )
    run = pipeline.grade(
        settings,
        "mini",
        pipeline.GradeOptions(
            submissions=archive, report_dir=tmp_path / "rel", workers=1, progress=False, worksheet=sheet
        ),
    )
    by_id = {r.student_id: r for r in run.results}
    assert set(by_id) == {"grupo-45", "grupo-46"}
    assert [m["name"] for m in by_id["grupo-45"].members] == ["Ana Lima", "Bruno Reis"]
    imported, skipped = moodle_import(tmp_path / "rel" / "mini" / "moodle.csv", EN, 8.0)
    assert imported["31"][0] == imported["32"][0] == 6.0  # 3/4 (the written answer waits) on 0-8
    assert imported["33"][0] == 0.0 and "não é um notebook válido" in imported["33"][1]
    feedback = (tmp_path / "rel" / "mini" / "feedback" / "grupo-46.html").read_text(encoding="utf-8")
    assert "O arquivo enviado não é um notebook válido" in feedback
    # nbgrader sees what `nbgrader collect` and `nbgrader autograde` would have left: the formgrader counts it
    api = NbGraderAPI(config=nbgrader_config(settings))
    assert api.get_submitted_students("mini") == {"grupo-45", "grupo-46"}
    assert api.get_autograded_students("mini") == {"grupo-45"}
    assert api.get_assignment("mini")["num_submissions"] == 2
    student = next(s for s in api.get_students() if s["id"] == "grupo-45")
    assert (student["last_name"], student["first_name"]) == ("Grupo A", "Ana Lima, Bruno Reis")
