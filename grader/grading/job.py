"""One notebook of one student on its way through the grader: read from the submitted file and normalized
(`read_submitted`), built with the audit of its code, run by a worker, then scored into the student's result."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import nbformat
from nbformat import NotebookNode

from grader.grading import tamper
from grader.intake import ingest
from grader.intake.assignment import Assignment
from grader.intake.entries import Unreadable
from grader.intake.normalize import normalize, parse_submitted
from grader.kernels.execute import Executed
from grader.model import Flag, FlagKind, Status, StudentResult
from grader.nbmeta import answer_cells


@dataclass
class Job:
    student: ingest.StudentSubmission
    notebook_name: str
    notebook: NotebookNode  # normalized
    audit_flags: list[Flag] = field(default_factory=list)
    executed: Executed | None = None
    recorded: bool = False  # scored, saved and recorded with the student's other notebooks
    answered: int = 0  # answer cells the student wrote (not as released): the longer jobs go first

    @classmethod
    def build(cls, student, name: str, normalized: NotebookNode, release: NotebookNode) -> Job:
        given = answer_cells(release)
        answered = sum(  # as the reports tell a blank answer: the release's text, whatever the layout
            text.split() != given.get(grade_id, "").split()
            for grade_id, text in answer_cells(normalized).items()
        )
        return cls(student, name, normalized, tamper.audit(normalized, release), answered=answered)

    def score_into(self, result: StudentResult) -> None:
        """Score the executed notebook into `result`; the audit's findings are for a person to read."""
        ex = self.executed
        for flag in self.audit_flags:
            result.add_flag(flag)
        from grader.grading.score import score_cells

        cells = score_cells(ex.notebook, self.notebook_name)  # by grade_id: unique within a notebook
        result.cells.update({cell.key: cell for cell in cells.values()})
        result.seconds += ex.seconds
        if ex.status != Status.GRADED and result.status == Status.GRADED:
            result.status = Status.TIMEOUT if ex.status == Status.TIMEOUT else Status.ERROR
        if ex.message:
            result.notes.append(f"{self.notebook_name}: {ex.message}")
        for limit in ex.limits_hit:
            result.add_flag(Flag(FlagKind.LIMIT, limit))


MIN_ANCHOR_SHARE = 0.3  # below this share of the release's fixed cells, it is another notebook


def read_submitted(
    file: ingest.SubmittedFile, assignment: Assignment, name: str
) -> tuple[NotebookNode | None, str]:
    """The notebook to run for one submitted file, or why there is none."""
    try:
        data = file.read()
    except Unreadable as exc:  # over a size limit (never read past it), or damaged in the zip
        return None, str(exc)
    invalid = "o arquivo enviado não é um notebook válido"
    try:
        student_nb = parse_submitted(data)
    except UnicodeDecodeError:
        return None, f"{invalid}: não é texto UTF-8 (um notebook .ipynb é um arquivo de texto JSON)"
    except (json.JSONDecodeError, nbformat.reader.NotJSONError) as exc:
        detail = str(exc).splitlines()[0][:120]
        return (
            None,
            f"{invalid}: o JSON está incompleto ou corrompido ({detail}); baixe o .ipynb de novo e reenvie",
        )
    # nbformat raises TypeError, AttributeError, jsonschema's errors... for JSON of another shape
    except Exception as exc:  # noqa: BLE001 (see above)
        return None, f"{invalid}: {type(exc).__name__}: {str(exc)[:120]}"
    normalized = normalize(student_nb, assignment.sources[name], assignment.releases[name])
    if normalized.anchor_share < MIN_ANCHOR_SHARE:
        return None, (
            f"o arquivo enviado não parece ser o notebook {name}.ipynb desta atividade "
            f"(só {normalized.anchor_share:.0%} das células fixas encontradas)"
        )
    return normalized.notebook, ""
