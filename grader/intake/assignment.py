"""An assignment as the grader reads it: its source and release notebooks (by name), the files nbgrader copies
with them, and what its code imports (what warm kernel servers import once)."""

from __future__ import annotations

import ast
import fnmatch
import importlib.util
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from grader.config import Settings
from grader.errors import UserError
from grader.model import CellResult
from grader.nbmeta import MARKERS, grader_title, is_graded_by_hand, is_test_cell, nbgrader_meta

# What a library imports only on first use, which every fresh kernel would pay again (torch 2.13): a tensor made
# on the "meta" device imports torch.fx's symbolic shapes and with them sympy (~490 modules, 0.5 s); running the
# profiler, torch.func's transforms or torch.compile import torch._dynamo as well (~340 more, 0.8 s): only code
# that uses one of those (DYNAMO_USES) gets it; the first figure imports the inline backend. Warm servers import
# them once. None starts a thread (checked with OMP_NUM_THREADS=1), so forking stays safe.
LAZY_IMPORTS = {
    "torch": (
        "torch._meta_registrations",
        "torch.fx.experimental.symbolic_shapes",
        "torch.utils.benchmark",
        "torch.profiler",
    ),
    "matplotlib.pyplot": ("matplotlib_inline.backend_inline", "matplotlib.backends.backend_agg"),
}
DYNAMO = "torch._dynamo"
DYNAMO_USES = ("profiler", "func", "compile")  # torch.<these>: a module imported, or an attribute of torch
# A test's memory measure (grader/kernels/standalone/inkernel/runtime.py's MEASURE_MARK): the test kernel never
# runs its body (the grader measures from outside; on a GPU it runs in the student's replay), so what it imports
# is not the test kernel's.
MEASURE_MARK = "_medida_externa"


def _run_nodes(tree: ast.AST, tests: bool):
    """The nodes of `tree`, without the bodies of a test's memory measures where `tests` (see MEASURE_MARK)."""
    for node in ast.iter_child_nodes(tree):
        measured = isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
            isinstance(d, ast.Name) and d.id == MEASURE_MARK for d in node.decorator_list
        )
        if tests and measured:
            continue
        yield node
        yield from _run_nodes(node, tests)


@dataclass
class Assignment:
    """An assignment's notebooks as instructors wrote them (source) and students received them (release)."""

    name: str
    sources: dict[str, NotebookNode]
    releases: dict[str, NotebookNode]
    settings: Settings | None = field(default=None, repr=False)
    _files: dict[str, bytes] | None = field(default=None, repr=False)

    @classmethod
    def load(cls, settings: Settings, name: str, release_dir: Path | None = None) -> Assignment:
        """`release_dir`: where the release notebooks are (default release/; the gate checks a fresh one)."""
        sources, releases = {}, {}
        for path in settings.source_notebooks(name):
            release_path = Path(release_dir or settings.release_dir) / name / path.name
            if not release_path.is_file():
                raise UserError(
                    f"falta a liberação {release_path}: rode `grader release {name}` antes de corrigir"
                )
            sources[path.stem] = nbformat.read(path, as_version=4)
            releases[path.stem] = nbformat.read(release_path, as_version=4)
        return cls(name, sources, releases, settings)

    @property
    def files(self) -> dict[str, bytes]:
        """The assignment's other files in source/<name>/ (data, images): relative path -> content; each kernel
        gets them in its working directory, as nbgrader copies them next to the notebook it grades. Read on
        first use: finding them imports nbgrader (1 s), which `grader grade` pays after its kernels start."""
        if self._files is None:
            self._files = assignment_files(self.settings, self.name) if self.settings is not None else {}
        return self._files

    @property
    def multi_notebook(self) -> bool:
        return len(self.sources) > 1

    def imports(self, tests: bool | None = None) -> tuple[str, ...]:
        """Modules the solution imports (of packages installed here): what a warm server imports once, for
        every kernel it forks. `tests`: only those of the test cells (True: what the test kernel needs) or of
        the others (False: the student's kernel); None: all."""
        found, dynamo = set(), False
        for nb in self.sources.values():
            for cell in nb.cells:
                if cell.cell_type != "code" or (tests is not None and is_test_cell(cell) != tests):
                    continue
                try:
                    tree = ast.parse(cell.source)
                except SyntaxError:
                    continue
                for node in _run_nodes(tree, tests is True):
                    if isinstance(node, ast.Import):
                        found.update(alias.name for alias in node.names)
                    elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                        # `from torch.utils import benchmark`: maybe a submodule (the zygote skips what is not)
                        found.add(node.module)
                        found.update(f"{node.module}.{alias.name}" for alias in node.names)
                    elif (  # torch.compile(...), torch.func.grad(...), torch.profiler.profile(...)
                        isinstance(node, ast.Attribute)
                        and isinstance(node.value, ast.Name)
                        and node.value.id == "torch"
                        and node.attr in DYNAMO_USES
                    ):
                        dynamo = True
        dynamo = dynamo or any(m.split(".")[:2] in (["torch", use] for use in DYNAMO_USES) for m in found)
        for library, lazy in LAZY_IMPORTS.items():
            if library in found:
                found.update(lazy)
        if dynamo:
            found.add(DYNAMO)
        return tuple(sorted(m for m in found if importlib.util.find_spec(m.split(".")[0]) is not None))

    def exercises(self) -> dict[tuple[str, str], str]:
        """Every nbgrader cell (graded, task or answer), by (notebook, grade_id) -> the title of its exercise: the
        nearest heading above it (the last one of a markdown cell that holds a list's heading and then its first
        exercise's), after the notebook's name in an assignment of several notebooks."""
        found = {}
        for nb_name, nb in self.sources.items():
            title = ""
            for cell in nb.cells:
                if cell.cell_type == "markdown":
                    title = (_headings(cell.source) or [title])[-1]
                meta = nbgrader_meta(cell)
                if meta.get("grade_id") and (meta.get("grade") or meta.get("solution") or meta.get("task")):
                    found[nb_name, meta["grade_id"]] = (
                        f"{nb_name} — {title}" if self.multi_notebook else title
                    )
        return found

    def titles(self) -> dict[tuple[str, str], str]:
        """The titles written for students in the source notebooks' graded cells (`metadata["grader"]["title"]`),
        by (notebook, grade_id); cells without one are left out. Never read from a submission."""
        return {
            (nb_name, nbgrader_meta(cell)["grade_id"]): grader_title(cell)
            for nb_name, nb in self.sources.items()
            for cell in nb.cells
            if nbgrader_meta(cell).get("grade_id") and grader_title(cell)
        }

    def tested_answers(self) -> dict[tuple[str, str], str]:
        """Each test cell, by (notebook, grade_id) -> the grade_id of the answer it checks: the nearest answer
        cell above it in the source notebook (the exercise's)."""
        found = {}
        for nb_name, nb in self.sources.items():
            answer = ""
            for cell in nb.cells:
                meta = nbgrader_meta(cell)
                if meta.get("solution") and meta.get("grade_id"):
                    answer = meta["grade_id"]
                elif is_test_cell(cell) and answer:
                    found[nb_name, meta["grade_id"]] = answer
        return found

    def grade_cells(self) -> list[CellResult]:
        """Every cell nbgrader grades (grade cells and tasks), in notebook order, scored zero: the shape of a
        result that earned nothing."""
        cells = []
        for nb_name, nb in self.sources.items():
            for cell in nb.cells:
                meta = nbgrader_meta(cell)
                if meta.get("grade") or meta.get("task"):
                    manual = is_graded_by_hand(cell)
                    cells.append(
                        CellResult(
                            meta["grade_id"],
                            nb_name,
                            0.0,
                            float(meta.get("points", 0)),
                            False,
                            manual=manual,
                            task=bool(meta.get("task")) and not meta.get("grade"),
                        )
                    )
        return cells


_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.+?)\s*#*\s*$")


def _headings(markdown: str) -> list[str]:
    """The headings of a markdown cell, in order, as plain text (code fences and nbgrader's "### BEGIN SOLUTION"
    markers skipped, backticks dropped)."""
    found, fenced = [], False
    for line in markdown.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced and (match := _HEADING.match(line)) and match.group(2) not in MARKERS:
            found.append(match.group(2).replace("`", "").strip())
    return found


# nbgrader's CourseDirectory.ignore default
NBGRADER_IGNORE = (".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback")


def assignment_files(settings: Settings, name: str) -> dict[str, bytes]:
    """The files nbgrader copies with an assignment's notebooks (generate_assignment into release/, autograde
    next to the graded notebook): everything in source/<name>/ but notebooks and CourseDirectory.ignore, by
    nbgrader's rule (utils.find_all_files: a file or folder whose name matches a pattern is left out). Written
    here rather than imported: importing nbgrader takes 2.5 s, which `grader grade` would pay before its first
    notebook runs."""
    from grader.nbgrader_app import nbgrader_config

    config = nbgrader_config(settings).CourseDirectory
    ignore = [*(config.ignore if "ignore" in config else NBGRADER_IGNORE), "*.ipynb"]
    folder = settings.source_dir / name
    found = {}
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not any(fnmatch.fnmatch(d, pattern) for pattern in ignore))
        for file in names:
            if not any(fnmatch.fnmatch(file, pattern) for pattern in ignore):
                path = Path(root, file)
                found[path.relative_to(folder).as_posix()] = path.read_bytes()
    return dict(sorted(found.items()))
