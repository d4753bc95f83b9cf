"""IPython's token pass, skipped for cells that are plain Python (both kernels; only a matter of speed).

IPython tokenizes every cell, and tokenizes it again after each rewrite, to find its own syntax: `%magic`,
`!cmd`, `a = %magic`, `a = !cmd`, `obj?`, and the `,f a` / `;f a` / `/f a` escapes (inputtransformer2's
token transformers). Each of them is a syntax error in Python, so a cell that parses as Python has none of
them and that pass leaves it unchanged; parsing costs about a tenth of it (~5 ms a cell). The line
transforms before it (prompts, indentation, `%%` cell magics) and the prefilter after it still run.
"""

from __future__ import annotations
import __future__

import ast
import warnings

# Cells the kernel server parsed before it forked this kernel (`learn`, grader/kernels/standalone/zygote.py): the
# grader knows the assignment's test cells (T's) and given cells (S's) before the first submission, and every
# forked kernel parsed them again, twice (the check below and IPython's own parse): 60 ms of T's CPU per
# submission. The same text parses to the same tree, so what was learned is used instead; a text that was not
# (a student's cell, a cell the kernel's transforms changed) is parsed as before. The trees of the test cells
# take about 11 MiB in T's server, shared with its kernels.
_PLAIN: set[str] = set()  # texts known to parse as Python (the token pass leaves them as they are)
# text, as IPython parses it -> its tree; each taken once (running a cell may change its tree)
_TREES: dict[str, ast.Module] = {}


def learn(texts, post=()) -> int:
    """Parse `texts` (cells, as a notebook holds them) as the kernel's IPython will see them, `post` being the
    kernel's own input_transformers_post: run by the kernel server, before it forks. How many were learned."""
    from IPython.core.inputtransformer2 import TransformerManager

    manager = TransformerManager()
    install(manager)
    for text in texts:
        try:
            # a text that warns as it parses ("\d" in a string) is left to the kernel, which warns as before
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                cell = manager.transform_cell(text)
                if len(cell.splitlines()) == 1:  # IPython prefilters one-line cells: not worth learning
                    continue
                tree = ast.parse(cell)
                lines = cell.splitlines(keepends=True)
                for transform in post:
                    lines = transform(lines)
                transformed = "".join(lines)
                if transformed != cell:  # (T's rewrite of a measured test)
                    tree = ast.parse(transformed)
        except Exception:  # noqa: BLE001 (IPython syntax, a real error, a warning: the kernel parses it as before)
            continue
        _PLAIN.add(cell)
        _TREES[transformed] = tree
    return len(_TREES)


def install(manager) -> None:
    """Make `manager` (an IPython TransformerManager) skip the token pass for cells that parse."""
    tokens = manager.do_token_transforms

    def transforms(lines: list[str]) -> list[str]:
        if "".join(lines) in _PLAIN:
            return lines
        try:
            ast.parse("".join(lines))
        except (SyntaxError, ValueError):  # IPython syntax, a real error, or a NUL byte: IPython decides
            return tokens(lines)
        return lines

    manager.do_token_transforms = transforms


def install_once_per_cell(shell) -> None:
    """Make `shell` (the kernel's IPython) transform each cell once, take the tree of a learned cell instead of
    parsing it, and skip compiling a cell to learn whether it awaits at top level when it cannot: ipykernel's
    do_execute transforms the cell and compiles it with top-level await allowed, then the shell's run_cell does
    both again (four passes over a test cell of hundreds of lines, for every submission). The transform is kept
    only until the cell starts running (both passes come before) and forgotten when it ends: T's own input
    transformer depends on the cells before it. Besides time, one difference: the skipped compile printed a
    second copy of each SyntaxWarning ("is" with a literal...) on stderr, which made a test cell fail even under
    a filter."""
    transform, should_run_async = shell.transform_cell, shell.should_run_async
    last: dict[str, str] = {}

    def transform_cell(raw_cell: str) -> str:
        if last.get("raw") != raw_cell:
            last.clear()
            last["transformed"] = transform(raw_cell)  # an error is raised again by the second call
            last["raw"] = raw_cell
        return last["transformed"]

    def run_async(raw_cell: str, *, transformed_cell=None, preprocessing_exc_tuple=None) -> bool:
        # only `await`, `async for`, `async with` and async comprehensions make top-level code a coroutine
        if preprocessing_exc_tuple is None and isinstance(transformed_cell, str):
            if "await" not in transformed_cell and "async" not in transformed_cell:
                return False
        return should_run_async(
            raw_cell, transformed_cell=transformed_cell, preprocessing_exc_tuple=preprocessing_exc_tuple
        )

    shell.transform_cell, shell.should_run_async = transform_cell, run_async
    compiler = shell.compile
    parse = compiler.ast_parse

    def ast_parse(source: str, filename: str = "<unknown>", symbol: str = "exec"):
        # only the `<>` future changes how a text parses (and no learned text was parsed with it)
        if symbol == "exec" and not compiler.flags & __future__.barry_as_FLUFL.compiler_flag:
            tree = _TREES.pop(source, None)
            if tree is not None:
                return tree
        return parse(source, filename, symbol)

    compiler.ast_parse = ast_parse
    shell.events.register("pre_execute", last.clear)
    # %time, %timeit, %prun transform their argument while the cell runs: not kept for the next cell
    shell.events.register("post_execute", last.clear)
