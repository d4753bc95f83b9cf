"""What the student's kernel could still forge, and a static look at the student's code for a person.

Test cells run in the trusted test kernel (grader/kernels/standalone/inkernel/runtime.py): patching, hooking or rewriting
anything in the student's kernel changes only the values it returns, which is what is being graded. A test's
`@_medida_externa` memory measure is read from outside the student's process on the CPU; on a GPU it runs in
the student's kernel, the one verdict input measured there: with a GPU, code that does what no honest answer
needs (`requires_review`) has those cells held for a person to review (`hold_measured_cells`); the rest of
its grade stands.

The audit looks at the code the student wrote for constructs that have no place in these exercises; each
finding is a flag for a person to look at and never changes another score.
"""

from __future__ import annotations

import ast
import re
from dataclasses import replace

from IPython.core.inputtransformer2 import TransformerManager
from nbformat import NotebookNode

from grader.model import Flag, FlagKind
from grader.nbmeta import is_locked, nbgrader_meta

MEASURE_MARK = "_medida_externa"  # runtime.py's MEASURE_MARK: on a GPU, measured in the student's kernel
HELD_MESSAGE = (
    "retida para revisão: medida na GPU pelo ambiente do aluno, cujo código mexe no IPython, em bibliotecas "
    "ou em __eq__"
)


def hold_measured_cells(nb: NotebookNode, cells: dict) -> list[str]:
    """Hold (score 0, manual review) the test cells of `nb` whose verdict uses a measurement made in the
    student's kernel (on a GPU); their grade ids."""
    held = []
    for cell in nb.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if (
            cell.cell_type == "code"
            and grade_id in cells
            and f"@{MEASURE_MARK}" in cell.source
            and not cells[grade_id].manual
        ):
            cells[grade_id] = replace(
                cells[grade_id], score=0.0, passed=False, needs_manual_grade=True, message=HELD_MESSAGE
            )
            held.append(grade_id)
    return held


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
PATCHABLE_LIBRARIES = {
    "torch",
    "numpy",
    "math",
    "builtins",
    "IPython",
    "ipykernel",
    "unittest",
    "pytest",
    "nbgrader",
    "operator",
    "functools",
    "sys",
    "traceback",
}
# Settings that are ordinary to assign (reproducibility, printing) under those libraries.
_ALLOWED_LIBRARY_ASSIGNMENTS = (
    "torch.backends.",
    "numpy.random.",
    "sys.stdout",
    "sys.stderr",
    "sys.argv",
    "sys.path",
    "sys.dont_write_bytecode",
)
# Line and cell magics (they become get_ipython().run_*_magic(...) calls) worth a look.
SUSPICIOUS_MAGICS = {"load_ext", "reload_ext", "run", "config", "alias_magic", "writefile", "load", "loadpy"}
# Absolute paths of the machine (the working copy is the only place a submission may touch) or a climb out.
_OUTSIDE_PATH = re.compile(
    r"^(?:~|/(?:home|root|etc|tmp|var|proc|sys|dev|mnt|srv|opt|work|usr|run|content)\b)"
    r"|(?:^|/)\.\.(?:/|$)"
)
# Findings that no honest answer needs: a caller may hold them for review (see `requires_review`).
REVIEW_FINDINGS = frozenset(
    {
        "get_ipython()",
        "showtraceback",
        "__eq__ redefinido",
        "altera biblioteca",
        "builtins",
        "sys.settrace",
        "sys.setprofile",
    }
)
_transformer = TransformerManager()


def requires_review(flags: list[Flag]) -> bool:
    """Whether audit `flags` (as `audit` returns them) name something no honest answer does."""
    return any(flag.kind is FlagKind.AUDIT and flag.detail in REVIEW_FINDINGS for flag in flags)


def audit(nb: NotebookNode, release: NotebookNode) -> list[Flag]:
    """Flags (`auditoria: ...`) for the code the student wrote: cells of `nb` that are not locked and do
    not stand unchanged in the release."""
    released = {cell.source.strip() for cell in release.cells if cell.cell_type == "code"}
    findings: set[str] = set()
    for cell in nb.cells:
        if cell.cell_type != "code" or is_locked(cell) or cell.source.strip() in released:
            continue
        findings |= audit_source(cell.source)
    return [Flag(FlagKind.AUDIT, finding) for finding in sorted(findings)]


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
            names = (
                [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            )
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
            if (
                node.attr in ("register", "unregister", "callbacks")
                and isinstance(node.value, ast.Attribute)
                and node.value.attr == "events"
            ):
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
    aliases = {
        "torch": "torch",
        "np": "numpy",
        "numpy": "numpy",
        "math": "math",
        "builtins": "builtins",
        "sys": "sys",
    }
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
    return any(
        isinstance(n, ast.Constant) and isinstance(n.value, str) and ".ipynb" in n.value
        for n in ast.walk(node)
    )
