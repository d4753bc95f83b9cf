"""`grader release`: generate the student notebooks in release/ with nbgrader, add the Colab link, and check
the static part of the quality gate (no outputs in source/, valid and unique nbgrader metadata, nothing of a
solution or a hidden test left in release/). The graded part of the gate lives in grader/course/gate.py."""

from __future__ import annotations

import copy
import shutil
import tempfile
from pathlib import Path

import nbformat

from grader.config import Settings
from grader.nbgrader_app import run_generate_assignment
from grader.nbmeta import (
    HIDDEN_BEGIN,
    HIDDEN_END,
    MARKERS,
    SOLUTION_BEGIN,
    SOLUTION_END,
    grader_title,
    marked_lines,
    nbgrader_meta,
)

BADGE_CELL_ID = "abrir-no-colab"


def generate(settings: Settings, assignment: str, release_dir: Path | None = None) -> list[Path]:
    """Run nbgrader's generate_assignment into `release_dir` (default release/) and add the Colab link.

    Returns the release notebooks written."""
    settings.source_notebooks(assignment)  # fails clearly on an unknown assignment
    target = Path(release_dir or settings.release_dir)
    with tempfile.TemporaryDirectory() as scratch:
        # The gradebook is rebuilt from source/ by `grader grade`; generating writes only a scratch one, so a
        # dry run (the freshness test) never touches the instructor's database.
        run_generate_assignment(
            settings, assignment, Path(scratch) / "release", f"sqlite:///{scratch}/gradebook.db"
        )
        out = target / assignment
        if out.exists():
            shutil.rmtree(out)
        shutil.copytree(Path(scratch) / "release" / assignment, out)
    return link_notebooks(settings, out, assignment)


def install(settings: Settings, assignment: str, built: Path) -> None:
    """Replace release/<assignment>/ by the one generated (and checked) under `built`."""
    out = settings.release_dir / assignment
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(built / assignment, out)


def link_notebooks(settings: Settings, folder: Path, assignment: str) -> list[Path]:
    """Give every notebook in `folder` its Colab link to `<assignment>/<nb>.ipynb` in the students' repository
    (release/ and the published copy carry the same link). Returns the notebooks."""
    notebooks = sorted(folder.glob("*.ipynb"))
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        add_colab_link(nb, settings, f"{assignment}/{path.name}")
        nbformat.write(nb, path)
    return notebooks


def colab_url(settings: Settings, relative_path: str) -> str:
    repo = settings.student_repository_url.rstrip("/").removeprefix("https://github.com/")
    return f"https://colab.research.google.com/github/{repo}/blob/{settings.student_repository_branch}/{relative_path}"


def placeholder_warning(settings: Settings) -> str | None:
    """The warning to print while the students' repository is still the example one: its links lead nowhere."""
    url = settings.student_repository_url.strip()
    if url and "SEU-USUARIO" not in url:
        return None
    return (
        f"aviso: STUDENT_REPOSITORY_URL em grader_config.py ainda não é o repositório dos alunos "
        f'({url or "vazio"}): os links "Abrir no Colab" não abrem até você defini-lo e rodar '
        "`grader release` e `grader publish` de novo"
    )


def add_colab_link(nb, settings: Settings, relative_path: str) -> None:
    text = (
        f"[Abrir no Colab]({colab_url(settings, relative_path)}) · "
        "no Colab, salve uma cópia no seu Drive antes de editar (Arquivo → Salvar uma cópia no Drive)."
    )
    cell = nbformat.v4.new_markdown_cell(text)
    cell.id = BADGE_CELL_ID
    nb.cells = [c for c in nb.cells if c.get("id") != BADGE_CELL_ID]
    nb.cells.insert(0, cell)


class Finding(str):
    """One line of the gate's verdict. `convention`: what this course's conventions recommend (a warning, unless
    STRICT_CONVENTIONS), as opposed to what nbgrader's model requires or what must never reach students (an
    error: the release is not written)."""

    convention: bool

    def __new__(cls, text: str, convention: bool = False) -> Finding:
        found = super().__new__(cls, text)
        found.convention = convention
        return found


def static_problems(source_path: Path, release_path: Path | None) -> list[Finding]:
    """What is wrong with a source notebook (and its release), one line each; empty when all is well.

    Required, as nbgrader's own validator (nbgrader.nbgraderformat, v3) and gradebook see it: valid JSON and
    metadata, a grade_id on every nbgrader cell, unique in the notebook, points on graded cells, written answers
    both graded and solution, tasks in markdown; nothing of a solution or hidden test in the release.
    Conventions of this course: no outputs in source/ (nbgrader clears them), graded cells worth points, test
    cells locked (nbgrader locks them anyway), code solutions between ### BEGIN/END SOLUTION (nbgrader replaces
    an unmarked one by the stub)."""
    from nbgrader.nbgraderformat import MetadataValidator, ValidationError
    from nbgrader.nbgraderformat.common import SchemaMismatchError

    name = source_path.name
    problems: list[Finding] = []
    src = nbformat.read(source_path, as_version=4)
    try:
        nbformat.validate(src)
    except nbformat.ValidationError as exc:
        problems.append(Finding(f"{name}: JSON de notebook inválido: {exc.message}"))
    problems += [Finding(line, convention=True) for line in output_problems(src, name)]
    validator = MetadataValidator()
    ids: dict[str, int] = {}
    titles: dict[str, int] = {}
    for index, cell in enumerate(src.cells):
        meta = nbgrader_meta(cell)
        if not meta:
            continue
        grade_id = meta.get("grade_id")
        cell_problems = _metadata_problems(name, index, cell, meta)
        if not cell_problems:
            try:
                validator.validate_cell(cell)
            except SchemaMismatchError as exc:
                cell_problems.append(
                    f"{name}: célula {index}: metadados do nbgrader na versão {exc.actual_version} "
                    f"do esquema (o nbgrader 0.9 lê a {exc.expected_version}): rode `nbgrader "
                    "update` na pasta source/"
                )
            except ValidationError as exc:
                cell_problems.append(
                    f"{name}: célula {index}: metadados do nbgrader inválidos ({str(exc).splitlines()[0]})"
                )
        problems += [Finding(line) for line in cell_problems]
        if not grade_id or not (meta.get("grade") or meta.get("solution") or meta.get("locked")):
            continue
        if grade_id in ids:
            problems.append(
                Finding(f"{name}: grade_id repetido {grade_id!r} (células {ids[grade_id]} e {index})")
            )
        ids[grade_id] = index
        if meta.get("grade") and _points(meta) == 0:
            problems.append(Finding(f"{name}: célula avaliada {grade_id!r} sem pontos", convention=True))
        if meta.get("grade") or meta.get("task"):
            title = grader_title(cell)
            if not title:
                problems.append(
                    Finding(
                        f"{name}: célula avaliada {grade_id!r} sem título para os alunos "
                        '(metadata["grader"]["title"]: as devolutivas e o Moodle o mostram)',
                        convention=True,
                    )
                )
            elif title in titles:
                problems.append(
                    Finding(
                        f"{name}: título {title!r} repetido (células {titles[title]} e {index})",
                        convention=True,
                    )
                )
            titles.setdefault(title, index)
        if meta.get("grade") and not meta.get("solution") and not meta.get("locked"):
            problems.append(
                Finding(
                    f"{name}: célula de teste {grade_id!r} não está travada (locked): o nbgrader "
                    "a trata como travada",
                    convention=True,
                )
            )
        if (
            meta.get("solution")
            and cell.cell_type == "code"
            and not any(SOLUTION_BEGIN.match(line) for line in cell.source.splitlines())
        ):
            problems.append(
                Finding(
                    f"{name}: célula de solução {grade_id!r} sem ### BEGIN SOLUTION: a liberação "
                    "troca a célula inteira pelo esboço",
                    convention=True,
                )
            )
    if release_path is not None:
        problems += [Finding(line) for line in release_leaks(src, release_path)]
    return problems


def _points(meta: dict) -> float | None:
    try:
        return float(meta["points"])
    except (KeyError, TypeError, ValueError):
        return None


def _metadata_problems(name: str, index: int, cell, meta: dict) -> list[str]:
    """nbgrader's rules for one cell's metadata (MetadataValidatorV3.validate_cell), said in Portuguese."""
    where = f"{name}: célula {index}"
    grade, solution, locked, task = (bool(meta.get(k)) for k in ("grade", "solution", "locked", "task"))
    if (grade or solution or locked or task) and not meta.get("grade_id"):
        return [f"{where} tem metadados do nbgrader sem grade_id"]
    grade_id = meta.get("grade_id")
    if grade and _points(meta) is None:
        return [f"{where} ({grade_id!r}) é avaliada e não tem pontos (points)"]
    if task and cell.cell_type != "markdown":
        return [f"{where} ({grade_id!r}) é uma tarefa (task) e não é markdown"]
    if not task and cell.cell_type == "markdown" and grade != solution:
        return [
            f"{where} ({grade_id!r}): uma resposta escrita em markdown precisa ser avaliada (grade) e de "
            "solução (solution) ao mesmo tempo"
        ]
    return []


def output_problems(nb, name: str) -> list[str]:
    return [
        f"{name}: célula {index} tem saídas; limpe-as antes de liberar"
        for index, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count"))
    ]


def marker_problems(name: str, text: str) -> list[str]:
    return [f"{name}: a liberação contém o marcador {marker!r}" for marker in MARKERS if marker in text]


def solved_copy(source) -> nbformat.NotebookNode:
    """The source as a student who solved everything hands it in: no markers, no hidden tests. The gate's
    reference submission, the examples' right answers and the catalogues' base notebook."""
    nb = copy.deepcopy(source)
    for cell in nb.cells:
        lines, kept, hidden = cell.source.splitlines(), [], False
        for line in lines:
            if HIDDEN_BEGIN.match(line) or HIDDEN_END.match(line):
                hidden = HIDDEN_BEGIN.match(line) is not None
            elif not hidden and not SOLUTION_BEGIN.match(line) and not SOLUTION_END.match(line):
                kept.append(line)
        cell.source = "\n".join(kept)
    return nb


def release_leaks(src, release_path: Path) -> list[str]:
    """Solution lines or hidden tests that reached the release (each cell against its own release cell)."""
    problems = []
    rel = nbformat.read(release_path, as_version=4)
    problems += marker_problems(release_path.name, nbformat.writes(rel))
    released = {nbgrader_meta(c).get("grade_id"): c for c in rel.cells if nbgrader_meta(c).get("grade_id")}
    for cell in src.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id is None:
            continue
        if grade_id not in released:
            problems.append(f"{release_path.name}: a célula {grade_id!r} falta na liberação")
            continue
        released_lines = {line.strip() for line in released[grade_id].source.splitlines()}
        secret = marked_lines(cell.source, SOLUTION_BEGIN, SOLUTION_END) + marked_lines(
            cell.source, HIDDEN_BEGIN, HIDDEN_END
        )
        # Lines that also stand outside the markers (a bare `return`, a comment) leak nothing.
        public = set()
        inside = False
        for line in cell.source.splitlines():
            if SOLUTION_BEGIN.match(line) or HIDDEN_BEGIN.match(line):
                inside = True
            elif SOLUTION_END.match(line) or HIDDEN_END.match(line):
                inside = False
            elif not inside:
                public.add(line.strip())
        for line in secret:
            if line in released_lines and line not in public and not line.startswith("#"):
                problems.append(f"{release_path.name}: {grade_id!r} expõe a linha secreta {line!r}")
    return problems
