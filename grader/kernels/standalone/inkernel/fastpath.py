"""IPython's token pass, skipped for cells that are plain Python (both kernels; only a matter of speed).

IPython tokenizes every cell, and tokenizes it again after each rewrite, to find its own syntax: `%magic`,
`!cmd`, `a = %magic`, `a = !cmd`, `obj?`, and the `,f a` / `;f a` / `/f a` escapes (inputtransformer2's
token transformers). Each of them is a syntax error in Python, so a cell that parses as Python has none of
them and that pass leaves it unchanged; parsing costs about a tenth of it (~5 ms a cell). The line
transforms before it (prompts, indentation, `%%` cell magics) and the prefilter after it still run.
"""

from __future__ import annotations

import ast


def install(manager) -> None:
    """Make `manager` (an IPython TransformerManager) skip the token pass for cells that parse."""
    tokens = manager.do_token_transforms

    def transforms(lines: list[str]) -> list[str]:
        try:
            ast.parse("".join(lines))
        except (SyntaxError, ValueError):  # IPython syntax, a real error, or a NUL byte: IPython decides
            return tokens(lines)
        return lines

    manager.do_token_transforms = transforms


def install_once_per_cell(shell) -> None:
    """Make `shell` (the kernel's IPython) transform each cell once, and skip compiling it to learn whether
    it awaits at top level when it cannot: ipykernel's do_execute transforms the cell and compiles it with
    top-level await allowed, then the shell's run_cell does both again (four passes over a test cell of
    hundreds of lines, for every submission). The transform is kept only until the cell starts running
    (both passes come before) and forgotten when it ends: T's own input transformer depends on the cells
    before it. Besides time, one difference: the skipped compile printed a second copy of each
    SyntaxWarning ("is" with a literal...) on stderr, which made a test cell fail even under a filter."""
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
    shell.events.register("pre_execute", last.clear)
    # %time, %timeit, %prun transform their argument while the cell runs: not kept for the next cell
    shell.events.register("post_execute", last.clear)
