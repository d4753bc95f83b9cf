"""The Portuguese words every report shares: numbers, plurals, status labels, flags, missing notebooks, and the
order students are listed in."""

from __future__ import annotations

import re
from collections.abc import Iterable

from grader.model import Flag, FlagKind, Status, StudentResult

STATUS_LABELS = {
    Status.GRADED: "corrigido",
    Status.ERROR: "erro",
    Status.TIMEOUT: "tempo esgotado",
    Status.MISSING: "sem envio",
}
STATUS_EXPLANATIONS = {
    Status.GRADED: "",
    Status.ERROR: "Não foi possível executar o notebook até o fim: as questões que não rodaram ficaram sem pontos.",
    Status.TIMEOUT: "O notebook excedeu o tempo limite de execução: as questões que não terminaram ficaram sem pontos.",
    Status.MISSING: "Nenhuma submissão foi encontrada para esta atividade.",
}
NO_SANDBOX_BANNER = "Correção feita SEM sandbox (--no-sandbox)"


def flag_text(flag: str) -> str:
    """A flag explained in plain Portuguese."""
    parsed = Flag.parse(flag)
    if parsed is None:
        return flag
    if parsed.kind is FlagKind.AUDIT:
        return f"a auditoria do código encontrou {parsed.detail}: um professor vai revisar a correção"
    return flag


def flag_texts(student: StudentResult) -> list[str]:
    """The student's flags explained."""
    return [flag_text(flag) for flag in student.flags]


def format_number(value: float, decimal: str = ",") -> str:
    """7.0 -> '7', 7.5 -> '7,5', 2/3 -> '0,67' (Portuguese decimal comma by default)."""
    text = f"{float(value):.2f}".rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text.replace(".", decimal)


def plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def natural_key(text: str) -> list:
    """Sort key that puts "aluno2" before "aluno10"."""
    return [
        (0, int(part), "") if part.isdigit() else (1, 0, part.lower()) for part in re.split(r"(\d+)", text)
    ]


def sorted_by_id(students: Iterable[StudentResult]) -> list[StudentResult]:
    return sorted(students, key=lambda s: natural_key(s.student_id))


def status_label(student: StudentResult, *, short: bool = False) -> str:
    """ "corrigido", "erro, atrasado"...; `short` for the terminal."""
    label = STATUS_LABELS.get(student.status, student.status)
    if student.late:
        label += ", atrasado"
    return label


def missing_notebooks_text(student: StudentResult) -> str:
    """ "Notebook não enviado: parte2.ipynb; as questões dele ficaram com 0" (no final period)."""
    names = ", ".join(f"{name}.ipynb" for name in student.missing_notebooks)
    one = len(student.missing_notebooks) == 1
    return (
        f"Notebook{'' if one else 's'} não enviado{'' if one else 's'}: {names}; as questões "
        f"{'dele' if one else 'deles'} ficaram com 0"
    )
