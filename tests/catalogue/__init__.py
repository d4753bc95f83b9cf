"""Catalogues of student answers: plausible wrong ones that the tests must catch, right ones they must accept.

Each assignment has a module here (named after it) that defines `ANSWERS: list[Answer]`.
tests/test_catalogue.py grades every answer as a real submission in a real kernel: the source notebook with
one solution cell replaced by `code`, and checks that exactly the test cells in `must_fail` lose points.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Answer:
    name: str  # short id, unique within the assignment, e.g. "update_c_sem_somar_c"
    cell: str  # grade_id of the solution cell whose code is replaced, e.g. "resposta_update_c"
    code: str  # the new code of that cell (a complete cell: signature, body)
    must_fail: frozenset[str] = field(default_factory=frozenset)  # test cells that must lose points
    why: str = ""  # one line: the mistake (wrong answers) or the approach (right answers)
    audit: frozenset[str] = field(default_factory=frozenset)  # the audit's findings it must get (eval(), ...)

    @property
    def is_right(self) -> bool:
        return not self.must_fail


def answer(name: str, cell: str, code: str, why: str, *must_fail: str) -> Answer:
    return Answer(name=name, cell=cell, code=code.strip("\n") + "\n", must_fail=frozenset(must_fail), why=why)


def empty_body(function: str, signature: str, *cells: str) -> Answer:
    """The function with the body `pass` (the release with its stub swapped for pass): loses all its cells."""
    return answer(
        f"{function}_pass",
        f"resposta_{function}",
        f"def {function}({signature}):\n    pass\n",
        "corpo vazio (pass): devolve None",
        *cells,
    )
