"""Tamper checks: what cannot be prevented inside the kernel is detected and held for review.

- Decoys: at grading time decoy cells are placed after the test cells. In an honest kernel each decoy fails
  with an error that carries a per-submission nonce. A decoy that shows no error means something neutralized
  failing code (input transformers, event hooks, a patched showtraceback or assertion helper, a fake torch):
  the submission is flagged `tampering` and its automatic score is held for review.
  Each test cell is followed by a decoy that checks the helpers it relies on (`assert`,
  `torch.testing.assert_close`, `np.testing.assert_allclose`, `torch.allclose`, `math.isclose`, ...): each must
  raise, and the decoy then fails on purpose; the last test's decoy checks every helper of the
  libraries the notebook's code mentions, so that a patch made anywhere before the end is seen too. A decoy
  carries, after its failing lines, the text of the test cell it follows, as dead code (under `if False:`):
  a hook that picks the cells to neutralize by their text or their syntax tree ("every cell that calls
  quadrado(") picks the decoys too.
- Sentinels: each test cell (in the copy that runs) ends with a line that publishes a nonce as display data.
  A test cell that shows neither an error nor its sentinel did not run to its end and yet reported no error:
  its failure was swallowed (a patched showtraceback that hides only some errors, a transformer that
  replaces the test) and the submission is flagged `tampering` as well. The sentinel line and its output are
  removed before the notebook is scored and saved. Cells whose last statement is an expression (nbgrader's
  partial credit reads its value) or that start with a cell magic get no sentinel.
- Audit: a static look at the code the student wrote for constructs that have no place in these exercises;
  each finding is a flag for a person to look at and never changes the score. `requires_review` names the
  findings that no honest answer needs (hooking IPython, patching a library, an `__eq__` that may always say
  yes): a caller may hold those for review too.
"""

from __future__ import annotations

import ast
import copy
import functools
import re
import secrets
import textwrap
from dataclasses import dataclass

import nbformat
from IPython.core.inputtransformer2 import TransformerManager
from nbformat import NotebookNode

from grader.normalize import is_locked, nbgrader_meta

TAMPERING = "tampering"
DECOY_KEY = "grader_decoy"
SENTINEL_MIME = "application/vnd.grader.sentinel"
KIND_DECOY, KIND_SENTINEL = "decoy", "sentinel"

# Each decoy must fail in an honest kernel, through a different mechanism a student could subvert; they read
# like the real tests so that a transformer cannot tell them apart. {ref} is the nonce. With each body, the
# pattern of the test code that relies on the same mechanism.
DECOYS = (
    ('assert 0.0 == 1.0, "esperado 1.0, obtido 0.0 (ref {ref})"', r"\bassert\b"),
    ('import torch\ntorch.testing.assert_close(torch.zeros(3), torch.ones(3), msg="valores diferentes (ref {ref})")',
     r"assert_close"),
    ('import numpy as np\nnp.testing.assert_allclose(np.zeros(3), np.ones(3), err_msg="valores diferentes (ref {ref})")',
     r"assert_allclose"),
    ('import torch\nassert torch.allclose(torch.zeros(3), torch.ones(3)), "tensores diferentes (ref {ref})"',
     r"(?<!assert_)allclose"),
    ('raise AssertionError("o resultado não confere (ref {ref})")', r"\braise\b"),
    ('import numpy as np\nassert np.array_equal(np.arange(3), np.arange(1, 4)), "arrays diferentes (ref {ref})"',
     r"array_equal"),
    ('import math\nassert math.isclose(0.0, 1.0), "valores diferentes (ref {ref})"', r"isclose"),
    ('import numpy as np\nassert np.allclose(np.zeros(3), np.ones(3)), "arrays diferentes (ref {ref})"',
     r"(?<!assert_)allclose"),
    ('import torch\nassert torch.equal(torch.zeros(3), torch.ones(3)), "tensores diferentes (ref {ref})"',
     r"\bequal\("),
    ('import numpy as np\nnp.testing.assert_array_equal(np.zeros(3), np.ones(3), err_msg="arrays diferentes (ref {ref})")',
     r"assert_(?:array_)?equal"),
    ('import torch\nassert bool((torch.zeros(3) == torch.ones(3)).all()), "tensores diferentes (ref {ref})"',
     r"\.(?:all|any)\(\)"),
)
DECOY_BODIES = tuple(body for body, _ in DECOYS)
# Output of a test cell that went over the kept-output cap (grader/execute.py): its sentinel may be lost.
_TRUNCATED = "saída truncada"


@dataclass(frozen=True)
class Decoy:
    """A check to make after execution: a decoy cell that must fail (KIND_DECOY), or a test cell whose
    sentinel (`suffix`, appended to its source) must show unless the cell failed (KIND_SENTINEL)."""

    cell_id: str
    ref: str
    kind: str = KIND_DECOY
    suffix: str = ""


def _is_test_cell(cell: NotebookNode) -> bool:
    meta = nbgrader_meta(cell)
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def _parses(source: str) -> ast.Module | None:
    try:
        return ast.parse(_transformer.transform_cell(source))
    except (SyntaxError, ValueError):
        return None


def _sentinel_suffix(source: str, ref: str) -> str:
    """The line to append to a test cell so that it proves it ran to its end; "" where none may go."""
    return _SENTINEL.format(ref=repr(ref)) if _sentinel_fits(source) else ""


_SENTINEL = (
    "\nimport IPython.display as _sinal_corretor\n"
    f"_sinal_corretor.publish_display_data({{{{{SENTINEL_MIME!r}: {{ref}}}}}})\n"
    "del _sinal_corretor"
)
_ANY_REF = "0" * 8  # where a suffix or a decoy fits does not depend on its ref: parsed once per test text


@functools.lru_cache(maxsize=1024)
def _sentinel_fits(source: str) -> bool:
    if source.lstrip().startswith("%%"):
        return False  # a cell magic would take the line as its own input
    tree = _parses(source)
    if tree is None:
        return False  # it fails when it runs: an error, nothing to prove
    last = tree.body[-1] if tree.body else None
    if isinstance(last, ast.Expr) and not (
        isinstance(last.value, ast.Call) and isinstance(last.value.func, ast.Name) and last.value.func.id == "print"
    ):
        return False  # its value is displayed, and nbgrader reads it as partial credit: leave the cell as it is
    return _parses(source + _SENTINEL.format(ref=repr(_ANY_REF))) is not None


_COUNTER = "_isca_falhas"


def _decoy_source(bodies: tuple[int, ...], test_source: str, ref: str) -> str:
    """The decoy after a test: every body of `bodies` (indices into DECOYS) must raise, and then the cell
    fails on purpose; a body that did not raise (a patched helper) or a cell that shows no error
    (a neutralized assert, a swallowed traceback) makes the decoy pass. Then the test's text as dead code
    (never run, even when the failing lines were neutralized: the decoy must then pass, whatever the
    student's answers). One cell per test rather than one per body: each cell costs the kernel ~10 ms."""
    live = _decoy_live(bodies)
    return live.format(ref=ref) + _dead_code(live, test_source)


@functools.lru_cache(maxsize=256)
def _decoy_live(bodies: tuple[int, ...]) -> str:
    lines = [f"{_COUNTER} = 0"]
    for body in bodies:
        # any error counts, as it did when each body was a cell of its own: a fake library's missing
        # method (AttributeError) must not stop the bodies after it from being checked
        lines += ["try:", textwrap.indent(DECOY_BODIES[body], "    "), "except Exception:",
                  f"    {_COUNTER} += 1"]
    lines.append(f'assert {_COUNTER} != {len(bodies)}, "as verificações falharam, como deviam (ref {{ref}})"')
    return "\n".join(lines)


@functools.lru_cache(maxsize=4096)
def _dead_code(live: str, test_source: str) -> str:
    if not test_source.strip() or test_source.lstrip().startswith("%%"):
        return ""
    dead = "\nif False:\n" + "\n".join("    " + line for line in test_source.splitlines())
    return dead if _parses(live.format(ref=_ANY_REF) + dead) is not None else ""


def _bodies_for(test_source: str) -> list[int]:
    """The decoy bodies that check the mechanisms `test_source` relies on (at least one)."""
    found = [i for i, (_, pattern) in enumerate(DECOYS) if re.search(pattern, test_source)]
    return found or [0]


# Libraries a decoy body imports, and how code that uses them names them: a notebook that never mentions a
# library gets no decoy that imports it (importing torch costs seconds; patching a library nobody calls
# changes no test).
_LIBRARY_NAMES = {"torch": r"\btorch\b", "numpy": r"\bnumpy\b|\bnp\."}


def _needed(body: str, code: str) -> bool:
    imported = re.match(r"import (\w+)", body)
    pattern = _LIBRARY_NAMES.get(imported.group(1)) if imported else None
    return pattern is None or re.search(pattern, code) is not None


def insert_decoys(nb: NotebookNode) -> list[Decoy]:
    """Put decoys after the test cells of `nb` and sentinels at their end (in place); the checks to make
    after execution.

    After each test cell, a decoy for each mechanism that test relies on (its assertion helpers), so that a
    patch or hook active while that test runs is active for its decoys too; after the last test cell, a
    decoy for every mechanism of the libraries the notebook mentions, so that any patch made before the end
    is seen whatever the tests use."""
    tests = [index for index, cell in enumerate(nb.cells) if _is_test_cell(cell)]
    code = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "code")
    checks: list[Decoy] = []
    cells: list[NotebookNode] = []
    for index, cell in enumerate(nb.cells):
        cells.append(cell)
        if index not in tests:
            continue
        test_source = cell.source
        ref = secrets.token_hex(4)
        suffix = _sentinel_suffix(test_source, ref)
        if suffix:
            cell.source += suffix
            checks.append(Decoy(cell.id, ref, KIND_SENTINEL, suffix))
        bodies = _bodies_for(test_source)
        if index == tests[-1]:
            bodies += [i for i in range(len(DECOYS)) if i not in bodies and _needed(DECOY_BODIES[i], code)]
        ref = secrets.token_hex(4)
        decoy = nbformat.v4.new_code_cell(_decoy_source(tuple(bodies), test_source, ref))
        decoy.id = f"{cell.id}-x"
        decoy.metadata[DECOY_KEY] = ref
        cells.append(decoy)
        checks.append(Decoy(decoy.id, ref))
    nb.cells = cells
    return checks


def _has_sentinel(output: NotebookNode) -> bool:
    return output.get("output_type") == "display_data" and SENTINEL_MIME in output.get("data", {})


def check_decoys(nb: NotebookNode, decoys: list[Decoy]) -> list[str]:
    """Remove the decoys and the sentinels from the executed `nb`; the refs of the checks that failed: decoys
    that did not fail as they must, test cells that neither failed nor reached their end."""
    expected = {d.cell_id: d for d in decoys if d.kind == KIND_DECOY}
    sentinels = {d.cell_id: d for d in decoys if d.kind == KIND_SENTINEL}
    passed, kept = [], []
    for cell in nb.cells:
        outputs = cell.get("outputs", [])
        errors = [o for o in outputs if o.get("output_type") == "error"]
        decoy = expected.get(cell.get("id"))
        if decoy is not None:
            # A decoy may also fail for another reason (a dead kernel, a timeout): it did not pass.
            if not errors:
                passed.append(decoy.ref)
            continue
        sentinel = sentinels.get(cell.get("id"))
        if sentinel is not None:
            if cell.source.endswith(sentinel.suffix):
                cell.source = cell.source[: -len(sentinel.suffix)]
            shown = any(_has_sentinel(o) and o["data"][SENTINEL_MIME] == sentinel.ref for o in outputs)
            truncated = any(o.get("output_type") == "stream" and _TRUNCATED in "".join(o.get("text", ""))
                            for o in outputs)
            if not shown and not errors and not truncated and cell.get("execution_count") is not None:
                passed.append(sentinel.ref)
            cell.outputs = [o for o in outputs if not _has_sentinel(o)]
        kept.append(cell)
    nb.cells = kept
    return passed


# --- static audit ------------------------------------------------------------------------------------------

SUSPICIOUS_MODULES = {
    "ctypes": "ctypes",
    "subprocess": "subprocesso",
    "socket": "rede",
    "urllib": "rede",
    "requests": "rede",
    "http": "rede",
    "httpx": "rede",
    "ftplib": "rede",
    "smtplib": "rede",
    "multiprocessing": "subprocesso",
    "importlib": "importlib",
    "gc": "gc",
    "inspect": "inspect",
    "signal": "sinais",
    "resource": "resource",
    "linecache": "introspecção",
    "ipykernel": "get_ipython()",
}
SUSPICIOUS_CALLS = {
    "get_ipython": "get_ipython()",
    "settrace": "sys.settrace",
    "setprofile": "sys.setprofile",
    "system": "subprocesso",
    "popen": "subprocesso",
    "fork": "subprocesso",
    "forkpty": "subprocesso",
    "execv": "subprocesso",
    "execve": "subprocesso",
    "spawnv": "subprocesso",
    "_exit": "os._exit",
    "kill": "sinais",
    "set_custom_exc": "get_ipython()",
    "_getframe": "introspecção",
    "currentframe": "introspecção",
}
SUSPICIOUS_ATTRIBUTES = {
    "builtins": "builtins",
    "__builtins__": "builtins",
    "environ": "os.environ",
    "input_transformers_cleanup": "get_ipython()",
    "input_transformers_post": "get_ipython()",
    "ast_transformers": "get_ipython()",
    "showtraceback": "showtraceback",
    "_showtraceback": "showtraceback",
    "showsyntaxerror": "showtraceback",
    "CustomTB": "showtraceback",
    "InteractiveShell": "get_ipython()",
    "run_cell": "get_ipython()",
    "run_cell_async": "get_ipython()",
    "__eq__": "__eq__ redefinido",
    "__ne__": "__eq__ redefinido",
    "__globals__": "introspecção",
    "__code__": "introspecção",
    "f_globals": "introspecção",
    "f_locals": "introspecção",
    "f_back": "introspecção",
    "f_code": "introspecção",
    "tb_frame": "introspecção",
}
# Libraries whose functions tests call: assigning to their attributes (`torch.allclose = ...`,
# `np.testing.assert_allclose = ...`, `torch.Tensor.__eq__ = ...`) changes what the tests see.
PATCHABLE_LIBRARIES = {"torch", "numpy", "math", "builtins", "IPython", "ipykernel", "unittest", "pytest",
                       "nbgrader", "operator", "functools", "sys", "traceback"}
# Settings that are ordinary to assign (reproducibility, printing) under those libraries.
_ALLOWED_LIBRARY_ASSIGNMENTS = ("torch.backends.", "numpy.random.", "sys.stdout", "sys.stderr", "sys.argv",
                                "sys.path", "sys.dont_write_bytecode")
# Line and cell magics (they become get_ipython().run_*_magic(...) calls) worth a look.
SUSPICIOUS_MAGICS = {"load_ext", "reload_ext", "run", "config", "alias_magic", "writefile", "load", "loadpy"}
# Absolute paths of the machine (the working copy is the only place a submission may touch) or a climb out.
_OUTSIDE_PATH = re.compile(r"^(?:~|/(?:home|root|etc|tmp|var|proc|sys|dev|mnt|srv|opt|work|usr|run|content)\b)"
                           r"|(?:^|/)\.\.(?:/|$)")
# Findings that no honest answer needs: a caller may hold them for review (see `requires_review`).
REVIEW_FINDINGS = frozenset({"get_ipython()", "showtraceback", "__eq__ redefinido", "altera biblioteca",
                             "builtins", "sys.settrace", "sys.setprofile"})
_transformer = TransformerManager()


def requires_review(flags: list[str]) -> bool:
    """Whether audit `flags` (as `audit` returns them) name something no honest answer does."""
    return any(flag.split(":", 1)[-1].strip() in REVIEW_FINDINGS for flag in flags)


def audit(nb: NotebookNode, release: NotebookNode) -> list[str]:
    """Flags (`auditoria: ...`) for the code the student wrote: cells of `nb` that are not locked and do
    not stand unchanged in the release."""
    released = {cell.source.strip() for cell in release.cells if cell.cell_type == "code"}
    findings: set[str] = set()
    for cell in nb.cells:
        if cell.cell_type != "code" or is_locked(cell) or cell.source.strip() in released:
            continue
        findings |= audit_source(cell.source)
    return [f"auditoria: {finding}" for finding in sorted(findings)]


def audit_source(source: str) -> set[str]:
    try:
        tree = ast.parse(_transformer.transform_cell(source))
    except (SyntaxError, ValueError):
        return set()  # it fails when it runs; nothing to audit
    # Magics (%timeit, !pip) become get_ipython() calls: only a get_ipython the student wrote counts.
    wrote_get_ipython = "get_ipython" in source
    libraries = _library_aliases(tree)
    findings: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for name in names:
                root = name.split(".")[0]
                if root in SUSPICIOUS_MODULES:
                    findings.add(f"importa {SUSPICIOUS_MODULES[root]}")
                if root == "builtins":
                    findings.add("builtins")
            if isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    if alias.name in SUSPICIOUS_CALLS:
                        findings.add(SUSPICIOUS_CALLS[alias.name])
        elif isinstance(node, ast.Call):
            name = _called_name(node.func)
            if name == "get_ipython" and not wrote_get_ipython:
                pass
            elif name in SUSPICIOUS_CALLS:
                findings.add(SUSPICIOUS_CALLS[name])
            if name in ("run_line_magic", "run_cell_magic") and node.args:
                magic = node.args[0]
                if isinstance(magic, ast.Constant) and magic.value in SUSPICIOUS_MAGICS:
                    findings.add(f"magia %{magic.value}")
            if name == "open" and any(_mentions_notebook(arg) for arg in node.args):
                findings.add("lê arquivos .ipynb")
            if name in ("exec", "eval", "compile", "__import__"):
                findings.add(f"{name}()")
            if name in ("setattr", "delattr") and node.args and _library_path(node.args[0], libraries):
                findings.add("altera biblioteca")
        elif isinstance(node, ast.Attribute):
            label = SUSPICIOUS_ATTRIBUTES.get(node.attr)
            if label:
                findings.add(label)
            if node.attr == "modules" and _library_path(node, libraries) == "sys.modules":
                findings.add("sys.modules")  # not model.modules(), an ordinary torch method
            if node.attr in ("register", "unregister", "callbacks") and isinstance(node.value, ast.Attribute) \
                    and node.value.attr == "events":
                findings.add("get_ipython()")  # IPython's event hooks (not the profiler's .events())
            if isinstance(node.ctx, ast.Store | ast.Del):
                path = _library_path(node, libraries)
                if path and not path.startswith(_ALLOWED_LIBRARY_ASSIGNMENTS):
                    findings.add("altera biblioteca")
        elif isinstance(node, ast.Name):
            if node.id == "__builtins__":
                findings.add("builtins")
            elif node.id in ("__eq__", "__ne__") and isinstance(node.ctx, ast.Store):
                findings.add("__eq__ redefinido")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if ".ipynb" in node.value or "gradebook" in node.value or "/source" in node.value:
                findings.add("lê arquivos do curso")
            elif _OUTSIDE_PATH.search(node.value):
                findings.add("caminho fora da pasta de trabalho")
            if node.value in ("__eq__", "__ne__"):
                findings.add("__eq__ redefinido")
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in ("__eq__", "__ne__"):
            findings.add("__eq__ redefinido")
    return findings


def _library_aliases(tree: ast.Module) -> dict[str, str]:
    """Name -> dotted library path, for the libraries of PATCHABLE_LIBRARIES as this code imports them
    (`import numpy as np`, `from torch import testing`), plus their usual names."""
    aliases = {"torch": "torch", "np": "numpy", "numpy": "numpy", "math": "math", "builtins": "builtins",
               "sys": "sys"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in PATCHABLE_LIBRARIES:
                    if alias.asname:
                        aliases[alias.asname] = alias.name
                    else:
                        root = alias.name.split(".")[0]
                        aliases[root] = root
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            if node.module.split(".")[0] in PATCHABLE_LIBRARIES:
                for alias in node.names:
                    aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return aliases


def _library_path(node: ast.expr, libraries: dict[str, str]) -> str:
    """`np.testing.assert_allclose` -> "numpy.testing.assert_allclose" when its root names a library."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in libraries:
        return ""
    return ".".join([libraries[node.id], *reversed(parts)])


def _called_name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _mentions_notebook(node: ast.expr) -> bool:
    return any(isinstance(n, ast.Constant) and isinstance(n.value, str) and ".ipynb" in n.value
               for n in ast.walk(node))


def with_decoys(nb: NotebookNode) -> tuple[NotebookNode, list[Decoy]]:
    """A copy of `nb` with decoys and sentinels, leaving the normalized notebook itself untouched."""
    decorated = copy.deepcopy(nb)
    return decorated, insert_decoys(decorated)
