"""The key of incremental grading and the checks of a stored result (grader/grading/reuse.py), without kernels: what
the key reads and ignores, when a stored result may be reused, and the terminal's line. tests/test_incremental.py
grades real classes with them."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import PurePosixPath

import pytest

from grader.grading import reuse
from grader.intake.entries import Entry
from grader.intake.ingest import StudentSubmission, SubmittedFile
from grader.kernels.execute import ExecutionSettings
from grader.model import CellResult, StudentResult

KEY = {"grader": "g", "settings": "s", "assignment": "a", "submission": "e"}


def submitted(path: str, data: bytes, mtime: float = 0.0, limit: int = 1 << 20) -> SubmittedFile:
    entry = Entry(PurePosixPath(path), len(data), mtime, lambda: io.BytesIO(data))
    return SubmittedFile(path, entry, limit)


def submission(student_id: str = "ana", **notebooks: bytes) -> StudentSubmission:
    files = {name: submitted(f"{student_id}/{name}.ipynb", data) for name, data in notebooks.items()}
    return StudentSubmission(student_id, notebooks=files)


def test_the_submission_key_is_its_bytes_under_its_notebook_names():
    key = reuse.submission_fingerprint(submission(mini=b"{}"))
    same = submission("outro", mini=b"{}")  # another path, another time: the same bytes
    same.notebooks["mini"] = submitted("Cópia de mini (1).ipynb", b"{}", 12345.0)
    assert reuse.submission_fingerprint(same) == key
    assert reuse.submission_fingerprint(submission(mini=b"{ }")) != key
    assert reuse.submission_fingerprint(submission(outro=b"{}")) != key
    assert reuse.submission_fingerprint(submission(mini=b"{}", outro=b"")) != key
    # a file over its size limit is never read: it counts by why, which names the limit
    big = submission(mini=b"x" * 2000)
    big.notebooks["mini"].limit = 1000
    key = reuse.submission_fingerprint(big)
    assert big.notebooks["mini"].problem and reuse.submission_fingerprint(big) == key
    bigger = submission(mini=b"x" * 2000)
    bigger.notebooks["mini"].limit = 1500
    assert reuse.submission_fingerprint(bigger) != key
    # the name and the bytes are told apart: ("ab", "c") is not ("a", "bc")
    assert reuse._digest([("ab", b"c")]) != reuse._digest([("a", b"bc")])


def test_the_settings_key_holds_what_changes_a_grade():
    base = ExecutionSettings()
    key = reuse.settings_fingerprint(base, "cpu")
    for same in (
        replace(base, threads=8),
        replace(base, warm=not base.warm),
        replace(base, gpu="1"),
        replace(base, preload=("torch",)),
    ):
        assert reuse.settings_fingerprint(same, "cpu") == key
    for other in (
        replace(base, cell_timeout_s=base.cell_timeout_s + 1),
        replace(base, submission_timeout_s=base.submission_timeout_s + 1),
        replace(base, use_sandbox=not base.use_sandbox),
        replace(base, limits=replace(base.limits, memory_mb=base.limits.memory_mb + 1)),
        replace(base, max_output_kb=base.max_output_kb + 1),
        replace(base, transfer_mb=base.transfer_mb + 1),
    ):
        assert reuse.settings_fingerprint(other, "cpu") != key
    assert reuse.settings_fingerprint(base, "cuda") != key


def test_the_grader_key_reads_the_package_files(tmp_path, monkeypatch):
    package = tmp_path / "grader"
    (package / "grading" / "__pycache__").mkdir(parents=True)
    (package / "grading" / "score.py").write_text("x = 1\n")
    (package / "grading" / "__pycache__" / "score.cpython-311.pyc").write_bytes(b"\0")
    monkeypatch.setattr(reuse, "PACKAGE_DIR", package)
    key = reuse.grader_fingerprint()
    (package / "grading" / "__pycache__" / "score.cpython-311.pyc").write_bytes(b"\1")
    assert reuse._grader_fingerprint.__wrapped__(package) == key  # compiled files are not the code
    (package / "grading" / "score.py").write_text("x = 2\n")
    assert reuse._grader_fingerprint.__wrapped__(package) != key


def graded(folder, **fields) -> StudentResult:
    """A stored result as the writer thread saves it, with its executed notebook."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mini.ipynb").write_text("{}")
    cells = {
        ("mini", "teste"): CellResult("teste", "mini", 1.0, 1.0, True),
        ("mini", "escrita"): CellResult("escrita", "mini", 0.0, 1.0, False, True, manual=True),
    }
    result = StudentResult("ana", "mini", cells=cells, recorded=True, grading_key=dict(KEY))
    result.graded_files = {"mini": reuse.file_digest(folder / "mini.ipynb")}
    for name, value in fields.items():
        setattr(result, name, value)
    result.save(folder)
    return result


def test_a_stored_result_is_reused_only_when_it_holds(tmp_path):
    folder = tmp_path / "ana" / "mini"
    assert reuse.stored_result(folder, KEY, ["mini"]) == (None, "new")
    graded(folder)
    old, why = reuse.stored_result(folder, KEY, ["mini"])
    assert why == "" and old.cells[("mini", "teste")].score == 1.0
    for part in reuse.PARTS:  # the first part that changed is the reason
        assert reuse.stored_result(folder, {**KEY, part: "outro"}, ["mini"]) == (None, part)
    assert reuse.stored_result(folder, KEY, ["mini", "parte2"]) == (None, "damaged")
    (folder / "mini.ipynb").write_text('{"cells": []}')  # the executed notebook was altered
    assert reuse.stored_result(folder, KEY, ["mini"]) == (None, "damaged")
    (folder / "mini.ipynb").unlink()
    assert reuse.stored_result(folder, KEY, ["mini"]) == (None, "damaged")
    graded(folder)
    (folder / "resultado.json").write_text('{"student_id": "ana", ')
    assert reuse.stored_result(folder, KEY, ["mini"]) == (None, "damaged")
    graded(folder, grading_key={})  # a machine failure, or a grader from before the key
    assert reuse.stored_result(folder, KEY, ["mini"]) == (None, "not_reusable")
    graded(folder, recorded=False)  # the gradebook holds an older submission
    assert reuse.stored_result(folder, KEY, ["mini"]) == (None, "not_reusable")
    # a notebook that could not be read: nothing ran, nothing recorded, nothing to check but the key
    graded(folder, recorded=False, problem="não é um notebook válido", graded_files={})
    assert reuse.stored_result(folder, KEY, ["mini"])[1] == ""


def test_the_gradebook_must_still_hold_the_automatic_scores(tmp_path):
    result = graded(tmp_path)
    holds = {("mini", "teste"): 1.0, ("mini", "escrita"): None}
    assert reuse.agrees_with_gradebook(result, holds)
    assert not reuse.agrees_with_gradebook(result, None)  # no submission there
    assert not reuse.agrees_with_gradebook(result, {("mini", "teste"): 1.0})  # a cell missing
    assert not reuse.agrees_with_gradebook(result, {**holds, ("mini", "teste"): 0.0})
    # a grade given by hand is a person's: it never makes a result disagree
    result.cells[("mini", "escrita")].score = 0.5
    assert reuse.agrees_with_gradebook(result, holds)


def test_a_reused_result_keeps_its_grade_and_takes_this_runs_identity():
    old = StudentResult(
        "ana",
        "mini",
        first_name="Ana",
        notes=["lido: mini (1).ipynb", "mini: o kernel morreu"],
        intake_notes=1,
        cells={("mini", "teste"): CellResult("teste", "mini", 1.0, 1.0, True)},
        recorded=True,
        grading_key=dict(KEY),
        flags=["limite: kernel morreu"],
        submitted_at="2025-05-01T10:00:00+00:00",
    )
    fresh = StudentResult(
        "ana", "mini", first_name="Ana Lima", notes=["nota nova"], submitted_at="2025-05-02T10:00:00+00:00"
    )
    result = reuse.carry_over(fresh, old)
    assert result.first_name == "Ana Lima" and result.submitted_at == "2025-05-02T10:00:00+00:00"
    assert result.notes == ["nota nova", "mini: o kernel morreu"] and result.intake_notes == 1
    assert result.cells == old.cells and result.flags == old.flags and result.grading_key == KEY


@pytest.mark.parametrize(
    "total, reasons, line",
    [
        (9, {}, "reaproveitadas 9 de 9 correções (nada mudou; --force corrige tudo de novo)"),
        (
            9,
            {"a": "submission", "b": "new", "c": "submission"},
            "reaproveitadas 6 de 9 correções; corrigidas 3: 2 envios mudaram, 1 sem correção anterior",
        ),
        (
            3,
            {"a": "grader", "b": "gradebook", "c": "damaged"},
            "reaproveitadas 0 de 3 correções; corrigidas 3: 1 pelo corretor alterado, "
            "1 correção anterior ilegível ou incompleta, 1 diferente do gradebook",
        ),
        (
            2,
            {"a": "force", "b": "force"},
            "reaproveitadas 0 de 2 correções; corrigidas 2: 2 pedidas com --force",
        ),
    ],
)
def test_the_terminal_line(total, reasons, line):
    assert reuse.summary(total, reasons) == line


def test_the_terminal_line_for_named_students():
    assert reuse.summary(2, {"a": "force", "b": "force"}, ["a", "b"]) == (
        "corrigidos só os alunos pedidos com --student (a, b); os outros ficaram como estavam"
    )
