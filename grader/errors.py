"""Errors the command line ends with one line instead of a traceback (grader/cli.py): what the instructor can
fix (exit status 2) and what failed on the machine (exit status 1). Anything else is a bug: its traceback."""


class GraderError(Exception):
    """Base of the errors the command line prints as one line, "erro: <message>"."""

    exit_status = 1


class UserError(GraderError):
    """Something the instructor can fix: the message says what is wrong and what to do."""

    exit_status = 2


class MachineError(GraderError):
    """Something failed on this machine (a kernel server, a kernel's setup), not in what the instructor gave."""
