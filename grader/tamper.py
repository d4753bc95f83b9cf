"""Tamper checks: what cannot be prevented inside the kernel is detected and held for review.

- Decoys: at grading time a decoy cell is placed after every test cell. In an honest kernel each decoy fails
  with an error that carries a per-submission nonce. A decoy that shows no error means something neutralized
  failing code (input transformers, event hooks, a patched showtraceback or assertion helper, a fake torch):
  the submission is flagged `tampering` and its automatic score is held for review.
- Audit: a static look at the code the student wrote for constructs that have no place in these exercises;
  each finding is a flag for a person to look at and never changes the score.
"""

from __future__ import annotations

import ast
import copy
import secrets
from dataclasses import dataclass

import nbformat
from IPython.core.inputtransformer2 import TransformerManager
from nbformat import NotebookNode

from grader.normalize import is_locked, nbgrader_meta

TAMPERING = "tampering"
DECOY_KEY = "grader_decoy"

# Each decoy must fail in an honest kernel, through a different mechanism a student could subvert; they read
# like the real tests so that a transformer cannot tell them apart. {ref} is the nonce.
DECOY_BODIES = (
    'assert 0.0 == 1.0, "esperado 1.0, obtido 0.0 (ref {ref})"',
    'import torch\ntorch.testing.assert_close(torch.zeros(3), torch.ones(3), msg="valores diferentes (ref {ref})")',
    'import numpy as np\nnp.testing.assert_allclose(np.zeros(3), np.ones(3), err_msg="valores diferentes (ref {ref})")',
    'import torch\nassert torch.allclose(torch.zeros(3), torch.ones(3)), "tensores diferentes (ref {ref})"',
    'raise AssertionError("o resultado não confere (ref {ref})")',
    'import numpy as np\nassert np.array_equal(np.arange(3), np.arange(1, 4)), "arrays diferentes (ref {ref})"',
)


@dataclass(frozen=True)
class Decoy:
    cell_id: str
    ref: str


def insert_decoys(nb: NotebookNode) -> list[Decoy]:
    """Put a decoy after every test cell of `nb` (in place); the decoys to check after execution."""
    decoys: list[Decoy] = []
    cells: list[NotebookNode] = []
    for cell in nb.cells:
        cells.append(cell)
        meta = nbgrader_meta(cell)
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            ref = secrets.token_hex(4)
            body = DECOY_BODIES[len(decoys) % len(DECOY_BODIES)].format(ref=ref)
            decoy = nbformat.v4.new_code_cell(body)
            decoy.id = f"{cell.id}-x"
            decoy.metadata[DECOY_KEY] = ref
            cells.append(decoy)
            decoys.append(Decoy(decoy.id, ref))
    nb.cells = cells
    return decoys


def check_decoys(nb: NotebookNode, decoys: list[Decoy]) -> list[str]:
    """Remove the decoys from the executed `nb`; the refs of those that did not fail as they must."""
    expected = {d.cell_id: d.ref for d in decoys}
    passed, kept = [], []
    for cell in nb.cells:
        if cell.get("id") not in expected:
            kept.append(cell)
            continue
        errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
        # A decoy may also fail for another reason (a dead kernel, a timeout): it did not pass.
        if not errors:
            passed.append(expected[cell.id])
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
}
SUSPICIOUS_ATTRIBUTES = {
    "modules": "sys.modules",
    "builtins": "builtins",
    "__builtins__": "builtins",
    "environ": "os.environ",
    "input_transformers_cleanup": "get_ipython()",
    "input_transformers_post": "get_ipython()",
    "ast_transformers": "get_ipython()",
    "showtraceback": "showtraceback",
    "events": "get_ipython()",
    "__eq__": "__eq__ redefinido",
    "__globals__": "introspecção",
    "__code__": "introspecção",
    "f_globals": "introspecção",
    "f_back": "introspecção",
}
_transformer = TransformerManager()


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
    except SyntaxError:
        return set()  # it fails when it runs; nothing to audit
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
        elif isinstance(node, ast.Call):
            name = _called_name(node.func)
            if name in SUSPICIOUS_CALLS:
                findings.add(SUSPICIOUS_CALLS[name])
            if name == "register" and "events" in ast.unparse(node.func):
                findings.add("get_ipython()")
            if name == "open" and any(_mentions_notebook(arg) for arg in node.args):
                findings.add("lê arquivos .ipynb")
            if name in ("exec", "eval", "compile", "__import__"):
                findings.add(f"{name}()")
        elif isinstance(node, ast.Attribute):
            label = SUSPICIOUS_ATTRIBUTES.get(node.attr)
            if label:
                findings.add(label)
        elif isinstance(node, ast.Name) and node.id == "__builtins__":
            findings.add("builtins")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if ".ipynb" in node.value or "gradebook" in node.value or "/source" in node.value:
                findings.add("lê arquivos do curso")
        elif isinstance(node, ast.FunctionDef) and node.name == "__eq__":
            findings.add("__eq__ redefinido")
    return findings


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
    """A copy of `nb` with decoys, leaving the normalized notebook itself untouched."""
    decorated = copy.deepcopy(nb)
    return decorated, insert_decoys(decorated)
