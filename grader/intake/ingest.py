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
"""

from __future__ import annotations

import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath

from grader.errors import UserError
from grader.timestamps import TimeFormatError, parse_time, zip_entry_time

TIMESTAMP_FILE = "timestamp.txt"  # nbgrader's collect and submit write the submission time there

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
    path: str  # for messages: where it came from
    data: bytes
    mtime: float


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


def _entries_from_folder(root: Path) -> list[tuple[PurePosixPath, Path | zipfile.ZipInfo]]:
    return [
        (PurePosixPath(p.relative_to(root).as_posix()), p)
        for p in sorted(root.rglob("*"))
        if p.is_file() and not IGNORED.search(p.relative_to(root).as_posix())
    ]


def _entries_from_zip(archive: zipfile.ZipFile) -> list[tuple[PurePosixPath, zipfile.ZipInfo]]:
    return [
        (PurePosixPath(info.filename), info)
        for info in archive.infolist()
        if not info.is_dir() and not IGNORED.search(info.filename)
    ]


def find_submissions(
    path: Path,
    assignment: str,
    notebook_names: list[str],
    other_assignments: dict[str, list[str]],
    assignment_files: set[str] = frozenset(),
) -> tuple[list[StudentSubmission], list[str]]:
    """Every student found under `path`, and one-line notes about the batch as a whole.

    `notebook_names` are the assignment's notebooks (without .ipynb); `other_assignments` maps the course's
    other assignments to theirs, to recognise a notebook handed in to the wrong assignment; `assignment_files`
    are the assignment's other files (paths relative to source/<assignment>/), which grading takes from there."""
    if not path.exists():
        raise UserError(f"submissões não encontradas: {path} não existe; passe a pasta ou o zip do Moodle")
    archive = None
    if path.is_file():
        if not zipfile.is_zipfile(path):
            raise UserError(f"{path} não é uma pasta nem um arquivo zip; passe a pasta ou o zip do Moodle")
        archive = zipfile.ZipFile(path)
        entries = _entries_from_zip(archive)
    else:
        entries = _entries_from_folder(path)
    if not entries and archive is not None:
        raise UserError(f"o zip {path} está vazio: baixe de novo as submissões no Moodle")

    def read(entry) -> tuple[bytes, float]:
        if isinstance(entry, zipfile.ZipInfo):
            return archive.read(entry), zip_entry_time(entry).timestamp()
        return entry.read_bytes(), entry.stat().st_mtime

    students: dict[str, StudentSubmission] = {}
    batch_notes: list[str] = []
    outer = _outer_folder(entries)
    if outer:
        batch_notes.append(f"o zip tem uma pasta externa ({outer}/): lidas as submissões dentro dela")
        entries = [(PurePosixPath(*rel.parts[1:]), entry) for rel, entry in entries]
    # Student folders: the first path component; files at the top level have no student, unless Moodle named
    # them (its flat layout): then the prefix is the student's folder.
    for rel, entry in entries:
        shown = rel if not outer else PurePosixPath(outer, rel)
        flat = MOODLE_FLAT.match(rel.name) if len(rel.parts) == 1 else None
        if flat:
            folder, inner = (
                f"{flat['name']}{'_' + flat['id'] if flat['id'] else ''}_{flat['plugin']}",
                (flat["file"],),
            )
        elif len(rel.parts) < 2:
            batch_notes.append(f"ignorado: {shown} está fora de uma pasta de aluno")
            continue
        else:
            folder, inner = rel.parts[0], rel.parts[1:]
        student = students.get(folder)
        if student is None:
            student = students[folder] = _student_from_folder(folder)
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
            _read_timestamp(student, str(shown), read(entry)[0])
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
        data, mtime = read(entry)
        _assign_notebook(student, SubmittedFile(str(shown), data, mtime), notebook_names, other_assignments)
    # Folders that hold only folders (nbgrader's layout with an empty assignment folder) still count.
    if archive is None:
        for child in sorted(path.iterdir()):
            if child.is_dir() and not IGNORED.search(child.name) and child.name not in students:
                students[child.name] = _student_from_folder(child.name)
    merged = _merge_by_id(students.values())
    if any(s.team for s in merged):
        batch_notes.append(
            "envios em grupo: o Moodle manda uma pasta por grupo, com o nome e o número do grupo; "
            "passe --worksheet (a planilha de notas da tarefa) para dar a nota do grupo a cada membro"
        )
    return sorted(merged, key=lambda s: s.student_id), batch_notes


def _read_timestamp(student: StudentSubmission, shown: str, data: bytes) -> None:
    """nbgrader's timestamp.txt: the submission time, with its zone (nbgrader reads a time without one as
    UTC); the latest if there are several. One that cannot be read is noted, and the files' times count."""
    text = data.decode("utf-8", "replace").strip()
    try:
        when = parse_time(text, naive_is_utc=True)
    except TimeFormatError as exc:
        student.notes.append(f"{shown} ilegível ({exc}): vale o horário do notebook")
        return
    if student.submitted_at is None or when > student.submitted_at:
        student.submitted_at = when


def _outer_folder(entries: list) -> str | None:
    """The one folder that wraps a whole Moodle download re-compressed by hand, or None."""
    tops = {rel.parts[0] for rel, _ in entries if len(rel.parts) > 1}
    if len(tops) != 1 or any(len(rel.parts) == 1 for rel, _ in entries):
        return None
    top = next(iter(tops))
    if moodle_prefix(top):
        return None
    inside = {rel.parts[1] for rel, _ in entries if len(rel.parts) > 2} | {
        rel.parts[1] for rel, _ in entries if len(rel.parts) == 2 and MOODLE_FLAT.match(rel.parts[1])
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
