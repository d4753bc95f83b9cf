"""How the test kernel reads a student function's code from the submitted notebook's text
(grader/kernels/standalone/inkernel/source.py): which bindings are a plain def, and which constructs make no
source readable. Notebook cells as text, no kernel."""

from __future__ import annotations

import pytest

from grader.kernels.standalone.inkernel.source import bindings, python_lines, read_cell, reads


def _bindings(*cells: str) -> dict:
    return bindings([read_cell(index, text) for index, text in enumerate(cells)])


def test_the_last_plain_def_before_the_test_is_the_source():
    found = _bindings("def f(x):\n    return 1\n", "\n\ndef f(x):\n    for i in x:\n        pass\n")
    assert (found["f"].kind, found["f"].cell, found["f"].first, found["f"].last) == ("def", 1, 2, 4)


@pytest.mark.parametrize(
    "later, why",
    [
        ("f = lambda x: x", "é uma lambda"),
        ("f = g", "não é definida por um def"),
        ("@dec\ndef f(x):\n    return x", "tem decoradores"),
        ("class f:\n    pass", "é uma classe"),
        ("if True:\n    def f(x):\n        return x", "não está no nível de cima da célula"),
        ("for f in range(3):\n    pass", "não é definida por um def"),
        ("_ = [f := g for _ in (0,)]", "é definida por := numa compreensão"),
        ("%time f = g", "é definida numa mágica %time"),
    ],
)
def test_a_name_rebound_after_its_def_has_no_source(later, why):
    found = _bindings("def f(x):\n    return x\n", later)
    assert found["f"].kind != "def" and found["f"].why == why


def test_imports_say_where_a_name_comes_from():
    found = _bindings(
        "import numpy as np\nfrom torch import mm as m\nimport os.path\ntry:\n    import scipy\nexcept ImportError:\n    pass"
    )
    assert (found["np"].kind, found["np"].module, found["np"].callable) == ("import", "numpy", False)
    assert (found["m"].kind, found["m"].module, found["m"].callable) == ("import", "torch", True)
    assert found["os"].module == "os" and found["scipy"].kind == "import"


def test_locals_and_comprehensions_bind_nothing_at_the_top():
    found = _bindings("A = [y for y in range(3)]\ndef f(x):\n    z = 1\n    return z\ng = lambda w: w")
    assert "y" not in found and "z" not in found and "w" not in found
    assert found["A"].kind == "other" and not found["A"].callable and found["g"].callable


def test_del_unbinds_and_a_broken_cell_binds_nothing():
    assert "f" not in _bindings("def f(x):\n    return x\n", "del f")
    assert _bindings("def f(x):\n    return x\n", "def f(x:\n")["f"].kind == "def"


def test_magics_are_read_through_ipython():
    found = _bindings("%timeit 1 + 1\ndef f(x):\n    return x\n")
    assert found["f"].kind == "def"
    # a %%time or %%capture cell runs its body as the notebook's code: a def there is a def, at its own lines
    found = _bindings("\n%%time\ndef g(x):\n    return x\n")
    assert (found["g"].kind, found["g"].first, found["g"].last) == ("def", 2, 3)
    assert "f" not in _bindings("def f(x):\n    return x\n", "%reset -f")


def test_ipython_prompts_are_stripped_as_the_kernel_does():
    found = _bindings("def f(x):\n    return 1\n", "In [1]: x = 1\nIn [2]: f = g\n")
    assert found["f"].kind == "other"


def test_a_library_alias_is_the_library_s():
    found = _bindings("import numpy as np\nsomar = np.sum\nobjeto = algo.metodo\n")
    assert (found["somar"].kind, found["somar"].module, found["somar"].attribute) == ("alias", "numpy", "sum")
    assert found["objeto"].kind == "other"


def test_an_alias_is_made_with_the_import_it_was_read_with():
    """Red team, round 3: `_somar = _raiz.__call__` read while `_raiz` is numpy, then `def _raiz` with a loop; the
    replay ran the alias after defining the def, so the check read numpy's and the replay ran the loop."""
    found = _bindings(
        "import numpy as _raiz\nif False:\n    _somar = _raiz.sum\n", "def _raiz(X):\n    return X\n"
    )
    namespace = {"_raiz": "the later def"}
    exec(found["_somar"].statement, namespace)
    import numpy

    assert namespace["_somar"] is numpy.sum and namespace["_raiz"] == "the later def"
    assert reads(found["_somar"].statement) <= {"__alias__", "_somar"}  # nothing else is defined for it


def test_an_imported_name_keeps_its_name_in_its_module():
    """`from numpy import vectorize as _v` and `_v = np.vectorize` are numpy.vectorize to a check, as in one
    kernel (red team, round 3: T's stand-in was numpy._v, no hidden loop)."""
    found = _bindings(
        "import numpy as np\nfrom torch import cdist as _c\n_v = np.vectorize\n_n = np.linalg.norm\n"
    )
    assert (found["_c"].module, found["_c"].attribute) == ("torch", "cdist")
    assert (found["_v"].module, found["_v"].attribute) == ("numpy", "vectorize")
    assert (found["_n"].module, found["_n"].attribute) == ("numpy", "linalg.norm")
    assert found["np"].attribute == ""


def test_lines_are_numbered_as_python_numbers_them():
    """A form feed or U+2028 ends a line for str.splitlines, not for Python: the def read is the def that runs."""
    cell = "def _decoy(X):\n    return 0\n#\x0c\x0c\u2028\ndef f(X):\n    return X\nf = 1\ndef f(X):\n    return 2\n"
    found = _bindings(cell)
    assert (found["f"].kind, found["f"].first, found["f"].last) == ("def", 6, 7)
    assert "".join(python_lines(cell)[6:8]) == "def f(X):\n    return 2\n"


def test_what_a_definition_reads():
    text = "def f(x, n=PADRAO) -> torch.Tensor:\n    y = aux(x)\n    def g(z):\n        return np.sum(z) + y\n    return g(x)\n"
    assert {"PADRAO", "torch", "aux", "np"} <= reads(text) and not {"x", "y", "z", "g", "n"} & reads(text)


# --- IPython's token pass skipped for plain Python (grader/kernels/standalone/inkernel/fastpath.py) ---------

IPYTHON_CELLS = [
    "x = 1\nprint(f'{x:.2%} pronto?')\n",  # % and ? inside strings: plain Python
    "y = (2\n     / 3)\nz = y % 2\nw = y != z\n",  # operators that look like escapes
    "%time x = 1\n",
    "a = %time 1\n",
    "saida = !ls\n",
    "!ls -la\n",
    "len?\n",
    "torch.mm??\n",
    "/print 1\n",
    ",print a b\n",
    "if True:\n    %time x = 2\n",
    "def f():\n    return 1\nf?\n",
    "x = 1\x00\n",
    "async def f():\n    await g()\n",
]


@pytest.mark.parametrize("cell", IPYTHON_CELLS)
def test_the_fast_path_transforms_every_cell_as_ipython_does(cell):
    from IPython.core.inputtransformer2 import TransformerManager

    from grader.kernels.standalone.inkernel import fastpath

    fast = TransformerManager()
    fastpath.install(fast)
    assert fast.transform_cell(cell) == TransformerManager().transform_cell(cell)


ONCE_PER_CELL = r"""
import json, sys
from IPython.core.interactiveshell import InteractiveShell
from grader.kernels.standalone.inkernel import fastpath

shell = InteractiveShell.instance()
plain = {cell: shell.should_run_async(cell, transformed_cell=shell.transform_cell(cell)) for cell in CELLS}
calls = []
transform = shell.transform_cell
shell.transform_cell = lambda cell: calls.append(cell) or transform(cell)
fastpath.install_once_per_cell(shell)
fast = {cell: shell.should_run_async(cell, transformed_cell=shell.transform_cell(cell)) for cell in CELLS}
calls.clear()
for cell in ["x = 41", "x += 1", "import asyncio\nawait asyncio.sleep(0)\ny = x"]:
    shell.should_run_async(cell, transformed_cell=shell.transform_cell(cell))  # as ipykernel's do_execute
    shell.run_cell(cell)
transforms = list(calls)
# %time transforms its argument while the cell runs: the next cell, whatever its text, is transformed afresh
shell.run_cell("%time pwd\npwd = 'variável'")
shadowed = shell.run_cell("pwd").result
print(json.dumps({"same": plain == fast, "async": [fast[c] for c in CELLS], "y": shell.user_ns.get("y"),
                  "transforms": transforms, "pwd": shadowed}))
"""


def test_each_cell_is_transformed_once_and_top_level_await_still_runs():
    """fastpath.install_once_per_cell: the kernel's shell transforms a cell once where run_cell asks twice,
    the next cell is transformed afresh, and a cell that awaits at top level still runs as a coroutine."""
    import json
    import subprocess
    import sys

    cells = ["x = 1\n", "await g()\n", "async with a:\n    pass\n", "s = 'await'\n", "x = (\n"]
    script = f"CELLS = {cells!r}\n" + ONCE_PER_CELL
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    report = json.loads(out.strip().splitlines()[-1])
    assert report["same"], report
    assert report["async"] == [False, True, True, False, False]  # "await" in a string: IPython says
    assert report["y"] == 42  # the awaiting cell ran, after the two before it
    # ipykernel's do_execute transforms each cell, then run_cell does it again: the shell did it once
    assert len(report["transforms"]) == 3, report["transforms"]
    assert report["pwd"] == "variável"  # the variable, not the %pwd magic that %time's argument became


LEARNED = r"""
import ast, json
from IPython.core.interactiveshell import InteractiveShell
from grader.kernels.standalone.inkernel import fastpath, runtime

shell = InteractiveShell.instance()
parsed, checked = [], []
original = shell.compile.ast_parse
shell.compile.ast_parse = lambda source, *a, **k: parsed.append(source) or original(source, *a, **k)
real_parse = ast.parse
ast.parse = lambda source, *a, **k: checked.append(source) or real_parse(source, *a, **k)
learned = fastpath.learn(CELLS, post=(runtime._measured,))  # as T's kernel server does before it forks
fastpath.install(shell.input_transformer_manager)
fastpath.install_once_per_cell(shell)
shell.input_transformers_post.append(runtime._measured)  # T's own rewrite of the measured test
shell.user_ns[runtime.MEASURE] = lambda f: f
parsed.clear(), checked.clear()
for cell in CELLS:
    shell.run_cell(cell)
first = {"parsed": list(parsed), "checked": list(checked)}
parsed.clear(), checked.clear()
shell.run_cell(CELLS[0])
print(json.dumps({"learned": learned, "first": first, "again": list(parsed), "x": shell.user_ns["x"],
                  "f": shell.user_ns["f"](), "t": str(shell.user_ns.get("t"))}))
"""


def test_cells_learned_before_the_fork_are_not_parsed_again():
    """fastpath.learn (T's and S's kernel servers, before they fork): a learned cell runs from its tree, neither
    checked nor parsed again, T's rewrite of a measured test included; a tree serves once (running the same text
    again parses it); a cell in IPython's syntax is learned as IPython rewrites it; a one-line cell (IPython
    prefilters those) is not learned and runs as before."""
    import json
    import subprocess
    import sys

    cells = [
        "x = 41\nx += 1\n",
        "@_medida_externa\ndef f():\n    return x\n",
        "t = %time 1\nu = 2\n",
        "w = 1",
    ]
    script = f"CELLS = {cells!r}\n" + LEARNED
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    report = json.loads(out.strip().splitlines()[-1])
    assert report["learned"] == 3, report
    # parsed: the one-line cell, and the argument %time parses as it runs; checked: those and the raw %time cell
    assert report["first"]["parsed"] == ["1\n", "w = 1\n"], report
    assert report["first"]["checked"] == [cells[2], "1\n", "w = 1\n"], report
    assert report["again"] == [cells[0]]  # its tree was taken: parsed like any other cell
    assert (report["x"], report["f"], report["t"]) == (42, 42, "1")


def test_a_cell_that_warns_as_it_parses_is_not_learned():
    """A test cell with "\\d" in a string warns as it is parsed (DeprecationWarning; SyntaxWarning from Python
    3.12, on stderr, which fails a test cell): the kernel parses it itself, and warns as it would untaught."""
    from grader.kernels.standalone.inkernel import fastpath

    warns, plain = 'padrao = "\\d+"\nn = 1\n', 'padrao = r"\\d+"\nn = 1\n'
    try:
        assert fastpath.learn([warns, plain]) == 1
        assert plain in fastpath._TREES and warns not in fastpath._TREES and warns not in fastpath._PLAIN
    finally:
        fastpath._TREES.clear()
        fastpath._PLAIN.clear()
