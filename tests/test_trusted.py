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

A = torch.randn(3, 4)
B = A.view(4, 3)
lista = [A, A]
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

# A test's probe that measures memory in the student's kernel (as update_c_memoria's does), with its decoy: two
# tensors of a known size alive at once must be seen as two.
MEMORY_PROBE = """
def _no_kernel_do_aluno(funcao):
    return funcao

@_no_kernel_do_aluno
def _grandes(chamada, tamanho):
    import os, sys, warnings
    import torch
    from torch.profiler import ProfilerActivity, profile
    salvo, nulo = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(nulo, 2)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
                chamada()
    finally:
        os.dup2(salvo, 2)
        os.close(salvo)
        os.close(nulo)
    eventos = [(e.start_ns(), e.nbytes()) for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"]
    atual = grandes = maximo = 0
    for _, nbytes in sorted(eventos):
        grandes += nbytes >= 0.9 * tamanho
        grandes -= nbytes <= -0.9 * tamanho and grandes > 0
        maximo = max(maximo, grandes)
    return maximo

import torch
isca = _grandes(lambda: [torch.ones(160, 160) for _ in range(2)], 160 * 160 * 4)
assert isca >= 2, "a medição de memória no kernel do aluno não confere com uma alocação conhecida"
"""
# The student then silences the profiler in their kernel: the decoy fails, and so does the test.
SILENCED_PROFILER = """
import types
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
assert usa_referencia(3) == -999 and chamadas == [2]
assert aplica(lambda v: v + 0.5, 1) == 1.5 and aplica(dobro, 4) == 8
""",
        "",
    ),
    "nome_apagado": (
        """
original = auxiliar
del auxiliar
try:
    usa_auxiliar([1, 2])
except NameError:
    pass
else:
    raise AssertionError("usa_auxiliar deveria depender de auxiliar")
finally:
    auxiliar = original
assert usa_auxiliar([1, 2]) == 3
""",
        "",
    ),
    "codigo_fonte": (
        """
import inspect
fonte = inspect.getsource(dobro)
assert fonte == "def dobro(x):\\n    return 2 * x\\n", repr(fonte)
assert "for v in x" in inspect.getsource(globals().get("auxiliar"))
""",
        "",
    ),
    "sonda_no_aluno": (
        """
def _no_kernel_do_aluno(funcao):
    return funcao

@_no_kernel_do_aluno
def _onde():
    return "so_no_aluno" in vars(__import__("__main__"))  # the student's namespace: this runs in S

assert _onde() is True and "so_no_aluno" not in vars(__import__("__main__"))
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
    "memoria_medida": (MEMORY_PROBE, ""),
    "memoria_isca": (MEMORY_PROBE, "não confere com uma alocação conhecida"),  # after SILENCED_PROFILER
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
    cells += [graded_cell(source, grade_id) for grade_id, (source, _) in TESTS.items()]
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
