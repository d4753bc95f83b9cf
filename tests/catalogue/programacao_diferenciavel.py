"""Catalogue of student answers for the assignment `programacao_diferenciavel`.

Each Answer replaces one solution cell of
source/programacao_diferenciavel/programacao_diferenciavel.ipynb (by its grade_id) with complete code.
Wrong answers list in `must_fail` exactly the test cells that must lose points; right answers list none.
The expected sets do not depend on the device (CPU or GPU): on a CPU-only machine the device tests use the
'meta' device to stand in for "another device". One answer is therefore left out: `A` and `B` created with
`torch.randn(128, 256)` on the default device are right on a CPU grader and wrong on a GPU one (the exercise asks
for the notebook's `device`, and A_B_formato checks it), so no device-free expectation exists for it.
"""

from textwrap import dedent

from tests.catalogue import Answer


def _code(text: str) -> str:
    return dedent(text).strip() + "\n"


def _wrong(
    name: str, cell: str, code: str, must_fail: set[str], why: str, audit: set[str] = frozenset()
) -> Answer:
    assert must_fail, name
    return Answer(
        name=name,
        cell=cell,
        code=_code(code),
        must_fail=frozenset(must_fail),
        why=why,
        audit=frozenset(audit),
    )


def _right(name: str, cell: str, code: str, why: str) -> Answer:
    return Answer(name=name, cell=cell, code=_code(code), why=why)


ANSWERS: list[Answer] = []

# --------------------------------------------------------------------------------------------------
# Section 1.1: linhas_positivas(X)
C = "resposta_linhas_positivas"
V, L, LS = "linhas_positivas_valores", "linhas_positivas_casos_limite", "linhas_positivas_sem_laco"
ANSWERS += [
    _wrong(
        "linhas_positivas_maior_ou_igual",
        C,
        """
        def linhas_positivas(X):
            return X[X.sum(axis=1) >= 0]
        """,
        {L},
        "uses >= 0, so a row that sums to exactly zero is kept",
    ),
    _wrong(
        "linhas_positivas_elementos",
        C,
        """
        def linhas_positivas(X):
            return X[X > 0]
        """,
        {V, L, LS},
        "masks elements instead of rows: returns a flat vector of positive entries",
    ),
    _wrong(
        "linhas_positivas_eixo_errado",
        C,
        """
        def linhas_positivas(X):
            return X[X.sum(axis=0) > 0]
        """,
        {V, L, LS},
        "sums the columns (axis=0) instead of the rows",
    ),
    _wrong(
        "linhas_positivas_lista",
        C,
        """
        def linhas_positivas(X):
            return np.array([linha for linha in X if linha.sum() > 0])
        """,
        {L, LS},
        "builds the result from a Python list: with no row selected the shape is (0,), not (0, d)",
    ),
    _wrong(
        "linhas_positivas_colunas",
        C,
        """
        def linhas_positivas(X):
            return X[:, X.sum(axis=1) > 0]
        """,
        {V, L, LS},
        "applies the row mask to the columns",
    ),
    _wrong(
        "linhas_positivas_lista_reshape",
        C,
        """
        def linhas_positivas(X):
            return np.array([linha for linha in X if linha.sum() > 0]).reshape(-1, X.shape[1])
        """,
        {LS},
        "right values from a Python loop (a comprehension), reshaped so that even the empty case has two dimensions",
    ),
    _wrong(
        "linhas_positivas_laco_auxiliar",
        C,
        """
        def _indices_positivos(X):
            indices = []
            for i in range(X.shape[0]):
                if X[i].sum() > 0:
                    indices.append(i)
            return np.array(indices, dtype=int)


        def linhas_positivas(X):
            return X[_indices_positivos(X)]
        """,
        {LS},
        "the loop hidden in a helper: no for in linhas_positivas itself",
    ),
    _wrong(
        "linhas_positivas_apply_along_axis",
        C,
        """
        def linhas_positivas(X):
            return X[np.apply_along_axis(np.sum, 1, X) > 0]
        """,
        {LS},
        "np.apply_along_axis calls np.sum once per row: a Python loop inside NumPy",
    ),
    _wrong(
        "linhas_positivas_vectorize",
        C,
        """
        def linhas_positivas(X):
            positiva = np.vectorize(lambda soma: soma > 0)
            return X[positiva(X.sum(axis=1))]
        """,
        {LS},
        "np.vectorize runs the lambda once per row: a Python loop",
    ),
    # red team, round 3: names a check must see through
    _wrong(
        "linhas_positivas_vectorize_importada",
        C,
        """
        from numpy import vectorize as _vetoriza


        def linhas_positivas(X):
            positiva = _vetoriza(lambda soma: soma > 0)
            return X[positiva(X.sum(axis=1))]
        """,
        {LS},
        "np.vectorize imported under another name (T's stand-in was numpy._vetoriza, no hidden loop)",
    ),
    _wrong(
        "linhas_positivas_vectorize_apelido",
        C,
        """
        _v = np.vectorize


        def linhas_positivas(X):
            positiva = _v(lambda soma: soma > 0)
            return X[positiva(X.sum(axis=1))]
        """,
        {LS},
        "np.vectorize bound to another name by an assignment",
    ),
    _wrong(
        "linhas_positivas_filterfalse",
        C,
        """
        import itertools


        def linhas_positivas(X):
            linhas = list(itertools.filterfalse(lambda linha: linha.sum() <= 0, X))
            return np.array(linhas).reshape(-1, X.shape[1]).astype(X.dtype)
        """,
        {LS},
        "itertools.filterfalse calls the lambda once per row",
    ),
    _wrong(
        "linhas_positivas_eval",
        C,
        """
        def linhas_positivas(X):
            codigo = "np.array([l for l in X if l.sum() > 0]).reshape(-1, X.shape[1]).astype(X.dtype)"
            return eval(codigo, {"np": np, "X": X})
        """,
        {LS},
        "the loop inside a string given to eval: code the check cannot read",
        audit={"eval()"},
    ),
    _wrong(
        "linhas_positivas_recursao_mutua",
        C,
        """
        def _ida(X, i):
            if i == X.shape[0]:
                return X[:0]
            return _volta(X, i)


        def _volta(X, i):
            resto = _ida(X, i + 1)
            return np.concatenate([X[i : i + 1], resto]) if X[i].sum() > 0 else resto


        def linhas_positivas(X):
            return _ida(X, 0)
        """,
        {LS},
        "two helpers that call each other, one row per call: a loop by mutual recursion",
    ),
    _right(
        "linhas_positivas_getattr_e_nome",
        C,
        """
        def linhas_positivas(X):
            colunas = getattr(X, "shape")[1]
            assert X.ndim == 2, f"{linhas_positivas.__name__} espera uma matriz"
            return X[X.sum(axis=1) > 0].reshape(-1, colunas)
        """,
        "getattr with a written name and the function reading its own name (neither is a loop)",
    ),
    _wrong(
        "linhas_positivas_altera_entradas",
        C,
        """
        def linhas_positivas(X):
            X += 1  # changes the caller's array
            return X[X.sum(axis=1) > 0]
        """,
        {V, L, LS},
        "perturbs X in place and answers for the perturbed X",
    ),
    _wrong(
        "linhas_positivas_pass",
        C,
        """
        def linhas_positivas(X):
            pass
        """,
        {V, L, LS},
        "a pass body",
    ),
    _right(
        "linhas_positivas_auxiliar",
        C,
        """
        def _somas_positivas(matriz):
            return matriz.sum(axis=1) > 0


        def linhas_positivas(X):
            return X[_somas_positivas(X)]
        """,
        "the mask computed by a helper without loops",
    ),
    _right(
        "linhas_positivas_mascara_explicita",
        C,
        """
        def linhas_positivas(X):
            mascara = np.sum(X, axis=1) > 0
            return X[mascara, :]
        """,
        "boolean mask on the rows with an explicit column slice",
    ),
    _right(
        "linhas_positivas_compress",
        C,
        """
        def linhas_positivas(X):
            return np.compress(X.sum(axis=1) > 0, X, axis=0)
        """,
        "np.compress along axis 0",
    ),
]

# --------------------------------------------------------------------------------------------------
# Section 2.5: juntar_atributos(X1, X2)
C = "resposta_juntar_atributos"
F_, V = "juntar_atributos_formato", "juntar_atributos_valores"
ANSWERS += [
    _wrong(
        "juntar_atributos_dim0",
        C,
        """
        def juntar_atributos(X1, X2):
            return torch.cat((X1, X2), dim=0)
        """,
        {F_, V},
        "concatenates along the rows (dim=0)",
    ),
    _wrong(
        "juntar_atributos_ordem_trocada",
        C,
        """
        def juntar_atributos(X1, X2):
            return torch.cat((X2, X1), dim=1)
        """,
        {F_, V},
        "puts X2 before X1",
    ),
    _wrong(
        "juntar_atributos_stack",
        C,
        """
        def juntar_atributos(X1, X2):
            return torch.stack((X1, X2), dim=1)
        """,
        {F_, V},
        "torch.stack creates a new dimension and needs equal shapes",
    ),
    _wrong(
        "juntar_atributos_numpy",
        C,
        """
        def juntar_atributos(X1, X2):
            return np.concatenate((X1, X2), axis=1)
        """,
        {F_, V},
        "returns a NumPy array instead of a tensor",
    ),
    _wrong(
        "juntar_atributos_float32",
        C,
        """
        def juntar_atributos(X1, X2):
            return torch.cat((X1.float(), X2.float()), dim=1)
        """,
        {F_},
        "casts the inputs to float32",
    ),
    _wrong(
        "juntar_atributos_cpu",
        C,
        """
        def juntar_atributos(X1, X2):
            return torch.cat((X1, X2), dim=1).cpu()
        """,
        {F_},
        "moves the result to the CPU",
    ),
    _wrong(
        "juntar_atributos_zeros_padrao",
        C,
        """
        def juntar_atributos(X1, X2):
            R = torch.zeros(X1.shape[0], X1.shape[1] + X2.shape[1], dtype=X1.dtype)  # default device
            R[:, :X1.shape[1]] = X1
            R[:, X1.shape[1]:] = X2
            return R
        """,
        {F_},
        "fills a result created on the default device, not the inputs' device",
    ),
    _wrong(
        "juntar_atributos_altera_entradas",
        C,
        """
        def juntar_atributos(X1, X2):
            X1.mul_(2)  # changes the caller's tensor
            return torch.cat((X1, X2), dim=1)
        """,
        {F_, V},
        "perturbs X1 in place and answers for the perturbed X1",
    ),
    _wrong(
        "juntar_atributos_pass",
        C,
        """
        def juntar_atributos(X1, X2):
            pass
        """,
        {F_, V},
        "a pass body",
    ),
    _right(
        "juntar_atributos_dim_menos1",
        C,
        """
        def juntar_atributos(X1, X2):
            return torch.cat([X1, X2], dim=-1)
        """,
        "torch.cat along the last dimension",
    ),
    _right(
        "juntar_atributos_hstack",
        C,
        """
        def juntar_atributos(X1, X2):
            return torch.hstack((X1, X2))
        """,
        "torch.hstack",
    ),
    _right(
        "juntar_atributos_column_stack",
        C,
        """
        def juntar_atributos(X1, X2):
            return torch.column_stack((X1, X2))
        """,
        "torch.column_stack",
    ),
]

# --------------------------------------------------------------------------------------------------
# Problem set 1: A and B
C = "resposta_A_B"
F_, IND = "A_B_formato", "A_B_independentes"
ANSWERS += [
    _wrong(
        "A_B_uniforme",
        C,
        """
        A = torch.rand(128, 256, device=device)
        B = torch.rand(128, 256, device=device)
        """,
        {F_},
        "uniform entries (torch.rand) instead of Gaussian",
    ),
    _wrong(
        "A_B_uniforme_padronizada",
        C,
        """
        A = (torch.rand(128, 256, device=device) - 0.5) * 12 ** 0.5
        B = (torch.rand(128, 256, device=device) - 0.5) * 12 ** 0.5
        """,
        {F_},
        "uniform entries rescaled to mean 0 and std 1: right moments, wrong distribution",
    ),
    _wrong(
        "A_B_mesmo_objeto",
        C,
        """
        A = torch.randn(128, 256, device=device)
        B = A
        """,
        {IND},
        "B is the same tensor as A",
    ),
    _wrong(
        "A_B_clone",
        C,
        """
        A = torch.randn(128, 256, device=device)
        B = A.clone()
        """,
        {IND},
        "B is a copy of A",
    ),
    _wrong(
        "A_B_mesma_semente",
        C,
        """
        torch.manual_seed(0)
        A = torch.randn(128, 256, device=device)
        torch.manual_seed(0)
        B = torch.randn(128, 256, device=device)
        """,
        {IND},
        "re-seeds before each matrix, so B repeats A",
    ),
    _wrong(
        "A_B_permutada",
        C,
        """
        A = torch.randn(128, 256, device=device)
        B = A.flatten()[torch.randperm(A.numel(), device=device)].reshape(128, 256)
        """,
        {IND},
        "B is A's values shuffled: correlation near 0, not independent",
    ),
    _wrong(
        "A_B_invertida",
        C,
        """
        A = torch.randn(128, 256, device=device)
        B = A.flip(0)
        """,
        {IND},
        "B is A upside down: correlation near 0, not independent",
    ),
    _wrong(
        "A_B_deslocada",
        C,
        """
        A = torch.randn(128, 256, device=device)
        B = torch.roll(A, shifts=1, dims=1)
        """,
        {IND},
        "B is A shifted by one column: correlation near 0, not independent",
    ),
    _wrong(
        "A_B_sinais_trocados",
        C,
        """
        A = torch.randn(128, 256, device=device)
        B = A * (2 * torch.randint(0, 2, A.shape, device=device) - 1)
        """,
        {IND},
        "B is A with random signs: correlation near 0, Gaussian, but |B| = |A|",
    ),
    _wrong(
        "A_B_formato_trocado",
        C,
        """
        A = torch.randn(256, 128, device=device)
        B = torch.randn(256, 128, device=device)
        """,
        {F_},
        "shape (256, 128) instead of (128, 256)",
    ),
    _wrong(
        "A_B_numpy",
        C,
        """
        A = np.random.randn(128, 256)
        B = np.random.randn(128, 256)
        """,
        {F_, IND},
        "NumPy arrays instead of tensors",
    ),
    _wrong(
        "A_B_float64",
        C,
        """
        A = torch.from_numpy(np.random.randn(128, 256))
        B = torch.from_numpy(np.random.randn(128, 256))
        """,
        {F_},
        "float64 tensors converted from NumPy",
    ),
    _right(
        "A_B_randn_like",
        C,
        """
        A = torch.randn(128, 256, device=device)
        B = torch.randn_like(A)
        """,
        "torch.randn_like draws new numbers with A's shape, dtype and device",
    ),
    _right(
        "A_B_normal_no_lugar",
        C,
        """
        A = torch.empty(128, 256, device=device).normal_()
        B = torch.empty(128, 256, device=device).normal_()
        """,
        "empty tensors filled in place with normal_()",
    ),
    _right(
        "A_B_gerador",
        C,
        """
        g = torch.Generator().manual_seed(1)
        A = torch.randn(128, 256, generator=g).to(device)
        B = torch.randn(128, 256, generator=g).to(device)
        """,
        "one seeded generator for both matrices",
    ),
    _right(
        "A_B_normal",
        C,
        """
        A = torch.normal(0.0, 1.0, size=(128, 256), device=device)
        B = torch.normal(0.0, 1.0, size=(128, 256), device=device)
        """,
        "torch.normal",
    ),
]

# --------------------------------------------------------------------------------------------------
# Problem set 1: produto_com_laco(A, B)
C = "resposta_produto_com_laco"
V, T, U = "produto_com_laco_valores", "produto_com_laco_dtype_dispositivo", "produto_com_laco_um_laco"
ANSWERS += [
    _wrong(
        "produto_com_laco_dois_lacos",
        C,
        """
        def produto_com_laco(A, B):
            C = torch.zeros(A.shape[0], B.shape[0], dtype=A.dtype, device=A.device)
            for i in range(A.shape[0]):
                for j in range(B.shape[0]):
                    C[i, j] = (A[i] * B[j]).sum()
            return C
        """,
        {U},
        "two nested loops instead of one loop with broadcasting",
    ),
    _wrong(
        "produto_com_laco_sem_laco",
        C,
        """
        def produto_com_laco(A, B):
            return A @ B.T
        """,
        {U},
        "no loop at all",
    ),
    _wrong(
        "produto_com_laco_zeros_padrao",
        C,
        """
        def produto_com_laco(A, B):
            C = torch.zeros(A.shape[0], B.shape[0])
            for i in range(A.shape[0]):
                C[i] = (A[i] * B).sum(dim=1)
            return C
        """,
        {T},
        "result created with the default dtype and device (float32 on the CPU)",
    ),
    _wrong(
        "produto_com_laco_numpy",
        C,
        """
        def produto_com_laco(A, B):
            C = np.zeros((A.shape[0], B.shape[0]))
            for linha in range(A.shape[0]):
                C[linha] = (A[linha] * B).sum(axis=1)
            return C
        """,
        {V, T, U},
        "the source notebook's answer: fills and returns a NumPy array",
    ),
    _wrong(
        "produto_com_laco_dim_errada",
        C,
        """
        def produto_com_laco(A, B):
            C = torch.empty(A.shape[0], B.shape[0], dtype=A.dtype, device=A.device)
            for i in range(A.shape[0]):
                C[i] = (A[i] * B).sum(dim=0)
            return C
        """,
        {V, T, U},
        "sums over the wrong dimension",
    ),
    _wrong(
        "produto_com_laco_cpu",
        C,
        """
        def produto_com_laco(A, B):
            C = torch.empty(A.shape[0], B.shape[0], dtype=A.dtype, device=A.device)
            for i in range(A.shape[0]):
                C[i] = (A[i] * B).sum(dim=1)
            return C.cpu()
        """,
        {T},
        "moves the result to the CPU",
    ),
    _wrong(
        "produto_com_laco_laco_de_fachada",
        C,
        """
        def produto_com_laco(A, B):
            for _ in range(1):
                return A @ B.T
        """,
        {U},
        "one loop that does nothing: the whole product is returned on the first turn",
    ),
    _wrong(
        "produto_com_laco_laco_vazio",
        C,
        """
        def produto_com_laco(A, B):
            for i in range(A.shape[0]):
                pass
            return torch.mm(A, B.t())
        """,
        {U},
        "a loop over the rows that does no work, then the whole product outside it",
    ),
    _wrong(
        "produto_com_laco_repete_o_produto",
        C,
        """
        def produto_com_laco(A, B):
            for i in range(A.shape[0]):
                C = A @ B.T
            return C
        """,
        {U},
        "the loop recomputes the whole product at every turn instead of one row",
    ),
    _wrong(
        "produto_com_laco_aninhado_na_auxiliar",
        C,
        """
        def _linha(a, B):
            linha = torch.empty(B.shape[0], dtype=a.dtype, device=a.device)
            for j in range(B.shape[0]):
                linha[j] = (a * B[j]).sum()
            return linha


        def produto_com_laco(A, B):
            C = torch.empty(A.shape[0], B.shape[0], dtype=A.dtype, device=A.device)
            for i in range(A.shape[0]):
                C[i] = _linha(A[i], B)
            return C
        """,
        {U},
        "two nested loops, the inner one hidden in a helper",
    ),
    _wrong(
        "produto_com_laco_produto_inteiro_no_laco",
        C,
        """
        def produto_com_laco(A, B):
            C = A.new_empty(A.shape[0], B.shape[0])
            for i in range(A.shape[0]):
                C[i] = (A @ B.T)[i]
            return C
        """,
        {U},
        "review 3 (T1, s3): the loop recomputes the whole product at every turn and keeps one row",
    ),
    _wrong(
        "produto_com_laco_linhas_de_B",
        C,
        """
        def produto_com_laco(A, B):
            C = torch.empty(A.shape[0], B.shape[0], dtype=A.dtype, device=A.device)
            for j in range(B.shape[0]):
                C[:, j] = (A * B[j]).sum(dim=1)
            return C
        """,
        {U},
        "one loop, but over the rows of B (a column of the result per turn)",
    ),
    _wrong(
        "produto_com_laco_colunas_por_C",
        C,
        """
        def produto_com_laco(A, B):
            C = torch.zeros(A.shape[0], B.shape[0], dtype=A.dtype, device=A.device)
            for j in range(C.shape[1]):
                C[:, j] = A @ B[j]
            return C
        """,
        {U},
        "a loop over the columns of C, that is over the rows of B, with the whole A at every turn",
    ),
    _wrong(
        "produto_com_laco_auxiliar_com_produto_inteiro",
        C,
        """
        def _linha(A, B, i):
            return (A @ B.T)[i]


        def produto_com_laco(A, B):
            C = A.new_zeros(A.shape[0], B.shape[0])
            for i in range(A.shape[0]):
                C[i] = _linha(A, B, i)
            return C
        """,
        {U},
        "the whole product computed by a helper at every turn",
    ),
    _wrong(
        "produto_com_laco_classe",
        C,
        """
        class Produto:
            @staticmethod
            def linha(a, B):
                return torch.stack([(a * b).sum() for b in B])


        def produto_com_laco(A, B):
            C = A.new_zeros(A.shape[0], B.shape[0])
            for i in range(A.shape[0]):
                C[i] = Produto.linha(A[i], B)
            return C
        """,
        {U},
        "held-out (issue 22): the inner loop in a class's static method; a class cannot be read, and says so",
    ),
    _wrong(
        "produto_com_laco_altera_entradas",
        C,
        """
        def produto_com_laco(A, B):
            A.mul_(2)  # changes the caller's tensor
            C = torch.empty(A.shape[0], B.shape[0], dtype=A.dtype, device=A.device)
            for i in range(A.shape[0]):
                C[i] = (A[i] * B).sum(dim=1)
            return C
        """,
        {V, T, U},
        "perturbs A in place and answers for the perturbed A",
    ),
    _wrong(
        "produto_com_laco_pass",
        C,
        """
        def produto_com_laco(A, B):
            pass
        """,
        {V, T, U},
        "a pass body",
    ),
    _right(
        "produto_com_laco_transposta_fora",
        C,
        """
        def produto_com_laco(A, B):
            n = A.shape[0]
            Bt = B.T  # (d, m): a view, no copy
            C = torch.zeros(n, Bt.shape[1], dtype=A.dtype, device=A.device)
            for linha in range(n):
                C[linha, :] = torch.matmul(A[linha], Bt)
            return C
        """,
        "review 3 (T1, s1): a transposed alias of B made before the loop",
    ),
    _right(
        "produto_com_laco_contiguas",
        C,
        """
        def produto_com_laco(A, B):
            A, B = A.contiguous(), B.contiguous()
            return torch.stack([torch.sum(B * A[i], dim=-1) for i in range(A.shape[0])])
        """,
        "review 3 (T1, s2): both inputs made contiguous on one line before the loop",
    ),
    _right(
        "produto_com_laco_funcao_interna",
        C,
        """
        def produto_com_laco(A, B):
            def escalares(a):
                return B.mv(a)  # B from the enclosing function

            saida = A.new_empty(A.shape[0], B.shape[0])
            k = 0
            for a in A:
                saida[k] = escalares(a)
                k += 1
            return saida
        """,
        "held-out (issue 22): a closure over B computes each row",
    ),
    _right(
        "produto_com_laco_auxiliar_com_indice",
        C,
        """
        def _linha_i(A, B, i):
            return B @ A[i]


        def produto_com_laco(A, B):
            n, m = A.shape[0], B.shape[0]
            C = A.new_zeros(n, m)
            for i in range(n):
                C[i] = _linha_i(A, B, i)
            return C
        """,
        "a helper that receives A, B and the row index",
    ),
    _right(
        "produto_com_laco_while",
        C,
        """
        def produto_com_laco(A, B):
            n = A.shape[0]
            C = torch.zeros((n, B.shape[0]), dtype=A.dtype, device=A.device)
            i = 0
            while i < n:
                C[i] = B @ A[i]
                i += 1
            return C
        """,
        "a while loop over the rows of A",
    ),
    _right(
        "produto_com_laco_auxiliar_sem_laco",
        C,
        """
        def _linha(a, B):
            return (a * B).sum(dim=1)


        def produto_com_laco(A, B):
            C = A.new_empty(A.shape[0], B.shape[0])
            for i in range(len(A)):
                C[i] = _linha(A[i], B)
            return C
        """,
        "one loop over the rows, each row computed by a helper without loops",
    ),
    _right(
        "produto_com_laco_stack",
        C,
        """
        def produto_com_laco(A, B):
            linhas = []
            for i in range(A.shape[0]):
                linhas.append((A[i] * B).sum(dim=1))
            return torch.stack(linhas)
        """,
        "one loop, rows collected in a list and stacked",
    ),
    _right(
        "produto_com_laco_mv",
        C,
        """
        def produto_com_laco(A, B):
            C = A.new_zeros(A.shape[0], B.shape[0])
            for i, a in enumerate(A):
                C[i] = torch.mv(B, a)
            return C
        """,
        "one loop over the rows of A with a matrix-vector product",
    ),
    _right(
        "produto_com_laco_compreensao",
        C,
        """
        def produto_com_laco(A, B):
            return torch.stack([(a * B).sum(dim=1) for a in A])
        """,
        "the single loop written as a list comprehension",
    ),
]

# --------------------------------------------------------------------------------------------------
# Problem set 1: produto_vetorizado(A, B)
C = "resposta_produto_vetorizado"
V, S = "produto_vetorizado_valores", "produto_vetorizado_sem_laco"
ANSWERS += [
    _wrong(
        "produto_vetorizado_sem_transpor",
        C,
        """
        def produto_vetorizado(A, B):
            return A @ B
        """,
        {V, S},
        "forgets to transpose B",
    ),
    _wrong(
        "produto_vetorizado_compreensao",
        C,
        """
        def produto_vetorizado(A, B):
            return torch.stack([(a * B).sum(dim=1) for a in A])
        """,
        {S},
        "a loop hidden in a list comprehension",
    ),
    _wrong(
        "produto_vetorizado_float32",
        C,
        """
        def produto_vetorizado(A, B):
            return torch.mm(A.float(), B.float().t())
        """,
        {V},
        "casts to float32, losing float64 inputs' precision and dtype",
    ),
    _wrong(
        "produto_vetorizado_cpu",
        C,
        """
        def produto_vetorizado(A, B):
            return (A @ B.T).cpu()
        """,
        {V},
        "moves the result to the CPU",
    ),
    _wrong(
        "produto_vetorizado_chama_laco",
        C,
        """
        def produto_vetorizado(A, B):
            return produto_com_laco(A, B)
        """,
        {S},
        "calls the loop version",
    ),
    _wrong(
        "produto_vetorizado_elemento_a_elemento",
        C,
        """
        def produto_vetorizado(A, B):
            return (A * B).sum(dim=1)
        """,
        {V, S},
        "element-wise product of A and B instead of a matrix product",
    ),
    _wrong(
        "produto_vetorizado_auxiliar_com_laco",
        C,
        """
        def _linhas(A, B):
            return torch.stack([B @ a for a in A])


        def produto_vetorizado(A, B):
            return _linhas(A, B)
        """,
        {S},
        "a loop hidden in a helper with another name",
    ),
    _wrong(
        "produto_vetorizado_apelido_do_laco",
        C,
        """
        def produto_vetorizado(A, B):
            funcao = produto_com_laco
            return funcao(A, B)
        """,
        {S},
        "calls the loop version through another name",
    ),
    _wrong(
        "produto_vetorizado_classe",
        C,
        """
        class _Linhas:
            @staticmethod
            def de(A, B):
                return torch.stack([B @ a for a in A])


        def produto_vetorizado(A, B):
            return _Linhas.de(A, B)
        """,
        {S},
        "held-out (issue 22): a loop in a class's static method; a class cannot be read, and says so",
    ),
    _wrong(
        "produto_vetorizado_map",
        C,
        """
        def produto_vetorizado(A, B):
            return torch.stack(list(map(lambda a: B @ a, A)))
        """,
        {S},
        "map runs the lambda once per row: a Python loop",
    ),
    _wrong(
        "produto_vetorizado_partial",
        C,
        """
        import functools


        def _linhas(A, B):
            return torch.stack([B @ a for a in A])


        _produto = functools.partial(_linhas)


        def produto_vetorizado(A, B):
            return _produto(A, B)
        """,
        {S},
        "a loop behind functools.partial, which cannot be read, and says so",
    ),
    _wrong(
        "produto_vetorizado_altera_entradas",
        C,
        """
        def produto_vetorizado(A, B):
            B.add_(1)  # changes the caller's tensor
            return A @ B.T
        """,
        {V, S},
        "perturbs B in place and answers for the perturbed B",
    ),
    _wrong(
        "produto_vetorizado_pass",
        C,
        """
        def produto_vetorizado(A, B):
            pass
        """,
        {V, S},
        "a pass body",
    ),
    _right(
        "produto_vetorizado_inner",
        C,
        """
        def produto_vetorizado(A, B):
            return torch.inner(A, B)
        """,
        "torch.inner contracts the last dimensions: A·Bᵀ",
    ),
    _right(
        "produto_vetorizado_linear",
        C,
        """
        def produto_vetorizado(A, B):
            return F.linear(A, B)
        """,
        "F.linear(A, B) computes A·Bᵀ",
    ),
    _right(
        "produto_vetorizado_mm",
        C,
        """
        def produto_vetorizado(A, B):
            return torch.mm(A, B.t())
        """,
        "torch.mm",
    ),
    _right(
        "produto_vetorizado_einsum",
        C,
        """
        def produto_vetorizado(A, B):
            return torch.einsum('ik,jk->ij', A, B)
        """,
        "torch.einsum",
    ),
    _right(
        "produto_vetorizado_broadcasting",
        C,
        """
        def produto_vetorizado(A, B):
            return (A[:, None, :] * B[None, :, :]).sum(dim=-1)
        """,
        "broadcasting over a third dimension, then a sum",
    ),
    _right(
        "produto_vetorizado_matmul",
        C,
        """
        def produto_vetorizado(A, B):
            return torch.matmul(A, B.transpose(0, 1))
        """,
        "torch.matmul with an explicit transpose",
    ),
]

# --------------------------------------------------------------------------------------------------
# Problem set 2: update_c(C, A, B, n_iter=2)
C = "resposta_update_c"
V, P, M = "update_c_valores", "update_c_no_lugar", "update_c_memoria"
ANSWERS += [
    _wrong(
        "update_c_temporario",
        C,
        """
        def update_c(C, A, B, n_iter=2):
            D = torch.mm(A, B.t())
            for _ in range(n_iter):
                C[:] = D + C
        """,
        {M},
        "the source notebook's answer: D + C allocates a temporary of C's size at every iteration",
    ),
    _wrong(
        "update_c_sem_somar_c",
        C,
        """
        def update_c(C, A, B, n_iter=2):
            D = torch.mm(A, B.t())
            for _ in range(n_iter):
                C.copy_(D)
        """,
        {V, P, M},
        "forgets '+ C': overwrites C with A·Bᵀ",
    ),
    _wrong(
        "update_c_reatribui",
        C,
        """
        def update_c(C, A, B, n_iter=2):
            D = torch.mm(A, B.t())
            for _ in range(n_iter):
                C = C + D
            return C
        """,
        {V, P, M},
        "rebinds the local name C: the caller's tensor never changes",
    ),
    _wrong(
        "update_c_ignora_n_iter",
        C,
        """
        def update_c(C, A, B, n_iter=2):
            C.add_(torch.mm(A, B.t()))
        """,
        {V, P},
        "ignores n_iter and updates once (the memory cell measures one step, where that is right)",
    ),
    _wrong(
        "update_c_troca_data",
        C,
        """
        def update_c(C, A, B, n_iter=2):
            D = torch.mm(A, B.t())
            for _ in range(n_iter):
                C.data = C + D
        """,
        {P, M},
        "swaps C's storage through .data: right values, new memory every iteration",
    ),
    _wrong(
        "update_c_multiplica_n_iter",
        C,
        """
        def update_c(C, A, B, n_iter=2):
            D = torch.mm(A, B.t())
            C.add_(n_iter * D)
        """,
        {M},
        "n_iter * D is a second buffer of C's size while D is alive",
    ),
    _wrong(
        "update_c_transposta_errada",
        C,
        """
        def update_c(C, A, B, n_iter=2):
            D = torch.mm(A.t(), B)
            for _ in range(n_iter):
                C.add_(D)
        """,
        {V, P, M},
        "transposes the wrong matrix (Aᵀ·B)",
    ),
    _wrong(
        "update_c_torch_add",
        C,
        """
        def update_c(C, A, B, n_iter=2):
            D = torch.mm(A, B.t())
            for _ in range(n_iter):
                C.copy_(torch.add(C, D))
        """,
        {M},
        "torch.add(C, D) without out= is a new tensor of C's size, copied back at every iteration",
    ),
    _wrong(
        "update_c_guarda_c_inicial",
        C,
        """
        def update_c(C, A, B, n_iter=2):
            inicial = C.clone()
            D = torch.mm(A, B.t())
            C.copy_(inicial.add_(D, alpha=n_iter))
        """,
        {M},
        "keeps a clone of C beside the product: two buffers of C's size at once",
    ),
    _wrong(
        "update_c_temporario_numpy",
        C,
        """
        def update_c(C, A, B, n_iter=2):
            D = A @ B.T
            for _ in range(n_iter):
                C.copy_(torch.from_numpy(C.cpu().numpy() + D.cpu().numpy()).to(C.device))
        """,
        {M},
        "held-out (issue 22): the temporary D + C made by NumPy, which the PyTorch profiler does not see",
    ),
    _wrong(
        "update_c_altera_entradas",
        C,
        """
        def update_c(C, A, B, n_iter=2):
            A.mul_(2)  # changes the caller's tensor
            D = torch.mm(A, B.t())
            for _ in range(n_iter):
                C.add_(D)
        """,
        {V, P, M},
        "perturbs A in place and updates C with the perturbed A",
    ),
    _wrong(
        "update_c_pass",
        C,
        """
        def update_c(C, A, B, n_iter=2):
            pass
        """,
        {V, P, M},
        "a pass body: C never changes",
    ),
    _right(
        "update_c_transposta_contigua",
        C,
        """
        def update_c(C, A, B, n_iter=2):
            D = A @ B.t().contiguous()
            for _ in range(n_iter):
                C.add_(D)
        """,
        "a contiguous copy of Bᵀ is smaller than C: still one buffer of C's size",
    ),
    _right(
        "update_c_einsum",
        C,
        """
        def update_c(C, A, B, n_iter=2):
            D = torch.einsum('ik,jk->ij', A, B)
            for _ in range(n_iter):
                C += D
        """,
        "the product by einsum, then in-place sums",
    ),
    _right(
        "update_c_mais_igual",
        C,
        """
        def update_c(C, A, B, n_iter=2):
            D = A @ B.T
            for _ in range(n_iter):
                C += D
        """,
        "C += D in place",
    ),
    _right(
        "update_c_addmm",
        C,
        """
        def update_c(C, A, B, n_iter=2):
            for _ in range(n_iter):
                C.addmm_(A, B.t())
        """,
        "C.addmm_: no buffer at all",
    ),
    _right(
        "update_c_addmm_alpha",
        C,
        """
        def update_c(C, A, B, n_iter=2):
            C.addmm_(A, B.t(), alpha=n_iter)
        """,
        "one addmm_ with alpha=n_iter",
    ),
    _right(
        "update_c_add_out",
        C,
        """
        def update_c(C, A, B, n_iter=2):
            D = torch.mm(A, B.t())
            for _ in range(n_iter):
                torch.add(C, D, out=C)
        """,
        "torch.add with out=C",
    ),
    _right(
        "update_c_produto_a_cada_passo",
        C,
        """
        def update_c(C, A, B, n_iter=2):
            for _ in range(n_iter):
                C += A @ B.T
        """,
        "the product again at each step, one auxiliary tensor at a time (red team, round 3: measured over three "
        "steps it counted three)",
    ),
]

# --------------------------------------------------------------------------------------------------
# Problem set 2: distancias(X, Y), the expansion ||x||² - 2xᵀy + ||y||² with broadcasting
C = "resposta_distancias"
DV, DI, DS, DM = "distancias_valores", "distancias_pontos_iguais", "distancias_sem_laco", "distancias_memoria"
ANSWERS += [
    _wrong(
        "distancias_sem_clamp",
        C,
        """
        def distancias(X, Y):
            return ((X * X).sum(dim=1, keepdim=True) - 2 * X @ Y.T + (Y * Y).sum(dim=1)).sqrt()
        """,
        {DI},
        "no clamp before the square root: rounding makes some squared distances of equal points negative, nan",
    ),
    _wrong(
        "distancias_sem_raiz",
        C,
        """
        def distancias(X, Y):
            return ((X * X).sum(dim=1, keepdim=True) - 2 * X @ Y.T + (Y * Y).sum(dim=1)).clamp(min=0)
        """,
        {DV, DI, DS, DM},
        "returns the squared distances",
    ),
    _wrong(
        "distancias_sem_o_2",
        C,
        """
        def distancias(X, Y):
            return ((X * X).sum(dim=1, keepdim=True) - X @ Y.T + (Y * Y).sum(dim=1)).clamp(min=0).sqrt()
        """,
        {DV, DI, DS, DM},
        "forgets the factor 2 of the cross term",
    ),
    _wrong(
        "distancias_normas_trocadas",
        C,
        """
        def distancias(X, Y):
            sx, sy = (X * X).sum(dim=1), (Y * Y).sum(dim=1)
            return (sx[None, :] - 2 * X @ Y.T + sy[:, None]).clamp(min=0).sqrt()
        """,
        {DV, DI, DS, DM},
        "broadcasts the norms the wrong way round: ||x_j||² + ||y_i||² (or a shape error when n != m)",
    ),
    _wrong(
        "distancias_diferencas",
        C,
        """
        def distancias(X, Y):
            return (X[:, None, :] - Y[None, :, :]).norm(dim=2)
        """,
        {DM},
        "the first way: an (n, m, d) tensor of differences, d times the memory of the result",
    ),
    _wrong(
        "distancias_cdist",
        C,
        """
        def distancias(X, Y):
            return torch.cdist(X, Y)
        """,
        {DS},
        "torch.cdist does the exercise",
    ),
    _wrong(
        "distancias_cdist_importada",
        C,
        """
        from torch import cdist as _cdist


        def distancias(X, Y):
            return _cdist(X, Y)
        """,
        {DS},
        "torch.cdist imported under another name",
    ),
    _wrong(
        "distancias_cdist_getattr",
        C,
        """
        def distancias(X, Y):
            return getattr(torch, "cd" + "ist")(X, Y)
        """,
        {DS},
        "torch.cdist reached by getattr with a name put together",
    ),
    _wrong(
        "distancias_euclidean_dist",
        C,
        """
        def distancias(X, Y):
            return torch._euclidean_dist(X, Y)
        """,
        {DS},
        "torch._euclidean_dist, the internal function that does the expansion",
    ),
    _wrong(
        "distancias_cdist_ops",
        C,
        """
        def distancias(X, Y):
            return torch.ops.aten.cdist(X, Y)
        """,
        {DS},
        "torch.cdist through torch.ops.aten",
    ),
    _wrong(
        "distancias_laco",
        C,
        """
        def distancias(X, Y):
            return torch.stack([((x - Y) ** 2).sum(dim=1).sqrt() for x in X])
        """,
        {DS, DM},
        "one Python loop over the rows of X; in grading, the kept rows between the freed (m, d) temporaries leave "
        "n·m·d of freed memory resident (glibc cannot give it back), which the outside measure sees",
    ),
    _wrong(
        "distancias_cpu",
        C,
        """
        def distancias(X, Y):
            quadrados = (X * X).sum(dim=1, keepdim=True) - 2 * X @ Y.T + (Y * Y).sum(dim=1)
            return quadrados.clamp(min=0).sqrt().cpu()
        """,
        {DV},
        "moves the result to the CPU",
    ),
    _wrong(
        "distancias_altera_entradas",
        C,
        """
        def distancias(X, Y):
            X.mul_(2)  # changes the caller's tensor
            return ((X * X).sum(dim=1, keepdim=True) - 2 * X @ Y.T + (Y * Y).sum(dim=1)).clamp(min=0).sqrt()
        """,
        {DV, DI, DS, DM},
        "perturbs X in place and answers for the perturbed X",
    ),
    _wrong(
        "distancias_pass",
        C,
        """
        def distancias(X, Y):
            pass
        """,
        {DV, DI, DS, DM},
        "a pass body",
    ),
    _right(
        "distancias_addmm",
        C,
        """
        def distancias(X, Y):
            normas = X.pow(2).sum(-1).unsqueeze(1) + Y.pow(2).sum(-1).unsqueeze(0)
            return torch.addmm(normas, X, Y.T, alpha=-2).clamp_min(0).sqrt()
        """,
        "torch.addmm adds -2·X·Yᵀ to the broadcast norms",
    ),
    _right(
        "distancias_no_lugar",
        C,
        """
        def distancias(X, Y):
            D = X @ Y.T
            D.mul_(-2).add_((X * X).sum(dim=1)[:, None]).add_((Y * Y).sum(dim=1)[None, :])
            return D.clamp_(min=0).sqrt_()
        """,
        "every step in place on the product",
    ),
    _right(
        "distancias_einsum_relu",
        C,
        """
        def distancias(X, Y):
            xx = torch.einsum('id,id->i', X, X)
            yy = torch.einsum('jd,jd->j', Y, Y)
            return torch.relu(xx.view(-1, 1) - 2 * torch.einsum('id,jd->ij', X, Y) + yy.view(1, -1)).sqrt()
        """,
        "einsum for the norms and the product, relu instead of clamp",
    ),
    _right(
        "distancias_where",
        C,
        """
        def quadrados(X, Y):
            return (X ** 2).sum(1, keepdim=True) - 2 * X.mm(Y.t()) + (Y ** 2).sum(1, keepdim=True).t()


        def distancias(X, Y):
            q = quadrados(X, Y)
            return torch.where(q > 0, q, torch.zeros_like(q)).sqrt()
        """,
        "the squared distances in a helper, torch.where against the negatives",
    ),
    _right(
        "distancias_float64",
        C,
        """
        def distancias(X, Y):
            X64, Y64 = X.double(), Y.double()
            quadrados = (X64 * X64).sum(dim=1, keepdim=True) - 2 * (X64 @ Y64.T) + (Y64 * Y64).sum(dim=1)
            return torch.sqrt(torch.clamp(quadrados, min=0)).to(X.dtype)
        """,
        "computed in float64 for precision, back to X's dtype: temporaries twice the size of D (red team, round 3: "
        "over the 9x limit counted in pages touched)",
    ),
]

# --------------------------------------------------------------------------------------------------
# Problem set 3: derivada_logistica(x)
C = "resposta_derivada_logistica"
V, T, E, G = (
    "derivada_logistica_valores",
    "derivada_logistica_tipo",
    "derivada_logistica_extremos",
    "derivada_logistica_autograd",
)
ANSWERS += [
    _wrong(
        "derivada_logistica_retorna_sigma",
        C,
        """
        def derivada_logistica(x):
            x_t = torch.tensor(x, requires_grad=True)
            y = logistica(x_t)
            y.sum().backward()
            return y.detach().numpy()
        """,
        {V, T, E, G},
        "returns the logistic function itself instead of its derivative",
    ),
    _wrong(
        "derivada_logistica_tensor",
        C,
        """
        def derivada_logistica(x):
            x_t = torch.tensor(x, requires_grad=True)
            logistica(x_t).sum().backward()
            return x_t.grad
        """,
        {T, G},
        "returns a tensor instead of a NumPy array",
    ),
    _wrong(
        "derivada_logistica_formula_ingenua",
        C,
        """
        def derivada_logistica(x):
            x_t = torch.tensor(x, requires_grad=True)
            y = 1.0 / (1.0 + torch.exp(-x_t))
            y.backward(torch.ones_like(y))
            return x_t.grad.numpy()
        """,
        {E, G},
        "the source notebook's formula: the gradient is nan at x = -800 (0 * inf)",
    ),
    _wrong(
        "derivada_logistica_sem_autograd",
        C,
        """
        def derivada_logistica(x):
            s = 1 / (1 + np.exp(-x))
            return s * (1 - s)
        """,
        {G},
        "closed-form derivative in NumPy, no autograd",
    ),
    _wrong(
        "derivada_logistica_float32",
        C,
        """
        def derivada_logistica(x):
            x_t = torch.tensor(x, dtype=torch.float32, requires_grad=True)
            logistica(x_t).sum().backward()
            return x_t.grad.numpy()
        """,
        {V, T, G},
        "casts the input to float32: wrong dtype, and float64 inputs lose precision",
    ),
    _wrong(
        "derivada_logistica_formula_na_auxiliar",
        C,
        """
        def _derivada(x_t):
            s = logistica(x_t)
            return s * (1 - s)


        def derivada_logistica(x):
            return _derivada(torch.from_numpy(x)).numpy()
        """,
        {G},
        "the closed-form derivative, computed in a helper",
    ),
    _wrong(
        "derivada_logistica_autograd_de_fachada",
        C,
        """
        def derivada_logistica(x):
            modulo = torch.autograd  # mentions autograd, never calls it
            s = logistica(torch.from_numpy(x))
            return (s * (1 - s)).numpy()
        """,
        {G},
        "names torch.autograd without calling it; the derivative is the closed form",
    ),
    _wrong(
        "derivada_logistica_sigmoid_direto",
        C,
        """
        def derivada_logistica(x):
            x_t = torch.tensor(x, requires_grad=True)
            torch.sigmoid(x_t).sum().backward()  # the right function, but not the notebook's logistica
            return x_t.grad.numpy()
        """,
        {G},
        "differentiates torch.sigmoid instead of logistica: the derivative does not follow the swap",
    ),
    _wrong(
        "derivada_logistica_diferencas_finitas",
        C,
        """
        def derivada_logistica(x):
            x_t = torch.from_numpy(x)
            h = 1e-5
            return ((logistica(x_t + h) - logistica(x_t - h)) / (2 * h)).numpy()
        """,
        {V, T, E, G},
        "central finite differences of logistica: follows the swap, but only to about 1e-11 (1e-3 in float32)",
    ),
    _wrong(
        "derivada_logistica_altera_entradas",
        C,
        """
        def derivada_logistica(x):
            x *= 2  # changes the caller's array
            x_t = torch.tensor(x, requires_grad=True)
            logistica(x_t).sum().backward()
            return x_t.grad.numpy()
        """,
        {V, T, E, G},
        "perturbs x in place and answers for the perturbed x",
    ),
    _wrong(
        "derivada_logistica_pass",
        C,
        """
        def derivada_logistica(x):
            pass
        """,
        {V, T, E, G},
        "a pass body",
    ),
    _right(
        "derivada_logistica_torch_func",
        C,
        """
        def derivada_logistica(x):
            x_t = torch.from_numpy(x).reshape(-1)
            d = torch.func.vmap(torch.func.grad(logistica))(x_t)
            return d.reshape(x.shape).numpy()
        """,
        "torch.func.grad of logistica, vectorized with vmap",
    ),
    _right(
        "derivada_logistica_grad_and_value",
        C,
        """
        def derivada_logistica(x):
            inclinacao_e_valor = torch.func.grad_and_value(logistica)
            pontos = torch.as_tensor(x).flatten()
            inclinacoes = torch.func.vmap(inclinacao_e_valor)(pontos)[0]
            return inclinacoes.view(*x.shape).numpy()
        """,
        "review 3 (T3): vmap of grad_and_value is a correct use of autograd",
    ),
    _right(
        "derivada_logistica_backward_na_auxiliar",
        C,
        """
        def _gradiente(f, x_t):
            x_t = x_t.detach().requires_grad_(True)
            f(x_t).sum().backward()
            return x_t.grad


        def derivada_logistica(x):
            return _gradiente(logistica, torch.from_numpy(x)).numpy()
        """,
        "backward called in a helper",
    ),
    _right(
        "derivada_logistica_autograd_grad",
        C,
        """
        def derivada_logistica(x):
            x_t = torch.tensor(x, requires_grad=True)
            (d,) = torch.autograd.grad(logistica(x_t).sum(), x_t)
            return d.detach().cpu().numpy()
        """,
        "torch.autograd.grad of the summed sigmoid",
    ),
    _right(
        "derivada_logistica_copia",
        C,
        """
        def derivada_logistica(x):
            x_t = torch.from_numpy(x.copy()).requires_grad_(True)
            logistica(x_t).sum().backward()
            return x_t.grad.detach().numpy()
        """,
        "a copy of x as the leaf, .sum().backward()",
    ),
    _right(
        "derivada_logistica_uns",
        C,
        """
        def derivada_logistica(x):
            x_t = torch.from_numpy(x).clone().requires_grad_(True)
            y = logistica(x_t)
            y.backward(torch.ones_like(y))
            return x_t.grad.numpy()
        """,
        "backward with a vector of ones",
    ),
]

# --------------------------------------------------------------------------------------------------
# Problem set 3: regra_da_cadeia(x), with f_cadeia and g_cadeia given in a locked cell. The tests swap both
# for other functions; only regra_da_cadeia_detach swaps g for one that answers nan when it receives a u still
# attached to x's graph, so a missing detach costs that cell alone.
C = "resposta_regra_da_cadeia"
DX, DU, DZ, DT = (
    "regra_da_cadeia_du_dx",
    "regra_da_cadeia_dz_du",
    "regra_da_cadeia_dz_dx",
    "regra_da_cadeia_detach",
)
ANSWERS += [
    _wrong(
        "regra_da_cadeia_sem_produto",
        C,
        """
        def regra_da_cadeia(x):
            x = x.clone().requires_grad_(True)
            u = f_cadeia(x)
            u.backward(torch.ones_like(u))
            v = u.detach().requires_grad_(True)
            z = g_cadeia(v)
            z.backward(torch.ones_like(z))
            return x.grad, v.grad, v.grad
        """,
        {DZ},
        "the source notebook's mistake: dz/dx is reported as dz/du, never multiplied by du/dx",
    ),
    _wrong(
        "regra_da_cadeia_sem_detach",
        C,
        """
        def regra_da_cadeia(x):
            x1 = x.clone().requires_grad_(True)
            u1 = f_cadeia(x1)
            u1.backward(torch.ones_like(u1))
            du_dx = x1.grad
            x2 = x.clone().requires_grad_(True)
            z = g_cadeia(f_cadeia(x2))
            z.backward(torch.ones_like(z))
            dz_du = x2.grad  # without detach this is dz/dx, not dz/du
            return du_dx, dz_du, dz_du * du_dx
        """,
        {DU, DZ, DT},
        "no detach: the backward from z reaches x, so 'dz_du' is really dz/dx",
    ),
    _wrong(
        "regra_da_cadeia_u_ligado_autograd_grad",
        C,
        """
        def regra_da_cadeia(x):
            x = x.detach().clone().requires_grad_(True)
            u = f_cadeia(x)
            z = g_cadeia(u)
            (dz_du,) = torch.autograd.grad(z.sum(), u, retain_graph=True)
            (du_dx,) = torch.autograd.grad(u.sum(), x)
            return du_dx, dz_du, dz_du * du_dx
        """,
        {DT},
        "right numbers from torch.autograd.grad on an attached u: u is never cut from the graph",
    ),
    _wrong(
        "regra_da_cadeia_acumula",
        C,
        """
        def regra_da_cadeia(x):
            x = x.clone().requires_grad_(True)
            u = f_cadeia(x)
            u.backward(torch.ones_like(u), retain_graph=True)
            du_dx = x.grad
            v = u.detach().requires_grad_(True)
            z = g_cadeia(v)
            z.backward(torch.ones_like(z))
            dz_du = v.grad
            z_total = g_cadeia(u)
            z_total.backward(torch.ones_like(z_total))  # accumulates into x.grad, which du_dx also is
            return du_dx, dz_du, x.grad
        """,
        {DX, DZ, DT},
        "a second backward into x without zeroing: x.grad (and du_dx, the same tensor) accumulate",
    ),
    _wrong(
        "regra_da_cadeia_g_de_x",
        C,
        """
        def regra_da_cadeia(x):
            x = x.clone().requires_grad_(True)
            u = f_cadeia(x)
            u.backward(torch.ones_like(u))
            xd = x.detach().requires_grad_(True)
            z = g_cadeia(xd)
            z.backward(torch.ones_like(z))
            return x.grad, xd.grad, xd.grad * x.grad
        """,
        {DU, DZ, DT},
        "applies g to x instead of u",
    ),
    _wrong(
        "regra_da_cadeia_formulas_escritas",
        C,
        """
        def regra_da_cadeia(x):
            x = x.detach().clone().requires_grad_(True)
            u = 1 + x * x
            u.backward(torch.ones_like(u))
            v = u.detach().requires_grad_(True)
            z = 1 + 7 * v ** 4
            z.backward(torch.ones_like(z))
            return x.grad, v.grad, v.grad * x.grad
        """,
        {DX, DU, DZ, DT},
        "rewrites f and g instead of calling f_cadeia and g_cadeia: right here, wrong for any other f and g",
    ),
    _wrong(
        "regra_da_cadeia_dz_du_formula",
        C,
        """
        def regra_da_cadeia(x):
            x = x.detach().clone().requires_grad_(True)
            u = f_cadeia(x)
            u.backward(torch.ones_like(u))
            dz_du = 28 * u.detach() ** 3  # g'(u) written by hand, no autograd
            return x.grad, dz_du, dz_du * x.grad
        """,
        {DU, DZ, DT},
        "dz/du from the closed form 28u³ instead of autograd",
    ),
    _wrong(
        "regra_da_cadeia_du_dx_formula",
        C,
        """
        def regra_da_cadeia(x):
            du_dx = 2 * x
            u_desligado = f_cadeia(x).detach().requires_grad_(True)
            z = g_cadeia(u_desligado)
            z.sum().backward()
            return du_dx, u_desligado.grad, u_desligado.grad * du_dx
        """,
        {DX, DZ},
        "du/dx from the closed form 2x instead of autograd",
    ),
    _wrong(
        "regra_da_cadeia_dz_dx_direto",
        C,
        """
        def regra_da_cadeia(x):
            x = x.detach().clone().requires_grad_(True)
            u = f_cadeia(x)
            (du_dx,) = torch.autograd.grad(u.sum(), x)
            v = u.detach().requires_grad_(True)
            (dz_du,) = torch.autograd.grad(g_cadeia(v).sum(), v)
            x2 = x.detach().clone().requires_grad_(True)
            (dz_dx,) = torch.autograd.grad(g_cadeia(f_cadeia(x2)).sum(), x2)  # direct, not the product
            return du_dx, dz_du, dz_dx
        """,
        {DT},
        "dz/dx by autograd straight through g(f(x)) instead of the product of the two factors",
    ),
    _wrong(
        "regra_da_cadeia_cpu",
        C,
        """
        def regra_da_cadeia(x):
            x = x.detach().clone().requires_grad_(True)
            u = f_cadeia(x)
            u.sum().backward()
            v = u.detach().requires_grad_(True)
            g_cadeia(v).sum().backward()
            return x.grad.cpu(), v.grad.cpu(), (v.grad * x.grad).cpu()
        """,
        {DX},
        "moves the three results to the CPU",
    ),
    _wrong(
        "regra_da_cadeia_numpy",
        C,
        """
        def regra_da_cadeia(x):
            x = torch.tensor(x.tolist(), dtype=x.dtype, requires_grad=True)  # rebuilt on the CPU
            u = f_cadeia(x)
            u.sum().backward()
            v = u.detach().requires_grad_(True)
            g_cadeia(v).sum().backward()
            return x.grad, v.grad, v.grad * x.grad
        """,
        {DX},
        "rebuilds x from a Python list: always on the CPU (and .tolist() fails on other devices)",
    ),
    _wrong(
        "regra_da_cadeia_retain_grad",
        C,
        """
        def regra_da_cadeia(x):
            x = x.detach().clone().requires_grad_(True)
            u = f_cadeia(x)
            (du_dx,) = torch.autograd.grad(u.sum(), x, retain_graph=True)
            u.retain_grad()
            z = g_cadeia(u)
            z.backward(torch.ones_like(z))
            dz_du = u.grad.clone()
            return du_dx, dz_du, dz_du * du_dx
        """,
        {DT},
        "review 3 (T5): a valid chain rule with retain_grad and no detach loses the detach cell alone",
    ),
    _wrong(
        "regra_da_cadeia_func_grad_sem_detach",
        C,
        """
        def regra_da_cadeia(x):
            x = x.detach().clone().requires_grad_(True)
            u = f_cadeia(x)
            (du_dx,) = torch.autograd.grad(u.sum(), x, retain_graph=True)
            dz_du = torch.func.grad(lambda v: g_cadeia(v).sum())(u)  # u still attached to x's graph
            return du_dx, dz_du.detach(), (dz_du * du_dx).detach()
        """,
        {DT},
        "held-out (issue 22): torch.func.grad wraps u, which hid the missing detach from the old sentinel",
    ),
    _wrong(
        "regra_da_cadeia_altera_entradas",
        C,
        """
        def regra_da_cadeia(x):
            x.mul_(2)  # changes the caller's tensor
            x = x.detach().clone().requires_grad_(True)
            u = f_cadeia(x)
            u.sum().backward()
            v = u.detach().requires_grad_(True)
            g_cadeia(v).sum().backward()
            return x.grad, v.grad, v.grad * x.grad
        """,
        {DX, DU, DZ, DT},
        "perturbs x in place and answers for the perturbed x",
    ),
    _wrong(
        "regra_da_cadeia_pass",
        C,
        """
        def regra_da_cadeia(x):
            pass
        """,
        {DX, DU, DZ, DT},
        "a pass body",
    ),
    _right(
        "regra_da_cadeia_func_grad",
        C,
        """
        def regra_da_cadeia(x):
            derivada_f = torch.func.grad(lambda t: f_cadeia(t).sum())
            derivada_g = torch.func.grad(lambda v: g_cadeia(v).sum())
            u_desligado = f_cadeia(x).detach()
            du = derivada_f(x)
            dz = derivada_g(u_desligado)
            return du, dz, du * dz
        """,
        "torch.func.grad on the detached u",
    ),
    _right(
        "regra_da_cadeia_vmap",
        C,
        """
        def regra_da_cadeia(x):
            plano = x.detach().reshape(-1)
            du_dx = torch.func.vmap(torch.func.grad(f_cadeia))(plano)
            u = f_cadeia(plano).detach()
            dz_du = torch.func.vmap(torch.func.grad(g_cadeia))(u)
            return du_dx.reshape(x.shape), dz_du.reshape(x.shape), (dz_du * du_dx).reshape(x.shape)
        """,
        "vmap of torch.func.grad for both factors",
    ),
    _right(
        "regra_da_cadeia_sem_grafo",
        C,
        """
        def regra_da_cadeia(x):
            x = x.detach().clone().requires_grad_(True)
            u = f_cadeia(x)
            u.sum().backward()
            with torch.no_grad():
                u_novo = f_cadeia(x)  # recomputed without a graph: already cut from x
            u_novo.requires_grad_(True)
            g_cadeia(u_novo).sum().backward()
            return x.grad, u_novo.grad, u_novo.grad * x.grad
        """,
        "u recomputed under no_grad instead of detach",
    ),
    _right(
        "regra_da_cadeia_autograd_grad",
        C,
        """
        def regra_da_cadeia(x):
            x = x.detach().requires_grad_(True)
            u = f_cadeia(x)
            (du_dx,) = torch.autograd.grad(u.sum(), x)
            u_sep = u.detach().requires_grad_(True)
            z = g_cadeia(u_sep)
            (dz_du,) = torch.autograd.grad(z.sum(), u_sep)
            return du_dx, dz_du, dz_du * du_dx
        """,
        "torch.autograd.grad for both factors",
    ),
    _right(
        "regra_da_cadeia_soma",
        C,
        """
        def regra_da_cadeia(x):
            x = x.clone().requires_grad_(True)
            u = f_cadeia(x)
            u.sum().backward()
            u_sep = u.detach()
            u_sep.requires_grad_(True)
            z = g_cadeia(u_sep)
            z.sum().backward()
            du_dx, dz_du = x.grad, u_sep.grad
            return du_dx, dz_du, du_dx * dz_du
        """,
        ".sum().backward() for both factors",
    ),
    _right(
        "regra_da_cadeia_clone",
        C,
        """
        def regra_da_cadeia(x):
            folha = x.detach().clone().requires_grad_()
            u = f_cadeia(folha)
            u.backward(gradient=torch.ones_like(u))
            copia = u.detach().clone().requires_grad_()  # a real copy, also cut from the graph
            g_cadeia(copia).backward(gradient=torch.ones_like(u))
            return folha.grad, copia.grad, torch.mul(copia.grad, folha.grad)
        """,
        "u cut from the graph with detach().clone(), gradient= keyword",
    ),
]

# --------------------------------------------------------------------------------------------------
# Problem set 4: log_exp(x, y)
C = "resposta_log_exp"
V, G = "log_exp_valores", "log_exp_gradientes"
ANSWERS += [
    _wrong(
        "log_exp_sem_sinal",
        C,
        """
        def log_exp(x, y):
            return torch.log(torch.exp(x) / (torch.exp(x) + torch.exp(y)))
        """,
        {V, G},
        "forgets the minus sign",
    ),
    _wrong(
        "log_exp_trocado",
        C,
        """
        def log_exp(x, y):
            return -torch.log(torch.exp(y) / (torch.exp(x) + torch.exp(y)))
        """,
        {V, G},
        "uses e^y in the numerator",
    ),
    _wrong(
        "log_exp_math",
        C,
        """
        import math

        def log_exp(x, y):
            return -math.log(math.exp(x) / (math.exp(x) + math.exp(y)))
        """,
        {V, G},
        "uses the math module: returns a float, breaks the graph and fails on vectors",
    ),
    _wrong(
        "log_exp_detach",
        C,
        """
        def log_exp(x, y):
            return (-torch.log(torch.exp(x) / (torch.exp(x) + torch.exp(y)))).detach()
        """,
        {G},
        "detaches the result, so autograd cannot differentiate it",
    ),
    _wrong(
        "log_exp_produto",
        C,
        """
        def log_exp(x, y):
            return -torch.log(torch.exp(x) / (torch.exp(x) * torch.exp(y)))
        """,
        {V, G},
        "multiplies e^x and e^y in the denominator",
    ),
    _wrong(
        "log_exp_cpu",
        C,
        """
        def log_exp(x, y):
            x, y = x.cpu(), y.cpu()
            return -torch.log(torch.exp(x) / (torch.exp(x) + torch.exp(y)))
        """,
        {V},
        "moves the inputs to the CPU: the result is not on their device",
    ),
    _wrong(
        "log_exp_uns_padrao",
        C,
        """
        def log_exp(x, y):
            um = torch.ones(x.shape, dtype=x.dtype)  # default device
            return torch.log(um + torch.exp(y - x))
        """,
        {V},
        "mixes in a tensor created on the default device",
    ),
    _wrong(
        "log_exp_altera_entradas",
        C,
        """
        def log_exp(x, y):
            with torch.no_grad():
                x.add_(1)  # changes the caller's tensor
            return -torch.log(torch.exp(x) / (torch.exp(x) + torch.exp(y)))
        """,
        {V, G},
        "perturbs x in place and answers for the perturbed x",
    ),
    _wrong(
        "log_exp_pass",
        C,
        """
        def log_exp(x, y):
            pass
        """,
        {V, G},
        "a pass body",
    ),
    _right(
        "log_exp_log_da_soma",
        C,
        """
        def log_exp(x, y):
            return torch.log(torch.exp(x) + torch.exp(y)) - x
        """,
        "log(e^x + e^y) - x",
    ),
    _right(
        "log_exp_softplus",
        C,
        """
        def log_exp(x, y):
            return F.softplus(y - x)
        """,
        "already the stable form",
    ),
    _right(
        "log_exp_softmax",
        C,
        """
        def log_exp(x, y):
            return -torch.log(torch.softmax(torch.stack([x, y]), dim=0)[0])
        """,
        "minus the log of a two-class softmax",
    ),
]

# --------------------------------------------------------------------------------------------------
# Problem set 4: stable_log_exp(x, y)
C = "resposta_stable_log_exp"
V, E, G = "stable_log_exp_valores", "stable_log_exp_estavel", "stable_log_exp_gradientes"
ANSWERS += [
    _wrong(
        "stable_log_exp_log_1_mais_exp",
        C,
        """
        def stable_log_exp(x, y):
            return torch.log(1 + torch.exp(y - x))
        """,
        {E, G},
        "the source notebook's 'stable' form: exp(y - x) overflows (inf in float32 at 400/800)",
    ),
    _wrong(
        "stable_log_exp_log1p",
        C,
        """
        def stable_log_exp(x, y):
            return torch.log1p(torch.exp(y - x))
        """,
        {E, G},
        "log1p does not help: exp(y - x) still overflows",
    ),
    _wrong(
        "stable_log_exp_sinal_trocado",
        C,
        """
        def stable_log_exp(x, y):
            return F.softplus(x - y)
        """,
        {V, E, G},
        "sign error: softplus(x - y)",
    ),
    _wrong(
        "stable_log_exp_so_y_maior",
        C,
        """
        def stable_log_exp(x, y):
            return (y - x) + torch.log1p(torch.exp(x - y))
        """,
        {E, G},
        "stable only when y > x: exp(x - y) overflows for x much larger than y",
    ),
    _wrong(
        "stable_log_exp_clamp",
        C,
        """
        def stable_log_exp(x, y):
            return torch.log(1 + torch.exp(torch.clamp(y - x, max=50)))
        """,
        {E, G},
        "clamps the exponent: finite, but wrong for large y - x",
    ),
    _wrong(
        "stable_log_exp_where",
        C,
        """
        def stable_log_exp(x, y):
            return torch.where(y > x, (y - x) + torch.log1p(torch.exp(x - y)), torch.log1p(torch.exp(y - x)))
        """,
        {G},
        "torch.where picks a finite value, but the unused branch overflows and its gradient is nan",
    ),
    _wrong(
        "stable_log_exp_sem_menos_x",
        C,
        """
        def stable_log_exp(x, y):
            return torch.logaddexp(x, y)
        """,
        {V, E, G},
        "forgets to subtract x",
    ),
    _wrong(
        "stable_log_exp_max_python",
        C,
        """
        def stable_log_exp(x, y):
            m = max(x, y)
            return m - x + torch.log(torch.exp(x - m) + torch.exp(y - m))
        """,
        {V, E, G},
        "Python's max on tensors: works for one element, fails on vectors",
    ),
    _wrong(
        "stable_log_exp_altera_entradas",
        C,
        """
        def stable_log_exp(x, y):
            with torch.no_grad():
                y.mul_(2)  # changes the caller's tensor
            return F.softplus(y - x)
        """,
        {V, E, G},
        "perturbs y in place and answers for the perturbed y",
    ),
    _wrong(
        "stable_log_exp_pass",
        C,
        """
        def stable_log_exp(x, y):
            pass
        """,
        {V, E, G},
        "a pass body",
    ),
    _right(
        "stable_log_exp_maximo_log1p",
        C,
        """
        def stable_log_exp(x, y):
            m = torch.maximum(x, y)  # at a tie, torch.maximum sends half the gradient to each input
            return (m - x) + torch.log1p(torch.exp(-torch.abs(x - y)))
        """,
        "the max trick with log1p for relative accuracy",
    ),
    _right(
        "stable_log_exp_softplus",
        C,
        """
        def stable_log_exp(x, y):
            return F.softplus(y - x)
        """,
        "softplus(y - x)",
    ),
    _right(
        "stable_log_exp_logaddexp",
        C,
        """
        def stable_log_exp(x, y):
            return torch.logaddexp(x, y) - x
        """,
        "logaddexp(x, y) - x",
    ),
    _right(
        "stable_log_exp_logsumexp",
        C,
        """
        def stable_log_exp(x, y):
            return torch.logsumexp(torch.stack([x, y]), dim=0) - x
        """,
        "logsumexp over a stacked pair",
    ),
    _right(
        "stable_log_exp_max_destacado",
        C,
        """
        def stable_log_exp(x, y):
            m = torch.maximum(x, y).detach()
            return m - x + torch.log(torch.exp(x - m) + torch.exp(y - m))
        """,
        "the max trick with a detached maximum",
    ),
    _wrong(
        "stable_log_exp_softplus_manual",
        C,
        """
        def stable_log_exp(x, y):
            t = y - x
            return torch.clamp(t, min=0) + torch.log1p(torch.exp(-torch.abs(t)))
        """,
        {G},
        "softplus by hand with clamp and abs: stable, but at x == y the gradients are (-1, +1), not (-1/2, +1/2)",
    ),
    _wrong(
        "stable_log_exp_softplus_relu",
        C,
        """
        def stable_log_exp(x, y):
            t = y - x
            return torch.relu(t) + torch.log1p(torch.exp(-t.abs()))
        """,
        {G},
        "softplus by hand with relu (no clamp): at x == y both gradients are 0",
    ),
    _wrong(
        "stable_log_exp_cpu",
        C,
        """
        def stable_log_exp(x, y):
            return F.softplus((y - x).cpu())
        """,
        {V},
        "stable, but the result is moved to the CPU",
    ),
    _wrong(
        "stable_log_exp_zeros_padrao",
        C,
        """
        def stable_log_exp(x, y):
            zero = torch.zeros(x.shape, dtype=x.dtype)  # default device
            return torch.logaddexp(zero, y - x)
        """,
        {V},
        "mixes in a tensor created on the default device",
    ),
    _right(
        "stable_log_exp_where_log1p",
        C,
        """
        def stable_log_exp(x, y):
            t = y - x
            positiva = t > 0
            seguro = torch.where(positiva, -t, t)  # always <= 0: exp never overflows, in either branch
            return torch.where(positiva, t, torch.zeros_like(t)) + torch.log1p(torch.exp(seguro))
        """,
        "max(t, 0) + log1p(exp(-|t|)) with torch.where: at the tie the log1p branch gives 1/2",
    ),
]

_names = [a.name for a in ANSWERS]
assert len(_names) == len(set(_names)), "duplicate answer names"
