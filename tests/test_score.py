"""Scoring an executed notebook (grader/grading/score.py) built in memory with the outputs a kernel would have
left: passing, failing, erroring and partial-credit test cells, written answers and task cells, and failure
messages that never show the hidden tests."""

from __future__ import annotations

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from nbgrader.utils import compute_checksum

from grader.grading.score import MAX_MESSAGE, failure_message, hidden_lines, score_cells
from tests.helpers import mini_source, with_meta

HIDDEN = "assert quadrado(-4) == 16, 'quadrado(-4) deveria ser 16'"
TEST = f"assert quadrado(3) == 9\n### BEGIN HIDDEN TESTS\n{HIDDEN}\n### END HIDDEN TESTS"


def test_cell(outputs=(), source=TEST, points=2, grade_id="t"):
    cell = with_meta(new_code_cell(source), grade_id, grade=True, locked=True, points=points)
    cell.outputs = list(outputs)
    return cell


test_cell.__test__ = False  # a builder, not a test


def error(ename="AssertionError", evalue="quadrado(3) deveria ser 9"):
    return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}", "  File secreto"])


def stream(name, text):
    return new_output("stream", name=name, text=text)


def result(text):
    return new_output("execute_result", data={"text/plain": text}, execution_count=1)


def score(*cells, name="mini"):
    return score_cells(new_notebook(cells=list(cells)), name)


def test_a_test_cell_that_ran_clean_earns_its_points():
    cells = score(test_cell([stream("stdout", "tudo certo\n")]), test_cell(grade_id="vazia"))
    for grade_id in ("t", "vazia"):
        got = cells[grade_id]
        assert (got.score, got.max_score, got.passed, got.manual, got.needs_manual_grade) == (
            2.0,
            2.0,
            True,
            False,
            False,
        )
        assert got.message == "" and got.notebook == "mini" and got.grade_id == grade_id


def test_an_error_fails_the_cell_with_its_exception_only():
    got = score(test_cell([stream("stdout", "antes\n"), error()]))["t"]
    assert (got.score, got.max_score, got.passed, got.needs_manual_grade) == (0.0, 2.0, False, False)
    assert got.message == "AssertionError: quadrado(3) deveria ser 9"  # no traceback
    bare = score(test_cell([error("ZeroDivisionError", "")]))["t"]
    assert bare.message == "ZeroDivisionError"


def test_stderr_fails_the_cell():
    got = score(test_cell([stream("stdout", "ok\n"), stream("stderr", "  aviso: lento\n")]))["t"]
    assert (got.score, got.passed) == (0.0, False)
    assert got.message == "a célula escreveu em stderr: aviso: lento"


@pytest.mark.parametrize(
    "text, expected, passed",
    [
        ("0.5", 0.5, False),
        (["1.5"], 1.5, False),
        ("2", 2.0, True),
        ("0", 0.0, False),
        ("'não é número'", 2.0, True),  # nbgrader: anything else is full credit
        ("-1", 2.0, True),
    ],
)
def test_a_number_as_the_cells_result_is_partial_credit(text, expected, passed):
    got = score(test_cell([result(text)]))["t"]
    assert (got.score, got.passed) == (expected, passed)
    assert got.message == ("" if passed else "pontuação parcial")


def test_a_message_that_quotes_the_hidden_tests_is_withheld():
    got = score(test_cell([error("AssertionError", f"falhou em: {HIDDEN}")]))["t"]
    assert HIDDEN not in got.message and "mensagem omitida" in got.message
    # a visible assert may be quoted
    visible = score(test_cell([error("AssertionError", "falhou: assert quadrado(3) == 9")]))["t"]
    assert visible.message == "AssertionError: falhou: assert quadrado(3) == 9"


def test_hidden_lines_are_only_those_long_enough_to_recognise():
    source = (
        "### BEGIN HIDDEN TESTS\nx = 1\nassert dobro(-3) == -6\n\n### END HIDDEN TESTS\nassert dobro(2) == 4"
    )
    assert hidden_lines(source) == ["assert dobro(-3) == -6"]
    assert hidden_lines("assert dobro(2) == 4") == []


def test_long_messages_are_cut():
    cell = test_cell([error("ValueError", "x" * 5000)])
    assert len(failure_message(cell)) == MAX_MESSAGE
    assert score(cell)["t"].message == failure_message(cell)


def _written(text: str, released: str) -> object:
    cell = with_meta(new_markdown_cell(released), "explica", grade=True, solution=True, points=3)
    cell.metadata["nbgrader"]["checksum"] = compute_checksum(cell)  # what the release recorded
    cell.source = text
    return cell


def test_a_written_answer_left_as_released_scores_zero_without_review():
    got = score(_written("ESCREVA AQUI", "ESCREVA AQUI"))["explica"]
    assert (got.score, got.max_score, got.passed, got.manual, got.needs_manual_grade) == (
        0.0,
        3.0,
        False,
        True,
        False,
    )


def test_a_written_answer_changed_waits_for_a_person():
    got = score(_written("Porque a derivada é linear.", "ESCREVA AQUI"))["explica"]
    assert (got.score, got.max_score, got.passed, got.manual, got.needs_manual_grade) == (
        0.0,
        3.0,
        False,
        True,
        True,
    )
    assert got.message == ""


def test_a_graded_code_answer_is_manual_even_when_it_ran_clean():
    cell = with_meta(new_code_cell("def f():\n    return 1"), "codigo", grade=True, solution=True, points=2)
    cell.metadata["nbgrader"]["checksum"] = compute_checksum(cell)
    got = score(cell)["codigo"]
    assert (got.score, got.passed, got.manual, got.needs_manual_grade) == (0.0, False, True, False)


def test_a_task_always_waits_for_a_person():
    task = with_meta(new_markdown_cell("Desenhe o grafo"), "tarefa", task=True, points=4)
    got = score(task)["tarefa"]
    assert (got.score, got.max_score, got.passed, got.manual, got.task, got.needs_manual_grade) == (
        0.0,
        4.0,
        False,
        True,
        True,
        True,
    )


def test_only_graded_cells_are_scored_and_the_notebook_name_is_kept():
    nb = mini_source()  # answers, a read-only cell, markdown: only the grade cells count
    nb.cells[3].outputs = [error()]
    cells = score_cells(nb, "parte1")
    assert set(cells) == {"dobro_valores", "quadrado_valores", "resposta_explicacao"}
    assert {c.notebook for c in cells.values()} == {"parte1"}
    assert cells["dobro_valores"].score == 0.0 and cells["quadrado_valores"].score == 2.0
    assert cells["resposta_explicacao"].needs_manual_grade  # no checksum: not the release's text
    assert sum(c.max_score for c in cells.values()) == 4.0
