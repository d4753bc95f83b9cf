"""The trusted test kernel (grader/kernels/standalone/inkernel/runtime.py) in real kernels: what test cells rely on keeps working
when the student's names are stand-ins that call into the student's kernel. One notebook, graded once; each
test cell checks one piece of semantics and must pass, or fail with the message named below."""

from __future__ import annotations

import asyncio

import pytest
from nbformat.v4 import new_code_cell, new_notebook

from grader.kernels import warm
from grader.kernels.execute import ExecutionSettings, execute_async
from grader.kernels.sandbox import Limits
from grader.kernels.warm import warm_key
from grader.model import Status

pytestmark = pytest.mark.slow  # one notebook graded in real kernels

STUDENT = """
import warnings
import numpy as np
import torch

def atualiza(C, D, vezes=1):
    for _ in range(vezes):
        C.add_(D)

def troca_memoria(C):
    C.data = torch.zeros_like(C)

def sem_copia(arr):
    return torch.from_numpy(arr)

def visao(t):
    return t[1:].view(-1)

def mesma(t):
    return t

def soma_produto(x, y):
    return (x * y).sum()

def destaca(x):
    return (x * 2).detach()

def marca_grad(a):
    a.requires_grad_(True)
    (a * a).sum().backward()
    return a.grad

def usa_referencia(x):
    return referencia(x) + 1

def referencia(x):
    return -1000

def aplica(f, x):
    return f(x)

def erro_comum(x):
    raise ValueError("valor ruim")

class ErroMeu(Exception):
    pass

def erro_proprio(x):
    raise ErroMeu("meu erro")

def avisa(x):
    warnings.warn("cuidado", UserWarning)
    return x

def fala(x):
    print("olá do aluno")
    return x

def estranho(x):
    return object()

def transborda(x):
    return np.exp(np.array([1000.0]))

def grad_ligado(x):
    return torch.is_grad_enabled()

def um_buffer(C):
    D = torch.ones_like(C)
    C.add_(D)

def dois_buffers(C):
    D = torch.ones_like(C)
    C[:] = C + D

def nada(C):
    pass

def lista_teste():  # named like a test's variable: a check that looks it up must not make it T's to ship
    return "função do aluno"

def inspect(x):  # named like the module a structure check imports
    total = 0
    for v in x:
        total += v
    return total

def usa_inspect(x):
    return inspect(x)

@staticmethod
def decorada(x):
    return x

def trocada(x):
    return x

trocada = lambda x: x + 1

A = torch.randn(3, 4)
B = A.view(4, 3)
lista = [A, A]
"""
# Code that reaches its own globals (no honest answer does): from this cell on, no source is readable
STUDENT_DYNAMIC = """
def mexe():
    alvo = globals().get("lista_teste")
    if isinstance(alvo, list):
        alvo.clear()
    return type(alvo).__name__

def mexe_na_referencia(x):
    pesos = referencia.__globals__.get("pesos_teste")
    if pesos is not None:
        pesos.zero_()
    x.mul_(2)
    return referencia(x)
"""
STUDENT_TWO = """
so_no_aluno = 1

def dobro(x):
    return 2 * x

def auxiliar(x):
    total = 0
    for v in x:
        total += v
    return total

def usa_auxiliar(x):
    return auxiliar(x)
"""

# A test's memory measure (as update_c_memoria's): read from outside the student's process, it sees one and
# two buffers of C's size (36 MiB, float32 3072 x 3072) for what they are, and nothing for a function that
# allocates nothing, whatever the student's kernel says or does.
MEMORY_MEASURE = """
def _medida_externa(funcao):
    return funcao

@_medida_externa
def _pico(chamada):
    raise AssertionError("no notebook, esta função mediria com o profiler")

import torch
C = torch.zeros(3072, 3072)
tamanho = C.numel() * C.element_size()
extra = _pico(lambda: um_buffer(C))
assert 0.9 * tamanho < extra < 1.5 * tamanho, (extra, tamanho)
assert float(C[5, 7]) == 1.0  # the measured call's values came back
extra = _pico(lambda: dois_buffers(C))
assert 1.9 * tamanho < extra < 2.5 * tamanho, (extra, tamanho)
assert float(C[0, 0]) == 2.0
extra = _pico(lambda: nada(C))
assert extra < 0.1 * tamanho, (extra, tamanho)
"""
# The student then silences the profiler and patches their agent to answer with lies: the measure is unchanged.
SILENCED_PROFILER = """
import gc, types
import torch.profiler

class _Calado:
    profiler = types.SimpleNamespace(kineto_results=types.SimpleNamespace(events=lambda: []))
    def __init__(self, *a, **k):
        pass
    def __enter__(self):
        return self
    def __exit__(self, *a):
        return False

torch.profiler.profile = _Calado
for objeto in gc.get_objects():
    if type(objeto).__name__ == "Agent":
        objeto.run = lambda *a, **k: (0, 0)
"""

# grade id -> (test code, the message its failure must show; "" when it must pass)
TESTS = {
    "no_lugar": (
        """
import torch
C = torch.zeros(2, 3)
endereco, visao_de_C = C.data_ptr(), C[0]
atualiza(C, torch.ones(2, 3), vezes=2)
assert C.data_ptr() == endereco and C.tolist() == [[2.0] * 3] * 2, C
assert visao_de_C.tolist() == [2.0] * 3  # T's own view of C sees the change
""",
        "",
    ),
    "memoria_trocada": (
        """
import torch
C = torch.ones(3)
endereco = C.data_ptr()
troca_memoria(C)
assert C.data_ptr() != endereco and C.tolist() == [0.0, 0.0, 0.0]
""",
        "",
    ),
    "compartilha_memoria": (
        """
import numpy as np
arr = np.zeros((2, 2))
t = sem_copia(arr)
assert t.data_ptr() == arr.ctypes.data
arr[1, 1] = 5.0
t[0, 0] = 7.0
assert float(t[1, 1]) == 5.0 and arr[0, 0] == 7.0
""",
        "",
    ),
    "visoes_e_identidade": (
        """
import torch
x = torch.arange(6.0)
v = visao(x)
x[2] = 100.0
assert v[1] == 100.0 and v.data_ptr() == x.data_ptr() + 4
assert mesma(x) is x
assert A is not B and A.data_ptr() == B.data_ptr() and lista[0] is lista[1] is A
""",
        "",
    ),
    "autograd": (
        """
import torch
x = torch.tensor([1.0, 2.0], requires_grad=True)
z = soma_produto(x, torch.tensor([3.0, 4.0]))
assert z.requires_grad
z.backward()
assert x.grad.tolist() == [3.0, 4.0]
w = torch.tensor(2.0, requires_grad=True)
assert not destaca(w).requires_grad
g = torch.autograd.grad(soma_produto(x.double(), torch.ones(2, dtype=torch.float64)), x)[0]
assert g.tolist() == [1.0, 1.0]
""",
        "",
    ),
    "argumento_alterado": (
        """
import torch
a = torch.tensor([1.0, 2.0])
g = marca_grad(a)
assert a.requires_grad and a.grad.tolist() == [2.0, 4.0] and g.tolist() == [2.0, 4.0]
""",
        "",
    ),
    "referencias": (
        """
import contextlib
@contextlib.contextmanager
def _referencias(**funcoes):
    originais = {nome: globals().get(nome) for nome in funcoes}
    globals().update(funcoes)
    try:
        yield
    finally:
        globals().update(originais)
chamadas = []
def _ref(x):
    chamadas.append(x)
    return 10 * x
assert usa_referencia(1) == -999
with _referencias(referencia=_ref):
    assert usa_referencia(2) == 21
# the override ran in S, on S's copy of what it uses: T's list is T's (only a call's arguments come back)
assert usa_referencia(3) == -999 and chamadas == []
assert aplica(lambda v: v + 0.5, 1) == 1.5 and aplica(dobro, 4) == 8
vistos = []
def _espiao(v):
    vistos.append(v)
    return v
assert aplica(_espiao, 7) == 7 and vistos == [7]  # a function passed as an argument is an argument
""",
        "",
    ),
    "nome_apagado": (
        """
original = globals()["auxiliar"]
del globals()["auxiliar"]
try:
    usa_auxiliar([1, 2])
except NameError:
    pass
else:
    raise AssertionError("usa_auxiliar deveria depender de auxiliar")
finally:
    globals()["auxiliar"] = original
assert usa_auxiliar([1, 2]) == 3
del auxiliar  # a plain `del` in a test cell is T's own business: S keeps its function
assert usa_auxiliar([1, 2]) == 3
""",
        "",
    ),
    "codigo_fonte": (
        """
import inspect
fonte = inspect.getsource(dobro)
assert fonte == "def dobro(x):\\n    return 2 * x\\n", repr(fonte)
assert "for v in x" in inspect.getsource(usa_auxiliar.__globals__["auxiliar"])
# a helper named like a module the test imports is the student's, read from the notebook
assert "for v in x" in inspect.getsource(usa_inspect.__globals__["inspect"])
for nome in ("decorada", "trocada"):
    try:
        inspect.getsource(usa_inspect.__globals__[nome])
    except OSError as erro:
        assert "defina-a com def" in str(erro), erro
    else:
        raise AssertionError(f"{nome} não é um def simples")
assert usa_inspect.__globals__["np"].__module__ == "numpy" and "so_no_aluno" in usa_inspect.__globals__
# reading code made nothing of the student's T's: no stand-in, no binding
assert "decorada" not in vars(__import__("__main__")) and "auxiliar" not in vars(__import__("__main__"))
""",
        "",
    ),
    "fonte_ilegivel_com_codigo_dinamico": (
        """
import inspect
try:
    inspect.getsource(dobro)
except OSError as erro:
    assert "o notebook usa globals()" in str(erro), erro
else:
    raise AssertionError("o código de dobro não deveria ser legível depois de globals()")
""",
        "",
    ),
    "estado_de_T": (
        """
globals().get("lista_teste")  # a check's lookup of a student's name...
lista_teste = [1, 2, 3]  # ...then the test binds that name: it is T's, never shipped nor written back
assert mexe() == "function" and lista_teste == [1, 2, 3], lista_teste
""",
        "",
    ),
    "escrita_so_nos_argumentos": (
        """
import contextlib
import torch
@contextlib.contextmanager
def _referencias(**funcoes):
    originais = {nome: globals().get(nome) for nome in funcoes}
    globals().update(funcoes)
    try:
        yield
    finally:
        globals().update(originais)
pesos_teste = torch.ones(3)
def _ref(x):
    return x * pesos_teste
x = torch.ones(3)
with _referencias(referencia=_ref):
    r = mexe_na_referencia(x)
assert pesos_teste.tolist() == [1.0, 1.0, 1.0], pesos_teste  # what the override used stays T's
assert x.tolist() == [2.0, 2.0, 2.0] and r.tolist() == [0.0, 0.0, 0.0]  # the argument comes back
""",
        "",
    ),
    "erro_do_aluno": (
        """
try:
    erro_comum(1)
except ValueError as erro:
    assert "valor ruim" in str(erro) and "erro_comum" in str(erro)
else:
    raise AssertionError("sem erro")
erro_proprio(1)
""",
        "ErroMeu: meu erro (em erro_proprio)",
    ),
    "avisos_silenciados": (
        """
import warnings
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    assert avisa(3) == 3
import numpy as np
with np.errstate(all="ignore"):
    transborda(1)
""",
        "",
    ),
    "aviso_no_stderr": ("avisa(1)", "__stderr__"),
    "saida_do_aluno": ("assert fala(2) == 2", ""),
    "contexto_autograd": (
        """
import torch
assert grad_ligado(1) is True
with torch.no_grad():
    assert grad_ligado(1) is False
""",
        "",
    ),
    "objeto_recusado": (
        "estranho(1)",
        "estranho devolveu um objeto do tipo object, que a correção não aceita",
    ),
    "nome_inexistente": ("nao_existe(1)", "NameError"),
    "memoria_medida": (MEMORY_MEASURE, ""),
    "memoria_sem_mentira": (MEMORY_MEASURE, ""),  # after SILENCED_PROFILER
}


def graded_cell(source, grade_id):
    cell = new_code_cell(source.strip())
    cell.metadata["nbgrader"] = {
        "grade": True,
        "grade_id": grade_id,
        "locked": True,
        "points": 1,
        "solution": False,
        "schema_version": 3,
    }
    return cell


@pytest.fixture(scope="module")
def executed(sandbox_available):
    cells = [new_code_cell(STUDENT), new_code_cell(STUDENT_TWO)]
    for grade_id, (source, _) in TESTS.items():
        if grade_id == "fonte_ilegivel_com_codigo_dinamico":
            cells.append(new_code_cell(STUDENT_DYNAMIC))
        cells.append(graded_cell(source, grade_id))
    cells.insert(-1, new_code_cell(SILENCED_PROFILER))
    settings = ExecutionSettings(
        use_sandbox=sandbox_available,
        cell_timeout_s=60,
        submission_timeout_s=300,
        limits=Limits(memory_mb=4096),
    )
    pair = warm.Pair(warm_key(settings))
    try:
        result = asyncio.run(execute_async(new_notebook(cells=cells), settings, pair))
    finally:
        pair.stop()
    assert result.status == Status.GRADED, result.message
    return {c.metadata["nbgrader"]["grade_id"]: c for c in result.notebook.cells if "nbgrader" in c.metadata}


@pytest.mark.parametrize("grade_id", list(TESTS))
def test_semantics(executed, grade_id):
    expected = TESTS[grade_id][1]
    outputs = executed[grade_id].outputs
    errors = [f"{o.ename}: {o.evalue}" for o in outputs if o.output_type == "error"]
    stderr = "".join(o.text for o in outputs if o.output_type == "stream" and o.name == "stderr")
    if expected == "__stderr__":  # a warning the test did not silence reaches stderr: nbgrader fails the cell
        assert "cuidado" in stderr and not errors, outputs
    elif expected:
        assert any(expected in e for e in errors), outputs
    else:
        assert not errors and not stderr, outputs
    if grade_id == "saida_do_aluno":
        assert "olá do aluno" in "".join(o.get("text", "") for o in outputs)
