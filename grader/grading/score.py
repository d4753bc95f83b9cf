"""Score an executed notebook, cell by cell, with nbgrader's own rule (nbgrader.utils.determine_grade):
an error or any stderr output fails a test cell, a number as the cell's result is partial credit; a written
answer left as released scores 0, any other needs a person; a task cell always needs a person (nbgrader's
gradebook creates its grade waiting for a manual score, and nothing automatic touches it). A failed test cell
also gets its cause, for the class's overview (grader/report/causes.py)."""

from __future__ import annotations

from nbformat import NotebookNode
from nbgrader.utils import determine_grade, is_grade, is_task

from grader.model import CellResult
from grader.nbmeta import HIDDEN_BEGIN, HIDDEN_END, is_graded_by_hand, is_test_cell, marked_lines

MAX_MESSAGE = 600  # characters of a failure message kept for the feedback


def failure_message(cell: NotebookNode) -> str:
    """Why a test cell failed, for the student: the exception and its text, or what went to stderr.
    Never the traceback, nor a message that quotes the hidden tests (student code can raise with the
    calling cell's source): both would show the hidden tests' code."""
    text = ""
    for output in cell.get("outputs", []):
        if output.output_type == "error":
            text = f"{output.ename}: {output.evalue}" if output.evalue else output.ename
            break
    else:
        for output in cell.get("outputs", []):
            if output.output_type == "stream" and output.name == "stderr":
                text = "a célula escreveu em stderr: " + "".join(output.text).strip()
                break
    if any(line in text for line in hidden_lines(cell.source)):
        return "a célula de teste falhou (mensagem omitida: ela citava o código dos testes ocultos)"
    return text[:MAX_MESSAGE]


def hidden_lines(source: str) -> list[str]:
    """The hidden tests' lines of a test cell, long enough to be recognised in a message."""
    lines = marked_lines(source, HIDDEN_BEGIN, HIDDEN_END)
    return [line for line in lines if len(line) >= 12]


def score_cells(nb: NotebookNode, notebook_name: str) -> dict[str, CellResult]:
    """grade_id -> result, for every cell nbgrader grades in `nb` (grade cells and task cells)."""
    results: dict[str, CellResult] = {}
    test_sources = tuple(c.source for c in nb.cells if is_test_cell(c))
    for cell in nb.cells:
        if is_task(cell) and not is_grade(cell):
            grade_id = cell.metadata["nbgrader"]["grade_id"]
            results[grade_id] = CellResult(
                grade_id,
                notebook_name,
                0.0,
                float(cell.metadata["nbgrader"].get("points", 0)),
                passed=False,
                needs_manual_grade=True,
                manual=True,
                task=True,
            )
            continue
        if not is_grade(cell):
            continue
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        score, max_score = determine_grade(cell)
        manual = is_graded_by_hand(cell)  # not a task (above): an answer or a markdown cell
        if score is None:  # a written answer that changed: a person grades it
            results[grade_id] = CellResult(
                grade_id, notebook_name, 0.0, max_score, passed=False, needs_manual_grade=True, manual=True
            )
            continue
        passed = score >= max_score
        message = "" if passed or manual else failure_message(cell)
        if not passed and not manual and not message:
            message = "pontuação parcial"
        why = None if passed or manual else _failure(cell, message, test_sources)
        results[grade_id] = CellResult(
            grade_id,
            notebook_name,
            float(score),
            max_score,
            passed=passed and not manual,
            manual=manual,
            message=message,
            cause=why.cause if why else "",
            hidden_failed=why.hidden if why else False,
        )
    return results


def _failure(cell: NotebookNode, message: str, test_sources: tuple[str, ...]):
    """The cause of a failed test cell and whether it failed in its hidden tests (grader/report/causes.py)."""
    from grader.report.causes import failure

    error = next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"), None)
    others = tuple(s for s in test_sources if s != cell.source)
    return failure(message, error, cell.source, others)
