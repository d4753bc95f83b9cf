"""What the submitted notebook's text binds, read in the trusted test kernel (T): the source a structure check
reads comes from here, never from the student's kernel.

A test cell that reads a student function's code (no loop, one loop, uses autograd) gets the text of the last
plain `def` of that name in the notebook's cells before the test: a top-level `def` with no decorator, not
rebound afterwards (an assignment, an import, a class, `global` in a function, `f.__code__ = ...`). A name the
text binds some other way has no readable source, and the check says so; the student's kernel is never asked,
since everything it says about itself could be forged.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

# attributes whose assignment changes what calling a function runs
_REBINDING_ATTRIBUTES = {
    "__code__",
    "__wrapped__",
    "__call__",
    "__defaults__",
    "__kwdefaults__",
    "__globals__",
}


@dataclass(frozen=True)
class Binding:
    """How the notebook's text last binds a name before a test.

    kind: "def" (a plain def: `cell`, `first`/`last` its 0-based lines in that cell), "import" (`module`: where
    it comes from), or "other" (`callable`: a lambda, a class or a decorated def; `why`: said to the student)."""

    kind: str
    cell: int = -1
    first: int = 0
    last: int = 0
    module: str = ""
    callable: bool = False
    why: str = ""


def parse_cell(text: str) -> tuple[ast.Module | None, str]:
    """The cell as Python and the text parsed (line numbers refer to it): the cell itself, or, when it has
    IPython's magics or shell escapes, IPython's translation of them into calls. None if it does not parse
    (then the student's kernel failed on it too, and it bound nothing)."""
    for attempt in range(2):
        if attempt:
            try:
                from IPython.core.inputtransformer2 import TransformerManager

                text = TransformerManager().transform_cell(text)
            except Exception:  # noqa: BLE001 (IPython missing or a transformer error: no other text to try)
                break
        try:
            return ast.parse(text), text
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
    return None, text


def bindings(cells: list[tuple[int, ast.Module | None]]) -> dict[str, Binding]:
    """name -> its last binding in these cells (index, parsed cell), in order."""
    found: dict[str, Binding] = {}
    rebound: dict[str, Binding] = {}  # anywhere, at any time before the test: never a plain def again
    aliases: dict[str, set[str]] = {}  # `g = f`: changing g.__code__ changes f
    for index, tree in cells:
        if tree is None:
            continue
        for statement in tree.body:
            if isinstance(statement, ast.FunctionDef) and not statement.decorator_list:
                found[statement.name] = Binding(
                    "def", cell=index, first=statement.lineno - 1, last=statement.end_lineno - 1
                )
            elif isinstance(statement, ast.Delete):
                for target in statement.targets:
                    if isinstance(target, ast.Name):
                        found.pop(target.id, None)
            else:
                found.update(_bound(statement, top=True))
        for node in ast.walk(tree):
            if isinstance(node, ast.Global):
                for name in node.names:
                    rebound[name] = Binding(
                        "other", callable=True, why="é redefinida dentro de uma função (global)"
                    )
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Name):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        aliases.setdefault(target.id, set()).add(node.value.id)
            if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
                for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                    for part in ast.walk(target):
                        if (
                            isinstance(part, ast.Attribute)
                            and part.attr in _REBINDING_ATTRIBUTES
                            and isinstance(part.value, ast.Name)
                        ):
                            why = f"tem o atributo {part.attr} trocado"
                            for name in {part.value.id, *aliases.get(part.value.id, ())}:
                                rebound[name] = Binding("other", callable=True, why=why)
    return {**found, **rebound}


def _bound(node: ast.AST, top: bool = False) -> dict[str, Binding]:
    """What a top-level statement other than a plain def binds: inside compound statements too (a def under
    `if` is not plain), never inside a function's, a class's or a comprehension's own scope."""
    found: dict[str, Binding] = {}
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        if isinstance(node, ast.ClassDef):
            why = "é uma classe"
        elif node.decorator_list:
            why = "tem decoradores"
        elif isinstance(node, ast.AsyncFunctionDef):
            why = "é assíncrona"
        else:
            why = "não está no nível de cima da célula"
        return {node.name: Binding("other", callable=True, why=why)}
    if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
        return found
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        for alias in node.names:
            if alias.name == "*":
                continue
            if isinstance(node, ast.ImportFrom):
                name, module = alias.asname or alias.name, "." * node.level + (node.module or "")
            else:
                name = alias.asname or alias.name.split(".")[0]
                module = alias.name if alias.asname else alias.name.split(".")[0]
            found[name] = Binding("import", module=module, callable=isinstance(node, ast.ImportFrom))
        return found
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
        return {node.id: Binding("other", why="não é definida por um def")}
    if isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
        found[node.name] = Binding("other", why="não é definida por um def")
    for child in ast.iter_child_nodes(node):
        found.update(_bound(child))
    if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, ast.Lambda):
        for name in list(found):
            found[name] = Binding("other", callable=True, why="é uma lambda")
    return found


# What lets code bind a name, or change what a function runs, without a binding the text shows: a notebook
# that does any of this in the student's cells has no readable source (a check cannot know what runs).
_DYNAMIC_CALLS = {
    "exec",
    "eval",
    "compile",
    "globals",
    "vars",
    "locals",
    "setattr",
    "delattr",
    "__import__",
    "breakpoint",
}
_DYNAMIC_ATTRIBUTES = {
    "__dict__",
    "__globals__",
    "__code__",
    "__wrapped__",
    "__builtins__",
    "__closure__",
    "__func__",
    "__subclasses__",
    "f_globals",
    "f_locals",
    "f_back",
    "user_ns",
    "user_global_ns",
    "user_module",
    "run_cell",
    "run_code",
    "_getframe",
    "FunctionType",
    "CodeType",
    "LambdaType",
    "MethodType",
}
_DYNAMIC_MODULES = {"importlib", "ctypes", "gc", "marshal", "pickle", "dill", "builtins", "__main__", "code"}
_DYNAMIC_MAGICS = {
    "run",
    "load",
    "loadpy",
    "macro",
    "store",
    "alias_magic",
    "load_ext",
    "reload_ext",
    "config",
}


def dynamic_construct(tree: ast.Module, text: str) -> str:
    """The first construct of a student's cell that can rebind a name behind the text's back ("" if none):
    `exec`, `globals()`, `setattr`, `getattr` with a computed name, `sys.modules`, `f.__code__ = ...`,
    importing ctypes or importlib, `get_ipython()` written by the student, the `%run` magic..."""
    wrote_get_ipython = "get_ipython" in text  # magics become get_ipython() calls: only a written one counts
    called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "modules" and id(node) not in called:
            return "sys.modules"  # (not model.modules(), a torch method)
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else ""
            attr = node.func.attr if isinstance(node.func, ast.Attribute) else ""
            if name in _DYNAMIC_CALLS:
                return f"{name}()"
            if name == "getattr" and len(node.args) > 1 and not isinstance(node.args[1], ast.Constant):
                return "getattr com um nome calculado"
            if name == "get_ipython" and wrote_get_ipython:
                return "get_ipython()"
            if attr in ("run_line_magic", "run_cell_magic") and node.args:
                magic = node.args[0]
                if isinstance(magic, ast.Constant) and magic.value in _DYNAMIC_MAGICS:
                    return f"a mágica %{magic.value}"
        elif isinstance(node, ast.Attribute) and node.attr in _DYNAMIC_ATTRIBUTES:
            return node.attr
        elif isinstance(node, ast.Name) and node.id in ("__builtins__", "__loader__", "__spec__"):
            return node.id
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = (
                [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            )
            for module in modules:
                if module.split(".")[0] in _DYNAMIC_MODULES:
                    return f"import {module}"
            if isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    if alias.name in _DYNAMIC_CALLS | _DYNAMIC_ATTRIBUTES | {"modules"}:
                        return f"from {node.module} import {alias.name}"
    return ""
