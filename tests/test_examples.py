"""The demo's example class (examples/submissions/), graded as `grader demo` grades it, in real kernels, with the
outcome each student must get; and the committed examples are what examples/make_submissions.py writes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from tests.helpers import REPO, grade_examples

pytestmark = pytest.mark.slow  # real kernels; the up-to-date check writes every example


def test_examples_are_up_to_date(tmp_path):
    copy = tmp_path / "repo"
    for part in ("source", "release", "examples", "grader"):
        shutil.copytree(REPO / part, copy / part)
    shutil.rmtree(copy / "examples" / "submissions")
    subprocess.run(
        [sys.executable, str(copy / "examples" / "make_submissions.py")], check=True, capture_output=True
    )
    written = sorted(
        p.relative_to(copy) for p in (copy / "examples" / "submissions").rglob("*") if p.is_file()
    )
    committed = sorted(
        p.relative_to(REPO) for p in (REPO / "examples" / "submissions").rglob("*") if p.is_file()
    )
    assert written == committed
    for path in written:
        assert (copy / path).read_bytes() == (REPO / path).read_bytes(), f"{path} is stale: run the script"


@pytest.fixture
def graded(graded_examples):  # graded once per session (conftest.py): tests/test_cluster.py compares with it
    return graded_examples


def failed(student):
    return {
        g
        for g, c in student["cells"].items()
        if not c["passed"] and not c["needs_manual_grade"] and g != "resposta_comparacao_tempo"
    }


def test_right_renamed_and_stripped_earn_every_automatic_point(graded):
    _, students, _ = graded
    for name in ("ana", "elisa", "fabio", "joao"):
        assert students[name]["status"] == "graded", name
        assert failed(students[name]) == set(), (name, failed(students[name]))
        assert students[name]["cells"]["resposta_comparacao_tempo"]["needs_manual_grade"], name
        assert students[name]["flags"] == [], (name, students[name]["flags"])
    scores = {students[name]["score"] for name in ("ana", "elisa", "fabio", "joao")}
    assert len(scores) == 1 and scores.pop() > 0


def test_similarity_finds_the_planted_copy_only(graded):
    """The right answers were written independently; joao handed in ana's with the variables renamed: the
    report lists that pair, in several exercises, and no other."""
    run, _, _ = graded
    report = json.loads((run.report_folder / "similaridade.json").read_text(encoding="utf-8"))
    pairs = {frozenset((pair["a"]["student_id"], pair["b"]["student_id"])) for pair in report["pairs"]}
    assert pairs == {frozenset(("ana", "joao"))}, pairs
    exercises = {pair["exercise"] for pair in report["pairs"]}
    assert {"resposta_produto_com_laco", "resposta_comparacao_tempo"} <= exercises, exercises


def test_blank_partly_wrong_and_deleted_test(graded):
    _, students, _ = graded
    assert students["bruno"]["score"] == 0.0
    assert failed(students["carla"]) == {
        "update_c_memoria",
        "stable_log_exp_estavel",
        "stable_log_exp_gradientes",
    }
    # davi deleted the memory test that catches his update_c: it is restored and fails
    assert failed(students["davi"]) == {"update_c_memoria"}


def test_broken_missing_and_tampered(graded):
    run, students, _ = graded
    assert students["gabriel"]["status"] == "error" and students["gabriel"]["score"] == 0.0
    assert students["igor"]["status"] == "missing"
    # helena solved only A and B and hooked IPython to neutralise every assert: the hook lives in her own
    # kernel, the tests ran in the trusted one (and the memory test measures her kernel from outside), so she
    # earns exactly what her answers earn; the audit still names the hook.
    helena = students["helena"]
    assert helena["score"] == 2.0 and failed(helena) == set(helena["cells"]) - {
        "A_B_formato",
        "A_B_independentes",
        "resposta_comparacao_tempo",
    }
    assert "auditoria: get_ipython()" in helena["flags"]
    notes = {r.student_id: r.notes for r in run.results}
    assert any("não é um notebook válido" in n for n in notes["gabriel"])
    assert any("LEIAME.txt não é um notebook" in n for n in notes["igor"])


def test_grading_the_class_again_reuses_every_result(graded, monkeypatch):
    """`grader demo` run a second time: nothing changed, so no notebook runs; every result is reused (the
    unreadable one included) with the same scores, flags and notes."""
    from grader.config import load_settings
    from grader.grading import pipeline

    run, students, _ = graded

    def no_workers(*args, **kwargs):
        raise AssertionError("a worker started for a class that did not change")

    monkeypatch.setattr(pipeline, "WorkerSlots", no_workers)
    settings = load_settings(run.report_folder.parents[1])
    again, rebuilt, _ = grade_examples(settings)
    sent = sum(1 for r in run.results if r.status != "missing" and r.source_files)  # (igor sent no notebook)
    assert (
        again.reuse == f"reaproveitadas {sent} de {sent} correções (nada mudou; --force corrige tudo de novo)"
    )
    assert rebuilt == students
    assert {r.student_id: r.notes for r in again.results} == {r.student_id: r.notes for r in run.results}
