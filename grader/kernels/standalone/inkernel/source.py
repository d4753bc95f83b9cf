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
    """The cell as the kernel runs it and the text parsed (its lines are the cell's): IPython's translation of
    its magics, shell escapes and prompts into Python (IPython drops the leading blank lines: they are put
    back). None if it does not parse (then the student's kernel failed on it too, and it bound nothing)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        lines = text.splitlines(keepends=True)
        blank = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
        text = "\n" * blank + TransformerManager().transform_cell(text)
    except Exception:  # noqa: BLE001 (IPython missing or a transformer error: the plain text is all there is)
        pass
    try:
        return ast.parse(text), text
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None, text


@dataclass
class Cell:
    """What one code cell binds, read once: its top-level bindings in order (None: a `del`), `g = f` aliases,
    names it rebinds from anywhere (`global` in a function, `f.__code__ = ...`), and its first construct that
    could rebind behind the text's back ("" for none, or for a cell that is not the student's)."""

    index: int
    text: str
    top: list[tuple[str, Binding | None]]
    aliases: list[tuple[str, str]]
    rebound: list[tuple[str, str]]  # (name, why), the name possibly an alias
    dynamic: str = ""
    futures: frozenset[str] = frozenset()  # `from __future__ import ...`: IPython compiles later cells so


def read_cell(index: int, text: str, students: bool) -> Cell:
    """Cell `index` of the notebook; `students`: written by the student (then its dynamic constructs count)."""
    tree, parsed = parse_cell(text)
    cell = Cell(index, parsed, [], [], [])
    if tree is None:
        return cell
    body = _cell_magic_body(tree, text)
    if body is not None:  # %%time / %%capture: the rest of the cell runs as the notebook's own code
        tree, cell.text = body
    for statement in tree.body:
        if isinstance(statement, ast.FunctionDef) and not statement.decorator_list:
            cell.top.append(
                (
                    statement.name,
                    Binding("def", cell=index, first=statement.lineno - 1, last=statement.end_lineno - 1),
                )
            )
        elif isinstance(statement, ast.Delete):
            cell.top += [(t.id, None) for t in statement.targets if isinstance(t, ast.Name)]
        else:
            cell.top += list(_bound(statement, top=True).items())
    for node in ast.walk(tree):
        magic = _magic(node)
        if magic is not None and magic[0] in _CODE_MAGICS:  # `%time x = f(1)`: a statement in the notebook
            try:
                inner = ast.parse(magic[1])
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                continue
            for name, _ in _bound(inner).items():
                cell.top.append((name, Binding("other", why=f"é definida numa mágica %{magic[0]}")))
        elif magic is not None and magic[0] == "reset":
            cell.top.append(("*", None))  # %reset: nothing bound before stays
        if isinstance(node, ast.Global):
            cell.rebound += [(name, "é redefinida dentro de uma função (global)") for name in node.names]
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Name):
            cell.aliases += [(t.id, node.value.id) for t in node.targets if isinstance(t, ast.Name)]
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                for part in ast.walk(target):
                    if (
                        isinstance(part, ast.Attribute)
                        and part.attr in _REBINDING_ATTRIBUTES
                        and isinstance(part.value, ast.Name)
                    ):
                        cell.rebound.append((part.value.id, f"tem o atributo {part.attr} trocado"))
    cell.futures = frozenset(
        alias.name
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module == "__future__"
        for alias in node.names
    )
    if students:
        cell.dynamic = dynamic_construct(tree, text)
    return cell


def bindings(cells: list[Cell]) -> dict[str, Binding]:
    """name -> its last binding in these cells, in order; a name rebound from anywhere (`global`, a
    `__code__` swap, through an alias too) is never a plain def again."""
    found: dict[str, Binding] = {}
    rebound: dict[str, Binding] = {}
    aliases: dict[str, set[str]] = {}  # `g = f`: changing g.__code__ changes f
    for cell in cells:
        for name, binding in cell.top:
            if name == "*" and binding is None:
                found.clear()
            elif binding is None:
                found.pop(name, None)
            else:
                found[name] = binding
        for target, source in cell.aliases:
            aliases.setdefault(target, set()).add(source)
        for name, why in cell.rebound:
            for each in {name, *aliases.get(name, ())}:
                rebound[each] = Binding("other", callable=True, why=why)
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
    if isinstance(node, ast.Lambda):
        return found
    if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
        # its own scope, but for `:=`, which binds in the enclosing one
        for inner in ast.walk(node):
            if isinstance(inner, ast.NamedExpr) and isinstance(inner.target, ast.Name):
                found[inner.target.id] = Binding("other", why="é definida por := numa compreensão")
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


# IPython's magics whose argument is code run in the notebook's namespace (`%time x = 1`, `%%capture`), and
# those that run nothing of the notebook's (the rest make a notebook's source unreadable: dynamic_construct)
_CODE_MAGICS = {"time", "prun", "capture"}
_QUIET_MAGICS = {
    "timeit",  # runs its statement in a function of its own
    "matplotlib",
    "pip",
    "conda",
    "env",
    "who",
    "whos",
    "who_ls",
    "pwd",
    "ls",
    "cd",
    "lsmagic",
    "precision",
    "xmode",
    "history",
    "reset",
    "magic",
    "pinfo",
    "pinfo2",
    "psearch",
    "page",
    "pdef",
    "pdoc",
    "psource",
    "pfile",
    "system",
    "sx",
    "sc",
    "html",
    "markdown",
    "latex",
    "javascript",
    "js",
    "svg",
    "bash",
    "sh",
    "writefile",
    "file",
}


def _magic(node: ast.AST) -> tuple[str, str] | None:
    """`get_ipython().run_line_magic(name, argument)` or `.run_cell_magic(name, line, body)` as IPython writes a
    magic: (name, the code it runs); None for anything else."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return None
    if node.func.attr not in ("run_line_magic", "run_cell_magic") or len(node.args) < 2:
        return None
    values = [
        a.value if isinstance(a, ast.Constant) and isinstance(a.value, str) else None for a in node.args
    ]
    if values[0] is None:
        return "?", ""
    return values[0], (values[-1] or "")


def _cell_magic_body(tree: ast.Module, text: str) -> tuple[ast.Module, str] | None:
    """A cell that is `%%time` or `%%capture` and its body: the body as Python, at its own lines."""
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Expr):
        return None
    magic = _magic(tree.body[0].value)
    if magic is None or magic[0] not in _CODE_MAGICS or tree.body[0].value.func.attr != "run_cell_magic":
        return None
    lines = text.splitlines(keepends=True)
    first = next((i for i, line in enumerate(lines) if line.strip()), 0)
    body = "\n" * (first + 1) + magic[1]
    try:
        return ast.parse(body), body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


# Libraries a `from X import *` may come from: it binds their names, none of the student's
_STAR_LIBRARIES = {
    "torch",
    "numpy",
    "math",
    "cmath",
    "random",
    "statistics",
    "matplotlib",
    "itertools",
    "functools",
}

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
    "_current_frames",
    "settrace",
    "setprofile",
    "_ip",
    "get_ipython",
    "set_custom_exc",
    "input_transformers_post",
    "input_transformers_cleanup",
    "ast_transformers",
    "FunctionType",
    "CodeType",
    "LambdaType",
    "MethodType",
}
_DYNAMIC_MODULES = {
    "importlib",
    "ctypes",
    "gc",
    "marshal",
    "pickle",
    "dill",
    "builtins",
    "__main__",
    "code",
    "codeop",
    "cProfile",
    "profile",
    "pdb",
    "bdb",
    "runpy",
    "trace",
    "pkgutil",
    "IPython",
    "ipykernel",
    "threading",
    "_thread",
    "signal",
    "inkernel",  # the grader's own code in the kernel
}
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
            if name in _DYNAMIC_CALLS:
                return f"{name}()"
            if name == "getattr" and len(node.args) > 1 and not isinstance(node.args[1], ast.Constant):
                return "getattr com um nome calculado"
            if name == "get_ipython" and wrote_get_ipython:
                return "get_ipython()"
            magic = _magic(node)
            if magic is not None and magic[0] not in _CODE_MAGICS | _QUIET_MAGICS:
                return f"a mágica %{magic[0]}"
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
                if (
                    any(a.name == "*" for a in node.names)
                    and (node.module or "").split(".")[0] not in _STAR_LIBRARIES
                ):
                    return f"from {node.module} import *"
                for alias in node.names:
                    if alias.name in _DYNAMIC_CALLS | _DYNAMIC_ATTRIBUTES | {"modules"}:
                        return f"from {node.module} import {alias.name}"
    return ""
