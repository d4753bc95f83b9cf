"""The HTML pages, in Portuguese and self-contained (styles, script and charts inlined): index.html, the
instructor's overview (summary, charts, students, questions, what the class got wrong, Moodle, files), and
feedback/<id>.html, one page per student. The templates, the style sheet and the script are files in templates/; template_environment() also
renders the similarity page (grader/grading/similarity.py), whose file names the overview links.
"""

from __future__ import annotations

import base64
import functools
import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup

from grader import timestamps
from grader.model import StudentResult
from grader.report.cells import (
    MARK_FAIL,
    MARK_LEGEND,
    MARK_MANUAL,
    MARK_NONE,
    MARK_PARTIAL,
    MARK_PASS,
    CellView,
    GradeCellInfo,
    cell_views,
)
from grader.report.insights import QuestionInsight, anchor
from grader.report.moodle import Worksheet
from grader.report.moodle_export import MoodleCsv
from grader.report.stats import ClassStats
from grader.report.wording import (
    NO_SANDBOX_BANNER,
    STATUS_EXPLANATIONS,
    flag_text,
    flag_texts,
    format_number,
    missing_notebooks_text,
    plural,
    sorted_by_id,
    status_label,
)

TEMPLATES = Path(__file__).parent / "templates"
SIMILARITY_JSON = "similaridade.json"  # grader/grading/similarity.py writes it, and the page below
SIMILARITY_HTML = "similaridade.html"
_MARK_CLASS = {
    MARK_PASS: "ok",
    MARK_FAIL: "bad",
    MARK_NONE: "none",
    MARK_MANUAL: "manual",
    MARK_PARTIAL: "partial",
}


@functools.cache
def _static_text(name: str) -> str:
    return (TEMPLATES / name).read_text(encoding="utf-8")


def inline(name: str) -> Markup:
    """A style sheet or script of templates/, as is, to put inside the page: the pages work offline and alone."""
    return Markup(_static_text(name))


def template_environment() -> Environment:
    """Jinja2 on templates/, HTML-escaped, with the helpers every page's template uses."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=True, trim_blocks=True, lstrip_blocks=True
    )
    env.globals.update(
        num=format_number,
        plural=plural,
        flag_text=flag_text,
        mark_class=_MARK_CLASS,
        inline=inline,
        no_sandbox=NO_SANDBOX_BANNER,
        legend=MARK_LEGEND,
    )
    return env


def _safe_filename(student_id: str) -> str:
    """The id as a file name any system and Moodle's zip accept."""
    name = re.sub(r"[^\w.@-]+", "_", unicodedata.normalize("NFC", student_id)).strip("._")
    return name or "aluno"


@dataclass(frozen=True)
class _ExerciseView:
    title: str
    views: list[CellView]
    comments: list[str]  # the instructor's comments on this exercise's answers
    score: float
    max_score: float


def _exercise_views(
    student: StudentResult, views: list[CellView], answer_exercises: dict[tuple[str, str], str]
) -> list[_ExerciseView]:
    """The cells grouped under their exercise, in notebook order, with the instructor's comments."""
    groups: dict[str, list[CellView]] = {}
    for v in views:
        groups.setdefault(v.info.exercise or v.info.title or v.info.grade_id, []).append(v)
    comments: dict[str, list[str]] = {}
    for name, text in student.comments.items():
        notebook, _, grade_id = name.rpartition("/")  # "<notebook>/<grade_id>", or a bare grade_id
        title = next(
            (t for (nb, gid), t in answer_exercises.items() if gid == grade_id and notebook in ("", nb)), ""
        ) or next(
            (
                v.info.exercise
                for v in views
                if v.info.grade_id == grade_id and notebook in ("", v.info.notebook) and v.info.exercise
            ),
            "",
        )
        comments.setdefault(title if title in groups else "", []).append(text)
    out = [
        _ExerciseView(
            title,
            group,
            comments.get(title, []),
            sum(v.score for v in group),
            sum(v.info.max_score for v in group),
        )
        for title, group in groups.items()
    ]
    if comments.get(""):
        out.append(_ExerciseView("Comentários gerais", [], comments[""], 0.0, 0.0))
    return out


def _submission_text(student: StudentResult, due_date) -> str:
    """'10/05/2025 22:10 (UTC−03:00), pelo timestamp.txt; atrasada 2 h 05 min', in the due date's zone."""
    if not student.submitted_at:
        return ""
    when = datetime.fromisoformat(student.submitted_at)
    zone = due_date.tzinfo if due_date is not None else None
    source = {
        "timestamp.txt": "pelo timestamp.txt",
        "zip": "pelo horário do arquivo no zip",
        "arquivo": "pelo horário do arquivo",
    }.get(student.submitted_from, "")
    text = timestamps.shown(when, zone) + (f", {source}" if source else "")
    if student.late:
        text += f"; atrasada {timestamps.lateness(student.seconds_late)}"
    elif due_date is not None:
        text += "; no prazo"
    return text


def _status_class(student: StudentResult) -> str:
    return student.status


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


def write_feedback_pages(
    folder: Path,
    assignment: str,
    cells: list[GradeCellInfo],
    students: list[StudentResult],
    *,
    max_score: float,
    sandboxed: bool,
    answer_exercises: dict[tuple[str, str], str],
    due_date: datetime | None,
    generated: str,
) -> list[tuple[StudentResult, Path]]:
    """feedback/<id>.html for each student, in id order; each student with their page."""
    template = template_environment().get_template("feedback.html.j2")
    written = []
    used: set[str] = set()
    for s in sorted_by_id(students):
        name = _safe_filename(s.student_id)
        while name in used:  # two ids that clean up to the same file name
            name += "_"
        used.add(name)
        page = folder / f"{name}.html"
        page.write_text(
            template.render(
                assignment=assignment,
                student=s,
                exercises=_exercise_views(s, cell_views(s, cells), answer_exercises),
                score=format_number(s.score),
                max_score=format_number(max_score),
                status_label=status_label(s),
                status_class=_status_class(s),
                status_text=(s.problem[0].upper() + s.problem[1:])
                if s.problem
                else STATUS_EXPLANATIONS.get(s.status, ""),
                missing_text=missing_notebooks_text(s) + "." if s.missing_notebooks else "",
                submission=_submission_text(s, due_date),
                flags=flag_texts(s),
                sandboxed=sandboxed and s.sandboxed,
                generated=generated,
            ),
            encoding="utf-8",
        )
        written.append((s, page))
    return written


def write_index_page(
    path: Path,
    assignment: str,
    cells: list[GradeCellInfo],
    students: list[StudentResult],
    feedback: list[tuple[StudentResult, Path]],
    *,
    max_score: float,
    stats: ClassStats,
    sandboxed: bool,
    moodle: MoodleCsv,
    moodle_language_name: str,
    worksheet: Worksheet | None,
    zipped: int,
    pass_rate_png: bytes,
    histogram_png: bytes,
    due_date: datetime | None,
    generated: str,
    refused: list | None = None,
    insights: list[QuestionInsight] | None = None,
    pass_rate_svg: str = "",
) -> None:
    """index.html, the overview: `feedback` is what write_feedback_pages wrote (each row links its page),
    `zipped` the participants in feedback_moodle.zip, the charts' PNG bytes are embedded (the pass-rate chart as
    `pass_rate_svg` when given: its bars link to the sections of `insights`, what the class got wrong), `refused`
    the files of the submissions never read (grader/intake/ingest.Refused)."""
    rows = [
        {
            "student": s,
            "views": cell_views(s, cells),
            "status_label": status_label(s),
            "status_class": _status_class(s),
            "link": page.relative_to(path.parent).as_posix(),
            "sort_id": s.student_id.zfill(12) if s.student_id.isdigit() else s.student_id,
            "submission": _submission_text(s, due_date),
        }
        for s, page in feedback
    ]
    questions = []
    rates = {info.key: (passed, total) for info, passed, total in stats.pass_rates}
    for info in cells:
        passed, total = rates.get(info.key, (0, 0))
        waiting = sum(1 for s in students if (c := s.cell(*info.key)) is not None and c.needs_manual_grade)
        percent = round(100 * passed / total) if total else 0
        questions.append(
            {
                "info": info,
                "passed": passed,
                "total": total,
                "percent": percent,
                "waiting": waiting,
                "anchor": "" if info.manual or insights is None else anchor(info),
            }
        )
    path.write_text(
        template_environment()
        .get_template("index.html.j2")
        .render(
            assignment=assignment,
            cells=cells,
            max_score=max_score,
            stats=stats,
            rows=rows,
            questions=questions,
            sandboxed=sandboxed,
            moodle_language_name=moodle_language_name,
            generated=generated,
            moodle_skipped=moodle.skipped,
            moodle_dropped=moodle.dropped,
            moodle_notes=moodle.notes,
            worksheet=worksheet,
            zipped=zipped,
            pass_rate_png=base64.b64encode(pass_rate_png).decode("ascii"),
            histogram_png=base64.b64encode(histogram_png).decode("ascii"),
            pass_rate_svg=Markup(pass_rate_svg),  # matplotlib's own markup: titles and labels it escaped
            insights=insights or [],
            similarity=_similarity_summary(path.parent),
            similarity_html=SIMILARITY_HTML,
            similarity_json=SIMILARITY_JSON,
            due_date=timestamps.shown(due_date) if due_date is not None else "",
            late=sum(s.late for s in students),
            refused=refused or [],
        ),
        encoding="utf-8",
    )
