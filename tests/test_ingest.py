"""Finding a class's submissions (grader/intake/ingest.py) in folders and zips built here: nbgrader's layout and
one folder per student, names as Colab and browsers change them, files that are not the assignment's notebooks,
nbgrader's timestamp.txt, the errors an instructor can make; the input is never modified. (Every zip layout
Moodle writes is in tests/test_moodle.py.)"""

from __future__ import annotations

import os
import struct
import zipfile
from datetime import datetime, timedelta, timezone

import pytest

from grader.errors import UserError
from grader.intake.ingest import TIMESTAMP_FILE, find_submissions, moodle_id_in, simplify, split_name
from tests.helpers import entry, make_zip, notebook_bytes, student_prefix, tree_digest

OTHERS = {"outra": ["outra"]}


def put(root, files: dict[str, bytes | str]):
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
    return root


def find(path, names=("mini",), files=frozenset()):
    students, notes, refused = find_submissions(path, "mini", list(names), OTHERS, set(files))
    assert refused == [], refused
    return {s.student_id: s for s in students}, notes


@pytest.mark.parametrize(
    "name, simple",
    [
        ("Cópia de Programação_Diferenciável (1).ipynb", "programacao_diferenciavel"),
        ("Copy of mini.ipynb", "mini"),
        ("copia de Cópia de mini.IPYNB", "mini"),
        ("mini (2) (1).ipynb", "mini"),
        ("mini - Cópia.ipynb", "mini"),
        ("mini copy.ipynb", "mini"),
        ("  Grafo Computacional .ipynb", "grafo_computacional"),
        ("mini", "mini"),
    ],
)
def test_simplify(name, simple):
    assert simplify(name) == simple


def test_split_name():
    assert split_name("  Maria  da Silva ") == ("Maria", "da Silva")
    assert split_name("Ana") == ("Ana", "")
    assert split_name("") == ("", "")


def test_nbgrader_layout_and_one_folder_per_student(tmp_path):
    bruno = notebook_bytes(2)
    subs = put(
        tmp_path / "turma",
        {
            "ana/mini/mini.ipynb": notebook_bytes(),  # nbgrader's layout
            "bruno/mini.ipynb": bruno,  # per student
            "carla/mini/Cópia de mini (1).ipynb": notebook_bytes(),
        },
    )
    (subs / "davi" / "mini").mkdir(parents=True)  # an empty assignment folder: a student without submission
    before = tree_digest(subs)
    students, notes = find(subs)
    assert sorted(students) == ["ana", "bruno", "carla", "davi"] and notes == []
    assert (
        list(students["ana"].notebooks) == ["mini"]
        and students["ana"].notebooks["mini"].path == "ana/mini/mini.ipynb"
    )
    assert students["bruno"].notebooks["mini"].data == bruno
    assert list(students["carla"].notebooks) == ["mini"] and students["carla"].notes == []
    assert students["davi"].missing and not students["ana"].missing
    assert not any(s.from_zip for s in students.values())
    assert tree_digest(subs) == before, "ingest modified its input"


def test_files_that_are_not_the_assignments_notebooks(tmp_path):
    subs = put(
        tmp_path / "turma",
        {
            "ana/mini/meu_trabalho.ipynb": notebook_bytes(),  # the only notebook: taken, with a note
            "ana/mini/dados/pontos.csv": "1,2",  # the assignment's own file: taken from source/
            "ana/mini/rascunho.pdf": b"%PDF",
            "ana/mini/outra.ipynb": notebook_bytes(),  # another assignment's notebook
            "ana/outra/outra.ipynb": notebook_bytes(),  # another assignment's folder
            "ana/.ipynb_checkpoints/mini-checkpoint.ipynb": notebook_bytes(),
            "__MACOSX/ana/._mini.ipynb": b"\0",
            "leiame.txt": "professor, segue a turma",
        },
    )
    students, notes = find(subs, files={"dados/pontos.csv"})
    assert sorted(students) == ["ana"]
    ana = students["ana"]
    assert list(ana.notebooks) == ["mini"] and ana.notebooks["mini"].path == "ana/mini/meu_trabalho.ipynb"
    assert sorted(ana.notes) == sorted(
        [
            "ana/mini/meu_trabalho.ipynb tratado como mini.ipynb (nome diferente do original)",
            "ignorado: ana/mini/dados/pontos.csv (a correção usa o dados/pontos.csv da atividade, de source/)",
            "ignorado: ana/mini/rascunho.pdf não é um notebook (.ipynb)",
            "ignorado: ana/mini/outra.ipynb é um notebook da atividade outra",
            "ignorado: ana/outra/outra.ipynb é da atividade outra",
        ]
    )
    assert notes == ["ignorado: leiame.txt está fora de uma pasta de aluno"]


def test_with_several_notebooks_an_unknown_name_is_ignored(tmp_path):
    subs = put(
        tmp_path / "turma",
        {
            "ana/lista/parte1.ipynb": notebook_bytes(),
            "ana/lista/Cópia de Parte2.ipynb": notebook_bytes(),
            "ana/lista/parte3.ipynb": notebook_bytes(),
        },
    )
    students, _, _ = find_submissions(subs, "lista", ["parte1", "parte2"], {}, set())
    (ana,) = students
    assert sorted(ana.notebooks) == ["parte1", "parte2"]
    assert ana.notes == ["ignorado: ana/lista/parte3.ipynb não corresponde a nenhum notebook da atividade"]


def test_two_copies_of_a_notebook_the_latest_counts(tmp_path):
    newer = notebook_bytes(1)
    subs = put(
        tmp_path / "turma", {"ana/mini/mini.ipynb": newer, "ana/mini/mini (1).ipynb": notebook_bytes(2)}
    )
    now = datetime.now().timestamp()
    os.utime(subs / "ana/mini/mini.ipynb", (now, now))
    os.utime(subs / "ana/mini/mini (1).ipynb", (now - 60, now - 60))
    students, _ = find(subs)
    ana = students["ana"]
    assert ana.notebooks["mini"].data == newer and ana.notebooks["mini"].mtime == now
    assert ana.notes == [
        "dois notebooks para mini: usado ana/mini/mini.ipynb (o mais recente), "
        "ignorado ana/mini/mini (1).ipynb"
    ]


def test_nbgraders_timestamp_is_the_submission_time(tmp_path):
    subs = put(
        tmp_path / "turma",
        {
            "ana/mini/mini.ipynb": notebook_bytes(),
            f"ana/mini/{TIMESTAMP_FILE}": "2025-05-10 23:59:00.000000 -0300\n",
            "bruno/mini/mini.ipynb": notebook_bytes(),
            f"bruno/mini/{TIMESTAMP_FILE}": "2025-05-10 12:00:00",  # nbgrader reads a time without zone as UTC
            "carla/mini/mini.ipynb": notebook_bytes(),
            f"carla/mini/{TIMESTAMP_FILE}": "ontem à noite",
            "davi/mini/mini.ipynb": notebook_bytes(),
        },
    )
    students, _ = find(subs)
    assert students["ana"].submitted_at == datetime(2025, 5, 11, 2, 59, tzinfo=timezone.utc)
    assert students["bruno"].submitted_at == datetime(2025, 5, 10, 12, 0, tzinfo=timezone.utc)
    assert students["carla"].submitted_at is None
    assert (
        len(students["carla"].notes) == 1
        and students["carla"].notes[0].startswith(f"carla/mini/{TIMESTAMP_FILE} ilegível")
        and students["carla"].notes[0].endswith("vale o horário do notebook")
    )
    assert students["davi"].submitted_at is None and students["davi"].notes == []
    assert all(TIMESTAMP_FILE not in s.notebooks for s in students.values())


def test_instructor_errors(tmp_path):
    with pytest.raises(UserError, match="não existe"):
        find(tmp_path / "nada")
    (tmp_path / "notas.csv").write_text("a,b")
    with pytest.raises(UserError, match="não é uma pasta nem um arquivo zip"):
        find(tmp_path / "notas.csv")
    with pytest.raises(UserError, match="está vazio"):
        find(make_zip(tmp_path / "vazio.zip", {}))
    with pytest.raises(UserError, match="está vazio"):  # only what is always ignored
        find(make_zip(tmp_path / "mac.zip", {"__MACOSX/._x": b"", "aluno/.ipynb_checkpoints/x.ipynb": b"{}"}))


def test_a_zip_gives_its_own_times(tmp_path):
    when = datetime(2025, 5, 10, 23, 58, tzinfo=timezone(timedelta(hours=-3)))
    path = tmp_path / "moodle.zip"
    with zipfile.ZipFile(path, "w") as archive:
        info = zipfile.ZipInfo(
            entry(student_prefix("Ana Lima", 5), "mini.ipynb", "4.1"), (2020, 1, 1, 0, 0, 0)
        )
        info.extra = struct.pack("<HHB", 0x5455, 5, 1) + struct.pack("<i", int(when.timestamp()))
        archive.writestr(info, notebook_bytes())
        archive.writestr(
            entry(student_prefix("Ana Lima", 5), TIMESTAMP_FILE, "4.1"), "2025-05-10 23:59 -0300"
        )
    students, notes = find(path)
    ana = students["5"]
    assert ana.from_zip and ana.notebooks["mini"].mtime == when.timestamp()
    assert ana.submitted_at == when + timedelta(minutes=1) and notes == []
    assert ana.notebooks["mini"].path.endswith("/mini.ipynb")


def test_moodle_folders_of_one_student_are_merged(tmp_path):
    subs = put(
        tmp_path / "baixado",
        {
            entry(student_prefix("Ana Lima", 5), "mini.ipynb", "4.1"): notebook_bytes(),
            entry(student_prefix("Ana Lima", 5), "mini (1).ipynb", "3.1"): notebook_bytes(2),
            entry(student_prefix("Ana Lima", 5), "onlinetext.html", "4.1", plugin="onlinetext"): "<p>oi</p>",
        },
    )
    students, _ = find(subs)
    assert list(students) == ["5"]
    ana = students["5"]
    assert (ana.first_name, ana.last_name, ana.moodle_id) == ("Ana", "Lima", "5")
    assert any("dois notebooks para mini" in n for n in ana.notes)
    assert any("texto online" in n for n in ana.notes)


@pytest.mark.parametrize(
    ("path", "participant"),
    [
        ("Ana Lima_1201_assignsubmission_file/x.ipynb", "1201"),  # Moodle 4.1+
        ("turma/Ana Lima_1201_assignsubmission_file_/x.ipynb", "1201"),  # 3.1-4.0, inside a top folder
        ("Ana Lima_1201_assignsubmission_file_x.ipynb", "1201"),  # "Download submissions in folders" off
        ("Equipe A_1201_assignsubmission_onlinetext/onlinetext.html", "1201"),
        ("ana/x.ipynb", None),  # nbgrader's layout: a student id, not a participant id
        ("1201/x.ipynb", None),
    ],
)
def test_the_participant_id_is_read_from_moodles_names_only(path, participant):
    assert moodle_id_in(path) == participant
