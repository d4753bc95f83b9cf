"""Incremental grading: grading a class again regrades only the submissions whose grade could change.

A submission's grade is decided by four things, each hashed here from the bytes the grader itself reads, never
from anything the submission says about itself:

- submission  the submitted notebooks' bytes as ingested, under the assignment notebook each one grades;
- assignment  source/<assignment>/ (notebooks with their tests, data files) and release/<assignment>/;
- settings    what the kernels run with that can change a grade: time limits, the sandbox and its limits,
              outputs kept, the transfer limit, the device (not the number of workers, threads or warm kernels);
- grader      the grader package's own .py files (its templates only shape the reports, always rebuilt), this
              Python and the versions of the installed packages (the student's code runs with them).

The key is saved with the result, in autograded/<student>/<assignment>/resultado.json, by the one writer thread
(autograded/ is never visible inside the sandbox). The next run reuses that result (executed notebooks,
gradebook rows, scores) when the key is the same, the executed notebooks are the ones saved (their hashes are
stored beside the key) and the gradebook still holds the stored automatic scores. Anything else, a missing,
unreadable or inconsistent result included, is regraded, never trusted. A result saved without a key (a
machine failure: the kernel never started, the Dask cluster lost the task) is always regraded.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sys
import sysconfig
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict
from importlib import metadata
from pathlib import Path

from grader.intake import ingest
from grader.intake.assignment import Assignment
from grader.intake.entries import Unreadable
from grader.kernels.execute import ExecutionSettings
from grader.model import RESULT_FILE, StudentResult

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # the grader package
# The key's parts, in the order a regrade's reason is told: what changes for the whole class first.
PARTS = ("grader", "settings", "assignment", "submission")
# ExecutionSettings fields that change how fast or where a kernel runs, never what it computes.
NOT_GRADING = ("gpu", "threads", "warm", "preload", "test_preload")

# Why a submission was graded again: (one, several) for the terminal line, "{n}" the count; in the line's order,
# what changes for the whole class first.
REASONS = {
    "grader": ("{n} pelo corretor alterado", "{n} pelo corretor alterado"),
    "settings": ("{n} pelas configurações alteradas", "{n} pelas configurações alteradas"),
    "assignment": ("{n} pela atividade alterada", "{n} pela atividade alterada"),
    "submission": ("{n} envio mudou", "{n} envios mudaram"),
    "new": ("{n} sem correção anterior", "{n} sem correção anterior"),
    "damaged": (
        "{n} correção anterior ilegível ou incompleta",
        "{n} correções anteriores ilegíveis ou incompletas",
    ),
    "not_reusable": (
        "{n} correção anterior não reaproveitável (falha da máquina ou versão antiga do corretor)",
        "{n} correções anteriores não reaproveitáveis (falha da máquina ou versão antiga do corretor)",
    ),
    "gradebook": ("{n} diferente do gradebook", "{n} diferentes do gradebook"),
    "force": ("{n} pedida com --force", "{n} pedidas com --force"),
}


def _digest(items: Iterable[tuple[str, bytes]]) -> str:
    """One hash of named byte strings; each name and length is hashed too, so no two sequences collide."""
    digest = hashlib.sha256()
    for name, data in items:
        encoded = name.encode()
        digest.update(len(encoded).to_bytes(8, "little") + encoded + len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


def _package_files(package: Path) -> Iterable[tuple[str, bytes]]:
    for path in sorted(package.rglob("*.py")):
        if "__pycache__" not in path.parts:
            yield path.relative_to(package).as_posix(), path.read_bytes()


def _environment() -> bytes:
    """This Python and the packages installed in its environment (read from site-packages, not sys.path: importing
    setuptools adds the packages it vendors there)."""
    folders = sorted({sysconfig.get_paths()[kind] for kind in ("purelib", "platlib")})
    dists = metadata.distributions(path=folders)
    versions = sorted({f"{d.metadata['Name']}=={d.version}".lower() for d in dists})
    return "\n".join([sys.version, *versions]).encode()


@functools.cache
def _grader_fingerprint(package: Path) -> str:
    return _digest([*_package_files(package), ("environment", _environment())])


def grader_fingerprint() -> str:
    """The grader's code and environment (read once per process, for the package where it is now)."""
    return _grader_fingerprint(PACKAGE_DIR)


def settings_fingerprint(execution: ExecutionSettings, device: str) -> str:
    values = {k: v for k, v in asdict(execution).items() if k not in NOT_GRADING}
    values["device"] = device
    return _digest([("settings", json.dumps(values, sort_keys=True, default=str).encode())])


def assignment_fingerprint(assignment: Assignment) -> str:
    settings = assignment.settings
    items = []
    for path in settings.source_notebooks(assignment.name):
        items.append((f"source/{path.name}", path.read_bytes()))
        release = settings.release_dir / assignment.name / path.name
        items.append((f"release/{path.name}", release.read_bytes()))
    items += [(f"files/{name}", data) for name, data in assignment.files.items()]
    return _digest(items)


def submission_fingerprint(student: ingest.StudentSubmission) -> str:
    """The submitted notebooks' bytes; a file the grader will not read (over its size limit, damaged) counts by
    why, which names its size and the limit."""
    items = []
    for name in sorted(student.notebooks):
        try:
            items.append((name, student.notebooks[name].read()))
        except Unreadable as exc:
            items.append((f"{name} (não lido)", str(exc).encode()))
    return _digest(items)


def class_key(assignment: Assignment, execution: ExecutionSettings, device: str) -> dict[str, str]:
    """The key's parts that every student of this run shares."""
    return {
        "grader": grader_fingerprint(),
        "settings": settings_fingerprint(execution, device),
        "assignment": assignment_fingerprint(assignment),
    }


def student_key(shared: dict[str, str], student: ingest.StudentSubmission) -> dict[str, str]:
    return {**shared, "submission": submission_fingerprint(student)}


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def stored_result(
    folder: Path, key: dict[str, str], notebooks: list[str]
) -> tuple[StudentResult | None, str]:
    """The result saved in `folder` when it was graded under `key` and its executed notebooks (`notebooks`) are
    the ones saved with it; else None and why it cannot be reused (a key of REASONS)."""
    path = folder / RESULT_FILE
    if not path.is_file():
        return None, "new"
    try:
        old = StudentResult.load(path)
    # damaged, cut short, or of another shape: nbformat and json fail in many ways
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None, "damaged"
    # reusable: recorded in the gradebook, or refused before running (a notebook that could not be read)
    if not old.grading_key or not (old.recorded or old.problem) or not isinstance(old.graded_files, dict):
        return None, "not_reusable"
    changed = next((part for part in PARTS if old.grading_key.get(part) != key[part]), None)
    if changed:
        return None, changed
    if sorted(old.graded_files) != sorted(notebooks if old.recorded else []):
        return None, "damaged"
    for name, digest in old.graded_files.items():
        try:
            if file_digest(folder / f"{name}.ipynb") != digest:
                return None, "damaged"
        except OSError:
            return None, "damaged"
    return old, ""


def agrees_with_gradebook(result: StudentResult, grades: dict[tuple[str, str], float | None] | None) -> bool:
    """Whether the gradebook still holds this result: the submission, a grade for each of its cells and, for
    each cell graded automatically, the same automatic score. Manual grades are a person's, never compared."""
    if grades is None:
        return False
    for cell in result.cells.values():
        if cell.key not in grades:
            return False
        if cell.manual or cell.task:
            continue
        if grades[cell.key] is None or abs(grades[cell.key] - cell.score) > 1e-9:
            return False
    return True


# What grading decided, taken from the stored result; the rest (names, Moodle identity, submission time, the
# notes of reading the submission) is this run's.
GRADED_FIELDS = (
    "status",
    "flags",
    "cells",
    "seconds",
    "sandboxed",
    "recorded",
    "problem",
    "missing_notebooks",
    "grading_key",
    "graded_files",
)


def carry_over(fresh: StudentResult, old: StudentResult) -> StudentResult:
    """`fresh` (this run's identity, time and intake notes) with the grade of `old`."""
    for name in GRADED_FIELDS:
        setattr(fresh, name, getattr(old, name))
    fresh.intake_notes = len(fresh.notes)
    fresh.notes = fresh.notes + old.notes[old.intake_notes :]
    return fresh


def summary(total: int, reasons: dict[str, str], named: list[str] | None = None) -> str:
    """The terminal's line: how many results were reused, and why the others were graded again."""
    if named:
        return f"corrigidos só os alunos pedidos com --student ({', '.join(named)}); os outros ficaram como estavam"
    reused = total - len(reasons)
    line = f"reaproveitadas {reused} de {total} correções"
    if not reasons:
        return line + " (nada mudou; --force corrige tudo de novo)"
    counts = Counter(reasons.values())
    told = [REASONS[why][counts[why] > 1].format(n=counts[why]) for why in REASONS if counts[why]]
    return f"{line}; corrigidas {len(reasons)}: {', '.join(told)}"
