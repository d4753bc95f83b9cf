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
JL_VALOR, JL_GRAD = "J_linear_valor", "J_linear_gradiente"
GL_VALORES, GL_SEM_AUTOGRAD = "gradiente_linear_valores", "gradiente_linear_sem_autograd"
GN_VALORES, GN_FORMATO = "gradiente_numerico_valores", "gradiente_numerico_formato"
ER_VALOR = "erro_relativo_valor"
JD_VALORES, JD_MODO = "jacobiana_direta_valores", "jacobiana_direta_modo"
JR_VALORES, JR_MODO = "jacobiana_reversa_valores", "jacobiana_reversa_modo"
EC_VALORES, EC_ESTAVEL, EC_INICIAL = (
    "entropia_cruzada_valores",
    "entropia_cruzada_estavel",
    "entropia_cruzada_inicial",
)


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
    Answer(
        name="J_func_cpu",
        cell="resposta_J_func",
        code="""def J_func(w, x, y):
    return ((x * w - y) ** 2).sum().cpu()
""",
        must_fail=_falham(J_VALOR),
        why="leva o resultado para a CPU: não fica no dispositivo de x e y",
    ),
    Answer(
        name="J_func_refaz_tensores",
        cell="resposta_J_func",
        code="""def J_func(w, x, y):
    xs = torch.tensor(x.tolist(), dtype=x.dtype)  # sempre na CPU
    ys = torch.tensor(y.tolist(), dtype=y.dtype)
    return ((xs * w - ys) ** 2).sum()
""",
        must_fail=_falham(J_VALOR),
        why="recria x e y a partir de listas do Python: sempre na CPU (e .tolist() não funciona em outros dispositivos)",
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
        name="dJ_autograd",
        cell="resposta_dJ_diferencas_finitas",
        code="""def dJ_diferencas_finitas(w, x, y, delta=1e-3):
    w_t = torch.tensor(float(w), dtype=x.dtype, device=x.device, requires_grad=True)
    J_func(w_t, x, y).backward()
    return w_t.grad.item()
""",
        must_fail=_falham(DJ_DELTA),
        why="usa o autograd: a derivada exata, não a diferença central (só a J cúbica, de terceira derivada não nula, separa as duas)",
    ),
    Answer(
        name="dJ_formula_da_parabola",
        cell="resposta_dJ_diferencas_finitas",
        code="""def dJ_diferencas_finitas(w, x, y, delta=1e-3):
    return float((2 * (x * w - y) * x).sum())
""",
        must_fail=_falham(DJ_DELTA),
        why="a derivada exata da parábola escrita à mão: ignora J_func e delta",
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
    Answer(
        name="tanh_polinomios",
        cell="resposta_derivadas_tanh",
        code="""def derivadas_tanh(x, ordem):
    t = torch.tanh(x.detach())
    coeficientes = [0.0, 1.0]  # P_0(t) = t; P_{k+1}(t) = P_k'(t)·(1 - t²)
    derivadas = []
    for _ in range(ordem):
        derivada = [k * c for k, c in enumerate(coeficientes)][1:]
        novo = [0.0] * (len(derivada) + 2)
        for k, c in enumerate(derivada):
            novo[k] += c
            novo[k + 2] -= c
        coeficientes = novo
        derivadas.append(sum(c * t ** k for k, c in enumerate(coeficientes)))
    return derivadas
""",
        must_fail=_falham(T_DIF),
        why="fórmulas prontas: polinômios em t = tanh x, sem autograd (valores certos)",
    ),
    Answer(
        name="tanh_polinomios_na_auxiliar",
        cell="resposta_derivadas_tanh",
        code="""def _proxima(coeficientes):
    derivada = [k * c for k, c in enumerate(coeficientes)][1:]
    novo = [0.0] * (len(derivada) + 2)
    for k, c in enumerate(derivada):
        novo[k] += c
        novo[k + 2] -= c
    return novo


def derivadas_tanh(x, ordem):
    t = torch.tanh(x.detach())
    coeficientes, derivadas = [0.0, 1.0], []
    for _ in range(ordem):
        coeficientes = _proxima(coeficientes)
        derivadas.append(sum(c * t ** k for k, c in enumerate(coeficientes)))
    return derivadas
""",
        must_fail=_falham(T_DIF),
        why="os mesmos polinômios, com a recorrência numa função auxiliar",
    ),
    Answer(
        name="tanh_cpu",
        cell="resposta_derivadas_tanh",
        code="""def derivadas_tanh(x, ordem):
    entrada = x.detach().requires_grad_(True)
    atual = torch.tanh(entrada)
    derivadas = []
    for _ in range(ordem):
        (atual,) = torch.autograd.grad(atual.sum(), entrada, create_graph=True)
        derivadas.append(atual.detach().cpu())
    return derivadas
""",
        must_fail=_falham(T_FORMATO),
        why="leva cada derivada para a CPU: não fica no dispositivo de x",
    ),
    Answer(
        name="tanh_refaz_x",
        cell="resposta_derivadas_tanh",
        code="""def derivadas_tanh(x, ordem):
    entrada = torch.tensor(x.tolist(), dtype=x.dtype, requires_grad=True)  # sempre na CPU
    atual = torch.tanh(entrada)
    derivadas = []
    for _ in range(ordem):
        (atual,) = torch.autograd.grad(atual.sum(), entrada, create_graph=True)
        derivadas.append(atual.detach())
    return derivadas
""",
        must_fail=_falham(T_FORMATO),
        why="recria x a partir de uma lista do Python: sempre na CPU",
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
        name="perda_np_log",
        cell="resposta_perda_inicial_esperada",
        code="""import numpy as np


def perda_inicial_esperada(K):
    return np.log(K)  # np.float64, que é um float
""",
        why="np.log(K) devolve np.float64, subclasse de float: o enunciado o permite",
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


def _resposta(name: str, cell: str, code: str, why: str, *must_fail: str) -> Answer:
    return Answer(name=name, cell=cell, code=code.strip("\n") + "\n", must_fail=frozenset(must_fail), why=why)


ANSWERS += [
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
        "usa o autograd em vez da fórmula (valores certos)",
        GL_SEM_AUTOGRAD,
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
        "torch.autograd.functional.jacobian, sem backward nem grad no código",
        GL_SEM_AUTOGRAD,
    ),
    # ------------------------------------------------------------------ gradiente_numerico
    _resposta(
        "gradiente_numerico_eye",
        "resposta_gradiente_numerico",
        """
def gradiente_numerico(J, w, delta=1e-4):
    planos = w.detach().reshape(-1)
    base = torch.eye(planos.numel(), dtype=w.dtype, device=w.device) * delta
    valores = [(J((planos + e).reshape(w.shape)) - J((planos - e).reshape(w.shape))) / (2 * delta) for e in base]
    return torch.stack(valores).reshape(w.shape)
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
        "gradiente_numerico_todas_juntas",
        "resposta_gradiente_numerico",
        """
def gradiente_numerico(J, w, delta=1e-4):
    return torch.full_like(w, float((J(w + delta) - J(w - delta)) / (2 * delta)))
""",
        "perturba todas as coordenadas de uma vez: a derivada na direção (1, ..., 1)",
        GN_VALORES,
        GN_FORMATO,
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
        "perturba w no lugar: o arredondamento deixa w alterado",
        GN_FORMATO,
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
        "floats do Python num tensor novo: sempre na CPU (e float() não funciona em outros dispositivos)",
        GN_FORMATO,
    ),
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
        "divide só por ‖a‖: não é simétrico",
        ER_VALOR,
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
    ),
    _resposta(
        "erro_relativo_sem_caso_nulo",
        "resposta_erro_relativo",
        """
def erro_relativo(a, b):
    return float((a - b).norm() / torch.maximum(a.norm(), b.norm()))
""",
        "não trata a e b nulos: 0/0 dá nan",
        ER_VALOR,
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
    ),
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
    ),
    _resposta(
        "jacobiana_direta_uma_direcao",
        "resposta_jacobiana_direta",
        """
def jacobiana_direta(f, x):
    _, coluna = torch.func.jvp(f, (x,), (torch.ones_like(x),))
    return torch.stack([coluna] * x.numel(), dim=1)
""",
        "uma só passada na direção (1, ..., 1): repete J·1 em todas as colunas",
        JD_VALORES,
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
        "jacobiana_direta_pronta",
        "resposta_jacobiana_direta",
        """
def jacobiana_direta(f, x):
    return torch.func.jacfwd(f)(x)
""",
        "a função pronta jacfwd, sem montar as colunas",
        JD_MODO,
    ),
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
        "uma passada de torch.autograd.grad por saída, com retain_graph",
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
        "uma só passada com u = (1, ..., 1): repete o gradiente da soma em todas as linhas",
        JR_VALORES,
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
        "a função pronta jacrev, sem montar as linhas",
        JR_MODO,
    ),
    # ------------------------------------------------------------------ entropia_cruzada
    _resposta(
        "entropia_cruzada_logsumexp_gather",
        "resposta_entropia_cruzada",
        """
def entropia_cruzada(z, c):
    return torch.logsumexp(z, dim=1) - z.gather(1, c.unsqueeze(1)).squeeze(1)
""",
        "torch.logsumexp menos o logit da classe certa",
    ),
    _resposta(
        "entropia_cruzada_pronta",
        "resposta_entropia_cruzada",
        """
import torch.nn.functional as F


def entropia_cruzada(z, c):
    return F.cross_entropy(z, c, reduction="none")
""",
        "F.cross_entropy sem redução: a mesma conta, pronta",
    ),
    _resposta(
        "entropia_cruzada_log_softmax",
        "resposta_entropia_cruzada",
        """
def entropia_cruzada(z, c):
    return -torch.log_softmax(z, dim=1)[torch.arange(z.shape[0], device=z.device), c]
""",
        "menos o log_softmax, indexado por linha e classe",
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
        "entropia_cruzada_media",
        "resposta_entropia_cruzada",
        """
def entropia_cruzada(z, c):
    return (torch.logsumexp(z, dim=1) - z.gather(1, c[:, None])[:, 0]).mean()
""",
        "devolve a média do lote em vez de uma perda por exemplo",
        EC_VALORES,
        EC_ESTAVEL,
        EC_INICIAL,
    ),
    _resposta(
        "entropia_cruzada_sinal_trocado",
        "resposta_entropia_cruzada",
        """
def entropia_cruzada(z, c):
    return z.gather(1, c[:, None])[:, 0] - torch.logsumexp(z, dim=1)
""",
        "log p_c em vez de -log p_c",
        EC_VALORES,
        EC_ESTAVEL,
        EC_INICIAL,
    ),
    _resposta(
        "entropia_cruzada_cpu",
        "resposta_entropia_cruzada",
        """
def entropia_cruzada(z, c):
    return (torch.logsumexp(z, dim=1) - z.gather(1, c[:, None])[:, 0]).cpu()
""",
        "leva o resultado para a CPU",
        EC_VALORES,
    ),
]
