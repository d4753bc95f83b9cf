"""What grading produces for each student: the data the record and report stages read.

Saved next to the executed notebook as autograded/<student>/<assignment>/resultado.json, so that
`grader report` rebuilds every report from disk and the gradebook without grading again.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

STATUSES = ("graded", "error", "timeout", "missing")
RESULT_FILE = "resultado.json"


@dataclass
class CellResult:
    grade_id: str
    notebook: str  # notebook name without .ipynb
    score: float
    max_score: float
    passed: bool
    needs_manual_grade: bool = False
    manual: bool = False  # a written answer, graded by a person
    message: str = ""  # Portuguese: why the test failed (exception name and message, never test code)
    comment: str = ""  # the instructor's comment on this answer (formgrader), read from the gradebook


@dataclass
class StudentResult:
    student_id: str
    assignment: str
    status: str = "graded"  # one of STATUSES
    first_name: str = ""
    last_name: str = ""
    flags: list[str] = field(default_factory=list)  # e.g. "tampering", "auditoria: ctypes", "sem sandbox"
    notes: list[str] = field(default_factory=list)  # one line each, Portuguese, for the instructor
    cells: dict[str, CellResult] = field(default_factory=dict)
    seconds: float = 0.0
    source_files: list[str] = field(default_factory=list)  # the submitted files this came from
    sandboxed: bool = True
    held_for_review: bool = False  # some cells held (score 0) until a person looks: see tamper.py
    recorded: bool = False  # written to the gradebook (False: it holds an older submission, if any)
    problem: str = ""  # for the student, Portuguese: why the submission could not be graded
    moodle_id: str = ""  # Moodle's participant id in this assignment (from the zip's folder), if any
    moodle_name: str = ""  # the name in Moodle's folder (a person's, or the group's)
    # a team submission's members (and a worksheet's student: itself): participant id, name, student id
    members: list[dict] = field(default_factory=list)
    comments: dict[str, str] = field(default_factory=dict)  # cell name -> instructor's comment (gradebook)

    @property
    def max_score(self) -> float:
        return sum(c.max_score for c in self.cells.values())

    @property
    def score(self) -> float:
        return sum(c.score for c in self.cells.values())

    @property
    def name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        data = asdict(self)
        (folder / RESULT_FILE).write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> StudentResult:
        data = json.loads(path.read_text(encoding="utf-8"))
        cells = {key: CellResult(**value) for key, value in data.pop("cells").items()}
        return cls(**data, cells=cells)


def scores_json(assignment: str, max_score: float, students: list[StudentResult]) -> dict:
    """The exact shape other tools read (issue #3)."""
    return {
        "assignment": assignment,
        "max_score": float(max_score),
        "students": [
            {
                "student_id": s.student_id,
                "score": float(s.score),
                "max_score": float(max_score),
                "status": s.status,
                "flags": list(s.flags),
                "cells": {
                    grade_id: {
                        "score": float(c.score),
                        "max_score": float(c.max_score),
                        "passed": bool(c.passed),
                        "needs_manual_grade": bool(c.needs_manual_grade),
                    }
                    for grade_id, c in s.cells.items()
                },
            }
            for s in students
        ],
    }
