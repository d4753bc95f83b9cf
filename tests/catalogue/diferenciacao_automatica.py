"""Catálogo de respostas para `diferenciacao_automatica`: erros plausíveis que os testes precisam pegar e
soluções diferentes da do professor que precisam ser aceitas.

Cada resposta substitui uma única célula de solução do notebook fonte; `must_fail` é o conjunto exato de
células de teste que devem perder pontos (vazio para as respostas certas). Toda célula que confere uma
propriedade também confere valores (uma função vazia perde todas), então uma resposta de valores errados perde
também as células de propriedade da sua função.
"""

from tests.catalogue import Answer
from tests.catalogue import answer as _resposta
from tests.catalogue import empty_body as _vazia

DS_FORMATO, DS_VALORES, DS_AUTOGRAD = (
    "derivadas_superiores_formato",
    "derivadas_superiores_valores",
    "derivadas_superiores_autograd",
)
JD_VALORES, JD_MODO = "jacobiana_direta_valores", "jacobiana_direta_modo"
JR_VALORES, JR_MODO = "jacobiana_reversa_valores", "jacobiana_reversa_modo"
P_VALOR = "perda_inicial_esperada_valor"
EC_VALORES, EC_ESTAVEL, EC_IMPL = (
    "entropia_cruzada_valores",
    "entropia_cruzada_estavel",
    "entropia_cruzada_implementacao",
)

DS_TODAS = (DS_FORMATO, DS_VALORES, DS_AUTOGRAD)
EC_TODAS = (EC_VALORES, EC_ESTAVEL, EC_IMPL)


ANSWERS: list[Answer] = [
    # ------------------------------------------------------------------ derivadas_superiores
    _resposta(
        "derivadas_grad_outputs",
        "resposta_derivadas_superiores",
        """
def derivadas_superiores(f, x, ordem):
    x = x.detach().clone().requires_grad_(True)
    atual = f(x)
    resultado = []
    for _ in range(ordem):
        (atual,) = torch.autograd.grad(atual, x, grad_outputs=torch.ones_like(atual), create_graph=True)
        resultado.append(atual.detach())
    return resultado
""",
        "grad_outputs=ones_like em vez de derivar a soma",
    ),
    _resposta(
        "derivadas_torch_func",
        "resposta_derivadas_superiores",
        '''
from torch.func import grad, vmap


def derivadas_superiores(f, x, ordem):
    """Derivadas sucessivas com torch.func.grad de uma função escalar, aplicadas elemento a elemento com vmap."""
    planos = x.detach().reshape(-1)
    g = lambda s: f(s)  # noqa: E731
    resultado = []
    for _ in range(ordem):
        g = grad(g)
        resultado.append(vmap(g)(planos).reshape(x.shape))
    return resultado
''',
        "autograd funcional: torch.func.grad composto, vetorizado com vmap",
    ),
    _resposta(
        "derivadas_backward_create_graph",
        "resposta_derivadas_superiores",
        """
def derivadas_superiores(f, x, ordem):
    entrada = x.detach().requires_grad_(True)
    atual = f(entrada)
    derivadas = []
    for _ in range(ordem):
        entrada.grad = None
        atual.sum().backward(create_graph=True)  # o PyTorch avisa (UserWarning) sobre um ciclo de referências
        atual = entrada.grad
        derivadas.append(atual.detach().clone())
    return derivadas
""",
        "backward(create_graph=True) lendo entrada.grad; o aviso em stderr não pode reprovar",
    ),
    _resposta(
        "derivadas_modo_direto",
        "resposta_derivadas_superiores",
        """
def _derivada_direta(g):
    return lambda v: torch.func.jvp(g, (v,), (torch.ones_like(v),))[1]


def derivadas_superiores(f, x, ordem):
    derivadas, g = [], f
    for _ in range(ordem):
        g = _derivada_direta(g)  # modo direto sobre modo direto
        derivadas.append(g(x.detach()))
    return derivadas
""",
        "modo direto aninhado: cada derivada é o jvp da anterior na direção (1, ..., 1)",
    ),
    _resposta(
        "derivadas_numeros_duais",
        "resposta_derivadas_superiores",
        """
import torch.autograd.forward_ad as fwAD


def derivadas_superiores(f, x, ordem):
    derivadas = []
    for k in range(1, ordem + 1):
        with fwAD.dual_level():
            entrada = fwAD.make_dual(x.detach().clone().requires_grad_(True), torch.ones_like(x))
            atual = f(entrada)
            for _ in range(k - 1):  # as k − 1 primeiras pelo modo reverso...
                (atual,) = torch.autograd.grad(atual.sum(), entrada, create_graph=True)
            derivadas.append(fwAD.unpack_dual(atual).tangent.detach())  # ... e a última por números duais
    return derivadas
""",
        "números duais (torch.autograd.forward_ad) sobre o modo reverso: a k-ésima derivada é a tangente da (k−1)-ésima",
    ),
    _resposta(
        "derivadas_grad_and_value",
        "resposta_derivadas_superiores",
        """
import torch.func as ft


def _derivada(g):
    def dg(s):
        gradiente, _valor = ft.grad_and_value(g)(s)
        return gradiente

    return dg


def derivadas_superiores(f, x, ordem):
    achatado = x.detach().flatten()
    funcoes = [f]
    while len(funcoes) <= ordem:
        funcoes.append(_derivada(funcoes[-1]))
    return [ft.vmap(h)(achatado).view_as(x) for h in funcoes[1:]]
""",
        "torch.func.grad_and_value composto numa auxiliar (só o gradiente aproveitado), vetorizado com vmap",
    ),
    _resposta(
        "derivadas_primeira_repetida",
        "resposta_derivadas_superiores",
        """
def derivadas_superiores(f, x, ordem):
    x = x.detach().requires_grad_(True)
    (primeira,) = torch.autograd.grad(f(x).sum(), x)
    return [primeira for _ in range(ordem)]
""",
        "deriva sempre f: repete a primeira derivada",
        DS_VALORES,
        DS_AUTOGRAD,
    ),
    _resposta(
        "derivadas_sem_create_graph",
        "resposta_derivadas_superiores",
        """
def derivadas_superiores(f, x, ordem):
    x = x.detach().requires_grad_(True)
    atual = f(x)
    derivadas = []
    for _ in range(ordem):
        (atual,) = torch.autograd.grad(atual.sum(), x)
        derivadas.append(atual)
    return derivadas
""",
        "sem create_graph=True: a segunda derivada já não tem grafo (RuntimeError)",
        *DS_TODAS,
    ),
    _resposta(
        "derivadas_comeca_em_f",
        "resposta_derivadas_superiores",
        """
def derivadas_superiores(f, x, ordem):
    x = x.detach().requires_grad_(True)
    atual = f(x)
    derivadas = []
    for _ in range(ordem):
        derivadas.append(atual.detach())
        (atual,) = torch.autograd.grad(atual.sum(), x, create_graph=True)
    return derivadas
""",
        "deslocada de uma ordem: devolve [f, f', ...] em vez de [f', f'', ...]",
        *DS_TODAS,
    ),
    _resposta(
        "derivadas_sem_somar_a_saida",
        "resposta_derivadas_superiores",
        """
def derivadas_superiores(f, x, ordem):
    x = x.detach().requires_grad_(True)
    atual = f(x)
    derivadas = []
    for _ in range(ordem):
        (atual,) = torch.autograd.grad(atual, x, create_graph=True)
        derivadas.append(atual.detach())
    return derivadas
""",
        "deriva uma saída vetorial sem somar nem grad_outputs (RuntimeError)",
        *DS_TODAS,
    ),
    _resposta(
        "derivadas_altera_x_recebido",
        "resposta_derivadas_superiores",
        """
def derivadas_superiores(f, x, ordem):
    x.requires_grad_(True)
    atual = f(x)
    derivadas = []
    for _ in range(ordem):
        (atual,) = torch.autograd.grad(atual.sum(), x, create_graph=True)
        derivadas.append(atual.detach())
    return derivadas
""",
        "liga requires_grad no próprio tensor recebido em vez de num tensor desligado",
        DS_FORMATO,
    ),
    _resposta(
        "derivadas_achatada",
        "resposta_derivadas_superiores",
        """
def derivadas_superiores(f, x, ordem):
    x = x.detach().reshape(-1).requires_grad_(True)
    atual = f(x)
    derivadas = []
    for _ in range(ordem):
        (atual,) = torch.autograd.grad(atual.sum(), x, create_graph=True)
        derivadas.append(atual.detach())
    return derivadas
""",
        "valores certos, mas achatados: perde o formato de x",
        *DS_TODAS,
    ),
    _resposta(
        "derivadas_formulas_de_tanh",
        "resposta_derivadas_superiores",
        """
def derivadas_superiores(f, x, ordem):
    t = torch.tanh(x.detach())
    u = 1 - t ** 2
    formulas = [u, -2 * t * u, (6 * t ** 2 - 2) * u, 8 * t * u * (2 - 3 * t ** 2)]
    return formulas[:ordem]
""",
        "fórmulas prontas das derivadas de tanh, sem olhar para f: só acerta quando f = tanh",
        DS_VALORES,
        DS_AUTOGRAD,
    ),
    _resposta(
        "derivadas_diferencas_finitas",
        "resposta_derivadas_superiores",
        """
def derivadas_superiores(f, x, ordem):
    h = 1e-3
    g = f
    derivadas = []
    for _ in range(ordem):
        g = (lambda anterior: lambda v: (anterior(v + h) - anterior(v - h)) / (2 * h))(g)
        derivadas.append(g(x.detach()))
    return derivadas
""",
        "diferenças centrais aninhadas, sem autograd: imprecisas nas ordens altas e cegas para a f marcada",
        DS_VALORES,
        DS_AUTOGRAD,
    ),
    _resposta(
        "derivadas_cpu",
        "resposta_derivadas_superiores",
        """
def derivadas_superiores(f, x, ordem):
    entrada = x.detach().requires_grad_(True)
    atual = f(entrada)
    derivadas = []
    for _ in range(ordem):
        (atual,) = torch.autograd.grad(atual.sum(), entrada, create_graph=True)
        derivadas.append(atual.detach().cpu())
    return derivadas
""",
        "leva cada derivada para a CPU: não fica no dispositivo de x",
        DS_FORMATO,
    ),
    _resposta(
        "derivadas_refaz_x",
        "resposta_derivadas_superiores",
        """
def derivadas_superiores(f, x, ordem):
    entrada = torch.tensor(x.tolist(), dtype=x.dtype, requires_grad=True)  # sempre na CPU
    atual = f(entrada)
    derivadas = []
    for _ in range(ordem):
        (atual,) = torch.autograd.grad(atual.sum(), entrada, create_graph=True)
        derivadas.append(atual.detach())
    return derivadas
""",
        "recria x a partir de uma lista do Python: sempre na CPU (e .tolist() não funciona no dispositivo meta)",
        DS_FORMATO,
    ),
    _resposta(
        "derivadas_altera_entradas",
        "resposta_derivadas_superiores",
        """
def derivadas_superiores(f, x, ordem):
    x.mul_(0.5)  # altera a entrada no lugar
    entrada = x.detach().requires_grad_(True)
    atual = f(entrada)
    derivadas = []
    for _ in range(ordem):
        (atual,) = torch.autograd.grad(atual.sum(), entrada, create_graph=True)
        derivadas.append(atual.detach())
    return derivadas
""",
        "altera x no lugar e devolve as derivadas no ponto alterado",
        *DS_TODAS,
    ),
    _vazia("derivadas_superiores", "f, x, ordem", *DS_TODAS),
    # ------------------------------------------------------------------ jacobiana_direta
    _resposta(
        "jacobiana_direta_dual",
        "resposta_jacobiana_direta",
        """
import torch.autograd.forward_ad as fwAD


def jacobiana_direta(f, x):
    colunas = []
    for direcao in torch.eye(x.numel(), dtype=x.dtype, device=x.device):
        with fwAD.dual_level():
            saida = f(fwAD.make_dual(x, direcao))
            colunas.append(fwAD.unpack_dual(saida).tangent)
    return torch.stack(colunas, dim=1)
""",
        "modo direto com torch.autograd.forward_ad (números duais)",
    ),
    _resposta(
        "jacobiana_direta_eye",
        "resposta_jacobiana_direta",
        """
from torch.func import jvp


def jacobiana_direta(f, x):
    base = torch.eye(x.numel(), dtype=x.dtype, device=x.device)
    return torch.stack([jvp(f, (x,), (base[j],))[1] for j in range(x.numel())], dim=-1)
""",
        "jvp importado de torch.func, direções tiradas da identidade",
    ),
    _resposta(
        "jacobiana_direta_apelido_local",
        "resposta_jacobiana_direta",
        """
def jacobiana_direta(f, x):
    import torch.func as tf

    produto = tf.jvp  # apelido local
    colunas = []
    for j in range(x.numel()):
        v = torch.zeros_like(x)
        v[j] = 1
        colunas.append(produto(f, (x,), (v,))[1])
    return torch.stack(colunas, dim=1)
""",
        "torch.func importado dentro da função e jvp com um apelido local",
    ),
    _resposta(
        "jacobiana_direta_transposta",
        "resposta_jacobiana_direta",
        """
def jacobiana_direta(f, x):
    colunas = []
    for j in range(x.numel()):
        direcao = torch.zeros_like(x)
        direcao[j] = 1
        colunas.append(torch.func.jvp(f, (x,), (direcao,))[1])
    return torch.stack(colunas, dim=0)
""",
        "empilha as colunas como linhas: a transposta (n, m)",
        JD_VALORES,
        JD_MODO,
    ),
    _resposta(
        "jacobiana_direta_uma_direcao",
        "resposta_jacobiana_direta",
        """
def jacobiana_direta(f, x):
    _, coluna = torch.func.jvp(f, (x,), (torch.ones_like(x),))
    return torch.stack([coluna] * x.numel(), dim=1)
""",
        "uma só passagem na direção (1, ..., 1): repete J·1 em todas as colunas",
        JD_VALORES,
        JD_MODO,
    ),
    _resposta(
        "jacobiana_direta_com_vjp",
        "resposta_jacobiana_direta",
        """
def jacobiana_direta(f, x):
    saida, vjp_fn = torch.func.vjp(f, x)
    linhas = []
    for i in range(saida.numel()):
        u = torch.zeros_like(saida)
        u[i] = 1
        linhas.append(vjp_fn(u)[0])
    return torch.stack(linhas)
""",
        "valores certos pelo modo reverso (vjp), não pelo direto",
        JD_MODO,
    ),
    _resposta(
        "jacobiana_direta_functional_jvp",
        "resposta_jacobiana_direta",
        """
def jacobiana_direta(f, x):
    colunas = []
    for j in range(x.numel()):
        v = torch.zeros_like(x)
        v[j] = 1
        colunas.append(torch.autograd.functional.jvp(f, x, v)[1])
    return torch.stack(colunas, dim=1)
""",
        "torch.autograd.functional.jvp: apesar do nome, duas passagens reversas (o truque do duplo backward)",
        JD_MODO,
    ),
    _resposta(
        "jacobiana_direta_pronta",
        "resposta_jacobiana_direta",
        """
def jacobiana_direta(f, x):
    return torch.func.jacfwd(f)(x)
""",
        "a função pronta jacfwd (modo direto, mas sem montar as colunas)",
        JD_MODO,
    ),
    _resposta(
        "jacobiana_direta_diferencas_finitas",
        "resposta_jacobiana_direta",
        """
def jacobiana_direta(f, x):
    h = 1e-6
    colunas = []
    for j in range(x.numel()):
        v = torch.zeros_like(x)
        v[j] = h
        colunas.append((f(x + v) - f(x - v)) / (2 * h))
    return torch.stack(colunas, dim=1)
""",
        "coluna por coluna, mas por diferenças finitas: sem o modo direto do autograd (e imprecisa em float32)",
        JD_VALORES,
        JD_MODO,
    ),
    _resposta(
        "jacobiana_direta_cpu",
        "resposta_jacobiana_direta",
        """
def jacobiana_direta(f, x):
    colunas = []
    for j in range(x.numel()):
        direcao = torch.zeros_like(x)
        direcao[j] = 1
        colunas.append(torch.func.jvp(f, (x,), (direcao,))[1])
    return torch.stack(colunas, dim=1).cpu()
""",
        "leva a jacobiana para a CPU: não fica no dispositivo de x",
        JD_MODO,
    ),
    _resposta(
        "jacobiana_direta_altera_entradas",
        "resposta_jacobiana_direta",
        """
def jacobiana_direta(f, x):
    x.mul_(2)  # altera a entrada no lugar
    colunas = []
    for j in range(x.numel()):
        direcao = torch.zeros_like(x)
        direcao[j] = 1
        colunas.append(torch.func.jvp(f, (x,), (direcao,))[1])
    return torch.stack(colunas, dim=1)
""",
        "altera x no lugar e devolve a jacobiana no ponto alterado",
        JD_VALORES,
        JD_MODO,
    ),
    _vazia("jacobiana_direta", "f, x", JD_VALORES, JD_MODO),
    # ------------------------------------------------------------------ jacobiana_reversa
    _resposta(
        "jacobiana_reversa_autograd_grad",
        "resposta_jacobiana_reversa",
        """
def jacobiana_reversa(f, x):
    entrada = x.detach().clone().requires_grad_(True)
    saida = f(entrada)
    linhas = [torch.autograd.grad(saida[i], entrada, retain_graph=True)[0] for i in range(saida.numel())]
    return torch.stack(linhas)
""",
        "uma passagem de torch.autograd.grad por saída, com retain_graph",
    ),
    _resposta(
        "jacobiana_reversa_eye",
        "resposta_jacobiana_reversa",
        """
from torch.func import vjp


def jacobiana_reversa(f, x):
    saida, vjp_fn = vjp(f, x)
    base = torch.eye(saida.numel(), dtype=saida.dtype, device=saida.device)
    return torch.stack([vjp_fn(u)[0] for u in base])
""",
        "vjp importado de torch.func, vetores tirados da identidade",
    ),
    _resposta(
        "jacobiana_reversa_backward",
        "resposta_jacobiana_reversa",
        """
def jacobiana_reversa(f, x):
    linhas = []
    for i in range(f(x).numel()):
        entrada = x.detach().clone().requires_grad_(True)
        f(entrada)[i].backward()
        linhas.append(entrada.grad)
    return torch.stack(linhas)
""",
        "backward de cada componente da saída, refazendo a passagem direta a cada linha",
    ),
    _resposta(
        "jacobiana_reversa_transposta",
        "resposta_jacobiana_reversa",
        """
def jacobiana_reversa(f, x):
    saida, vjp_fn = torch.func.vjp(f, x)
    linhas = []
    for i in range(saida.numel()):
        u = torch.zeros_like(saida)
        u[i] = 1
        linhas.append(vjp_fn(u)[0])
    return torch.stack(linhas, dim=1)
""",
        "empilha as linhas como colunas: a transposta (n, m)",
        JR_VALORES,
        JR_MODO,
    ),
    _resposta(
        "jacobiana_reversa_gradiente_da_soma",
        "resposta_jacobiana_reversa",
        """
def jacobiana_reversa(f, x):
    saida, vjp_fn = torch.func.vjp(f, x)
    (gradiente,) = vjp_fn(torch.ones_like(saida))
    return torch.stack([gradiente] * saida.numel())
""",
        "uma só passagem com u = (1, ..., 1): repete o gradiente da soma em todas as linhas",
        JR_VALORES,
        JR_MODO,
    ),
    _resposta(
        "jacobiana_reversa_com_jvp",
        "resposta_jacobiana_reversa",
        """
def jacobiana_reversa(f, x):
    colunas = []
    for j in range(x.numel()):
        v = torch.zeros_like(x)
        v[j] = 1
        colunas.append(torch.func.jvp(f, (x,), (v,))[1])
    return torch.stack(colunas, dim=1)
""",
        "valores certos pelo modo direto (jvp), não pelo reverso",
        JR_MODO,
    ),
    _resposta(
        "jacobiana_reversa_pronta",
        "resposta_jacobiana_reversa",
        """
def jacobiana_reversa(f, x):
    return torch.func.jacrev(f)(x)
""",
        "a função pronta jacrev (modo reverso, mas sem montar as linhas)",
        JR_MODO,
    ),
    _resposta(
        "jacobiana_reversa_functional",
        "resposta_jacobiana_reversa",
        """
def jacobiana_reversa(f, x):
    return torch.autograd.functional.jacobian(f, x)
""",
        "torch.autograd.functional.jacobian: a jacobiana pronta",
        JR_MODO,
    ),
    _resposta(
        "jacobiana_reversa_cpu",
        "resposta_jacobiana_reversa",
        """
def jacobiana_reversa(f, x):
    saida, vjp_fn = torch.func.vjp(f, x)
    linhas = []
    for i in range(saida.numel()):
        u = torch.zeros_like(saida)
        u[i] = 1
        linhas.append(vjp_fn(u)[0].cpu())
    return torch.stack(linhas)
""",
        "leva cada linha para a CPU: não fica no dispositivo de x",
        JR_MODO,
    ),
    _resposta(
        "jacobiana_reversa_altera_entradas",
        "resposta_jacobiana_reversa",
        """
def jacobiana_reversa(f, x):
    x.add_(1.0)  # altera a entrada no lugar
    saida, vjp_fn = torch.func.vjp(f, x)
    linhas = []
    for i in range(saida.numel()):
        u = torch.zeros_like(saida)
        u[i] = 1
        linhas.append(vjp_fn(u)[0])
    return torch.stack(linhas)
""",
        "altera x no lugar e devolve a jacobiana no ponto alterado",
        JR_VALORES,
        JR_MODO,
    ),
    _vazia("jacobiana_reversa", "f, x", JR_VALORES, JR_MODO),
    # ------------------------------------------------------------------ perda_inicial_esperada
    _resposta(
        "perda_menos_log_de_um_sobre_K",
        "resposta_perda_inicial_esperada",
        """
def perda_inicial_esperada(K):
    p_correta = 1.0 / K  # softmax uniforme
    return -math.log(p_correta)
""",
        "-log(1/K), direto da entropia cruzada com probabilidades uniformes",
    ),
    _resposta(
        "perda_cross_entropy_de_logits_nulos",
        "resposta_perda_inicial_esperada",
        """
import torch.nn.functional as F


def perda_inicial_esperada(K):
    logits = torch.zeros(1, K, dtype=torch.float64)
    return F.cross_entropy(logits, torch.zeros(1, dtype=torch.long)).item()
""",
        "calcula a entropia cruzada de logits todos iguais",
    ),
    _resposta(
        "perda_np_log",
        "resposta_perda_inicial_esperada",
        """
import numpy as np


def perda_inicial_esperada(K):
    return np.log(K)  # np.float64, que é um float
""",
        "np.log(K) devolve np.float64, subclasse de float: o enunciado o permite",
    ),
    _resposta(
        "perda_um_sobre_K",
        "resposta_perda_inicial_esperada",
        """
def perda_inicial_esperada(K):
    return 1.0 / K
""",
        "confunde a probabilidade de cada classe com a perda",
        P_VALOR,
    ),
    _resposta(
        "perda_log2",
        "resposta_perda_inicial_esperada",
        """
def perda_inicial_esperada(K):
    return math.log2(K)
""",
        "logaritmo na base 2 (bits), não o natural do PyTorch",
        P_VALOR,
    ),
    _resposta(
        "perda_sinal_trocado",
        "resposta_perda_inicial_esperada",
        """
def perda_inicial_esperada(K):
    return math.log(1 / K)
""",
        "esquece o sinal de menos da entropia cruzada",
        P_VALOR,
    ),
    _resposta(
        "perda_tensor",
        "resposta_perda_inicial_esperada",
        """
def perda_inicial_esperada(K):
    return torch.log(torch.tensor(float(K)))
""",
        "valor certo, mas devolve um tensor em vez de float",
        P_VALOR,
    ),
    _vazia("perda_inicial_esperada", "K", P_VALOR),
    # ------------------------------------------------------------------ entropia_cruzada
    _resposta(
        "entropia_cruzada_arange",
        "resposta_entropia_cruzada",
        """
def entropia_cruzada(z, c):
    m = z.amax(dim=1, keepdim=True)  # sem detach: o gradiente que passa por m se cancela
    lse = (m + torch.log(torch.exp(z - m).sum(dim=1, keepdim=True))).squeeze(1)
    return lse - z[torch.arange(z.shape[0], device=z.device), c]
""",
        "amax sem detach e indexação com torch.arange",
    ),
    _resposta(
        "entropia_cruzada_one_hot",
        "resposta_entropia_cruzada",
        """
import torch.nn.functional as F


def _log_soma_exp(z):
    m = z.max(dim=1, keepdim=True).values
    return m[:, 0] + (z - m).exp().sum(dim=1).log()


def entropia_cruzada(z, c):
    escolhido = (z * F.one_hot(c, num_classes=z.shape[1]).to(z.dtype)).sum(dim=1)
    return _log_soma_exp(z) - escolhido
""",
        "log∑exp numa função auxiliar e o logit da classe certa por uma máscara one-hot",
    ),
    _resposta(
        "entropia_cruzada_pronta",
        "resposta_entropia_cruzada",
        """
import torch.nn.functional as F


def entropia_cruzada(z, c):
    return F.cross_entropy(z, c, reduction="none")
""",
        "F.cross_entropy: a conta pronta, não o log∑exp escrito à mão",
        EC_IMPL,
    ),
    _resposta(
        "entropia_cruzada_logsumexp",
        "resposta_entropia_cruzada",
        """
def entropia_cruzada(z, c):
    return torch.logsumexp(z, dim=1) - z.gather(1, c.unsqueeze(1)).squeeze(1)
""",
        "torch.logsumexp pronto em vez do truque do máximo",
        EC_IMPL,
    ),
    _resposta(
        "entropia_cruzada_metodo_log_softmax",
        "resposta_entropia_cruzada",
        """
def entropia_cruzada(z, c):
    return -z.log_softmax(dim=1)[torch.arange(z.shape[0], device=z.device), c]
""",
        "o método Tensor.log_softmax, pronto",
        EC_IMPL,
    ),
    _resposta(
        "entropia_cruzada_laco_nas_linhas",
        "resposta_entropia_cruzada",
        """
def entropia_cruzada(z, c):
    perdas = []
    for b in range(z.shape[0]):
        m = z[b].max()
        perdas.append(m + torch.log(torch.exp(z[b] - m).sum()) - z[b, c[b]])
    return torch.stack(perdas)
""",
        "o truque do máximo certo, mas com um laço sobre os exemplos (e z[b, c[b]] não funciona no dispositivo meta)",
        EC_IMPL,
    ),
    _resposta(
        "entropia_cruzada_ingenua",
        "resposta_entropia_cruzada",
        """
def entropia_cruzada(z, c):
    e = torch.exp(z)
    return -torch.log(e.gather(1, c[:, None])[:, 0] / e.sum(dim=1))
""",
        "a fórmula direta: exp transborda para logits grandes",
        EC_ESTAVEL,
    ),
    _resposta(
        "entropia_cruzada_log_da_softmax",
        "resposta_entropia_cruzada",
        """
def entropia_cruzada(z, c):
    p = torch.softmax(z, dim=1)
    return -torch.log(p.gather(1, c[:, None])[:, 0])
""",
        "log da softmax: a probabilidade vira 0 (log 0 = -inf) para logits muito separados",
        EC_ESTAVEL,
    ),
    _resposta(
        "entropia_cruzada_limita_logits",
        "resposta_entropia_cruzada",
        """
def entropia_cruzada(z, c):
    zl = z.clamp(min=-80, max=80)
    return torch.log(torch.exp(zl).sum(dim=1)) - zl.gather(1, c[:, None])[:, 0]
""",
        "limita os logits: finita, mas errada para logits grandes",
        EC_ESTAVEL,
    ),
    _resposta(
        "entropia_cruzada_maximo_global",
        "resposta_entropia_cruzada",
        """
def entropia_cruzada(z, c):
    m = z.max()  # um só máximo para o lote inteiro
    return m + torch.log(torch.exp(z - m).sum(dim=1)) - z.gather(1, c[:, None])[:, 0]
""",
        "um máximo global do lote: uma linha de logits bem menores que o máximo dá log 0",
        EC_ESTAVEL,
    ),
    _resposta(
        "entropia_cruzada_media",
        "resposta_entropia_cruzada",
        """
def entropia_cruzada(z, c):
    m = z.max(dim=1, keepdim=True).values
    return (m[:, 0] + torch.log(torch.exp(z - m).sum(dim=1)) - z.gather(1, c[:, None])[:, 0]).mean()
""",
        "devolve a média do lote em vez de uma perda por exemplo",
        *EC_TODAS,
    ),
    _resposta(
        "entropia_cruzada_sinal_trocado",
        "resposta_entropia_cruzada",
        """
def entropia_cruzada(z, c):
    m = z.max(dim=1, keepdim=True).values
    return z.gather(1, c[:, None])[:, 0] - m[:, 0] - torch.log(torch.exp(z - m).sum(dim=1))
""",
        "log p_c em vez de -log p_c",
        *EC_TODAS,
    ),
    _resposta(
        "entropia_cruzada_cpu",
        "resposta_entropia_cruzada",
        """
def entropia_cruzada(z, c):
    m = z.max(dim=1, keepdim=True).values
    return (m[:, 0] + torch.log(torch.exp(z - m).sum(dim=1)) - z.gather(1, c[:, None])[:, 0]).cpu()
""",
        "leva o resultado para a CPU",
        EC_IMPL,
    ),
    _resposta(
        "entropia_cruzada_altera_entradas",
        "resposta_entropia_cruzada",
        """
def entropia_cruzada(z, c):
    z.mul_(0.5)  # altera a entrada no lugar
    m = z.max(dim=1, keepdim=True).values
    return m[:, 0] + torch.log(torch.exp(z - m).sum(dim=1)) - z.gather(1, c[:, None])[:, 0]
""",
        "altera z no lugar e devolve as perdas dos logits alterados",
        *EC_TODAS,
    ),
    _resposta(
        "entropia_cruzada_logsumexp_na_auxiliar",
        "resposta_entropia_cruzada",
        """
def _log_soma_exp(z):
    return torch.logsumexp(z, dim=1)


def entropia_cruzada(z, c):
    return _log_soma_exp(z) - z.gather(1, c[:, None])[:, 0]
""",
        "torch.logsumexp escondido numa função auxiliar",
        EC_IMPL,
    ),
    _resposta(
        "entropia_cruzada_auxiliar_lambda",
        "resposta_entropia_cruzada",
        """
_maximo = lambda z: z.max(dim=1, keepdim=True).values  # noqa: E731


def entropia_cruzada(z, c):
    m = _maximo(z)
    return m[:, 0] + torch.log(torch.exp(z - m).sum(dim=1)) - z.gather(1, c[:, None])[:, 0]
""",
        "o máximo numa lambda: o código dela não pode ser lido, e a leitura falha",
        EC_IMPL,
    ),
    _resposta(
        "entropia_cruzada_map",
        "resposta_entropia_cruzada",
        """
def _perda_da_linha(linha, classe):
    m = linha.max()
    return m + torch.log(torch.exp(linha - m).sum()) - linha[classe]


def entropia_cruzada(z, c):
    return torch.stack(list(map(_perda_da_linha, z, c)))
""",
        "um laço escondido em map sobre as linhas",
        EC_IMPL,
    ),
    _vazia("entropia_cruzada", "z, c", *EC_TODAS),
]
