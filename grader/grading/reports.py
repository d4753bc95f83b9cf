"""The report stage, from what grading saved: the graded cells as the reports name them, and every report of an
assignment rebuilt from autograded/ and the gradebook (`grader grade` ends with it; `grader report` is only it)."""

from __future__ import annotations

import json
from pathlib import Path

from grader.config import Settings
from grader.errors import UserError
from grader.grading.results import load_results
from grader.intake.assignment import Assignment
from grader.nbmeta import answer_cells


def cell_infos(assignment: Assignment) -> list:
    """The graded cells for the reports, under their exercise's title: each named by the title the source notebook
    gives it (metadata["grader"]["title"], written for students), else by a label made from its grade_id."""
    from grader.report.cells import GradeCellInfo

    exercises = assignment.exercises()
    titles = assignment.titles()
    answers = {gid.removeprefix("resposta_") for _, gid in exercises if gid.startswith("resposta_")}
    infos = []
    for c in assignment.grade_cells():
        label = c.grade_id
        prefix = next((a for a in sorted(answers, key=len, reverse=True) if label.startswith(a + "_")), None)
        if c.task:
            label = "tarefa"
        elif c.manual:
            label = "resposta escrita"
        elif prefix:  # "linhas_positivas_casos_limite" -> "linhas positivas: casos limite"
            label = f"{prefix}: {label[len(prefix) + 1 :]}"
        title = titles.get(c.key, "")
        infos.append(
            GradeCellInfo(
                c.grade_id,
                c.notebook,
                c.max_score,
                c.manual,
                title or label.replace("_", " "),
                exercises.get(c.key, ""),
                task=c.task,
                titled=bool(title),
            )
        )
    return infos


def graded_answers(settings: Settings, assignment: Assignment):
    """`answer_of` for the reports (grader.report.insights): a student's answer to the exercise a test cell checks,
    read from their graded notebook in autograded/<student>/<assignment>/ (the answer the tests ran), and whether
    it is still the release's. Each notebook is read once, when first asked."""
    from grader.report.insights import Answer

    tested = assignment.tested_answers()
    released = {name: answer_cells(nb) for name, nb in assignment.releases.items()}
    read: dict[tuple[str, str], dict[str, str]] = {}

    def answer_of(student_id: str, notebook: str, grade_id: str) -> Answer | None:
        answer_id = tested.get((notebook, grade_id))
        if answer_id is None:
            return None
        if (student_id, notebook) not in read:
            path = settings.autograded_dir / student_id / assignment.name / f"{notebook}.ipynb"
            try:
                read[student_id, notebook] = answer_cells(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError):
                read[student_id, notebook] = {}
        code = read[student_id, notebook].get(answer_id)
        if code is None:
            return None
        blank = code.split() == released.get(notebook, {}).get(answer_id, "").split()
        return Answer(code, blank)

    return answer_of


def rebuild_reports(
    settings: Settings,
    assignment_name: str,
    report_dir: Path,
    sandboxed: bool | None = None,
    moodle_language: str | None = None,
    worksheet: Path | None = None,
    refused: list | None = None,
) -> tuple[str, Path]:
    """Write every report of `assignment_name` from autograded/ and the gradebook; the terminal table (with the
    rows Moodle would drop and the files refused) and the reports' folder. `grader grade` ends with it and `grader
    report` is only it. The worksheet is `worksheet`, else the one `grader grade --worksheet` kept; `refused`:
    the files `grader grade` refused to read (None: those the last one kept)."""
    from grader.report import moodle, write_reports
    from grader.report.moodle_export import MOODLE_STRINGS
    from grader.report.terminal import largest_groups_lines, terminal_table

    assignment = Assignment.load(settings, assignment_name)
    cells = cell_infos(assignment)
    results = load_results(settings, assignment_name)
    if sandboxed is None:  # rebuilt later: unsandboxed if any student's last grading was
        sandboxed = all(r.sandboxed for r in results)
    kept = settings.course_dir / "moodle" / assignment_name / moodle.WORKSHEET_COPY
    sheet = moodle.read_worksheet(worksheet or kept) if worksheet or kept.is_file() else None
    language = moodle_language or settings.moodle_language
    if language not in MOODLE_STRINGS:
        raise UserError(
            f"idioma do Moodle desconhecido: {language!r}; use um de: {', '.join(MOODLE_STRINGS)}"
        )
    paths = write_reports(
        report_dir,
        assignment_name,
        cells,
        results,
        sandboxed=sandboxed,
        moodle_language=language,
        worksheet=sheet,
        answer_exercises=assignment.exercises(),
        notebooks=list(assignment.sources),
        due_date=settings.due_date(assignment_name),
        refused=refused,
        answer_of=graded_answers(settings, assignment),
    )
    table = terminal_table(assignment_name, cells, results, sandboxed=sandboxed)
    lines = largest_groups_lines(list(paths.insights))
    lines += [f"planilha do Moodle: {note}" for note in paths.moodle_notes]
    if paths.moodle_dropped:
        lines.append(f"o Moodle vai ignorar {len(paths.moodle_dropped)} linha(s) de moodle.csv:")
        lines += [f"  ✗ {d.name} ({d.participant_id}): {d.reason} → {d.action}" for d in paths.moodle_dropped]
    if paths.refused:
        lines.append(f"{len(paths.refused)} arquivo(s) das submissões recusado(s), sem ler nada deles:")
        lines += [f"  ✗ {r.line()}" for r in paths.refused]
    return "\n".join([table, *lines]), Path(report_dir) / assignment_name
