"""Benchmark do relatório de similaridade: uma turma sintética de N alunos × E exercícios.

    .venv/bin/python bench/similarity.py                      # 200 alunos, 15 exercícios
    .venv/bin/python bench/similarity.py --students 400 --previous 400

Monta, numa pasta temporária, um curso com uma atividade de dois notebooks (programacao_diferenciavel e
grafo_computacional: 22 células de resposta, as E primeiras respondidas) e uma pasta autograded/ como a que
`grader grade` deixa. Cada resposta é a assinatura da liberação seguida de 3 a 9 linhas sorteadas entre as
linhas de todas as respostas do catálogo de testes (certas e erradas), com constantes sorteadas; as respostas
escritas são frases sorteadas. Uma parte dos alunos (--copies) copia o notebook inteiro de outro, com as
variáveis renomeadas. Mede o tempo de `grader similarity` (o mesmo código, sem o processo) por etapa e diz
quantas cópias plantadas foram encontradas. Não faz parte da suíte de testes.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from grader.config import load_settings  # noqa: E402
from grader.grading import similarity  # noqa: E402
from grader.intake.assignment import Assignment  # noqa: E402
from grader.nbmeta import is_answer, nbgrader_meta  # noqa: E402
from tests.catalogue import grafo_computacional, programacao_diferenciavel  # noqa: E402
from tests.helpers import course_config  # noqa: E402

ASSIGNMENT = "bench"
NOTEBOOKS = ("programacao_diferenciavel", "grafo_computacional")
WORDS = (
    "a versão vetorizada é mais rápida porque o laço em Python paga o interpretador a cada linha e a "
    "multiplicação de matrizes usa código compilado BLAS vários núcleos memória cache tempo medido "
    "gradiente derivada grafo computacional operação tensor"
).split()


def body_lines() -> list[str]:
    """Every line inside the catalogue's answers, dedented one level: the material answers are drawn from."""
    lines = []
    for module in (programacao_diferenciavel, grafo_computacional):
        for answer in module.ANSWERS:
            for line in answer.code.splitlines():
                if line.startswith("    ") and line.strip() and not line.strip().startswith(("#", '"""')):
                    lines.append(line[4:])
    return lines


def make_answer(given: str, code: bool, pool: list[str], rng: random.Random) -> str:
    if not code:
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(25, 60))).capitalize() + "."
    head = next((line for line in given.splitlines() if line.startswith("def ")), None)
    body = [
        re.sub(r"\b\d+\b", lambda m: str(rng.randint(0, 99)), rng.choice(pool))
        for _ in range(rng.randint(3, 9))
    ]
    if head is None:
        return "\n".join(body) + "\n"
    return head + "\n" + "\n".join("    " + line for line in body) + "\n"


def rename(text: str, rng: random.Random) -> str:
    names = sorted(set(re.findall(r"(?<![.\w])([a-z_]\w*)\s*=(?!=)", text)))
    for name in names:
        text = re.sub(rf"(?<![.\w]){re.escape(name)}\b(?!\s*=[^=])", f"{name}_{rng.randint(0, 9)}", text)
        text = re.sub(rf"(?<![.\w]){re.escape(name)}(\s*=[^=])", rf"{name}_x\1", text)
    return text


def build(folder: Path, students: int, exercises: int, copies: float, previous: int, seed: int):
    course = folder / "curso"
    for notebook in NOTEBOOKS:
        for part in ("source", "release"):
            (course / part / ASSIGNMENT).mkdir(parents=True, exist_ok=True)
            shutil.copy(REPO / part / notebook / f"{notebook}.ipynb", course / part / ASSIGNMENT)
    (course / "grader_config.py").write_text(course_config([ASSIGNMENT]))
    settings = load_settings(course)
    releases = Assignment.load(settings, ASSIGNMENT).releases
    answered = [
        (name, nbgrader_meta(cell)["grade_id"])
        for name, nb in releases.items()
        for cell in nb.cells
        if is_answer(cell)
    ][:exercises]
    pool, rng = body_lines(), random.Random(seed)
    planted, copiers = 0, set()
    notebooks = {}
    ids = [f"{n:06d}" for n in range(students + previous)]
    for n, student in enumerate(ids):
        source = ids[rng.randrange(n)] if n and rng.random() < copies else None
        notebooks[student] = {}
        for name, release in releases.items():
            nb = nbformat.from_dict(json.loads(json.dumps(release)))
            for cell in nb.cells:
                if (name, nbgrader_meta(cell).get("grade_id")) in answered:
                    if source is not None:
                        cell.source = rename(notebooks[source][name][nbgrader_meta(cell)["grade_id"]], rng)
                    else:
                        cell.source = make_answer(cell.source, cell.cell_type == "code", pool, rng)
            notebooks[student][name] = {nbgrader_meta(c).get("grade_id"): c.source for c in nb.cells}
            root = settings.autograded_dir if n < students else folder / "anterior" / "autograded"
            (root / student / ASSIGNMENT).mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, root / student / ASSIGNMENT / f"{name}.ipynb")
        if source is not None and (n < students or int(source) < students):
            copiers.add((source, student))
            planted += len(answered)
    return settings, len(answered), planted, copiers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--exercises", type=int, default=15)
    parser.add_argument(
        "--copies", type=float, default=0.05, help="share of students who copy a whole notebook"
    )
    parser.add_argument(
        "--previous", type=int, default=0, help="students of an earlier semester (--previous)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3, help="end-to-end runs (the machine may be shared)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench_similaridade_"))
    try:
        settings, exercises, planted, copiers = build(
            folder, args.students, args.exercises, args.copies, args.previous, args.seed
        )
        releases = Assignment.load(settings, ASSIGNMENT).releases
        started = time.perf_counter()
        notes: list[str] = []
        answers = similarity.load_class(settings.autograded_dir, ASSIGNMENT, list(releases), notes)
        if args.previous:
            answers += similarity.load_previous(
                folder / "anterior" / "autograded", ASSIGNMENT, list(releases), "anterior", notes
            )
        loaded = time.perf_counter()
        pairs, compared = similarity.find_pairs(releases, answers)
        found = time.perf_counter()
        similarity.write_report(
            folder / "reports" / ASSIGNMENT,
            ASSIGNMENT,
            pairs,
            args.students,
            compared,
            [],
            similarity.THRESHOLD,
            similarity.MIN_TOKENS,
        )
        written = time.perf_counter()
        wholes = []
        for _ in range(args.rounds):
            begin = time.perf_counter()
            report = similarity.similarity_report(
                settings,
                ASSIGNMENT,
                folder / "reports2",
                [folder / "anterior" / "autograded"] if args.previous else [],
            )
            wholes.append(time.perf_counter() - begin)
        couples = {(p.a.answer.student, p.b.answer.student) for p in pairs}
        hits = sum(
            1 for source, student in copiers if (source, student) in couples or (student, source) in couples
        )
        print(
            f"{args.students} alunos × {exercises} exercícios"
            + (f" + {args.previous} alunos de um semestre anterior" if args.previous else "")
            + f" ({len(answers)} respostas, {sum(compared.values())} comparadas)"
        )
        print(f"  leitura dos notebooks  {loaded - started:6.2f} s")
        print(f"  comparação             {found - loaded:6.2f} s")
        print(
            f"  relatório (json, html) {written - found:6.2f} s  ({report.html_path.stat().st_size // 1024} KiB)"
        )
        print(f"  total                  {written - started:6.2f} s")
        print(
            f"  similarity_report de ponta a ponta (como `grader similarity`, sem iniciar o Python): mediana "
            f"{statistics.median(wholes):.2f} s, mín. {min(wholes):.2f} s, máx. {max(wholes):.2f} s "
            f"em {len(wholes)} rodada(s)"
        )
        print(
            f"  {len(pairs)} pares de respostas relatados; cópias plantadas: {len(copiers)} alunos "
            f"({planted} respostas), {hits} pares de alunos encontrados"
        )
        if args.keep:
            print(f"pasta: {folder}")
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
