"""What the test files share (conftest.py holds the fixtures): the repository's paths, notebooks with nbgrader
metadata built in memory, the tiny `mini` course and the example class, grader_config.py with other values, and
Moodle's zips and worksheets as mod/assign writes them. Tests import it as `tests.helpers`, never conftest.py."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import shutil
import zipfile
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader.nbmeta import nbgrader_meta

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = "programacao_diferenciavel"  # the assignment of examples/submissions/


def repo_assignments() -> list[str]:
    """The real course's assignments, as folders of source/ (tests/test_release.py checks that grader_config.py
    lists the same): known without loading the settings, for parametrize."""
    return sorted(p.name for p in (REPO / "source").iterdir() if p.is_dir())


# --- notebooks ---------------------------------------------------------------------------------------------


def with_meta(cell, grade_id, *, grade=False, solution=False, locked=False, points=0, task=False):
    """`cell` with nbgrader's metadata (schema 3), as nbgrader's create_assignment writes it."""
    cell.metadata["nbgrader"] = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": 3,
        "solution": solution,
        "task": task,
    }
    if grade or task:
        cell.metadata["nbgrader"]["points"] = points
    return cell


def cell_by_grade_id(nb, grade_id):
    """The cell of `nb` with this grade_id (StopIteration if none)."""
    return next(c for c in nb.cells if nbgrader_meta(c).get("grade_id") == grade_id)


def write_notebook(path: Path, nb) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def tree_digest(root: Path) -> str:
    """Names, contents and modification times of everything under `root`: equal digests, an untouched tree."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        digest.update(str(path.relative_to(root)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
            digest.update(str(path.stat().st_mtime_ns).encode())
    return digest.hexdigest()


# --- courses -----------------------------------------------------------------------------------------------


def config_with(template: str, **values) -> str:
    """A grader_config.py's text with its top-level `NAME = value` lines set to `values`."""
    from grader.course.init import config_text

    return config_text(template, values)


def set_config(course: Path, **values) -> None:
    """Rewrite `course`'s grader_config.py with these values (e.g. CELL_TIMEOUT_S=15)."""
    config = course / "grader_config.py"
    config.write_text(config_with(config.read_text(), **values))


def course_config(assignments: list[str], **values) -> str:
    """The real grader_config.py with other assignments and values (e.g. SANDBOX=False)."""
    values = {"ASSIGNMENTS": assignments, "CELL_TIMEOUT_S": 30, "SUBMISSION_TIMEOUT_S": 120, **values}
    return config_with((REPO / "grader_config.py").read_text(), **values)


def mini_source() -> nbformat.NotebookNode:
    """The instructor's `mini`: two functions, a test cell each (with hidden tests), a written answer."""
    return new_notebook(
        cells=[
            new_markdown_cell("# Mini atividade\nEscreva as funções abaixo."),
            with_meta(new_code_cell("import math"), "preparo", locked=True),
            with_meta(
                new_code_cell(
                    'def dobro(x):\n    """O dobro de x."""\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION'
                ),
                "resposta_dobro",
                solution=True,
            ),
            with_meta(
                new_code_cell(
                    'assert dobro(2) == 4, f"dobro(2) deveria ser 4, mas é {dobro(2)}"\n'
                    "### BEGIN HIDDEN TESTS\n"
                    'assert dobro(-3) == -6, "dobro(-3) deveria ser -6"\n'
                    "### END HIDDEN TESTS"
                ),
                "dobro_valores",
                grade=True,
                locked=True,
                points=1,
            ),
            new_markdown_cell("Agora o quadrado."),
            with_meta(
                new_code_cell(
                    'def quadrado(x):\n    """x ao quadrado."""\n    ### BEGIN SOLUTION\n    return x * x\n    ### END SOLUTION'
                ),
                "resposta_quadrado",
                solution=True,
            ),
            with_meta(
                new_code_cell(
                    'assert quadrado(3) == 9, f"quadrado(3) deveria ser 9, mas é {quadrado(3)}"\n'
                    "### BEGIN HIDDEN TESTS\n"
                    'assert quadrado(-4) == 16, "quadrado(-4) deveria ser 16"\n'
                    "### END HIDDEN TESTS"
                ),
                "quadrado_valores",
                grade=True,
                locked=True,
                points=2,
            ),
            with_meta(
                new_markdown_cell("Explique: ### BEGIN SOLUTION\nPorque sim.\n### END SOLUTION"),
                "resposta_explicacao",
                grade=True,
                solution=True,
                points=1,
            ),
        ],
        metadata={"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
    )


# A test with a memory measure (grader/kernels/standalone/inkernel/runtime.py's `_medida_externa`): read from outside
# the student's process on the CPU; on a GPU measured in it (then grader/grading/tamper.py holds it for review when
# the student's code hooks IPython).
PROBE_TEST = (
    "def _medida_externa(funcao):\n"
    '    """Na correção, esta medida é feita de fora do processo que roda o código do aluno."""\n'
    "    return funcao\n\n\n"
    "@_medida_externa\n"
    "def _pico_de_memoria(chamada):\n"
    "    import tracemalloc\n"
    "    tracemalloc.start()\n"
    "    chamada()\n"
    "    pico = tracemalloc.get_traced_memory()[1]\n"
    "    tracemalloc.stop()\n"
    "    return pico\n\n\n"
    'assert _pico_de_memoria(lambda: dobro(10**6)) < 50 * 2**20, "dobro não deveria alocar dezenas de MiB"'
)


def build_mini_course(tmp_path: Path, sandbox_available: bool, *, probe: bool = False):
    """A course folder (tmp_path/curso) with the released `mini` assignment and another one; its settings."""
    from grader.config import load_settings
    from grader.course import release

    course = tmp_path / "curso"
    (course / "source" / "mini").mkdir(parents=True)
    (course / "source" / "outra").mkdir(parents=True)
    (course / "grader_config.py").write_text(course_config(["mini", "outra"], SANDBOX=sandbox_available))
    source = mini_source()
    if probe:
        source.cells.insert(
            4, with_meta(new_code_cell(PROBE_TEST), "dobro_rapida", grade=True, locked=True, points=1)
        )
    nbformat.write(source, course / "source" / "mini" / "mini.ipynb")
    other = new_notebook(cells=[new_markdown_cell("# Outra atividade"), new_code_cell("print('outra')")])
    nbformat.write(other, course / "source" / "outra" / "outra.ipynb")
    settings = load_settings(course)
    release.generate(settings, "mini")
    return settings


def build_example_course(course: Path, sandbox_available: bool):
    """A copy of the real course (source/ and release/) in `course`; its settings."""
    from grader.config import load_settings

    for part in ("source", "release"):
        shutil.copytree(REPO / part, course / part)
    (course / "grader_config.py").write_text(
        course_config(
            [EXAMPLES, "grafo_computacional"],
            SANDBOX=sandbox_available,
            CELL_TIMEOUT_S=120,
            SUBMISSION_TIMEOUT_S=600,
        )
    )
    return load_settings(course)


def grade_examples(settings, **options):
    """Grade the example class as `grader demo` does: the run, scores.json's students by id, the max score."""
    from grader.grading import pipeline

    options = pipeline.GradeOptions(
        submissions=REPO / "examples" / "submissions" / EXAMPLES,
        report_dir=settings.course_dir / "reports",
        progress=False,
        **options,
    )
    run = pipeline.grade(settings, EXAMPLES, options)
    scores = json.loads((settings.course_dir / "reports" / EXAMPLES / "scores.json").read_text())
    return run, {s["student_id"]: s for s in scores["students"]}, scores["max_score"]


# --- Moodle's zips, named as mod/assign writes them --------------------------------------------------------


def clean_filename(name: str) -> str:
    """lib/moodlelib.php clean_filename (PARAM_FILE): drops the characters a file name cannot hold."""
    return re.sub(r'[\x00-\x1f/\\:*?"<>|]', "", name)


def student_prefix(fullname: str, participant_id: int) -> str:
    """mod/assign/classes/downloader.php, get_student_prefix (individual): "_" in the name becomes a space, then
    "_<participant id>" from assign::get_uniqueid_for_user."""
    return clean_filename(fullname.replace("_", " ") + f"_{participant_id}")


def team_prefix(groupname: str | None, groupid: int | None) -> str:
    """downloader.php get_student_prefix (team submission, 4.1+): the group's name and "_<group id>", or the
    `defaultteam` string with no number."""
    if groupname is None:
        return clean_filename("Default group")
    return clean_filename(groupname.replace("_", " ") + f"_{groupid}")


def entry(prefix: str, filename: str, version: str, plugin: str = "file") -> str:
    """The path of one submitted file in the zip.

    - "4.1": downloader.php load_submissionplugin_filelist with downloadasfolders: clean_filename(prefix . '_' .
      subtype . '_' . type) . filepath . name for files, '/' . name for online text;
    - "3.1": locallib.php download_submissions (3.1-4.0): the same folder with a trailing '_';
    - "flat": "Download submissions in folders" off: clean_filename(prefix . '_' . subtype . '_' . type . '_' .
      name) at the zip's root."""
    folder = clean_filename(f"{prefix}_assignsubmission_{plugin}")
    if version == "4.1":
        return f"{folder}/{filename}"
    if version == "3.1":
        return f"{folder}_/{filename}"
    return clean_filename(f"{folder}_{filename}")


def notebook_bytes(cells: int = 1) -> bytes:
    nb = new_notebook(cells=[new_code_cell(f"x = {i}") for i in range(cells)])
    return nbformat.writes(nb).encode()


def make_zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


# --- Moodle's worksheets, as mod/assign/gradingtable.php writes them in downloading mode ---------------------

EN = {
    "recordid": "Identifier",
    "hiddenuser": "Participant ",
    "fullname": "Full name",
    "email": "Email address",
    "status": "Status",
    "team": "Group",
    "grade": "Grade",
    "maxgrade": "Maximum grade",
    "gradecanbechanged": "Grade can be changed",
    "lastmodifiedsubmission": "Last modified (submission)",
    "lastmodifiedgrade": "Last modified (grade)",
    "feedbackcomments": "Feedback comments",
    "yes": "Yes",
    "no": "No",
    "decsep": ".",
    "submitted": "Submitted for grading",
}
PT_BR = {
    "recordid": "Identificador",
    "hiddenuser": "Participante",
    "fullname": "Nome completo",
    "email": "Endereço de email",
    "status": "Status",
    "team": "Grupo",
    "grade": "Nota",
    "maxgrade": "Nota máxima",
    "gradecanbechanged": "A nota pode ser alterada",
    "lastmodifiedsubmission": "Última modificação (envio)",
    "lastmodifiedgrade": "Última modificação (nota)",
    "feedbackcomments": "Comentários de feedback",
    "yes": "Sim",
    "no": "Não",
    "decsep": ",",
    "submitted": "Enviado para avaliação",
}
USERDATE = {"en": "Friday, 3 May 2024, 10:15 AM", "pt_br": "sexta-feira, 3 mai. 2024, 10:15"}


def worksheet(
    path: Path,
    words: dict,
    people: list[dict],
    maximum: float,
    *,
    email: bool = True,
    team: bool = False,
    language: str = "en",
) -> Path:
    """gradingtable.php's columns in downloading mode: recordid, fullname, identity fields, status, [team],
    grade, grademax (format_float with the language's separator), gradecanbechanged, timesubmitted, timemarked
    (userdate, or "-" with no grade), the feedback plugins' editor fields."""
    header = [words["recordid"], words["fullname"]] + ([words["email"]] if email else []) + [words["status"]]
    header += ([words["team"]] if team else []) + [
        words["grade"],
        words["maxgrade"],
        words["gradecanbechanged"],
        words["lastmodifiedsubmission"],
        words["lastmodifiedgrade"],
        words["feedbackcomments"],
    ]
    rows = [header]
    for p in people:
        row = (
            [words["hiddenuser"] + str(p["id"]), p["name"]]
            + ([p["email"]] if email else [])
            + [words["submitted"]]
        )
        row += [p.get("group", "")] if team else []
        row += [
            p.get("grade", ""),
            f"{maximum:.2f}".replace(".", words["decsep"]),
            words["no"] if p.get("locked") else words["yes"],
            USERDATE[language],
            USERDATE[language] if p.get("graded") else "-",
            "",
        ]
        rows.append(row)
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


# --- a course with the test patterns of the real notebooks, for the attacks on the test kernel's state -------

PATTERNS_LESSON = '''import numpy as np
import torch


def g_licao(u):
    """Uma função da lição, que um teste troca por outra (_referencias)."""
    return u ** 2'''

PATTERNS_CHECK_HELPERS = '''import ast
import inspect
import textwrap

_BIBLIOTECAS_TESTE = ('torch', 'numpy', 'builtins', 'math', 'functools', 'itertools', 'operator')


def _arvores_teste(funcao, nome):
    """A árvore de `funcao` e das funções do notebook que ela chama (pelo __globals__ da função)."""
    arvores, vistos, pendentes = [], set(), [(nome, funcao)]
    while pendentes:
        nome_atual, atual = pendentes.pop()
        if id(atual) in vistos:
            continue
        vistos.add(id(atual))
        try:
            arvore = ast.parse(textwrap.dedent(inspect.getsource(atual)))
            plana = isinstance(arvore.body[0], ast.FunctionDef) and not arvore.body[0].decorator_list
        except (OSError, TypeError, SyntaxError, IndexError) as erro:
            raise AssertionError(f"Não foi possível ler o código de {nome_atual}: {erro}") from None
        if not plana:
            raise AssertionError(f"Não foi possível ler o código de {nome_atual}: defina-a com def, sem decoradores")
        arvores.append(arvore)
        locais = {a.arg for a in arvore.body[0].args.args}
        locais |= {n.id for n in ast.walk(arvore) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        ambiente = getattr(atual, '__globals__', {})
        for no in ast.walk(arvore):
            if isinstance(no, ast.Call) and isinstance(no.func, ast.Name) and no.func.id not in locais:
                outro = ambiente.get(no.func.id)
                modulo = str(getattr(outro, '__module__', '') or '')
                if outro is not None and modulo.split('.')[0] not in _BIBLIOTECAS_TESTE and no.func.id != nome_atual:
                    pendentes.append((no.func.id, outro))
    return arvores'''

PATTERNS_MEASURE = '''def _medida_externa(funcao):
    """Na correção, esta medida é feita de fora do processo que roda o código do aluno."""
    return funcao


@_medida_externa
def _pico_teste(chamada):
    """Pico de memória (bytes) alocada durante chamada(), além da que já existia."""
    import os
    import warnings

    import torch
    from torch.profiler import ProfilerActivity, profile

    salvo, nulo = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(nulo, 2)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
                chamada()
    finally:
        os.dup2(salvo, 2)
        os.close(salvo)
        os.close(nulo)
    eventos = sorted((e.start_ns(), e.nbytes()) for e in prof.profiler.kineto_results.events()
                     if e.name() == '[memory]')
    atual = pico = 0
    for _, nbytes in eventos:
        atual += nbytes
        pico = max(pico, atual)
    return pico'''

PATTERNS_REFERENCES = '''import contextlib


@contextlib.contextmanager
def _referencias(**funcoes):
    """Durante o teste, troca funções do notebook por versões de referência."""
    originais = {nome: globals().get(nome) for nome in funcoes}
    globals().update(funcoes)
    try:
        yield
    finally:
        globals().update(originais)'''

PATTERNS_TESTS = {
    # a structure check (contract style), whose lookups the attacks try to turn into overrides; values too
    "soma_linhas_sem_laco": PATTERNS_CHECK_HELPERS
    + '''
import numpy as np

arvores_teste = _arvores_teste(soma_linhas, "soma_linhas")
# as older checks did: every name the code mentions, looked up in the test's globals()
nomes_vistos_teste = {n.id: globals().get(n.id) for a in arvores_teste for n in ast.walk(a) if isinstance(n, ast.Name)}
lacos_teste = [n for a in arvores_teste for n in ast.walk(a) if isinstance(n, (ast.For, ast.While, ast.comprehension))]
X_teste = np.array([[1.0, 2.0], [3.0, -4.0]])
assert np.allclose(soma_linhas(X_teste.copy()), [3.0, -1.0]), "soma_linhas: valores errados"
assert not lacos_teste, "soma_linhas não deveria ter laços Python"''',
    # a list of hidden inputs bound by the test (attack class 1 empties it)
    "soma_linhas_valores": '''import numpy as np

entradas_teste = [np.arange(6.0).reshape(2, 3)]
### BEGIN HIDDEN TESTS
rng_teste = np.random.default_rng(5)
entradas_teste += [rng_teste.standard_normal((4, 3)), rng_teste.standard_normal((1, 7))]
### END HIDDEN TESTS
assert np.allclose(soma_linhas(np.ones((2, 2))), [2.0, 2.0]), "soma_linhas(ones) deveria ser [2, 2]"
for X_teste in entradas_teste:
    copia_teste = X_teste.copy()
    r_teste = soma_linhas(X_teste.copy())
    assert isinstance(r_teste, np.ndarray) and r_teste.shape == (copia_teste.shape[0],), "formato errado"
    assert np.allclose(r_teste, copia_teste.sum(axis=1)), "soma_linhas: valores errados"''',
    # expected values from T's own copies, computed before the call (attack class 2 fills the inputs)
    "atualiza_valores": '''import torch

g_teste = torch.Generator().manual_seed(3)
for n_teste, d_teste in [(5, 3), (8, 2)]:
    A_teste = torch.randn(n_teste, d_teste, generator=g_teste)
    B_teste = torch.randn(n_teste, d_teste, generator=g_teste)
    C_teste = torch.randn(n_teste, n_teste, generator=g_teste)
    esperado_teste = C_teste + A_teste @ B_teste.T
    atualiza(C_teste, A_teste.clone(), B_teste.clone())
    assert torch.allclose(C_teste, esperado_teste, atol=1e-5), "atualiza: C deveria ser C + A·Bᵀ"''',
    # memory measured from outside S, on a call whose values are checked (classes 3 and 4)
    "atualiza_memoria": PATTERNS_MEASURE
    + '''
import torch

g_teste = torch.Generator().manual_seed(4)
A_teste = torch.randn(3072, 16, generator=g_teste)
B_teste = torch.randn(3072, 16, generator=g_teste)
C_teste = torch.randn(3072, 3072, generator=g_teste)
esperado_teste = C_teste + A_teste @ B_teste.T
tamanho_teste = C_teste.numel() * C_teste.element_size()
atualiza(torch.zeros(4, 4), torch.ones(4, 1), torch.ones(4, 1))  # aquecimento
extra_teste = _pico_teste(lambda: atualiza(C_teste, A_teste.clone(), B_teste.clone()))
assert torch.allclose(C_teste, esperado_teste, atol=1e-3), "atualiza: C deveria ser C + A·Bᵀ"
assert extra_teste <= 1.5 * tamanho_teste, f"atualiza usou {extra_teste / tamanho_teste:.1f} vezes o tamanho de C"''',
    # a lesson function swapped by _referencias (class 6 recognises it)
    "derivada_valores": PATTERNS_REFERENCES
    + '''
import torch


def _g_teste(u):
    return torch.sin(u)


x_teste = torch.tensor([0.5, -1.0, 2.0])
copia_teste = x_teste.clone()
assert torch.allclose(derivada(x_teste.clone()), 2 * copia_teste), "derivada de u² deveria ser 2u"
with _referencias(g_licao=_g_teste):
    assert torch.allclose(derivada(x_teste.clone()), torch.cos(copia_teste)), "a derivada deveria seguir g_licao"''',
    # a set of accepted calls bound by the test (class 1 adds to it), and the code's text (class 5)
    "derivada_autograd": PATTERNS_CHECK_HELPERS
    + "\n"
    + PATTERNS_REFERENCES
    + '''
import torch

_AUTOGRAD_TESTE = {"backward", "grad"}
chamadas_teste = {n.func.attr if isinstance(n.func, ast.Attribute) else getattr(n.func, 'id', '')
                  for a in _arvores_teste(derivada, "derivada") for n in ast.walk(a) if isinstance(n, ast.Call)}


def _exp_teste(u):
    return torch.exp(u)


x_teste = torch.tensor([1.5, -0.5])
assert torch.allclose(derivada(x_teste.clone()), 2 * x_teste), "derivada de u² deveria ser 2u"
assert chamadas_teste & _AUTOGRAD_TESTE, "derivada deveria usar o autograd (backward ou torch.autograd.grad)"
with _referencias(g_licao=_exp_teste):
    assert torch.allclose(derivada(x_teste.clone()), torch.exp(x_teste)), "a derivada deveria seguir g_licao"''',
}


def patterns_source() -> nbformat.NotebookNode:
    """The instructor's `padroes`: three functions whose test cells use the patterns of the real notebooks (a
    structure check, hidden inputs in a list, expected values from copies, an external memory measure, a lesson
    function swapped by `_referencias`, a set of accepted calls)."""
    answers = {
        "soma_linhas": 'def soma_linhas(X):\n    """A soma de cada linha de X, sem laço."""\n'
        "    ### BEGIN SOLUTION\n    return X.sum(axis=1)\n    ### END SOLUTION",
        "atualiza": 'def atualiza(C, A, B):\n    """C <- C + A·Bᵀ, no lugar, com no máximo um auxiliar do tamanho de C."""\n'
        "    ### BEGIN SOLUTION\n    C.add_(A @ B.T)\n    ### END SOLUTION",
        "derivada": 'def derivada(x):\n    """A derivada de g_licao em cada ponto de x, pelo autograd."""\n'
        "    ### BEGIN SOLUTION\n    u = x.detach().clone().requires_grad_(True)\n"
        "    g_licao(u).sum().backward()\n    return u.grad\n    ### END SOLUTION",
    }
    cells = [
        new_markdown_cell("# Padrões dos testes"),
        with_meta(new_code_cell(PATTERNS_LESSON), "licao", locked=True),
    ]
    for function, answer in answers.items():
        cells.append(with_meta(new_code_cell(answer), f"resposta_{function}", solution=True))
        for grade_id, test in PATTERNS_TESTS.items():
            if grade_id.startswith(function):
                cells.append(with_meta(new_code_cell(test), grade_id, grade=True, locked=True, points=1))
    return new_notebook(
        cells=cells,
        metadata={"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
    )


def build_patterns_course(tmp_path: Path, sandbox_available: bool):
    """A course folder (tmp_path/curso) with the released `padroes` assignment; its settings."""
    from grader.config import load_settings
    from grader.course import release

    course = tmp_path / "curso"
    (course / "source" / "padroes").mkdir(parents=True)
    (course / "grader_config.py").write_text(course_config(["padroes"], SANDBOX=sandbox_available))
    nbformat.write(patterns_source(), course / "source" / "padroes" / "padroes.ipynb")
    settings = load_settings(course)
    release.generate(settings, "padroes")
    return settings
