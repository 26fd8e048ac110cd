"""Where the commands print: results on stdout, notes, warnings and errors on stderr."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape

# soft_wrap: a line printed is one line however narrow the terminal (the terminal folds it),
# so that scripts, logs and tests read what was printed; tables still fit the width.
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True, highlight=False)


def warn(message: str) -> None:
    err.print(f"[yellow]warning:[/] {escape(message)}")


def note(message: str) -> None:
    err.print(f"note: {escape(message)}")


def error(message: str) -> None:
    """``error: <message>`` on one line, even when the message holds line breaks."""
    err.print(f"[red]error:[/] {escape(' '.join(message.splitlines()))}")


def print_summary(summary: dict[str, Any], width: int = 28) -> None:
    """An ``eval`` command's summary, one ``key value`` line each."""
    for key, value in summary.items():
        shown = f"{value:.4g}" if isinstance(value, float) else str(value)
        out.print(f"  {key:{width}s} {escape(shown)}")
