"""Find a class's submissions, as instructors receive them, without ever modifying the input.

Accepted layouts of PATH:
- nbgrader's:      PATH/<student_id>/<assignment>/<notebook>.ipynb
- per student:     PATH/<student_id>/<notebook>.ipynb
- Moodle's export: PATH.zip (or the folder it unzips to), as mod/assign/classes/downloader.php
                   (get_student_prefix, load_submissionplugin_filelist; locallib.php download_submissions before
                   4.1) names its entries: "<prefix>_assignsubmission_file/<arquivo>.ipynb" (4.1+),
                   "<prefix>_assignsubmission_file_/<arquivo>.ipynb" (3.1-4.0) or, with "Download submissions in
                   folders" off, "<prefix>_assignsubmission_file_<arquivo>.ipynb" at the root. The prefix is
                   "Nome Sobrenome_<participant id>", "Participant_<id>" (blind marking) or, for team submissions
                   from 4.1, "<group name>_<group id>" and "<default group name>" with no number. Online text
                   ("..._assignsubmission_onlinetext/onlinetext.html") is noted and ignored; a zip re-compressed
                   with one outer folder is read through it.
Files renamed by Colab or a browser ("Cópia de x.ipynb", "x (1).ipynb") are recognised. nbgrader's
`timestamp.txt` in a student's folder is the submission time (grader/timestamps.py reads it); without one, the
latest notebook's time is (the time recorded inside the zip for Moodle's). Other files are noted and ignored: the
assignment's own files (data, images) come from source/, never from what a student sends with the same name.

Nothing is read here but nbgrader's timestamp.txt: a notebook is read when it is graded, at most MAX_NOTEBOOK_MB of
it (grader/intake/entries.py), so the grader's memory follows what it grades, not what it is sent. A notebook over
that limit, or a submission whose notebooks together pass MAX_SUBMISSION_MB, is that student's error; the entries
entries.py refuses (unsafe paths, links, encrypted, archives, names not in UTF-8, duplicates) are returned, each
with the student it seems to belong to, for the reports to name.
"""

from __future__ import annotations

import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath

from grader.config import default
from grader.errors import UserError
from grader.intake.entries import (
    Entry,
    Unreadable,
    folder_entries,
    is_absolute,
    is_utf8,
    printable,
    read_entry,
    size_text,
    too_big,
    zip_entries,
)
from grader.timestamps import TimeFormatError, parse_time

TIMESTAMP_FILE = "timestamp.txt"  # nbgrader's collect and submit write the submission time there
TIMESTAMP_LIMIT = 64 * 1024  # a timestamp.txt is one line
MB = 1024 * 1024

# "<prefix>_<subtype>_<type>" with an optional trailing "_" (before 4.1); the prefix ends in "_<id>" except for a
# team submission's default group. Moodle turns "_" in names into spaces, so the name holds none.
MOODLE_FOLDER = re.compile(r"^(?P<name>.+?)(?:_(?P<id>\d+))?_(?P<plugin>assignsubmission_[a-z]+)_?$")
# The same prefix at the root of a zip made with "Download submissions in folders" off.
MOODLE_FLAT = re.compile(
    r"^(?P<name>[^/]+?)(?:_(?P<id>\d+))?_(?P<plugin>assignsubmission_[a-z]+)_(?P<file>[^/]+)$"
)
BLIND_NAMES = {"participant", "participante"}  # mod_assign `participant` in en and pt/pt_br
COPY_PREFIX = re.compile(r"^(c[oó]pia de |copy of |copia de )+", re.IGNORECASE)
COPY_SUFFIX = re.compile(r"(\s*\(\d+\)|\s*-\s*c[oó]pia|\s*copy)+$", re.IGNORECASE)
IGNORED = re.compile(r"(^|/)(__MACOSX|\.ipynb_checkpoints|\.[^/]+)(/|$)")


@dataclass
class SubmittedFile:
    """A submitted notebook, read only when it is needed (grading, nbgrader's submitted/), never past `limit`."""

    path: str  # for messages: where it came from
    entry: Entry = field(repr=False)
    limit: int = default("MAX_NOTEBOOK_MB") * MB
    problem: str = ""  # why it is not read (over a limit, damaged): Portuguese, one line, for the student too

    @property
    def mtime(self) -> float:
        return self.entry.mtime

    @property
    def size(self) -> int:
        """As declared: the zip's header, the file's size on disk."""
        return self.entry.size

    def read(self) -> bytes:
        """Its bytes, or Unreadable (whose message is then `problem`)."""
        if self.problem:
            raise Unreadable(self.problem)
        try:
            return read_entry(self.entry, self.limit)
        except Unreadable as exc:
            self.problem = str(exc)
            raise

    @property
    def data(self) -> bytes:
        return self.read()


@dataclass(frozen=True)
class Refused:
    """A file of the submissions the grader refused to read, and the student it seems to belong to."""

    path: str
    reason: str
    student_id: str = ""
    student_name: str = ""

    @property
    def student(self) -> str:
        if self.student_id and self.student_name:
            return f"{self.student_name} ({self.student_id})"
        return self.student_id or self.student_name or "aluno não identificado"

    def line(self) -> str:
        return f"{self.path} ({self.student}): {self.reason}"


@dataclass
class StudentSubmission:
    student_id: str
    first_name: str = ""
    last_name: str = ""
    notebooks: dict[str, SubmittedFile] = field(default_factory=dict)  # assignment notebook -> file
    notes: list[str] = field(default_factory=list)  # one line each, Portuguese
    moodle_id: str = ""  # the number in Moodle's folder: participant id (or group id for a team)
    moodle_name: str = ""  # the name in Moodle's folder, as written there (a person or a group)
    team: bool = False  # a team submission's folder (the name and number are the group's)
    # grader.report.moodle.Participant rows this submission grades
    members: list = field(default_factory=list)
    submitted_at: datetime | None = (
        None  # from nbgrader's timestamp.txt (aware); None: the files' times count
    )
    from_zip: bool = False  # the files' times are those recorded in a zip

    @property
    def missing(self) -> bool:
        return not self.notebooks


def simplify(name: str) -> str:
    """'Cópia de Programação_Diferenciável (1).ipynb' -> 'programacao_diferenciavel'."""
    stem = name[:-6] if name.lower().endswith(".ipynb") else name
    stem = COPY_PREFIX.sub("", stem.strip())
    stem = COPY_SUFFIX.sub("", stem)
    stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", stem.lower()).strip("_")


def split_name(full: str) -> tuple[str, str]:
    parts = full.strip().split()
    return (parts[0], " ".join(parts[1:])) if parts else ("", "")


def find_submissions(
    path: Path,
    assignment: str,
    notebook_names: list[str],
    other_assignments: dict[str, list[str]],
    assignment_files: set[str] = frozenset(),
    *,
    max_notebook_mb: int = default("MAX_NOTEBOOK_MB"),
    max_submission_mb: int = default("MAX_SUBMISSION_MB"),
) -> tuple[list[StudentSubmission], list[str], list[Refused]]:
    """Every student found under `path`, one-line notes about the batch as a whole, and the files refused.

    `notebook_names` are the assignment's notebooks (without .ipynb); `other_assignments` maps the course's
    other assignments to theirs, to recognise a notebook handed in to the wrong assignment; `assignment_files`
    are the assignment's other files (paths relative to source/<assignment>/), which grading takes from there."""
    if not path.exists():
        raise UserError(f"submissões não encontradas: {path} não existe; passe a pasta ou o zip do Moodle")
    archive = None
    if path.is_file():
        if not zipfile.is_zipfile(path):
            raise UserError(f"{path} não é uma pasta nem um arquivo zip; passe a pasta ou o zip do Moodle")
        try:
            archive = zipfile.ZipFile(path)
        # a damaged zip fails in any of these (a name flagged UTF-8 that is not, a truncated directory...)
        except (zipfile.BadZipFile, UnicodeDecodeError, NotImplementedError, OSError, ValueError) as exc:
            raise UserError(
                f"o zip {path} não pôde ser lido ({type(exc).__name__}: {str(exc)[:80]}): baixe de novo as "
                "submissões no Moodle"
            ) from None
        entries, early = zip_entries(archive, IGNORED)
    else:
        entries, early = folder_entries(path, IGNORED)
    if not entries and not early and archive is not None:
        raise UserError(f"o zip {path} está vazio: baixe de novo as submissões no Moodle")
    refused = [Refused(r.path, r.reason, *_owner(r.path)) for r in early]

    students: dict[str, StudentSubmission] = {}
    batch_notes: list[str] = []
    outer = _outer_folder(entries)
    if outer:
        batch_notes.append(f"o zip tem uma pasta externa ({outer}/): lidas as submissões dentro dela")
    # Student folders: the first path component; files at the top level have no student, unless Moodle named
    # them (its flat layout): then the prefix is the student's folder.
    for entry in entries:
        rel = PurePosixPath(*entry.rel.parts[1:]) if outer else entry.rel
        shown = printable(str(entry.rel))
        flat = MOODLE_FLAT.match(rel.name) if len(rel.parts) == 1 else None
        if flat:
            folder, inner = (
                f"{flat['name']}{'_' + flat['id'] if flat['id'] else ''}_{flat['plugin']}",
                (flat["file"],),
            )
        elif len(rel.parts) < 2:
            if entry.refusal:
                refused.append(Refused(shown, entry.refusal))
            else:
                batch_notes.append(f"ignorado: {shown} está fora de uma pasta de aluno")
            continue
        else:
            folder, inner = rel.parts[0], rel.parts[1:]
        student = students.get(folder)
        if student is None:
            student = students[folder] = _student_from_folder(folder)
        if entry.refusal:
            found = Refused(shown, entry.refusal, student.student_id, _name_of(student))
            if found not in refused:  # a duplicated path: once
                refused.append(found)
                student.notes.append(f"recusado sem ser lido: {shown} (veja os arquivos recusados)")
            continue
        moodle = moodle_prefix(folder)
        if moodle and moodle["plugin"] == "assignsubmission_onlinetext":
            student.notes.append(f"ignorado: {shown} é um envio de texto online (o corretor só lê notebooks)")
            continue
        if len(inner) > 1 and inner[0] != assignment and simplify(inner[0]) != simplify(assignment):
            if inner[0] in other_assignments:
                student.notes.append(f"ignorado: {shown} é da atividade {inner[0]}")
                continue
        name = inner[-1]
        student.from_zip = archive is not None
        if name == TIMESTAMP_FILE:
            _read_timestamp(student, shown, entry)
            continue
        if not name.lower().endswith(".ipynb"):
            within = "/".join(
                inner[1:] if len(inner) > 1 and simplify(inner[0]) == simplify(assignment) else inner
            )
            if within in assignment_files:
                student.notes.append(
                    f"ignorado: {shown} (a correção usa o {within} da atividade, de source/)"
                )
            else:
                student.notes.append(f"ignorado: {shown} não é um notebook (.ipynb)")
            continue
        limit = max_notebook_mb * MB
        problem = too_big(entry.size, limit, "notebook") if entry.size > limit else ""
        file = SubmittedFile(shown, entry, limit, problem)
        _assign_notebook(student, file, notebook_names, other_assignments)
    # Folders that hold only folders (nbgrader's layout with an empty assignment folder) still count.
    if archive is None:
        for child in sorted(path.iterdir()):
            if (
                child.is_dir()
                and not child.is_symlink()
                and is_utf8(child.name)
                and not IGNORED.search(child.name)
                and child.name not in students
            ):
                students[child.name] = _student_from_folder(child.name)
    merged = _merge_by_id(students.values())
    for student in merged:
        _limit_submission(student, max_submission_mb * MB)
    if any(s.team for s in merged):
        batch_notes.append(
            "envios em grupo: o Moodle manda uma pasta por grupo, com o nome e o número do grupo; "
            "passe --worksheet (a planilha de notas da tarefa) para dar a nota do grupo a cada membro"
        )
    return sorted(merged, key=lambda s: s.student_id), batch_notes, refused


def _limit_submission(student: StudentSubmission, limit: int) -> None:
    """Notebooks that together pass the limit per submission: none of them is read."""
    total = sum(f.size for f in student.notebooks.values())
    if total <= limit:
        return
    for file in student.notebooks.values():
        file.problem = file.problem or (
            f"os notebooks da submissão somam {size_text(total)}, acima do limite de {size_text(limit)} por "
            "submissão: limpe as saídas das células e envie de novo"
        )


def _name_of(student: StudentSubmission) -> str:
    return student.moodle_name or " ".join(p for p in (student.first_name, student.last_name) if p)


def _owner(path: str) -> tuple[str, str]:
    """The student a refused path seems to belong to (id, name): the Moodle folder or file name in it, else the
    first folder of a relative path (nbgrader's layout); ("", "") when nothing says."""
    parts = [p for p in path.split("/") if p not in ("", ".")]  # a backslash here escapes a byte
    *folders, name = parts or [""]
    flat = MOODLE_FLAT.match(name)
    named = [f for f in folders if moodle_prefix(f)]
    if flat and not named:
        named = [f"{flat['name']}{'_' + flat['id'] if flat['id'] else ''}_{flat['plugin']}"]
    if named:
        student = _student_from_folder(named[0])
        return student.student_id, _name_of(student)
    if folders and folders[0] != ".." and not is_absolute(path):
        return folders[0], ""
    return "", ""


def _read_timestamp(student: StudentSubmission, shown: str, entry: Entry) -> None:
    """nbgrader's timestamp.txt: the submission time, with its zone (nbgrader reads a time without one as
    UTC); the latest if there are several. One that cannot be read is noted, and the files' times count."""
    try:
        if entry.size > TIMESTAMP_LIMIT:
            raise Unreadable(f"tem {size_text(entry.size)}, e ele é uma linha")
        text = read_entry(entry, TIMESTAMP_LIMIT).decode("utf-8", "replace").strip()
        when = parse_time(text, naive_is_utc=True)
    except (Unreadable, TimeFormatError) as exc:
        student.notes.append(f"{shown} ilegível ({exc}): vale o horário do notebook")
        return
    if student.submitted_at is None or when > student.submitted_at:
        student.submitted_at = when


def _outer_folder(entries: list) -> str | None:
    """The one folder that wraps a whole Moodle download re-compressed by hand, or None."""
    paths = [entry.rel for entry in entries]
    tops = {rel.parts[0] for rel in paths if len(rel.parts) > 1}
    if len(tops) != 1 or any(len(rel.parts) == 1 for rel in paths):
        return None
    top = next(iter(tops))
    if moodle_prefix(top):
        return None
    inside = {rel.parts[1] for rel in paths if len(rel.parts) > 2} | {
        rel.parts[1] for rel in paths if len(rel.parts) == 2 and MOODLE_FLAT.match(rel.parts[1])
    }
    return top if inside and all(moodle_prefix(p) or MOODLE_FLAT.match(p) for p in inside) else None


def moodle_prefix(folder: str) -> re.Match | None:
    """A Moodle folder name, or None."""
    return MOODLE_FOLDER.match(folder)


def moodle_id_in(path: str) -> str | None:
    """The participant id a path from Moodle's download carries (in a folder's name or, without folders, in the
    file's), or None."""
    *folders, name = path.replace("\\", "/").split("/")
    for found in [*map(MOODLE_FOLDER.match, folders), MOODLE_FLAT.match(name)]:
        if found and found.group("id"):
            return found.group("id")
    return None


def _student_from_folder(folder: str) -> StudentSubmission:
    moodle = moodle_prefix(folder)
    if not moodle:
        return StudentSubmission(folder)
    name, number = moodle["name"].strip(), moodle["id"]
    if number is None:  # only a team submission's default group has no number (downloader.php)
        return StudentSubmission(f"grupo-{simplify(name) or 'padrao'}", name, moodle_name=name, team=True)
    if name.lower() in BLIND_NAMES:  # blind marking: no name in the zip
        return StudentSubmission(number, moodle_id=number, moodle_name="")
    first, last = split_name(name)
    return StudentSubmission(number, first, last, moodle_id=number, moodle_name=name)


def _merge_by_id(students) -> list[StudentSubmission]:
    """Moodle makes one folder per submission plugin (file, online text) for the same student."""
    merged: dict[str, StudentSubmission] = {}
    for student in students:
        if student.student_id not in merged:
            merged[student.student_id] = student
            continue
        into = merged[student.student_id]
        into.notes += student.notes
        for name, file in student.notebooks.items():
            _keep_latest(into, name, file)
        if student.submitted_at is not None and (
            into.submitted_at is None or student.submitted_at > into.submitted_at
        ):
            into.submitted_at = student.submitted_at
    return list(merged.values())


def _keep_latest(student: StudentSubmission, name: str, file: SubmittedFile) -> None:
    old = student.notebooks.get(name)
    if old is None:
        student.notebooks[name] = file
        return
    newer, older = (file, old) if file.mtime >= old.mtime else (old, file)
    student.notebooks[name] = newer
    student.notes.append(
        f"dois notebooks para {name}: usado {newer.path} (o mais recente), ignorado {older.path}"
    )


def _assign_notebook(
    student: StudentSubmission, file: SubmittedFile, names: list[str], others: dict[str, list[str]]
) -> None:
    simple = simplify(PurePosixPath(file.path).name)
    for name in names:
        if simple == simplify(name):
            _keep_latest(student, name, file)
            return
    for other, other_names in others.items():
        if any(simple == simplify(n) for n in other_names):
            student.notes.append(f"ignorado: {file.path} é um notebook da atividade {other}")
            return
    if len(names) == 1:  # one notebook in the assignment: an unknown name is still that notebook
        student.notes.append(f"{file.path} tratado como {names[0]}.ipynb (nome diferente do original)")
        _keep_latest(student, names[0], file)
        return
    student.notes.append(f"ignorado: {file.path} não corresponde a nenhum notebook da atividade")
