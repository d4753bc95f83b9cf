"""What the class got wrong (grader/report/causes.py, grader/report/insights.py): the masking and the grouping on
results built in memory (fast), then a small class built from the answer catalogue, graded in real kernels: the
groups, the causes that fall together and those that stay apart, "visible passed, hidden failed", and nothing of it
in the students' feedback pages or the feedback zip."""

from __future__ import annotations

import json
import re
import zipfile

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from grader.grading.score import score_cells
from grader.model import CellResult, StudentResult
from grader.report import write_reports
from grader.report.causes import (
    Template,
    failing_line,
    failure,
    hidden_line_ranges,
    mask,
    message_templates,
)
from grader.report.cells import GradeCellInfo
from grader.report.insights import (
    BLANK_CAUSE,
    Answer,
    class_insights,
    insights_json,
    largest_groups,
)
from grader.report.terminal import largest_groups_lines
from tests.helpers import REPO, cell_by_grade_id, entry, make_zip, student_prefix, with_meta

# --- masking -------------------------------------------------------------------------------------------------


def test_numbers_and_lists_of_numbers_are_masked():
    a = mask("dobro deveria ser 2x, mas é [0, 1, 2]")
    assert a == mask("dobro deveria ser 3x, mas é [3, 4]") == "dobro deveria ser …x, mas é …"
    # numpy's and torch's printing, nested and across lines; a function call keeps its name
    assert mask("Esperado:\n[[ 3 -1  0]\n [-2 -2  5]]\nObtido:\n[[1. 2.]]") == "Esperado: … Obtido: …"
    assert mask("tensor([1.5000, -2.0000e-03])") == mask("tensor([7.])") == "tensor(…)"
    assert (
        mask("formato (6, 5), mas tem (4,)")
        == mask("formato (1, 1), mas tem (3, 2)")
        == "formato …, mas tem …"
    )
    assert mask("média 0.5, desvio nan, máximo -inf") == "média …, desvio …, máximo …"
    assert mask("[1 2 ... 9 10]") == "…"


def test_names_in_quotes_are_masked_and_the_words_stay():
    assert (
        mask("name 'A' is not defined")
        == mask("name 'resultado' is not defined")
        == "name '…' is not defined"
    )
    # identifiers with digits and dtypes are words, not numbers
    assert (
        mask("dtype torch.float32, não float64; x2 e N(0, 1)")
        == "dtype torch.float32, não float64; x2 e N(…)"
    )
    assert mask("a média é  0,51\n\n e o desvio 1,02") == "a média é … e o desvio …"


# --- one failure: its cause and where it failed ------------------------------------------------------------

SOURCE = """import numpy as np

r_teste = dobra(np.arange(3))
assert r_teste.shape == (3,), f"O resultado deveria ter formato (3,), mas tem {r_teste.shape}"
assert np.array_equal(r_teste, 2 * np.arange(3)), f"dobra deveria ser 2x, mas é {r_teste.tolist()}"
print("dobra: valores certos.")

### BEGIN HIDDEN TESTS
for n_teste in (1, 5):
    r_teste = dobra(np.arange(n_teste))
    assert r_teste.dtype == np.arange(n_teste).dtype, \\
        f"Para n={n_teste}, o tipo deveria continuar {np.arange(n_teste).dtype}, mas virou {r_teste.dtype}"
assert dobra(np.zeros(0)).shape == (0,)
### END HIDDEN TESTS
"""
ANSI = "\x1b[36m"


def error(ename: str, evalue: str, line: int, *, helper: int | None = None) -> dict:
    """An error output as the test kernel leaves it: IPython's Plain traceback, with colors."""
    frames = [
        "Traceback \x1b[36m(most recent call last)\x1b[39m:",
        f"  Cell {ANSI}In[7]\x1b[39m, line {line}",
    ]
    if helper is not None:
        frames.append(f"  Cell In[7], line {helper} in _ajuda")
    frames.append(f"{ename}: {evalue}")
    return new_output("error", ename=ename, evalue=evalue, traceback=frames)


def seen(output) -> str:
    """The message the student is shown (grader/grading/score.py)."""
    return f"{output.ename}: {output.evalue}" if output.evalue else output.ename


def why(output, source=SOURCE, others=()):
    return failure(seen(output), output, source, others)


def test_a_failed_assert_is_named_by_its_message_with_the_values_masked():
    one = why(error("AssertionError", "dobra deveria ser 2x, mas é [0, 1, 2]", 5))
    two = why(error("AssertionError", "dobra deveria ser 2x, mas é [3, 4, 5]", 5))
    assert one.cause == two.cause == "dobra deveria ser 2x, mas é …"  # the literal "2x" is the test's own
    assert not one.hidden
    other = why(error("AssertionError", "O resultado deveria ter formato (3,), mas tem (3, 1)", 4))
    assert other.cause == "O resultado deveria ter formato (3,), mas tem …" != one.cause


def test_a_failure_in_the_hidden_tests_is_seen_by_its_line():
    assert hidden_line_ranges(SOURCE) == [range(9, 14)]
    hidden = why(error("AssertionError", "Para n=1, o tipo deveria continuar int64, mas virou float64", 11))
    assert hidden.hidden and hidden.cause == "Para n=…, o tipo deveria continuar …, mas virou …"
    bare = why(error("AssertionError", "", 13))
    assert bare.hidden and bare.cause == "AssertionError sem mensagem (linha 13 da célula de teste)"
    # the student's code raising while a hidden statement runs: hidden, grouped by exception and message
    crash = why(error("IndexError", "index 5 is out of bounds for axis 0 with size 5 (em dobra)", 10))
    assert (
        crash.hidden
        and crash.cause == "IndexError: index … is out of bounds for axis … with size … (em dobra)"
    )
    visible_crash = why(error("NotImplementedError", "sem mensagem (em dobra)", 3))
    assert not visible_crash.hidden and visible_crash.cause == "NotImplementedError: sem mensagem (em dobra)"


def test_where_without_a_traceback_and_messages_said_elsewhere():
    no_frames = new_output(
        "error",
        ename="AssertionError",
        evalue="Para n=5, o tipo deveria continuar a, mas virou b",
        traceback=[],
    )
    assert failing_line(no_frames.traceback) is None
    assert why(no_frames).hidden  # the matching assert's own line is in the hidden block
    assert failing_line(['  File "<ipython-input-3-abc>", line 12, in <module>']) == 12
    # a helper defined in another test cell says the message
    helper = 'def _confere(x):\n    assert x > 0, f"x deveria ser positivo, mas é {x}"\n'
    got = why(error("AssertionError", "x deveria ser positivo, mas é -2", 3, helper=2), others=(helper,))
    assert got.cause == "x deveria ser positivo, mas é …"
    # text on stderr, or a message replaced because it quoted the hidden tests: masked as shown
    assert (
        failure("a célula escreveu em stderr: aviso 3", None, SOURCE).cause
        == "a célula escreveu em stderr: aviso …"
    )
    omitted = "a célula de teste falhou (mensagem omitida: ela citava o código dos testes ocultos)"
    assert why_replaced(omitted).cause == omitted


def why_replaced(message):
    return failure(message, error("ValueError", "assert dobra(np.zeros(0)).shape == (0,)", 13), SOURCE)


def test_templates_keep_only_messages_with_words():
    texts = [t.text for t in message_templates(SOURCE)]
    assert texts == [
        "O resultado deveria ter formato (3,), mas tem …",
        "dobra deveria ser 2x, mas é …",
        "Para n=…, o tipo deveria continuar …, mas virou …",
    ]
    # a message that is only a value, or a variable, says nothing of the check: left out
    assert message_templates("assert x, f'{x}'\nraise ValueError(msg)\nraise ValueError('erro de tipo')") == (
        Template("ValueError", ("erro de tipo",), 3),
    )
    assert message_templates("isto não é Python (") == ()


def test_score_cells_stores_the_cause_and_where():
    cell = with_meta(new_code_cell(SOURCE), "dobra_valores", grade=True, locked=True, points=2)
    cell.outputs = [
        error("AssertionError", "Para n=1, o tipo deveria continuar int64, mas virou float64", 11)
    ]
    passed = with_meta(new_code_cell("print('ok')"), "dobra_ok", grade=True, locked=True, points=1)
    got = score_cells(new_notebook(cells=[cell, passed]), "nb")
    assert (got["dobra_valores"].cause, got["dobra_valores"].hidden_failed) == (
        "Para n=…, o tipo deveria continuar …, mas virou …",
        True,
    )
    assert (got["dobra_ok"].cause, got["dobra_ok"].hidden_failed) == ("", False)


# --- the class: groups, shares, hidden failures --------------------------------------------------------------

NB = "nb"
CELLS = [
    GradeCellInfo("dobra_valores", NB, 2.0, False, "Dobra: valores", "Exercício 1: dobra", titled=True),
    GradeCellInfo("dobra_tipo", NB, 1.0, False, "dobra: tipo", "Exercício 1: dobra"),
    GradeCellInfo("explique", NB, 1.0, True, "resposta escrita", "Exercício 2"),
]


def result(grade_id, passed, message="", cause="", hidden=False, **extra) -> CellResult:
    maximum = next(c.max_score for c in CELLS if c.grade_id == grade_id)
    return CellResult(
        grade_id,
        NB,
        maximum if passed else 0.0,
        maximum,
        passed,
        message=message,
        cause=cause,
        hidden_failed=hidden,
        **extra,
    )


def student(sid, valores=None, tipo=None, **extra) -> StudentResult:
    cells = {
        "dobra_valores": valores or result("dobra_valores", True),
        "dobra_tipo": tipo or result("dobra_tipo", True),
        "explique": result("explique", False, manual=True, needs_manual_grade=True),
    }
    return StudentResult(sid, "a", cells={(NB, k): v for k, v in cells.items()}, **extra)


LISTA = "dobra deveria ser 2x, mas é …"


def make_class() -> list[StudentResult]:
    wrong = "dobra deveria ser 2x, mas é [0, 1, 2]"
    return [
        student("a1", result("dobra_valores", False, f"AssertionError: {wrong}", LISTA)),
        student(
            "a2", result("dobra_valores", False, "AssertionError: dobra deveria ser 2x, mas é [3]", LISTA)
        ),
        student(
            "a3", result("dobra_valores", False, "NameError: name 'np' is not defined")
        ),  # no cause stored
        student("a4", result("dobra_valores", False, "NameError: name 'numpy' is not defined")),
        student(
            "a5", tipo=result("dobra_tipo", False, "AssertionError: Para n=1, …", "Para n=…, tipo", True)
        ),
        student(
            "a6", tipo=result("dobra_tipo", False, "AssertionError: Para n=5, …", "Para n=…, tipo", True)
        ),
        student("a7", result("dobra_valores", False, "NotImplementedError: sem mensagem (em dobra)", "x")),
        student("a8"),
        student("a10", result("dobra_valores", False, "x"), status="error"),
        student("a11", result("dobra_valores", False, "", not_submitted=True)),
    ]


def answers(student_id, notebook, grade_id):
    if student_id == "a7":
        return Answer("def dobra(x):\n    raise NotImplementedError()", blank=True)
    return Answer(f"def dobra(x):  # {student_id}\n    return x", blank=False) if student_id != "a2" else None


def test_failures_group_by_cause_largest_first():
    found = {q.info.grade_id: q for q in class_insights(CELLS, make_class(), answers)}
    assert set(found) == {"dobra_valores", "dobra_tipo"}  # automatic questions only
    valores = found["dobra_valores"]
    # counted: graded (a10 error is not); a11 did not send the notebook: not a mistake
    assert valores.counted == 9 and valores.failed == 5 and (valores.causes, valores.blank) == (2, 1)
    assert [(g.cause, g.students, g.blank) for g in valores.groups] == [
        (LISTA, ("a1", "a2"), False),
        ("NameError: name '…' is not defined", ("a3", "a4"), False),  # masked from the message when no cause
        (BLANK_CAUSE, ("a7",), True),  # the answer as released, whatever the error said: last
    ]
    first = valores.groups[0]
    assert (
        first.share == pytest.approx(2 / 9)
        and first.message == "AssertionError: dobra deveria ser 2x, mas é [0, 1, 2]"
    )
    assert (first.example_student, first.example_answer) == ("a1", "def dobra(x):  # a1\n    return x")
    assert valores.hidden_failed == 0 and valores.hidden_checks == ()
    tipo = found["dobra_tipo"]
    assert tipo.failed == 2 and tipo.hidden_failed == 2
    assert [(h.check, h.count) for h in tipo.hidden_checks] == [("Para n=…, tipo", 2)]


def test_largest_groups_json_and_terminal():
    found = class_insights(CELLS, make_class(), answers)
    top = largest_groups(found)
    assert [(q.info.grade_id, g.cause, g.count) for q, g in top] == [
        ("dobra_valores", LISTA, 2),
        ("dobra_valores", "NameError: name '…' is not defined", 2),
        ("dobra_tipo", "Para n=…, tipo", 2),
    ]
    lines = largest_groups_lines(found, width=200)
    assert lines[0].startswith("O que a turma mais errou")
    assert lines[1] == f"  2 alunos (22%) · Dobra: valores · {LISTA}"
    assert all(len(line) <= 60 for line in largest_groups_lines(found, width=60))
    data = json.loads(json.dumps(insights_json(found)))
    assert data["students"] == 9
    valores = data["questions"][0]
    assert (
        valores["cell"] == "dobra_valores" and valores["title"] == "Dobra: valores" and valores["failed"] == 5
    )
    assert valores["groups"][0] == {
        "cause": LISTA,
        "count": 2,
        "share": 0.2222,
        "blank": False,
        "message": "AssertionError: dobra deveria ser 2x, mas é [0, 1, 2]",
        "students": ["a1", "a2"],
        "example": {"student_id": "a1", "answer": "def dobra(x):  # a1\n    return x"},
    }
    assert data["questions"][1]["hidden_failed"] == 2
    assert data["questions"][1]["hidden_checks"] == [{"check": "Para n=…, tipo", "count": 2}]
    assert largest_groups_lines(class_insights(CELLS, [student("ok")])) == []


def test_the_overview_shows_it_and_the_feedback_pages_do_not(tmp_path):
    students = make_class()
    paths = write_reports(tmp_path, "a", CELLS, students, answer_of=answers)
    page = paths.index_html.read_text(encoding="utf-8")
    section = page.split('<h2 id="causas">', 1)[1]
    assert section.count('<details class="card insight"') == 2
    assert "def dobra(x):  # a1" in section and "dobra deveria ser 2x, mas é …" in section
    assert 'href="#causas-nb--dobra_valores"' in page  # the questions table links to the section
    for path in paths.feedback.values():
        text = path.read_text(encoding="utf-8")
        assert "O que a turma errou" not in text and "def dobra(x):" not in text
        others = {s.student_id for s in students} - {path.stem}
        assert not any(re.search(rf"\b{re.escape(o)}\b", text) for o in others), path.name


# --- a class graded in real kernels ----------------------------------------------------------------------------

ASSIGNMENT = "programacao_diferenciavel"
POSITIVE = "resposta_linhas_positivas"
V, L, LS = "linhas_positivas_valores", "linhas_positivas_casos_limite", "linhas_positivas_sem_laco"


def catalogue_code(name: str) -> str:
    from tests.catalogue.programacao_diferenciavel import ANSWERS

    return next(a.code for a in ANSWERS if a.name == name)


# student -> the catalogue's answer to linhas_positivas (everything else is the solution); None: as released
CLASS = {
    "Ana Elementos": "linhas_positivas_elementos",  # X[X > 0]: a flat vector of the positive entries
    "Bruno Elementos": "linhas_positivas_elementos",
    "Carla Colunas": "linhas_positivas_colunas",  # the row mask applied to the columns
    "Davi Eixo": "linhas_positivas_eixo_errado",  # sums the columns
    "Elisa Lista": "linhas_positivas_lista",  # a list: right until no row is positive (hidden test)
    "Fabio Certo": "linhas_positivas_mascara_explicita",
    "Gabi Branco": None,
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory, sandbox_available):
    """The class above as Moodle sends it, graded by `grader grade`'s pipeline; its reports folder."""
    from grader.course.release import solved_copy
    from grader.grading import pipeline
    from tests.helpers import build_example_course

    tmp = tmp_path_factory.mktemp("insights")
    settings = build_example_course(tmp / "curso", sandbox_available)
    source = nbformat.read(REPO / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    release = nbformat.read(REPO / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    files = {}
    for number, (name, answer) in enumerate(CLASS.items(), 501):
        nb = solved_copy(source)
        code = catalogue_code(answer) if answer else cell_by_grade_id(release, POSITIVE).source
        cell_by_grade_id(nb, POSITIVE).source = code
        files[entry(student_prefix(name, number), f"{ASSIGNMENT}.ipynb", "4.1")] = nbformat.writes(
            nb
        ).encode()
    options = pipeline.GradeOptions(
        submissions=make_zip(tmp / "envios.zip", files),
        report_dir=tmp / "relatorios",
        workers=2,
        progress=False,
        similarity=False,
    )
    run = pipeline.grade(settings, ASSIGNMENT, options)
    folder = tmp / "relatorios" / ASSIGNMENT
    scores = json.loads((folder / "scores.json").read_text(encoding="utf-8"))
    return run, scores, folder


@pytest.mark.slow
def test_a_graded_class_groups_its_failures(graded):
    _, scores, _ = graded
    insights = scores["insights"]
    assert insights["students"] == len(CLASS)
    questions = {q["cell"]: q for q in insights["questions"]}

    def groups(cell):
        return [(g["cause"], len(g["students"]), g["blank"]) for g in questions[cell]["groups"]]

    # linhas_positivas_valores: the two "Elementos" and "Colunas" fail the same check with other numbers
    # ("formato (2, 3), mas tem (4,)" and "(3, 2)"): one group; "Eixo" fails another check; "Branco" left it blank
    valores = questions[V]
    assert valores["failed"] == 5, groups(V)
    assert groups(V) == [
        ("O resultado deveria ter formato …, mas tem …", 3, False),
        ("Esperado: … Obtido: …", 1, False),
        (BLANK_CAUSE, 1, True),
    ], groups(V)
    shapes = {g["message"] for g in valores["groups"][:1]}
    assert shapes <= {
        "AssertionError: O resultado deveria ter formato (2, 3), mas tem (4,)",
        "AssertionError: O resultado deveria ter formato (2, 3), mas tem (3, 2)",
    }
    first = valores["groups"][0]
    assert "X[X > 0]" in first["example"]["answer"] or "X[:, X.sum(axis=1) > 0]" in first["example"]["answer"]
    # linhas_positivas_casos_limite: "Colunas" and "Eixo" crash in their own code with an IndexError whose
    # numbers differ (axis 1 or 0, sizes 3 and 2): one group, apart from the "Elementos" shape check;
    # "Lista" passes the visible part and fails the hidden one (no row positive: shape (0,), not (0, 6))
    limite = questions[L]
    assert limite["failed"] == 6, groups(L)
    causes = dict((c, n) for c, n, _ in groups(L))
    crash = next(c for c in causes if c.startswith("IndexError: boolean index did not match"))
    assert causes[crash] == 2 and "…" in crash
    # the literal numbers of the check's message are its own: only what it formats is masked
    shape = "Uma linha de soma 0 não tem soma positiva: o resultado deveria ter formato (1, 3), mas tem …"
    assert causes[shape] == 2, causes
    hidden = "Quando nenhuma linha tem soma positiva, o resultado deveria ter formato (0, 6), mas tem …"
    assert causes[hidden] == 1 and causes[BLANK_CAUSE] == 1
    assert limite["hidden_failed"] == 1 and limite["hidden_checks"] == [{"check": hidden, "count": 1}]
    assert questions[V]["hidden_failed"] == 0
    # linhas_positivas_sem_laco: no point for "no loop" without the values, so the wrong answers fail it on
    # their values ("Elementos") or their crash ("Colunas", "Eixo"); the list's comprehension is a loop; the blank
    assert [(c, n) for c, n, _ in groups(LS)] == [
        ("linhas_positivas deveria devolver [[3.0, 4.0]] para X = …, mas devolveu …", 2),
        (
            "IndexError: boolean index did not match indexed array along axis …; size of axis is … but size of "
            "corresponding boolean axis is … (em linhas_positivas)",
            2,
        ),
        (
            "linhas_positivas não deveria ter laços Python, mas o código dela (ou de uma função auxiliar que ela "
            "usa) tem … (for, while, compreensões, recursão, eval, getattr, map, filter, np.vectorize ou "
            "np.apply_along_axis). "
            "Só a leitura do código mostra isso: os valores podem estar certos. Use uma máscara booleana: "
            "X[mascara]",
            1,
        ),
        (BLANK_CAUSE, 1),
    ]
    # every other question: everyone passed
    assert all(q["failed"] == 0 for cell, q in questions.items() if cell not in (V, L, LS))


@pytest.mark.slow
def test_the_overview_and_terminal_of_the_graded_class(graded):
    run, scores, folder = graded
    page = (folder / "index.html").read_text(encoding="utf-8")
    section = page.split('<h2 id="causas">', 1)[1].split("<h2", 1)[0]
    assert f'id="causas-{ASSIGNMENT}--{V}"' in section and "X[X &gt; 0]" in section
    assert "### BEGIN HIDDEN TESTS" not in section and "rng_teste" not in section  # never the tests' code
    assert (
        "O que a turma mais errou" in run.table
        and "O resultado deveria ter formato …, mas tem …" in run.table
    )


@pytest.mark.slow
def test_no_other_students_answer_in_the_feedback_pages_or_zip(graded):
    _, scores, folder = graded
    codes = {name: catalogue_code(answer) for name, answer in CLASS.items() if answer}
    lines = {name: [ln.strip() for ln in code.splitlines() if "return" in ln] for name, code in codes.items()}
    pages = {p.name: p.read_text(encoding="utf-8") for p in (folder / "feedback").glob("*.html")}
    assert len(pages) == len(CLASS)
    with zipfile.ZipFile(folder / "feedback_moodle.zip") as archive:
        zipped = {n: archive.read(n).decode("utf-8") for n in archive.namelist()}
    assert len(zipped) == len(CLASS)
    for where, text in [*pages.items(), *zipped.items()]:
        assert "O que a turma errou" not in text and "causas-" not in text, where
        for name, returned in lines.items():
            for line in returned:  # the answers' code is nowhere on a student's page, their own neither
                assert line not in text and line.replace(">", "&gt;") not in text, (where, name)
        owner = int(re.search(r"(?<!\d)(5\d\d)(?!\d)", where).group(1))  # the participant id: 501, 502...
        for number, name in enumerate(CLASS, 501):  # its student is named on it, no other one
            assert (name in text) == (number == owner), (where, name)
