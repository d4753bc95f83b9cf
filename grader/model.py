"""What grading produces for each student: the data the record and report stages read.

Saved next to the executed notebook as autograded/<student>/<assignment>/resultado.json, so that
`grader report` rebuilds every report from disk and the gradebook without grading again.

A cell is known by its notebook and its grade_id (nbgrader allows the same grade_id in two notebooks of one
assignment): `StudentResult.cells` is keyed by (notebook, grade_id), and `cell_key` names a cell in files.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path

RESULT_FILE = "resultado.json"


class Status(str, Enum):
    """How grading a submission (or one of its notebooks) ended. A str, so resultado.json and scores.json keep
    the same words and files written before load as they are."""

    GRADED = "graded"
    ERROR = "error"  # a notebook could not be read or its kernel failed
    TIMEOUT = "timeout"  # the submission's total time ran out
    MISSING = "missing"  # nothing of this assignment was submitted

    def __str__(self) -> str:  # the word itself in CSV cells, templates and f-strings, not "Status.GRADED"
        return self.value


class FlagKind(str, Enum):
    """What a flag on a submission is about; the value is how its stored text begins."""

    AUDIT = "auditoria"  # the static audit found something no exercise needs (detail: what)
    LIMIT = "limite"  # a limit of the machine was hit (detail: which)


@dataclass(frozen=True)
class Flag:
    """A flag for a person to look at. Stored as text ("auditoria: ctypes", "limite: kernel
    morreu") in StudentResult.flags and scores.json: build it here and read it back with `parse`."""

    kind: FlagKind
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.kind.value}: {self.detail}" if self.detail else self.kind.value

    @classmethod
    def parse(cls, text: str) -> Flag | None:
        """The flag a stored text is; None for a text of no known kind."""
        head, _, detail = text.partition(":")
        try:
            return cls(FlagKind(head.strip()), detail.strip())
        except ValueError:
            return None


@dataclass
class CellResult:
    grade_id: str
    notebook: str  # notebook name without .ipynb
    score: float
    max_score: float
    passed: bool
    needs_manual_grade: bool = False
    manual: bool = False  # a written answer or a task, graded by a person
    message: str = ""  # Portuguese: why the test failed (exception name and message, never test code)
    comment: str = ""  # the instructor's comment on this answer (formgrader), read from the gradebook
    task: bool = False  # an nbgrader task cell (markdown, graded by a person)
    not_submitted: bool = False  # its notebook was not submitted: 0, without review (as nbgrader)
    # Why a test cell failed, with what varies between students masked (grader/report/causes.py): failures of
    # the class with the same cause fall together in the instructor's overview. Never shown to a student.
    cause: str = ""
    hidden_failed: bool = False  # it failed in the hidden tests, after its visible part passed

    @property
    def key(self) -> tuple[str, str]:
        return self.notebook, self.grade_id


def cell_key(notebook: str, grade_id: str, multi_notebook: bool) -> str:
    """How files name a cell: its grade_id, or "<notebook>/<grade_id>" in an assignment of several notebooks
    (a notebook name has no "/", so the first "/" splits the two)."""
    return f"{notebook}/{grade_id}" if multi_notebook else grade_id


@dataclass
class StudentResult:
    student_id: str
    assignment: str
    status: Status = Status.GRADED
    first_name: str = ""
    last_name: str = ""
    # Flag texts: add_flag() writes them, Flag.parse reads them
    flags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # one line each, Portuguese, for the instructor
    cells: dict[tuple[str, str], CellResult] = field(default_factory=dict)  # (notebook, grade_id) -> result
    seconds: float = 0.0
    source_files: list[str] = field(default_factory=list)  # the submitted files this came from
    sandboxed: bool = True
    recorded: bool = False  # written to the gradebook (False: it holds an older submission, if any)
    problem: str = ""  # for the student, Portuguese: why the submission could not be graded
    moodle_id: str = ""  # Moodle's participant id in this assignment (from the zip's folder), if any
    moodle_name: str = ""  # the name in Moodle's folder (a person's, or the group's)
    # a team submission's members (and a worksheet's student: itself): participant id, name, student id
    members: list[dict] = field(default_factory=list)
    # "<notebook>/<grade_id>" (or a bare grade_id) -> the instructor's comment (gradebook)
    comments: dict[str, str] = field(default_factory=dict)
    submitted_at: str = ""  # ISO 8601 with its offset: timestamp.txt, else the notebook file's time
    submitted_from: str = ""  # "timestamp.txt", "zip" (the time inside Moodle's zip) or "arquivo"
    seconds_late: float = 0.0  # after the assignment's due date (DUE_DATES); 0 on time or without one
    missing_notebooks: list[str] = field(default_factory=list)  # the assignment's notebooks not submitted
    # What decided this grade (grader/grading/reuse.py): part -> hash of the submission, the assignment, the grading
    # settings and the grader, computed by the grader; a later run with the same key reuses this result. Empty:
    # never reused (a machine failure, nothing run).
    grading_key: dict[str, str] = field(default_factory=dict)
    graded_files: dict[str, str] = field(
        default_factory=dict
    )  # notebook -> sha256 of its executed .ipynb here
    intake_notes: int = 0  # how many of `notes`, the first ones, came from reading the submission

    def __post_init__(self) -> None:
        self.status = Status(self.status)  # read from resultado.json as a plain string

    def add_flag(self, flag: Flag) -> None:
        if str(flag) not in self.flags:
            self.flags.append(str(flag))

    @property
    def max_score(self) -> float:
        return sum(c.max_score for c in self.cells.values())

    @property
    def score(self) -> float:
        return sum(c.score for c in self.cells.values())

    @property
    def name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)

    @property
    def late(self) -> bool:
        return self.seconds_late > 0

    def cell(self, notebook: str, grade_id: str) -> CellResult | None:
        """The result of one cell, whatever the keys of `cells` (tests build them by grade_id)."""
        found = self.cells.get((notebook, grade_id))
        if found is not None and found.key == (notebook, grade_id):
            return found
        return next((c for c in self.cells.values() if c.key == (notebook, grade_id)), None)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        data = asdict(self)
        data["cells"] = [asdict(c) for c in self.cells.values()]
        # whole or not at all: a run killed while saving leaves the previous file, or none, never half of one
        scratch = folder / f".{RESULT_FILE}.tmp"
        scratch.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(scratch, folder / RESULT_FILE)

    @classmethod
    def load(cls, path: Path) -> StudentResult:
        data = json.loads(path.read_text(encoding="utf-8"))
        cells = data.pop("cells")
        cells = cells.values() if isinstance(cells, dict) else cells  # a dict by grade_id before issue 14
        known = set(cls.__dataclass_fields__)
        return cls(
            **{k: v for k, v in data.items() if k in known},
            cells={(c["notebook"], c["grade_id"]): CellResult(**c) for c in cells},
        )


def scores_json(
    assignment: str,
    max_score: float,
    students: list[StudentResult],
    notebooks: list[str] | None = None,
    due_date: str | None = None,
    insights: dict | None = None,
) -> dict:
    """scores.json, the shape other tools read (issue 3, extended by issues 14 and 24):

        {"assignment": str, "max_score": float, "notebooks": [str], "due_date": str | null,
         "students": [{"student_id": str, "score": float, "max_score": float,
                       "status": "graded" | "error" | "timeout" | "missing", "flags": [str],
                       "submitted_at": str | null, "late": bool, "seconds_late": float, "missing_notebooks": [str],
                       "cells": {"<grade_id>": {"score": float, "max_score": float, "passed": bool,
                                                "needs_manual_grade": bool}}}],
         "insights": {...}}

        In an assignment of one notebook the cells are keyed by grade_id, as before; with several notebooks by
        "<notebook>/<grade_id>" (cell_key), so the same grade_id in two notebooks is two cells. Times are ISO 8601
        with their offset; `late` only with a due date (DUE_DATES in grader_config.py). "insights", when given, is what
    the class got wrong, question by question (grader/report/insights.py, insights_json; its shape in the README)."""
    names = (
        notebooks
        if notebooks is not None
        else sorted({c.notebook for s in students for c in s.cells.values()})
    )
    multi = len(names) > 1
    data = {
        "assignment": assignment,
        "max_score": float(max_score),
        "notebooks": list(names),
        "due_date": due_date,
        "students": [
            {
                "student_id": s.student_id,
                "score": float(s.score),
                "max_score": float(max_score),
                "status": s.status.value,
                "flags": list(s.flags),
                "submitted_at": s.submitted_at or None,
                "late": s.late,
                "seconds_late": float(s.seconds_late),
                "missing_notebooks": list(s.missing_notebooks),
                "cells": {
                    cell_key(c.notebook, c.grade_id, multi): {
                        "score": float(c.score),
                        "max_score": float(c.max_score),
                        "passed": bool(c.passed),
                        "needs_manual_grade": bool(c.needs_manual_grade),
                    }
                    for c in s.cells.values()
                },
            }
            for s in students
        ],
    }
    if insights is not None:
        data["insights"] = insights
    return data
