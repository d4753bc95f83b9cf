"""Why a test cell failed, in words that group a class: the cause of one failure with what varies between
students masked, and whether it failed in the cell's hidden tests.

A failed `assert` (or `raise X(...)`) says its message; the message is an f-string of the test cell, so its
literal parts are what the check says and its `{...}` parts are what varies (the student's values). The message a
student saw is matched against the messages the test cells can say (`message_templates`); the one that matches
names the cause with "…" in place of each `{...}`: "deveria ser …x, mas é …". A message no test says (an error
raised by the student's code, a bare assert, text on stderr) is masked by `mask`: numbers, lists of numbers and
quoted names become "…". Nothing here quotes a test's code: a cause is made of the message the student saw.

Where a cell failed is the traceback's first frame in the cell ("Cell In[7], line 12", IPython's Plain mode):
the top-level statement that was running. On a line between "### BEGIN HIDDEN TESTS" and "### END HIDDEN TESTS",
every statement above it ran clean: the visible part passed and the hidden part failed.
"""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass

from grader.nbmeta import HIDDEN_BEGIN, HIDDEN_END

MASK = "…"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# IPython 8's frames ("Cell In[7], line 12"), and older IPython's ('File "<ipython-input-7-…>", line 12')
_CELL_FRAME = re.compile(r"Cell In\s*\[\s*\d*\s*\],\s*line (\d+)|<ipython-input-[^>]*>\"?,\s*line (\d+)")
_QUOTED = re.compile(r"'[^'\n]{0,80}'|\"[^\"\n]{0,80}\"")
_NUMBER = re.compile(
    r"(?<![\w.])[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?(?:[+-](?:\d+(?:\.\d*)?|\.\d+)j)?(?!\d)"
    r"|(?<![\w.])[-+]?(?:nan|inf)\b"
)
_RUN = re.compile(rf"{MASK}(?:(?:[\s,;]|\.\.\.)+{MASK})+")  # "…, …, …", numpy's "… … ... …"
# "[…]", "(…)", "(…,)", not "tensor(…)"
_BRACKETS = re.compile(rf"\[\s*{MASK}?\s*,?\s*\]|(?<![\w\]])\(\s*{MASK}?\s*,?\s*\)")
_SPACES = re.compile(r"\s+")


def mask(text: str) -> str:
    """`text` with what varies between students masked: "mas é [0, 1, 2]" and "mas é [3, 4]" both read
    "mas é …"; "name 'A' is not defined" reads "name '…' is not defined"; blanks collapse to one space."""
    text = _QUOTED.sub(lambda m: m.group(0)[0] + MASK + m.group(0)[0], text)
    text = _NUMBER.sub(MASK, text)
    previous = None
    while previous != text:  # nested lists collapse from the inside out
        previous = text
        text = _BRACKETS.sub(MASK, _RUN.sub(MASK, text))
    return _SPACES.sub(" ", text).strip()


@dataclass(frozen=True)
class Template:
    """A message a test cell can say: its literal parts, with the values it formats in between."""

    exception: str  # "AssertionError" for an assert; the class a `raise` names
    parts: tuple[str | None, ...]  # literal text, None where an f-string formats a value
    line: int  # where it is in its cell (1-based)

    @property
    def text(self) -> str:
        """The check in words, with "…" for each value: what names a cause and a hidden check."""
        return _SPACES.sub(" ", "".join(MASK if p is None else p for p in self.parts)).strip()

    @functools.cached_property
    def pattern(self) -> re.Pattern:
        return re.compile("".join("(?:.*?)" if p is None else re.escape(p) for p in self.parts), re.DOTALL)

    @property
    def literal(self) -> int:
        return sum(len(p) for p in self.parts if p)


def _message_parts(node: ast.expr) -> list[str | None] | None:
    """The literal text and the holes of a message expression: a string, an f-string, or a sum of those and
    other values (holes); None for an expression that is not text at all."""
    if isinstance(node, ast.Constant):
        return [node.value] if isinstance(node.value, str) else None
    if isinstance(node, ast.JoinedStr):
        return [v.value if isinstance(v, ast.Constant) else None for v in node.values]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _message_parts(node.left), _message_parts(node.right)
        if left is None and right is None:
            return None
        return (left or [None]) + (right or [None])
    return None


@functools.lru_cache(maxsize=512)
def message_templates(source: str) -> tuple[Template, ...]:
    """Every message the asserts and raises of a test cell's code can say, with enough literal text (four
    letters) to tell it apart; () for a cell that does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return ()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert) and node.msg is not None:
            exception, message = "AssertionError", node.msg
        elif isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args:
            func = node.exc.func
            exception = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            message = node.exc.args[0]
        else:
            continue
        parts = _message_parts(message)
        if parts is None or sum(c.isalpha() for p in parts if p for c in p) < 4:
            continue
        merged: list[str | None] = []
        for part in parts:
            if part == "" or (part is None and merged and merged[-1] is None):
                continue
            merged.append(part)
        found.append(Template(exception, tuple(merged), node.lineno))
    return tuple(found)


def hidden_line_ranges(source: str) -> list[range]:
    """The line numbers (1-based) between each "### BEGIN HIDDEN TESTS" and its "### END HIDDEN TESTS"."""
    ranges, start = [], None
    for number, line in enumerate(source.splitlines(), 1):
        if HIDDEN_BEGIN.match(line):
            start = number
        elif HIDDEN_END.match(line) and start is not None:
            ranges.append(range(start + 1, number))
            start = None
    if start is not None:  # no END: hidden to the end of the cell
        ranges.append(range(start + 1, len(source.splitlines()) + 1))
    return ranges


def failing_line(traceback: list[str]) -> int | None:
    """The line of the cell whose top-level statement raised: the traceback's first frame in the cell."""
    for entry in traceback:
        match = _CELL_FRAME.search(_ANSI.sub("", entry))
        if match:
            return int(match.group(1) or match.group(2))
    return None


@dataclass(frozen=True)
class Failure:
    cause: str  # what varies between students masked: the same text for the same mistake
    hidden: bool  # it failed in the hidden tests, after the visible part passed


def failure(message: str, error: dict | None, source: str, other_sources: tuple[str, ...] = ()) -> Failure:
    """The cause of a failed test cell and where it failed. `message`: what the student was shown
    (grader/grading/score.py: "<exception>: <text>", text on stderr, or a note); `error`: the cell's error output
    (ename, evalue, traceback), if any; `source`: the cell's code as it ran, hidden tests included;
    `other_sources`: the notebook's other test cells (a helper one of them defines may say the message)."""
    if error is None:
        return Failure(mask(message), False)
    ename = str(error.get("ename", ""))
    text = str(error.get("evalue", "")).strip()
    line = failing_line(list(error.get("traceback", [])))
    hidden = line is not None and any(line in r for r in hidden_line_ranges(source))
    if not (f"{ename}: {text}" if text else ename).startswith(message):  # replaced: it quoted hidden tests
        return Failure(mask(message), hidden)
    if not text:
        where = f" (linha {line} da célula de teste)" if line is not None else ""
        return Failure(f"{ename} sem mensagem{where}", hidden)
    for sources in ((source,), other_sources):
        matches = [
            t
            for s in sources
            for t in message_templates(s)
            if t.exception == ename and t.pattern.fullmatch(text)
        ]
        if matches:
            best = max(matches, key=lambda t: t.literal)
            if line is None and sources == (source,):  # no traceback: the assert's own line says where
                hidden = any(best.line in r for r in hidden_line_ranges(source))
            prefix = "" if ename == "AssertionError" else f"{ename}: "
            return Failure(prefix + best.text, hidden)
    return Failure(mask(text if ename == "AssertionError" else f"{ename}: {text}"), hidden)
