"""GAN faces: ``train gan``, ``generate``, ``eval gan``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from twoface.apply.generate import GanPipeline
from twoface.cli import training
from twoface.cli.common import Device, NoMark, Quiet, default_of
from twoface.cli.console import err, out, print_summary
from twoface.cli.options import SIZE_HELP, GanModel, GanSize, model_help
from twoface.cli.training import (
    Compile,
    Minutes,
    PreviewEvery,
    Resume,
    SaveEvery,
    Seed,
    SetFields,
    Steps,
)
from twoface.errors import TwofaceError
from twoface.evaluate.gan import evaluate_gan
from twoface.train.gan import train_gan

TRUNCATION_HELP = "1: full variety; lower: closer to the average face (cleaner, samer)."


def train(
    facesets: Annotated[list[Path], typer.Argument(help="Facesets to learn faces from.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Model folder.")],
    model: Annotated[GanModel | None, typer.Option(help=model_help("GAN"))] = None,
    size: Annotated[GanSize | None, typer.Option(help=SIZE_HELP)] = None,
    batch: Annotated[int, typer.Option(min=2, help="Faces per step.")
                     ] = default_of(train_gan, "batch"),
    steps: Steps = 20000,
    minutes: Minutes = None,
    resume: Resume = False,
    save_every: SaveEvery = training.SAVE_EVERY,
    preview_every: PreviewEvery = training.PREVIEW_EVERY,
    device: Device = None,
    compile_: Compile = False,
    seed: Seed = 0,
    set_: SetFields = None,
    quiet: Quiet = False,
) -> None:
    """Train a GAN that draws faces of people who do not exist (Ctrl-C saves; --resume;
    previews in OUTPUT/samples)."""
    how = training.Run(output=output, steps=steps, minutes=minutes, resume=resume,
                       save_every=save_every, preview_every=preview_every, device=device,
                       compile=compile_, seed=seed, set=set_, quiet=quiet)
    training.run(how, "train gan", lambda opts, cfg: train_gan(
        facesets, output, model=model, size=size, batch=batch, seed=seed, overrides=cfg,
        options=opts))


def generate(
    model: Annotated[Path, typer.Option("-m", "--model", help="Trained GAN folder.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder for the faces.")],
    n: Annotated[int, typer.Option("-n", min=1, help="How many faces.")
                 ] = default_of(GanPipeline.__call__, "n"),
    seed: Annotated[int, typer.Option(help="Same seed, same faces.")
                    ] = default_of(GanPipeline.__call__, "seed"),
    truncation: Annotated[float, typer.Option(help=TRUNCATION_HELP)
                          ] = default_of(GanPipeline.__call__, "truncation"),
    grid: Annotated[Path | None, typer.Option(help="Also write a PNG grid of them.")] = None,
    interpolate: Annotated[bool, typer.Option(
        "--interpolate", help="Also write a looping latent-walk video into -o.")] = False,
    keyframes: Annotated[int, typer.Option(min=2, help="Faces the walk passes through.")] = 6,
    frames_between: Annotated[int, typer.Option(
        min=1, help="Video frames from one keyframe face to the next.")
                              ] = default_of(GanPipeline.interpolate, "frames_between"),
    device: Device = None,
    no_mark: NoMark = False,
    quiet: Quiet = False,
) -> None:
    """Draw faces of people who do not exist with a trained GAN (outputs marked)."""
    if not 0 <= truncation <= 1.5:
        raise TwofaceError(None, f"--truncation must be in [0, 1.5], got {truncation}")
    if no_mark:
        from twoface.provenance import warn_no_mark

        warn_no_mark(err)
    pipe = GanPipeline.from_pretrained(model, device)
    report = pipe(output, n, seed=seed, truncation=truncation, grid=grid,
                  mark=not no_mark, progress=not quiet)
    video = None
    if interpolate:
        video = pipe.interpolate(output / f"interpolation_s{seed}.mp4", seed=seed,
                                 keyframes=keyframes, frames_between=frames_between,
                                 truncation=truncation, mark=not no_mark,
                                 progress=not quiet)
    if not quiet:
        out.print(f"{len(report.files)} faces ({pipe.size} px) in [bold]{escape(str(output))}[/]"
                  + (f", grid {escape(str(report.grid))}" if report.grid else "")
                  + (f", video {escape(str(video))}" if video else "")
                  + ("" if no_mark else "; every file watermarked and signed"))


def evaluate(
    model: Annotated[Path, typer.Option("-m", "--model", help="Trained GAN folder.")],
    real: Annotated[list[Path], typer.Option(
        "--real", help="Faceset of real faces, usually the training set (repeatable).")],
    n: Annotated[int, typer.Option("-n", min=10, help="Faces to generate.")
                 ] = default_of(evaluate_gan, "n"),
    seed: Annotated[int, typer.Option(help="Seed of the generated faces.")
                    ] = default_of(evaluate_gan, "seed"),
    truncation: Annotated[float, typer.Option(help=TRUNCATION_HELP)
                          ] = default_of(evaluate_gan, "truncation"),
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="Folder for metrics.json and nearest.png "
        "(default MODEL/eval).")] = None,
    device: Device = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")
                       ] = False,
    quiet: Quiet = False,
) -> None:
    """Measure a GAN: Fréchet distance and KID on dlib identity embeddings (our own
    metric, not comparable to published FID), dlib detection rate, and nearest training
    neighbours (is it copying?)."""
    for fs in real:
        if not (fs / "alignments.json").is_file():
            raise TwofaceError(fs, "not a faceset (no alignments.json)")
    folder = output or model / "eval"
    result = evaluate_gan(model, real, n=n, seed=seed, truncation=truncation,
                          device=device, output=folder, progress=not (quiet or as_json))
    if as_json:
        print(json.dumps(result["summary"], indent=1))
        return
    print_summary(result["summary"])
    out.print(f"metrics and nearest-neighbour sheet in [bold]{escape(str(folder))}[/]")
