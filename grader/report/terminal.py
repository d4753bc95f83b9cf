"""The plain-text table the command line prints after grading: one line per student, the class's counts under
it, cut to the terminal's width; then the class's largest groups of one mistake (`largest_groups_lines`)."""

from __future__ import annotations

import shutil
import unicodedata

from grader.model import StudentResult
from grader.report.cells import MARK_LEGEND, GradeCellInfo, cell_view
from grader.report.insights import QuestionInsight, largest_groups
from grader.report.stats import class_stats
from grader.report.wording import format_number, plural, sorted_by_id, status_label


def _marks(student: StudentResult, cells: list[GradeCellInfo]) -> str:
    """One mark per cell; a space between notebooks."""
    marks, last = [], None
    for info in cells:
        if last is not None and info.notebook != last:
            marks.append(" ")
        marks.append(cell_view(info, student.cell(*info.key)).mark)
        last = info.notebook
    return "".join(marks)


def _fit(text: str, width: int) -> str:
    """Cut `text` to `width` characters, with an ellipsis when cut."""
    if width <= 0:
        return ""
    if len(text) <= width:
        return text
    return text[: width - 1] + "…" if width > 1 else text[:1]


def terminal_table(
    assignment: str,
    cells: list[GradeCellInfo],
    students: list[StudentResult],
    *,
    sandboxed: bool = True,
    width: int | None = None,
) -> str:
    """A plain-text table for the terminal, at most `width` characters wide (default: the terminal's)."""
    if width is None:
        width = shutil.get_terminal_size((100, 24)).columns
    width = max(int(width), 20)
    cells = list(cells)
    max_score = float(sum(c.max_score for c in cells))
    ordered = sorted_by_id(students)

    def norm(text: str) -> str:  # one code point per accented letter, so len() counts columns
        return unicodedata.normalize("NFC", text)

    records = []
    for s in ordered:
        records.append(
            {
                "id": norm(s.student_id),
                "nome": norm(s.name or "—"),
                "nota": f"{format_number(s.score)}/{format_number(max_score)}",
                "situação": status_label(s, short=True),
                "sinais": norm(", ".join(s.flags)),
                "questões": _marks(s, cells),
            }
        )
    columns = ["id", "nome", "nota", "situação", "sinais", "questões"]
    need = {c: max([len(c)] + [len(r[c]) for r in records]) for c in columns}
    gap = 2
    fixed = ["id", "nota", "questões"]
    minimum = {"nome": 4, "situação": 6, "sinais": 5}
    widths = dict(need)

    # Names, status and flags give way first (cut with "…"); if that is not enough, drop the flags column,
    # then the cell marks. Ids are never cut: they are what the instructor looks up.
    for drop in ([], ["sinais"], ["sinais", "questões"]):
        shown = [c for c in columns if c not in drop]
        free = width - sum(widths[c] for c in shown if c in fixed) - gap * (len(shown) - 1)
        flexible = [c for c in ("nome", "situação", "sinais") if c in shown]
        if free >= sum(min(need[c], minimum[c]) for c in flexible):
            break
    for c in flexible:
        widths[c] = min(need[c], minimum[c])
    spare = free - sum(widths[c] for c in flexible)
    while spare > 0:  # one character at a time to whichever flexible column still wants more
        wanting = [c for c in flexible if widths[c] < need[c]]
        if not wanting:
            break
        for c in wanting:
            if spare == 0:
                break
            widths[c] += 1
            spare -= 1

    def line(values: dict[str, str]) -> str:
        parts = []
        for c in shown:
            text = _fit(values[c], widths[c])
            parts.append(text.rjust(widths[c]) if c == "nota" else text.ljust(widths[c]))
        return (" " * gap).join(parts).rstrip()[:width]

    out = []
    title = f"Atividade {assignment} — {plural(len(ordered), 'aluno', 'alunos')}, nota máxima {format_number(max_score)}"
    out.append(_fit(title, width))
    if not sandboxed or any(not s.sandboxed for s in ordered):
        out.append(_fit("SEM SANDBOX: correção feita com --no-sandbox", width))
    header = line({c: c for c in columns})
    out.append(header)
    out.append("-" * min(width, max(len(header), 1)))
    for record in records:
        out.append(line(record))
    out.append("-" * min(width, max(len(header), 1)))
    stats = class_stats(cells, ordered)
    pieces = [
        plural(stats.total, "aluno", "alunos"),
        plural(stats.graded, "corrigido", "corrigidos"),
        f"{stats.errors} com erro",
        f"{stats.timeouts} por tempo esgotado",
        f"{stats.missing} sem envio",
        "média " + ("—" if stats.mean is None else f"{format_number(stats.mean)}/{format_number(max_score)}"),
    ]
    out.extend(_wrap(pieces, width, " · "))
    if "questões" in shown and cells:
        out.extend(_wrap(MARK_LEGEND.split("  "), width, "  "))
    return "\n".join(out)


def largest_groups_lines(insights: list[QuestionInsight], *, width: int | None = None) -> list[str]:
    """The class's three largest groups of students who failed a question for the same cause, one line each,
    under a heading; nothing when no one failed (blank answers are not a mistake to explain)."""
    if width is None:
        width = shutil.get_terminal_size((100, 24)).columns
    width = max(int(width), 20)
    top = largest_groups(insights)
    if not top:
        return []
    lines = [
        _fit("O que a turma mais errou (index.html, “O que a turma errou”, tem todos os grupos):", width)
    ]
    for question, group in top:
        share = f"{round(100 * group.share)}%"
        title = unicodedata.normalize("NFC", question.info.title or question.info.grade_id)
        text = f"  {plural(group.count, 'aluno', 'alunos')} ({share}) · {title} · {group.cause}"
        lines.append(_fit(" ".join(text.split("\n")), width))
    return lines


def _wrap(pieces: list[str], width: int, sep: str) -> list[str]:
    lines, current = [], ""
    for piece in pieces:
        candidate = piece if not current else current + sep + piece
        if len(candidate) <= width:
            current = candidate
        else:
            if current:
                lines.append(current)
            current = _fit(piece, width)
    if current:
        lines.append(current)
    return lines
