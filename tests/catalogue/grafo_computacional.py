"""Catálogo de respostas para `grafo_computacional`: erros plausíveis que os testes precisam pegar e
soluções diferentes da do professor que precisam ser aceitas.

Cada resposta substitui uma única célula de solução do notebook fonte; `must_fail` é o conjunto exato de
células de teste que devem perder pontos (vazio para as respostas certas).
"""

from tests.catalogue import Answer


def _falham(*cells: str) -> frozenset[str]:
    return frozenset(cells)


J_VALOR, J_GRAD = "J_func_valor", "J_func_gradiente"
DJ_TIPO, DJ_VALOR, DJ_DELTA = (
    "dJ_diferencas_finitas_tipo",
    "dJ_diferencas_finitas_valor",
    "dJ_diferencas_finitas_delta",
)
D_FORMATO, D_PASSO, D_TRAJ, D_PERDAS, D_REPETE, D_AUTOGRAD = (
    "descida_gradiente_formato",
    "descida_gradiente_primeiro_passo",
    "descida_gradiente_trajetoria",
    "descida_gradiente_perdas",
    "descida_gradiente_repetivel",
    "descida_gradiente_autograd",
)
T_FORMATO, T_VALORES, T_DIF = (
    "derivadas_tanh_formato",
    "derivadas_tanh_valores",
    "derivadas_tanh_diferencas_finitas",
)
C_ESCALAR, C_VETOR, C_REPETE = (
    "gradiente_controle_escalar",
    "gradiente_controle_vetor",
    "gradiente_controle_repetivel",
)
P_VALOR, P_SIMULACAO = "perda_inicial_esperada_valor", "perda_inicial_esperada_simulacao"


ANSWERS: list[Answer] = [
    # ------------------------------------------------------------------ J_func
    Answer(
        name="J_func_soma_pow",
        cell="resposta_J_func",
        code="""def J_func(w, x, y):
    return torch.sum((x * w - y).pow(2))
""",
        why="torch.sum de pow(2): a mesma conta com outra grafia",
    ),
    Answer(
        name="J_func_produto_interno",
        cell="resposta_J_func",
        code="""def J_func(w, x, y):
    erro = x * w - y
    return torch.dot(erro, erro)
""",
        why="soma dos quadrados como produto interno do erro consigo mesmo",
    ),
    Answer(
        name="J_func_mse_loss_soma",
        cell="resposta_J_func",
        code='''import torch.nn.functional as F


def J_func(w, x, y):
    """Perda quadrática com a função pronta do PyTorch."""
    return F.mse_loss(x * w, y, reduction="sum")
''',
        why="mse_loss com reduction='sum'",
    ),
    Answer(
        name="J_func_media",
        cell="resposta_J_func",
        code="""def J_func(w, x, y):
    return ((x * w - y) ** 2).mean()
""",
        must_fail=_falham(J_VALOR, J_GRAD),
        why="média em vez de soma (erro quadrático médio)",
    ),
    Answer(
        name="J_func_devolve_float",
        cell="resposta_J_func",
        code="""def J_func(w, x, y):
    return float(((x * w - y) ** 2).sum())
""",
        must_fail=_falham(J_VALOR, J_GRAD),
        why="devolve um float do Python: não é tensor e corta o grafo",
    ),
    Answer(
        name="J_func_detach",
        cell="resposta_J_func",
        code="""def J_func(w, x, y):
    return ((x * w - y) ** 2).sum().detach()
""",
        must_fail=_falham(J_GRAD),
        why="valor certo, mas desligado do grafo: o gradiente não chega a w",
    ),
    Answer(
        name="J_func_sem_soma",
        cell="resposta_J_func",
        code="""def J_func(w, x, y):
    return (x * w - y) ** 2
""",
        must_fail=_falham(J_VALOR, J_GRAD),
        why="esquece a soma e devolve o vetor de erros quadráticos",
    ),
    Answer(
        name="J_func_sinal_de_y",
        cell="resposta_J_func",
        code="""def J_func(w, x, y):
    return ((x * w + y) ** 2).sum()
""",
        must_fail=_falham(J_VALOR, J_GRAD),
        why="soma y em vez de subtrair",
    ),
    # ------------------------------------------------------------------ dJ_diferencas_finitas
    Answer(
        name="dJ_item",
        cell="resposta_dJ_diferencas_finitas",
        code="""def dJ_diferencas_finitas(w, x, y, delta=1e-3):
    return ((J_func(w + delta, x, y) - J_func(w - delta, x, y)) / (2 * delta)).item()
""",
        why="diferença central convertida com .item()",
    ),
    Answer(
        name="dJ_floats_do_python",
        cell="resposta_dJ_diferencas_finitas",
        code="""def dJ_diferencas_finitas(w, x, y, delta=1e-3):
    J_mais = J_func(w + delta, x, y).item()
    J_menos = J_func(w - delta, x, y).item()
    return (J_mais - J_menos) / (2 * delta)
""",
        why="converte cada J para float antes de subtrair",
    ),
    Answer(
        name="dJ_em_float64",
        cell="resposta_dJ_diferencas_finitas",
        code='''def dJ_diferencas_finitas(w, x, y, delta=1e-3):
    """Diferença central calculada em float64, para sofrer menos com o arredondamento."""
    x64, y64 = x.double(), y.double()
    if isinstance(w, torch.Tensor):
        w = w.double()
    return float((J_func(w + delta, x64, y64) - J_func(w - delta, x64, y64)) / (2 * delta))
''',
        why="diferença central em float64",
    ),
    Answer(
        name="dJ_progressiva",
        cell="resposta_dJ_diferencas_finitas",
        code="""def dJ_diferencas_finitas(w, x, y, delta=1e-3):
    return float((J_func(w + delta, x, y) - J_func(w, x, y)) / delta)
""",
        must_fail=_falham(DJ_VALOR, DJ_DELTA),
        why="diferença progressiva: erro proporcional a delta",
    ),
    Answer(
        name="dJ_divide_so_por_delta",
        cell="resposta_dJ_diferencas_finitas",
        code="""def dJ_diferencas_finitas(w, x, y, delta=1e-3):
    return float((J_func(w + delta, x, y) - J_func(w - delta, x, y)) / delta)
""",
        must_fail=_falham(DJ_VALOR, DJ_DELTA),
        why="esquece o 2 de 2·delta: o dobro do gradiente",
    ),
    Answer(
        name="dJ_sem_dividir",
        cell="resposta_dJ_diferencas_finitas",
        code="""def dJ_diferencas_finitas(w, x, y, delta=1e-3):
    return float(J_func(w + delta, x, y) - J_func(w - delta, x, y))
""",
        must_fail=_falham(DJ_VALOR, DJ_DELTA),
        why="não divide por 2·delta",
    ),
    Answer(
        name="dJ_devolve_tensor",
        cell="resposta_dJ_diferencas_finitas",
        code="""def dJ_diferencas_finitas(w, x, y, delta=1e-3):
    return (J_func(w + delta, x, y) - J_func(w - delta, x, y)) / (2 * delta)
""",
        must_fail=_falham(DJ_TIPO),
        why="valor certo, mas devolve um tensor em vez de float",
    ),
    Answer(
        name="dJ_ignora_delta",
        cell="resposta_dJ_diferencas_finitas",
        code="""def dJ_diferencas_finitas(w, x, y, delta=1e-3):
    passo = 1e-3
    return float((J_func(w + passo, x, y) - J_func(w - passo, x, y)) / (2 * passo))
""",
        must_fail=_falham(DJ_DELTA),
        why="passo fixo: ignora o delta recebido",
    ),
    Answer(
        name="dJ_sinal_trocado",
        cell="resposta_dJ_diferencas_finitas",
        code="""def dJ_diferencas_finitas(w, x, y, delta=1e-3):
    return float((J_func(w - delta, x, y) - J_func(w + delta, x, y)) / (2 * delta))
""",
        must_fail=_falham(DJ_VALOR, DJ_DELTA),
        why="subtrai na ordem errada: gradiente com o sinal trocado",
    ),
    # ------------------------------------------------------------------ descida_gradiente
    Answer(
        name="descida_folha_nova_a_cada_passo",
        cell="resposta_descida_gradiente",
        code="""def descida_gradiente(w0, x, y, lr=0.01, iteracoes=20, usar_autograd=True):
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
        why="w como float do Python e um tensor folha novo a cada passo (nada a zerar)",
    ),
    Answer(
        name="descida_zero_grad",
        cell="resposta_descida_gradiente",
        code="""def descida_gradiente(w0, x, y, lr=0.01, iteracoes=20, usar_autograd=True):
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
        why="um único tensor de formato (1,), com w.grad.zero_() antes de cada backward",
    ),
    Answer(
        name="descida_autograd_grad",
        cell="resposta_descida_gradiente",
        code="""def descida_gradiente(w0, x, y, lr=0.01, iteracoes=20, usar_autograd=True):
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
        why="gradiente por torch.autograd.grad e perdas calculadas no fim",
    ),
    Answer(
        name="descida_float32_padrao",
        cell="resposta_descida_gradiente",
        code="""def descida_gradiente(w0, x, y, lr=0.01, iteracoes=20, usar_autograd=True):
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
        why="w em float32 (o tipo padrão), zerado com w.grad.zero_() depois de cada backward",
    ),
    Answer(
        name="descida_sem_zerar_grad",
        cell="resposta_descida_gradiente",
        code="""def descida_gradiente(w0, x, y, lr=0.01, iteracoes=20, usar_autograd=True):
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
        must_fail=_falham(D_TRAJ, D_PERDAS, D_AUTOGRAD),
        why="nunca zera w.grad: cada passo soma os gradientes de todos os anteriores",
    ),
    Answer(
        name="descida_sinal_trocado",
        cell="resposta_descida_gradiente",
        code="""def descida_gradiente(w0, x, y, lr=0.01, iteracoes=20, usar_autograd=True):
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
        must_fail=_falham(D_PASSO, D_TRAJ, D_PERDAS, D_AUTOGRAD),
        why="sobe o gradiente (w + lr·g) em vez de descer",
    ),
    Answer(
        name="descida_ws_sem_w0",
        cell="resposta_descida_gradiente",
        code="""def descida_gradiente(w0, x, y, lr=0.01, iteracoes=20, usar_autograd=True):
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
        must_fail=_falham(D_FORMATO, D_PASSO, D_TRAJ, D_AUTOGRAD),
        why="guarda só os w depois de cada passo: falta w0 e a lista tem iteracoes elementos",
    ),
    Answer(
        name="descida_listas_de_tensores",
        cell="resposta_descida_gradiente",
        code="""def descida_gradiente(w0, x, y, lr=0.01, iteracoes=20, usar_autograd=True):
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
        must_fail=_falham(D_FORMATO),
        why="trajetória certa, mas ws e Js guardam tensores em vez de floats",
    ),
    Answer(
        name="descida_ignora_usar_autograd",
        cell="resposta_descida_gradiente",
        code="""def descida_gradiente(w0, x, y, lr=0.01, iteracoes=20, usar_autograd=True):
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
        must_fail=_falham(D_AUTOGRAD),
        why="usa autograd sempre: usar_autograd=False não passa pelas diferenças finitas",
    ),
    Answer(
        name="descida_gradiente_escrito_a_mao",
        cell="resposta_descida_gradiente",
        code="""def descida_gradiente(w0, x, y, lr=0.01, iteracoes=20, usar_autograd=True):
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
        must_fail=_falham(D_AUTOGRAD),
        why="no modo autograd usa a fórmula da derivada escrita à mão, sem backward()",
    ),
    Answer(
        name="descida_perdas_depois_do_passo",
        cell="resposta_descida_gradiente",
        code="""def descida_gradiente(w0, x, y, lr=0.01, iteracoes=20, usar_autograd=True):
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
        must_fail=_falham(D_PERDAS),
        why="Js[i] é a perda depois do passo i (deslocada de uma posição em relação a ws)",
    ),
    Answer(
        name="descida_w_global_acumula",
        cell="resposta_descida_gradiente",
        code="""w_treino = torch.zeros((), dtype=torch.float64, requires_grad=True)


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
        must_fail=_falham(D_PASSO, D_TRAJ, D_PERDAS, D_REPETE, D_AUTOGRAD),
        why="um w global reaproveitado sem zerar .grad: acumula entre passos e entre chamadas",
    ),
    # ------------------------------------------------------------------ derivadas_tanh
    Answer(
        name="tanh_grad_outputs",
        cell="resposta_derivadas_tanh",
        code="""def derivadas_tanh(x, ordem):
    x = x.detach().clone().requires_grad_(True)
    f = torch.tanh(x)
    resultado = []
    for _ in range(ordem):
        (f,) = torch.autograd.grad(f, x, grad_outputs=torch.ones_like(f), create_graph=True)
        resultado.append(f.detach())
    return resultado
""",
        why="grad_outputs=ones_like em vez de derivar a soma",
    ),
    Answer(
        name="tanh_torch_func",
        cell="resposta_derivadas_tanh",
        code='''from torch.func import grad, vmap


def derivadas_tanh(x, ordem):
    """Derivadas sucessivas com torch.func.grad, aplicadas elemento a elemento com vmap."""
    planos = x.detach().reshape(-1)
    f = torch.tanh
    resultado = []
    for _ in range(ordem):
        f = grad(f)
        resultado.append(vmap(f)(planos).reshape(x.shape))
    return resultado
''',
        why="autograd funcional: torch.func.grad composto, vetorizado com vmap",
    ),
    Answer(
        name="tanh_backward_create_graph",
        cell="resposta_derivadas_tanh",
        code="""def derivadas_tanh(x, ordem):
    entrada = x.detach().requires_grad_(True)
    atual = torch.tanh(entrada)
    derivadas = []
    for _ in range(ordem):
        entrada.grad = None
        atual.sum().backward(create_graph=True)  # o PyTorch avisa (UserWarning) sobre um ciclo de referências
        atual = entrada.grad
        derivadas.append(atual.detach().clone())
    return derivadas
""",
        why="backward(create_graph=True) lendo entrada.grad; o aviso em stderr não pode reprovar",
    ),
    Answer(
        name="tanh_primeira_repetida",
        cell="resposta_derivadas_tanh",
        code="""def derivadas_tanh(x, ordem):
    x = x.detach().requires_grad_(True)
    (primeira,) = torch.autograd.grad(torch.tanh(x).sum(), x)
    return [primeira for _ in range(ordem)]
""",
        must_fail=_falham(T_VALORES, T_DIF),
        why="deriva sempre tanh: repete a primeira derivada",
    ),
    Answer(
        name="tanh_sem_create_graph",
        cell="resposta_derivadas_tanh",
        code="""def derivadas_tanh(x, ordem):
    x = x.detach().requires_grad_(True)
    atual = torch.tanh(x)
    derivadas = []
    for _ in range(ordem):
        (atual,) = torch.autograd.grad(atual.sum(), x)
        derivadas.append(atual)
    return derivadas
""",
        must_fail=_falham(T_FORMATO, T_VALORES, T_DIF),
        why="sem create_graph=True: a segunda derivada já não tem grafo (RuntimeError)",
    ),
    Answer(
        name="tanh_comeca_em_f",
        cell="resposta_derivadas_tanh",
        code="""def derivadas_tanh(x, ordem):
    x = x.detach().requires_grad_(True)
    atual = torch.tanh(x)
    derivadas = []
    for _ in range(ordem):
        derivadas.append(atual.detach())
        (atual,) = torch.autograd.grad(atual.sum(), x, create_graph=True)
    return derivadas
""",
        must_fail=_falham(T_VALORES, T_DIF),
        why="deslocada de uma ordem: devolve [f, f', ...] em vez de [f', f'', ...]",
    ),
    Answer(
        name="tanh_sem_somar_a_saida",
        cell="resposta_derivadas_tanh",
        code="""def derivadas_tanh(x, ordem):
    x = x.detach().requires_grad_(True)
    atual = torch.tanh(x)
    derivadas = []
    for _ in range(ordem):
        (atual,) = torch.autograd.grad(atual, x, create_graph=True)
        derivadas.append(atual.detach())
    return derivadas
""",
        must_fail=_falham(T_FORMATO, T_VALORES, T_DIF),
        why="deriva uma saída vetorial sem somar nem grad_outputs (RuntimeError)",
    ),
    Answer(
        name="tanh_altera_x_recebido",
        cell="resposta_derivadas_tanh",
        code="""def derivadas_tanh(x, ordem):
    x.requires_grad_(True)
    atual = torch.tanh(x)
    derivadas = []
    for _ in range(ordem):
        (atual,) = torch.autograd.grad(atual.sum(), x, create_graph=True)
        derivadas.append(atual.detach())
    return derivadas
""",
        must_fail=_falham(T_FORMATO),
        why="liga requires_grad no próprio tensor recebido em vez de numa cópia",
    ),
    Answer(
        name="tanh_achatada",
        cell="resposta_derivadas_tanh",
        code="""def derivadas_tanh(x, ordem):
    x = x.detach().reshape(-1).requires_grad_(True)
    atual = torch.tanh(x)
    derivadas = []
    for _ in range(ordem):
        (atual,) = torch.autograd.grad(atual.sum(), x, create_graph=True)
        derivadas.append(atual.detach())
    return derivadas
""",
        must_fail=_falham(T_FORMATO),
        why="valores certos, mas achatados: perde o formato de x",
    ),
    # ------------------------------------------------------------------ gradiente_controle
    Answer(
        name="controle_autograd_grad",
        cell="resposta_gradiente_controle",
        code="""def gradiente_controle(a):
    a = a.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(f_controle(a).sum(), a)
    return g
""",
        why="torch.autograd.grad em vez de backward",
    ),
    Answer(
        name="controle_backward_com_uns",
        cell="resposta_gradiente_controle",
        code="""def gradiente_controle(a):
    copia = a.clone().detach().requires_grad_(True)
    d = f_controle(copia)
    d.backward(torch.ones_like(d))
    return copia.grad
""",
        why="backward da saída vetorial com gradient=ones_like",
    ),
    Answer(
        name="controle_f_sobre_a",
        cell="resposta_gradiente_controle",
        code="""def gradiente_controle(a):
    return f_controle(a) / a
""",
        must_fail=_falham(C_VETOR),
        why="usa f(a)/a, que só vale fora do zero: um componente nulo dá nan",
    ),
    Answer(
        name="controle_requires_grad_no_original",
        cell="resposta_gradiente_controle",
        code="""def gradiente_controle(a):
    a.requires_grad_(True)
    f_controle(a).sum().backward()
    return a.grad
""",
        must_fail=_falham(C_REPETE),
        why="liga requires_grad no tensor recebido: o gradiente se acumula a cada chamada",
    ),
    Answer(
        name="controle_backward_sem_somar",
        cell="resposta_gradiente_controle",
        code="""def gradiente_controle(a):
    a = a.detach().clone().requires_grad_(True)
    f_controle(a).backward()
    return a.grad
""",
        must_fail=_falham(C_VETOR, C_REPETE),
        why="backward de uma saída vetorial sem somar: só funciona para escalares",
    ),
    Answer(
        name="controle_fator_sem_100",
        cell="resposta_gradiente_controle",
        code="""def gradiente_controle(a):
    k = 2.0
    while float((a * k).norm()) < 1000:
        k *= 2
    return torch.full_like(a, k)
""",
        must_fail=_falham(C_ESCALAR, C_VETOR),
        why="fator escrito à mão que esquece o ramo do if (o fator 100 quando a soma é negativa)",
    ),
    Answer(
        name="controle_devolve_f",
        cell="resposta_gradiente_controle",
        code="""def gradiente_controle(a):
    return f_controle(a)
""",
        must_fail=_falham(C_ESCALAR, C_VETOR),
        why="devolve f(a) em vez do gradiente",
    ),
    # ------------------------------------------------------------------ perda_inicial_esperada
    Answer(
        name="perda_menos_log_de_um_sobre_K",
        cell="resposta_perda_inicial_esperada",
        code="""def perda_inicial_esperada(K):
    p_correta = 1.0 / K  # softmax uniforme
    return -math.log(p_correta)
""",
        why="-log(1/K), direto da entropia cruzada com probabilidades uniformes",
    ),
    Answer(
        name="perda_cross_entropy_de_logits_nulos",
        cell="resposta_perda_inicial_esperada",
        code="""import torch.nn.functional as F


def perda_inicial_esperada(K):
    logits = torch.zeros(1, K, dtype=torch.float64)
    return F.cross_entropy(logits, torch.zeros(1, dtype=torch.long)).item()
""",
        why="calcula a entropia cruzada de logits todos iguais",
    ),
    Answer(
        name="perda_numpy",
        cell="resposta_perda_inicial_esperada",
        code="""import numpy as np


def perda_inicial_esperada(K):
    return float(np.log(K))
""",
        why="log K com NumPy, convertido para float",
    ),
    Answer(
        name="perda_um_sobre_K",
        cell="resposta_perda_inicial_esperada",
        code="""def perda_inicial_esperada(K):
    return 1.0 / K
""",
        must_fail=_falham(P_VALOR, P_SIMULACAO),
        why="confunde a probabilidade de cada classe com a perda",
    ),
    Answer(
        name="perda_log2",
        cell="resposta_perda_inicial_esperada",
        code="""def perda_inicial_esperada(K):
    return math.log2(K)
""",
        must_fail=_falham(P_VALOR, P_SIMULACAO),
        why="logaritmo na base 2 (bits), não o natural do PyTorch",
    ),
    Answer(
        name="perda_sinal_trocado",
        cell="resposta_perda_inicial_esperada",
        code="""def perda_inicial_esperada(K):
    return math.log(1 / K)
""",
        must_fail=_falham(P_VALOR, P_SIMULACAO),
        why="esquece o sinal de menos da entropia cruzada",
    ),
    Answer(
        name="perda_tensor",
        cell="resposta_perda_inicial_esperada",
        code="""def perda_inicial_esperada(K):
    return torch.log(torch.tensor(float(K)))
""",
        must_fail=_falham(P_VALOR),
        why="valor certo, mas devolve um tensor em vez de float",
    ),
]
