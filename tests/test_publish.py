"""`grader publish`: the students' repository gets exactly the release (notebooks with Colab links to it, data
files, a README), never the course repository's secrets, in real git repositories. Nothing here runs a kernel."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import nbformat
import pytest

from grader import nbmeta
from grader.cli import main
from grader.config import load_settings
from grader.course import publish
from grader.errors import UserError
from tests.helpers import EXAMPLES, REPO, course_config, repo_assignments

ASSIGNMENTS = repo_assignments()  # every assignment of the real course
STUDENTS = "https://github.com/prof/curso-alunos"
COLAB = "https://colab.research.google.com/github/prof/curso-alunos/blob/main/"
NOTEBOOKS = [f"{a}/{a}.ipynb" for a in sorted(ASSIGNMENTS)]
FIRST = EXAMPLES  # the assignment with example submissions


def git(folder, *args) -> str:
    return subprocess.run(
        ["git", "-C", str(folder), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def tree(folder) -> list[str]:
    return sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and p.relative_to(folder).parts[0] != ".git"
    )


def make_course(tmp_path, **values):
    """A private copy of the course, a git repository whose remote is git@github.com:prof/curso.git."""
    course = tmp_path / "curso"
    for part in ("source", "release", "examples", "tests"):
        shutil.copytree(REPO / part, course / part, ignore=shutil.ignore_patterns("__pycache__"))
    values = {"STUDENT_REPOSITORY_URL": STUDENTS, **values}
    (course / "grader_config.py").write_text(course_config(ASSIGNMENTS, **values))
    git(course, "init", "-q")
    git(course, "remote", "add", "origin", "git@github.com:prof/curso.git")
    return load_settings(course)


@pytest.fixture
def settings(tmp_path):
    return make_course(tmp_path)


def nbgrader_cell(nb, predicate):
    return next(c for c in nb.cells if predicate(nbmeta.nbgrader_meta(c), c))


def test_published_tree_is_the_release_with_links_to_the_students_repository(settings, tmp_path):
    # A data file: nbgrader copies it from source/ into release/ unchanged, and students need it.
    for part in (settings.source_dir, settings.release_dir):
        (part / FIRST / "dados.csv").write_text("x,y\n1,2\n")
    to = tmp_path / "alunos"
    done = publish.publish(settings, [], to)
    assert done.problems == []
    assert done.files == tree(to) == sorted(["README.md", f"{FIRST}/dados.csv", *NOTEBOOKS])
    assert git(to, "status", "--porcelain") == "" and git(to, "rev-list", "--count", "HEAD") == "1"
    assert git(to, "log", "-1", "--format=%s") == "Publica " + ", ".join(sorted(ASSIGNMENTS))
    assert f"- {FIRST}/dados.csv (novo)" in git(to, "log", "-1", "--format=%b")
    assert done.push == [f"git -C {to} remote add origin {STUDENTS}", f"git -C {to} push -u origin HEAD:main"]
    readme = (to / "README.md").read_text()
    for word in ("Salvar uma cópia no Drive", "Baixar o .ipynb", "Moodle"):
        assert word in readme
    links = []
    for name in NOTEBOOKS:
        published = nbformat.read(to / name, 4)
        assert published.cells[0].source.startswith(f"[Abrir no Colab]({COLAB}{name})")
        assert f"({COLAB}{name})" in readme
        assert published.cells[1:] == nbformat.read(settings.release_dir / name, 4).cells[1:]
        links += re.findall(r"https://colab\.research\.google\.com/[^)\s\"]*", (to / name).read_text())
    links += re.findall(r"https://colab\.research\.google\.com/[^)\s\"]*", readme)
    assert len(links) == 2 * len(NOTEBOOKS) and all(link.startswith(COLAB) for link in links)


@pytest.mark.slow
def test_republishing_commits_only_what_changed(settings, tmp_path, capsys):
    to = tmp_path / "alunos"
    command = ["--course-dir", str(settings.course_dir), "publish", "--to", str(to)]
    assert main(command) == 0
    first = capsys.readouterr()
    assert "commit " in first.out and "git -C" in first.out and "aviso" not in first.err
    assert main(command) == 0
    assert "nada a commitar" in capsys.readouterr().out
    assert git(to, "rev-list", "--count", "HEAD") == "1"

    changed = settings.release_dir / "grafo_computacional" / "grafo_computacional.ipynb"
    nb = nbformat.read(changed, 4)
    nb.cells.append(nbformat.v4.new_markdown_cell("Uma dica nova."))
    nbformat.write(nb, changed)
    assert main(command[:3] + ["grafo_computacional"] + command[3:]) == 0
    assert git(to, "rev-list", "--count", "HEAD") == "2"
    assert git(to, "log", "-1", "--format=%B") == (
        "Publica grafo_computacional\n\n- grafo_computacional/grafo_computacional.ipynb (alterado)"
    )
    assert (
        nbformat.read(to / "grafo_computacional" / "grafo_computacional.ipynb", 4).cells[-1].source
        == "Uma dica nova."
    )


@pytest.mark.parametrize("url", ["", "https://github.com/SEU-USUARIO/programacao-diferenciavel-alunos"])
def test_placeholder_url_warns_that_the_links_are_dead(tmp_path, capsys, url):
    settings = make_course(tmp_path, STUDENT_REPOSITORY_URL=url)
    assert main(["--course-dir", str(settings.course_dir), "publish", "--to", str(tmp_path / "alunos")]) == 0
    err = capsys.readouterr().err
    assert err.startswith("aviso: STUDENT_REPOSITORY_URL") and "não abrem" in err


def test_leftover_repository_url_is_refused(tmp_path):
    settings = make_course(tmp_path)
    config = settings.course_dir / "grader_config.py"
    config.write_text(config.read_text() + '\nREPOSITORY_URL = "https://github.com/prof/curso"\n')
    with pytest.raises(UserError, match="REPOSITORY_URL não é mais usado"):
        load_settings(settings.course_dir)


@pytest.mark.parametrize("where", ["course", "inside", "clone", "student url"])
def test_publishing_into_the_course_repository_is_refused(tmp_path, where):
    settings = make_course(
        tmp_path,
        **({"STUDENT_REPOSITORY_URL": "https://github.com/prof/curso"} if where == "student url" else {}),
    )
    to = {"course": settings.course_dir, "inside": settings.course_dir / "alunos"}.get(
        where, tmp_path / "alunos"
    )
    if where == "clone":  # the course's remote, spelt another way
        to.mkdir()
        git(to, "init", "-q")
        git(to, "remote", "add", "origin", "https://github.com/Prof/curso/")
    before = tree(tmp_path)
    with pytest.raises(UserError, match="repositório do curso") as refused:
        publish.publish(settings, [], to)
    assert "\n" not in str(refused.value)
    assert tree(tmp_path) == before


def test_folder_with_unknown_files_is_refused(settings, tmp_path):
    to = tmp_path / "alunos"
    publish.publish(settings, [], to)
    (to / "notas.txt").write_text("Ana 10")
    (to / "rascunhos").mkdir()
    with pytest.raises(UserError, match=r"\(notas\.txt, rascunhos/\)"):
        publish.publish(settings, [], to)
    assert git(to, "rev-list", "--count", "HEAD") == "1"


def plant_solution_line(settings):
    path = settings.release_dir / FIRST / f"{FIRST}.ipynb"
    source = nbformat.read(settings.source_dir / FIRST / f"{FIRST}.ipynb", 4)
    answer = nbgrader_cell(source, lambda m, c: m.get("solution") and c.cell_type == "code")
    secret = next(
        line
        for line in nbmeta.marked_lines(answer.source, nbmeta.SOLUTION_BEGIN, nbmeta.SOLUTION_END)
        if not line.startswith("#")
    )
    nb = nbformat.read(path, 4)
    stub = nbgrader_cell(nb, lambda m, c: m.get("grade_id") == answer.metadata["nbgrader"]["grade_id"])
    stub.source = stub.source.replace("raise NotImplementedError()", secret)
    nbformat.write(nb, path)
    return "expõe a linha secreta"


def plant_hidden_test(settings):
    path = settings.release_dir / FIRST / f"{FIRST}.ipynb"
    source = nbformat.read(settings.source_dir / FIRST / f"{FIRST}.ipynb", 4)
    test = nbgrader_cell(source, lambda m, c: m.get("grade") and "### BEGIN HIDDEN TESTS" in c.source)
    secret = nbmeta.marked_lines(test.source, nbmeta.HIDDEN_BEGIN, nbmeta.HIDDEN_END)[0]
    nb = nbformat.read(path, 4)
    visible = nbgrader_cell(nb, lambda m, c: m.get("grade_id") == test.metadata["nbgrader"]["grade_id"])
    visible.source += "\n" + secret
    nbformat.write(nb, path)
    return "expõe a linha secreta"


def plant_source_copy(settings):
    shutil.copyfile(
        settings.source_dir / FIRST / f"{FIRST}.ipynb", settings.release_dir / FIRST / "referencia.ipynb"
    )
    return f"tem o conteúdo de source/{FIRST}/{FIRST}.ipynb"


def plant_solved_example_saved_again(settings):  # no marker left: only the content gives it away
    example = next((settings.course_dir / "examples" / "submissions" / FIRST / "ana").rglob("*.ipynb"))
    copy = json.dumps(json.loads(example.read_text()), indent=2, ensure_ascii=True)
    (settings.release_dir / "grafo_computacional" / "exemplo.ipynb").write_text(copy)
    return f"tem o conteúdo de {example.relative_to(settings.course_dir).as_posix()}"


def plant_catalogue(settings):
    shutil.copyfile(
        settings.course_dir / "tests" / "catalogue" / f"{FIRST}.py", settings.release_dir / FIRST / "ajuda.py"
    )
    return f"tem o conteúdo de tests/catalogue/{FIRST}.py"


@pytest.mark.slow
@pytest.mark.parametrize(
    "plant",
    [
        plant_solution_line,
        plant_hidden_test,
        plant_source_copy,
        plant_solved_example_saved_again,
        plant_catalogue,
    ],
)
def test_planted_leak_is_refused_and_nothing_is_written(settings, tmp_path, capsys, plant):
    to = tmp_path / "alunos"
    publish.publish(settings, [], to)
    published = {name: (to / name).read_bytes() for name in tree(to)}
    expected = plant(settings)
    done = publish.publish(settings, [], to)
    assert any(expected in line for line in done.problems), done.problems
    assert {name: (to / name).read_bytes() for name in tree(to)} == published
    assert git(to, "rev-list", "--count", "HEAD") == "1" and git(to, "status", "--porcelain") == ""
    assert main(["--course-dir", str(settings.course_dir), "publish", "--to", str(to)]) == 2
    out, err = capsys.readouterr()
    assert expected in out and err.startswith("erro: nada foi publicado") and err.count("\n") == 1
