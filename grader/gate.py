"""The release's quality gate: regenerate release/, then prove the tests are right by running them.

- static: no outputs in source/, valid and unique nbgrader metadata, no solution line or hidden test in
  release/ (grader/release.py);
- graded: the source earns full marks on every automatic cell, the untouched release earns exactly zero on
  every graded cell (automatic and written), both through the same normalize/execute/score as real grading.
"""

from __future__ import annotations

import os

from nbformat import NotebookNode

from grader import release
from grader.config import Settings
from grader.pipeline import Assignment, execution_settings, grade_notebooks


def release_and_check(settings: Settings, assignment: str, *, grade_check: bool = True,
                      use_sandbox: bool = True, workers: int | None = None) -> list[str]:
    """Regenerate release/<assignment>/ and return what is wrong, one line each (empty: all good)."""
    written = release.generate(settings, assignment)
    problems = []
    for path in written:
        problems += release.static_problems(settings.source_dir / assignment / path.name, path)
    if grade_check and not problems:
        problems += graded_problems(settings, assignment, use_sandbox=use_sandbox, workers=workers)
    return problems


def graded_problems(settings: Settings, assignment: str, *, use_sandbox: bool = True,
                    workers: int | None = None) -> list[str]:
    loaded = Assignment.load(settings, assignment)
    notebooks: dict[str, tuple[str, NotebookNode]] = {}
    for name in loaded.sources:
        notebooks[f"source/{name}"] = (name, loaded.sources[name])
        notebooks[f"release/{name}"] = (name, loaded.releases[name])
    workers = workers or min(len(notebooks), os.cpu_count() or 1)
    graded = grade_notebooks(loaded, notebooks, execution_settings(settings, workers, use_sandbox, loaded.imports()), workers)
    problems = []
    for label, result in graded.items():
        if result.flags:
            problems.append(f"{label}: sinalizado ({', '.join(result.flags)})")
        for cell in result.cells.values():
            if label.startswith("source/") and not cell.manual and not cell.passed:
                problems.append(f"{label}: a solução não ganha a nota cheia em {cell.grade_id!r}: {cell.message}")
            if label.startswith("release/") and (cell.score != 0 or cell.needs_manual_grade):
                problems.append(f"{label}: a liberação em branco ganha pontos em {cell.grade_id!r}")
    return problems
