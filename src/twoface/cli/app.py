"""The ``twoface`` app, assembled from the command modules, and the console entry point.

Commands only parse arguments and call the library; a problem with the user's input arrives
as :class:`~twoface.errors.TwofaceError` and leaves :func:`main` as one line on stderr,
``error: <message>``, with exit code 2.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable
from typing import Annotated, Any, ClassVar

import typer
import typer.main
from typer.core import TyperCommand, TyperGroup, TyperOption

from twoface import __version__
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


# Every command as "module:function" under twoface.cli, in the order of the work: faces in,
# fakes made, fakes found, provenance, the demo. A module is imported when one of its commands
# runs or ``--help`` lists it, so ``twoface verify`` never loads torch and the model files.
COMMANDS: dict[str, str] = {
    "extract": "faces:extract", "faces": "faces:faces", "swap": "swap:swap",
    "clips": "motion:clips", "animate": "motion:animate",
    "reenact": "motion:reenact", "generate": "gan:generate",
    "detect": "judge:detect", "inspect": "forensics:inspect", "scan": "scan:scan",
    "verify": "provenance:verify",
    "mark": "provenance:mark", "demo": "demo:demo", "web": "web:web",
}
GROUPS: dict[str, tuple[str, dict[str, str]]] = {
    "train": ("Train a model.", {
        "swap": "swap:train", "motion": "motion:train", "gan": "gan:train",
        "detector": "detect:train"}),
    "eval": ("Measure generated media.", {
        "swap": "swap:evaluate", "motion": "motion:evaluate",
        "reenact": "motion:evaluate_reenact", "gan": "gan:evaluate",
        "detector": "detect:evaluate", "cross-method": "detect:cross_method"}),
    "dataset": ("Build labelled face datasets for detectors.", {
        "build": "detect:dataset_build"}),
    "index": ("Trace a clip to the indexed video it was cut from.", {
        "add": "forensics:index_add", "search": "forensics:index_search"}),
    "keys": ("Signing keys for C2PA manifests.", {"init": "provenance:keys_init"}),
}


def load_command(name: str, target: str) -> Any:
    """The Click command for ``target`` ("module:function" in twoface.cli), named ``name``."""
    module_name, _, attr = target.partition(":")
    fn = getattr(importlib.import_module(f"twoface.cli.{module_name}"), attr)
    single = typer.Typer(add_completion=False)
    single.command(name, cls=Command)(fn)
    return typer.main.get_command(single)


class LazyGroup(Group):
    """A group whose commands (``lazy``: name -> "module:function") load when asked for."""

    lazy: ClassVar[dict[str, str]] = {}

    def list_commands(self, ctx: Any) -> list[str]:
        return [*self.lazy, *super().list_commands(ctx)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in self.lazy:
            return load_command(cmd_name, self.lazy[cmd_name])
        return super().get_command(ctx, cmd_name)


def _lazy(name: str, commands: dict[str, str]) -> type[LazyGroup]:
    return type(f"{name.title()}Group", (LazyGroup,), {"lazy": commands})


app = typer.Typer(cls=_lazy("twoface", COMMANDS), add_completion=False, no_args_is_help=True,
                  pretty_exceptions_enable=False)


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


for _name, (_help, _commands) in GROUPS.items():
    app.add_typer(typer.Typer(cls=_lazy(_name, _commands), help=_help, no_args_is_help=True),
                  name=_name)


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
