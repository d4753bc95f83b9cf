"""What goes to Moodle: moodle.csv (the grades and a short comment per participant) and feedback_moodle.zip
(each student's feedback page, for "Upload multiple feedback files in a zip").

moodle.csv is the instructor's own worksheet filled in (grader.report.moodle reads and fills it) or, without one,
a worksheet written from scratch in the instructor's language. Moodle's worksheet import
(mod/assign/feedback/offline) finds its columns by their headers in the language of the instructor who uploads
the file, and refuses a file without the "Identifier", "Grade" and "Last modified (grade)" columns; the
identifier is the "Participant" string followed by the participant id, the number in the folder names of
Moodle's submissions download ("Nome Sobrenome_123456_assignsubmission_file_"). Grades are written with a dot:
Moodle reads them with unformat_float, which only replaces the language's decimal separator (a comma in pt_br) by
a dot, so "7.5" reads as 7.5 in every language.
"""

from __future__ import annotations

import html
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from grader import timestamps
from grader.intake.ingest import moodle_id_in
from grader.model import Status, StudentResult
from grader.report.cells import (
    MARK_FAIL,
    MARK_MANUAL,
    MARK_PARTIAL,
    GradeCellInfo,
    cell_views,
    several_notebooks,
)
from grader.report.moodle import Dropped, Worksheet, fill
from grader.report.tables import write_csv
from grader.report.wording import (
    STATUS_EXPLANATIONS,
    flag_texts,
    format_number,
    missing_notebooks_text,
    plural,
)

# Moodle's strings, by language: core `fullname`, `gradenoun` (`grade` before 4.1), mod_assign `recordid`,
# `hiddenuser`, `maxgrade`, `lastmodifiedgrade`, and assignfeedback_comments `pluginname`.
MOODLE_STRINGS = {
    "en": {
        "recordid": "Identifier",
        "hiddenuser": "Participant ",
        "fullname": "Full name",
        "grade": "Grade",
        "maxgrade": "Maximum grade",
        "lastmodifiedgrade": "Last modified (grade)",
        "feedbackcomments": "Feedback comments",
    },
    "pt_br": {
        "recordid": "Identificador",
        "hiddenuser": "Participante",
        "fullname": "Nome completo",
        "grade": "Nota",
        "maxgrade": "Nota máxima",
        "lastmodifiedgrade": "Última modificação (nota)",
        "feedbackcomments": "Comentários de feedback",
    },
}
MOODLE_LANGUAGE_NAMES = {"en": "inglês (en)", "pt_br": "português do Brasil (pt_br)"}


def moodle_participant_id(student: StudentResult) -> str | None:
    """The participant id Moodle's worksheet expects: the number in the Moodle folder the submission came from
    (an all-digit student id from another layout, a registration number, is not one)."""
    if student.moodle_id:
        return student.moodle_id
    return next(filter(None, map(moodle_id_in, student.source_files)), None)


def moodle_participants(student: StudentResult) -> list[tuple[str, str]]:
    """(participant id, name) of every Moodle row this result grades: a team's members, or the student."""
    if student.members:
        return [(m["participant_id"], m["name"]) for m in student.members]
    participant = moodle_participant_id(student)
    return [(participant, student.name)] if participant else []


def moodle_comment(student: StudentResult, cells: list[GradeCellInfo], max_score: float) -> str:
    """Short Portuguese feedback for Moodle's comments column (HTML-escaped: Moodle stores it as HTML), with the
    instructor's comments from the formgrader."""
    parts = []
    if student.status == Status.MISSING:
        parts.append("Nenhuma submissão encontrada para esta atividade.")
    else:
        parts.append(f"Nota automática: {format_number(student.score)}/{format_number(max_score)}.")
    if student.problem:
        parts.append(student.problem[0].upper() + student.problem[1:].rstrip(".") + ".")
    elif student.status in (Status.ERROR, Status.TIMEOUT):
        parts.append(STATUS_EXPLANATIONS[student.status])
    if student.missing_notebooks:
        parts.append(missing_notebooks_text(student) + ".")
    if student.late:
        parts.append(f"Entrega atrasada ({timestamps.lateness(student.seconds_late)} depois do prazo).")
    views = cell_views(student, cells)
    several = several_notebooks(cells)
    failed = _unique(
        _question_name(v.info, several)
        for v in views
        if v.mark == MARK_FAIL and v.result is not None and not v.result.not_submitted
    )
    if failed and student.status != Status.MISSING:
        parts.append("Questões sem pontuação total: " + ", ".join(f"“{t}”" for t in failed) + ".")
    partial = _unique(_question_name(v.info, several) for v in views if v.mark == MARK_PARTIAL)
    if partial:
        parts.append("Pontuação parcial: " + ", ".join(f"“{t}”" for t in partial) + ".")
    waiting = _unique(_question_name(v.info, several) for v in views if v.mark == MARK_MANUAL)
    if waiting:
        parts.append("Aguardando correção manual: " + ", ".join(f"“{t}”" for t in waiting) + ".")
    flags = flag_texts(student)
    if flags:
        parts.append("Observações: " + "; ".join(flags) + ".")
    if student.comments:
        parts.append(
            "Comentários do professor: "
            + " ".join(
                text if text.endswith((".", "!", "?")) else text + "." for text in student.comments.values()
            )
        )
    return html.escape(" ".join(parts), quote=False)


def _question_name(info: GradeCellInfo, several: bool) -> str:
    """A question as the comment names it: the title written for students (after its notebook's name when there
    are several), else its exercise, as before titles existed."""
    if info.titled:
        return f"{info.notebook} — {info.title}" if several else info.title
    return info.exercise or info.title or info.grade_id


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


@dataclass(frozen=True)
class MoodleCsv:
    """What write_moodle_csv wrote, for the overview page and the terminal."""

    skipped: list[str]  # students left out: no Moodle participant id
    dropped: list[Dropped]  # rows Moodle's worksheet import will skip
    notes: list[str]  # about the worksheet as a whole (Portuguese)


def write_moodle_csv(
    path: Path,
    cells: list[GradeCellInfo],
    students: list[StudentResult],
    max_score: float,
    worksheet: Worksheet | None,
    language: str,
    now: datetime,
) -> MoodleCsv:
    """moodle.csv: `worksheet` filled in, on its scale; without one, a worksheet with headers in `language`."""
    if worksheet is None:
        rows, skipped = language_worksheet_rows(cells, students, max_score, language, now)
        write_csv(path, rows)
        return MoodleCsv(skipped, [], [])
    grades, skipped = worksheet_grades(cells, students, max_score, worksheet.maximum)
    filled = fill(worksheet, grades, path)
    notes = list(worksheet.notes)
    if worksheet.maximum and abs(worksheet.maximum - max_score) > 1e-9:
        notes.append(
            f"notas convertidas de 0–{format_number(max_score)} (o corretor) para 0–"
            f"{format_number(worksheet.maximum)} (a nota máxima da tarefa no Moodle)"
        )
    if filled.blank:
        notes.append(
            f"{plural(len(filled.blank), 'participante', 'participantes')} da planilha sem "
            f"envio corrigido {'ficou' if len(filled.blank) == 1 else 'ficaram'} em branco "
            f"(o Moodle não altera): {', '.join(filled.blank)}"
        )
    return MoodleCsv(skipped, filled.dropped, notes)


def language_worksheet_rows(
    cells: list[GradeCellInfo], students: list[StudentResult], max_score: float, language: str, now: datetime
) -> tuple[list[list], list[str]]:
    """moodle.csv's rows when no worksheet was downloaded, headers in `language`; and the students left out."""
    words = MOODLE_STRINGS[language]
    header = [
        words[k]
        for k in ("recordid", "fullname", "grade", "maxgrade", "lastmodifiedgrade", "feedbackcomments")
    ]
    rows, skipped = [header], []
    modified = now.astimezone().isoformat(timespec="seconds")  # strtotime reads ISO 8601 with its offset
    for s in students:
        participants = moodle_participants(s)
        if not participants:
            skipped.append(s.student_id)
            continue
        grade = format_number(s.score, decimal=".")
        comment = moodle_comment(s, cells, max_score)
        for participant, name in participants:
            rows.append(
                [
                    words["hiddenuser"] + participant,
                    name,
                    grade,
                    format_number(max_score, "."),
                    modified,
                    comment,
                ]
            )
    return rows, skipped


def worksheet_grades(
    cells: list[GradeCellInfo], students: list[StudentResult], max_score: float, sheet_max: float | None
) -> tuple[dict[str, tuple[float, str]], list[str]]:
    """participant id -> (grade on the worksheet's scale, comment) for grader.report.moodle.fill; and the
    students left out."""
    grades: dict[str, tuple[float, str]] = {}
    skipped = []
    for s in students:
        participants = moodle_participants(s)
        if not participants:
            skipped.append(s.student_id)
            continue
        scale = (sheet_max / max_score) if sheet_max and max_score else 1.0
        grade = round(float(s.score) * scale, 2)
        for participant, _ in participants:
            grades[participant] = (grade, moodle_comment(s, cells, max_score))
    return grades, skipped


def write_feedback_zip(
    path: Path, students: list[StudentResult], pages: dict[str, Path], assignment: str
) -> int:
    """feedback_moodle.zip: each page as Moodle's "Upload multiple feedback files in a zip" reads it
    (mod/assign/feedback/file/importziplib.php, is_valid_filename_for_import): a folder
    "<name>_<participant id>_assignfeedback_file/" per participant, "_" in names replaced by spaces as the
    download does, so the id is the second "_"-separated part. Returns how many pages it holds."""
    count = 0
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for s in students:
            for participant, name in moodle_participants(s):
                label = re.sub(r"[/\\:*?\"<>|]+", " ", (name or "Participante").replace("_", " ")).strip()
                archive.write(
                    pages[s.student_id],
                    f"{label}_{participant}_assignfeedback_file/devolutiva_{assignment}.html",
                )
                count += 1
    return count
