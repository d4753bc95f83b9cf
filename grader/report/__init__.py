"""The report stage: what the instructor and each student read after grading.

`write_reports` writes, under <report_dir>/<assignment>/:

- scores.json     the exact shape other tools read (grader.model.scores_json);
- scores.csv      one row per student, one column per graded cell (named as in scores.json);
- moodle.csv      a grading worksheet that Moodle's assignment "Upload grading worksheet" accepts;
- feedback/<id>.html  one page per student, in Portuguese, self-contained;
- index.html      the instructor's overview (summary, charts, students, questions), self-contained;
- taxa_acerto.png and histograma.png, the two charts the overview embeds.

The overview links similaridade.html when grader/grading/similarity.py wrote one there (never the feedback pages).

`terminal_table` returns the plain-text table the command line prints.

Moodle's worksheet import (mod/assign/feedback/offline) finds its columns by their headers in the language of the
instructor who uploads the file, and refuses a file without the "Identifier", "Grade" and "Last modified (grade)"
columns; the identifier is the "Participant" string followed by the participant id, the number in the folder
names of Moodle's submissions download ("Nome Sobrenome_123456_assignsubmission_file_"). Grades are written with
a dot: Moodle reads them with unformat_float, which only replaces the language's decimal separator (a comma in
pt_br) by a dot, so "7.5" reads as 7.5 in every language.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import re
import shutil
import statistics
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from jinja2 import Environment

from grader import timestamps
from grader.model import CellResult, StudentResult, cell_key, scores_json


@dataclass(frozen=True)
class GradeCellInfo:
    """One graded cell of the assignment, in teaching order."""

    grade_id: str
    notebook: str  # notebook name without .ipynb
    max_score: float
    manual: bool  # a written answer or a task, graded by a person
    title: str  # short Portuguese label; may equal grade_id
    exercise: str = ""  # the exercise's title (the notebook's heading above the cell): the feedback groups by it
    task: bool = False  # an nbgrader task cell

    @property
    def key(self) -> tuple[str, str]:
        return self.notebook, self.grade_id


@dataclass(frozen=True)
class ReportPaths:
    """Where write_reports put each file."""

    folder: Path
    scores_json: Path
    scores_csv: Path
    moodle_csv: Path
    index_html: Path
    pass_rate_png: Path
    histogram_png: Path
    feedback: dict[str, Path] = field(default_factory=dict)  # student_id -> feedback page
    moodle_skipped: tuple[str, ...] = ()  # students left out of moodle.csv: no Moodle participant id
    feedback_zip: Path | None = None  # feedback_moodle.zip, for Moodle's "Upload multiple feedback files in a zip"
    moodle_dropped: tuple = ()  # grader.report.moodle.Dropped: rows Moodle's worksheet import will skip
    moodle_notes: tuple[str, ...] = ()  # about the worksheet as a whole (Portuguese)


# --------------------------------------------------------------------------------------------------------------
# Words

STATUS_LABELS = {
    "graded": "corrigido",
    "error": "erro",
    "timeout": "tempo esgotado",
    "missing": "sem envio",
}
STATUS_EXPLANATIONS = {
    "graded": "",
    "error": "Não foi possível executar o notebook até o fim: as questões que não rodaram ficaram sem pontos.",
    "timeout": "O notebook excedeu o tempo limite de execução: as questões que não terminaram ficaram sem pontos.",
    "missing": "Nenhuma submissão foi encontrada para esta atividade.",
}
HELD_TEXT = "retida para revisão"
NO_SANDBOX_BANNER = "Correção feita SEM sandbox (--no-sandbox)"
FLAG_TEXTS = {
    "tampering": ("o que é medido no kernel do aluno (memória) ficou retido para revisão: o código mexe no "
                  "IPython, em bibliotecas ou em __eq__"),
    "sem sandbox": "correção feita sem sandbox (--no-sandbox): o código não rodou isolado",
}

MARK_PASS, MARK_FAIL, MARK_NONE, MARK_MANUAL, MARK_PARTIAL = "✓", "✗", "·", "?", "◐"
MARK_LEGEND = (f"{MARK_PASS} passou  {MARK_PARTIAL} parcial  {MARK_FAIL} falhou  {MARK_NONE} não executada  "
               f"{MARK_MANUAL} aguardando correção manual")
MESSAGE_LIMIT = 1500  # characters of a failure message shown to the student
SIMILARITY_JSON, SIMILARITY_HTML = "similaridade.json", "similaridade.html"  # grader/grading/similarity.py writes them


def flag_text(flag: str) -> str:
    """A flag explained in plain Portuguese."""
    if flag in FLAG_TEXTS:
        return FLAG_TEXTS[flag]
    if flag.startswith("auditoria:"):
        found = flag.split(":", 1)[1].strip()
        return f"a auditoria do código encontrou {found}: um professor vai revisar a correção"
    return flag


def _num(value: float, decimal: str = ",") -> str:
    """7.0 -> '7', 7.5 -> '7,5', 2/3 -> '0,67' (Portuguese decimal comma by default)."""
    text = f"{float(value):.2f}".rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text.replace(".", decimal)


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _natural_key(text: str) -> list:
    return [
        (0, int(part), "") if part.isdigit() else (1, 0, part.lower()) for part in re.split(r"(\d+)", text)
    ]


def _sorted(students: Iterable[StudentResult]) -> list[StudentResult]:
    return sorted(students, key=lambda s: _natural_key(s.student_id))


def _safe_filename(student_id: str) -> str:
    name = re.sub(r"[^\w.@-]+", "_", unicodedata.normalize("NFC", student_id)).strip("._")
    return name or "aluno"


# --------------------------------------------------------------------------------------------------------------
# What each student got, per cell


@dataclass(frozen=True)
class _CellView:
    info: GradeCellInfo
    result: CellResult | None
    mark: str
    text: str  # short Portuguese outcome
    score: float
    message: str


def _cell_view(info: GradeCellInfo, result: CellResult | None) -> _CellView:
    if result is None:
        return _CellView(info, None, MARK_NONE, "não executada", 0.0, "")
    if result.not_submitted:
        return _CellView(info, result, MARK_FAIL, f"{info.notebook}.ipynb não enviado", 0.0, "")
    message = result.message.strip()
    if len(message) > MESSAGE_LIMIT:
        message = message[:MESSAGE_LIMIT].rstrip() + " …"
    if result.needs_manual_grade:
        return _CellView(info, result, MARK_MANUAL, "aguardando correção manual", result.score, "")
    if info.manual or result.manual:
        if result.score <= 0 and not result.passed and not result.comment:
            return _CellView(info, result, MARK_FAIL, "sem resposta", 0.0, "")
        if result.score >= result.max_score:
            return _CellView(info, result, MARK_PASS, "corrigida: nota total", result.score, "")
        if result.score > 0:
            return _CellView(info, result, MARK_PARTIAL, "corrigida: nota parcial", result.score, "")
        return _CellView(info, result, MARK_FAIL, "corrigida: sem pontos", result.score, "")
    if result.passed:
        return _CellView(info, result, MARK_PASS, "passou", result.score, "")
    if 0 < result.score < result.max_score:
        return _CellView(info, result, MARK_PARTIAL, "nota parcial", result.score, message)
    return _CellView(info, result, MARK_FAIL, "falhou", result.score, message)


def _cell_views(student: StudentResult, cells: list[GradeCellInfo]) -> list[_CellView]:
    views = [_cell_view(info, student.cell(*info.key)) for info in cells]
    known = {info.key for info in cells}
    for result in student.cells.values():  # a cell the caller did not list: still show it
        if result.key not in known:
            info = GradeCellInfo(result.grade_id, result.notebook, result.max_score, result.manual,
                                 result.grade_id, task=result.task)
            views.append(_cell_view(info, result))
    return views


@dataclass(frozen=True)
class _ExerciseView:
    title: str
    views: list[_CellView]
    comments: list[str]  # the instructor's comments on this exercise's answers
    score: float
    max_score: float


def _exercise_views(student: StudentResult, views: list[_CellView],
                    answer_exercises: dict[tuple[str, str], str]) -> list[_ExerciseView]:
    """The cells grouped under their exercise, in notebook order, with the instructor's comments."""
    groups: dict[str, list[_CellView]] = {}
    for v in views:
        groups.setdefault(v.info.exercise or v.info.title or v.info.grade_id, []).append(v)
    comments: dict[str, list[str]] = {}
    for name, text in student.comments.items():
        notebook, _, grade_id = name.rpartition("/")  # "<notebook>/<grade_id>", or a bare grade_id
        title = next((t for (nb, gid), t in answer_exercises.items()
                      if gid == grade_id and notebook in ("", nb)), "") or next(
            (v.info.exercise for v in views if v.info.grade_id == grade_id and notebook in ("", v.info.notebook)
             and v.info.exercise), "")
        comments.setdefault(title if title in groups else "", []).append(text)
    out = [_ExerciseView(title, group, comments.get(title, []), sum(v.score for v in group),
                         sum(v.info.max_score for v in group)) for title, group in groups.items()]
    if comments.get(""):
        out.append(_ExerciseView("Comentários gerais", [], comments[""], 0.0, 0.0))
    return out


def _marks(student: StudentResult, cells: list[GradeCellInfo]) -> str:
    """One mark per cell; a space between notebooks."""
    marks, last = [], None
    for info in cells:
        if last is not None and info.notebook != last:
            marks.append(" ")
        marks.append(_cell_view(info, student.cell(*info.key)).mark)
        last = info.notebook
    return "".join(marks)


def _status_label(student: StudentResult, *, short: bool = False) -> str:
    label = STATUS_LABELS.get(student.status, student.status)
    if student.held_for_review:
        label = f"{label}, retido" if short else f"{label}, retido para revisão"
    if student.late:
        label += ", atrasado"
    return label


def _multi_notebook(cells: list[GradeCellInfo]) -> bool:
    return len({info.notebook for info in cells}) > 1


def _submission_text(student: StudentResult, due_date) -> str:
    """'10/05/2025 22:10 (UTC−03:00), pelo timestamp.txt; atrasada 2 h 05 min', in the due date's zone."""
    if not student.submitted_at:
        return ""
    when = datetime.fromisoformat(student.submitted_at)
    zone = due_date.tzinfo if due_date is not None else None
    source = {"timestamp.txt": "pelo timestamp.txt", "zip": "pelo horário do arquivo no zip",
              "arquivo": "pelo horário do arquivo"}.get(student.submitted_from, "")
    text = timestamps.shown(when, zone) + (f", {source}" if source else "")
    if student.late:
        text += f"; atrasada {timestamps.lateness(student.seconds_late)}"
    elif due_date is not None:
        text += "; no prazo"
    return text


def _flag_texts(student: StudentResult) -> list[str]:
    texts = [flag_text(flag) for flag in student.flags]
    if student.held_for_review and not any(HELD_TEXT in text for text in texts):
        texts.append("questões " + HELD_TEXT + ": um professor vai revisá-las antes de creditar os pontos")
    return texts


# --------------------------------------------------------------------------------------------------------------
# Class statistics


@dataclass(frozen=True)
class _Stats:
    total: int
    graded: int  # status "graded", held ones included
    errors: int  # status "error"
    timeouts: int
    missing: int
    held: int
    scores: list[float]  # graded and not held: the ones the statistics describe
    mean: float | None
    median: float | None
    pass_rates: list[tuple[GradeCellInfo, int, int]]  # auto cell, passed, out of


def _stats(cells: list[GradeCellInfo], students: list[StudentResult]) -> _Stats:
    counted = [s for s in students if s.status == "graded" and not s.held_for_review]
    scores = [float(s.score) for s in counted]
    rates = []
    for info in cells:
        if info.manual:
            continue
        passed = sum(1 for s in counted if (c := s.cell(*info.key)) is not None and c.passed)
        rates.append((info, passed, len(counted)))
    return _Stats(
        total=len(students),
        graded=sum(s.status == "graded" for s in students),
        errors=sum(s.status == "error" for s in students),
        timeouts=sum(s.status == "timeout" for s in students),
        missing=sum(s.status == "missing" for s in students),
        held=sum(bool(s.held_for_review) for s in students),
        scores=scores,
        mean=statistics.fmean(scores) if scores else None,
        median=statistics.median(scores) if scores else None,
        pass_rates=rates,
    )


# --------------------------------------------------------------------------------------------------------------
# Charts (Agg, no pyplot state)


def _new_figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save(figure, path: Path) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    figure.clear()
    data = buffer.getvalue()
    path.write_bytes(data)
    return data


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _empty_message(axes, text: str) -> None:
    """A chart with nothing to plot says why, in the middle of its axes."""
    axes.text(0.5, 0.5, text, ha="center", va="center", transform=axes.transAxes, fontsize=11, color="#555555")


def _pass_rate_chart(assignment: str, stats: _Stats, path: Path) -> bytes:
    rates = stats.pass_rates
    figure = _new_figure(8.0, max(2.6, 0.55 * len(rates) + 1.6))
    axes = figure.add_subplot()
    axes.set_title(f"Taxa de acerto por questão — {assignment}", fontsize=12)
    out_of = rates[0][2] if rates else 0
    if not rates or out_of == 0:
        _empty_message(axes, "sem questões automáticas ou sem alunos corrigidos")
        axes.set_axis_off()
        return _save(figure, path)
    several = _multi_notebook([info for info, _, _ in rates])  # the same title may stand in two notebooks
    labels = [_shorten(f"{info.notebook}: " * several + (info.title or info.grade_id), 38) for info, _, _ in rates]
    percents = [100.0 * passed / total for _, passed, total in rates]
    positions = list(range(len(rates)))
    colors = ["#2e7d32" if p >= 70 else "#f9a825" if p >= 40 else "#c62828" for p in percents]
    axes.barh(positions, percents, color=colors, height=0.6)
    axes.set_yticks(positions, labels, fontsize=10)
    axes.invert_yaxis()  # first cell on top, as in the notebook
    axes.set_xlim(0, 118)
    axes.set_xticks([0, 20, 40, 60, 80, 100])
    axes.set_xlabel(f"alunos corrigidos que acertaram (%) — {out_of} aluno(s)")
    for y, percent, (_, passed, total) in zip(positions, percents, rates, strict=True):
        axes.text(percent + 1.5, y, f"{percent:.0f}% ({passed}/{total})", va="center", fontsize=9)
    axes.grid(axis="x", alpha=0.3)
    axes.spines[["top", "right"]].set_visible(False)
    return _save(figure, path)


def _histogram_chart(assignment: str, max_score: float, stats: _Stats, path: Path) -> bytes:
    figure = _new_figure(8.0, 4.0)
    axes = figure.add_subplot()
    axes.set_title(f"Distribuição das notas — {assignment}", fontsize=12)
    top = max(float(max_score), max(stats.scores, default=0.0), 1.0)
    if float(max_score).is_integer() and top <= 30:
        edges = [x - 0.5 for x in range(int(top) + 2)]
    else:
        edges = [top * i / 10 for i in range(11)]
    if stats.scores:
        counts, _, _ = axes.hist(stats.scores, bins=edges, color="#1565c0", edgecolor="white", zorder=2)
        axes.set_ylim(0, max(counts) * 1.3 + 0.5)  # room for the legend above the bars
    else:
        _empty_message(axes, "nenhum aluno corrigido")
    axes.axvline(
        float(max_score),
        color="#c62828",
        linestyle="--",
        linewidth=1.8,
        zorder=3,
        label=f"nota máxima = {_num(max_score)}",
    )
    if stats.mean is not None:
        axes.axvline(
            stats.mean,
            color="#2e7d32",
            linestyle=":",
            linewidth=2.0,
            zorder=3,
            label=f"média = {_num(stats.mean)}",
        )
    axes.set_xlim(edges[0], max(edges[-1], float(max_score)) + 0.05 * top)
    axes.set_xlabel("nota")
    axes.set_ylabel("número de alunos")
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.legend(loc="upper left", frameon=False)
    axes.grid(axis="y", alpha=0.3)
    axes.spines[["top", "right"]].set_visible(False)
    return _save(figure, path)


# --------------------------------------------------------------------------------------------------------------
# CSV files


def _write_csv(path: Path, rows: list[list]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)


def _scores_csv_rows(
    cells: list[GradeCellInfo], students: list[StudentResult], max_score: float
) -> list[list]:
    multi = _multi_notebook(cells)
    header = ["student_id", "nome", "status", "score", "max_score", "flags"]
    header += [cell_key(c.notebook, c.grade_id, multi) for c in cells] + ["submitted_at", "late"]
    rows = [header]
    for s in students:
        row = [s.student_id, s.name, s.status, float(s.score), float(max_score), ";".join(s.flags)]
        for info in cells:
            result = s.cell(*info.key)
            row.append("" if result is None else float(result.score))
        rows.append(row + [s.submitted_at, "sim" if s.late else ""])
    return rows


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
MOODLE_ID = re.compile(r"_(\d+)_(?:assignsubmission|onlinetext)_")


def moodle_participant_id(student: StudentResult) -> str | None:
    """The participant id Moodle's worksheet expects: the number in the Moodle folder the submission came from
    (an all-digit student id from another layout, a registration number, is not one)."""
    if student.moodle_id:
        return student.moodle_id
    for source in student.source_files:
        found = MOODLE_ID.search(source)
        if found:
            return found.group(1)
    return None


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
    if student.status == "missing":
        parts.append("Nenhuma submissão encontrada para esta atividade.")
    elif student.held_for_review:
        parts.append("Nota automática retida para revisão por um professor.")
    else:
        parts.append(f"Nota automática: {_num(student.score)}/{_num(max_score)}.")
    if student.problem:
        parts.append(student.problem[0].upper() + student.problem[1:].rstrip(".") + ".")
    elif student.status in ("error", "timeout"):
        parts.append(STATUS_EXPLANATIONS[student.status])
    if student.missing_notebooks:
        parts.append(_missing_text(student) + ".")
    if student.late:
        parts.append(f"Entrega atrasada ({timestamps.lateness(student.seconds_late)} depois do prazo).")
    views = _cell_views(student, cells)
    failed = _unique(v.info.exercise or v.info.title or v.info.grade_id for v in views
                     if v.mark == MARK_FAIL and v.result is not None and not v.result.not_submitted)
    if failed and student.status != "missing":
        parts.append("Questões sem pontuação total: " + ", ".join(f"“{t}”" for t in failed) + ".")
    partial = _unique(v.info.exercise or v.info.title for v in views if v.mark == MARK_PARTIAL)
    if partial:
        parts.append("Pontuação parcial: " + ", ".join(f"“{t}”" for t in partial) + ".")
    waiting = _unique(v.info.exercise or v.info.title or v.info.grade_id for v in views if v.mark == MARK_MANUAL)
    if waiting:
        parts.append("Aguardando correção manual: " + ", ".join(f"“{t}”" for t in waiting) + ".")
    flags = [text for text in _flag_texts(student) if HELD_TEXT not in text or not student.held_for_review]
    if flags:
        parts.append("Observações: " + "; ".join(flags) + ".")
    if student.comments:
        parts.append("Comentários do professor: " + " ".join(
            text if text.endswith((".", "!", "?")) else text + "." for text in student.comments.values()))
    return html.escape(" ".join(parts), quote=False)


def _missing_text(student: StudentResult) -> str:
    names = ", ".join(f"{name}.ipynb" for name in student.missing_notebooks)
    one = len(student.missing_notebooks) == 1
    return (f"Notebook{'' if one else 's'} não enviado{'' if one else 's'}: {names}; as questões "
            f"{'dele' if one else 'deles'} ficaram com 0")


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _moodle_rows(
    cells: list[GradeCellInfo], students: list[StudentResult], max_score: float, language: str, now: datetime
) -> tuple[list[list], list[str]]:
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
        # A held grade is left blank: Moodle skips an empty grade instead of publishing a 0 before the review.
        grade = "" if s.held_for_review else _num(s.score, decimal=".")
        comment = moodle_comment(s, cells, max_score)
        for participant, name in participants:
            rows.append([words["hiddenuser"] + participant, name, grade, _num(max_score, "."), modified, comment])
    return rows, skipped


def _worksheet_grades(cells: list[GradeCellInfo], students: list[StudentResult], max_score: float,
                      sheet_max: float | None) -> tuple[dict[str, tuple[float | None, str, str]], list[str]]:
    """participant id -> (grade on the worksheet's scale or None, comment, why blank) for grader.report.moodle.fill."""
    grades: dict[str, tuple[float | None, str, str]] = {}
    skipped = []
    for s in students:
        participants = moodle_participants(s)
        if not participants:
            skipped.append(s.student_id)
            continue
        grade = None
        if not s.held_for_review:
            scale = (sheet_max / max_score) if sheet_max and max_score else 1.0
            grade = round(float(s.score) * scale, 2)
        why = "nota automática retida para revisão (medida no kernel do aluno)" if s.held_for_review else ""
        for participant, _ in participants:
            grades[participant] = (grade, moodle_comment(s, cells, max_score), why)
    return grades, skipped


def _feedback_zip(path: Path, students: list[StudentResult], pages: dict[str, Path], assignment: str) -> int:
    """feedback_moodle.zip: each page as Moodle's "Upload multiple feedback files in a zip" reads it
    (mod/assign/feedback/file/importziplib.php, is_valid_filename_for_import): a folder
    "<name>_<participant id>_assignfeedback_file/" per participant, "_" in names replaced by spaces as the
    download does, so the id is the second "_"-separated part."""
    count = 0
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for s in students:
            for participant, name in moodle_participants(s):
                label = re.sub(r"[/\\:*?\"<>|]+", " ", (name or "Participante").replace("_", " ")).strip()
                archive.write(pages[s.student_id], f"{label}_{participant}_assignfeedback_file/devolutiva_{assignment}.html")
                count += 1
    return count


# --------------------------------------------------------------------------------------------------------------
# HTML

_STYLE = """
:root { --ink:#1d232b; --muted:#5b6573; --line:#dde2e8; --bg:#f5f7fa; --ok:#2e7d32; --bad:#c62828;
        --warn:#b26a00; --manual:#6a4fb3; --accent:#1565c0; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
       font:15px/1.5 "Segoe UI", "Helvetica Neue", Arial, "DejaVu Sans", sans-serif; }
main { max-width:1100px; margin:0 auto; padding:24px 20px 48px; }
h1 { font-size:24px; margin:0 0 4px; } h2 { font-size:18px; margin:32px 0 10px; }
.sub { color:var(--muted); margin:0 0 16px; }
.banner { background:#fdecea; border:2px solid var(--bad); color:#8e1b1b; font-weight:700; font-size:17px;
          padding:12px 16px; border-radius:8px; margin:12px 0 18px; }
.card { background:#fff; border:1px solid var(--line); border-radius:10px; padding:16px 18px; margin:14px 0; }
.cards { display:flex; flex-wrap:wrap; gap:12px; margin:16px 0; }
.cards .card { margin:0; flex:1 1 120px; text-align:center; padding:12px; }
.cards .value { font-size:26px; font-weight:700; } .cards .label { color:var(--muted); font-size:13px; }
table { border-collapse:collapse; width:100%; background:#fff; }
th, td { text-align:left; padding:7px 10px; border-bottom:1px solid var(--line); vertical-align:top; }
th { background:#eef2f6; font-size:13px; color:#37414d; white-space:nowrap; }
td.num, th.num { text-align:right; white-space:nowrap; font-variant-numeric:tabular-nums; }
.ok { color:var(--ok); font-weight:700; } .bad { color:var(--bad); font-weight:700; }
.manual { color:var(--manual); font-weight:700; } .none { color:var(--muted); font-weight:700; }
.marks { font-family:"DejaVu Sans Mono", Consolas, monospace; letter-spacing:2px; white-space:nowrap; }
.pill { display:inline-block; padding:1px 9px; border-radius:999px; font-size:12.5px; font-weight:600;
        background:#e8edf3; color:#37414d; white-space:nowrap; }
.pill.graded { background:#e3f1e4; color:#1f5e23; } .pill.error, .pill.timeout { background:#fdecea; color:#8e1b1b; }
.pill.missing { background:#eceff1; color:#546e7a; } .pill.held { background:#fff3e0; color:#8a4b00; }
.flag { display:inline-block; background:#fff3e0; color:#8a4b00; border-radius:6px; padding:1px 7px; margin:1px 2px;
        font-size:12.5px; }
.flags li { margin:4px 0; } .flags { margin:6px 0 0; padding-left:20px; }
.warn { border-left:5px solid var(--warn); } .info { border-left:5px solid var(--accent); }
pre.msg { white-space:pre-wrap; word-break:break-word; margin:0; background:#fbf3f3; border:1px solid #f0d7d7;
          padding:6px 8px; border-radius:6px; font:13px/1.45 "DejaVu Sans Mono", Consolas, monospace; }
.small { font-size:12.5px; color:var(--muted); }
.charts { display:flex; flex-wrap:wrap; gap:14px; } .charts img { max-width:100%; height:auto; display:block; }
.charts .card { flex:1 1 100%; margin:0; text-align:center; } .charts img { margin:0 auto; }
.bar { background:#e8edf3; border-radius:4px; height:12px; width:160px; display:inline-block; vertical-align:middle;
       overflow:hidden; margin-right:8px; } .bar > span { display:block; height:100%; background:var(--ok); }
th.sortable { cursor:pointer; user-select:none; } th.sortable::after { content:" ⇅"; color:#9aa5b1; }
th.sortable.asc::after { content:" ▲"; color:var(--accent); } th.sortable.desc::after { content:" ▼"; color:var(--accent); }
a { color:var(--accent); } td.name { min-width:150px; }
.scroll { overflow-x:auto; max-width:100%; } .scroll table { min-width:640px; }
.exercise h3 { font-size:16px; margin:0; } .ex-head { display:flex; justify-content:space-between; gap:10px;
  align-items:baseline; border-bottom:1px solid var(--line); padding-bottom:6px; margin-bottom:4px; }
.ex-score { font-weight:700; white-space:nowrap; }
.q { padding:6px 0; border-bottom:1px dashed var(--line); } .q:last-of-type { border-bottom:0; }
.q-line { display:flex; flex-wrap:wrap; gap:4px 10px; align-items:baseline; }
.q-label { font-weight:600; } .q-text { color:var(--muted); } .q-points { margin-left:auto; white-space:nowrap;
  font-variant-numeric:tabular-nums; }
.partial { color:var(--warn); font-weight:700; } td.late { color:var(--bad); font-weight:600; }
.comment { background:#eef4fd; border-left:4px solid var(--accent); padding:8px 10px; margin-top:8px;
  border-radius:6px; overflow-wrap:anywhere; }
pre.msg { margin-top:4px; }
img { max-width:100%; }
@media (max-width: 600px) {
  main { padding:14px 10px 32px; } h1 { font-size:20px; } .card { padding:12px; }
  .score-big { font-size:28px; } dl.meta { grid-template-columns:1fr; } dl.meta dd { margin-bottom:4px; }
}
.score-big { font-size:34px; font-weight:800; } .score-big small { font-size:18px; color:var(--muted); font-weight:600; }
.head { display:flex; flex-wrap:wrap; justify-content:space-between; gap:16px; align-items:flex-end; }
dl.meta { display:grid; grid-template-columns:max-content 1fr; gap:2px 14px; margin:0; }
dl.meta dt { color:var(--muted); } dl.meta dd { margin:0; font-weight:600; }
"""

_FEEDBACK_TEMPLATE = """<!DOCTYPE html>
<html lang="pt-BR">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ assignment }} — devolutiva de {{ student.name or student.student_id }}</title>
<style>{{ style | safe }}</style>
</head>
<body><main>
{% if not sandboxed %}<div class="banner" role="alert">⚠ {{ no_sandbox }}</div>{% endif %}
<div class="card head">
  <div>
    <h1>Devolutiva da correção automática</h1>
    <dl class="meta">
      <dt>Atividade</dt><dd>{{ assignment }}</dd>
      <dt>Aluno</dt><dd>{{ student.name or "—" }} <span class="small">({{ student.student_id }})</span></dd>
      <dt>Situação</dt><dd><span class="pill {{ status_class }}">{{ status_label }}</span></dd>
      {% if submission %}<dt>Entrega</dt><dd>{{ submission }}</dd>{% endif %}
    </dl>
  </div>
  <div class="score-big" aria-label="nota">{{ score }}<small> / {{ max_score }}</small></div>
</div>
{% if status_text %}<div class="card warn">{{ status_text }}</div>{% endif %}
{% if missing_text %}<div class="card warn">{{ missing_text }}</div>{% endif %}
{% if flags %}
<div class="card warn"><strong>Observações sobre esta correção</strong>
  <ul class="flags">{% for text in flags %}<li>{{ text }}</li>{% endfor %}</ul>
  {% if student.held_for_review %}<p class="small">A nota acima é provisória: as questões retidas, marcadas
  abaixo, ainda não foram creditadas.</p>{% endif %}
</div>
{% endif %}
<h2>Questões</h2>
{% for ex in exercises %}
<section class="card exercise">
  <div class="ex-head"><h3>{{ ex.title }}</h3>
    {% if ex.views %}<span class="ex-score">{{ num(ex.score) }} / {{ num(ex.max_score) }}</span>{% endif %}</div>
  {% for v in ex.views %}
  <div class="q">
    <div class="q-line"><span class="{{ mark_class[v.mark] }}">{{ v.mark }}</span>
      <span class="q-label">{{ v.info.title or v.info.grade_id }}</span>
      <span class="q-text">{{ v.text }}</span>
      <span class="q-points">{{ num(v.score) }} / {{ num(v.info.max_score) }}</span></div>
    {% if v.info.task %}<div class="small">tarefa (correção manual)</div>
    {% elif v.info.manual %}<div class="small">resposta escrita (correção manual)</div>{% endif %}
    {% if v.message %}<pre class="msg">{{ v.message }}</pre>{% endif %}
  </div>
  {% endfor %}
  {% for text in ex.comments %}<div class="comment"><strong>Comentário do professor:</strong> {{ text }}</div>{% endfor %}
</section>
{% endfor %}
<p class="small">{{ legend }}</p>
<p class="small">Gerado em {{ generated }}.</p>
</main></body>
</html>
"""

_INDEX_TEMPLATE = """<!DOCTYPE html>
<html lang="pt-BR">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ assignment }} — relatório da correção</title>
<style>{{ style | safe }}</style>
</head>
<body><main>
<h1>Relatório da correção — {{ assignment }}</h1>
<p class="sub">Gerado em {{ generated }} · nota máxima {{ num(max_score) }} · {{ cells | length }} questão(ões)
{% if due_date %} · prazo {{ due_date }} · {{ late }} entrega(s) atrasada(s){% endif %}</p>
{% if not sandboxed %}<div class="banner" role="alert">⚠ {{ no_sandbox }}: o código dos alunos rodou sem
isolamento. Confira os resultados antes de publicá-los.</div>{% endif %}
<div class="cards">
  <div class="card"><div class="value">{{ stats.total }}</div><div class="label">alunos</div></div>
  <div class="card"><div class="value">{{ stats.graded }}</div><div class="label">corrigidos</div></div>
  <div class="card"><div class="value">{{ stats.errors + stats.timeouts }}</div>
    <div class="label">erros ({{ stats.timeouts }} por tempo esgotado)</div></div>
  <div class="card"><div class="value">{{ stats.missing }}</div><div class="label">sem envio</div></div>
  <div class="card"><div class="value">{{ stats.held }}</div><div class="label">retidos para revisão</div></div>
  <div class="card"><div class="value">{{ "—" if stats.mean is none else num(stats.mean) }}</div>
    <div class="label">média</div></div>
  <div class="card"><div class="value">{{ "—" if stats.median is none else num(stats.median) }}</div>
    <div class="label">mediana</div></div>
</div>
<p class="small">Média, mediana, gráficos e taxas de acerto contam só os {{ stats.scores | length }} aluno(s)
corrigidos e não retidos para revisão.</p>
{% if similarity %}<div class="card {{ 'warn' if similarity.pairs else 'info' }}"><strong>Similaridade entre respostas:</strong>
{{ similarity.pairs }} par(es) de respostas parecidas entre {{ similarity.couples }} par(es) de alunos
(gerado em {{ similarity.generated }}). <a href="{{ similarity_html }}">Abrir o relatório de similaridade</a>
(só para docentes: não vai para as devolutivas).</div>{% endif %}
<div class="charts">
  <div class="card"><img alt="Taxa de acerto por questão" src="data:image/png;base64,{{ pass_rate_png }}"></div>
  <div class="card"><img alt="Distribuição das notas" src="data:image/png;base64,{{ histogram_png }}"></div>
</div>

<h2>Alunos</h2>
<p class="small">Clique num cabeçalho para ordenar. Questões: {{ legend }}.</p>
<div class="scroll">
<table id="alunos">
  <thead><tr>
    <th class="sortable" data-type="text">ID</th><th class="sortable" data-type="text">Nome</th>
    <th class="sortable num" data-type="num">Nota</th><th class="sortable" data-type="text">Situação</th>
    <th>Sinais</th><th>Questões</th><th class="sortable" data-type="text">Entrega</th><th>Observações</th>
    <th>Devolutiva</th>
  </tr></thead>
  <tbody>
  {% for row in rows %}
  <tr>
    <td data-sort="{{ row.sort_id }}">{{ row.student.student_id }}</td>
    <td class="name">{{ row.student.name or "—" }}</td>
    <td class="num" data-sort="{{ row.student.score }}">{{ num(row.student.score) }} / {{ num(max_score) }}</td>
    <td data-sort="{{ row.status_label }}"><span class="pill {{ row.status_class }}">{{ row.status_label }}</span></td>
    <td>{% for flag in row.student.flags %}<span class="flag" title="{{ flag_text(flag) }}">{{ flag }}</span>{% endfor %}</td>
    <td class="marks">{% for v in row.views %}{% if not loop.first and v.info.notebook != row.views[loop.index0 - 1].info.notebook %} {% endif %}<span class="{{ mark_class[v.mark] }}" title="{{ v.info.notebook }}/{{ v.info.grade_id }} — {{ v.info.title or v.info.grade_id }}: {{ v.text }}">{{ v.mark }}</span>{% endfor %}</td>
    <td class="small{{ ' late' if row.student.late else '' }}" data-sort="{{ row.student.submitted_at }}">{{ row.submission or "—" }}</td>
    <td class="small">{{ row.student.notes | join("; ") }}</td>
    <td><a href="{{ row.link }}">abrir</a></td>
  </tr>
  {% endfor %}
  </tbody>
</table>
</div>

<h2>Questões</h2>
<div class="scroll">
<table>
  <thead><tr><th>Questão</th><th>Notebook</th><th class="num">Pontos</th><th>Tipo</th><th>Taxa de acerto</th></tr></thead>
  <tbody>
  {% for q in questions %}
  <tr>
    <td><strong>{{ q.info.title or q.info.grade_id }}</strong>
      {% if q.info.title and q.info.title != q.info.grade_id %}<br><span class="small">{{ q.info.grade_id }}</span>{% endif %}</td>
    <td>{{ q.info.notebook }}</td>
    <td class="num">{{ num(q.info.max_score) }}</td>
    <td>{{ "tarefa (manual)" if q.info.task else "manual" if q.info.manual else "automática" }}</td>
    <td>{% if q.info.manual %}{{ q.waiting }} aguardando correção manual
        {% elif q.total %}<span class="bar"><span style="width:{{ q.percent }}%"></span></span>{{ q.percent }}%
        ({{ q.passed }}/{{ q.total }})
        {% else %}—{% endif %}</td>
  </tr>
  {% endfor %}
  </tbody>
</table>
</div>

{% if worksheet is not none or moodle_dropped or moodle_notes %}
<h2>Planilha do Moodle</h2>
<div class="card {{ 'warn' if moodle_dropped else 'info' }}">
  {% if worksheet is not none %}<p>moodle.csv é a planilha {{ worksheet.path.name }} preenchida
  ({{ worksheet.participants | length }} participante(s)): envie-a em Ação de avaliação → Carregar planilha de notas.
  </p>{% endif %}
  {% for note in moodle_notes %}<p>{{ note }}</p>{% endfor %}
  {% if moodle_dropped %}
  <p><strong>{{ moodle_dropped | length }} linha(s) que o Moodle vai ignorar ao importar:</strong></p>
  <div class="scroll"><table id="ignoradas">
    <thead><tr><th>Participante</th><th>Motivo</th><th>O que fazer</th></tr></thead>
    <tbody>{% for d in moodle_dropped %}<tr><td>{{ d.name }} <span class="small">({{ d.participant_id }})</span></td>
      <td>{{ d.reason }}</td><td>{{ d.action }}</td></tr>{% endfor %}</tbody>
  </table></div>
  {% else %}<p>Nenhuma linha será ignorada pelo Moodle pelo que a planilha mostra.</p>{% endif %}
  <p class="small">O Moodle também ignora a nota de quem teve a nota mudada no Moodle depois de a planilha ser
  baixada (a menos que se marque “Ignorar registros modificados”), de alunos fora do grupo selecionado e de tarefas
  com rubrica ou guia de avaliação.</p>
</div>
{% endif %}

<h2>Arquivos</h2>
<div class="card info">
  <ul>
    <li><a href="scores.csv">scores.csv</a> — uma linha por aluno, uma coluna por questão</li>
    <li><a href="scores.json">scores.json</a> — as mesmas notas em JSON</li>
    <li><a href="moodle.csv">moodle.csv</a> — {% if worksheet is not none %}a planilha de notas baixada do
      Moodle ({{ worksheet.path.name }}), preenchida: mesmos cabeçalhos, colunas e codificação; notas na escala da
      tarefa (0–{{ num(worksheet.maximum or max_score) }}){% else %}planilha de notas para o Moodle, com os
      cabeçalhos em {{ moodle_language_name }} (use --moodle-language para o idioma do seu Moodle). Os números
      de participante valem só para a tarefa de onde veio o zip; prefira passar a planilha da tarefa com
      --worksheet. A nota máxima da tarefa no Moodle deve ser {{ num(max_score) }}{% endif %}. Envie-a pela ação
      de avaliação da tarefa “Carregar planilha de notas” (a tarefa precisa de “Planilha de notas offline” e, para
      os comentários, de “Comentários de feedback” habilitados). Notas retidas para revisão ficam em branco, e o
      Moodle não as altera.
      {% if moodle_skipped %}Sem identificador do Moodle, fora da planilha: {{ moodle_skipped | join(", ") }}.{% endif %}</li>
    <li>feedback/ — uma devolutiva por aluno, para enviar a cada um</li>
    <li><a href="feedback_moodle.zip">feedback_moodle.zip</a> — as devolutivas de {{ zipped }} participante(s),
      para “Enviar vários arquivos de feedback em um zip” na tarefa (precisa de “Arquivos de feedback” habilitado)</li>
    {% if similarity %}<li><a href="{{ similarity_html }}">{{ similarity_html }}</a> e {{ similarity_json }} — respostas
      parecidas entre alunos, exercício por exercício (só para docentes)</li>{% endif %}
  </ul>
</div>
</main>
<script>
document.querySelectorAll("#alunos th.sortable").forEach(function (th, col) {
  th.addEventListener("click", function () {
    var index = Array.prototype.indexOf.call(th.parentNode.children, th);
    var body = th.closest("table").tBodies[0];
    var asc = !th.classList.contains("asc");
    th.parentNode.querySelectorAll("th").forEach(function (h) { h.classList.remove("asc", "desc"); });
    th.classList.add(asc ? "asc" : "desc");
    var numeric = th.dataset.type === "num";
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[index].dataset.sort || a.cells[index].textContent;
      var y = b.cells[index].dataset.sort || b.cells[index].textContent;
      var r = numeric ? parseFloat(x) - parseFloat(y) : x.localeCompare(y, "pt-BR", {numeric: true});
      return asc ? r : -r;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  });
});
</script>
</body>
</html>
"""

_MARK_CLASS = {MARK_PASS: "ok", MARK_FAIL: "bad", MARK_NONE: "none", MARK_MANUAL: "manual", MARK_PARTIAL: "partial"}


def _environment() -> Environment:
    env = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.globals.update(
        num=_num,
        flag_text=flag_text,
        mark_class=_MARK_CLASS,
        style=_STYLE,
        no_sandbox=NO_SANDBOX_BANNER,
        legend=MARK_LEGEND,
    )
    return env


def _status_class(student: StudentResult) -> str:
    return "held" if student.held_for_review else student.status


# --------------------------------------------------------------------------------------------------------------
# Entry points


def write_reports(
    report_dir: Path,
    assignment: str,
    cells: list[GradeCellInfo],
    students: list[StudentResult],
    *,
    sandboxed: bool = True,
    moodle_language: str = "pt_br",
    worksheet=None,
    answer_exercises: dict[tuple[str, str], str] | None = None,
    notebooks: list[str] | None = None,
    due_date: datetime | None = None,
) -> ReportPaths:
    """Write every report of one assignment into <report_dir>/<assignment>/ and say where.

    With `worksheet` (grader.report.moodle.Worksheet, Moodle's grading worksheet of this assignment) moodle.csv is that
    worksheet filled in; without it, a worksheet in `moodle_language`. `answer_exercises` maps answer cells
    ((notebook, grade_id)) to their exercise, to place the instructor's comments on them. `notebooks`: the
    assignment's (default: those of `cells`); `due_date`: the assignment's, if any (aware)."""
    if moodle_language not in MOODLE_STRINGS:
        known = ", ".join(sorted(MOODLE_STRINGS))
        raise ValueError(f"moodle_language {moodle_language!r} desconhecido; use um de: {known}")
    cells = list(cells)
    students = list(students)
    folder = Path(report_dir) / assignment
    feedback_dir = folder / "feedback"
    feedback_dir.mkdir(parents=True, exist_ok=True)
    max_score = float(sum(c.max_score for c in cells))
    now = datetime.now()
    generated = now.strftime("%d/%m/%Y %H:%M")
    any_unsandboxed = not sandboxed or any(not s.sandboxed for s in students)

    paths = {
        "scores_json": folder / "scores.json",
        "scores_csv": folder / "scores.csv",
        "moodle_csv": folder / "moodle.csv",
        "index_html": folder / "index.html",
        "pass_rate_png": folder / "taxa_acerto.png",
        "histogram_png": folder / "histograma.png",
    }
    notebooks = notebooks if notebooks is not None else list(dict.fromkeys(c.notebook for c in cells))
    data = scores_json(assignment, max_score, students, notebooks,
                       due_date.isoformat() if due_date is not None else None)
    paths["scores_json"].write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    _write_csv(paths["scores_csv"], _scores_csv_rows(cells, students, max_score))
    dropped, moodle_notes = [], []
    if worksheet is not None:
        from grader.report import moodle

        grades, skipped = _worksheet_grades(cells, students, max_score, worksheet.maximum)
        filled = moodle.fill(worksheet, grades, paths["moodle_csv"])
        dropped, moodle_notes = filled.dropped, list(worksheet.notes)
        if worksheet.maximum and abs(worksheet.maximum - max_score) > 1e-9:
            moodle_notes.append(f"notas convertidas de 0–{_num(max_score)} (o corretor) para 0–"
                                f"{_num(worksheet.maximum)} (a nota máxima da tarefa no Moodle)")
        if filled.blank:
            moodle_notes.append(f"{_plural(len(filled.blank), 'participante', 'participantes')} da planilha sem "
                                f"envio corrigido {'ficou' if len(filled.blank) == 1 else 'ficaram'} em branco "
                                f"(o Moodle não altera): {', '.join(filled.blank)}")
    else:
        moodle_rows, skipped = _moodle_rows(cells, students, max_score, moodle_language, now)
        _write_csv(paths["moodle_csv"], moodle_rows)

    stats = _stats(cells, students)
    pass_rate_png = _pass_rate_chart(assignment, stats, paths["pass_rate_png"])
    histogram_png = _histogram_chart(assignment, max_score, stats, paths["histogram_png"])

    env = _environment()
    feedback_template = env.from_string(_FEEDBACK_TEMPLATE)
    feedback: dict[str, Path] = {}
    used: set[str] = set()
    rows = []
    for s in _sorted(students):
        name = _safe_filename(s.student_id)
        while name in used:  # two ids that clean up to the same file name
            name += "_"
        used.add(name)
        page = feedback_dir / f"{name}.html"
        views = _cell_views(s, cells)
        page.write_text(
            feedback_template.render(
                assignment=assignment,
                student=s,
                exercises=_exercise_views(s, views, answer_exercises or {}),
                score=_num(s.score),
                max_score=_num(max_score),
                status_label=_status_label(s),
                status_class=_status_class(s),
                status_text=(s.problem[0].upper() + s.problem[1:]) if s.problem else STATUS_EXPLANATIONS.get(s.status, ""),
                missing_text=_missing_text(s) + "." if s.missing_notebooks else "",
                submission=_submission_text(s, due_date),
                flags=_flag_texts(s),
                sandboxed=sandboxed and s.sandboxed,
                generated=generated,
            ),
            encoding="utf-8",
        )
        feedback[s.student_id] = page
        rows.append(
            {
                "student": s,
                "views": views,
                "status_label": _status_label(s),
                "status_class": _status_class(s),
                "link": f"feedback/{name}.html",
                "sort_id": s.student_id.zfill(12) if s.student_id.isdigit() else s.student_id,
                "submission": _submission_text(s, due_date),
            }
        )

    questions = []
    rates = {info.key: (passed, total) for info, passed, total in stats.pass_rates}
    for info in cells:
        passed, total = rates.get(info.key, (0, 0))
        waiting = sum(
            1 for s in students if (c := s.cell(*info.key)) is not None and c.needs_manual_grade
        )
        percent = round(100 * passed / total) if total else 0
        questions.append(
            {"info": info, "passed": passed, "total": total, "percent": percent, "waiting": waiting}
        )

    feedback_zip = folder / "feedback_moodle.zip"
    zipped = _feedback_zip(feedback_zip, students, feedback, assignment)
    paths["index_html"].write_text(
        env.from_string(_INDEX_TEMPLATE).render(
            assignment=assignment,
            cells=cells,
            max_score=max_score,
            stats=stats,
            rows=rows,
            questions=questions,
            sandboxed=not any_unsandboxed,
            moodle_language_name=MOODLE_LANGUAGE_NAMES[moodle_language],
            generated=generated,
            moodle_skipped=skipped,
            moodle_dropped=dropped,
            moodle_notes=moodle_notes,
            worksheet=worksheet,
            zipped=zipped,
            pass_rate_png=base64.b64encode(pass_rate_png).decode("ascii"),
            histogram_png=base64.b64encode(histogram_png).decode("ascii"),
            similarity=_similarity_summary(folder),
            similarity_html=SIMILARITY_HTML,
            similarity_json=SIMILARITY_JSON,
            due_date=timestamps.shown(due_date) if due_date is not None else "",
            late=sum(s.late for s in students),
        ),
        encoding="utf-8",
    )
    return ReportPaths(folder=folder, feedback=feedback, moodle_skipped=tuple(skipped), feedback_zip=feedback_zip,
                       moodle_dropped=tuple(dropped), moodle_notes=tuple(moodle_notes), **paths)


def _similarity_summary(folder: Path) -> dict | None:
    """What the overview says of the similarity report in `folder`, if there is one."""
    if not (folder / SIMILARITY_HTML).is_file():
        return None
    try:
        data = json.loads((folder / SIMILARITY_JSON).read_text(encoding="utf-8"))
        pairs = data["pairs"]
        couples = {(p["a"]["student_id"], p["b"]["previous"], p["b"]["student_id"]) for p in pairs}
        generated = datetime.fromisoformat(data["generated"]).strftime("%d/%m/%Y %H:%M")
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return {"pairs": len(pairs), "couples": len(couples), "generated": generated}


def _fit(text: str, width: int) -> str:
    """Cut `text` to `width` characters, with an ellipsis when cut."""
    if width <= 0:
        return ""
    if len(text) <= width:
        return text
    return text[: width - 1] + "…" if width > 1 else text[:1]


def terminal_table(
    assignment: str,
    cells: list[GradeCellInfo],
    students: list[StudentResult],
    *,
    sandboxed: bool = True,
    width: int | None = None,
) -> str:
    """A plain-text table for the terminal, at most `width` characters wide (default: the terminal's)."""
    if width is None:
        width = shutil.get_terminal_size((100, 24)).columns
    width = max(int(width), 20)
    cells = list(cells)
    max_score = float(sum(c.max_score for c in cells))
    ordered = _sorted(students)

    def norm(text: str) -> str:  # one code point per accented letter, so len() counts columns
        return unicodedata.normalize("NFC", text)

    records = []
    for s in ordered:
        records.append(
            {
                "id": norm(s.student_id),
                "nome": norm(s.name or "—"),
                "nota": f"{_num(s.score)}/{_num(max_score)}",
                "situação": _status_label(s, short=True),
                "sinais": norm(", ".join(s.flags)),
                "questões": _marks(s, cells),
            }
        )
    columns = ["id", "nome", "nota", "situação", "sinais", "questões"]
    need = {c: max([len(c)] + [len(r[c]) for r in records]) for c in columns}
    gap = 2
    fixed = ["id", "nota", "questões"]
    minimum = {"nome": 4, "situação": 6, "sinais": 5}
    widths = dict(need)

    # Names, status and flags give way first (cut with "…"); if that is not enough, drop the flags column,
    # then the cell marks. Ids are never cut: they are what the instructor looks up.
    for drop in ([], ["sinais"], ["sinais", "questões"]):
        shown = [c for c in columns if c not in drop]
        free = width - sum(widths[c] for c in shown if c in fixed) - gap * (len(shown) - 1)
        flexible = [c for c in ("nome", "situação", "sinais") if c in shown]
        if free >= sum(min(need[c], minimum[c]) for c in flexible):
            break
    for c in flexible:
        widths[c] = min(need[c], minimum[c])
    spare = free - sum(widths[c] for c in flexible)
    while spare > 0:  # one character at a time to whichever flexible column still wants more
        wanting = [c for c in flexible if widths[c] < need[c]]
        if not wanting:
            break
        for c in wanting:
            if spare == 0:
                break
            widths[c] += 1
            spare -= 1

    def line(values: dict[str, str]) -> str:
        parts = []
        for c in shown:
            text = _fit(values[c], widths[c])
            parts.append(text.rjust(widths[c]) if c == "nota" else text.ljust(widths[c]))
        return (" " * gap).join(parts).rstrip()[:width]

    out = []
    title = (
        f"Atividade {assignment} — {_plural(len(ordered), 'aluno', 'alunos')}, nota máxima {_num(max_score)}"
    )
    out.append(_fit(title, width))
    if not sandboxed or any(not s.sandboxed for s in ordered):
        out.append(_fit("SEM SANDBOX: correção feita com --no-sandbox", width))
    header = line({c: c for c in columns})
    out.append(header)
    out.append("-" * min(width, max(len(header), 1)))
    for record in records:
        out.append(line(record))
    out.append("-" * min(width, max(len(header), 1)))
    stats = _stats(cells, ordered)
    pieces = [
        _plural(stats.total, "aluno", "alunos"),
        _plural(stats.graded, "corrigido", "corrigidos"),
        f"{stats.errors} com erro",
        f"{stats.timeouts} por tempo esgotado",
        f"{stats.missing} sem envio",
        _plural(stats.held, "retido para revisão", "retidos para revisão"),
        "média " + ("—" if stats.mean is None else f"{_num(stats.mean)}/{_num(max_score)}"),
    ]
    out.extend(_wrap(pieces, width, " · "))
    if "questões" in shown and cells:
        out.extend(_wrap(MARK_LEGEND.split("  "), width, "  "))
    return "\n".join(out)


def _wrap(pieces: list[str], width: int, sep: str) -> list[str]:
    lines, current = [], ""
    for piece in pieces:
        candidate = piece if not current else current + sep + piece
        if len(candidate) <= width:
            current = candidate
        else:
            if current:
                lines.append(current)
            current = _fit(piece, width)
    if current:
        lines.append(current)
    return lines
