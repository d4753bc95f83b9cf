"""A static look at the student's code, for a person.

Test cells run in the trusted test kernel (grader/kernels/standalone/inkernel/runtime.py), and the tests that read
code or measure memory check the notebook's text in the replay: patching, hooking or rewriting anything in the
student's kernel changes only the values it returns, which is what is being graded. No verdict input is
measured inside the student's kernel, so nothing is held for review; the audit looks at the code the student
wrote for constructs that have no place in these exercises, and each finding is a flag for a person to look at
that never changes a score.
"""

from __future__ import annotations

import ast
import re

from IPython.core.inputtransformer2 import TransformerManager
from nbformat import NotebookNode

from grader.model import Flag, FlagKind
from grader.nbmeta import is_locked

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
_transformer = TransformerManager()


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


# A line IPython's token pass may rewrite: it starts with an escape (`%time f()`, `!ls`, `?f`, and `/f a`,
# `,f a`, `;f a`), ends with `?` (`f?`), or assigns one (`x = %time f()`, `a[0] = !ls`). A plain scan: linear.
_ASSIGNED_ESCAPE = re.compile(r"=[ \t]*[%!]")
_AT_MOST = (
    5000  # lines rewritten one by one in a cell; past it the cell is not read (an audit, not a verdict)
)


def _maybe_ipython(line: str) -> bool:
    body = line.lstrip(" \t")
    return (
        body[:1] in ("%", "!", "?", "/", ",", ";")
        or body.rstrip().endswith("?")
        or bool("=" in body and _ASSIGNED_ESCAPE.search(body))
    )


def as_python(source: str) -> str:
    """The cell as IPython runs it, in time linear in its size. IPython's token pass reads the whole cell again
    after each rewrite: a cell of a thousand magics took minutes, and the audit runs in the process that grades
    the class. So IPython's own steps run in order (blank lines, indentation, prompts, a `%%` cell magic: each
    reads the cell once), and its token pass runs on each line that may need it, on its own. When that does
    not parse where IPython's whole-cell pass would (a magic continued on the next line), a small cell gets
    IPython's pass."""
    try:
        ast.parse(source)
        return source
    except (SyntaxError, ValueError):
        pass
    cell = source if source.endswith("\n") else source + "\n"
    lines = cell.splitlines(keepends=True)  # as IPython splits it
    for transform in _transformer.cleanup_transforms + _transformer.line_transforms:
        lines = transform(lines)
    marked = [_maybe_ipython(line) for line in lines]
    if sum(marked) > _AT_MOST:
        return source
    text = "".join(
        "".join(_transformer.do_token_transforms([line])) if mark else line
        for line, mark in zip(lines, marked, strict=True)
    )
    if len(source) <= 100_000 and sum(marked) <= 20:
        try:
            ast.parse(text)
        except (SyntaxError, ValueError):
            return _transformer.transform_cell(source)
    return text


def audit_source(source: str) -> set[str]:
    try:
        tree = ast.parse(as_python(source))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()  # it fails when it runs (or nests too deep to read): nothing to audit
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
