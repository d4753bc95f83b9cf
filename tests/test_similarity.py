"""The similarity report on a synthetic class with planted copies, built as autograded notebooks (no kernels).

Honest students answer with the catalogue's right answers (written independently of each other), chosen by name,
and with answers written for this test; copiers take someone's answer and copy it whole, rename its variables,
reorder statements whose order does not matter, or change its comments and blank lines; one copies from an earlier
semester. Precision and recall are computed on the planted pairs and asserted."""

from __future__ import annotations

import copy
import io
import json
import re
import shutil
import tokenize
import zipfile
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from textwrap import dedent

import nbformat
import pytest

from grader import cli
from grader.config import load_settings
from grader.grading import similarity
from grader.model import StudentResult
from grader.nbmeta import nbgrader_meta
from grader.report import write_reports
from grader.report.cells import GradeCellInfo
from tests.catalogue import diferenciacao_automatica, grafo_computacional, programacao_diferenciavel
from tests.helpers import REPO, course_config

A = "programacao_diferenciavel"
OLD = "2023-2"


def code(text: str) -> str:
    return dedent(text).strip() + "\n"


def right_answers(module) -> dict[str, list[str]]:
    """grade_id -> the catalogue's right answers, in its order."""
    answers: dict[str, list[str]] = {}
    for answer in module.ANSWERS:
        if answer.is_right:
            answers.setdefault(answer.cell, []).append(answer.code)
    return answers


CATALOGUE = {answer.name: answer for answer in programacao_diferenciavel.ANSWERS}

# The honest students 1000-1003, one column each: the catalogue's right answers by name (not by position: the
# catalogue grows and reorders), different solutions written independently of each other. In the exercises of
# COMPARED they are long enough to be compared, so that "independent answers not flagged" is checked, not vacuous.
# None: an answer written in this file (HONEST_OWN), because a copy of it is written here by hand; a shorter row:
# the last students left the exercise as the release gave it.
HONEST = {
    "resposta_linhas_positivas": ("linhas_positivas_mascara_explicita", "linhas_positivas_compress"),
    "resposta_juntar_atributos": (
        "juntar_atributos_dim_menos1",
        "juntar_atributos_hstack",
        "juntar_atributos_column_stack",
    ),
    "resposta_A_B": ("A_B_gerador", "A_B_normal_no_lugar", None, "A_B_randn_like"),
    "resposta_produto_com_laco": (
        "produto_com_laco_while",
        "produto_com_laco_mv",
        "produto_com_laco_stack",
        "produto_com_laco_auxiliar_sem_laco",
    ),
    "resposta_produto_vetorizado": (
        "produto_vetorizado_mm",
        "produto_vetorizado_einsum",
        "produto_vetorizado_broadcasting",
        "produto_vetorizado_matmul",
    ),
    "resposta_update_c": (
        "update_c_transposta_contigua",
        "update_c_einsum",
        "update_c_mais_igual",
        "update_c_add_out",
    ),
    "resposta_derivada_logistica": (
        "derivada_logistica_autograd_grad",
        "derivada_logistica_copia",
        "derivada_logistica_uns",
        "derivada_logistica_backward_na_auxiliar",
    ),
    "resposta_regra_da_cadeia": (
        "regra_da_cadeia_autograd_grad",
        "regra_da_cadeia_soma",
        "regra_da_cadeia_clone",
    ),
    "resposta_log_exp": ("log_exp_log_da_soma", "log_exp_softplus", "log_exp_softmax"),
    "resposta_stable_log_exp": (
        "stable_log_exp_softplus",
        "stable_log_exp_logaddexp",
        "stable_log_exp_where_log1p",
        "stable_log_exp_max_destacado",
    ),
}
HONEST_OWN = {  # (student, grade_id) -> an honest answer written here: 2003 reorders it (REORDERED)
    ("1002", "resposta_A_B"): code("""
        A = torch.normal(0.0, 1.0, size=(128, 256), device=device)
        B = torch.normal(0.0, 1.0, size=(128, 256), device=device)
        """),
}
# Exercises where at least three answers written independently of each other are long enough to be compared.
COMPARED = (
    "resposta_A_B",
    "resposta_produto_com_laco",
    "resposta_update_c",
    "resposta_derivada_logistica",
    "resposta_regra_da_cadeia",
    "resposta_stable_log_exp",
)


def honest_answer(grade_id: str, name: str) -> str:
    """The catalogue's right answer `name` to `grade_id`."""
    answer = CATALOGUE.get(name)
    assert answer is not None, f"{name}: not in the catalogue any more; choose another of its right answers"
    assert answer.cell == grade_id and answer.is_right, f"{name}: not a right answer to {grade_id}"
    return answer.code


# Answers written for this test, independently of the catalogue: an honest student's and an earlier semester's.
OWN = {
    "resposta_stable_log_exp": code("""
        def stable_log_exp(x, y):
            m = torch.maximum(x, y)
            a = torch.exp(x - m)
            b = torch.exp(y - m)
            soma = a + b
            return m + torch.log(soma) - x
        """),
    "resposta_regra_da_cadeia": code("""
        def regra_da_cadeia(x):
            x = x.detach().clone().requires_grad_(True)
            u = 1 + x ** 2
            du_dx = torch.autograd.grad(u, x, grad_outputs=torch.ones_like(u))[0]
            u_destacado = u.detach().requires_grad_(True)
            z = 1 + 7 * u_destacado ** 4
            dz_du = torch.autograd.grad(z, u_destacado, grad_outputs=torch.ones_like(z))[0]
            dz_dx = dz_du * du_dx
            return du_dx, dz_du, dz_dx
        """),
    "resposta_produto_com_laco": code("""
        def produto_com_laco(A, B):
            n, m = A.shape[0], B.shape[0]
            C = torch.empty((n, m), dtype=A.dtype, device=A.device)
            for i in range(n):
                C[i, :] = (B * A[i]).sum(dim=1)
            return C
        """),
}
# ... the same, statements reordered where order does not matter
REORDERED = {
    "resposta_stable_log_exp": code("""
        def stable_log_exp(x, y):
            m = torch.maximum(x, y)
            b = torch.exp(y - m)
            a = torch.exp(x - m)
            soma = b + a
            return torch.log(soma) + m - x
        """),
    "resposta_regra_da_cadeia": code("""
        def regra_da_cadeia(x):
            x = x.detach().clone().requires_grad_(True)
            u = 1 + x ** 2
            u_destacado = u.detach().requires_grad_(True)
            z = 1 + 7 * u_destacado ** 4
            dz_du = torch.autograd.grad(z, u_destacado, grad_outputs=torch.ones_like(z))[0]
            du_dx = torch.autograd.grad(u, x, grad_outputs=torch.ones_like(u))[0]
            dz_dx = du_dx * dz_du
            return du_dx, dz_du, dz_dx
        """),
    "resposta_A_B": code("""
        B = torch.normal(0.0, 1.0, size=(128, 256), device=device)
        A = torch.normal(0.0, 1.0, size=(128, 256), device=device)
        """),  # 1002's (HONEST_OWN)
}
PREVIOUS = {
    "resposta_produto_com_laco": code("""
        def produto_com_laco(A, B):
            resultado = torch.zeros(A.shape[0], B.shape[0], dtype=A.dtype, device=A.device)
            for linha in range(A.shape[0]):
                resultado[linha] = B @ A[linha]
            return resultado
        """),
    "resposta_derivada_logistica": code("""
        def derivada_logistica(x):
            tipo = torch.float64 if x.dtype == np.float64 else torch.float32
            tensor = torch.tensor(x, dtype=tipo, requires_grad=True)
            saida = 1 / (1 + torch.exp(-tensor))
            saida.backward(gradient=torch.ones_like(saida))
            return tensor.grad.numpy().astype(x.dtype)
        """),
    "resposta_stable_log_exp": code("""
        def stable_log_exp(x, y):
            d = y - x
            positivo = torch.relu(d)
            return positivo + torch.log(1 + torch.exp(-torch.abs(d)))
        """),
}
WRITTEN = [  # three independent answers to the written question (resposta_comparacao_tempo)
    "A versão vetorizada é muito mais rápida porque a multiplicação de matrizes roda em código compilado e "
    "otimizado (BLAS), enquanto o laço em Python paga o custo do interpretador a cada linha de A. Para matrizes "
    "grandes a diferença passa de cem vezes.",
    "O produto_vetorizado ganha com folga: ele faz uma única chamada ao PyTorch, que usa todos os núcleos e "
    "instruções SIMD. O laço chama o PyTorch uma vez por linha, e cada chamada tem uma sobrecarga fixa que "
    "domina quando as linhas são curtas.",
    "Medi com o benchmark: o laço levou cerca de 40 ms e a versão sem laço menos de 1 ms. A diferença vem do "
    "interpretador Python, que executa cada iteração separadamente, e do paralelismo que a operação matricial "
    "aproveita.",
]
RENAMES = {
    "X": "entrada",
    "x": "valores",
    "x_t": "xt",
    "g": "gerador",
    "C": "saida",
    "i": "k",
    "a": "linha",
    "y": "alvo",
    "u": "interno",
    "u_sep": "u_livre",
    "z": "externo",
    "du_dx": "derivada_u",
    "dz_du": "derivada_z",
    "t": "dif",
    "D": "produto",
    "mascara": "filtro",
    "linhas": "resultado",
    "resultado": "saida",
    "linha": "j",
    "m": "maximo",
    "d": "delta",
    "positivo": "parte",
}


def rename(text: str, keep: frozenset[str] = frozenset()) -> str:
    """The answer with its variables and parameters renamed (Python's tokenize, not the module's lexer): not
    attributes, not keyword arguments."""
    tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    lines = text.splitlines(keepends=True)
    depth, edits = 0, []
    for n, tok in enumerate(tokens):
        if tok.type == tokenize.OP and tok.string in "([{":
            depth += 1
        elif tok.type == tokenize.OP and tok.string in ")]}":
            depth -= 1
        elif tok.type == tokenize.NAME and tok.string in RENAMES and tok.string not in keep:
            after = tokens[n + 1].string if n + 1 < len(tokens) else ""
            if tokens[n - 1].string != "." and not (depth and after == "="):
                edits.append((tok.start, tok.end, RENAMES[tok.string]))
    for (row, start), (_, end), new in reversed(edits):
        lines[row - 1] = lines[row - 1][:start] + new + lines[row - 1][end:]
    return "".join(lines)


def recomment(text: str) -> str:
    """The answer with its comments removed, others added, and blank lines in between."""
    out = []
    for n, line in enumerate(text.splitlines()):
        line = re.sub(r"\s+#.*$", "", line)
        indent = line[: len(line) - len(line.lstrip())]
        if n:
            out += ["", f"{indent}# passo {n}: veja a aula"]
        out.append(line + ("  # resultado" if "return" in line else ""))
    return "\n".join(out) + "\n"


@dataclass
class Student:
    id: str
    answers: dict[str, tuple[str, str]] = field(default_factory=dict)  # grade_id -> (text, who wrote it)
    corpus: str = ""  # an earlier semester
    name: str = ""

    def take(self, grade_id: str, text: str, origin: str) -> None:
        self.answers[grade_id] = (text, origin)


def planted_class() -> list[Student]:
    honest = [
        Student(f"100{n}", name=name) for n, name in enumerate(["Ana Araújo", "Bruno", "Cecília", "Davi"])
    ]
    for n, student in enumerate(honest):
        for grade_id, names in HONEST.items():
            if n < len(names):
                text = (
                    HONEST_OWN[student.id, grade_id]
                    if names[n] is None
                    else honest_answer(grade_id, names[n])
                )
                student.take(grade_id, text, f"{student.id}/{grade_id}")
        if n < len(WRITTEN):
            student.take("resposta_comparacao_tempo", WRITTEN[n], f"{student.id}/escrita")
    own = Student("1004", name="Érica")
    for grade_id, text in OWN.items():
        own.take(grade_id, text, f"1004/{grade_id}")
    identical = Student("2001", name="Fábio")  # the whole notebook of 1000
    identical.answers = dict(honest[0].answers)
    renamed = Student("2002")  # every answer of 1001, variables renamed
    for grade_id, (text, origin) in honest[1].answers.items():
        keep = frozenset({"A", "B"}) if grade_id == "resposta_A_B" else frozenset()  # what the exercise names
        renamed.take(
            grade_id, rename(text, keep) if grade_id != "resposta_comparacao_tempo" else text, origin
        )
    reordered = Student("2003")  # two answers of 1004 and one of 1002, statements reordered
    for grade_id in ("resposta_stable_log_exp", "resposta_regra_da_cadeia"):
        reordered.take(grade_id, REORDERED[grade_id], own.answers[grade_id][1])
    reordered.take("resposta_A_B", REORDERED["resposta_A_B"], honest[2].answers["resposta_A_B"][1])
    commented = Student("2004")  # every answer of 1003, comments and blank lines changed
    for grade_id, (text, origin) in honest[3].answers.items():
        commented.take(grade_id, recomment(text), origin)
    old = Student("9001", corpus=OLD, name="Gil")
    for grade_id, text in PREVIOUS.items():
        old.take(grade_id, text, f"{OLD}/9001/{grade_id}")
    old_copy = Student("9002", corpus=OLD, answers=dict(old.answers))  # a copy inside the old corpus
    old_self = Student("1004", corpus=OLD, answers=dict(own.answers))  # 1004's own earlier submission
    from_old = Student("2005")
    from_old.take(
        "resposta_produto_com_laco",
        rename(PREVIOUS["resposta_produto_com_laco"]),
        old.answers["resposta_produto_com_laco"][1],
    )
    from_old.take("resposta_derivada_logistica", *old.answers["resposta_derivada_logistica"])
    from_old.take(
        "resposta_stable_log_exp",
        recomment(PREVIOUS["resposta_stable_log_exp"]),
        old.answers["resposta_stable_log_exp"][1],
    )
    blank = [Student("3001"), Student("3002")]  # the release as it came: boilerplate only
    return [*honest, own, identical, renamed, reordered, commented, from_old, *blank, old, old_copy, old_self]


def write_notebook(folder, release, student: Student) -> None:
    nb = copy.deepcopy(release)
    for cell in nb.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id in student.answers:
            cell.source = student.answers[grade_id][0]
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / f"{A}.ipynb")
    first, _, last = student.name.partition(" ")
    StudentResult(student.id, A, first_name=first, last_name=last).save(folder)


def make_course(tmp_path, assignments=(A,)):
    course = tmp_path / "curso"
    for assignment in assignments:
        for part in ("source", "release"):
            shutil.copytree(REPO / part / assignment, course / part / assignment)
    (course / "grader_config.py").write_text(course_config(list(assignments)))
    return load_settings(course)


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """The class in autograded/, the earlier semester in a zip; the report and the class."""
    tmp_path = tmp_path_factory.mktemp("similaridade")
    settings = make_course(tmp_path)
    release = nbformat.read(settings.release_dir / A / f"{A}.ipynb", as_version=4)
    students = planted_class()
    old_folder = tmp_path / OLD / "autograded"
    for student in students:
        root = old_folder if student.corpus else settings.autograded_dir
        write_notebook(root / student.id / A, release, student)
    archive = tmp_path / f"{OLD}.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in old_folder.rglob("*"):
            zipped.write(path, path.relative_to(old_folder.parent))
    report = similarity.similarity_report(settings, A, tmp_path / "reports", [archive])
    return settings, students, report, archive, tmp_path


def planted_pairs(students: list[Student], release) -> set[tuple]:
    """(exercise, one student, the other) for two answers with one author, long enough to be compared, not both
    from the earlier semester, not one student's own two submissions."""
    given = {nbgrader_meta(c).get("grade_id"): c for c in release.cells}
    pairs = set()
    for i, first in enumerate(students):
        for second in students[i + 1 :]:
            if (first.corpus and second.corpus) or first.id == second.id:
                continue
            for grade_id, (text, origin) in first.answers.items():
                other = second.answers.get(grade_id)
                if other is None or other[1] != origin:
                    continue
                cell = given[grade_id]
                if all(
                    similarity.own_tokens(t, cell.source, cell.cell_type == "code") >= similarity.MIN_TOKENS
                    for t in (text, other[0])
                ):
                    pairs.add(key(grade_id, first, second))
    return pairs


def key(grade_id: str, *sides) -> tuple:
    return (grade_id, *sorted(f"{s.corpus}/{s.id}" if s.corpus else s.id for s in sides))


def reported(data: dict) -> set[tuple]:
    found = set()
    for pair in data["pairs"]:
        sides = [
            Student(side["student_id"], corpus=side["previous"] or "") for side in (pair["a"], pair["b"])
        ]
        found.add(key(pair["exercise"], *sides))
    return found


def test_planted_copies_found_and_independent_answers_not(planted):
    settings, students, report, _, _ = planted
    release = nbformat.read(settings.release_dir / A / f"{A}.ipynb", as_version=4)
    expected = planted_pairs(students, release)
    found = reported(json.loads(report.json_path.read_text(encoding="utf-8")))
    # Answers written independently of each other are compared in these exercises: not flagging them means something.
    given = {nbgrader_meta(c).get("grade_id"): c.source for c in release.cells}
    for grade_id in COMPARED:
        written = {
            origin
            for student in students
            for g, (text, origin) in student.answers.items()
            if g == grade_id and similarity.own_tokens(text, given[g], True) >= similarity.MIN_TOKENS
        }
        assert len(written) >= 3, (
            f"{grade_id}: fewer than three independent answers long enough to be compared"
        )
    hits = expected & found
    precision, recall = len(hits) / len(found), len(hits) / len(expected)
    print(
        f"\nturma plantada: {len(expected)} cópias plantadas, {len(found)} pares relatados, "
        f"precisão {precision:.2f}, revocação {recall:.2f}"
    )
    honest = {"1000", "1001", "1002", "1003", "1004"}
    assert not any(set(pair[1:]) <= honest for pair in found), "independent right answers flagged"
    assert not found - expected, "independent answers flagged"
    assert not expected - found, "planted copies missed"
    assert (precision, recall) == (1.0, 1.0)
    # Every kind of copy is among them.
    kinds = {
        "idêntica": ("resposta_regra_da_cadeia", "1000", "2001"),
        "resposta escrita idêntica": ("resposta_comparacao_tempo", "1000", "2001"),
        "variáveis renomeadas": ("resposta_derivada_logistica", "1001", "2002"),
        "comandos reordenados": ("resposta_stable_log_exp", "1004", "2003"),
        "ordem de A e B": ("resposta_A_B", "1002", "2003"),
        "comentários e linhas em branco": ("resposta_update_c", "1003", "2004"),
        "de um semestre anterior": ("resposta_produto_com_laco", "2005", f"{OLD}/9001"),
        "da cópia do semestre anterior": ("resposta_derivada_logistica", "2005", f"{OLD}/9002"),
    }
    for kind, pair in kinds.items():
        assert pair in found, kind
    assert not any("3001" in pair or "3002" in pair for pair in found), "the release's text made a pair"
    assert not any(f"{OLD}/9001" in pair and f"{OLD}/9002" in pair for pair in found), (
        "a pair inside the old corpus"
    )
    assert ("resposta_stable_log_exp", "1004", f"{OLD}/1004") not in found, "one's own earlier submission"
    # Identical short answers (one line everybody writes) are not compared on their own.
    assert not any(pair[0] == "resposta_juntar_atributos" for pair in found)


def test_json_shape(planted):
    _, students, report, _, _ = planted
    data = json.loads(report.json_path.read_text(encoding="utf-8"))
    assert data["assignment"] == A and data["threshold"] == similarity.THRESHOLD
    assert data["students"] == 12 and data["previous"] == [{"label": OLD, "students": 3}]
    scores = [pair["score"] for pair in data["pairs"]]
    assert scores == sorted(scores, reverse=True)
    for pair in data["pairs"]:
        assert set(pair) == {"exercise", "notebook", "score", "a", "b"} and pair["notebook"] == A
        assert 0 < pair["score"] <= 1 and pair["score"] >= similarity.THRESHOLD
        assert pair["score"] == max(pair["a"]["similarity"], pair["b"]["similarity"])
        assert pair["a"]["previous"] is None  # this class first
        for side in (pair["a"], pair["b"]):
            assert set(side) == {"student_id", "previous", "similarity", "lines"} and side["lines"]
            for first, last in side["lines"]:
                assert 1 <= first <= last
    identical = next(
        p
        for p in data["pairs"]
        if p["exercise"] == "resposta_regra_da_cadeia"
        and {p["a"]["student_id"], p["b"]["student_id"]} == {"1000", "2001"}
    )
    assert identical["score"] == 1.0 and identical["a"]["lines"] == identical["b"]["lines"]
    commented = next(
        p
        for p in data["pairs"]
        if p["exercise"] == "resposta_update_c"
        and {p["a"]["student_id"], p["b"]["student_id"]} == {"1003", "2004"}
    )
    assert commented["score"] == 1.0
    # The copy's code lines are matched, its comments and blank lines are not.
    copy_lines = next(s for s in students if s.id == "2004").answers["resposta_update_c"][0].splitlines()
    side = commented["a"] if commented["a"]["student_id"] == "2004" else commented["b"]
    matched = {n for first, last in side["lines"] for n in range(first, last + 1)}
    signature = "def update_c(C, A, B, n_iter=2):"  # the release's line
    assert matched == {
        n
        for n, line in enumerate(copy_lines, 1)
        if line.strip() and "# passo" not in line and line != signature
    }


def test_same_result_every_run(planted):
    """The k-gram hash is fixed: the same class gives the same report in another process."""
    settings, _, report, archive, tmp_path = planted
    again = similarity.similarity_report(settings, A, tmp_path / "de_novo", [archive])
    first = json.loads(report.json_path.read_text(encoding="utf-8"))
    second = json.loads(again.json_path.read_text(encoding="utf-8"))
    assert first["pairs"] == second["pairs"]
    assert similarity.kgram_hashes("V=torch.exp(V)", 5).tolist()[:2] == [
        -7496310426423940360,
        -7443370378485531095,
    ]
    assert len(similarity.kgram_hashes("a\ud800b" * 3, 5)) == 5  # a lone surrogate in a notebook's JSON


def test_warm_up_during_grading_leaves_the_report_as_it_was(planted, monkeypatch):
    """`grader grade` lexes each student's answers as they are recorded (similarity.warm_up): the report at the
    end finds them ready and says the same, then forgets them; a long answer is never kept; a changed release is
    fingerprinted again, never taken from before."""
    settings, _, report, archive, tmp_path = planted
    similarity._lex_kept.cache_clear()
    similarity._RELEASES.clear()
    lexed: list[str] = []
    lex = similarity._lex
    monkeypatch.setattr(similarity, "_lex", lambda text, code: lexed.append(text) or lex(text, code))
    releases = {A: nbformat.read(settings.release_dir / A / f"{A}.ipynb", as_version=4)}
    students = sorted(settings.autograded_dir.glob(f"*/{A}/{A}.ipynb"))
    answers = set()
    for path in students:
        notebook = json.loads(path.read_text(encoding="utf-8"))
        answers |= set(similarity.answer_cells(notebook).values())
        similarity.warm_up(releases, {A: notebook})
    assert answers <= set(lexed)
    lexed.clear()
    again = similarity.similarity_report(settings, A, tmp_path / "aquecido", [archive])
    assert (
        json.loads(again.json_path.read_text(encoding="utf-8"))["pairs"]
        == json.loads(report.json_path.read_text(encoding="utf-8"))["pairs"]
    )
    assert lexed and not answers & set(lexed)  # only the earlier semester's answers were lexed now
    assert similarity._lex_kept.cache_info().currsize == 0  # and nothing is kept after the report
    long = "x = 1\n" * 5000
    similarity.lex(long)
    similarity.lex(long)
    assert lexed.count(long) == 2 and similarity._lex_kept.cache_info().currsize == 0
    first = similarity.release_exercises(releases)
    assert similarity.release_exercises(releases) is first
    changed = copy.deepcopy(releases)
    answer = next(c for c in changed[A].cells if c.cell_type == "code" and nbgrader_meta(c).get("solution"))
    answer.source += "\nimport zlib\n"
    assert "zlib" in similarity.release_exercises(changed)[2] and "zlib" not in first[2]


def test_previous_as_a_folder(planted):
    settings, _, report, _, tmp_path = planted
    again = similarity.similarity_report(settings, A, tmp_path / "pasta", [tmp_path / OLD / "autograded"])
    assert again.previous == [{"label": OLD, "students": 3}]
    assert [(p.score, p.a.answer.student, p.b.answer.student) for p in again.pairs] == [
        (p.score, p.a.answer.student, p.b.answer.student) for p in report.pairs
    ]


def test_html_page(planted):
    _, _, report, _, _ = planted
    page = report.html_path.read_text(encoding="utf-8")
    assert '<html lang="pt-BR">' in page and "Similaridade entre respostas" in page
    assert "Só para docentes" in page and "Pares de alunos" in page and "Respostas parecidas" in page
    assert page.count('<section class="par card"') == len(report.pairs)
    for n in range(1, len(report.pairs) + 1):
        assert f'href="#par-{n}"' in page and f'id="par-{n}"' in page
    assert "<mark>" in page and "lado-a-lado" in page
    assert "Ana Araújo" in page and f"semestre anterior: {OLD}" in page
    assert not re.search(r"""(src|href)=["']https?:""", page)  # self-contained


def test_student_code_is_escaped(tmp_path):
    settings = make_course(tmp_path)
    release = nbformat.read(settings.release_dir / A / f"{A}.ipynb", as_version=4)
    evil = OWN["resposta_stable_log_exp"].replace(
        "soma = a + b", "soma = a + b  # </pre><script>alert(1)</script>"
    )
    for student in ("1", "2"):
        write_notebook(
            settings.autograded_dir / student / A,
            release,
            Student(student, {"resposta_stable_log_exp": (evil, "x")}),
        )
    report = similarity.similarity_report(settings, A, tmp_path / "reports")
    page = report.html_path.read_text(encoding="utf-8")
    assert len(report.pairs) == 1 and "<script>" not in page and "&lt;script&gt;alert(1)" in page


def test_blank_release_never_makes_a_pair(tmp_path):
    """Students who handed in the release untouched, or only its signatures and docstrings: nothing to report."""
    settings = make_course(tmp_path, (A, "grafo_computacional"))
    for assignment in (A, "grafo_computacional"):
        release = nbformat.read(settings.release_dir / assignment / f"{assignment}.ipynb", as_version=4)
        stubbed = copy.deepcopy(release)
        for cell in stubbed.cells:
            if nbgrader_meta(cell).get("solution") and cell.cell_type == "code":
                cell.source = cell.source.replace(
                    "# SEU CÓDIGO AQUI\n    raise NotImplementedError()", "pass"
                )
        for student, nb in (("1", release), ("2", release), ("3", stubbed), ("4", stubbed)):
            (settings.autograded_dir / student / assignment).mkdir(parents=True)
            nbformat.write(nb, settings.autograded_dir / student / assignment / f"{assignment}.ipynb")
        report = similarity.similarity_report(settings, assignment, tmp_path / "reports", min_tokens=1)
        assert report.pairs == [] and report.students == 4
        assert "Nenhum par de respostas" in report.html_path.read_text(encoding="utf-8")


@pytest.mark.parametrize("module", [programacao_diferenciavel, grafo_computacional, diferenciacao_automatica])
def test_catalogue_right_answers_are_independent(tmp_path, module):
    """Every right answer of the catalogue, one student each: different correct solutions are not copies."""
    assignment = module.__name__.rsplit(".", 1)[1]
    settings = make_course(tmp_path, (assignment,))
    release = nbformat.read(settings.release_dir / assignment / f"{assignment}.ipynb", as_version=4)
    answers = right_answers(module)
    for n in range(max(len(a) for a in answers.values())):
        student = Student(str(n), {g: (a[n], "") for g, a in answers.items() if n < len(a)})
        nb = copy.deepcopy(release)
        for cell in nb.cells:
            if nbgrader_meta(cell).get("grade_id") in student.answers:
                cell.source = student.answers[nbgrader_meta(cell)["grade_id"]][0]
        (settings.autograded_dir / student.id / assignment).mkdir(parents=True)
        nbformat.write(nb, settings.autograded_dir / student.id / assignment / f"{assignment}.ipynb")
    report = similarity.similarity_report(settings, assignment, tmp_path / "reports")
    assert [(p.exercise.grade_id, p.score) for p in report.pairs] == []


def test_normalized_code_keeps_what_the_student_did_not_choose():
    kept = frozenset({"torch", "J_func"})
    text, starts, ends = similarity.normalize_code(
        "def f(x, n=2):\n    y = torch.hstack((x, J_func(x)))  # comentário\n    return len(y), y.sum(dim=1), 'oi'\n",
        kept,
    )
    assert text == "defF(V,V=2):V=torch.hstack((V,J_func(V)))returnlen(V),V.sum(dim=1),S"
    assert len(starts) == len(ends) == len(text)
    column_stack = similarity.normalize_code("y = torch.column_stack((x, z))", kept)[0]
    assert column_stack != similarity.normalize_code("entrada = torch.hstack((a, b))", kept)[0]
    assert column_stack == similarity.normalize_code("saida = torch.column_stack((u, v))", kept)[0]


def run_cli(settings, *args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        status = cli.main(["--course-dir", str(settings.course_dir), *args])
    return status, out.getvalue(), err.getvalue()


def test_command_line(planted):
    settings, _, report, archive, tmp_path = planted
    status, out, err = run_cli(
        settings, "similarity", A, "--report-dir", str(tmp_path / "cli"), "--previous", str(archive)
    )
    assert status == 0, err
    assert f"similaridade: {len(report.pairs)} par(es) de respostas parecidas" in out
    # the ten most similar, then how many more
    assert "  100%  linhas_positivas: 1001 (Bruno) e 2002\n" in out
    assert f"… e mais {len(report.pairs) - 10}" in out
    assert (tmp_path / "cli" / A / "similaridade.html").is_file()


@pytest.mark.parametrize(
    "args, expected",
    [
        (["similarity", A, "--previous", "/nao/existe"], "--previous /nao/existe: não existe"),
        (["similarity", A, "--previous", "VAZIA"], "nenhum notebook da atividade programacao_diferenciavel"),
        (["similarity", A, "--previous", "TEXTO"], "não é pasta nem zip"),
        (["similarity", A, "--threshold", "1.5"], "--threshold 1.5: use um número entre 0 e 1"),
        (["similarity", A, "--min-tokens", "0"], "--min-tokens 0"),
        (["similarity", "nenhuma"], "atividade desconhecida: 'nenhuma'"),
        (["similarity", "grafo_computacional"], "a atividade grafo_computacional ainda não foi corrigida"),
    ],
)
def test_errors_are_one_line(planted, tmp_path, args, expected):
    settings = planted[0]
    (tmp_path / "vazia").mkdir()
    (tmp_path / "texto.txt").write_text("não sou um zip")
    args = [
        str(tmp_path / "vazia") if a == "VAZIA" else str(tmp_path / "texto.txt") if a == "TEXTO" else a
        for a in args
    ]
    if "grafo_computacional" in args:
        settings = make_course(tmp_path, (A, "grafo_computacional"))
    status, out, err = run_cli(settings, *args)
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("erro: ") and expected in lines[0], err


@pytest.mark.slow
def test_overview_links_the_report_and_feedback_does_not(planted, tmp_path):
    _, _, report, _, _ = planted
    folder = report.json_path.parent
    cells = [GradeCellInfo("regra_da_cadeia_dz_dx", A, 1.0, False, "regra")]
    paths = write_reports(folder.parent, A, cells, [StudentResult("1000", A, first_name="Ana")])
    index = paths.index_html.read_text(encoding="utf-8")
    assert 'href="similaridade.html"' in index
    assert f"{len(report.pairs)} par(es) de respostas parecidas" in index
    for page in paths.feedback.values():
        assert "similaridade" not in page.read_text(encoding="utf-8").lower()
    elsewhere = write_reports(tmp_path, A, cells, [StudentResult("1000", A)])
    assert "similaridade.html" not in elsewhere.index_html.read_text(encoding="utf-8")
