"""The runner behind every ``train`` command: the options they share, the ``TrainOptions``
built from them, Ctrl-C, and the one summary line.

A command declares its own options plus the shared ones below, packs the shared ones into a
:class:`Run` and hands :func:`run` a job: the library call, given the loop's options and the
``--set`` overrides.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.markup import escape

from twoface.cli.console import err, out
from twoface.cli.options import TRAIN
from twoface.errors import TwofaceError
from twoface.train.loop import TrainOptions, TrainResult

Steps = Annotated[int, typer.Option(
    min=1, help="Train until this step (a resumed run continues towards it).")]
Minutes = Annotated[float | None, typer.Option(
    min=0.1, help="Also stop (and save) after this many minutes of training.")]
Resume = Annotated[bool, typer.Option("--resume", help="Continue the model in -o.")]
SaveEvery = Annotated[int, typer.Option(min=1, help="Checkpoint every N steps.")]
PreviewEvery = Annotated[int, typer.Option(min=0, help="Preview every N steps (0: none).")]
Compile = Annotated[bool, typer.Option("--compile", help="torch.compile the model.")]
Seed = Annotated[int, typer.Option(help="Random seed (data order, initial weights).")]
SetFields = Annotated[list[str] | None, typer.Option(
    "--set", help="Override a config field, e.g. --set size=128 (repeatable).")]

SAVE_EVERY = TRAIN.save_every
PREVIEW_EVERY = TRAIN.preview_every

T = TypeVar("T")


def parse_overrides(items: list[str] | None) -> dict[str, Any]:
    """``--set key=value`` items → config overrides, values parsed as JSON where they parse
    (``--set latent=512`` is a number, ``--set norm=pixel`` a string)."""
    cfg: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise TwofaceError(None, f"--set takes key=value, got {item!r}")
        try:
            cfg[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            cfg[key.strip()] = value
    return cfg


@dataclass(frozen=True)
class Run:
    """The shared options of one ``train`` command, as given."""

    output: Path
    steps: int
    minutes: float | None = None
    resume: bool = False
    save_every: int = SAVE_EVERY
    preview_every: int = PREVIEW_EVERY
    device: str | None = None
    compile: bool = False
    seed: int = 0
    set: list[str] | None = None
    quiet: bool = False

    def options(self, description: str) -> TrainOptions:
        """The generic loop's options."""
        return TrainOptions(steps=self.steps, minutes=self.minutes, save_every=self.save_every,
                            preview_every=self.preview_every, device=self.device,
                            compile=self.compile, resume=self.resume, progress=not self.quiet,
                            description=description)


def run(how: Run, description: str, job: Callable[[TrainOptions, dict[str, Any]], T]) -> T:
    """Run ``job(options, overrides)``; Ctrl-C leaves the checkpoint ``fit`` saved and exits
    130 with a hint, success prints :func:`summary_line` unless ``--quiet``."""
    overrides = parse_overrides(how.set)  # a bad --set fails before any work
    try:
        result = job(how.options(description), overrides)
    except KeyboardInterrupt:
        preview = how.output / "samples" / "latest.png"
        err.print(f"interrupted: checkpoint saved in {escape(str(how.output))}"
                  + (f" (preview {escape(str(preview))})" if preview.is_file() else "")
                  + "; continue with --resume")
        raise typer.Exit(130) from None
    if not how.quiet:
        out.print(escape(summary_line(result, how.output)))
    return result


def summary_line(result: object, output: Path) -> str:
    """``steps a→b in N s, X examples/s, loss L; model in DIR`` (a detector, whose trainer
    returns its calibration summary instead of the loop's result, says what it has)."""
    if isinstance(result, TrainResult):
        loss = result.last.get("loss", float("nan"))
        preview = output / "samples" / "latest.png"
        line = (f"steps {result.start_step}→{result.step} in {result.seconds:.0f} s, "
                f"{result.examples_per_s:.1f} examples/s, loss {loss:.4f}; model in {output}"
                + (f"; preview {preview}" if preview.is_file() else ""))
        goal = result.extra.get("goal")
        if goal:
            from twoface.train.presets import goal_line

            line += "\n" + goal_line(goal, goal.get("preset", "?"))
        return line
    if isinstance(result, dict):
        return _detector_line(result, output)
    return f"model in {output}"


def _detector_line(summary: dict[str, Any], output: Path) -> str:
    cal = summary.get("calibration") or {}
    parts = []
    if "steps" in summary:
        loss = summary.get("last_loss")
        parts.append(f"steps →{summary['steps']} in {summary.get('seconds', 0):.0f} s"
                     + (f", loss {loss:.4f}" if isinstance(loss, float) else ""))
    if "stack" in summary:  # a fusion: its members, then a stack fitted on val
        parts.append(f"{', '.join(summary.get('members', {}))} stacked on "
                     f"{summary.get('val_faces', 0)} val faces")
    if cal.get("calibrated"):
        parts.append(f"calibrated on {cal['val_faces']} val faces (val AUC {cal['val_auc']})")
    elif cal:
        parts.append(f"not calibrated: {cal.get('why', '?')}")
    return "; ".join([*parts, f"model in {output} (summary in calibration.json)"])
