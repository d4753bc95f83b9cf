"""The class in numbers, shared by the overview page, its charts and the terminal table."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from grader.model import Status, StudentResult
from grader.report.cells import GradeCellInfo


@dataclass(frozen=True)
class ClassStats:
    total: int
    graded: int  # status "graded"
    errors: int  # status "error"
    timeouts: int
    missing: int
    scores: list[float]  # graded: the ones the statistics describe
    mean: float | None
    median: float | None
    pass_rates: list[tuple[GradeCellInfo, int, int]]  # auto cell, passed, out of


def counted_students(students: list[StudentResult]) -> list[StudentResult]:
    """The students the statistics describe: the graded ones."""
    return [s for s in students if s.status == Status.GRADED]


def class_stats(cells: list[GradeCellInfo], students: list[StudentResult]) -> ClassStats:
    counted = counted_students(students)
    scores = [float(s.score) for s in counted]
    rates = []
    for info in cells:
        if info.manual:
            continue
        passed = sum(1 for s in counted if (c := s.cell(*info.key)) is not None and c.passed)
        rates.append((info, passed, len(counted)))
    return ClassStats(
        total=len(students),
        graded=sum(s.status == Status.GRADED for s in students),
        errors=sum(s.status == Status.ERROR for s in students),
        timeouts=sum(s.status == Status.TIMEOUT for s in students),
        missing=sum(s.status == Status.MISSING for s in students),
        scores=scores,
        mean=statistics.fmean(scores) if scores else None,
        median=statistics.median(scores) if scores else None,
        pass_rates=rates,
    )
