"""Catálogo de respostas para `grafo_computacional`: erros plausíveis que os testes precisam pegar e
soluções diferentes da do professor que precisam ser aceitas.

Cada resposta substitui uma única célula de solução do notebook fonte; `must_fail` é o conjunto exato de
células de teste que devem perder pontos (vazio para as respostas certas). Toda célula que confere uma
propriedade também confere valores (uma função vazia perde todas), então uma resposta de valores errados perde
também as células de propriedade da sua função.
"""

from tests.catalogue import Answer
from tests.catalogue import answer as _resposta
from tests.catalogue import empty_body as _vazia

J_VALOR, J_GRAD = "J_func_valor", "J_func_gradiente"
BM_VALORES, BM_SEM = "backward_manual_valores", "backward_manual_sem_autograd"
DJ_VALOR, DJ_DELTA = "dJ_diferencas_finitas_valor", "dJ_diferencas_finitas_delta"
D_FORMATO, D_TRAJ, D_PERDAS, D_REPETE, D_AUTOGRAD = (
    "descida_gradiente_formato",
    "descida_gradiente_trajetoria",
    "descida_gradiente_perdas",
    "descida_gradiente_repetivel",
    "descida_gradiente_autograd",
)
JL_VALOR, JL_GRAD = "J_linear_valor", "J_linear_gradiente"
GL_VALORES, GL_SEM = "gradiente_linear_valores", "gradiente_linear_sem_autograd"
GN_VALORES, GN_FORMATO, GN_ENTRADAS = (
    "gradiente_numerico_valores",
    "gradiente_numerico_formato",
    "gradiente_numerico_entradas",
)
ER_VALOR, ER_CASOS = "erro_relativo_valor", "erro_relativo_casos"
C_VALORES, C_REPETE = "gradiente_controle_valores", "gradiente_controle_repetivel"

D_TODAS = (D_FORMATO, D_TRAJ, D_PERDAS, D_REPETE, D_AUTOGRAD)


ANSWERS: list[Answer] = [
    # ------------------------------------------------------------------ J_func
    _resposta(
        "J_func_soma_pow",
        "resposta_J_func",
        """
def J_func(w, x, y):
    return torch.sum((x * w - y).pow(2))
""",
        "torch.sum de pow(2): a mesma conta com outra grafia",
    ),
    _resposta(
        "J_func_produto_interno",
        "resposta_J_func",
        """
def J_func(w, x, y):
    erro = x * w - y
    return torch.dot(erro, erro)
""",
        "soma dos quadrados como produto interno do erro consigo mesmo",
    ),
    _resposta(
        "J_func_mse_loss_soma",
        "resposta_J_func",
        '''
import torch.nn.functional as F


def J_func(w, x, y):
    """Perda quadrática com a função pronta do PyTorch."""
    return F.mse_loss(x * w, y, reduction="sum")
''',
        "mse_loss com reduction='sum'",
    ),
    _resposta(
        "J_func_media",
        "resposta_J_func",
        """
def J_func(w, x, y):
    return ((x * w - y) ** 2).mean()
""",
        "média em vez de soma (erro quadrático médio)",
        J_VALOR,
        J_GRAD,
    ),
    _resposta(
        "J_func_devolve_float",
        "resposta_J_func",
        """
def J_func(w, x, y):
    return float(((x * w - y) ** 2).sum())
""",
        "devolve um float do Python: não é tensor e corta o grafo",
        J_VALOR,
        J_GRAD,
    ),
    _resposta(
        "J_func_detach",
        "resposta_J_func",
        """
def J_func(w, x, y):
    return ((x * w - y) ** 2).sum().detach()
""",
        "valor certo, mas desligado do grafo: o gradiente não chega a w",
        J_GRAD,
    ),
    _resposta(
        "J_func_sem_soma",
        "resposta_J_func",
        """
def J_func(w, x, y):
    return (x * w - y) ** 2
""",
        "esquece a soma e devolve o vetor de erros quadráticos",
        J_VALOR,
        J_GRAD,
    ),
    _resposta(
        "J_func_sinal_de_y",
        "resposta_J_func",
        """
def J_func(w, x, y):
    return ((x * w + y) ** 2).sum()
""",
        "soma y em vez de subtrair",
        J_VALOR,
        J_GRAD,
    ),
    _resposta(
        "J_func_formato_1",
        "resposta_J_func",
        """
def J_func(w, x, y):
    return ((x * w - y) ** 2).sum(dim=0, keepdim=True)
""",
        "valor certo num tensor de formato (1,): o enunciado pede dimensão zero",
        J_VALOR,
        J_GRAD,
    ),
    _resposta(
        "J_func_cpu",
        "resposta_J_func",
        """
def J_func(w, x, y):
    return ((x * w - y) ** 2).sum().cpu()
""",
        "leva o resultado para a CPU: não fica no dispositivo de x e y",
        J_VALOR,
    ),
    _resposta(
        "J_func_refaz_tensores",
        "resposta_J_func",
        """
def J_func(w, x, y):
    xs = torch.tensor(x.tolist(), dtype=x.dtype)  # sempre na CPU
    ys = torch.tensor(y.tolist(), dtype=y.dtype)
    return ((xs * w - ys) ** 2).sum()
""",
        "recria x e y a partir de listas do Python: sempre na CPU (e .tolist() não funciona no dispositivo meta)",
        J_VALOR,
    ),
    _resposta(
        "J_func_altera_entradas",
        "resposta_J_func",
        """
def J_func(w, x, y):
    x.mul_(2)  # altera as entradas no lugar
    y.mul_(2)
    return ((x * w - y) ** 2).sum()
""",
        "altera x e y no lugar e devolve a perda das entradas alteradas",
        J_VALOR,
        J_GRAD,
    ),
    _vazia("J_func", "w, x, y", J_VALOR, J_GRAD),
    # ------------------------------------------------------------------ backward_manual
    _resposta(
        "backward_manual_passo_a_passo",
        "resposta_backward_manual",
        """
def backward_manual(w, x, y):
    e = x * w - y
    gradiente_q = torch.ones_like(x)
    gradiente_e = 2 * e * gradiente_q
    gradiente_y_pred = gradiente_e.clone()
    gradiente_w = torch.dot(gradiente_y_pred, x).reshape(w.shape)
    return gradiente_q, gradiente_e, gradiente_y_pred, gradiente_w
""",
        "a mesma regra, com torch.dot para somar as contribuições de w",
    ),
    _resposta(
        "backward_manual_no_grad_e_einsum",
        "resposta_backward_manual",
        '''
def backward_manual(w, x, y):
    """Sem grafo nenhum: as contas à mão nem precisam dele."""
    with torch.no_grad():
        y_pred = x * w
        e = y_pred - y
        dJ_dq = torch.full_like(e, 1.0)
        dJ_de = 2.0 * e * dJ_dq
        dJ_dy_pred = dJ_de
        dJ_dw = torch.einsum("i,i->", dJ_dy_pred, x).expand(w.shape).clone()
    return dJ_dq, dJ_de, dJ_dy_pred, dJ_dw
''',
        "dentro de torch.no_grad(), com einsum e expand para o formato de w",
    ),
    _resposta(
        "backward_manual_sem_fator_2",
        "resposta_backward_manual",
        """
def backward_manual(w, x, y):
    e = x * w - y
    dJ_dq = torch.ones_like(e)
    dJ_de = dJ_dq * e
    return dJ_dq, dJ_de, dJ_de, (dJ_de * x).sum().reshape(w.shape)
""",
        "esquece a derivada local 2e de q = e²",
        BM_VALORES,
        BM_SEM,
    ),
    _resposta(
        "backward_manual_sinal_trocado",
        "resposta_backward_manual",
        """
def backward_manual(w, x, y):
    e = y - x * w
    dJ_dq = torch.ones_like(e)
    dJ_de = 2 * e * dJ_dq
    return dJ_dq, dJ_de, dJ_de, (dJ_de * x).sum().reshape(w.shape)
""",
        "e = y − ŷ: todos os gradientes a partir de e com o sinal trocado",
        BM_VALORES,
        BM_SEM,
    ),
    _resposta(
        "backward_manual_dw_sem_soma",
        "resposta_backward_manual",
        """
def backward_manual(w, x, y):
    e = x * w - y
    dJ_dq = torch.ones_like(e)
    dJ_de = 2 * e * dJ_dq
    return dJ_dq, dJ_de, dJ_de, dJ_de * x
""",
        "não soma as contribuições de w: dJ_dw com o formato de x",
        BM_VALORES,
        BM_SEM,
    ),
    _resposta(
        "backward_manual_autograd",
        "resposta_backward_manual",
        """
def backward_manual(w, x, y):
    w = w.detach().clone().requires_grad_(True)
    y_pred = x * w
    e = y_pred - y
    q = e ** 2
    for no in (y_pred, e, q):
        no.retain_grad()
    q.sum().backward()
    return q.grad, e.grad, y_pred.grad, w.grad
""",
        "usa o autograd com retain_grad (valores certos; dentro de torch.no_grad() não há grafo)",
        BM_SEM,
    ),
    _resposta(
        "backward_manual_autograd_na_auxiliar",
        "resposta_backward_manual",
        """
def _gradientes(w, x, y):
    with torch.enable_grad():
        w = w.detach().clone().requires_grad_(True)
        e = x * w - y
        q = e ** 2
        dJ_dq, dJ_de, dJ_dw = torch.autograd.grad(q.sum(), (q, e, w))
    return dJ_dq, dJ_de, dJ_dw


def backward_manual(w, x, y):
    dJ_dq, dJ_de, dJ_dw = _gradientes(w, x, y)
    return dJ_dq, dJ_de, dJ_de, dJ_dw
""",
        "o autograd escondido numa função auxiliar, com enable_grad (passa dentro de no_grad; a leitura pega)",
        BM_SEM,
    ),
    _resposta(
        "backward_manual_func_grad",
        "resposta_backward_manual",
        """
def backward_manual(w, x, y):
    e = x * w - y
    dJ_dq = torch.ones_like(e)
    dJ_de = 2 * e
    dJ_dw = torch.func.grad(lambda v: ((x * v - y) ** 2).sum())(w)
    return dJ_dq, dJ_de, dJ_de, dJ_dw
""",
        "dJ/dw por torch.func.grad, que funciona dentro de no_grad: só a leitura pega",
        BM_SEM,
    ),
    _resposta(
        "backward_manual_auxiliar_lambda",
        "resposta_backward_manual",
        """
_local = lambda e: 2 * e  # noqa: E731


def backward_manual(w, x, y):
    e = x * w - y
    dJ_dq = torch.ones_like(e)
    dJ_de = dJ_dq * _local(e)
    return dJ_dq, dJ_de, dJ_de, (dJ_de * x).sum().reshape(w.shape)
""",
        "a derivada local numa lambda: o código dela não pode ser lido, e a leitura falha",
        BM_SEM,
    ),
    _resposta(
        "backward_manual_item",
        "resposta_backward_manual",
        """
def backward_manual(w, x, y):
    e = x * w - y
    dJ_dq = torch.ones_like(e)
    dJ_de = 2 * e
    return dJ_dq, dJ_de, dJ_de, torch.full_like(w, (dJ_de * x).sum().item())
""",
        "dJ_dw via .item(): valores certos, mas não funciona no dispositivo meta",
        BM_SEM,
    ),
    _resposta(
        "backward_manual_altera_entradas",
        "resposta_backward_manual",
        """
def backward_manual(w, x, y):
    x.mul_(2)  # altera as entradas no lugar
    y.zero_()
    e = x * w - y
    dJ_dq = torch.ones_like(e)
    dJ_de = 2 * e
    return dJ_dq, dJ_de, dJ_de, (dJ_de * x).sum().reshape(w.shape)
""",
        "altera x e y no lugar e devolve os gradientes das entradas alteradas",
        BM_VALORES,
        BM_SEM,
    ),
    _vazia("backward_manual", "w, x, y", BM_VALORES, BM_SEM),
    # ------------------------------------------------------------------ dJ_diferencas_finitas
    _resposta(
        "dJ_item",
        "resposta_dJ_diferencas_finitas",
        """
def dJ_diferencas_finitas(w, x, y, delta=1e-3):
    return ((J_func(w + delta, x, y) - J_func(w - delta, x, y)) / (2 * delta)).item()
""",
        "diferença central convertida com .item()",
    ),
    _resposta(
        "dJ_floats_do_python",
        "resposta_dJ_diferencas_finitas",
        """
def dJ_diferencas_finitas(w, x, y, delta=1e-3):
    J_mais = J_func(w + delta, x, y).item()
    J_menos = J_func(w - delta, x, y).item()
    return (J_mais - J_menos) / (2 * delta)
""",
        "converte cada J para float antes de subtrair",
    ),
    _resposta(
        "dJ_em_float64",
        "resposta_dJ_diferencas_finitas",
        '''
def dJ_diferencas_finitas(w, x, y, delta=1e-3):
    """Diferença central calculada em float64, para sofrer menos com o arredondamento."""
    x64, y64 = x.double(), y.double()
    if isinstance(w, torch.Tensor):
        w = w.double()
    return float((J_func(w + delta, x64, y64) - J_func(w - delta, x64, y64)) / (2 * delta))
''',
        "diferença central em float64",
    ),
    _resposta(
        "dJ_progressiva",
        "resposta_dJ_diferencas_finitas",
        """
def dJ_diferencas_finitas(w, x, y, delta=1e-3):
    return float((J_func(w + delta, x, y) - J_func(w, x, y)) / delta)
""",
        "diferença progressiva: erro proporcional a delta",
        DJ_VALOR,
        DJ_DELTA,
    ),
    _resposta(
        "dJ_divide_so_por_delta",
        "resposta_dJ_diferencas_finitas",
        """
def dJ_diferencas_finitas(w, x, y, delta=1e-3):
    return float((J_func(w + delta, x, y) - J_func(w - delta, x, y)) / delta)
""",
        "esquece o 2 de 2·delta: o dobro do gradiente",
        DJ_VALOR,
        DJ_DELTA,
    ),
    _resposta(
        "dJ_sem_dividir",
        "resposta_dJ_diferencas_finitas",
        """
def dJ_diferencas_finitas(w, x, y, delta=1e-3):
    return float(J_func(w + delta, x, y) - J_func(w - delta, x, y))
""",
        "não divide por 2·delta",
        DJ_VALOR,
        DJ_DELTA,
    ),
    _resposta(
        "dJ_devolve_tensor",
        "resposta_dJ_diferencas_finitas",
        """
def dJ_diferencas_finitas(w, x, y, delta=1e-3):
    return (J_func(w + delta, x, y) - J_func(w - delta, x, y)) / (2 * delta)
""",
        "valor certo, mas devolve um tensor em vez de float",
        DJ_VALOR,
    ),
    _resposta(
        "dJ_ignora_delta",
        "resposta_dJ_diferencas_finitas",
        """
def dJ_diferencas_finitas(w, x, y, delta=1e-3):
    passo = 1e-3
    return float((J_func(w + passo, x, y) - J_func(w - passo, x, y)) / (2 * passo))
""",
        "passo fixo: ignora o delta recebido",
        DJ_DELTA,
    ),
    _resposta(
        "dJ_passo_escalado",
        "resposta_dJ_diferencas_finitas",
        """
def dJ_diferencas_finitas(w, x, y, delta=1e-3):
    passo = delta * max(1.0, abs(float(w)))  # passo relativo, comum em livros de cálculo numérico
    return float((J_func(w + passo, x, y) - J_func(w - passo, x, y)) / (2 * passo))
""",
        "passo escalado por max(1, |w|): só um w com |w| > 1 revela",
        DJ_DELTA,
    ),
    _resposta(
        "dJ_passo_relativo",
        "resposta_dJ_diferencas_finitas",
        """
def dJ_diferencas_finitas(w, x, y, delta=1e-3):
    passo = delta * abs(float(w))
    return float((J_func(w + passo, x, y) - J_func(w - passo, x, y)) / (2 * passo))
""",
        "passo delta·|w|: só um w diferente de 1 revela (e w = 0 divide por zero)",
        DJ_DELTA,
    ),
    _resposta(
        "dJ_autograd",
        "resposta_dJ_diferencas_finitas",
        """
def dJ_diferencas_finitas(w, x, y, delta=1e-3):
    w_t = torch.tensor(float(w), dtype=x.dtype, device=x.device, requires_grad=True)
    J_func(w_t, x, y).backward()
    return w_t.grad.item()
""",
        "usa o autograd: a derivada exata, não a diferença central (só a J cúbica separa as duas)",
        DJ_DELTA,
    ),
    _resposta(
        "dJ_formula_da_parabola",
        "resposta_dJ_diferencas_finitas",
        """
def dJ_diferencas_finitas(w, x, y, delta=1e-3):
    return float((2 * (x * w - y) * x).sum())
""",
        "a derivada exata da parábola escrita à mão: ignora J_func e delta",
        DJ_DELTA,
    ),
    _resposta(
        "dJ_sinal_trocado",
        "resposta_dJ_diferencas_finitas",
        """
def dJ_diferencas_finitas(w, x, y, delta=1e-3):
    return float((J_func(w - delta, x, y) - J_func(w + delta, x, y)) / (2 * delta))
""",
        "subtrai na ordem errada: gradiente com o sinal trocado",
        DJ_VALOR,
        DJ_DELTA,
    ),
    _resposta(
        "dJ_altera_entradas",
        "resposta_dJ_diferencas_finitas",
        """
def dJ_diferencas_finitas(w, x, y, delta=1e-3):
    x.mul_(2)  # altera as entradas no lugar
    return float((J_func(w + delta, x, y) - J_func(w - delta, x, y)) / (2 * delta))
""",
        "altera x no lugar e devolve a derivada das entradas alteradas",
        DJ_VALOR,
        DJ_DELTA,
    ),
    _vazia("dJ_diferencas_finitas", "w, x, y, delta=1e-3", DJ_VALOR, DJ_DELTA),
]

ANSWERS += [
    # ------------------------------------------------------------------ descida_gradiente
    _resposta(
        "descida_folha_nova_a_cada_passo",
        "resposta_descida_gradiente",
        """
def descida_gradiente(w0, x, y, lr=0.01, iteracoes=20, usar_autograd=True):
    w = float(w0)
    ws, Js = [w], [J_func(w, x, y).item()]
    for _ in range(iteracoes):
        if usar_autograd:
            wt = torch.tensor(w, dtype=x.dtype, device=x.device, requires_grad=True)
            J_func(wt, x, y).backward()
            gradiente = wt.grad.item()
        else:
            gradiente = dJ_diferencas_finitas(w, x, y)
        w = w - lr * gradiente
        ws.append(w)
        Js.append(J_func(w, x, y).item())
    return ws, Js
""",
        "w como float do Python e um tensor folha novo a cada passo (nada a zerar)",
    ),
    _resposta(
        "descida_zero_grad",
        "resposta_descida_gradiente",
        """
def descida_gradiente(w0, x, y, lr=0.01, iteracoes=20, usar_autograd=True):
    w = torch.full((1,), float(w0), dtype=x.dtype, device=x.device, requires_grad=True)
    ws, Js = [], []
    for passo in range(iteracoes + 1):
        J = J_func(w, x, y)
        ws.append(w.item())
        Js.append(J.item())
        if passo == iteracoes:
            break
        if usar_autograd:
            if w.grad is not None:
                w.grad.zero_()
            J.backward()
            gradiente = w.grad
        else:
            gradiente = dJ_diferencas_finitas(w.detach(), x, y)
        with torch.no_grad():
            w.sub_(lr * gradiente)
    return ws, Js
""",
        "um único tensor de formato (1,), com w.grad.zero_() antes de cada backward",
    ),
    _resposta(
        "descida_autograd_grad",
        "resposta_descida_gradiente",
        """
def descida_gradiente(w0, x, y, lr=0.01, iteracoes=20, usar_autograd=True):
    ws = [float(w0)]
    for _ in range(iteracoes):
        w = ws[-1]
        if usar_autograd:
            wt = torch.tensor(w, dtype=x.dtype, device=x.device, requires_grad=True)
            (gradiente,) = torch.autograd.grad(J_func(wt, x, y), wt)
            gradiente = gradiente.item()
        else:
            gradiente = dJ_diferencas_finitas(w, x, y)
        ws.append(w - lr * gradiente)
    Js = [J_func(w, x, y).item() for w in ws]
    return ws, Js
""",
        "gradiente por torch.autograd.grad e perdas calculadas no fim",
    ),
    _resposta(
        "descida_float32_padrao",
        "resposta_descida_gradiente",
        """
def descida_gradiente(w0, x, y, lr=0.01, iteracoes=20, usar_autograd=True):
    w = torch.tensor(w0, requires_grad=True)  # float32 na CPU, mesmo com x em float64
    w = w.to(x.device).detach().requires_grad_(True)
    ws, Js = [], []
    for _ in range(iteracoes):
        J = J_func(w, x, y)
        ws.append(w.item())
        Js.append(J.item())
        if usar_autograd:
            J.backward()
            gradiente = w.grad.item()
            w.grad.zero_()
        else:
            gradiente = dJ_diferencas_finitas(w.item(), x, y)
        with torch.no_grad():
            w -= lr * gradiente
    ws.append(w.item())
    Js.append(J_func(w, x, y).item())
    return ws, Js
""",
        "w em float32 (o tipo padrão), zerado com w.grad.zero_() depois de cada backward",
    ),
    _resposta(
        "descida_sem_zerar_grad",
        "resposta_descida_gradiente",
        """
def descida_gradiente(w0, x, y, lr=0.01, iteracoes=20, usar_autograd=True):
    w = torch.tensor(float(w0), dtype=x.dtype, device=x.device, requires_grad=True)
    ws, Js = [w.item()], [J_func(w, x, y).item()]
    for _ in range(iteracoes):
        if usar_autograd:
            J_func(w, x, y).backward()
            gradiente = w.grad.item()
        else:
            gradiente = dJ_diferencas_finitas(w.item(), x, y)
        with torch.no_grad():
            w -= lr * gradiente
        ws.append(w.item())
        Js.append(J_func(w, x, y).item())
    return ws, Js
""",
        "nunca zera w.grad: cada passo soma os gradientes de todos os anteriores",
        D_TRAJ,
        D_PERDAS,
        D_AUTOGRAD,
    ),
    _resposta(
        "descida_sinal_trocado",
        "resposta_descida_gradiente",
        """
def descida_gradiente(w0, x, y, lr=0.01, iteracoes=20, usar_autograd=True):
    w = float(w0)
    ws, Js = [w], [J_func(w, x, y).item()]
    for _ in range(iteracoes):
        if usar_autograd:
            wt = torch.tensor(w, dtype=x.dtype, device=x.device, requires_grad=True)
            J_func(wt, x, y).backward()
            gradiente = wt.grad.item()
        else:
            gradiente = dJ_diferencas_finitas(w, x, y)
        w = w + lr * gradiente
        ws.append(w)
        Js.append(J_func(w, x, y).item())
    return ws, Js
""",
        "sobe o gradiente (w + lr·g) em vez de descer",
        D_TRAJ,
        D_PERDAS,
        D_AUTOGRAD,
        D_REPETE,
    ),
    _resposta(
        "descida_ws_sem_w0",
        "resposta_descida_gradiente",
        """
def descida_gradiente(w0, x, y, lr=0.01, iteracoes=20, usar_autograd=True):
    w = float(w0)
    ws, Js = [], []
    for _ in range(iteracoes):
        if usar_autograd:
            wt = torch.tensor(w, dtype=x.dtype, device=x.device, requires_grad=True)
            J_func(wt, x, y).backward()
            gradiente = wt.grad.item()
        else:
            gradiente = dJ_diferencas_finitas(w, x, y)
        w = w - lr * gradiente
        ws.append(w)
        Js.append(J_func(w, x, y).item())
    return ws, Js
""",
        "guarda só os w depois de cada passo: falta w0 e a lista tem iteracoes elementos",
        D_FORMATO,
        D_TRAJ,
        D_AUTOGRAD,
        D_PERDAS,
        D_REPETE,
    ),
    _resposta(
        "descida_listas_de_tensores",
        "resposta_descida_gradiente",
        """
def descida_gradiente(w0, x, y, lr=0.01, iteracoes=20, usar_autograd=True):
    w = torch.tensor(float(w0), dtype=x.dtype, device=x.device, requires_grad=True)
    ws, Js = [], []
    for passo in range(iteracoes + 1):
        J = J_func(w, x, y)
        ws.append(w.detach().clone())
        Js.append(J.detach())
        if passo == iteracoes:
            break
        if usar_autograd:
            J.backward()
            gradiente = w.grad.clone()
            w.grad = None
        else:
            gradiente = dJ_diferencas_finitas(w.item(), x, y)
        with torch.no_grad():
            w -= lr * gradiente
    return ws, Js
""",
        "trajetória certa, mas ws e Js guardam tensores em vez de floats",
        D_FORMATO,
    ),
    _resposta(
        "descida_ignora_usar_autograd",
        "resposta_descida_gradiente",
        """
def descida_gradiente(w0, x, y, lr=0.01, iteracoes=20, usar_autograd=True):
    w = float(w0)
    ws, Js = [w], [J_func(w, x, y).item()]
    for _ in range(iteracoes):
        wt = torch.tensor(w, dtype=x.dtype, device=x.device, requires_grad=True)
        J_func(wt, x, y).backward()
        w = w - lr * wt.grad.item()
        ws.append(w)
        Js.append(J_func(w, x, y).item())
    return ws, Js
""",
        "usa autograd sempre: usar_autograd=False não passa pelas diferenças finitas",
        D_AUTOGRAD,
    ),
    _resposta(
        "descida_gradiente_escrito_a_mao",
        "resposta_descida_gradiente",
        """
def descida_gradiente(w0, x, y, lr=0.01, iteracoes=20, usar_autograd=True):
    w = float(w0)
    ws, Js = [w], [J_func(w, x, y).item()]
    for _ in range(iteracoes):
        if usar_autograd:
            gradiente = (2 * (x * w - y) * x).sum().item()
        else:
            gradiente = dJ_diferencas_finitas(w, x, y)
        w = w - lr * gradiente
        ws.append(w)
        Js.append(J_func(w, x, y).item())
    return ws, Js
""",
        "no modo autograd usa a fórmula da derivada escrita à mão, sem backward()",
        D_AUTOGRAD,
    ),
    _resposta(
        "descida_perdas_depois_do_passo",
        "resposta_descida_gradiente",
        """
def descida_gradiente(w0, x, y, lr=0.01, iteracoes=20, usar_autograd=True):
    w = float(w0)
    ws, Js = [w], []
    for _ in range(iteracoes + 1):
        if usar_autograd:
            wt = torch.tensor(w, dtype=x.dtype, device=x.device, requires_grad=True)
            J_func(wt, x, y).backward()
            gradiente = wt.grad.item()
        else:
            gradiente = dJ_diferencas_finitas(w, x, y)
        w_novo = w - lr * gradiente
        Js.append(J_func(w_novo, x, y).item())
        if len(ws) <= iteracoes:
            ws.append(w_novo)
        w = w_novo
    return ws, Js
""",
        "Js[i] é a perda depois do passo i (deslocada de uma posição em relação a ws)",
        D_PERDAS,
    ),
    _resposta(
        "descida_w_global_acumula",
        "resposta_descida_gradiente",
        """
w_treino = torch.zeros((), dtype=torch.float64, requires_grad=True)


def descida_gradiente(w0, x, y, lr=0.01, iteracoes=20, usar_autograd=True):
    with torch.no_grad():
        w_treino.fill_(float(w0))
    ws, Js = [w_treino.item()], [J_func(w_treino, x, y).item()]
    for _ in range(iteracoes):
        if usar_autograd:
            J_func(w_treino, x, y).backward()
            gradiente = w_treino.grad.item()
        else:
            gradiente = dJ_diferencas_finitas(w_treino.item(), x, y)
        with torch.no_grad():
            w_treino.sub_(lr * gradiente)
        ws.append(w_treino.item())
        Js.append(J_func(w_treino, x, y).item())
    return ws, Js
""",
        "um w global reaproveitado sem zerar .grad: acumula entre passos e entre chamadas",
        D_TRAJ,
        D_PERDAS,
        D_REPETE,
        D_AUTOGRAD,
    ),
    _resposta(
        "descida_data",
        "resposta_descida_gradiente",
        """
def descida_gradiente(w0, x, y, lr=0.01, iteracoes=20, usar_autograd=True):
    w = torch.tensor(float(w0), dtype=x.dtype, device=x.device, requires_grad=True)
    ws, Js = [], []
    for passo in range(iteracoes + 1):
        J = J_func(w, x, y)
        ws.append(w.item())
        Js.append(J.item())
        if passo == iteracoes:
            break
        if usar_autograd:
            J.backward()
            gradiente = w.grad.item()
            w.grad = None
        else:
            gradiente = dJ_diferencas_finitas(w.item(), x, y)
        w.data -= lr * gradiente  # esconde a atualização do autograd
    return ws, Js
""",
        "trajetória certa, mas atualiza w com .data em vez de torch.no_grad()",
        D_AUTOGRAD,
    ),
    _resposta(
        "descida_altera_entradas",
        "resposta_descida_gradiente",
        """
def descida_gradiente(w0, x, y, lr=0.01, iteracoes=20, usar_autograd=True):
    x.mul_(2)  # altera as entradas no lugar
    w = torch.tensor(float(w0), dtype=x.dtype, device=x.device, requires_grad=True)
    ws, Js = [], []
    for passo in range(iteracoes + 1):
        J = J_func(w, x, y)
        ws.append(w.item())
        Js.append(J.item())
        if passo == iteracoes:
            break
        if usar_autograd:
            J.backward()
            gradiente = w.grad.item()
            w.grad = None
        else:
            gradiente = dJ_diferencas_finitas(w.item(), x, y)
        with torch.no_grad():
            w -= lr * gradiente
    return ws, Js
""",
        "altera x no lugar e desce a perda das entradas alteradas",
        D_TRAJ,
        D_PERDAS,
        D_REPETE,
        D_AUTOGRAD,
    ),
    _resposta(
        "descida_data_na_auxiliar",
        "resposta_descida_gradiente",
        """
def _atualiza(w, passo):
    w.data -= passo  # esconde a atualização do autograd


def descida_gradiente(w0, x, y, lr=0.01, iteracoes=20, usar_autograd=True):
    w = torch.tensor(float(w0), dtype=x.dtype, device=x.device, requires_grad=True)
    ws, Js = [w.item()], [J_func(w, x, y).item()]
    for _ in range(iteracoes):
        if usar_autograd:
            J_func(w, x, y).backward()
            gradiente = w.grad.item()
            w.grad = None
        else:
            gradiente = dJ_diferencas_finitas(w.item(), x, y)
        _atualiza(w, lr * gradiente)
        ws.append(w.item())
        Js.append(J_func(w, x, y).item())
    return ws, Js
""",
        "a atualização com .data escondida numa função auxiliar",
        D_AUTOGRAD,
    ),
    _vazia("descida_gradiente", "w0, x, y, lr=0.01, iteracoes=20, usar_autograd=True", *D_TODAS),
    # ------------------------------------------------------------------ J_linear
    _resposta(
        "J_linear_mse_soma",
        "resposta_J_linear",
        """
import torch.nn.functional as F


def J_linear(w, b, X, y):
    return F.mse_loss(X @ w + b, y, reduction="sum")
""",
        "mse_loss com reduction='sum'",
    ),
    _resposta(
        "J_linear_produto_interno",
        "resposta_J_linear",
        """
def J_linear(w, b, X, y):
    r = torch.mv(X, w) + b - y
    return torch.dot(r, r)
""",
        "o quadrado da norma do resíduo como produto interno",
    ),
    _resposta(
        "J_linear_norma",
        "resposta_J_linear",
        """
def J_linear(w, b, X, y):
    return torch.linalg.vector_norm(w @ X.T + b - y) ** 2
""",
        "norma euclidiana do resíduo ao quadrado, com w @ Xᵀ",
    ),
    _resposta(
        "J_linear_media",
        "resposta_J_linear",
        """
def J_linear(w, b, X, y):
    return ((X @ w + b - y) ** 2).mean()
""",
        "média em vez de soma",
        JL_VALOR,
        JL_GRAD,
    ),
    _resposta(
        "J_linear_sem_vies",
        "resposta_J_linear",
        """
def J_linear(w, b, X, y):
    return ((X @ w - y) ** 2).sum()
""",
        "esquece o viés b",
        JL_VALOR,
        JL_GRAD,
    ),
    _resposta(
        "J_linear_elemento_a_elemento",
        "resposta_J_linear",
        """
def J_linear(w, b, X, y):
    return ((X * w + b - y[:, None]) ** 2).sum()
""",
        "multiplica X por w elemento a elemento (sem somar os atributos de cada exemplo)",
        JL_VALOR,
        JL_GRAD,
    ),
    _resposta(
        "J_linear_w_coluna",
        "resposta_J_linear",
        """
def J_linear(w, b, X, y):
    residuo = X @ w.reshape(-1, 1) + b - y  # (n, 1) − (n,): broadcasting para (n, n)
    return (residuo ** 2).sum()
""",
        "w como vetor coluna (d, 1): o resíduo vira uma matriz (n, n) por broadcasting, sem erro",
        JL_VALOR,
        JL_GRAD,
    ),
    _resposta(
        "J_linear_float",
        "resposta_J_linear",
        """
def J_linear(w, b, X, y):
    return float(((X @ w + b - y) ** 2).sum())
""",
        "devolve um float do Python: corta o grafo",
        JL_VALOR,
        JL_GRAD,
    ),
    _resposta(
        "J_linear_detach",
        "resposta_J_linear",
        """
def J_linear(w, b, X, y):
    return ((X @ w + b - y) ** 2).sum().detach()
""",
        "valor certo, desligado do grafo",
        JL_GRAD,
    ),
    _resposta(
        "J_linear_cpu",
        "resposta_J_linear",
        """
def J_linear(w, b, X, y):
    return ((X @ w + b - y) ** 2).sum().cpu()
""",
        "leva o resultado para a CPU",
        JL_VALOR,
    ),
    _resposta(
        "J_linear_altera_entradas",
        "resposta_J_linear",
        """
def J_linear(w, b, X, y):
    y.zero_()  # altera as entradas no lugar
    return ((X @ w + b - y) ** 2).sum()
""",
        "zera y no lugar e devolve a perda das entradas alteradas",
        JL_VALOR,
        JL_GRAD,
    ),
    _vazia("J_linear", "w, b, X, y", JL_VALOR, JL_GRAD),
    # ------------------------------------------------------------------ gradiente_linear
    _resposta(
        "gradiente_linear_r_vezes_X",
        "resposta_gradiente_linear",
        """
def gradiente_linear(w, b, X, y):
    r = X @ w + b - y
    return 2 * r @ X, 2 * r.sum()
""",
        "rᵀX em vez de Xᵀr (o mesmo vetor)",
    ),
    _resposta(
        "gradiente_linear_einsum",
        "resposta_gradiente_linear",
        """
def gradiente_linear(w, b, X, y):
    r = torch.einsum("ij,j->i", X, w) + b - y
    return 2 * torch.einsum("ij,i->j", X, r), 2 * torch.sum(r)
""",
        "as duas contas com einsum",
    ),
    _resposta(
        "gradiente_linear_broadcasting",
        "resposta_gradiente_linear",
        """
def gradiente_linear(w, b, X, y):
    r = (X * w).sum(dim=1) + b - y
    return 2 * (X * r[:, None]).sum(dim=0), (2 * r).sum()
""",
        "produtos por broadcasting e somas nas dimensões certas",
    ),
    _resposta(
        "gradiente_linear_sem_fator_2",
        "resposta_gradiente_linear",
        """
def gradiente_linear(w, b, X, y):
    r = X @ w + b - y
    return X.T @ r, r.sum()
""",
        "esquece o fator 2 da derivada do quadrado",
        GL_VALORES,
        GL_SEM,
    ),
    _resposta(
        "gradiente_linear_sinal_trocado",
        "resposta_gradiente_linear",
        """
def gradiente_linear(w, b, X, y):
    r = y - X @ w - b
    return 2 * X.T @ r, 2 * r.sum()
""",
        "resíduo com o sinal trocado",
        GL_VALORES,
        GL_SEM,
    ),
    _resposta(
        "gradiente_linear_sem_transpor",
        "resposta_gradiente_linear",
        """
def gradiente_linear(w, b, X, y):
    r = X @ w + b - y
    return 2 * X @ r, 2 * r.sum()
""",
        "X·r em vez de Xᵀr (formato errado, ou erro quando n != d)",
        GL_VALORES,
        GL_SEM,
    ),
    _resposta(
        "gradiente_linear_vies_sem_somar",
        "resposta_gradiente_linear",
        """
def gradiente_linear(w, b, X, y):
    r = X @ w + b - y
    return 2 * X.T @ r, 2 * r
""",
        "dJ/db sem a soma: um vetor em vez de um número",
        GL_VALORES,
        GL_SEM,
    ),
    _resposta(
        "gradiente_linear_vies_formato_1",
        "resposta_gradiente_linear",
        """
def gradiente_linear(w, b, X, y):
    r = X @ w + b - y
    return 2 * X.T @ r, 2 * r.sum(dim=0, keepdim=True)
""",
        "dJ/db certo num tensor de formato (1,): o enunciado pede dimensão zero",
        GL_VALORES,
    ),
    _resposta(
        "gradiente_linear_autograd",
        "resposta_gradiente_linear",
        """
def gradiente_linear(w, b, X, y):
    w = w.detach().clone().requires_grad_(True)
    b = torch.as_tensor(b, dtype=X.dtype, device=X.device).clone().requires_grad_(True)
    ((X @ w + b - y) ** 2).sum().backward()
    return w.grad, b.grad
""",
        "usa o autograd em vez da fórmula (valores certos; dentro de torch.no_grad() não há grafo)",
        GL_SEM,
    ),
    _resposta(
        "gradiente_linear_jacobiana_pronta",
        "resposta_gradiente_linear",
        """
def _perda(w, b, X, y):
    return ((X @ w + b - y) ** 2).sum()


def gradiente_linear(w, b, X, y):
    b = torch.as_tensor(b, dtype=X.dtype, device=X.device)
    dw, db = torch.autograd.functional.jacobian(lambda v, c: _perda(v, c, X, y), (w, b))
    return dw, db
""",
        "torch.autograd.functional.jacobian, que liga o grafo sozinho: só a leitura do código pega",
        GL_SEM,
    ),
    _resposta(
        "gradiente_linear_grad_and_value",
        "resposta_gradiente_linear",
        """
def _perda_linear(w, b, X, y):
    return ((X @ w + b - y) ** 2).sum()


def gradiente_linear(w, b, X, y):
    b = torch.as_tensor(b, dtype=X.dtype, device=X.device)
    (gw, gb), _ = torch.func.grad_and_value(_perda_linear, argnums=(0, 1))(w, b, X, y)
    return gw, gb
""",
        "torch.func.grad_and_value, que funciona dentro de no_grad: só a leitura do código pega",
        GL_SEM,
    ),
    _resposta(
        "gradiente_linear_vies_item",
        "resposta_gradiente_linear",
        """
def gradiente_linear(w, b, X, y):
    r = X @ w + b - y
    return 2 * X.T @ r, torch.tensor(2 * r.sum().item(), dtype=X.dtype, device=X.device)
""",
        "dJ/db por .item(): valores certos, mas não funciona no dispositivo meta",
        GL_SEM,
    ),
    _resposta(
        "gradiente_linear_altera_entradas",
        "resposta_gradiente_linear",
        """
def gradiente_linear(w, b, X, y):
    X.mul_(2)  # altera as entradas no lugar
    r = X @ w + b - y
    return 2 * X.T @ r, 2 * r.sum()
""",
        "altera X no lugar e devolve o gradiente das entradas alteradas",
        GL_VALORES,
        GL_SEM,
    ),
    _resposta(
        "gradiente_linear_auxiliar_chamada_ast",
        "resposta_gradiente_linear",
        """
def ast(w, b, X, y):
    with torch.enable_grad():
        w = w.detach().clone().requires_grad_(True)
        (gw,) = torch.autograd.grad(((X @ w + b - y) ** 2).sum(), w)
    return gw


def gradiente_linear(w, b, X, y):
    r = X @ w + b - y
    return ast(w, b, X, y), 2 * r.sum()
""",
        "o autograd numa auxiliar chamada ast, o nome de um módulo que o teste importa: ela é seguida mesmo assim",
        GL_SEM,
    ),
    _resposta(
        "gradiente_linear_auxiliar_decorada",
        "resposta_gradiente_linear",
        """
import functools


@functools.lru_cache(maxsize=None)
def _fator():
    return 2.0


def gradiente_linear(w, b, X, y):
    r = X @ w + b - y
    return _fator() * X.T @ r, _fator() * r.sum()
""",
        "uma auxiliar com decorador: o código dela não pode ser lido, e a leitura falha",
        GL_SEM,
    ),
    _resposta(
        "gradiente_linear_auxiliar_partial",
        "resposta_gradiente_linear",
        """
import functools


def _produto(A, v, fator):
    return fator * A.T @ v


_dobro_transposta = functools.partial(_produto, fator=2)


def gradiente_linear(w, b, X, y):
    r = X @ w + b - y
    return _dobro_transposta(X, r), 2 * r.sum()
""",
        "uma auxiliar feita com functools.partial: não é um def, e a leitura falha",
        GL_SEM,
    ),
    _vazia("gradiente_linear", "w, b, X, y", GL_VALORES, GL_SEM),
    # ------------------------------------------------------------------ gradiente_numerico
    _resposta(
        "gradiente_numerico_eye",
        "resposta_gradiente_numerico",
        """
def gradiente_numerico(J, w, delta=1e-4):
    planos = w.detach().reshape(-1)
    base = torch.eye(planos.numel(), dtype=w.dtype, device=w.device) * delta
    valores = [(J((planos + e).reshape(w.shape)) - J((planos - e).reshape(w.shape))) / (2 * delta) for e in base]
    return torch.stack([torch.as_tensor(v, dtype=w.dtype, device=w.device) for v in valores]).reshape(w.shape)
""",
        "perturbações pelas linhas de δ·I, resultados empilhados",
    ),
    _resposta(
        "gradiente_numerico_clone",
        "resposta_gradiente_numerico",
        """
def gradiente_numerico(J, w, delta=1e-4):
    gradiente = torch.zeros_like(w)
    for k in range(w.numel()):
        mais, menos = w.detach().clone(), w.detach().clone()
        mais.view(-1)[k] += delta
        menos.view(-1)[k] -= delta
        gradiente.view(-1)[k] = (J(mais) - J(menos)) / (2 * delta)
    return gradiente
""",
        "duas cópias de w por coordenada",
    ),
    _resposta(
        "gradiente_numerico_progressiva",
        "resposta_gradiente_numerico",
        """
def gradiente_numerico(J, w, delta=1e-4):
    gradiente = torch.empty_like(w)
    for k in range(w.numel()):
        passo = torch.zeros_like(w)
        passo.view(-1)[k] = delta
        gradiente.view(-1)[k] = (J(w + passo) - J(w)) / delta
    return gradiente
""",
        "diferença progressiva",
        GN_VALORES,
        GN_FORMATO,
        GN_ENTRADAS,
    ),
    _resposta(
        "gradiente_numerico_ignora_delta",
        "resposta_gradiente_numerico",
        """
def gradiente_numerico(J, w, delta=1e-4):
    h = 1e-4
    gradiente = torch.empty_like(w)
    for k in range(w.numel()):
        passo = torch.zeros_like(w)
        passo.view(-1)[k] = h
        gradiente.view(-1)[k] = (J(w + passo) - J(w - passo)) / (2 * h)
    return gradiente
""",
        "passo fixo: ignora o delta recebido",
        GN_VALORES,
    ),
    _resposta(
        "gradiente_numerico_passo_escalado",
        "resposta_gradiente_numerico",
        """
def gradiente_numerico(J, w, delta=1e-4):
    base = w.detach()
    gradiente = torch.empty_like(base)
    for k in range(base.numel()):
        h = delta * max(1.0, abs(float(base.reshape(-1)[k])))  # passo relativo ao tamanho da coordenada
        passo = torch.zeros_like(base)
        passo.view(-1)[k] = h
        gradiente.view(-1)[k] = (J(base + passo) - J(base - passo)) / (2 * h)
    return gradiente
""",
        "passo escalado por max(1, |w_k|): só coordenadas com |w_k| > 1 revelam (e float() falha no meta)",
        GN_VALORES,
        GN_FORMATO,
    ),
    _resposta(
        "gradiente_numerico_todas_juntas",
        "resposta_gradiente_numerico",
        """
def gradiente_numerico(J, w, delta=1e-4):
    return torch.full_like(w, float((J(w + delta) - J(w - delta)) / (2 * delta)))
""",
        "perturba todas as coordenadas de uma vez: a derivada na direção (1, ..., 1)",
        GN_VALORES,
        GN_FORMATO,
        GN_ENTRADAS,
    ),
    _resposta(
        "gradiente_numerico_autograd",
        "resposta_gradiente_numerico",
        """
def gradiente_numerico(J, w, delta=1e-4):
    w = w.detach().clone().requires_grad_(True)
    (g,) = torch.autograd.grad(J(w), w)
    return g
""",
        "o gradiente exato do autograd, não a diferença central",
        GN_VALORES,
        GN_ENTRADAS,
    ),
    _resposta(
        "gradiente_numerico_altera_w",
        "resposta_gradiente_numerico",
        """
def gradiente_numerico(J, w, delta=1e-4):
    gradiente = torch.empty_like(w)
    planos = w.view(-1)
    for k in range(planos.numel()):
        planos[k] += delta
        mais = J(w)
        planos[k] -= 2 * delta
        menos = J(w)
        planos[k] += delta  # volta (quase) ao valor original: o arredondamento muda w
        gradiente.view(-1)[k] = (mais - menos) / (2 * delta)
    return gradiente
""",
        "perturba w no lugar e o restaura: o arredondamento deixa w alterado",
        GN_ENTRADAS,
    ),
    _resposta(
        "gradiente_numerico_lista_de_floats",
        "resposta_gradiente_numerico",
        """
def gradiente_numerico(J, w, delta=1e-4):
    valores = []
    for k in range(w.numel()):
        passo = torch.zeros_like(w)
        passo.view(-1)[k] = delta
        valores.append(float((J(w + passo) - J(w - passo)) / (2 * delta)))
    return torch.tensor(valores, dtype=w.dtype).reshape(w.shape)
""",
        "floats do Python num tensor novo: sempre na CPU (e float() não funciona no dispositivo meta)",
        GN_FORMATO,
    ),
    _resposta(
        "gradiente_numerico_J_so_tensor",
        "resposta_gradiente_numerico",
        """
def gradiente_numerico(J, w, delta=1e-4):
    base = w.detach()
    colunas = []
    for k in range(base.numel()):
        passo = torch.zeros_like(base)
        passo.view(-1)[k] = delta
        colunas.append((J(base + passo) - J(base - passo)).div(2 * delta))
    return torch.stack(colunas).reshape(w.shape)
""",
        "supõe que J devolve um tensor (.div, torch.stack): falha com uma J que devolve um número",
        GN_ENTRADAS,
    ),
    _resposta(
        "gradiente_numerico_altera_entradas",
        "resposta_gradiente_numerico",
        """
def gradiente_numerico(J, w, delta=1e-4):
    w.mul_(0.5)  # altera a entrada no lugar
    gradiente = torch.empty_like(w)
    for k in range(w.numel()):
        passo = torch.zeros_like(w)
        passo.view(-1)[k] = delta
        gradiente.view(-1)[k] = (J(w + passo) - J(w - passo)) / (2 * delta)
    return gradiente
""",
        "altera w no lugar e devolve o gradiente no ponto alterado",
        GN_VALORES,
        GN_FORMATO,
        GN_ENTRADAS,
    ),
    _vazia("gradiente_numerico", "J, w, delta=1e-4", GN_VALORES, GN_FORMATO, GN_ENTRADAS),
    # ------------------------------------------------------------------ erro_relativo
    _resposta(
        "erro_relativo_torch_norm",
        "resposta_erro_relativo",
        """
def erro_relativo(a, b):
    denominador = torch.maximum(a.norm(), b.norm())
    if denominador == 0:
        return 0.0
    return ((a - b).norm() / denominador).item()
""",
        "Tensor.norm e torch.maximum",
    ),
    _resposta(
        "erro_relativo_numpy",
        "resposta_erro_relativo",
        """
import numpy as np


def erro_relativo(a, b):
    a = a.detach().cpu().double().numpy()
    b = b.detach().cpu().double().numpy()
    maior = max(np.linalg.norm(a), np.linalg.norm(b))
    return 0.0 if maior == 0 else np.linalg.norm(a - b) / maior  # np.float64
""",
        "NumPy: devolve np.float64, que é um float",
    ),
    _resposta(
        "erro_relativo_so_a",
        "resposta_erro_relativo",
        """
def erro_relativo(a, b):
    norma = float(a.norm())
    return 0.0 if norma == 0 else float((a - b).norm()) / norma
""",
        "divide só por ‖a‖: não é simétrico (e dá 0 contra o vetor nulo)",
        ER_VALOR,
        ER_CASOS,
    ),
    _resposta(
        "erro_relativo_maximo_absoluto",
        "resposta_erro_relativo",
        """
def erro_relativo(a, b):
    maior = max(float(a.abs().max()), float(b.abs().max()))
    return 0.0 if maior == 0 else float((a - b).abs().max()) / maior
""",
        "usa o maior valor absoluto em vez da norma euclidiana",
        ER_VALOR,
        ER_CASOS,
    ),
    _resposta(
        "erro_relativo_sem_caso_nulo",
        "resposta_erro_relativo",
        """
def erro_relativo(a, b):
    return float((a - b).norm() / torch.maximum(a.norm(), b.norm()))
""",
        "não trata a e b nulos: 0/0 dá nan",
        ER_CASOS,
    ),
    _resposta(
        "erro_relativo_piso",
        "resposta_erro_relativo",
        """
def erro_relativo(a, b):
    return float((a - b).norm()) / max(float(a.norm()), float(b.norm()), 1e-12)
""",
        "um piso absoluto no denominador: muda o resultado para vetores pequenos",
        ER_CASOS,
    ),
    _resposta(
        "erro_relativo_epsilon_somado",
        "resposta_erro_relativo",
        """
def erro_relativo(a, b):
    return float((a - b).norm() / (torch.maximum(a.norm(), b.norm()) + 1e-8))
""",
        "soma um ε ao denominador: muda o resultado para vetores pequenos",
        ER_CASOS,
    ),
    _resposta(
        "erro_relativo_tensor",
        "resposta_erro_relativo",
        """
def erro_relativo(a, b):
    maior = torch.maximum(a.norm(), b.norm())
    return torch.where(maior > 0, (a - b).norm() / maior, torch.zeros_like(maior))
""",
        "valor certo, mas devolve um tensor em vez de float",
        ER_VALOR,
        ER_CASOS,
    ),
    _resposta(
        "erro_relativo_altera_entradas",
        "resposta_erro_relativo",
        """
def erro_relativo(a, b):
    b.copy_(a)  # altera uma entrada no lugar
    maior = max(float(torch.linalg.norm(a)), float(torch.linalg.norm(b)))
    return 0.0 if maior == 0.0 else float(torch.linalg.norm(a - b)) / maior
""",
        "copia a em b no lugar e devolve o erro das entradas alteradas (zero)",
        ER_VALOR,
        ER_CASOS,
    ),
    _vazia("erro_relativo", "a, b", ER_VALOR, ER_CASOS),
    # ------------------------------------------------------------------ gradiente_controle
    _resposta(
        "controle_autograd_grad",
        "resposta_gradiente_controle",
        """
def gradiente_controle(a):
    a = a.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(f_controle(a).sum(), a)
    return g
""",
        "torch.autograd.grad em vez de backward",
    ),
    _resposta(
        "controle_backward_com_uns",
        "resposta_gradiente_controle",
        """
def gradiente_controle(a):
    copia = a.clone().detach().requires_grad_(True)
    d = f_controle(copia)
    d.backward(torch.ones_like(d))
    return copia.grad
""",
        "backward da saída vetorial com gradient=ones_like",
    ),
    _resposta(
        "controle_f_sobre_a",
        "resposta_gradiente_controle",
        """
def gradiente_controle(a):
    return f_controle(a) / a
""",
        "usa f(a)/a, que só vale fora do zero: um componente nulo dá nan",
        C_VALORES,
    ),
    _resposta(
        "controle_requires_grad_no_original",
        "resposta_gradiente_controle",
        """
def gradiente_controle(a):
    a.requires_grad_(True)
    f_controle(a).sum().backward()
    return a.grad
""",
        "liga requires_grad no tensor recebido: o gradiente se acumula a cada chamada",
        C_REPETE,
    ),
    _resposta(
        "controle_backward_sem_somar",
        "resposta_gradiente_controle",
        """
def gradiente_controle(a):
    a = a.detach().clone().requires_grad_(True)
    f_controle(a).backward()
    return a.grad
""",
        "backward de uma saída vetorial sem somar: só funciona para escalares",
        C_VALORES,
        C_REPETE,
    ),
    _resposta(
        "controle_fator_sem_100",
        "resposta_gradiente_controle",
        """
def gradiente_controle(a):
    k = 2.0
    while float((a * k).norm()) < 1000:
        k *= 2
    return torch.full_like(a, k)
""",
        "fator escrito à mão que esquece o ramo do if (o fator 100 quando a soma não é positiva)",
        C_VALORES,
        C_REPETE,
    ),
    _resposta(
        "controle_devolve_f",
        "resposta_gradiente_controle",
        """
def gradiente_controle(a):
    return f_controle(a)
""",
        "devolve f(a) em vez do gradiente",
        C_VALORES,
        C_REPETE,
    ),
    _resposta(
        "controle_altera_entradas",
        "resposta_gradiente_controle",
        """
def gradiente_controle(a):
    a.neg_()  # altera a entrada no lugar
    copia = a.detach().clone().requires_grad_(True)
    f_controle(copia).sum().backward()
    return copia.grad
""",
        "troca o sinal de a no lugar e devolve o gradiente no ponto alterado (o outro ramo do if)",
        C_VALORES,
        C_REPETE,
    ),
    _vazia("gradiente_controle", "a", C_VALORES, C_REPETE),
]
