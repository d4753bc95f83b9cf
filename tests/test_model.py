"""What grading produces (grader/model.py): a student's result saved and read back whole, the older file
shape still read, totals, one cell found whatever its key, and scores.json's shape with one notebook and with
several."""

from __future__ import annotations

import json

from grader.model import RESULT_FILE, CellResult, StudentResult, cell_key, scores_json


def _student(**extra) -> StudentResult:
    cells = [
        CellResult("dobro_valores", "mini", 1.0, 1.0, passed=True),
        CellResult("quadrado_valores", "mini", 0.5, 2.0, passed=False, message="pontuação parcial"),
        CellResult(
            "resposta_explicacao",
            "mini",
            0.0,
            1.0,
            passed=False,
            needs_manual_grade=True,
            manual=True,
            comment="Bom começo",
        ),
    ]
    return StudentResult(
        "20231234",
        "mini",
        first_name="Ana",
        last_name="de Souza",
        flags=["auditoria: exec()"],
        notes=["mini (1).ipynb tratado como mini.ipynb"],
        cells={c.key: c for c in cells},
        seconds=3.5,
        source_files=["ana/mini.ipynb"],
        members=[{"id": "7", "name": "Ana"}],
        comments={"resposta_explicacao": "Bom começo"},
        submitted_at="2025-05-10T23:59:00-03:00",
        submitted_from="timestamp.txt",
        seconds_late=90.0,
        **extra,
    )


def test_totals_name_and_lateness():
    student = _student()
    assert student.score == 1.5 and student.max_score == 4.0
    assert student.name == "Ana de Souza"
    assert student.late
    assert not StudentResult("x", "mini").late and StudentResult("x", "mini").name == ""
    assert StudentResult("x", "mini", last_name="Souza").name == "Souza"


def test_a_result_round_trips_through_its_file(tmp_path):
    student = _student(status="timeout", problem="excedeu o tempo", sandboxed=False)
    student.save(tmp_path / "a" / "b")  # the folder is created
    path = tmp_path / "a" / "b" / RESULT_FILE
    loaded = StudentResult.load(path)
    assert loaded == student
    assert list(loaded.cells) == [
        ("mini", "dobro_valores"),
        ("mini", "quadrado_valores"),
        ("mini", "resposta_explicacao"),
    ]
    assert json.loads(path.read_text(encoding="utf-8"))["first_name"] == "Ana"  # readable, not escaped
    assert "Bom começo" in path.read_text(encoding="utf-8")


def test_older_files_are_still_read(tmp_path):
    data = json.loads(
        json.dumps(
            {
                "student_id": "9",
                "assignment": "mini",
                "status": "graded",
                "removed_field": "ignored",
                "cells": {
                    "t": {"grade_id": "t", "notebook": "mini", "score": 1.0, "max_score": 1.0, "passed": True}
                },
            }
        )
    )
    (tmp_path / RESULT_FILE).write_text(json.dumps(data))
    loaded = StudentResult.load(tmp_path / RESULT_FILE)
    assert loaded.student_id == "9" and loaded.score == 1.0
    assert loaded.cells == {("mini", "t"): CellResult("t", "mini", 1.0, 1.0, True)}


def test_a_cell_is_found_whatever_its_key():
    first = CellResult("teste", "parte1", 1.0, 1.0, True)
    second = CellResult("teste", "parte2", 0.0, 2.0, False)
    by_key = StudentResult("x", "lista", cells={first.key: first, second.key: second})
    assert by_key.cell("parte2", "teste") is second
    by_grade_id = StudentResult("x", "lista", cells={"teste": first, "outro": second})  # as tests build them
    assert by_grade_id.cell("parte1", "teste") is first
    assert by_grade_id.cell("parte2", "teste") is second
    assert by_grade_id.cell("parte3", "teste") is None


def test_cell_key():
    assert cell_key("parte1", "teste", multi_notebook=False) == "teste"
    assert cell_key("parte1", "teste", multi_notebook=True) == "parte1/teste"


def test_scores_json_with_one_notebook():
    on_time = StudentResult("1", "mini", cells={("mini", "t"): CellResult("t", "mini", 1, 1, True)})
    missing = StudentResult("2", "mini", status="missing", missing_notebooks=["mini"])
    data = scores_json("mini", 4, [_student(), on_time, missing])
    assert json.loads(json.dumps(data)) == data  # plain JSON
    assert data["assignment"] == "mini" and data["max_score"] == 4.0 and isinstance(data["max_score"], float)
    assert data["notebooks"] == ["mini"] and data["due_date"] is None
    ana, one, two = data["students"]
    assert ana == {
        "student_id": "20231234",
        "score": 1.5,
        "max_score": 4.0,
        "status": "graded",
        "flags": ["auditoria: exec()"],
        "submitted_at": "2025-05-10T23:59:00-03:00",
        "late": True,
        "seconds_late": 90.0,
        "missing_notebooks": [],
        "cells": {
            "dobro_valores": {"score": 1.0, "max_score": 1.0, "passed": True, "needs_manual_grade": False},
            "quadrado_valores": {
                "score": 0.5,
                "max_score": 2.0,
                "passed": False,
                "needs_manual_grade": False,
            },
            "resposta_explicacao": {
                "score": 0.0,
                "max_score": 1.0,
                "passed": False,
                "needs_manual_grade": True,
            },
        },
    }
    assert one["submitted_at"] is None and one["late"] is False and one["max_score"] == 4.0
    assert isinstance(one["score"], float) and isinstance(one["cells"]["t"]["score"], float)
    assert two == {
        "student_id": "2",
        "score": 0.0,
        "max_score": 4.0,
        "status": "missing",
        "flags": [],
        "submitted_at": None,
        "late": False,
        "seconds_late": 0.0,
        "missing_notebooks": ["mini"],
        "cells": {},
    }


def test_scores_json_with_several_notebooks_keys_cells_by_notebook():
    student = StudentResult(
        "1",
        "lista",
        cells={
            ("parte1", "teste"): CellResult("teste", "parte1", 1, 1, True),
            ("parte2", "teste"): CellResult("teste", "parte2", 0, 2, False),
        },
    )
    data = scores_json("lista", 3, [student], due_date="2025-05-10T23:59:00-03:00")
    assert data["notebooks"] == ["parte1", "parte2"] and data["due_date"] == "2025-05-10T23:59:00-03:00"
    assert set(data["students"][0]["cells"]) == {"parte1/teste", "parte2/teste"}
    assert data["students"][0]["cells"]["parte2/teste"]["max_score"] == 2.0
    # the assignment's notebooks, when given, decide: a student with cells of one notebook only still gets
    # "<notebook>/<grade_id>" keys, as the rest of the class
    first_only = StudentResult("2", "lista", cells={("parte1", "teste"): student.cells[("parte1", "teste")]})
    data = scores_json("lista", 3, [first_only], notebooks=["parte1", "parte2"])
    assert data["notebooks"] == ["parte1", "parte2"]
    assert set(data["students"][0]["cells"]) == {"parte1/teste"}
    assert scores_json("lista", 3, [first_only])["notebooks"] == [
        "parte1"
    ]  # without them: the cells' notebooks
