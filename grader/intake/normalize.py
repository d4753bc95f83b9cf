"""Build the notebook that will run: the student's answers inside the assignment's own skeleton.

Pure function: student notebook in, notebook out. Every locked cell (test cells with their hidden tests,
given helpers) comes from source/, whatever the student did to it: edited test cells are overwritten and
deleted ones re-inserted. Answer cells come from the student. Cells the student added are kept in place.

Students' notebooks lose nbgrader's metadata in some editors (Colab among them), so cells are matched to the
release by an alignment over their content, not only by grade_id.
"""

from __future__ import annotations

import bisect
import copy
import difflib
import json
import re
from dataclasses import dataclass, field

import nbformat
from nbformat import NotebookNode

from grader.nbmeta import is_answer, is_locked, nbgrader_meta

GRADE_ID_MATCH = 10.0  # a student cell carrying the release cell's grade_id
SAME_TEXT_MATCH = 3.0  # identical text (after trimming)
SAME_SIGNATURE_MATCH = 2.0  # an answer cell that defines the same function(s)
MIN_SIMILARITY = 0.5  # below this, two different texts are not the same cell

DEF_RE = re.compile(r"^\s*def\s+([A-Za-z_]\w*)\s*\(", re.MULTILINE)
ASSIGN_RE = re.compile(r"^([A-Za-z_]\w*)\s*=", re.MULTILINE)
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def parse_submitted(data: bytes) -> NotebookNode:
    """The student's notebook from the bytes they sent, without the outputs it carries (huge images or streams
    cost memory, and running it makes them anew): nbformat parses only what is left. Raises what json and nbformat
    raise on text that is not a notebook (UnicodeDecodeError, ValueError, RecursionError, ...)."""
    raw = json.loads(data.decode("utf-8"))
    if isinstance(raw, dict):
        sheets = [
            raw,
            *(w for w in raw.get("worksheets") or [] if isinstance(w, dict)),
        ]  # nbformat 3 nests them
        for sheet in sheets:
            for cell in sheet.get("cells") or []:
                if isinstance(cell, dict) and "outputs" in cell:
                    cell["outputs"] = []
    # JSON may spell a lone UTF-16 surrogate ("\\ud800"), which no UTF-8 file can hold: writing the executed
    # notebook would fail. It becomes U+FFFD, as a decoder does with a byte it cannot read.
    text = LONE_SURROGATE.sub("\ufffd", json.dumps(raw, ensure_ascii=False))
    return nbformat.reads(text, as_version=4)


def defined_names(source: str) -> frozenset[str]:
    return frozenset(DEF_RE.findall(source)) | frozenset(ASSIGN_RE.findall(source))


@dataclass
class Normalized:
    """The notebook that runs, and what normalizing did to the submission: the grader only needs the notebook
    and the anchor share; the rest is the record of each decision, which tests/test_normalize.py checks."""

    notebook: NotebookNode
    restored: list[str] = field(default_factory=list)  # locked cells re-inserted (deleted by the student)
    overwritten: list[str] = field(default_factory=list)  # locked cells the student had edited
    missing_answers: list[str] = field(default_factory=list)  # answer cells not found in the submission
    matched_by_content: int = 0  # cells matched without nbgrader metadata
    anchor_share: float = 1.0  # share of the release's fixed cells found in the submission


def _text(cell) -> str:
    return "\n".join(line.rstrip() for line in cell.get("source", "").strip().splitlines())


@dataclass(frozen=True)
class _Features:
    """What matching looks at, computed once per cell (a release is compared with every student cell)."""

    grade_id: str | None
    text: str
    cell_type: str
    answer: bool

    @classmethod
    def of(cls, cell) -> _Features:
        return cls(nbgrader_meta(cell).get("grade_id"), _text(cell), cell.cell_type, is_answer(cell))


def _match_score(r: _Features, s: _Features) -> float:
    if r.grade_id and r.grade_id == s.grade_id:
        return GRADE_ID_MATCH
    if s.grade_id:
        return 0.0  # it belongs to another cell of the assignment
    if r.cell_type != s.cell_type and not r.answer:
        return 0.0
    if r.text == s.text and r.text:
        return SAME_TEXT_MATCH
    if r.answer and r.cell_type == "code":
        names = defined_names(r.text)
        if names and names <= defined_names(s.text):
            return SAME_SIGNATURE_MATCH
    if not r.text or not s.text:
        return 0.0
    # Line by line: cheap (cells are short lists of lines) and what an edit changes.
    matcher = difflib.SequenceMatcher(None, r.text.splitlines(), s.text.splitlines(), autojunk=False)
    if matcher.real_quick_ratio() < MIN_SIMILARITY or matcher.quick_ratio() < MIN_SIMILARITY:
        return 0.0
    ratio = matcher.ratio()
    return ratio if ratio >= MIN_SIMILARITY else 0.0


def align(release_cells: list, student_cells: list) -> list[tuple[int | None, int | None]]:
    """Monotone alignment maximizing the total match score: (release index, student index) steps,
    with None on the side that has no partner.

    Cells whose grade_id, or else text, is the same on both sides and unique on each are matched first (the
    longest run of them in order): the scoring alignment then only runs between them, where the student
    changed something. A class of 117-cell notebooks took 0.25 s per notebook to align cell by cell."""
    release = [_Features.of(c) for c in release_cells]
    student = [_Features.of(c) for c in student_cells]
    steps: list[tuple[int | None, int | None]] = []
    i = j = 0
    for anchor_i, anchor_j in [*_anchors(release, student), (len(release), len(student))]:
        for r, s in _align_scores(release[i:anchor_i], student[j:anchor_j]):
            steps.append((None if r is None else r + i, None if s is None else s + j))
        if anchor_i < len(release):
            steps.append((anchor_i, anchor_j))
        i, j = anchor_i + 1, anchor_j + 1
    return _pair_answers_in_gaps(steps, release_cells, student_cells)


def _key(cell: _Features):
    return (
        ("id", cell.grade_id) if cell.grade_id else ("text", cell.cell_type, cell.text) if cell.text else None
    )


def _anchors(release: list[_Features], student: list[_Features]) -> list[tuple[int, int]]:
    """Pairs of cells with the same key, unique on both sides, in an order both lists agree on (the longest
    increasing run, by patience sorting)."""

    def unique(cells):
        seen: dict = {}
        for index, cell in enumerate(cells):
            key = _key(cell)
            if key is not None:
                seen[key] = None if key in seen else index
        return {key: index for key, index in seen.items() if index is not None}

    theirs = unique(student)
    pairs = sorted((i, theirs[key]) for key, i in unique(release).items() if key in theirs)
    tails: list[int] = []  # tails[k]: index in pairs ending the best run of length k + 1
    previous = [-1] * len(pairs)
    for index, (_, j) in enumerate(pairs):
        k = bisect.bisect_left([pairs[t][1] for t in tails], j)
        previous[index] = tails[k - 1] if k else -1
        tails[k : k + 1] = [index]
    run, index = [], tails[-1] if tails else -1
    while index >= 0:
        run.append(pairs[index])
        index = previous[index]
    return run[::-1]


def _align_scores(release: list[_Features], student: list[_Features]) -> list[tuple[int | None, int | None]]:
    n, m = len(release), len(student)
    scores = [[_match_score(r, s) for s in student] for r in release]
    best = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        row, below = best[i], best[i + 1]
        for j in range(m - 1, -1, -1):
            take = below[j + 1] + scores[i][j] if scores[i][j] > 0 else -1.0
            row[j] = max(below[j], row[j + 1], take)
    steps: list[tuple[int | None, int | None]] = []
    i = j = 0
    while i < n and j < m:
        if scores[i][j] > 0 and best[i][j] == best[i + 1][j + 1] + scores[i][j]:
            steps.append((i, j))
            i, j = i + 1, j + 1
        elif best[i][j] == best[i + 1][j]:
            steps.append((i, None))
            i += 1
        else:
            steps.append((None, j))
            j += 1
    return steps + [(k, None) for k in range(i, n)] + [(None, k) for k in range(j, m)]


def _pair_answers_in_gaps(steps, release_cells, student_cells):
    """An answer rewritten from scratch shares no text with the release's stub; without metadata it is found
    by place: the student cell of the same type between the same two matched neighbours."""
    paired = list(steps)
    start = 0
    while start < len(paired):
        end = start
        while end < len(paired) and None in paired[end]:
            end += 1
        gap = paired[start:end]
        missing = [r for r, s in gap if s is None and is_answer(release_cells[r])]
        extra = [s for r, s in gap if r is None and not nbgrader_meta(student_cells[s]).get("grade_id")]
        matches = {}
        for r in missing:
            kind = release_cells[r].cell_type
            candidates = [
                s for s in extra if student_cells[s].cell_type == kind and s not in matches.values()
            ]
            if candidates:
                matches[r] = candidates[0]
        if matches:
            used = set(matches.values())
            rebuilt = []
            for r, s in gap:
                if r is not None and r in matches:
                    rebuilt.append((r, matches[r]))
                elif s is None or s not in used:
                    rebuilt.append((r, s))
            paired[start:end] = rebuilt
            end = start + len(rebuilt)
        start = end + 1
    return paired


def _clean_code(cell: NotebookNode) -> NotebookNode:
    if cell.cell_type == "code":
        cell.outputs = []
        cell.execution_count = None
    return cell


def normalize(student: NotebookNode, source: NotebookNode, release: NotebookNode) -> Normalized:
    """The notebook to execute for one submission.

    `source` is the instructor's notebook (solutions, hidden tests); `release` the student version generated
    from it (its answer cells carry the checksums that tell an untouched answer)."""
    source_by_id = {nbgrader_meta(c)["grade_id"]: c for c in source.cells if nbgrader_meta(c).get("grade_id")}
    release_cells = list(release.cells)
    student_cells = list(student.cells)
    result = Normalized(notebook=nbformat.v4.new_notebook())
    fixed = [c for c in release_cells if not is_answer(c)]
    found_fixed = 0
    cells: list[NotebookNode] = []
    for r_index, s_index in align(release_cells, student_cells):
        r_cell = release_cells[r_index] if r_index is not None else None
        s_cell = student_cells[s_index] if s_index is not None else None
        if r_cell is None:  # a cell the student added: kept, but never graded
            extra = copy.deepcopy(s_cell)
            extra.metadata.pop("nbgrader", None)
            extra.metadata.pop("grader", None)
            cells.append(_clean_code(extra))
            continue
        grade_id = nbgrader_meta(r_cell).get("grade_id")
        if s_cell is not None and not is_answer(r_cell):
            found_fixed += 1
        if s_cell is not None and not nbgrader_meta(s_cell).get("grade_id") and grade_id:
            result.matched_by_content += 1
        if is_locked(r_cell):
            cell = copy.deepcopy(source_by_id.get(grade_id, r_cell))  # edited or deleted: source/'s
            if s_cell is None:
                result.restored.append(grade_id)
            elif _text(s_cell) != _text(r_cell):
                result.overwritten.append(grade_id)
        elif is_answer(r_cell):
            cell = copy.deepcopy(r_cell)  # the release's metadata (with checksum), the student's text
            if s_cell is None:
                result.missing_answers.append(grade_id)
            else:
                cell.source = s_cell.source
                if s_cell.cell_type == "markdown" and "attachments" in s_cell:
                    cell.attachments = copy.deepcopy(s_cell.attachments)
        elif s_cell is not None:  # an ordinary lesson cell: the student's version runs
            cell = copy.deepcopy(s_cell)
            cell.metadata.pop("nbgrader", None)
            cell.metadata.pop("grader", None)
            if _text(s_cell) == _text(r_cell):  # the instructor's text, as released (never the student's say)
                cell.metadata["grader"] = {"given": True}
        else:
            continue  # an ordinary cell the student deleted stays deleted
        cells.append(_clean_code(cell))
    result.anchor_share = found_fixed / len(fixed) if fixed else 1.0
    nb = result.notebook
    nb.cells = cells
    nb.metadata = copy.deepcopy(source.metadata)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    for index, cell in enumerate(nb.cells):
        cell.id = f"celula-{index}"  # unique ids, whatever the student's editor did to them
    return result
