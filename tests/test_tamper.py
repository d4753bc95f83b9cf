"""The tamper checks on notebooks built in memory, without kernels (grader/grading/tamper.py): the static audit
of the student's code, which cells it looks at, and how it reads IPython's syntax. The attacks themselves,
graded end to end, are in tests/test_attacks.py."""

from __future__ import annotations

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell

from grader.grading import tamper
from grader.model import Flag, FlagKind
from tests.helpers import PROBE_TEST, cell_by_grade_id, mini_source, with_meta

AUDIT_CASES = [
    ("import torch\ntorch.testing.assert_close = lambda *a, **k: None", {"altera biblioteca"}),
    ("import numpy as np\nnp.testing.assert_allclose = print", {"altera biblioteca"}),
    ("from torch import testing as t\nt.assert_close = print", {"altera biblioteca"}),
    ("import torch\nsetattr(torch, 'allclose', print)", {"altera biblioteca"}),
    ("import torch\ntorch.Tensor.__eq__ = lambda a, b: True", {"altera biblioteca", "__eq__ redefinido"}),
    ("class R:\n    __eq__ = lambda s, o: True", {"__eq__ redefinido"}),
    ("get_ipython().input_transformers_cleanup.append(f)", {"get_ipython()"}),
    ("ip.events.register('pre_run_cell', f)", {"get_ipython()"}),
    ("get_ipython().events.callbacks['pre_run_cell'].append(f)", {"get_ipython()"}),
    ("from IPython import get_ipython as g\ng().showtraceback = print", {"get_ipython()", "showtraceback"}),
    (
        "import sys, linecache\nlinecache.getlines(sys._getframe(1).f_code.co_filename)",
        {"importa introspecção", "introspecção"},
    ),
    ("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)", {"importa sinais"}),
    ("open('/tmp/x', 'w')", {"caminho fora da pasta de trabalho"}),
    ("open('../../../source/mini/mini.ipynb')", {"lê arquivos .ipynb", "lê arquivos do curso"}),
    ("%writefile torch.py\nx = 1", {"magia %writefile"}),
    # honest code the audit must leave alone
    ("%timeit f(x)\n%matplotlib inline", set()),
    ("for camada in modelo.modules():\n    pass", set()),
    ("eventos = prof.profiler.kineto_results.events()", set()),
    ("import torch\ntorch.backends.cudnn.deterministic = True\ntorch.manual_seed(0)", set()),
    ("caminho = f'{pasta}/{nome}'", set()),
]


@pytest.mark.parametrize("source, expected", AUDIT_CASES)
def test_audit(source, expected):
    from grader.grading import tamper

    assert tamper.audit_source(source) == expected


def test_syntax_errors_are_not_audited():
    assert tamper.audit_source("def f(:\n    import ctypes") == set()


def test_magics_count_only_as_the_student_wrote_them():
    assert tamper.audit_source("!ls") == {"subprocesso"}  # a shell escape is a subprocess
    assert tamper.audit_source("%load_ext autoreload") == {"magia %load_ext"}
    assert tamper.audit_source("import ctypes, subprocess") == {"importa ctypes", "importa subprocesso"}


IPYTHON_CELLS = [
    "!ls",
    "%load_ext autoreload\nimport ctypes",
    "x = %time f()\nimport ctypes",
    "def f():\n    %time g()\n    return 1\n",
    "y = !pwd\nimport subprocess",
    "f?\n",
    "%%time\nimport ctypes\n",
    "x = 1 \\\n  + 2\n%time x\n",
    "a = [1,\n  2]\n%run foo.py\n",
    "import numpy as np\n%matplotlib inline\nnp.zeros(3)",
    # IPython's steps before its token pass, and its other escapes (a review of the first version)
    " import ctypes\n x = ctypes.CDLL(None)\n",
    ">>> import ctypes\n>>> x = 1\n",
    "In [1]: import ctypes\nIn [2]: %time 1\n",
    "import ctypes\n/print 1\n",
    "a = [0]\na[0] = %time 1\nimport ctypes",
    "%time x = 1 + \\\n  2\nimport ctypes\n",
]


@pytest.mark.parametrize("source", IPYTHON_CELLS)
def test_the_audit_reads_a_cell_as_ipython_runs_it(source):
    from IPython.core.inputtransformer2 import TransformerManager

    assert tamper.as_python(source).rstrip("\n") == TransformerManager().transform_cell(source).rstrip("\n")


def test_a_cell_of_many_magics_is_read_in_linear_time(monkeypatch):
    """IPython's token pass reads the whole cell again after each magic it rewrites: 500 magics over 5 000 lines
    kept the grading process busy for 49 s before any kernel started (red team, round 3). The audit rewrites
    each magic's line alone: the text IPython transforms adds up to the cell's size."""
    transformed = []
    real = tamper._transformer.do_token_transforms

    def token_pass(lines):
        transformed.append(len("".join(lines)))
        return real(lines)

    monkeypatch.setattr(tamper._transformer, "do_token_transforms", token_pass)
    cell = "%time 1\n" * 500 + "x = 1\n" * 5000 + "import ctypes\n"
    assert tamper.audit_source(cell) == {"importa ctypes"}
    assert len(transformed) == 500 and sum(transformed) <= len(cell)
    # the scan for those lines is linear too: a line of 200 000 spaces after a magic is not one of them
    transformed.clear()
    assert tamper.audit_source("%time 1\n" + " " * 200_000 + "\nimport ctypes\n") == {"importa ctypes"}
    assert transformed == [len("%time 1\n")]


def _notebook_with_answer(code: str, *, probe: bool = False):
    nb = mini_source()
    cell_by_grade_id(nb, "resposta_dobro").source = code
    if probe:
        nb.cells.insert(
            4, with_meta(new_code_cell(PROBE_TEST), "dobro_rapida", grade=True, locked=True, points=1)
        )
    return nb


def test_audit_reads_only_what_the_student_wrote():
    release = mini_source()
    nb = _notebook_with_answer("import ctypes\ndef dobro(x):\n    return 2 * x")
    # a locked cell with a suspicious construct is the instructor's, and so is a cell left as released
    cell_by_grade_id(nb, "preparo").source = "import socket"
    nb.cells.append(new_code_cell(release.cells[1].source))
    nb.cells.append(new_markdown_cell("import subprocess"))
    added = new_code_cell("get_ipython().showtraceback = print")
    nb.cells.append(added)
    assert [str(flag) for flag in tamper.audit(nb, release)] == [
        "auditoria: get_ipython()",
        "auditoria: importa ctypes",
        "auditoria: showtraceback",
    ]
    nb.cells.remove(added)
    assert tamper.audit(nb, release) == [Flag(FlagKind.AUDIT, "importa ctypes")]
    assert tamper.audit(release, release) == []
