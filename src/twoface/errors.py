"""The one error type users see.

Every problem with user input is raised as :class:`TwofaceError` naming the file and the problem;
the CLI prints ``path: problem`` on one line and exits non-zero, without a traceback.
"""

from __future__ import annotations

from pathlib import Path


class TwofaceError(Exception):
    """A problem with an input or output the user can act on."""

    def __init__(self, path: str | Path | None, problem: str) -> None:
        self.path = None if path is None else Path(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}" if path is not None else problem)


class MediaError(TwofaceError):
    """A media file that cannot be read or written."""
