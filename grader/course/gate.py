"""The release's quality gate: generate the release into a scratch folder, prove the tests are right by running
them, and only then replace release/<assignment>/ (a failed gate leaves release/ as it was).

- static: valid nbgrader metadata, unique ids, no solution line or hidden test in the release; this course's
  conventions (no outputs in source/, test cells locked, solutions between markers) (grader/course/release.py);
- graded: the source earns full marks on every automatic cell (required); the untouched release earns exactly
  zero on every graded cell, automatic and written (a convention: no free points); both through the same
  normalize/execute/score as real grading, with the assignment's files.

What nbgrader's model requires is an error; a convention is a warning, or an error with STRICT_CONVENTIONS.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from nbformat import NotebookNode

from grader.config import Settings
from grader.course import release
from grader.course.release import Finding
from grader.grading.pipeline import execution_settings, grade_notebooks
from grader.intake.assignment import Assignment


@dataclass
class Verdict:
    """The gate's verdict on one assignment; `released`: release/<assignment>/ was replaced."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    released: bool = False


def regenerate_release(
    settings: Settings,
    assignment: str,
    *,
    grade_check: bool = True,
    use_sandbox: bool = True,
    workers: int | None = None,
) -> Verdict:
    """Generate release/<assignment>/ in a scratch folder and check it; replace release/<assignment>/ with it
    only if no error was found."""
    verdict = Verdict()
    with tempfile.TemporaryDirectory(prefix="liberacao-") as scratch:
        written = release.generate(settings, assignment, Path(scratch))
        findings: list[Finding] = []
        for path in written:
            findings += release.static_problems(settings.source_dir / assignment / path.name, path)
        _sort(settings, findings, verdict)
        if grade_check and not verdict.errors:
            _sort(
                settings,
                graded_problems(
                    settings, assignment, use_sandbox=use_sandbox, workers=workers, release_dir=Path(scratch)
                ),
                verdict,
            )
        if not verdict.errors:
            release.install(settings, assignment, Path(scratch))
            verdict.released = True
    return verdict


def _sort(settings: Settings, findings: list[Finding], verdict: Verdict) -> None:
    for finding in findings:
        is_error = not finding.convention or settings.strict_conventions
        (verdict.errors if is_error else verdict.warnings).append(str(finding))


def graded_problems(
    settings: Settings,
    assignment: str,
    *,
    use_sandbox: bool = True,
    workers: int | None = None,
    release_dir: Path | None = None,
) -> list[Finding]:
    loaded = Assignment.load(settings, assignment, release_dir)
    notebooks: dict[str, tuple[str, NotebookNode]] = {}
    for name in loaded.sources:
        notebooks[f"source/{name}"] = (name, loaded.sources[name])
        notebooks[f"release/{name}"] = (name, loaded.releases[name])
    workers = workers or min(len(notebooks), os.cpu_count() or 1)
    graded = grade_notebooks(
        loaded, notebooks, execution_settings(settings, workers, use_sandbox, loaded), workers
    )
    problems = []
    for label, result in graded.items():
        if result.flags:
            problems.append(Finding(f"{label}: sinalizado ({', '.join(result.flags)})"))
        for cell in result.cells.values():
            if label.startswith("source/") and not cell.manual and not cell.passed:
                problems.append(
                    Finding(f"{label}: a solução não ganha a nota cheia em {cell.grade_id!r}: {cell.message}")
                )
            if (
                label.startswith("release/")
                and not cell.task
                and (cell.score != 0 or cell.needs_manual_grade)
            ):
                problems.append(
                    Finding(
                        f"{label}: a liberação em branco ganha pontos em {cell.grade_id!r}", convention=True
                    )
                )
    return problems
