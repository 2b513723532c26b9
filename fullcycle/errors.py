"""The one error type a user can cause.

Every surface (CLI, API, server) turns a `FullcycleError` into one line that names the
problem and the fix; the CLI exits with status 2. Anything else is a bug in fullcycle.
"""

from __future__ import annotations


class FullcycleError(Exception):
    """A problem with the user's input (file, column, flag, bundle), with its fix.

    The message should read as one line: what is wrong, then what to do about it,
    e.g. ``"column 'price' not found in data.csv; columns are: a, b, c"``.
    """

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))
