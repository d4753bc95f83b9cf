"""Write examples/submissions/programacao_diferenciavel/: a small class for `grader demo`.

Run after changing source/ or release/ (`python examples/make_submissions.py`); a test checks that the
committed examples are what this script writes. Each student shows one thing the grader must get right.
"""

from __future__ import annotations

import copy
import json
import shutil
import sys
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from grader.course.release import solved_copy  # noqa: E402

ASSIGNMENT = "programacao_diferenciavel"
OUT = REPO / "examples" / "submissions" / ASSIGNMENT

# The mistake students make most in CP2: the temporary `D + C` costs one n×n buffer per iteration.
UPDATE_C_WITH_TEMPORARY = """def update_c(C, A, B, n_iter=2):
    D = torch.mm(A, B.t())
    for _ in range(n_iter):
        C[:] = D + C
    return C
"""
# The "stable" form of the original notebook, which overflows in float32 for y - x = 400.
STABLE_LOG_EXP_NAIVE = """def stable_log_exp(x, y):
    return torch.log(1 + torch.exp(y - x))
"""
# Hooks IPython so that every cell containing `assert` does nothing.
TAMPERING = """def _sem_asserts(linhas):
    return ["pass\\n"] if any("assert" in linha for linha in linhas) else linhas

get_ipython().input_transformers_cleanup.append(_sem_asserts)
"""
WRITTEN_ANSWER = (
    "Sim: a versão vetorizada foi dezenas de vezes mais rápida. O laço executa uma operação por linha "
    "no interpretador Python, enquanto `A @ B.T` faz uma única chamada a uma rotina otimizada de "
    "multiplicação de matrizes (BLAS), que usa vetorização SIMD, cache e vários núcleos."
)


def grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def as_student(source: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = solved_copy(source)
    for cell in nb.cells:
        if grade_id(cell) == "resposta_comparacao_tempo":
            cell.source = WRITTEN_ANSWER
    return nb


def replace(nb, cell_id: str, code: str):
    nb = copy.deepcopy(nb)
    next(c for c in nb.cells if grade_id(c) == cell_id).source = code
    return nb


def without(nb, cell_id: str):
    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells if grade_id(c) != cell_id]
    return nb


def stripped(nb):
    """What an editor that drops nbgrader's metadata hands back."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        cell.metadata = {}
    return nb


def write(student: str, filename: str, nb=None, raw: str | None = None) -> None:
    path = OUT / student / ASSIGNMENT / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(raw if raw is not None else nbformat.writes(nb) + "\n", encoding="utf-8")


def main() -> int:
    source = nbformat.read(REPO / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    release = nbformat.read(REPO / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    right = as_student(source)
    name = f"{ASSIGNMENT}.ipynb"
    if OUT.exists():
        shutil.rmtree(OUT)
    write("ana", name, right)  # everything right
    write("bruno", name, release)  # handed in the release untouched
    partly = replace(
        replace(right, "resposta_update_c", UPDATE_C_WITH_TEMPORARY),
        "resposta_stable_log_exp",
        STABLE_LOG_EXP_NAIVE,
    )
    write("carla", name, partly)  # two classic mistakes
    hidden = without(replace(right, "resposta_update_c", UPDATE_C_WITH_TEMPORARY), "update_c_memoria")
    write("davi", name, hidden)  # deleted the test cell that catches his mistake
    write("elisa", f"Cópia de {name}", stripped(right))  # Colab: renamed, metadata gone
    write("fabio", f"{ASSIGNMENT} (1).ipynb", right)  # browser's second download
    text = nbformat.writes(right)
    write("gabriel", name, raw=text[: len(text) // 2])  # upload cut in half: broken JSON
    a_b = next(c for c in right.cells if grade_id(c) == "resposta_A_B").source
    write(
        "helena", name, replace(release, "resposta_A_B", a_b + "\n\n" + TAMPERING)
    )  # solved nothing, hooks IPython
    (OUT / "igor" / ASSIGNMENT).mkdir(parents=True)
    (OUT / "igor" / ASSIGNMENT / "LEIAME.txt").write_text(
        "Professor, não consegui terminar.\n", encoding="utf-8"
    )
    print(json.dumps(sorted(p.name for p in OUT.iterdir())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
