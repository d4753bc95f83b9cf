"""The assignment's graded cells (GradeCellInfo, the reports' input) and what one student got in each: a mark,
a short Portuguese outcome, the points and the failure message shown to the student."""

from __future__ import annotations

from dataclasses import dataclass

from grader.model import CellResult, StudentResult


@dataclass(frozen=True)
class GradeCellInfo:
    """One graded cell of the assignment, in teaching order."""

    grade_id: str
    notebook: str  # notebook name without .ipynb
    max_score: float
    manual: bool  # a written answer or a task, graded by a person
    title: str  # the Portuguese title students read: the cell's metadata["grader"]["title"], else a label
    exercise: str = (
        ""  # the exercise's title (the notebook's heading above the cell): the feedback groups by it
    )
    task: bool = False  # an nbgrader task cell
    titled: bool = False  # `title` was written for students in the source notebook (not made from grade_id)

    @property
    def key(self) -> tuple[str, str]:
        return self.notebook, self.grade_id


MARK_PASS, MARK_FAIL, MARK_NONE, MARK_MANUAL, MARK_PARTIAL = "✓", "✗", "·", "?", "◐"
MARK_LEGEND = (
    f"{MARK_PASS} passou  {MARK_PARTIAL} parcial  {MARK_FAIL} falhou  {MARK_NONE} não executada  "
    f"{MARK_MANUAL} aguardando correção manual"
)
MESSAGE_LIMIT = 1500  # characters of a failure message shown to the student


def several_notebooks(cells: list[GradeCellInfo]) -> bool:
    """The same grade id may stand in two notebooks: then labels and columns name the notebook too."""
    return len({info.notebook for info in cells}) > 1


@dataclass(frozen=True)
class CellView:
    info: GradeCellInfo
    result: CellResult | None
    mark: str
    text: str  # short Portuguese outcome
    score: float
    message: str


def cell_view(info: GradeCellInfo, result: CellResult | None) -> CellView:
    if result is None:
        return CellView(info, None, MARK_NONE, "não executada", 0.0, "")
    if result.not_submitted:
        return CellView(info, result, MARK_FAIL, f"{info.notebook}.ipynb não enviado", 0.0, "")
    message = result.message.strip()
    if len(message) > MESSAGE_LIMIT:
        message = message[:MESSAGE_LIMIT].rstrip() + " …"
    if result.needs_manual_grade:
        return CellView(info, result, MARK_MANUAL, "aguardando correção manual", result.score, "")
    if info.manual or result.manual:
        if result.score <= 0 and not result.passed and not result.comment:
            return CellView(info, result, MARK_FAIL, "sem resposta", 0.0, "")
        if result.score >= result.max_score:
            return CellView(info, result, MARK_PASS, "corrigida: nota total", result.score, "")
        if result.score > 0:
            return CellView(info, result, MARK_PARTIAL, "corrigida: nota parcial", result.score, "")
        return CellView(info, result, MARK_FAIL, "corrigida: sem pontos", result.score, "")
    if result.passed:
        return CellView(info, result, MARK_PASS, "passou", result.score, "")
    if 0 < result.score < result.max_score:
        return CellView(info, result, MARK_PARTIAL, "nota parcial", result.score, message)
    return CellView(info, result, MARK_FAIL, "falhou", result.score, message)


def cell_views(student: StudentResult, cells: list[GradeCellInfo]) -> list[CellView]:
    views = [cell_view(info, student.cell(*info.key)) for info in cells]
    known = {info.key for info in cells}
    for result in student.cells.values():  # a cell the caller did not list: still show it
        if result.key not in known:
            info = GradeCellInfo(
                result.grade_id,
                result.notebook,
                result.max_score,
                result.manual,
                result.grade_id,
                task=result.task,
            )
            views.append(cell_view(info, result))
    return views
