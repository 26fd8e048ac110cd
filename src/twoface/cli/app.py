"""The ``twoface`` app, assembled from the command modules, and the console entry point.

Commands only parse arguments and call the library; a problem with the user's input arrives
as :class:`~twoface.errors.TwofaceError` and leaves :func:`main` as one line on stderr,
``error: <message>``, with exit code 2.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup, TyperOption

from twoface import __version__
from twoface.cli import demo, detect, faces, forensics, gan, motion, provenance, swap
from twoface.cli.console import err, error
from twoface.errors import TwofaceError


def _no_flag_label(params: Iterable[Any]) -> None:
    """Typer labels a flag ``<bool>`` as if it took a value; an empty metavar drops that."""
    for param in params:
        if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
            param.metavar = ""


class _NoFlagLabels:
    """Mixed into Typer's command and group classes: their flags, ``--help`` included, show
    no type label."""

    params: list[Any]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _no_flag_label(self.params)

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        _no_flag_label([option])
        return option


class Command(_NoFlagLabels, TyperCommand):
    pass


class Group(_NoFlagLabels, TyperGroup):
    pass


def _group(help_text: str) -> typer.Typer:
    return typer.Typer(cls=Group, help=help_text, no_args_is_help=True)


app = typer.Typer(cls=Group, add_completion=False, no_args_is_help=True,
                  pretty_exceptions_enable=False)
train_app = _group("Train a model.")
eval_app = _group("Measure generated media.")
dataset_app = _group("Build labelled face datasets for detectors.")
index_app = _group("Trace a clip to the indexed video it was cut from.")
keys_app = _group("Signing keys for C2PA manifests.")


def _show_version(value: bool) -> None:
    if value:
        print(f"twoface {__version__}")
        raise typer.Exit()


@app.callback()
def _twoface(
    version: Annotated[bool, typer.Option(
        "--version", is_eager=True, callback=_show_version,
        help="Print twoface's version and exit.")] = False,
) -> None:
    """twoface: make, mark, detect and measure synthetic faces, offline."""


def _add(group: typer.Typer, name: str, fn: Callable[..., Any]) -> None:
    group.command(name, cls=Command)(fn)


# In the order of the work: faces in, fakes made, fakes found, provenance, the demo.
_add(app, "extract", faces.extract)
_add(app, "faces", faces.faces)
_add(app, "swap", swap.swap)
_add(app, "clips", motion.clips)
_add(app, "animate", motion.animate)
_add(app, "generate", gan.generate)
_add(app, "detect", detect.detect)
_add(app, "inspect", forensics.inspect)
_add(app, "verify", provenance.verify)
_add(app, "mark", provenance.mark)
_add(app, "demo", demo.demo)
_add(train_app, "swap", swap.train)
_add(train_app, "motion", motion.train)
_add(train_app, "gan", gan.train)
_add(train_app, "detector", detect.train)
_add(eval_app, "swap", swap.evaluate)
_add(eval_app, "motion", motion.evaluate)
_add(eval_app, "gan", gan.evaluate)
_add(eval_app, "detector", detect.evaluate)
_add(eval_app, "cross-method", detect.cross_method)
_add(dataset_app, "build", detect.dataset_build)
_add(index_app, "add", forensics.index_add)
_add(index_app, "search", forensics.index_search)
_add(keys_app, "init", provenance.keys_init)
app.add_typer(train_app, name="train")
app.add_typer(eval_app, name="eval")
app.add_typer(dataset_app, name="dataset")
app.add_typer(index_app, name="index")
app.add_typer(keys_app, name="keys")


def main() -> None:
    """Console entry point: user errors print one line, never a traceback."""
    try:
        app()
    except TwofaceError as exc:
        error(str(exc))
        sys.exit(2)
    except KeyboardInterrupt:  # outside a command (Typer turns one inside into exit 130)
        err.print("interrupted")
        sys.exit(130)
