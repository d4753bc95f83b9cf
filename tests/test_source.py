"""How the test kernel reads a student function's code from the submitted notebook's text
(grader/kernels/standalone/inkernel/source.py): which bindings are a plain def, and which constructs make no
source readable. Notebook cells as text, no kernel."""

from __future__ import annotations

import pytest

from grader.kernels.standalone.inkernel.source import bindings, dynamic_construct, parse_cell


def _bindings(*cells: str) -> dict:
    return bindings([(index, parse_cell(text)[0]) for index, text in enumerate(cells)])


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
        ("def h():\n    global f\n    f = 1", "é redefinida dentro de uma função (global)"),
        ("f.__code__ = g.__code__", "tem o atributo __code__ trocado"),
        ("apelido = f\napelido.__wrapped__ = g", "tem o atributo __wrapped__ trocado"),
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


@pytest.mark.parametrize(
    "code, construct",
    [
        ("exec('def f(x): pass')", "exec()"),
        ("globals()['f'] = g", "globals()"),
        ("vars()['f'] = g", "vars()"),
        ("setattr(m, 'f', g)", "setattr()"),
        ("getattr(m, 'a' + 'b')", "getattr com um nome calculado"),
        ("import sys\nsys.modules['__main__'].f = g", "sys.modules"),
        ("from sys import modules", "from sys import modules"),
        ("f.__code__ = g.__code__", "__code__"),
        ("import ctypes", "import ctypes"),
        ("import importlib", "import importlib"),
        ("__builtins__.f = g", "__builtins__"),
        ("get_ipython().run_cell('def f(x): pass')", "run_cell"),
        ("shell = get_ipython()", "get_ipython()"),
        ("%run outro.py", "a mágica %run"),
        ("import inspect\ninspect.currentframe().f_globals['f'] = g", "f_globals"),
    ],
)
def test_constructs_that_rebind_behind_the_text(code, construct):
    tree, _ = parse_cell(code)
    assert dynamic_construct(tree, code) == construct


@pytest.mark.parametrize(
    "code",
    [
        "%timeit f(1)",
        "modelo.modules()",
        "getattr(x, 'shape')",
        "import numpy as np\nx = np.zeros(3)\nfor v in x:\n    print(v)",
        "import torch\ntorch.manual_seed(0)",
    ],
)
def test_ordinary_code_is_not_dynamic(code):
    tree, _ = parse_cell(code)
    assert dynamic_construct(tree, code) == ""
