"""Options several commands share, and the helpers that read choices and defaults.

This module loads neither torch nor the model files, so that a command which needs neither
(``verify``, ``inspect``, ``extract``) starts in well under a second. Choices that come from
the model registry live in :mod:`twoface.cli.options`, which does load them.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Annotated, Any, Literal

import typer


def one_of(values: Iterable[object]) -> Any:
    """A ``Literal`` of ``values``: how Typer is told an option takes one of them."""
    return Literal[tuple(values)]


def default_of(fn: Callable[..., Any], name: str) -> Any:
    """The default of parameter ``name`` of ``fn``: the library function the command calls
    states it, the command shows it."""
    return inspect.signature(fn).parameters[name].default


Device = Annotated[str | None, typer.Option(
    help="cpu, cuda, cuda:N (default: CUDA when present).")]
Quiet = Annotated[bool, typer.Option(
    "-q", "--quiet", help="No progress bars or summary (warnings and errors still print).")]
NoMark = Annotated[bool, typer.Option(
    "--no-mark", help="Write NO watermark and NO manifest (prints a warning).")]
