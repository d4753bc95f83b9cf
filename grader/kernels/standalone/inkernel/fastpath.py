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
