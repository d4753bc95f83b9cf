"""The layout's rules hold: import-linter's contracts (pyproject.toml, [tool.importlinter]) on the code as it is."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    command = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or "lint-imports"
    return subprocess.run(
        [command, "--no-cache", "--no-logo"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": str(Path(sys.executable).parent), "PYTHONPATH": str(cwd)},
    )


def test_import_contracts_are_kept():
    run = _lint_imports(REPO)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout and "4 kept" in run.stdout


def test_an_import_against_the_layers_breaks_the_contracts(tmp_path):
    """The contracts can fail: the same code with a report imported by intake is refused."""
    copy = tmp_path / "repo"
    copy.mkdir()
    shutil.copy(REPO / "pyproject.toml", copy)
    shutil.copytree(REPO / "grader", copy / "grader", ignore=shutil.ignore_patterns("__pycache__"))
    ingest = copy / "grader" / "intake" / "ingest.py"
    ingest.write_text(ingest.read_text() + "\nfrom grader.report import moodle  # noqa\n")
    run = _lint_imports(copy)
    assert run.returncode != 0
    assert "grader.intake.ingest -> grader.report.moodle" in run.stdout


def _ruff(*args: str) -> subprocess.CompletedProcess:
    command = shutil.which("ruff", path=str(Path(sys.executable).parent)) or "ruff"
    return subprocess.run([command, *args], cwd=REPO, capture_output=True, text=True, timeout=120)


def test_ruff_finds_nothing():
    """`ruff check` with the project's rules (pyproject.toml) on every Python file; notebooks excluded."""
    run = _ruff("check", "--no-cache", ".")
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_code_is_formatted():
    """`ruff format --check`: the code is as the formatter writes it (run `ruff format .` to fix)."""
    run = _ruff("format", "--check", "--no-cache", ".")
    assert run.returncode == 0, run.stdout + run.stderr
