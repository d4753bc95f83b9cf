"""What the class got wrong, question by question, for the instructor (never for a student): the students who
failed each automatic question grouped by the cause of the failure (grader/report/causes.py), largest group
first, each with its share of the class, the message as a student saw it and one student's answer; and how many
passed the question's visible tests and failed its hidden ones, with the hidden checks that failed them.

The class is the students the statistics count (grader/report/stats.py: the graded ones). A
student whose answer cell is still the release's (`Answer.blank`) is grouped apart, whatever the error said:
nothing was answered, so there is no mistake to explain.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from grader.model import StudentResult, cell_key
from grader.report.causes import mask
from grader.report.cells import GradeCellInfo, several_notebooks
from grader.report.stats import counted_students
from grader.report.wording import sorted_by_id

BLANK_CAUSE = "resposta em branco: a célula de resposta está como na liberação"
TOP = 3  # the largest groups the terminal prints


@dataclass(frozen=True)
class Answer:
    """A student's answer to the exercise a test cell checks (their answer cell, as graded)."""

    code: str
    blank: bool  # the cell is as released: nothing was answered


# (student_id, notebook, grade_id of the test cell) -> their answer, or None when it cannot be read
AnswerOf = Callable[[str, str, str], "Answer | None"]


@dataclass(frozen=True)
class Group:
    cause: str  # what failed, with what varies between students masked
    students: tuple[str, ...]  # in id order
    message: str  # as the first of them saw it
    share: float  # of the class (0 to 1)
    blank: bool = False  # the students left the answer as released
    example_student: str = ""
    example_answer: str = ""  # the example student's answer cell ("" when it could not be read)

    @property
    def count(self) -> int:
        return len(self.students)


@dataclass(frozen=True)
class HiddenCheck:
    check: str  # the hidden check by what it says (its message, masked): never its code
    count: int


@dataclass(frozen=True)
class QuestionInsight:
    info: GradeCellInfo
    key: str  # the cell as scores.json names it
    anchor: str  # the id of its section in index.html
    counted: int  # the class: students counted
    failed: int  # of them, those who did not pass
    groups: tuple[Group, ...]  # largest first
    hidden_failed: int  # passed the visible tests, failed the hidden ones
    hidden_checks: tuple[HiddenCheck, ...]  # most frequent first

    @property
    def blank(self) -> int:
        """Students who failed with the answer as released."""
        return sum(g.count for g in self.groups if g.blank)

    @property
    def causes(self) -> int:
        """Groups of one mistake (blank answers are not one)."""
        return sum(not g.blank for g in self.groups)


def anchor(info: GradeCellInfo) -> str:
    """The id of a question's section in index.html (the pass-rate chart and the questions table link to it)."""
    return "causas-" + re.sub(r"[^A-Za-z0-9_-]+", "-", f"{info.notebook}--{info.grade_id}").strip("-")


def class_insights(
    cells: list[GradeCellInfo], students: list[StudentResult], answer_of: AnswerOf | None = None
) -> list[QuestionInsight]:
    """One insight per automatic question, in notebook order."""
    counted = sorted_by_id(counted_students(students))
    multi = several_notebooks(cells)
    out = []
    for info in cells:
        if info.manual:
            continue
        by_cause: dict[tuple[bool, str], list[tuple[StudentResult, str, Answer | None]]] = {}
        hidden: dict[str, int] = {}
        failed = hidden_failed = 0
        for student in counted:
            result = student.cell(*info.key)
            if result is None or result.passed or result.needs_manual_grade or result.not_submitted:
                continue
            failed += 1
            answer = answer_of(student.student_id, *info.key) if answer_of else None
            blank = answer is not None and answer.blank
            cause = BLANK_CAUSE if blank else (result.cause or mask(result.message) or "sem mensagem")
            by_cause.setdefault((blank, cause), []).append((student, result.message.strip(), answer))
            if result.hidden_failed and not blank:
                hidden_failed += 1
                hidden[cause] = hidden.get(cause, 0) + 1
        groups = []
        for (blank, cause), members in by_cause.items():
            example = next(((s, a) for s, _, a in members if a is not None and a.code.strip()), None)
            groups.append(
                Group(
                    cause,
                    tuple(s.student_id for s, _, _ in members),
                    members[0][1],
                    len(members) / len(counted),
                    blank,
                    example[0].student_id if example else "",
                    example[1].code if example else "",
                )
            )
        groups.sort(key=lambda g: (g.blank, -g.count))  # stable: ties keep the first student's order
        out.append(
            QuestionInsight(
                info,
                cell_key(info.notebook, info.grade_id, multi),
                anchor(info),
                len(counted),
                failed,
                tuple(groups),
                hidden_failed,
                tuple(
                    HiddenCheck(check, count)
                    for check, count in sorted(hidden.items(), key=lambda item: -item[1])
                ),
            )
        )
    return out


def largest_groups(insights: list[QuestionInsight], top: int = TOP) -> list[tuple[QuestionInsight, Group]]:
    """The class's largest groups of one cause (blank answers left out: nothing to explain), largest first."""
    found = [(q, g) for q in insights for g in q.groups if not g.blank]
    return sorted(found, key=lambda pair: -pair[1].count)[:top]


def insights_json(insights: list[QuestionInsight]) -> dict:
    """scores.json's "insights" (README, the scores.json block)."""
    return {
        "students": insights[0].counted if insights else 0,
        "questions": [
            {
                "cell": q.key,
                "title": q.info.title,
                "failed": q.failed,
                "groups": [
                    {
                        "cause": g.cause,
                        "count": g.count,
                        "share": round(g.share, 4),
                        "blank": g.blank,
                        "message": g.message,
                        "students": list(g.students),
                        "example": {"student_id": g.example_student, "answer": g.example_answer}
                        if g.example_student
                        else None,
                    }
                    for g in q.groups
                ],
                "hidden_failed": q.hidden_failed,
                "hidden_checks": [{"check": h.check, "count": h.count} for h in q.hidden_checks],
            }
            for q in insights
        ],
    }
