"""Building the notebook that runs (grader/intake/normalize.py) from a student's notebook built in memory:
locked cells always come from source/ (hidden tests included), answers from the student, whatever the student
did to the notebook: cells edited, deleted, moved, added, nbgrader's metadata stripped by an editor."""

from __future__ import annotations

import copy

from nbformat.v4 import new_code_cell, new_markdown_cell
from nbgrader.utils import compute_checksum

from grader.course.release import solved_copy
from grader.intake.normalize import align, defined_names, normalize
from grader.nbmeta import is_answer, is_locked, nbgrader_meta
from tests.helpers import cell_by_grade_id, mini_source, with_meta

STUB = "    # SEU CÓDIGO AQUI\n    raise NotImplementedError()"


def released(source):
    """The student version, as nbgrader's generate_assignment makes it: stubs for the solutions, no hidden
    tests, a checksum on each answer cell."""
    nb = copy.deepcopy(source)
    for cell in nb.cells:
        lines, kept, skip = cell.source.splitlines(), [], False
        for line in lines:
            if "### BEGIN SOLUTION" in line:
                kept.append(STUB if cell.cell_type == "code" else "ESCREVA AQUI")
                skip = True
            elif "### BEGIN HIDDEN TESTS" in line:
                skip = True
            elif "### END" in line:
                skip = False
            elif not skip:
                kept.append(line)
        cell.source = "\n".join(kept)
        if is_answer(cell):
            cell.metadata["nbgrader"]["checksum"] = compute_checksum(cell)
    return nb


SOURCE = mini_source()
RELEASE = released(SOURCE)
IDS = [
    "preparo",
    "resposta_dobro",
    "dobro_valores",
    "resposta_quadrado",
    "quadrado_valores",
    "resposta_explicacao",
]


def right():
    """A right submission, as the student saves it: the release with the answers filled in, run (outputs)."""
    nb = copy.deepcopy(RELEASE)
    solved = solved_copy(SOURCE)
    for grade_id in ("resposta_dobro", "resposta_quadrado"):
        cell_by_grade_id(nb, grade_id).source = cell_by_grade_id(solved, grade_id).source
    cell_by_grade_id(nb, "resposta_explicacao").source = "Porque dobrar é somar."
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [{"output_type": "stream", "name": "stdout", "text": "saída do aluno\n"}]
            cell.execution_count = 7
    return nb


def grade_ids(nb):
    return [nbgrader_meta(c).get("grade_id") for c in nb.cells]


def test_a_right_submission_runs_with_the_hidden_tests_and_nothing_of_its_outputs():
    student = right()
    done = normalize(student, SOURCE, RELEASE)
    nb = done.notebook
    assert grade_ids(nb) == [None, *IDS[:3], None, *IDS[3:]]
    assert (done.restored, done.overwritten, done.missing_answers) == ([], [], [])
    assert done.matched_by_content == 0 and done.anchor_share == 1.0
    for grade_id in ("dobro_valores", "quadrado_valores", "preparo"):  # from source/, hidden tests and all
        assert cell_by_grade_id(nb, grade_id).source == cell_by_grade_id(SOURCE, grade_id).source
    assert "BEGIN HIDDEN TESTS" in cell_by_grade_id(nb, "quadrado_valores").source
    for grade_id in ("resposta_dobro", "resposta_quadrado", "resposta_explicacao"):
        cell = cell_by_grade_id(nb, grade_id)
        assert cell.source == cell_by_grade_id(student, grade_id).source
        # checksum
        assert cell.metadata["nbgrader"] == cell_by_grade_id(RELEASE, grade_id).metadata["nbgrader"]
    assert all(c.outputs == [] and c.execution_count is None for c in nb.cells if c.cell_type == "code")
    assert [c.id for c in nb.cells] == [f"celula-{i}" for i in range(len(nb.cells))]
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert student.cells[3].outputs, "the student's notebook is left as it was"


def test_an_edited_test_cell_is_overwritten():
    student = right()
    cell_by_grade_id(student, "quadrado_valores").source = "pass"
    cell_by_grade_id(student, "preparo").source = "import math\nmath.pi = 3"
    done = normalize(student, SOURCE, RELEASE)
    assert done.overwritten == ["preparo", "quadrado_valores"] and done.restored == []
    assert (
        cell_by_grade_id(done.notebook, "quadrado_valores").source
        == cell_by_grade_id(SOURCE, "quadrado_valores").source
    )
    assert cell_by_grade_id(done.notebook, "preparo").source == "import math"


def test_a_deleted_test_cell_is_restored_in_its_place():
    student = right()
    student.cells = [c for c in student.cells if nbgrader_meta(c).get("grade_id") != "quadrado_valores"]
    done = normalize(student, SOURCE, RELEASE)
    assert done.restored == ["quadrado_valores"]
    assert grade_ids(done.notebook) == [None, *IDS[:3], None, *IDS[3:]]
    assert (
        cell_by_grade_id(done.notebook, "quadrado_valores").source
        == cell_by_grade_id(SOURCE, "quadrado_valores").source
    )
    assert done.anchor_share == 4 / 5  # of the release's fixed cells (markdown included), one is not there


def test_stripped_metadata_is_matched_by_content():
    student = right()
    for cell in student.cells:
        cell.metadata = {}
    done = normalize(student, SOURCE, RELEASE)
    assert grade_ids(done.notebook) == [None, *IDS[:3], None, *IDS[3:]]
    assert done.matched_by_content == 6 and done.restored == [] and done.overwritten == []
    assert (
        cell_by_grade_id(done.notebook, "quadrado_valores").source
        == cell_by_grade_id(SOURCE, "quadrado_valores").source
    )
    assert cell_by_grade_id(done.notebook, "resposta_quadrado").source == student.cells[5].source
    assert cell_by_grade_id(done.notebook, "resposta_explicacao").source == "Porque dobrar é somar."
    assert "checksum" in nbgrader_meta(cell_by_grade_id(done.notebook, "resposta_dobro"))


def test_a_test_cell_rewritten_without_metadata_is_restored_and_the_rewrite_not_graded():
    student = right()
    for cell in student.cells:
        cell.metadata = {}
    student.cells[6].source = "pass"
    done = normalize(student, SOURCE, RELEASE)
    assert done.restored == ["quadrado_valores"] and done.overwritten == []
    nb = done.notebook
    assert (
        cell_by_grade_id(nb, "quadrado_valores").source == cell_by_grade_id(SOURCE, "quadrado_valores").source
    )
    assert grade_ids(nb).count("quadrado_valores") == 1
    assert "pass" in [c.source for c in nb.cells if not nbgrader_meta(c)]


def test_an_answer_rewritten_from_scratch_without_metadata_is_found_by_its_place():
    student = right()
    for cell in student.cells:
        cell.metadata = {}
    student.cells[5].source = "quadrado = lambda x: x ** 2"  # shares nothing with the stub
    done = normalize(student, SOURCE, RELEASE)
    assert cell_by_grade_id(done.notebook, "resposta_quadrado").source == "quadrado = lambda x: x ** 2"
    assert done.missing_answers == [] and grade_ids(done.notebook) == [None, *IDS[:3], None, *IDS[3:]]


def test_added_cells_stay_in_place_and_are_never_graded():
    student = right()
    bonus = with_meta(new_code_cell("print('extra')"), "bonus", grade=True, locked=True, points=100)
    bonus.outputs = [{"output_type": "stream", "name": "stdout", "text": "extra\n"}]
    student.cells.insert(3, bonus)
    student.cells.insert(4, new_markdown_cell("Minhas notas"))
    done = normalize(student, SOURCE, RELEASE)
    nb = done.notebook
    assert [c.source for c in nb.cells[3:5]] == ["print('extra')", "Minhas notas"]
    assert "nbgrader" not in nb.cells[3].metadata and nb.cells[3].outputs == []
    assert grade_ids(nb) == [None, *IDS[:2], None, None, IDS[2], None, *IDS[3:]]
    assert done.restored == [] and done.anchor_share == 1.0


def test_a_moved_test_cell_runs_where_the_release_has_it():
    student = right()
    moved = cell_by_grade_id(student, "dobro_valores")
    student.cells.remove(moved)
    student.cells.append(moved)
    done = normalize(student, SOURCE, RELEASE)
    assert done.restored == ["dobro_valores"]  # not in order: put back in its place...
    nb = done.notebook
    assert grade_ids(nb)[:7] == [None, *IDS[:3], None, *IDS[3:5]]
    # ...and the student's copy at the end runs as an ordinary cell, not graded
    assert nb.cells[-1].source == moved.source and "nbgrader" not in nb.cells[-1].metadata
    assert grade_ids(nb).count("dobro_valores") == 1


def test_deleted_answers_and_lesson_cells():
    student = right()
    student.cells = [
        c
        for c in student.cells
        if nbgrader_meta(c).get("grade_id") != "resposta_dobro" and c.source != "Agora o quadrado."
    ]
    student.cells[0].source = "# Minha versão do enunciado"
    done = normalize(student, SOURCE, RELEASE)
    assert done.missing_answers == ["resposta_dobro"]
    nb = done.notebook
    assert cell_by_grade_id(nb, "resposta_dobro").source == cell_by_grade_id(RELEASE, "resposta_dobro").source
    assert "Agora o quadrado." not in [c.source for c in nb.cells]  # a lesson cell deleted stays deleted
    assert nb.cells[0].source == "# Minha versão do enunciado"  # an ordinary cell rewritten: the student's
    assert done.anchor_share == 3 / 5 and done.restored == []  # (it no longer counts as the release's)


def test_a_written_answer_keeps_its_attachments():
    student = right()
    answer = cell_by_grade_id(student, "resposta_explicacao")
    answer.source = "Veja: ![grafo](attachment:grafo.png)"
    answer.attachments = {"grafo.png": {"image/png": "iVBORw0KGgo="}}
    done = normalize(student, SOURCE, RELEASE)
    assert cell_by_grade_id(done.notebook, "resposta_explicacao").attachments == answer.attachments


def test_another_notebook_shares_no_anchors():
    other = [new_markdown_cell("# Outra atividade"), new_code_cell("print('outra')")]
    student = copy.deepcopy(RELEASE)
    student.cells = other
    done = normalize(student, SOURCE, RELEASE)
    assert done.anchor_share == 0.0
    assert done.restored == ["preparo", "dobro_valores", "quadrado_valores"]
    # answers are paired by place and type, whatever they hold: the anchor share tells this was no submission
    assert done.missing_answers == ["resposta_quadrado"]
    assert all(is_locked(cell_by_grade_id(done.notebook, g)) for g in ("preparo", "dobro_valores"))


def test_align_is_monotone_and_covers_both_sides():
    release = RELEASE.cells
    student = right().cells
    student = student[:2] + [new_code_cell("x = 1")] + student[2:4] + student[5:]  # one added, one deleted
    steps = align(release, student)
    assert sorted(r for r, _ in steps if r is not None) == list(range(len(release)))
    assert sorted(s for _, s in steps if s is not None) == list(range(len(student)))
    pairs = [(r, s) for r, s in steps if r is not None and s is not None]
    assert pairs == sorted(pairs) and [s for _, s in pairs] == sorted(s for _, s in pairs)
    assert (None, 2) in steps and (4, None) in steps


def test_defined_names():
    assert defined_names("def f(x):\n    y = 1\n    return y\ng = 2\n  h = 3") == {"f", "g"}
    assert defined_names("") == frozenset()


def test_jobs_count_the_answers_written_and_the_most_answered_run_first():
    """Job.answered: the answer cells the student changed from the release (a blank notebook runs in a second);
    the pipeline starts the most answered first, so a run does not end on one long notebook."""
    from grader.grading.job import Job
    from grader.grading.pipeline import longest_first
    from grader.intake.ingest import StudentSubmission

    blank = Job.build(
        StudentSubmission("em_branco"), "n", normalize(RELEASE, SOURCE, RELEASE).notebook, RELEASE
    )
    half = copy.deepcopy(RELEASE)
    cell_by_grade_id(half, "resposta_dobro").source = cell_by_grade_id(right(), "resposta_dobro").source
    half = Job.build(StudentSubmission("metade"), "n", normalize(half, SOURCE, RELEASE).notebook, RELEASE)
    full = Job.build(
        StudentSubmission("completo"), "n", normalize(right(), SOURCE, RELEASE).notebook, RELEASE
    )
    assert (blank.answered, half.answered, full.answered) == (0, 1, 3)
    again = Job.build(StudentSubmission("completo_2"), "n", copy.deepcopy(full.notebook), RELEASE)
    ordered = longest_first([blank, full, half, again])
    assert [j.student.student_id for j in ordered] == ["completo", "completo_2", "metade", "em_branco"]
    # a student's notebooks stay together (recorded when the last one has run), ranked by all they answered
    two = StudentSubmission("dois_notebooks")
    first, second = (Job.build(two, name, job.notebook, RELEASE) for name, job in (("a", half), ("b", half)))
    ordered = longest_first([blank, first, full, second])
    assert [(j.student.student_id, j.notebook_name) for j in ordered] == [
        ("completo", "n"),
        ("dois_notebooks", "a"),
        ("dois_notebooks", "b"),
        ("em_branco", "n"),
    ]
