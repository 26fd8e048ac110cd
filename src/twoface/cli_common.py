"""Small parsing helpers shared by the ``cli_*`` modules (no logic beyond parsing)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from twoface.errors import TwofaceError


def parse_overrides(items: list[str] | None) -> dict:
    """``--set key=value`` items → config overrides, values parsed as JSON where they parse
    (``--set latent=512`` is a number, ``--set norm=pixel`` a string)."""
    cfg = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise TwofaceError(None, f"--set takes key=value, got {item!r}")
        try:
            cfg[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            cfg[key.strip()] = value
    return cfg


# Options every `train` command takes, declared once (Typer reads them from the annotations).
Steps = Annotated[int, typer.Option(min=1, help="Train until this step.")]
Minutes = Annotated[float | None, typer.Option(
    min=0.1, help="Also stop (and save) after this many minutes of training.")]
Resume = Annotated[bool, typer.Option("--resume", help="Continue the model in -o.")]
SaveEvery = Annotated[int, typer.Option(min=1, help="Checkpoint every N steps.")]
PreviewEvery = Annotated[int, typer.Option(min=0, help="Preview every N steps (0: none).")]
Device = Annotated[str | None, typer.Option(help="cpu, cuda, cuda:1 (default: auto).")]
Compile = Annotated[bool, typer.Option("--compile", help="torch.compile the model.")]
Seed = Annotated[int, typer.Option(help="Random seed (data order, initial weights).")]
SetFields = Annotated[list[str] | None, typer.Option(
    "--set", help="Override a config field, e.g. --set size=128 (repeatable).")]
Quiet = Annotated[bool, typer.Option("-q", "--quiet")]


def train_options(*, steps: int, minutes: float | None = None, save_every: int,
                  preview_every: int, device: str | None, compile_: bool, resume: bool,
                  quiet: bool, description: str) -> Any:
    """The generic loop's ``TrainOptions`` from the shared command-line options."""
    from twoface.train.loop import TrainOptions

    return TrainOptions(steps=steps, minutes=minutes, save_every=save_every,
                        preview_every=preview_every,
                        device=device, compile=compile_, resume=resume, progress=not quiet,
                        description=description)
