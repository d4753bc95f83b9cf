"""nbgrader's vocabulary (grader/nbmeta.py) on cells built in memory: what a cell's metadata makes it, and the
lines between solution and hidden-test markers."""

from __future__ import annotations

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell

from grader import nbmeta
from tests.helpers import with_meta

KINDS = {  # cell -> (is_answer, is_locked, is_test_cell)
    "plain code": (new_code_cell("x = 1"), (False, False, False)),
    "answer": (with_meta(new_code_cell("def f(): ..."), "r", solution=True), (True, False, False)),
    "test": (
        with_meta(new_code_cell("assert f()"), "t", grade=True, locked=True, points=1),
        (False, True, True),
    ),
    "test not locked": (
        with_meta(new_code_cell("assert f()"), "t", grade=True, points=1),
        (False, True, True),
    ),
    "read-only helper": (with_meta(new_code_cell("import math"), "h", locked=True), (False, True, False)),
    "graded code answer": (
        with_meta(new_code_cell("def f(): ..."), "g", grade=True, solution=True, points=2),
        (True, False, False),
    ),
    "written answer": (
        with_meta(new_markdown_cell("Explique"), "w", grade=True, solution=True, points=1),
        (True, False, False),
    ),
    "graded markdown, not an answer": (
        with_meta(new_markdown_cell("Texto"), "m", grade=True, points=1),
        (False, True, False),
    ),
    "task": (with_meta(new_markdown_cell("Tarefa"), "k", task=True, points=3), (False, False, False)),
}


@pytest.mark.parametrize("kind", KINDS)
def test_what_the_metadata_makes_a_cell(kind):
    cell, expected = KINDS[kind]
    assert (nbmeta.is_answer(cell), nbmeta.is_locked(cell), nbmeta.is_test_cell(cell)) == expected


def test_nbgrader_meta_of_cells_without_any():
    assert nbmeta.nbgrader_meta(new_code_cell("x")) == {}
    assert nbmeta.nbgrader_meta({"cell_type": "code", "source": ""}) == {}  # no metadata at all
    nulled = new_code_cell("x")
    nulled.metadata["nbgrader"] = None  # some editors write null
    assert nbmeta.nbgrader_meta(nulled) == {}
    assert not nbmeta.is_answer(nulled) and not nbmeta.is_locked(nulled) and not nbmeta.is_test_cell(nulled)


def test_nbgrader_meta_is_the_cells_own():
    cell = with_meta(new_code_cell("x"), "abc", grade=True, points=2)
    assert nbmeta.nbgrader_meta(cell)["grade_id"] == "abc"
    assert nbmeta.nbgrader_meta(cell)["points"] == 2


SOURCE = """def f(x):
    ### BEGIN SOLUTION
    y = x + 1

    return y
    ### END SOLUTION
assert f(1) == 2
### BEGIN HIDDEN TESTS
assert f(2) == 3
  ### END HIDDEN TESTS
assert True
"""


def test_marked_lines_between_markers_stripped_without_blanks():
    assert nbmeta.marked_lines(SOURCE, nbmeta.SOLUTION_BEGIN, nbmeta.SOLUTION_END) == [
        "y = x + 1",
        "return y",
    ]
    assert nbmeta.marked_lines(SOURCE, nbmeta.HIDDEN_BEGIN, nbmeta.HIDDEN_END) == ["assert f(2) == 3"]


def test_markers_must_stand_alone_on_their_line():
    text = "x = 1  ### BEGIN SOLUTION\nsegredo = 2\n### END SOLUTION"
    assert nbmeta.marked_lines(text, nbmeta.SOLUTION_BEGIN, nbmeta.SOLUTION_END) == []
    assert nbmeta.marked_lines(
        "### BEGIN SOLUTION  \nsegredo\n", nbmeta.SOLUTION_BEGIN, nbmeta.SOLUTION_END
    ) == ["segredo"]  # an unclosed block runs to the end
    assert nbmeta.marked_lines("", nbmeta.HIDDEN_BEGIN, nbmeta.HIDDEN_END) == []


def test_marker_names_match_the_patterns():
    for name in nbmeta.MARKERS:
        line = f"### {name}"
        matched = [
            p
            for p in (nbmeta.SOLUTION_BEGIN, nbmeta.SOLUTION_END, nbmeta.HIDDEN_BEGIN, nbmeta.HIDDEN_END)
            if p.match(line)
        ]
        assert len(matched) == 1, name


def test_grader_title():
    cell = new_code_cell("pass")
    assert nbmeta.grader_title(cell) == ""
    cell.metadata["grader"] = {"title": "  Linhas com soma positiva:\n sem laço "}
    assert nbmeta.grader_title(cell) == "Linhas com soma positiva: sem laço"
    for broken in ("título", {"title": 3}, {"outro": "x"}, None):  # written by hand: never a crash
        cell.metadata["grader"] = broken
        assert nbmeta.grader_title(cell) == ""
