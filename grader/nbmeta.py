"""nbgrader's vocabulary in one place: a cell's nbgrader metadata and what it makes the cell (answer, locked,
test), the BEGIN/END markers of solutions and hidden tests, and the title this course writes for students in a
graded cell's metadata (`metadata["grader"]["title"]`). Stdlib only: every stage reads notebooks with
these, and importing nbgrader itself costs a second."""

from __future__ import annotations

import re

SOLUTION_BEGIN = re.compile(r"^\s*### BEGIN SOLUTION\s*$")
SOLUTION_END = re.compile(r"^\s*### END SOLUTION\s*$")
HIDDEN_BEGIN = re.compile(r"^\s*### BEGIN HIDDEN TESTS\s*$")
HIDDEN_END = re.compile(r"^\s*### END HIDDEN TESTS\s*$")
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


def nbgrader_meta(cell) -> dict:
    """The cell's nbgrader metadata ({} for a cell without any, or with something else than a mapping there:
    a student's editor, or the student, may write anything)."""
    meta = cell.get("metadata") if isinstance(cell, dict) else None
    meta = meta.get("nbgrader") if isinstance(meta, dict) else None
    return meta if isinstance(meta, dict) else {}


def grader_title(cell) -> str:
    """The title written for students in the cell's metadata (`metadata["grader"]["title"]`), or ""."""
    meta = cell.get("metadata") if isinstance(cell, dict) else None
    meta = meta.get("grader") if isinstance(meta, dict) else None
    title = meta.get("title", "") if isinstance(meta, dict) else ""
    return " ".join(title.split()) if isinstance(title, str) else ""


def is_locked(cell) -> bool:
    """A cell the student may not change: read-only, or a test (graded and not an answer)."""
    meta = nbgrader_meta(cell)
    return bool(meta.get("locked") or (meta.get("grade") and not meta.get("solution")))


def is_answer(cell) -> bool:
    """A cell the student writes (nbgrader's "solution")."""
    return bool(nbgrader_meta(cell).get("solution"))


def answer_cells(notebook: dict) -> dict[str, str]:
    """grade_id -> text of the answer cells of a notebook (executed, released...), read as plain JSON."""
    cells = {}
    for cell in notebook.get("cells", []):
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id and is_answer(cell):
            source = cell.get("source", "")
            cells[grade_id] = "".join(source) if isinstance(source, list) else source
    return cells


def is_graded_by_hand(cell) -> bool:
    """A graded cell a person scores: a written or coded answer with points, a task, or a markdown cell."""
    meta = nbgrader_meta(cell)
    return bool(meta.get("solution") or meta.get("task")) or cell.get("cell_type") != "code"


def is_test_cell(cell) -> bool:
    """A code cell whose verdict counts (graded, not an answer): it runs in the trusted test kernel."""
    meta = nbgrader_meta(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def marked_lines(source: str, begin: re.Pattern, end: re.Pattern) -> list[str]:
    """The non-blank lines between begin/end markers."""
    inside, lines = False, []
    for line in source.splitlines():
        if begin.match(line):
            inside = True
        elif end.match(line):
            inside = False
        elif inside and line.strip():
            lines.append(line.strip())
    return lines
