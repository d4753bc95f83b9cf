"""Write examples/submissions/programacao_diferenciavel/: a small class for `grader demo`.

Run after changing source/ or release/ (`python examples/make_submissions.py`); a test checks that the
committed examples are what this script writes. Each student shows one thing the grader must get right, and
their answers read like a real class: the right ones are written independently (each student has an approach,
names and comments of their own, and a written answer in their own words), so that `grader similarity` finds
exactly one pair, the planted copy: joao handed in ana's answers with the variables renamed.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import sys
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = "programacao_diferenciavel"
OUT = REPO / "examples" / "submissions" / ASSIGNMENT
STUB = re.compile(r"^([ \t]*)# SEU CÓDIGO AQUI\n[ \t]*raise NotImplementedError\(\)$", re.MULTILINE)

# Each student's answers: the body that replaces the release's stub (indented under the signature), or, under
# "antes", helper functions written before the signature. Written answers (markdown) are the whole cell.
ANA = {
    "resposta_linhas_positivas": "mascara = X.sum(axis=1) > 0\nreturn X[mascara]",
    "resposta_juntar_atributos": "return torch.cat((X1, X2), dim=1)",
    "resposta_A_B": "A = torch.randn(128, 256, device=device)\nB = torch.randn(128, 256, device=device)",
    "resposta_produto_com_laco": """n, m = A.shape[0], B.shape[0]
C = torch.empty(n, m, dtype=A.dtype, device=A.device)
for i in range(n):
    # a linha A[i] é replicada sobre as m linhas de B; a soma em d dá os m produtos escalares
    C[i] = (A[i] * B).sum(dim=1)
return C""",
    "resposta_produto_vetorizado": "return A @ B.T",
    "resposta_comparacao_tempo": (
        "Sim, bem mais rápida. No laço, o Python executa uma volta por linha de A e em cada volta o PyTorch "
        "lança três operações pequenas (produto, soma e cópia para C), cada uma com seu custo fixo de chamada, e "
        "cria um temporário 128×256. A versão vetorizada faz uma chamada só: a multiplicação de matrizes da "
        "biblioteca BLAS, que usa instruções SIMD e reaproveita o cache, sem voltar ao interpretador."
    ),
    "resposta_update_c": """produto = A @ B.T          # o único tensor do tamanho de C
for _ in range(n_iter):
    C += produto            # soma direto na memória de C""",
    "resposta_distancias": """quadrados_x = (X * X).sum(dim=1, keepdim=True)   # (n, 1)
quadrados_y = (Y * Y).sum(dim=1)                  # (m,), vira (1, m) no broadcasting
d2 = quadrados_x - 2 * (X @ Y.T) + quadrados_y
return d2.clamp_min_(0).sqrt_()                   # arredondamento pode dar negativo perto de 0""",
    "resposta_derivada_logistica": """entrada = torch.tensor(x, requires_grad=True)
saida = logistica(entrada)
saida.backward(torch.ones_like(saida))
return entrada.grad.numpy()""",
    "resposta_regra_da_cadeia": """folha = x.detach().clone().requires_grad_(True)
u = f_cadeia(folha)
u.backward(torch.ones_like(u))
du_dx = folha.grad

u_solto = u.detach().requires_grad_(True)   # segundo grafo: começa em u
z = g_cadeia(u_solto)
z.backward(torch.ones_like(z))
dz_du = u_solto.grad
return du_dx, dz_du, dz_du * du_dx""",
    "resposta_log_exp": """numerador = torch.exp(x)
denominador = torch.exp(x) + torch.exp(y)
return -torch.log(numerador / denominador)""",
    "resposta_stable_log_exp": """m = torch.maximum(x, y)   # nenhuma exponencial recebe um número positivo
return m - x + torch.log(torch.exp(x - m) + torch.exp(y - m))""",
}

CARLA = {
    "resposta_linhas_positivas": "return X[np.sum(X, axis=1) > 0, :]",
    "resposta_juntar_atributos": "return torch.hstack((X1, X2))",
    "resposta_A_B": """gerador = torch.Generator(device=device)
gerador.manual_seed(2025)
A = torch.randn(128, 256, generator=gerador, device=device)
B = torch.randn(128, 256, generator=gerador, device=device)""",
    "resposta_produto_com_laco": """linhas = []
for a in A:
    linhas.append(torch.mv(B, a))   # B (m, d) vezes a (d,): uma linha do resultado
return torch.stack(linhas)""",
    "resposta_produto_vetorizado": "return torch.mm(A, B.t())",
    "resposta_comparacao_tempo": (
        "Ficou, algumas ordens de grandeza. O custo do laço não está nas contas, que são poucas, e sim no "
        "caminho até elas: cada iteração passa pelo interpretador e dispara kernels minúsculos, e isso se repete "
        "128 vezes. Com `A @ B.T` o trabalho inteiro vai de uma vez para uma rotina de álgebra linear "
        "otimizada (BLAS), que processa vários números por instrução e mantém os blocos das matrizes no cache."
    ),
    # the classic mistake: D + C is a temporary of C's size at every iteration
    "resposta_update_c": """D = torch.mm(A, B.t())
for _ in range(n_iter):
    C[:] = D + C""",
    "resposta_distancias": """normas = X.pow(2).sum(-1).unsqueeze(1) + Y.pow(2).sum(-1).unsqueeze(0)
# addmm: normas + (-2) * X @ Y.T numa chamada só
return torch.addmm(normas, X, Y.T, alpha=-2).clamp_min(0).sqrt()""",
    "resposta_derivada_logistica": """t = torch.tensor(x, requires_grad=True)
(derivada,) = torch.autograd.grad(logistica(t).sum(), t)
return derivada.detach().cpu().numpy()""",
    "resposta_regra_da_cadeia": """xg = x.detach().requires_grad_(True)
u = f_cadeia(xg)
(du_dx,) = torch.autograd.grad(u.sum(), xg)
u_novo = u.detach().requires_grad_(True)
(dz_du,) = torch.autograd.grad(g_cadeia(u_novo).sum(), u_novo)
return du_dx, dz_du, dz_du * du_dx""",
    "resposta_log_exp": "return torch.log(torch.exp(x) + torch.exp(y)) - x",
    # the "stable" form of the original notebook, which overflows in float32 for y - x = 400
    "resposta_stable_log_exp": "return torch.log(1 + torch.exp(y - x))",
}

DAVI = {
    "resposta_linhas_positivas": "somas = X.sum(1)\nreturn X[somas > 0]",
    "resposta_juntar_atributos": "return torch.cat([X1, X2], dim=-1)",
    "resposta_A_B": "A = torch.empty(128, 256, device=device).normal_()\nB = torch.empty(128, 256, device=device).normal_()",
    "resposta_produto_com_laco": """C = A.new_zeros(A.shape[0], B.shape[0])
i = 0
while i < A.shape[0]:
    C[i] = B @ A[i]
    i += 1
return C""",
    "resposta_produto_vetorizado": "return torch.matmul(A, B.transpose(0, 1))",
    "resposta_comparacao_tempo": (
        "A vetorizada ganhou com folga. Eu acho que o motivo é o overhead: no laço são 128 chamadas separadas "
        "ao PyTorch, cada uma alocando memória nova e esperando o Python mandar a próxima. Quando tudo vira uma "
        "multiplicação de matrizes só, o PyTorch chama o BLAS, que é código compilado e otimizado para o "
        "processador (vetorização e uso de cache), então quase todo o tempo é conta de verdade."
    ),
    # his own temporary: produto + C before the copy (he deleted the test cell that catches it)
    "resposta_update_c": """produto = torch.einsum('ik,jk->ij', A, B)
for _ in range(n_iter):
    C.copy_(produto + C)""",
    "resposta_distancias": """D = X @ Y.T
D.mul_(-2).add_((X * X).sum(dim=1)[:, None]).add_((Y * Y).sum(dim=1)[None, :])
return D.clamp_(min=0).sqrt_()   # tudo no lugar, em cima do produto""",
    "resposta_derivada_logistica": """plano = torch.from_numpy(x).reshape(-1)
derivadas = torch.func.vmap(torch.func.grad(logistica))(plano)
return derivadas.reshape(x.shape).numpy()""",
    "resposta_regra_da_cadeia": """x = x.clone().requires_grad_(True)
u = f_cadeia(x)
u.sum().backward()
u_sep = u.detach()
u_sep.requires_grad_(True)
g_cadeia(u_sep).sum().backward()
return x.grad, u_sep.grad, x.grad * u_sep.grad""",
    "resposta_log_exp": "return -torch.log(torch.softmax(torch.stack([x, y]), dim=0)[0])",
    "resposta_stable_log_exp": "return torch.logaddexp(x, y) - x",
}

ELISA = {
    "resposta_linhas_positivas": "return np.compress(X.sum(axis=1) > 0, X, axis=0)",
    "resposta_juntar_atributos": "return torch.column_stack((X1, X2))",
    "resposta_A_B": """A = torch.normal(0.0, 1.0, size=(128, 256), device=device)
B = torch.normal(0.0, 1.0, size=(128, 256), device=device)""",
    "resposta_produto_com_laco": "return torch.stack([(linha * B).sum(-1) for linha in A])",
    "resposta_produto_vetorizado": "return torch.einsum('ik,jk->ij', A, B)",
    "resposta_comparacao_tempo": (
        "Sim. Medi dezenas de vezes menos tempo para `A @ B.T`. O laço paga, a cada linha, a interpretação do "
        "Python e o lançamento de operações do PyTorch sobre vetores pequenos, além de tensores intermediários; "
        "o trabalho útil por chamada é mínimo. A multiplicação de matrizes vetorizada é uma única operação "
        "grande, executada por código nativo que explora SIMD e a hierarquia de memória."
    ),
    "resposta_update_c": """for _ in range(n_iter):
    C.addmm_(A, B.t())   # C <- C + A Bᵀ sem guardar o produto""",
    "resposta_distancias": """xx = torch.einsum('id,id->i', X, X)
yy = torch.einsum('jd,jd->j', Y, Y)
cruzado = torch.einsum('id,jd->ij', X, Y)
return torch.relu(xx.view(-1, 1) - 2 * cruzado + yy.view(1, -1)).sqrt()""",
    "antes:resposta_derivada_logistica": """def _gradiente(funcao, valores):
    valores = valores.detach().requires_grad_(True)
    funcao(valores).sum().backward()
    return valores.grad
""",
    "resposta_derivada_logistica": "return _gradiente(logistica, torch.from_numpy(x)).numpy()",
    "resposta_regra_da_cadeia": """plano = x.detach().reshape(-1)
du_dx = torch.func.vmap(torch.func.grad(f_cadeia))(plano)
u = f_cadeia(plano).detach()
dz_du = torch.func.vmap(torch.func.grad(g_cadeia))(u)
forma = x.shape
return du_dx.reshape(forma), dz_du.reshape(forma), (dz_du * du_dx).reshape(forma)""",
    "resposta_log_exp": "return torch.log1p(torch.exp(y - x))",
    "resposta_stable_log_exp": "return F.softplus(y - x)",
}

FABIO = {
    "resposta_linhas_positivas": "positivas = X.sum(axis=-1) > 0\nreturn X[positivas, :]",
    "resposta_juntar_atributos": "juntos = torch.cat((X1, X2), 1)\nreturn juntos",
    "resposta_A_B": """formato = (128, 256)
A = torch.randn(formato, dtype=torch.float32, device=device)
B = torch.randn(formato, dtype=torch.float32, device=device)""",
    "antes:resposta_produto_com_laco": """def _uma_linha(a, Bt):
    return a @ Bt
""",
    "resposta_produto_com_laco": """Bt = B.T
resultado = torch.zeros((A.shape[0], B.shape[0]), dtype=A.dtype, device=A.device)
for k in range(len(A)):
    resultado[k] = _uma_linha(A[k], Bt)
return resultado""",
    "resposta_produto_vetorizado": "return F.linear(A, B)",
    "resposta_comparacao_tempo": (
        "Muito mais rápida (o gráfico mostra a diferença em microssegundos). Vetorizar tira o Python do caminho: "
        "em vez de 128 iterações com operações pequenas, que desperdiçam tempo com despacho e com memória "
        "temporária, uma só operação de matriz roda inteira em C/BLAS, aproveitando registradores vetoriais e "
        "cache, e com várias threads quando a máquina tem."
    ),
    "resposta_update_c": "C.add_(A @ B.T, alpha=n_iter)   # n_iter vezes o produto, somado uma vez no lugar",
    "antes:resposta_distancias": """def quadrados(X, Y):
    return (X ** 2).sum(1, keepdim=True) - 2 * X.mm(Y.t()) + (Y ** 2).sum(1, keepdim=True).t()
""",
    "resposta_distancias": """q = quadrados(X, Y)
return torch.where(q > 0, q, torch.zeros_like(q)).sqrt()""",
    "resposta_derivada_logistica": """t = torch.from_numpy(x.copy()).requires_grad_(True)
logistica(t).sum().backward()
return t.grad.detach().cpu().numpy()""",
    "resposta_regra_da_cadeia": """inicio = x.detach().clone().requires_grad_()
u = f_cadeia(inicio)
u.backward(gradient=torch.ones_like(u))
copia = u.detach().clone().requires_grad_()   # uma cópia de verdade, fora do grafo
g_cadeia(copia).backward(gradient=torch.ones_like(u))
return inicio.grad, copia.grad, torch.mul(copia.grad, inicio.grad)""",
    "resposta_log_exp": "return -F.log_softmax(torch.stack((x, y)), dim=0)[0]",
    "resposta_stable_log_exp": "return torch.logsumexp(torch.stack([x, y]), dim=0) - x",
}

# joao copied ana's notebook and renamed the variables: the one pair the similarity report must show
RENAMES = {
    "mascara": "selecao",
    "n": "linhas",
    "m": "colunas",
    "produto": "ab",
    "quadrados_x": "sx",
    "quadrados_y": "sy",
    "d2": "dist2",
    "entrada": "xt",
    "saida": "yt",
    "folha": "xx",
    "u_solto": "u_livre",
    "numerador": "topo",
    "denominador": "base",
}


def renamed(code: str) -> str:
    """The code with RENAMES applied to its names (comments, which the copier kept, unchanged)."""
    lines = []
    for line in code.splitlines():
        text, hash_, comment = line.partition("#")
        lines.append(re.sub(r"\b\w+\b", lambda w: RENAMES.get(w[0], w[0]), text) + hash_ + comment)
    return "\n".join(lines)


JOAO = {cell: text if cell == "resposta_comparacao_tempo" else renamed(text) for cell, text in ANA.items()}

# Hooks IPython so that every cell containing `assert` does nothing.
TAMPERING = """def _sem_asserts(linhas):
    return ["pass\\n"] if any("assert" in linha for linha in linhas) else linhas

get_ipython().input_transformers_cleanup.append(_sem_asserts)
"""
HELENA_A_B = "A = torch.randn(128, 256).to(device)\nB = torch.randn(128, 256).to(device)"


def grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def answered(release: nbformat.NotebookNode, answers: dict[str, str]) -> nbformat.NotebookNode:
    """The release with the student's answers in place of the stubs."""
    nb = copy.deepcopy(release)
    for cell in nb.cells:
        cell_id = grade_id(cell)
        if cell_id not in answers:
            continue
        if cell.cell_type == "markdown":
            cell.source = answers[cell_id]
            continue
        stub = STUB.search(cell.source)
        body = "\n".join(stub.group(1) + line if line else line for line in answers[cell_id].splitlines())
        before = answers.get(f"antes:{cell_id}", "")
        cell.source = before + cell.source[: stub.start()] + body + cell.source[stub.end() :]
    return nb


def without(nb, cell_id: str):
    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells if grade_id(c) != cell_id]
    return nb


def stripped(nb):
    """What an editor that drops nbgrader's metadata hands back."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        cell.metadata = {}
    return nb


def write(student: str, filename: str, nb=None, raw: str | None = None) -> None:
    path = OUT / student / ASSIGNMENT / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(raw if raw is not None else nbformat.writes(nb) + "\n", encoding="utf-8")


def main() -> int:
    release = nbformat.read(REPO / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    name = f"{ASSIGNMENT}.ipynb"
    if OUT.exists():
        shutil.rmtree(OUT)
    write("ana", name, answered(release, ANA))  # everything right
    write("bruno", name, release)  # handed in the release untouched
    write("carla", name, answered(release, CARLA))  # two classic mistakes: update_c and stable_log_exp
    write(
        "davi", name, without(answered(release, DAVI), "update_c_memoria")
    )  # deleted the test that catches him
    write("elisa", f"Cópia de {name}", stripped(answered(release, ELISA)))  # Colab: renamed, metadata gone
    write("fabio", f"{ASSIGNMENT} (1).ipynb", answered(release, FABIO))  # browser's second download
    text = nbformat.writes(answered(release, ELISA))
    write("gabriel", name, raw=text[: len(text) // 2])  # upload cut in half: broken JSON
    tampered = answered(release, {"resposta_A_B": HELENA_A_B + "\n\n" + TAMPERING})
    write("helena", name, tampered)  # solved only A and B, hooks IPython
    (OUT / "igor" / ASSIGNMENT).mkdir(parents=True)
    (OUT / "igor" / ASSIGNMENT / "LEIAME.txt").write_text(
        "Professor, não consegui terminar.\n", encoding="utf-8"
    )
    write("joao", name, answered(release, JOAO))  # ana's answers, variables renamed: the planted copy
    print(json.dumps(sorted(p.name for p in OUT.iterdir())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
