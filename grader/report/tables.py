"""scores.json and scores.csv: the grades as data, one record per student, for other tools and spreadsheets."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path

from grader.model import StudentResult, cell_key, scores_json
from grader.report.cells import GradeCellInfo, several_notebooks


def write_scores_json(
    path: Path,
    assignment: str,
    max_score: float,
    students: list[StudentResult],
    notebooks: list[str],
    due_date: datetime | None,
    insights: dict | None = None,
) -> None:
    """scores.json in the exact shape other tools read (grader.model.scores_json), with the class's insights."""
    data = scores_json(
        assignment,
        max_score,
        students,
        notebooks,
        due_date.isoformat() if due_date is not None else None,
        insights,
    )
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def write_scores_csv(
    path: Path, cells: list[GradeCellInfo], students: list[StudentResult], max_score: float
) -> None:
    """scores.csv: one row per student, one column per graded cell (named as in scores.json)."""
    write_csv(path, scores_csv_rows(cells, students, max_score))


def write_csv(path: Path, rows: list[list]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)


def scores_csv_rows(
    cells: list[GradeCellInfo], students: list[StudentResult], max_score: float
) -> list[list]:
    multi = several_notebooks(cells)
    header = ["student_id", "nome", "status", "score", "max_score", "flags"]
    header += [cell_key(c.notebook, c.grade_id, multi) for c in cells] + ["submitted_at", "late"]
    rows = [header]
    for s in students:
        row = [s.student_id, s.name, s.status, float(s.score), float(max_score), ";".join(s.flags)]
        for info in cells:
            result = s.cell(*info.key)
            row.append("" if result is None else float(result.score))
        rows.append(row + [s.submitted_at, "sim" if s.late else ""])
    return rows
