"""Typer commands for GAN faces: ``train gan``, ``generate``, ``eval gan``.

``twoface.cli`` calls :func:`register` with its app and its ``train`` and ``eval`` groups.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from twoface.cli_common import (
    Compile,
    Device,
    Minutes,
    PreviewEvery,
    Quiet,
    Resume,
    SaveEvery,
    Seed,
    SetFields,
    Steps,
)
from twoface.errors import TwofaceError

out = Console()
err = Console(stderr=True, highlight=False)


def register(app: typer.Typer, train_app: typer.Typer, eval_app: typer.Typer) -> None:
    """Add the GAN commands."""

    @train_app.command("gan")
    def train_gan(
        facesets: Annotated[list[Path], typer.Argument(help="Facesets to learn faces from.")],
        output: Annotated[Path, typer.Option("-o", "--output", help="Model folder.")],
        model: Annotated[str | None, typer.Option(
            help="fastgan-small (CPU, default), fastgan (GPU) or dcgan (baseline).")] = None,
        size: Annotated[int | None, typer.Option(help="64, 128 or 256 (model default).")
                        ] = None,
        batch: Annotated[int, typer.Option(min=2, help="Faces per step.")] = 16,
        steps: Steps = 20000,
        minutes: Minutes = None,
        resume: Resume = False,
        save_every: SaveEvery = 500,
        preview_every: PreviewEvery = 250,
        device: Device = None,
        compile_: Compile = False,
        seed: Seed = 0,
        set_: SetFields = None,
        quiet: Quiet = False,
    ) -> None:
        """Train a GAN that draws faces of people who do not exist (Ctrl-C saves; --resume)."""
        from twoface.cli_common import parse_overrides, train_options
        from twoface.train.gan import train_gan as run

        opts = train_options(steps=steps, minutes=minutes, save_every=save_every,
                             preview_every=preview_every, device=device,
                             compile_=compile_, resume=resume, quiet=quiet,
                             description="train gan")
        try:
            result = run(facesets, output, model=model, size=size, batch=batch, seed=seed,
                         overrides=parse_overrides(set_), options=opts)
        except KeyboardInterrupt:
            err.print(f"interrupted: checkpoint saved in {output}; continue with --resume")
            raise
        if not quiet:
            out.print(f"steps {result.start_step}→{result.step} in {result.seconds:.0f} s, "
                      f"{result.examples_per_s:.1f} images/s, G loss "
                      f"{result.last.get('loss', float('nan')):.3f}, D loss "
                      f"{result.last.get('loss_d', float('nan')):.3f}; model in "
                      f"[bold]{output}[/] (samples in {output / 'samples'})")

    @app.command("generate")
    def generate(
        model: Annotated[Path, typer.Option("-m", "--model", help="Trained GAN folder.")],
        output: Annotated[Path, typer.Option("-o", "--output", help="Folder for the faces.")],
        n: Annotated[int, typer.Option("-n", min=1, help="How many faces.")] = 64,
        seed: Annotated[int, typer.Option(help="Same seed, same faces.")] = 0,
        truncation: Annotated[float, typer.Option(
            help="1: full variety; lower: closer to the average face (cleaner, samer).")
                              ] = 1.0,
        grid: Annotated[Path | None, typer.Option(help="Also write a PNG grid of them.")
                        ] = None,
        interpolate: Annotated[bool, typer.Option(
            "--interpolate", help="Also write a looping latent-walk video into -o.")] = False,
        keyframes: Annotated[int, typer.Option(min=2, help="Faces the walk passes through.")
                             ] = 6,
        frames_between: Annotated[int, typer.Option(min=1)] = 24,
        device: Annotated[str | None, typer.Option()] = None,
        no_mark: Annotated[bool, typer.Option(
            "--no-mark", help="Write NO watermark and NO manifest (prints a warning).")] = False,
        quiet: Annotated[bool, typer.Option("-q", "--quiet")] = False,
    ) -> None:
        """Draw faces of people who do not exist with a trained GAN (outputs marked)."""
        from twoface.apply.generate import GanPipeline

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
            out.print(f"{len(report.files)} faces ({pipe.size} px) in [bold]{output}[/]"
                      + (f", grid {report.grid}" if report.grid else "")
                      + (f", video {video}" if video else "")
                      + ("" if no_mark else "; every file watermarked and signed"))

    @eval_app.command("gan")
    def eval_gan(
        model: Annotated[Path, typer.Option("-m", "--model", help="Trained GAN folder.")],
        real: Annotated[list[Path], typer.Option(
            "--real", help="Faceset of real faces, usually the training set (repeatable).")],
        n: Annotated[int, typer.Option("-n", min=10, help="Faces to generate.")] = 500,
        seed: Annotated[int, typer.Option()] = 12345,
        truncation: Annotated[float, typer.Option()] = 1.0,
        output: Annotated[Path | None, typer.Option(
            "-o", "--output", help="Folder for metrics.json and nearest.png "
            "(default MODEL/eval).")] = None,
        device: Annotated[str | None, typer.Option()] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")
                           ] = False,
        quiet: Annotated[bool, typer.Option("-q", "--quiet")] = False,
    ) -> None:
        """Measure a GAN: Fréchet distance and KID on dlib identity embeddings (our own
        metric, not comparable to published FID), dlib detection rate, and nearest training
        neighbours (is it copying?)."""
        from twoface.evaluate.gan import evaluate_gan

        for fs in real:
            if not (fs / "alignments.json").is_file():
                raise TwofaceError(fs, "not a faceset (no alignments.json)")
        folder = output or model / "eval"
        result = evaluate_gan(model, real, n=n, seed=seed, truncation=truncation,
                              device=device, output=folder, progress=not (quiet or as_json))
        if as_json:
            print(json.dumps(result["summary"], indent=1))
            return
        for k, v in result["summary"].items():
            out.print(f"  {k:28s} {v:.4g}" if isinstance(v, float) else f"  {k:28s} {v}")
        out.print(f"metrics and nearest-neighbour sheet in [bold]{folder}[/]")
