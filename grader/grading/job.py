"""One notebook of one student on its way through the grader: built from the normalized notebook (and the
audit of its code), run by a worker, then scored into the student's result."""

from __future__ import annotations

from dataclasses import dataclass, field

from nbformat import NotebookNode

from grader.grading import tamper
from grader.intake import ingest
from grader.kernels.execute import Executed
from grader.model import Flag, FlagKind, Status, StudentResult


@dataclass
class Job:
    student: ingest.StudentSubmission
    notebook_name: str
    notebook: NotebookNode  # normalized
    audit_flags: list[Flag] = field(default_factory=list)
    executed: Executed | None = None
    recorded: bool = False  # scored, saved and recorded with the student's other notebooks

    @classmethod
    def build(cls, student, name: str, normalized: NotebookNode, release: NotebookNode) -> Job:
        return cls(student, name, normalized, tamper.audit(normalized, release))

    def score_into(self, result: StudentResult) -> None:
        """Score the executed notebook into `result`; the audit's findings are for a person to read."""
        ex = self.executed
        for flag in self.audit_flags:
            result.add_flag(flag)
        from grader.grading.score import score_cells

        cells = score_cells(ex.notebook, self.notebook_name)  # by grade_id: unique within a notebook
        if tamper.requires_review(self.audit_flags):
            # Only what is measured inside the student's kernel could be forged there: those cells wait
            # for a person when the code does what no honest answer needs (README, "Segurança").
            held = tamper.hold_measured_cells(ex.notebook, cells)
            if held:
                result.notes.append(
                    f"{self.notebook_name}: {', '.join(held)} retida(s) para revisão: a "
                    "medição é feita no kernel do aluno e o código mexe no IPython, em "
                    "bibliotecas ou em __eq__"
                )
                result.held_for_review = True
                result.add_flag(Flag(FlagKind.TAMPERING))
        result.cells.update({cell.key: cell for cell in cells.values()})
        result.seconds += ex.seconds
        if ex.status != Status.GRADED and result.status == Status.GRADED:
            result.status = Status.TIMEOUT if ex.status == Status.TIMEOUT else Status.ERROR
        if ex.message:
            result.notes.append(f"{self.notebook_name}: {ex.message}")
        for limit in ex.limits_hit:
            result.add_flag(Flag(FlagKind.LIMIT, limit))
