"""`grader publish`: copy the release into the students' repository, a git folder apart from the course's.

The course repository holds source/ (solutions, hidden tests), examples/ and the catalogues, so it must stay
private; Colab opens only notebooks students can read, so students get a public repository of their own holding
exactly the release notebooks, their data files and a README. Before committing, the tree to publish goes through
the release gate's static checks and a comparison with every file of source/, examples/ and tests/.
"""

from __future__ import annotations

import hashlib
import re
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from grader.config import Settings
from grader.course import release
from grader.errors import UserError

STUDENT_README = """# Atividades — {course_id}

Os notebooks das atividades do curso. Para fazer uma atividade:

1. Abra o notebook no Google Colab pelo link da lista abaixo (ou pelo link "Abrir no Colab" no topo do
   notebook). Nada precisa ser instalado. Para usar GPU: Ambiente de execução → Alterar o tipo de ambiente de
   execução → GPU; o notebook escolhe o dispositivo sozinho.
2. Salve uma cópia no seu Drive antes de editar (Arquivo → Salvar uma cópia no Drive): o que você muda no
   notebook aberto pelo link não fica salvo.
3. Escreva seu código onde está `# SEU CÓDIGO AQUI`, apague o `raise NotImplementedError()` e rode a célula de
   teste logo abaixo: ela diz, em português, o que está errado. Os testes visíveis verificam o básico; na
   correção, testes ocultos verificam o resto (outras entradas, casos extremos, float32 e float64, memória).
   Não mude o nome nem a assinatura das funções e não apague as células de teste.
4. Baixe o notebook: Arquivo → Baixar → Baixar o .ipynb.
5. Entregue o arquivo `.ipynb` no Moodle, na tarefa da atividade.

Prefere o JupyterLab? Baixe o `.ipynb` daqui, instale `pip install torch numpy matplotlib jupyterlab` e rode
`jupyter lab`.

## Atividades

{assignments}
"""


@dataclass
class Publication:
    folder: Path
    problems: list[str] = field(default_factory=list)  # what would leak: nothing was written
    files: list[str] = field(default_factory=list)  # the published tree, relative to folder
    commit: str | None = None  # "<hash> <subject>"; None: nothing changed
    push: list[str] = field(default_factory=list)  # the commands that send the commit to the students


def publish(settings: Settings, assignments: list[str], to: Path) -> Publication:
    """Write release/<assignment>/ and a README into the students' repository `to` and commit them."""
    assignments = assignments or settings.assignments
    for assignment in assignments:
        settings.source_notebooks(assignment)  # fails clearly on an unknown assignment
        if not any((settings.release_dir / assignment).glob("*.ipynb")):
            raise UserError(
                f"{assignment} não tem liberação em release/{assignment}/: "
                f"rode `grader release {assignment}` antes de publicar"
            )
    to = to.absolute()
    refuse_course_repository(settings, to)
    unknown = unknown_entries(settings, to)
    if unknown:
        raise UserError(
            f"{to} tem o que não é de uma publicação anterior ({', '.join(unknown)}): publique numa "
            "pasta nova ou num clone do repositório dos alunos"
        )
    with tempfile.TemporaryDirectory() as scratch:
        stage = Path(scratch)
        for assignment in assignments:
            jupyters = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__")  # Jupyter's, not ours
            shutil.copytree(settings.release_dir / assignment, stage / assignment, ignore=jupyters)
            release.link_notebooks(settings, stage / assignment, assignment)
        listed = [a for a in settings.assignments if a in assignments or (to / a).is_dir()]
        (stage / "README.md").write_text(
            student_readme(
                settings,
                {
                    a: sorted(p.name for p in ((stage if a in assignments else to) / a).glob("*.ipynb"))
                    for a in listed
                },
            ),
            encoding="utf-8",
        )
        problems = tree_problems(settings, stage)
        if problems:
            return Publication(to, problems=problems)
        if not (to / ".git").exists():
            to.mkdir(parents=True, exist_ok=True)
            git(to, "init", "-q", "-b", settings.student_repository_branch)
        for assignment in assignments:
            shutil.rmtree(to / assignment, ignore_errors=True)
            shutil.copytree(stage / assignment, to / assignment)
        shutil.copyfile(stage / "README.md", to / "README.md")
    files = sorted(
        p.relative_to(to).as_posix()
        for p in to.rglob("*")
        if p.is_file() and p.relative_to(to).parts[0] != ".git"
    )
    done = commit(to, ["README.md", *assignments])
    return Publication(to, files=files, commit=done, push=push_commands(settings, to))


def student_readme(settings: Settings, notebooks: dict[str, list[str]]) -> str:
    lines = [
        f"- **{assignment}**: "
        + ", ".join(f"[{name}]({release.colab_url(settings, f'{assignment}/{name}')})" for name in names)
        for assignment, names in notebooks.items()
    ]
    return STUDENT_README.format(course_id=settings.course_id, assignments="\n".join(lines))


def git(folder: Path, *args: str, check: bool = True) -> str:
    """`git -C folder args...`'s output; a failure is the instructor's to fix (check=False: empty output)."""
    try:
        done = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True)
    except FileNotFoundError as exc:
        raise UserError("o git não está instalado: instale-o para publicar") from exc
    if done.returncode and check:
        detail = (done.stderr.strip().splitlines() or ["sem mensagem"])[-1]
        raise UserError(f"`git {' '.join(args)}` falhou em {folder}: {detail}")
    return done.stdout.strip() if done.returncode == 0 else ""


def repo_key(url: str) -> str:
    """One spelling per repository: `git@github.com:U/r.git`, `https://github.com/u/r/`, `ssh://git@github.com/u/r`
    all give `github.com/u/r`; a local path stays a path."""
    key = re.sub(r"^[a-z][a-z0-9+.-]*://", "", url.strip().lower())
    key = re.sub(r"^[^@/]+@", "", key)
    key = re.sub(r"^([^/:]+):(?!/)", r"\1/", key)  # scp-like host:path
    return key.rstrip("/").removesuffix(".git").rstrip("/")


def addresses(folder: Path) -> set[str]:
    """The repository `folder` belongs to: its top folder, its git folder and its remotes, as repo_key()s."""
    found = {repo_key(str(folder.resolve()))}
    top = git(folder, "rev-parse", "--show-toplevel", check=False)
    if top:
        common = git(folder, "rev-parse", "--git-common-dir")
        found |= {repo_key(top), repo_key(str((folder / common).resolve()))}  # worktrees share the git folder
        remotes = git(folder, "config", "--get-regexp", r"^remote\..*\.url$", check=False)
        found |= {repo_key(line.split(maxsplit=1)[1]) for line in remotes.splitlines() if " " in line}
    return found


def refuse_course_repository(settings: Settings, to: Path) -> None:
    course = settings.course_dir.resolve()
    top = Path(git(course, "rev-parse", "--show-toplevel", check=False) or course).resolve()
    target = to.resolve()
    if target == top or top in target.parents:  # a folder holding the course is refused as unknown files
        raise UserError(
            f"{to} fica dentro do repositório do curso ({top}), que deve ficar privado: publique numa "
            "pasta fora dele, como ../curso-alunos"
        )
    course_addresses = addresses(course)
    url = settings.student_repository_url
    if url.strip() and repo_key(url) in course_addresses:
        raise UserError(
            f"STUDENT_REPOSITORY_URL ({url}) é o repositório do curso, que deve ficar privado: crie "
            "um repositório à parte para os alunos e ponha o endereço dele em grader_config.py"
        )
    if (to / ".git").exists():
        shared = sorted(addresses(to) & course_addresses)
        if shared:
            raise UserError(
                f"{to} é um clone do repositório do curso ({', '.join(shared)}), que deve ficar "
                "privado: publique num clone do repositório dos alunos"
            )


def unknown_entries(settings: Settings, to: Path) -> list[str]:
    """What `to` holds besides a previous publication (its git folder, README.md, the assignments' folders)."""
    if not to.exists():
        return []
    if not to.is_dir():
        raise UserError(f"{to} é um arquivo, não uma pasta: passe em --to a pasta do repositório dos alunos")
    known = {".git", "README.md", *settings.assignments}
    return sorted(p.name + "/" * p.is_dir() for p in to.iterdir() if p.name not in known)


def content_key(path: Path) -> str:
    data = path.read_bytes()
    if path.suffix == ".ipynb":
        try:  # a notebook saved again by another editor, or given our Colab link, keeps its cells, not its bytes
            cells = nbformat.reads(data.decode(), as_version=4).cells
            data = "\n".join(c.source for c in cells if c.get("id") != release.BADGE_CELL_ID).encode()
        # nbformat raises TypeError, AttributeError, jsonschema's errors... for JSON of another shape
        except Exception:  # noqa: BLE001 (see above): not a notebook after all, its bytes
            pass
    return hashlib.sha256(data).hexdigest()


def tree_problems(settings: Settings, tree: Path) -> list[str]:
    """What in `tree` students must not see, one line each: the release gate's static checks (no solution line,
    no hidden test, no marker, no outputs), and no file with the content of one in source/, examples/ or tests/,
    except the release notebooks themselves and the data files nbgrader copies from source/<assignment>/."""
    course = settings.course_dir
    secrets: dict[str, str] = {}
    for part in ("source", "examples", "tests"):
        for path in sorted((course / part).rglob("*")):
            if path.is_file():
                secrets.setdefault(content_key(path), path.relative_to(course).as_posix())
    problems = []
    for path in sorted(p for p in tree.rglob("*") if p.is_file()):
        name = path.relative_to(tree).as_posix()
        source = course / "source" / name
        if path.suffix == ".ipynb":
            problems += release.output_problems(nbformat.read(path, as_version=4), name)
            if source.is_file():  # a release notebook: checked against its own source, as the gate does
                problems += release.release_leaks(nbformat.read(source, as_version=4), path)
                continue
        problems += release.marker_problems(name, path.read_text(encoding="utf-8", errors="replace"))
        key = content_key(path)
        if key in secrets and not (source.is_file() and content_key(source) == key):
            problems.append(f"{name}: tem o conteúdo de {secrets[key]}, que os alunos não podem ver")
    return problems


def commit(to: Path, paths: list[str]) -> str | None:
    """Commit `paths` in `to` with a message naming what changed; None when nothing did."""
    git(to, "add", "-A", "--", *paths)
    changes = git(
        to, "-c", "core.quotePath=false", "diff", "--cached", "--name-status", "--no-renames", "--", *paths
    )
    if not changes:
        return None
    words = {"A": "novo", "M": "alterado", "D": "removido"}
    lines = [(words.get(line[0], line[0]), line.split("\t", 1)[1]) for line in changes.splitlines()]
    changed = list(dict.fromkeys(path.split("/")[0] for _, path in lines))
    subject = "Publica " + ", ".join([name for name in changed if name != "README.md"] or changed)
    message = subject + "\n\n" + "\n".join(f"- {path} ({word})" for word, path in lines)
    # A machine without a git identity (a fresh box running the demo) still commits; a configured one wins.
    identity = (
        []
        if git(to, "config", "user.email", check=False)
        else ["-c", "user.name=grader publish", "-c", "user.email=grader@localhost"]
    )
    git(to, *identity, "commit", "-q", "-m", message)
    return git(to, "log", "-1", "--format=%h %s")


def push_commands(settings: Settings, to: Path) -> list[str]:
    where, branch = shlex.quote(str(to)), settings.student_repository_branch
    if "origin" in git(to, "remote").split():
        return [f"git -C {where} push origin HEAD:{branch}"]
    return [
        f"git -C {where} remote add origin {settings.student_repository_url}",
        f"git -C {where} push -u origin HEAD:{branch}",
    ]
