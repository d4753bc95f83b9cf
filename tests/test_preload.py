"""What each warm server imports once (grader/intake/assignment.py's `Assignment.imports`): the student's server what
the notebook's own cells use, the test kernel's server what the test cells run; torch._dynamo (0.8 s per server)
only where code runs the profiler, torch.func or torch.compile. Fast: no kernel runs."""

from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from grader.config import load_settings
from grader.intake.assignment import DYNAMO, MEASURE_MARK, Assignment
from grader.kernels.standalone.inkernel import runtime
from grader.nbmeta import is_test_cell
from tests.helpers import REPO, with_meta

MEASURE = f"""import torch

@{MEASURE_MARK}
def _pico(chamada):
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True):
        chamada()

assert torch.ones(2).sum() == 2"""


def _assignment(student: str, test: str) -> Assignment:
    nb = new_notebook(
        cells=[
            new_code_cell(student),
            with_meta(new_code_cell(test), "teste", grade=True, locked=True, points=1),
        ]
    )
    return Assignment("a", {"a": nb}, {"a": nbformat.from_dict(nb)})


def test_the_marker_is_the_test_kernels():
    assert MEASURE_MARK == runtime.MEASURE_MARK


def test_meta_tensors_get_symbolic_shapes_but_not_dynamo():
    assignment = _assignment(
        "import torch", "import torch\nassert torch.randn(2, device='meta').shape == (2,)"
    )
    for tests in (False, True):
        preload = assignment.imports(tests=tests)
        assert "torch.fx.experimental.symbolic_shapes" in preload
        assert DYNAMO not in preload


def test_the_profiler_run_by_the_student_gets_dynamo_on_the_students_side_only():
    assignment = _assignment("from torch.profiler import profile", MEASURE)
    assert DYNAMO in assignment.imports(tests=False)
    # the test's memory measure runs outside the test kernel: its profiler import is not the test kernel's
    test_side = assignment.imports(tests=True)
    assert DYNAMO not in test_side and "torch" in test_side


def test_the_same_profiler_outside_a_measure_is_the_test_kernels():
    assignment = _assignment("import torch", MEASURE.replace(f"@{MEASURE_MARK}\n", ""))
    assert DYNAMO in assignment.imports(tests=True)


def test_torch_func_and_compile_used_as_attributes_get_dynamo():
    for use in ("torch.func.grad(f)(x)", "torch.compile(f)"):
        assignment = _assignment("import torch", f"import torch\nf = lambda x: x\nx = torch.ones(1)\n{use}")
        assert DYNAMO in assignment.imports(tests=True), use
        assert DYNAMO not in assignment.imports(tests=False), use


def test_the_course_assignments():
    settings = load_settings(REPO)
    first = Assignment.load(settings, "programacao_diferenciavel")
    # the notebook runs the profiler; its tests measure memory from outside and make meta tensors
    assert DYNAMO in first.imports(tests=False)
    assert DYNAMO not in first.imports(tests=True)
    assert "torch.fx.experimental.symbolic_shapes" in first.imports(tests=True)
    second = Assignment.load(settings, "diferenciacao_automatica")
    assert DYNAMO in second.imports(tests=True)  # its tests compare with torch.func's Jacobians


def test_the_servers_learn_the_instructors_cells_and_never_a_students():
    """pipeline._instructor_cells, what the warm servers parse before they fork: every test cell and given cell a
    normalized submission runs is among them (edited tests are overwritten by source/'s, lesson cells left as
    released are the release's), and no text of the student's is (an edited lesson cell, one padded with
    whitespace, which still counts as given, an added cell that claims nbgrader's metadata): the servers serve
    the whole class (a padded cell parsed by every slot's server could stall them all, and what the padding
    encodes would reach the next students' kernels)."""
    import copy

    from grader.grading.pipeline import _instructor_cells
    from grader.intake.normalize import normalize
    from grader.kernels.execute import lessons

    assignment = Assignment.load(load_settings(REPO), "programacao_diferenciavel")
    tests, given = _instructor_cells(assignment)
    source = assignment.sources["programacao_diferenciavel"]
    release = assignment.releases["programacao_diferenciavel"]
    assert len(tests) == sum(c.cell_type == "code" and is_test_cell(c) for c in source.cells)
    student = copy.deepcopy(release)
    edited = next(c for c in student.cells if c.cell_type == "code" and is_test_cell(c))
    edited.source += "\nprint('mudei o teste')"
    lessons_cells = [c for c in student.cells if c.cell_type == "code" and "nbgrader" not in c.metadata]
    lesson, padded = lessons_cells[0], lessons_cells[1]
    lesson.source += "\n# mudei a aula"
    padded.source += " \n" * 10_000  # still the release's text to normalize (which ignores blank ends): given
    added = with_meta(new_code_cell("x = 1\n" * 1000), "falso", grade=True, locked=True, points=9)
    student.cells.insert(3, added)
    submitted_tests, submitted_given = lessons([normalize(student, source, release).notebook])
    assert set(submitted_tests) == set(tests) and padded.source in submitted_given
    learned = set(tests) | set(given)
    assert not {edited.source, lesson.source, padded.source, added.source} & learned
