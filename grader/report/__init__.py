"""The report stage: what the instructor and each student read after grading.

`write_reports` writes, under <report_dir>/<assignment>/:

- scores.json     the exact shape other tools read (grader.model.scores_json);
- scores.csv      one row per student, one column per graded cell (named as in scores.json);
- moodle.csv      a grading worksheet that Moodle's assignment "Upload grading worksheet" accepts;
- feedback/<id>.html  one page per student, in Portuguese, self-contained;
- feedback_moodle.zip the feedback pages, for Moodle's "Upload multiple feedback files in a zip";
- index.html      the instructor's overview (summary, charts, students, questions, what the class got wrong),
                  self-contained;
- taxa_acerto.png and histograma.png, the two charts the overview embeds;
- recusados.json  the files of the submissions the grader refused to read (grader/intake/ingest.Refused), kept
                  so that `grader report` names them again.

The overview links similaridade.html when grader/grading/similarity.py wrote one there (never the feedback pages).

One module per product, over the words and numbers they share:

- cells.py          GradeCellInfo (the graded cells, the reports' input) and what a student got in each;
- wording.py        the Portuguese labels, numbers and texts every product uses;
- stats.py          the class in numbers (counts, mean, median, pass rate per question);
- causes.py         why a test cell failed, with what varies between students masked (score.py stores it);
- insights.py       what the class got wrong: failures grouped by cause, hidden tests that failed, per question;
- tables.py         scores.json and scores.csv;
- moodle.py         Moodle's grading worksheet: read it, fill it;
- moodle_export.py  moodle.csv (filled worksheet, or one in the instructor's language) and feedback_moodle.zip;
- charts.py         the two PNG charts (matplotlib);
- pages.py          index.html and the feedback pages, from templates/ (Jinja2 templates, style.css, the script);
- terminal.py       `terminal_table`, the plain-text table the command line prints.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from grader.intake.ingest import Refused
from grader.model import StudentResult
from grader.report import charts, insights, moodle_export, pages, tables
from grader.report.cells import GradeCellInfo
from grader.report.insights import AnswerOf
from grader.report.moodle import Worksheet
from grader.report.stats import class_stats


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
    feedback_zip: Path | None = (
        None  # feedback_moodle.zip, for Moodle's "Upload multiple feedback files in a zip"
    )
    moodle_dropped: tuple = ()  # grader.report.moodle.Dropped: rows Moodle's worksheet import will skip
    moodle_notes: tuple[str, ...] = ()  # about the worksheet as a whole (Portuguese)
    refused: tuple[Refused, ...] = ()  # files of the submissions the grader refused to read
    insights: tuple = ()  # grader.report.insights.QuestionInsight: what the class got wrong, per question


REFUSED_JSON = "recusados.json"


def _refused(folder: Path, refused: list[Refused] | None) -> list[Refused]:
    """`refused` (the last `grader grade`'s) kept in `folder`; None: the list kept there, if any."""
    path = folder / REFUSED_JSON
    if refused is not None:
        path.write_text(
            json.dumps([asdict(r) for r in refused], ensure_ascii=False, indent=1), encoding="utf-8"
        )
        return list(refused)
    try:
        return [Refused(**r) for r in json.loads(path.read_text(encoding="utf-8"))]
    except (OSError, ValueError, TypeError):  # none kept, or damaged: nothing to name
        return []


def write_reports(
    report_dir: Path,
    assignment: str,
    cells: list[GradeCellInfo],
    students: list[StudentResult],
    *,
    sandboxed: bool = True,
    moodle_language: str = "pt_br",
    worksheet: Worksheet | None = None,
    answer_exercises: dict[tuple[str, str], str] | None = None,
    notebooks: list[str] | None = None,
    due_date: datetime | None = None,
    refused: list[Refused] | None = None,
    answer_of: AnswerOf | None = None,
) -> ReportPaths:
    """Write every report of one assignment into <report_dir>/<assignment>/ and say where.

    With `worksheet` (grader.report.moodle.Worksheet, Moodle's grading worksheet of this assignment) moodle.csv is that
    worksheet filled in; without it, a worksheet in `moodle_language`. `answer_exercises` maps answer cells
    ((notebook, grade_id)) to their exercise, to place the instructor's comments on them. `notebooks`: the
    assignment's (default: those of `cells`); `due_date`: the assignment's, if any (aware); `refused`: the files
    `grader grade` refused to read (None: those it kept in the folder last time). `answer_of` reads a student's
    answer to the exercise a test cell checks: what the class got wrong shows one per group (index.html and
    scores.json only)."""
    if moodle_language not in moodle_export.MOODLE_STRINGS:
        known = ", ".join(sorted(moodle_export.MOODLE_STRINGS))
        raise ValueError(f"moodle_language {moodle_language!r} desconhecido; use um de: {known}")
    cells = list(cells)
    students = list(students)
    folder = Path(report_dir) / assignment
    feedback_dir = folder / "feedback"
    feedback_dir.mkdir(parents=True, exist_ok=True)
    max_score = float(sum(c.max_score for c in cells))
    now = datetime.now()  # one instant for every page and moodle.csv
    generated = now.strftime("%d/%m/%Y %H:%M")
    any_unsandboxed = not sandboxed or any(not s.sandboxed for s in students)
    refused = _refused(folder, refused)

    paths = {
        "scores_json": folder / "scores.json",
        "scores_csv": folder / "scores.csv",
        "moodle_csv": folder / "moodle.csv",
        "index_html": folder / "index.html",
        "pass_rate_png": folder / "taxa_acerto.png",
        "histogram_png": folder / "histograma.png",
    }
    notebooks = notebooks if notebooks is not None else list(dict.fromkeys(c.notebook for c in cells))
    found = insights.class_insights(cells, students, answer_of)
    tables.write_scores_json(
        paths["scores_json"],
        assignment,
        max_score,
        students,
        notebooks,
        due_date,
        insights.insights_json(found),
    )
    tables.write_scores_csv(paths["scores_csv"], cells, students, max_score)
    moodle_csv = moodle_export.write_moodle_csv(
        paths["moodle_csv"], cells, students, max_score, worksheet, moodle_language, now
    )

    stats = class_stats(cells, students)
    pass_rate_png, pass_rate_svg = charts.pass_rate_charts(
        assignment, stats, paths["pass_rate_png"], {q.info.key: f"#{q.anchor}" for q in found}
    )
    histogram_png = charts.histogram_chart(assignment, max_score, stats, paths["histogram_png"])

    written = pages.write_feedback_pages(
        feedback_dir,
        assignment,
        cells,
        students,
        max_score=max_score,
        sandboxed=sandboxed,
        answer_exercises=answer_exercises or {},
        due_date=due_date,
        generated=generated,
    )
    feedback = {s.student_id: page for s, page in written}
    feedback_zip = folder / "feedback_moodle.zip"
    zipped = moodle_export.write_feedback_zip(feedback_zip, students, feedback, assignment)
    pages.write_index_page(
        paths["index_html"],
        assignment,
        cells,
        students,
        written,
        max_score=max_score,
        stats=stats,
        sandboxed=not any_unsandboxed,
        moodle=moodle_csv,
        moodle_language_name=moodle_export.MOODLE_LANGUAGE_NAMES[moodle_language],
        worksheet=worksheet,
        zipped=zipped,
        pass_rate_png=pass_rate_png,
        histogram_png=histogram_png,
        due_date=due_date,
        generated=generated,
        refused=refused,
        insights=found,
        pass_rate_svg=pass_rate_svg,
    )
    return ReportPaths(
        folder=folder,
        feedback=feedback,
        moodle_skipped=tuple(moodle_csv.skipped),
        feedback_zip=feedback_zip,
        moodle_dropped=tuple(moodle_csv.dropped),
        moodle_notes=tuple(moodle_csv.notes),
        refused=tuple(refused),
        insights=tuple(found),
        **paths,
    )
