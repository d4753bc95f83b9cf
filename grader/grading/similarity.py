"""Similar answers between students: a report for the instructor, before the grades go out.

`grader similarity <assignment>` (and the end of `grader grade`) compares every pair of students, exercise by
exercise: the answer cells (by grade_id) of the executed notebooks in autograded/<student>/<assignment>/, which
the normalizer aligned to the release. Earlier semesters' autograded/ folders (or zips of them) can be added as
a reference corpus: their matches with this class are reported, pairs inside them are not. It writes
similaridade.json and similaridade.html into the assignment's reports folder; nothing goes to the students.

Winnowing (Schleimer, Wilkerson and Aiken, 2003; what MOSS does) is copydetect's: its `winnow`, and how it
turns shared fingerprints into copied slices and a similarity (copied share of each answer). Two pieces around
it are ours, because copydetect's own fall short here:

- the normalizer, over the same pygments lexer: copydetect turns every name into V, library calls included, so
  `torch.hstack((X1, X2))` and `torch.column_stack((X1, X2))` are the same answer. Here only the names a
  student chooses (variables, parameters, own functions) become V; attributes, keyword arguments, builtins and
  imported or given names stay. Offsets are exact, for the highlighting;
- the k-gram hash: copydetect uses Python's hash(), which changes with each process (PYTHONHASHSEED), so the
  same pair scored 0.40 in one run and 0.54 in the next; here a fixed polynomial hash.

What never counts: the release's text (every code cell of the release notebook and the code in its markdown:
signatures, docstrings, stubs, given code), and fingerprints found in the answers of more than COMMON_SHARE of
the students (the answer everyone writes, like MOSS's -m). Answers with fewer than `min_tokens` tokens of
their own are not compared: a one-line answer is the same for everybody.
"""

from __future__ import annotations

import builtins
import difflib
import functools
import json
import re
import zipfile
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
from copydetect.utils import find_fingerprint_overlap, get_copied_slices, get_token_coverage, winnow
from pygments import token
from pygments.lexers import PythonLexer

from grader.errors import UserError
from grader.model import RESULT_FILE
from grader.nbmeta import answer_cells, is_answer, nbgrader_meta
from grader.report.pages import SIMILARITY_HTML, SIMILARITY_JSON, template_environment
from grader.report.wording import natural_key

THRESHOLD = 0.7  # similarity (copied share of the more copied answer) from which a pair is reported
MIN_TOKENS = 20  # tokens of its own (beyond the release's text) an answer needs to be compared
K = 15  # k-gram length, in characters of normalized code (copydetect's noise threshold)
WINDOW = 4  # winnowing window: any shared run of K + WINDOW - 1 characters is found (its guarantee)
TEXT_K = 30  # written answers: k-grams of 30 characters, about five words
MIN_MATCH = 2 * K  # a pair shares at least this many normalized characters
COMMON_SHARE = 0.1  # a fingerprint in more than this share of the answers (and in more than COMMON_MIN) ...
COMMON_MIN = 10  # ... is what everybody writes: ignored

_LEXER = PythonLexer()
_BUILTINS = frozenset(dir(builtins))
_IMPORT = re.compile(r"^[ \t]*(?:from[ \t]+[\w.]+[ \t]+)?import[ \t]+([^\n#;]+)", re.MULTILINE)
_TOP_DEF = re.compile(r"^(?:async[ \t]+)?(?:def|class)[ \t]+([A-Za-z_]\w*)", re.MULTILINE)
_FENCED = re.compile(r"```(?:python|py)?[ \t]*\n(.*?)```", re.DOTALL)
_WORD = re.compile(r"\w+")
_HASH_BASE = np.uint64(1_000_003)


# --------------------------------------------------------------------------------------------------------------
# Answers


@dataclass(frozen=True)
class Exercise:
    """One answer cell of the release."""

    notebook: str
    grade_id: str
    code: bool  # a code answer; else a written one (markdown)
    given: str  # the release's text of the cell (signature, docstring, stub)

    @property
    def title(self) -> str:
        found = _TOP_DEF.search(self.given) if self.code else None
        return found.group(1) if found else self.grade_id


@dataclass(frozen=True)
class Answer:
    student: str
    notebook: str
    grade_id: str
    text: str
    corpus: str = ""  # "": this class; else the label of an earlier semester
    name: str = ""  # the student's name, when the grading recorded it


def _student_name(text: str | None) -> str:
    if not text:
        return ""
    try:
        data = json.loads(text)
        return " ".join(p for p in (data.get("first_name", ""), data.get("last_name", "")) if p)
    except (ValueError, AttributeError):
        return ""


def _read_answers(
    files: dict[tuple[str, str], str], names: dict[str, str], corpus: str, notes: list[str]
) -> list[Answer]:
    """Answers from {(student, notebook name): notebook JSON}."""
    answers = []
    for (student, notebook), text in sorted(files.items()):
        try:
            cells = answer_cells(json.loads(text))
        except ValueError:
            notes.append(
                f"{corpus + '/' if corpus else ''}{student}: {notebook}.ipynb não é JSON válido; ignorado"
            )
            continue
        answers += [
            Answer(student, notebook, grade_id, source, corpus, names.get(student, ""))
            for grade_id, source in cells.items()
        ]
    return answers


def load_class(autograded: Path, assignment: str, notebooks: list[str], notes: list[str]) -> list[Answer]:
    """Every graded student's answers in autograded/<student>/<assignment>/<notebook>.ipynb."""
    files, names = {}, {}
    for folder in sorted(autograded.glob(f"*/{assignment}")):
        student = folder.parent.name
        for notebook in notebooks:
            path = folder / f"{notebook}.ipynb"
            if path.is_file():
                files[student, notebook] = path.read_text(encoding="utf-8", errors="replace")
        result = folder / RESULT_FILE
        names[student] = _student_name(result.read_text(encoding="utf-8") if result.is_file() else None)
    return _read_answers(files, names, "", notes)


def load_previous(
    path: Path, assignment: str, notebooks: list[str], label: str, notes: list[str]
) -> list[Answer]:
    """An earlier semester's autograded/ folder (or a course folder holding one, or a zip of either)."""
    path = Path(path)
    what = (
        f"passe a pasta autograded/ de um semestre anterior (autograded/<aluno>/{assignment}/<notebook>.ipynb) "
        "ou um zip dela"
    )
    if not path.exists():
        raise UserError(f"--previous {path}: não existe; {what}")
    wanted = re.compile(rf"(?:^|/)([^/]+)/{re.escape(assignment)}/([^/]+)$")
    contents: dict[str, str] = {}  # path inside the folder or zip -> text, for the files that matter

    def matters(name: str) -> bool:
        found = wanted.search(name)
        file = found.group(2) if found else ""
        return file == RESULT_FILE or (file.endswith(".ipynb") and file.removesuffix(".ipynb") in notebooks)

    if path.is_dir():
        root = path if any(path.glob(f"*/{assignment}/*.ipynb")) else path / "autograded"
        for file in root.glob(f"*/{assignment}/*"):
            name = file.relative_to(root).as_posix()
            if file.is_file() and matters(name):
                contents[name] = file.read_text(encoding="utf-8", errors="replace")
    elif zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                for info in archive.infolist():
                    if not info.is_dir() and matters(info.filename):
                        contents[info.filename] = archive.read(info).decode("utf-8", errors="replace")
        except (zipfile.BadZipFile, OSError) as exc:
            raise UserError(f"--previous {path}: zip danificado ({exc}); {what}") from exc
    else:
        raise UserError(f"--previous {path}: não é pasta nem zip; {what}")
    files, names = {}, {}
    for name, text in contents.items():
        student, file = wanted.search(name).groups()
        if file == RESULT_FILE:
            names[student] = _student_name(text)
        else:
            files[student, file.removesuffix(".ipynb")] = text
    if not files:
        raise UserError(f"--previous {path}: nenhum notebook da atividade {assignment}; {what}")
    return _read_answers(files, names, label, notes)


def previous_label(path: Path, taken: set[str]) -> str:
    """How the report names an earlier semester: its folder or zip name ("2024-1"), unique."""
    path = Path(path).resolve()
    label = path.stem if path.suffix == ".zip" else path.name
    if label == "autograded":
        label = path.parent.name
    unique, n = label, 2
    while unique in taken or not unique:
        unique, n = f"{label}-{n}", n + 1
    taken.add(unique)
    return unique


# --------------------------------------------------------------------------------------------------------------
# Normalized text with exact offsets


def imported_names(code: str) -> set[str]:
    return {w for line in _IMPORT.finditer(code) for w in _WORD.findall(line.group(1)) if w != "as"}


def given_names(code: str) -> set[str]:
    """Names of the release that are not the student's choice: the imported ones and the functions and classes
    it defines at the top (the exercise's function, helpers like J_func)."""
    return set(_TOP_DEF.findall(code)) | imported_names(code)


def lex(text: str, code: bool = True) -> tuple[tuple[int, object, str], ...]:
    """(offset, kind, text) of the tokens that count: pygments' for code, without layout and comments; the
    lower-case words of a written answer. Kept for the texts seen last (`warm_up` lexes each student's answers
    while the class is still running, so that the report at the end of `grader grade` finds them ready), but
    not for a long text: its tokens take some 40 bytes per character."""
    return _lex_kept(text, code) if len(text) <= _KEPT_CHARS else _lex(text, code)


_KEPT_CHARS = 20_000


@functools.lru_cache(maxsize=4096)
def _lex_kept(text: str, code: bool) -> tuple[tuple[int, object, str], ...]:
    return _lex(text, code)


def _lex(text: str, code: bool) -> tuple[tuple[int, object, str], ...]:
    if not code:
        return tuple((word.start(), None, word.group().lower()) for word in _WORD.finditer(text))
    return tuple(
        (i, kind, t)
        for i, kind, t in _LEXER.get_tokens_unprocessed(text)
        if t.strip() and kind not in token.Comment
    )


def warm_up(releases: dict[str, dict], executed: dict[str, dict]) -> None:
    """Do now, for one student's executed notebooks (name -> notebook), the work of the report that does not
    depend on the rest of the class: the release's fingerprints and the lexing of the student's answers."""
    exercises, _, _ = release_exercises(releases)
    code = {(e.notebook, e.grade_id): e.code for e in exercises}
    for name, notebook in executed.items():
        for grade_id, source in answer_cells(notebook).items():
            if (name, grade_id) in code:
                lex(source, code[name, grade_id])


def normalize_code(
    code: str, kept: frozenset[str], tokens: tuple | None = None
) -> tuple[str, list[int], list[int]]:
    """Python code without layout and comments, every string an S and every name the student chose a V (an F
    for a function or class); for each character of the result, the span of code it came from. `tokens`: what
    lex(code) returned, if it was called already."""
    kept = kept | imported_names(code)
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    tokens = lex(code) if tokens is None else tokens
    parens: list[bool] = []  # for each open parenthesis: a call (keyword arguments keep their names)
    previous = ""
    for n, (i, kind, text) in enumerate(tokens):
        if kind in token.String:
            if previous != "S":  # a string (an f-string's pieces included) is one S
                out.append("S")
                starts.append(i)
                ends.append(i + len(text))
            else:
                ends[-1] = i + len(text)
            previous = "S"
            continue
        if kind in token.Name and not (
            kind in token.Name.Builtin or kind in token.Name.Decorator or kind in token.Name.Namespace
        ):
            keyword_argument = parens and parens[-1] and n + 1 < len(tokens) and tokens[n + 1][2] == "="
            definition = kind in token.Name.Function or kind in token.Name.Class
            if previous == "." or keyword_argument or text in kept or text in _BUILTINS:
                emitted = text
            else:
                emitted = "F" if definition else "V"
            previous = "def" if definition else "name"  # def f(x=1): parameters, not keyword arguments
        else:
            if text == "(":
                parens.append(previous in ("name", ")", "]"))
            elif text == ")" and parens:
                parens.pop()
            emitted, previous = text, text
        out.append(emitted)
        starts.extend([i] * len(emitted))
        ends.extend([i + len(text)] * len(emitted))
    return "".join(out), starts, ends


def normalize_text(text: str) -> tuple[str, list[int], list[int]]:
    """A written answer as lower-case words separated by one space, with the same offsets."""
    out, starts, ends = [], [], []
    for word in _WORD.finditer(text):
        piece = word.group().lower() + " "
        out.append(piece)
        starts.extend([word.start()] * len(piece))
        ends.extend([word.end()] * len(piece))
    return "".join(out), starts, ends


def own_tokens(text: str, given: str, code: bool) -> int:
    """Tokens of an answer that are not the release's (its signature, docstring and stub)."""
    return _own_count([t for *_, t in lex(text, code)], [t for *_, t in lex(given, code)])


def _own_count(mine: list[str], given: list[str]) -> int:
    matcher = difflib.SequenceMatcher(None, mine, given, autojunk=False)
    return len(mine) - sum(block.size for block in matcher.get_matching_blocks())


def kgram_hashes(normalized: str, k: int) -> np.ndarray:
    """A fixed polynomial hash of every k-gram (copydetect's hash() changes with each process)."""
    codes = np.frombuffer(normalized.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64)
    count = len(codes) - k + 1
    if count <= 0:
        return np.zeros(0, dtype=np.int64)
    hashes = np.zeros(count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for offset in range(k):
            hashes = hashes * _HASH_BASE + codes[offset : offset + count]
    return hashes.view(np.int64)


# --------------------------------------------------------------------------------------------------------------
# Fingerprints and pairs


@dataclass
class _Document:
    answer: Answer
    normalized: str
    starts: list[int]
    ends: list[int]
    positions: dict[int, list[int]]  # fingerprint -> where it starts in `normalized`
    given: frozenset[str]  # the lines of the release's cell, never highlighted
    coverage: float = 0.0

    @classmethod
    def of(
        cls,
        answer: Answer,
        exercise: Exercise,
        kept: frozenset[str],
        k: int,
        boilerplate: set[int],
        tokens: tuple,
    ):
        if exercise.code:
            normalized, starts, ends = normalize_code(answer.text, kept, tokens)
        else:
            normalized, starts, ends = normalize_text(answer.text)
        hashes = kgram_hashes(normalized, k)
        positions: dict[int, list[int]] = {}
        if len(hashes):
            selected, where = winnow(hashes, WINDOW, remove_duplicates=False)
            for value, at in zip(selected.tolist(), where.tolist(), strict=True):
                if value not in boilerplate:
                    positions.setdefault(value, []).append(at)
        given = frozenset(line.strip() for line in exercise.given.splitlines())
        return cls(answer, normalized, starts, ends, positions, given)

    def char_ranges(self, slices: np.ndarray) -> list[tuple[int, int]]:
        """Copied slices of the normalized text as [start, end) ranges of the answer's text: the tokens, joined
        across layout but not across a comment or a blank line, and not on a line of the release (a k-gram
        that straddles the signature and the first line of the body)."""
        text, ranges = self.answer.text, []
        for start, end in sorted(zip(slices[0].tolist(), slices[1].tolist(), strict=True)):
            for i in range(int(start), min(int(end), len(self.starts))):
                begin, stop = self.starts[i], self.ends[i]
                line_end = text.find("\n", begin)
                if (
                    text[text.rfind("\n", 0, begin) + 1 : line_end if line_end >= 0 else None].strip()
                    in self.given
                ):
                    continue
                gap = text[ranges[-1][1] : begin] if ranges else "x"
                if ranges and begin <= ranges[-1][1] or not gap.strip() and gap.count("\n") <= 1:
                    ranges[-1] = (ranges[-1][0], max(stop, ranges[-1][1]))
                else:
                    ranges.append((begin, stop))
        return ranges


@dataclass(frozen=True)
class Side:
    answer: Answer
    similarity: float  # share of this answer found in the other
    ranges: tuple[tuple[int, int], ...]  # copied parts, [start, end) in the answer's text

    @property
    def lines(self) -> list[list[int]]:
        """The copied parts as [first, last] line numbers (from 1), merged."""
        starts = [0] + [m.end() for m in re.finditer("\n", self.answer.text)]
        lines: list[list[int]] = []
        for begin, end in self.ranges:
            first, last = bisect_right(starts, begin), bisect_right(starts, max(begin, end - 1))
            if lines and first <= lines[-1][1] + 1:
                lines[-1][1] = max(last, lines[-1][1])
            else:
                lines.append([first, last])
        return lines


@dataclass(frozen=True)
class Pair:
    exercise: Exercise
    score: float  # the larger of the two sides' similarities
    a: Side
    b: Side


def exercise_pairs(
    exercise: Exercise,
    answers: list[Answer],
    boilerplate: set[int],
    kept: frozenset[str],
    threshold: float = THRESHOLD,
    min_tokens: int = MIN_TOKENS,
) -> tuple[list[Pair], int]:
    """Pairs of one exercise's answers at or above `threshold`, and how many answers were compared. Answers of
    earlier semesters (corpus != "") are compared with this class only, and never with the same student."""
    k = K if exercise.code else TEXT_K
    given = [t for *_, t in lex(exercise.given, exercise.code)]
    docs = []
    for answer in answers:
        tokens = lex(answer.text, exercise.code)
        if _own_count([t for *_, t in tokens], given) >= min_tokens:
            docs.append(_Document.of(answer, exercise, kept, k, boilerplate, tokens))
    frequency = Counter(h for doc in docs for h in doc.positions)
    limit = max(COMMON_MIN, COMMON_SHARE * len(docs))
    vocabulary = {h: n for n, h in enumerate(h for h, count in frequency.items() if 2 <= count <= limit)}
    counts = np.zeros((len(docs), len(vocabulary)), dtype=np.float32)
    for row, doc in enumerate(docs):
        doc.positions = {h: at for h, at in doc.positions.items() if frequency[h] <= limit}
        doc.coverage = get_token_coverage(doc.positions, k, len(doc.normalized))
        for h, at in doc.positions.items():
            if h in vocabulary:
                counts[row, vocabulary[h]] = len(at)
    # An upper bound of each pair's similarity, for the whole class at once: the fingerprints of i found in j
    # cover at most k characters each. Only the pairs it leaves are compared exactly.
    shared = counts @ (counts > 0).T.astype(np.float32)
    coverage = np.array([max(doc.coverage, 1.0) for doc in docs], dtype=np.float32)
    bound = np.maximum(shared * k / coverage[:, None], shared.T * k / coverage[None, :])
    current = np.array([not doc.answer.corpus for doc in docs], dtype=bool)
    candidates = np.triu(bound >= threshold, 1) & (current[:, None] | current[None, :])
    pairs = []
    for i, j in zip(*np.nonzero(candidates), strict=True):
        first, second = docs[i], docs[j]
        if first.answer.student == second.answer.student:  # one's own earlier submission
            continue
        pair = _compare(exercise, first, second, k, threshold)
        if pair is not None:
            pairs.append(pair)
    return pairs, int(current.sum())


def _compare(
    exercise: Exercise, first: _Document, second: _Document, k: int, threshold: float
) -> Pair | None:
    idx1, idx2 = find_fingerprint_overlap(
        set(first.positions), set(second.positions), first.positions, second.positions
    )
    if not len(idx1):
        return None
    slices1, slices2 = get_copied_slices(idx1, k), get_copied_slices(idx2, k)
    overlap1, overlap2 = int(np.sum(slices1[1] - slices1[0])), int(np.sum(slices2[1] - slices2[0]))
    if min(overlap1, overlap2) < MIN_MATCH:
        return None
    sim1 = min(1.0, float(overlap1 / first.coverage)) if first.coverage else 0.0
    sim2 = min(1.0, float(overlap2 / second.coverage)) if second.coverage else 0.0
    if max(round(sim1, 3), round(sim2, 3)) < threshold:
        return None
    a = Side(first.answer, round(sim1, 3), tuple(first.char_ranges(slices1)))
    b = Side(second.answer, round(sim2, 3), tuple(second.char_ranges(slices2)))
    if b.answer.corpus == "" and a.answer.corpus:  # this class first
        a, b = b, a
    return Pair(exercise, max(a.similarity, b.similarity), a, b)


_RELEASES: dict[str, tuple] = {}  # the release's JSON -> what release_exercises made of it


def release_exercises(
    releases: dict[str, dict],
) -> tuple[list[Exercise], dict[str, tuple[set[int], set[int]]], frozenset[str]]:
    """The release's answer cells; per notebook, the fingerprints of its text (code, written); the names the
    release gives (imports, functions it defines). Computed once per release text (a third of a second)."""
    key = json.dumps(releases)  # (in the releases' order: the order of the exercises)
    if key not in _RELEASES:
        _RELEASES.clear()
        _RELEASES[key] = _release_exercises(releases)
    return _RELEASES[key]


def _release_exercises(
    releases: dict[str, dict],
) -> tuple[list[Exercise], dict[str, tuple[set[int], set[int]]], frozenset[str]]:
    exercises, boilerplate, kept = [], {}, set(_BUILTINS)
    for notebook, nb in releases.items():
        code_parts, text_parts = [], []
        for cell in nb.cells:
            if cell.cell_type == "code":
                code_parts.append(cell.source)
            else:
                text_parts.append(cell.source)
                code_parts += _FENCED.findall(cell.source)
            if is_answer(cell):
                exercises.append(
                    Exercise(notebook, nbgrader_meta(cell)["grade_id"], cell.cell_type == "code", cell.source)
                )
        for part in code_parts:
            kept |= given_names(part)
        boilerplate[notebook] = (code_parts, text_parts)
    kept_names = frozenset(kept)
    hashed = {}
    for notebook, (code_parts, text_parts) in boilerplate.items():
        code_hashes = {
            h for part in code_parts for h in kgram_hashes(normalize_code(part, kept_names)[0], K).tolist()
        }
        text_hashes = {
            h for part in text_parts for h in kgram_hashes(normalize_text(part)[0], TEXT_K).tolist()
        }
        hashed[notebook] = (code_hashes, text_hashes)
    return exercises, hashed, kept_names


def find_pairs(
    releases: dict[str, dict],
    answers: list[Answer],
    threshold: float = THRESHOLD,
    min_tokens: int = MIN_TOKENS,
) -> tuple[list[Pair], dict[tuple[str, str], int]]:
    """Every pair at or above `threshold`, best first; how many answers of this class each exercise compared."""
    exercises, boilerplate, kept = release_exercises(releases)
    by_cell: dict[tuple[str, str], list[Answer]] = {}
    for answer in answers:
        by_cell.setdefault((answer.notebook, answer.grade_id), []).append(answer)
    pairs, compared = [], {}
    for exercise in exercises:
        code_hashes, text_hashes = boilerplate[exercise.notebook]
        found, compared[exercise.notebook, exercise.grade_id] = exercise_pairs(
            exercise,
            by_cell.get((exercise.notebook, exercise.grade_id), []),
            code_hashes if exercise.code else text_hashes,
            kept,
            threshold,
            min_tokens,
        )
        pairs += found
    order = {(e.notebook, e.grade_id): n for n, e in enumerate(exercises)}
    pairs.sort(
        key=lambda p: (
            -p.score,
            order[p.exercise.notebook, p.exercise.grade_id],
            p.a.answer.student,
            p.b.answer.corpus,
            p.b.answer.student,
        )
    )
    return pairs, compared


# --------------------------------------------------------------------------------------------------------------
# The report


@dataclass
class SimilarityReport:
    pairs: list[Pair]
    students: int  # of this class, with at least one answer
    previous: list[dict]  # {"label", "students"} per earlier semester
    json_path: Path
    html_path: Path
    notes: list[str] = field(default_factory=list)


def _side_json(side: Side) -> dict:
    return {
        "student_id": side.answer.student,
        "previous": side.answer.corpus or None,
        "similarity": side.similarity,
        "lines": side.lines,
    }


def _segments(side: Side) -> list[tuple[int, list[tuple[str, bool]]]]:
    """The answer line by line: (line number, [(text, copied)])."""
    text, lines, offset = side.answer.text, [], 0
    for number, line in enumerate(text.split("\n"), start=1):
        pieces, at = [], offset
        for begin, end in side.ranges:
            begin, end = max(begin, offset), min(end, offset + len(line))
            if begin < end:
                if at < begin:
                    pieces.append((text[at:begin], False))
                pieces.append((text[begin:end], True))
                at = end
        if at < offset + len(line):
            pieces.append((text[at : offset + len(line)], False))
        if pieces and pieces[0][1] and pieces[0][0] != pieces[0][0].lstrip():  # the indentation is not copied
            first = pieces[0][0]
            pieces[:1] = [(first[: len(first) - len(first.lstrip())], False), (first.lstrip(), True)]
        lines.append((number, pieces))
        offset += len(line) + 1
    return lines


def write_report(
    folder: Path,
    assignment: str,
    pairs: list[Pair],
    students: int,
    compared: dict[tuple, int],
    previous: list[dict],
    threshold: float,
    min_tokens: int,
) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.now()
    data = {
        "assignment": assignment,
        "generated": now.isoformat(timespec="seconds"),
        "threshold": threshold,
        "min_tokens": min_tokens,
        "students": students,
        "previous": previous,
        "pairs": [
            {
                "exercise": p.exercise.grade_id,
                "notebook": p.exercise.notebook,
                "score": p.score,
                "a": _side_json(p.a),
                "b": _side_json(p.b),
            }
            for p in pairs
        ],
    }
    json_path, html_path = folder / SIMILARITY_JSON, folder / SIMILARITY_HTML
    json_path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    grouped: dict[tuple, list[int]] = {}
    for n, p in enumerate(pairs):
        grouped.setdefault((p.a.answer.student, p.b.answer.corpus, p.b.answer.student), []).append(n)
    couples = sorted(
        grouped.values(),
        key=lambda ns: (-len(ns), -pairs[ns[0]].score, natural_key(pairs[ns[0]].a.answer.student)),
    )
    env = template_environment()
    html_path.write_text(
        env.get_template("similaridade.html.j2").render(
            assignment=assignment,
            generated=now.strftime("%d/%m/%Y %H:%M"),
            pairs=pairs,
            couples=couples,
            students=students,
            compared=sum(compared.values()),
            exercises=len(compared),
            previous=previous,
            threshold=threshold,
            min_tokens=min_tokens,
            segments=_segments,
            percent=lambda x: f"{100 * x:.0f}%",
            several_notebooks=len({p.exercise.notebook for p in pairs}) > 1,
        ),
        encoding="utf-8",
    )
    return json_path, html_path


def similarity_report(
    settings,
    assignment: str,
    report_dir: Path,
    previous: list[Path] | tuple = (),
    threshold: float = THRESHOLD,
    min_tokens: int = MIN_TOKENS,
    previous_answers: list[Answer] | None = None,
) -> SimilarityReport:
    """Compare the graded class of `assignment` (and earlier semesters) and write the report."""
    from grader.intake.assignment import Assignment

    check_options(threshold, min_tokens)
    releases = Assignment.load(settings, assignment).releases
    notes: list[str] = []
    current = load_class(settings.autograded_dir, assignment, list(releases), notes)
    if not current:
        raise UserError(
            f"a atividade {assignment} ainda não foi corrigida (nenhuma resposta em "
            f"{settings.autograded_dir}): rode `grader grade {assignment} --submissions ...` antes"
        )
    if previous_answers is None:
        previous_answers = load_previous_all(previous, assignment, list(releases), notes)
    pairs, compared = find_pairs(releases, current + previous_answers, threshold, min_tokens)
    corpora = [
        {"label": label, "students": len({a.student for a in previous_answers if a.corpus == label})}
        for label in dict.fromkeys(a.corpus for a in previous_answers)
    ]
    students = len({a.student for a in current})
    _lex_kept.cache_clear()  # this class's answers: the next report is of another class, or of this one changed
    json_path, html_path = write_report(
        Path(report_dir) / assignment, assignment, pairs, students, compared, corpora, threshold, min_tokens
    )
    return SimilarityReport(pairs, students, corpora, json_path, html_path, notes)


def load_previous_all(paths, assignment: str, notebooks: list[str], notes: list[str]) -> list[Answer]:
    labels: set[str] = set()
    answers = []
    for path in paths:
        answers += load_previous(Path(path), assignment, notebooks, previous_label(path, labels), notes)
    return answers


def check_options(threshold: float, min_tokens: int) -> None:
    if not 0 < threshold <= 1:
        raise UserError(f"--threshold {threshold}: use um número entre 0 e 1 (por exemplo 0.7)")
    if min_tokens < 1:
        raise UserError(f"--min-tokens {min_tokens}: use um número inteiro positivo (por exemplo 20)")


def who(side: Side) -> str:
    """A student as the terminal shows them: id (name), with the earlier semester in front."""
    answer = side.answer
    text = f"{answer.corpus}/{answer.student}" if answer.corpus else answer.student
    return f"{text} ({answer.name})" if answer.name else text


def summary(report: SimilarityReport) -> str:
    """One line for the terminal."""
    couples = len({(p.a.answer.student, p.b.answer.corpus, p.b.answer.student) for p in report.pairs})
    return (
        f"similaridade: {len(report.pairs)} par(es) de respostas parecidas ({couples} par(es) de alunos) "
        f"em {report.html_path}"
    )
