"""What the submitted notebook's text binds, read in the trusted test kernel (T): the code a structure check
reads comes from here, never from the student's kernel, and so does what the replay runs.

A test cell that reads a student function's code (no loop, one loop, uses autograd) gets the text of the last
plain `def` of that name in the notebook's cells before the test: a top-level `def` with no decorator. A name the
text binds some other way (a lambda, a class, an assignment) has no readable source, and the check says so. The
tests that read code or measure memory call the function in the replay (runtime.py's text mode), which runs
exactly these definitions: whatever the student's other cells do to the running kernel, such a test checks
the text.
"""

from __future__ import annotations

import ast
import functools
import re
import symtable
from dataclasses import dataclass

from . import fastpath


@dataclass(frozen=True)
class Binding:
    """How the notebook's text last binds a name before a test.

    kind: "def" (a plain def: `cell`, `first`/`last` its 0-based lines in that cell), "import" (`module`: where
    it comes from; `statement`: the import of that one name), "alias" (`name = np.sum`, a library's name:
    `statement`, `module` its import's), or "other" (`callable`: a lambda, a class or a decorated def; `why`:
    said to the student)."""

    kind: str
    cell: int = -1
    first: int = 0
    last: int = 0
    module: str = ""
    callable: bool = False
    why: str = ""
    statement: str = ""
    root: str = ""  # an alias's first name (`np` of `np.sum`)
    attribute: str = ""  # what an import or alias names in its module (`vectorize` of `_v = np.vectorize`)


@functools.cache
def _transformer():
    from IPython.core.inputtransformer2 import TransformerManager

    manager = TransformerManager()
    fastpath.install(manager)  # the kernels skip the same pass for the same cells
    return manager


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def python_lines(text: str) -> list[str]:
    """The lines of `text` as Python numbers them (ast's line numbers index this list): ended by \\n, \\r\\n or
    \\r only. str.splitlines also ends a line at a form feed, U+2028 and other characters that Python reads as
    whitespace inside a line: a def read by those lines is not the def that runs."""
    return _LINE.findall(text)


def parse_cell(text: str) -> tuple[ast.Module | None, str]:
    """The cell as the kernel runs it and the text parsed (its lines are the cell's): IPython's translation of
    its magics, shell escapes and prompts into Python (IPython drops the leading blank lines: they are put
    back). None if it does not parse (then the student's kernel failed on it too, and it bound nothing)."""
    try:
        lines = text.splitlines(keepends=True)
        blank = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
        text = "\n" * blank + _transformer().transform_cell(text)
    except Exception:  # noqa: BLE001 (IPython missing or a transformer error: the plain text is all there is)
        pass
    try:
        return ast.parse(text), text
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None, text


@dataclass
class Cell:
    """What one code cell binds, read once: its top-level bindings in order (None: a `del`; ("*", None): a
    `%reset`), its text as parsed, and the `__future__` features it turns on for later cells."""

    index: int
    text: str
    top: list[tuple[str, Binding | None]]
    futures: frozenset[str] = frozenset()


def read_cell(index: int, text: str) -> Cell:
    """Cell `index` of the notebook."""
    tree, parsed = parse_cell(text)
    cell = Cell(index, parsed, [])
    if tree is None:
        return cell
    body = _cell_magic_body(tree, text)
    if body is not None:  # %%time / %%capture: the rest of the cell runs as the notebook's own code
        tree, cell.text = body
    for statement in tree.body:
        if isinstance(statement, ast.FunctionDef) and not statement.decorator_list:
            binding = Binding("def", cell=index, first=statement.lineno - 1, last=statement.end_lineno - 1)
            cell.top.append((statement.name, binding))
        elif isinstance(statement, ast.Delete):
            cell.top += [(t.id, None) for t in statement.targets if isinstance(t, ast.Name)]
        else:
            cell.top += list(_bound(statement).items())
    for node in ast.walk(tree):
        magic = _magic(node)
        if magic is not None and magic[0] in _CODE_MAGICS:  # `%time x = f(1)`: a statement in the notebook
            try:
                inner = ast.parse(magic[1])
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                continue
            for name in _bound(inner):
                cell.top.append((name, Binding("other", why=f"é definida numa mágica %{magic[0]}")))
        elif magic is not None and magic[0] == "reset":
            cell.top.append(("*", None))  # %reset: nothing bound before stays
    cell.futures = frozenset(
        alias.name
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module == "__future__"
        for alias in node.names
    )
    return cell


def bindings(cells: list[Cell]) -> dict[str, Binding]:
    """name -> its last binding in these cells, in order."""
    found: dict[str, Binding] = {}
    for cell in cells:
        for name, binding in cell.top:
            if name == "*" and binding is None:
                found.clear()
            elif binding is None:
                found.pop(name, None)
            elif binding.kind == "alias":  # `somar = np.sum`: numpy's, when np is an import
                root = found.get(binding.root)
                if root is not None and root.kind == "import":
                    expression = binding.statement.split("=", 1)[1].strip()  # ast.unparse's `name = value`
                    path = expression.split(".", 1)[1] if "." in expression else ""
                    found[name] = Binding(
                        "alias",
                        module=root.module,
                        callable=True,
                        # made with the import it was read with, whatever the notebook binds to its root later
                        statement=(
                            f"def __alias__():\n    {root.statement}\n    return {expression}\n\n\n"
                            f"{name} = __alias__()\ndel __alias__"
                        ),
                        root=binding.root,
                        attribute=".".join(p for p in (root.attribute, path) if p),
                    )
                else:
                    found[name] = Binding("other", why="não é definida por um def")
            else:
                found[name] = binding
    return found


def reads(text: str) -> set[str]:
    """The global names a definition (a def, an import, an assignment) reads: in its defaults, annotations and
    body, nested functions included, not its locals."""
    try:
        table = symtable.symtable(text, "<def>", "exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    found = {s.get_name() for s in table.get_symbols() if s.is_referenced()}
    pending = list(table.get_children())
    while pending:
        scope = pending.pop()
        found |= {s.get_name() for s in scope.get_symbols() if s.is_global() and s.is_referenced()}
        pending += scope.get_children()
    return found


def _bound(node: ast.AST) -> dict[str, Binding]:
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
                one = ast.ImportFrom(module=node.module, names=[alias], level=node.level)
            else:
                name = alias.asname or alias.name.split(".")[0]
                module = alias.name if alias.asname else alias.name.split(".")[0]
                one = ast.Import(names=[alias])
            found[name] = Binding(
                "import",
                module=module,
                callable=isinstance(node, ast.ImportFrom),
                statement=ast.unparse(one),
                attribute=alias.name if isinstance(node, ast.ImportFrom) else "",
            )
        return found
    if (
        isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
        and isinstance(node.value, ast.Attribute)
    ):
        root = node.value
        while isinstance(root, ast.Attribute):
            root = root.value
        if isinstance(root, ast.Name):  # `somar = np.sum`: resolved once the imports are known (bindings)
            return {node.targets[0].id: Binding("alias", statement=ast.unparse(node), root=root.id)}
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


# IPython's magics whose argument is code run in the notebook's namespace (`%time x = 1`, `%%capture`)
_CODE_MAGICS = {"time", "prun", "capture"}


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
