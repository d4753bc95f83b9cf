"""Errors a user can cause. The command line prints their message as one line and exits non-zero."""


class UserError(Exception):
    """Something the instructor can fix: the message says what is wrong and what to do."""
