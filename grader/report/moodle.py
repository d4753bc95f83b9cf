"""Moodle's grading worksheet: who the participants are, and the same file filled with the grades.

The instructor downloads the worksheet from the assignment (Ver todos os envios → Ação de avaliação → Baixar
planilha de notas). Moodle writes it in mod/assign/gradingtable.php (downloading mode) with these columns, in
this order, headers in the downloading user's language:

    Identifier, [Full name, identity fields (e-mail, ID number...)], Status, [Group], [Marker], Grade,
    Maximum grade | Scale, [Marking workflow state], Grade can be changed, [Last modified (submission),
    online text...], Last modified (grade), [Feedback comments], [Outcomes]

and reads it back in mod/assign/feedback/offline (importgradeslib.php `init`/`next`, locallib.php
`process_import_grades`): columns found by their headers in the uploading user's language; the identifier is
`hiddenuser` + the participant id; the grade read by `unformat_float`; "Last modified (grade)" by `strtotime`.
A row is skipped when the grade is empty or negative, above the assignment's maximum, not an item of the scale,
unchanged, when the grade can no longer be changed (locked, or overridden in the gradebook), or when Moodle's
grade is more than 60 s newer than the row's "Last modified (grade)" (unless "Ignore modified" is ticked). From
5.1 a grade of 0 is not imported either (only the comment).

So the grader fills the instructor's own file: same headers, columns, order, encoding and line ends; only the
grade, the comments and "Last modified (grade)" (rewritten in a form strtotime reads) change. Columns are
found by header (the languages below) and, for any other language, by Moodle's order and the columns' values.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from grader.errors import UserError
from grader.intake.ingest import split_name

# Moodle's strings (core and mod_assign), by language: headers the worksheet may carry.
HEADERS = {
    "recordid": {"Identifier", "Identificador", "Identifiant", "Kennung", "ID"},
    "fullname": {"Full name", "Nome completo", "Nombre completo", "Nom complet", "Vollständiger Name"},
    "email": {
        "Email address",
        "Endereço de email",
        "Endereço de e-mail",
        "Email",
        "E-mail",
        "Dirección Email",
        "Dirección de correo",
        "Adresse de courriel",
        "E-Mail-Adresse",
    },
    "idnumber": {
        "ID number",
        "Número de identificação",
        "Número de identificación",
        "Numéro d'identification",
        "ID-Nummer",
        "Matrícula",
    },
    "team": {"Group", "Team", "Grupo", "Equipe", "Groupe", "Gruppe"},
    "grade": {"Grade", "Nota", "Calificación", "Note", "Bewertung", "Classificação", "Avaliação"},
    "maxgrade": {
        "Maximum grade",
        "Nota máxima",
        "Calificación máxima",
        "Note maximale",
        "Bestwertung",
        "Classificação máxima",
        "Avaliação máxima",
    },
    "scale": {"Scale", "Escala", "Barème", "Skala"},
    "gradecanbechanged": {
        "Grade can be changed",
        "A nota pode ser alterada",
        "A nota pode ser alterada.",
        "La calificación puede ser cambiada",
        "La note peut être modifiée",
        "Bewertung kann geändert werden",
    },
    "lastmodifiedgrade": {
        "Last modified (grade)",
        "Última modificação (nota)",
        "Última modificação (avaliação)",
        "Última modificación (calificación)",
        "Dernière modification (note)",
        "Dernière modification (évaluation)",
        "Zuletzt geändert (Bewertung)",
    },
    "feedbackcomments": {
        "Feedback comments",
        "Comentários de feedback",
        "Comentários de Feedback",
        "Comentarios de retroalimentación",
        "Comentarios de retroalimentacion",
        "Commentaires de feedback",
        "Feedback als Kommentar",
    },
}
WORKSHEET_COPY = "planilha.csv"  # moodle/<assignment>/: the worksheet `grader grade --worksheet` read last
NO_WORDS = {"no", "não", "nao", "non", "nein", "nee", "nej", "nie", "ne", "нет"}
YES_WORDS = {"yes", "sim", "sí", "si", "oui", "ja", "tak", "ano", "да"}

# userdate() in the worksheet's language: month names and abbreviations (en, pt, es, fr, de) to numbers.
MONTHS = {}
for number, names in enumerate(
    [
        "jan janeiro january enero ene janvier janv januar",
        "feb fev fevereiro february febrero février févr februar",
        "mar março marco march marzo mars märz",
        "apr abr abril april avril",
        "may mai maio mayo",
        "jun junho june junio juin juni",
        "jul julho july julio juillet juil juli",
        "aug ago agosto august août",
        "sep set setembro september septiembre sept septembre",
        "oct out outubro october octubre octobre okt oktober",
        "nov novembro november noviembre novembre",
        "dec dez dezembro december diciembre dic décembre déc dezember",
    ],
    start=1,
):
    for name in names.split():
        MONTHS[name] = number
DATE_TEXT = re.compile(
    r"(?P<day>\d{1,2})\s*(?:de\s+)?(?P<month>[^\W\d_]+)\.?\s*(?:de\s+)?(?P<year>\d{4}),?\s*(?:às\s+)?"
    r"(?P<hour>\d{1,2}):(?P<minute>\d\d)(?:\s*(?P<ampm>[AaPp]\.?[Mm]\.?))?"
)
MONTH_FIRST = re.compile(
    r"(?P<month>[^\W\d_]+)\.?\s+(?P<day>\d{1,2}),?\s+(?P<year>\d{4}),?\s*"
    r"(?P<hour>\d{1,2}):(?P<minute>\d\d)(?:\s*(?P<ampm>[AaPp]\.?[Mm]\.?))?"
)
ISO_DATE = re.compile(r"^\d{4}-\d\d-\d\d([ T]\d\d:\d\d(:\d\d)?)?")
IDENTIFIER = re.compile(r"^(?P<prefix>\D*?)(?P<id>\d+)$")
NUMBER = re.compile(r"^-?\d+(?:[.,]\d+)?$")


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.strip().lower()).encode("ascii", "ignore").decode()
    return re.sub(r"\s+", " ", text)


_HEADER_KEYS = {_norm(h): key for key, names in HEADERS.items() for h in names}


def parse_number(text: str) -> float | None:
    """A number as Moodle's format_float wrote it: "7.50", "7,50"."""
    text = text.strip().replace(" ", "").replace("\u00a0", "")
    if not NUMBER.match(text):
        return None
    return float(text.replace(",", "."))


def parse_userdate(text: str) -> datetime | None:
    """userdate() output in the languages above ("Friday, 3 May 2024, 10:15 AM", "sexta-feira, 3 mai 2024,
    10:15"), or an ISO date; None for "-" or what cannot be read."""
    text = text.strip()
    if not text or text == "-":
        return None
    if ISO_DATE.match(text):
        try:
            return datetime.fromisoformat(text.replace(" ", "T", 1)[:19])
        except ValueError:
            return None
    for pattern in (DATE_TEXT, MONTH_FIRST):
        found = pattern.search(text)
        if not found:
            continue
        month = MONTHS.get(_norm(found["month"]).rstrip("."))
        if month is None:
            continue
        hour = int(found["hour"])
        ampm = (found["ampm"] or "").lower().replace(".", "")
        if ampm == "pm" and hour < 12:
            hour += 12
        elif ampm == "am" and hour == 12:
            hour = 0
        try:
            return datetime(int(found["year"]), month, int(found["day"]), hour, int(found["minute"]))
        except ValueError:
            return None
    return None


@dataclass
class Participant:
    """One row of the worksheet."""

    row: int  # index in Worksheet.rows
    participant_id: str
    name: str = ""
    email: str = ""
    idnumber: str = ""
    group: str = ""
    grade: str = ""  # as downloaded
    can_change: bool | None = None  # None: the column is missing or in an unknown language
    last_modified: str = ""

    @property
    def student_id(self) -> str:
        """The gradebook's student id: the ID number, else the e-mail (both the same in every assignment), else
        the participant id (which Moodle allocates per assignment)."""
        if self.idnumber.strip():
            return re.sub(r"[^\w.@+-]+", "_", self.idnumber.strip())
        if self.email.strip():
            return self.email.strip().lower()
        return self.participant_id


@dataclass
class Dropped:
    """A row that Moodle's import will skip, and what to do about it (Portuguese)."""

    participant_id: str
    name: str
    reason: str
    action: str


@dataclass
class Worksheet:
    path: Path
    encoding: str
    newline: str
    delimiter: str
    header: list[str]
    rows: list[list[str]]
    columns: dict[str, int]  # recordid, fullname, email, idnumber, team, grade, maxgrade, scale, ...
    hiddenuser: str  # the identifier's prefix ("Participant ", "Participante")
    participants: list[Participant] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def maximum(self) -> float | None:
        if "maxgrade" not in self.columns or not self.rows:
            return None
        return parse_number(self.rows[0][self.columns["maxgrade"]])

    @property
    def scale(self) -> list[str]:
        if "scale" not in self.columns or not self.rows:
            return []
        return [item.strip() for item in self.rows[0][self.columns["scale"]].splitlines() if item.strip()]

    def by_id(self) -> dict[str, Participant]:
        return {p.participant_id: p for p in self.participants}

    def groups(self) -> dict[str, list[Participant]]:
        found: dict[str, list[Participant]] = {}
        for p in self.participants:
            if p.group:
                found.setdefault(p.group, []).append(p)
        return found


def read_worksheet(path: Path) -> Worksheet:
    """Read Moodle's grading worksheet; a clear error when it is not one."""
    path = Path(path)
    if not path.is_file():
        raise UserError(
            f"planilha de notas não encontrada: {path}; baixe-a na tarefa do Moodle "
            "(Ver todos os envios → Ação de avaliação → Baixar planilha de notas)"
        )
    raw = path.read_bytes()
    for encoding in ("utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "utf-8", "cp1252"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    newline = "\r\n" if "\r\n" in text else "\n"
    sample = text[:4096]
    delimiter = max((",", ";", "\t"), key=sample.split("\n", 1)[0].count)
    table = [row for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) if row]
    if len(table) < 1 or len(table[0]) < 3:
        raise _not_a_worksheet(path, "o arquivo não tem as colunas da planilha")
    header, rows = table[0], table[1:]
    width = len(header)
    rows = [row + [""] * (width - len(row)) for row in rows]
    columns, hiddenuser = _find_columns(path, header, rows)
    sheet = Worksheet(path, encoding, newline, delimiter, header, rows, columns, hiddenuser)
    for index, row in enumerate(rows):
        found = IDENTIFIER.match(row[columns["recordid"]].strip())
        if not found:
            continue

        def cell(key: str, row=row) -> str:
            return row[columns[key]].strip() if key in columns else ""

        can_change = None
        if "gradecanbechanged" in columns:
            word = _norm(cell("gradecanbechanged")).rstrip(".")
            can_change = False if word in NO_WORDS else True if word in YES_WORDS else None
        sheet.participants.append(
            Participant(
                index,
                found["id"],
                cell("fullname"),
                cell("email"),
                cell("idnumber"),
                cell("team"),
                cell("grade"),
                can_change,
                cell("lastmodifiedgrade"),
            )
        )
    if "feedbackcomments" not in columns:
        sheet.notes.append(
            "a planilha não tem a coluna de comentários: habilite “Comentários de feedback” na "
            "tarefa e baixe a planilha de novo para mandar os comentários"
        )
    return sheet


def _not_a_worksheet(path: Path, why: str) -> UserError:
    return UserError(
        f"{path} não parece a planilha de notas do Moodle ({why}); baixe-a na tarefa: Ver todos os "
        "envios → Ação de avaliação → Baixar planilha de notas"
    )


def _find_columns(path: Path, header: list[str], rows: list[list[str]]) -> tuple[dict[str, int], str]:
    columns: dict[str, int] = {}
    for index, name in enumerate(header):
        key = _HEADER_KEYS.get(_norm(name))
        if key and key not in columns:
            columns[key] = index
    # The identifier is Moodle's first column in every layout: "<hiddenuser><participant id>".
    prefixes = {m["prefix"] for row in rows if (m := IDENTIFIER.match(row[0].strip()))}
    if rows and (len(prefixes) != 1 or not all(IDENTIFIER.match(row[0].strip()) for row in rows)):
        raise _not_a_worksheet(
            path, f"a primeira coluna, {header[0]!r}, não tem identificadores de participante"
        )
    columns.setdefault("recordid", 0)
    hiddenuser = prefixes.pop() if prefixes else ""
    values = [[row[i].strip() for row in rows] for i in range(len(header))]

    def same_number(i: int) -> bool:
        return bool(rows) and len(set(values[i])) == 1 and parse_number(values[i][0]) is not None

    if "maxgrade" not in columns and "scale" not in columns:  # another language: Moodle's order and values
        for i in range(2, len(header)):
            if same_number(i) and all(v == "" or parse_number(v) is not None for v in values[i - 1]):
                columns["maxgrade"] = i
                columns.setdefault("grade", i - 1)
                break
    after = columns.get("maxgrade", columns.get("scale"))
    if "grade" not in columns and after is not None:
        columns["grade"] = after - 1
    if "grade" not in columns or after is None:
        raise _not_a_worksheet(path, "não achei as colunas de nota e de nota máxima")
    if "lastmodifiedgrade" not in columns:  # the last column of dates (or "-") after the grade
        dated = [
            i
            for i in range(after + 1, len(header))
            if values[i] and all(v == "-" or re.search(r"\d{1,2}:\d\d", v) for v in values[i])
        ]
        if not dated:
            raise _not_a_worksheet(path, "não achei a coluna “Última modificação (nota)”")
        columns["lastmodifiedgrade"] = dated[-1]
        if dated[-1] + 1 < len(header) and "feedbackcomments" not in columns:
            columns["feedbackcomments"] = dated[-1] + 1
    if "gradecanbechanged" not in columns:
        for i in range(after + 1, columns["lastmodifiedgrade"]):
            if values[i] and all(_norm(v).rstrip(".") in NO_WORDS | YES_WORDS for v in values[i]):
                columns["gradecanbechanged"] = i
                break
    if "email" not in columns:  # identity fields sit between the name and the grade
        for i in range(1, columns["grade"]):
            if any(values[i]) and all("@" in v for v in values[i] if v):
                columns["email"] = i
                if i > 1:
                    columns.setdefault("fullname", 1)
                break
    return columns, hiddenuser


def format_grade(value: float) -> str:
    """Two decimals, as Moodle's format_float(value, 2), with a dot: unformat_float only replaces the uploading
    language's decimal separator by a dot, so "7.50" reads as 7.5 in every language ("7,50" would read as 7 in
    English)."""
    return f"{value:.2f}"


def strtotime_text(text: str) -> str:
    """ "Last modified (grade)" in a form PHP's strtotime reads, the same minute as the worksheet says ("-" stays:
    strtotime reads it as no date, as Moodle does). Unreadable text is kept."""
    when = parse_userdate(text)
    return when.strftime("%Y-%m-%d %H:%M") if when else text


@dataclass
class Filled:
    """What fill() wrote, for the reports."""

    rows: int
    dropped: list[Dropped]
    blank: list[str]  # participants left without a grade (no submission in the zip): Moodle keeps theirs


def fill(sheet: Worksheet, grades: dict[str, tuple[float, str]], out: Path) -> Filled:
    """Write `sheet` filled into `out`: grades[participant id] = (grade on the worksheet's scale, comment).
    Returns the rows Moodle will skip, with the reason and what to do."""
    columns = sheet.columns
    rows = [list(row) for row in sheet.rows]
    dropped: list[Dropped] = []
    blank: list[str] = []
    maximum = sheet.maximum
    scale = sheet.scale
    for p in sheet.participants:
        row = rows[p.row]
        label = p.name or f"{sheet.hiddenuser}{p.participant_id}"
        if p.participant_id not in grades:
            blank.append(label)
            continue
        grade, comment = grades[p.participant_id]
        if "feedbackcomments" in columns:
            row[columns["feedbackcomments"]] = comment
        row[columns["lastmodifiedgrade"]] = strtotime_text(row[columns["lastmodifiedgrade"]])
        if scale:
            row[columns["grade"]] = ""
            dropped.append(
                Dropped(
                    p.participant_id,
                    label,
                    "a tarefa usa escala (“" + " / ".join(scale) + "”): o Moodle só aceita um item da escala",
                    "mude a tarefa para nota numérica (Nota → Tipo: Pontos) e baixe a planilha "
                    "de novo, ou lance a nota à mão",
                )
            )
            continue
        text = format_grade(grade)
        row[columns["grade"]] = text
        if maximum is not None and grade > maximum + 1e-9:
            dropped.append(
                Dropped(
                    p.participant_id,
                    label,
                    f"nota {text} acima da nota máxima da tarefa",
                    "aumente a nota máxima da tarefa no Moodle ou confira a planilha",
                )
            )
        if p.can_change is False:
            dropped.append(
                Dropped(
                    p.participant_id,
                    label,
                    "a nota não pode ser alterada (bloqueada ou sobrescrita no livro de notas)",
                    "desbloqueie a nota no Moodle e envie de novo",
                )
            )
        if grade == 0:
            dropped.append(
                Dropped(
                    p.participant_id,
                    label,
                    "nota 0: o Moodle 5.1 ou mais novo não importa nota zero (só o comentário)",
                    "no Moodle 5.1+, lance o 0 à mão",
                )
            )
        if p.last_modified not in ("", "-") and parse_userdate(p.last_modified) is None:
            dropped.append(
                Dropped(
                    p.participant_id,
                    label,
                    f"data “{p.last_modified}” em formato que o Moodle "
                    "não lê: ele trata a nota atual como modificada depois da planilha",
                    "marque “Ignorar registros modificados” ao enviar",
                )
            )
    _write(sheet, [sheet.header, *rows], out)
    return Filled(len(sheet.participants), dropped, blank)


def _write(sheet: Worksheet, table: list[list[str]], out: Path) -> None:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=sheet.delimiter, lineterminator=sheet.newline).writerows(table)
    out.write_bytes(buffer.getvalue().encode(sheet.encoding))


def same_person(folder_name: str, participant: Participant) -> bool:
    """The name in Moodle's folder and the worksheet's full name are the same person (accents, case and the
    spaces Moodle puts in place of "_" aside)."""
    if not folder_name or not participant.name:
        return True
    return _norm(folder_name).replace(" ", "") == _norm(participant.name.replace("_", " ")).replace(" ", "")


def resolve(students: list, sheet: Worksheet) -> list[str]:
    """Give each submission found in Moodle's zip (grader.intake.ingest.StudentSubmission) its identity from the
    worksheet: the gradebook's student id, the name, and for a team submission its members. Returns one-line
    notes (Portuguese); a worksheet that matches none of the zip's folders is an error."""
    by_id = sheet.by_id()
    groups = sheet.groups()
    notes: list[str] = []
    from_moodle = [s for s in students if s.moodle_id or s.team]
    matched = 0
    for student in from_moodle:
        person = by_id.get(student.moodle_id) if student.moodle_id else None
        if person is not None and not student.team and same_person(student.moodle_name, person):
            matched += 1
            student.student_id = person.student_id
            student.first_name, student.last_name = split_name(person.name)
            student.members = [person]
            continue
        members = groups.get(student.moodle_name) or [
            p for name, ps in groups.items() for p in ps if _norm(name) == _norm(student.moodle_name)
        ]
        if members:
            matched += 1
            student.team = True
            student.student_id = f"grupo-{student.moodle_id}" if student.moodle_id else student.student_id
            student.first_name, student.last_name = student.moodle_name, ""
            student.members = members
            continue
        shown = student.moodle_name or f"{sheet.hiddenuser}{student.moodle_id}"
        line = (
            f"{shown} (pasta do Moodle {student.moodle_id or 'sem número'}) não está na planilha "
            f"{sheet.path.name}: fica fora da planilha preenchida; confira se a planilha é desta tarefa"
        )
        student.notes.append(line)
        notes.append(line)
    if from_moodle and not matched:
        raise UserError(
            f"a planilha {sheet.path} não corresponde a estas submissões: nenhum dos {len(from_moodle)} "
            "participantes do zip está nela (os números de participante mudam de uma tarefa para outra); baixe a "
            "planilha de notas da mesma tarefa do zip"
        )
    if any(s.team for s in from_moodle) and "team" not in sheet.columns:
        notes.append(
            "envios em grupo, mas a planilha não tem a coluna de grupo: os membros não recebem a nota"
        )
    return notes
