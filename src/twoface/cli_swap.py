"""Typer commands for the autoencoder face swap: ``train swap``, ``swap``, ``eval swap``.

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
    parse_overrides,
    train_options,
)
from twoface.errors import TwofaceError

out = Console()
err = Console(stderr=True, highlight=False)


def register(app: typer.Typer, train_app: typer.Typer, eval_app: typer.Typer) -> None:
    """Add the swap commands."""

    @train_app.command("swap")
    def train_swap(
        a: Annotated[Path, typer.Option("--a", help="Faceset of identity A (the source).")],
        b: Annotated[Path, typer.Option("--b", help="Faceset of identity B (the target).")],
        output: Annotated[Path, typer.Option("-o", "--output", help="Model folder.")],
        model: Annotated[str | None, typer.Option(help="light (CPU) or full (GPU).")] = None,
        size: Annotated[int | None, typer.Option(help="64, 128 or 256 (model default).")
                        ] = None,
        batch: Annotated[int, typer.Option(min=1, help="Faces per identity per step.")] = 16,
        steps: Steps = 20000,
        minutes: Minutes = None,
        gan: Annotated[bool, typer.Option("--gan", help="Add a PatchGAN loss (sharper).")
                       ] = False,
        resume: Resume = False,
        save_every: SaveEvery = 500,
        preview_every: PreviewEvery = 250,
        device: Device = None,
        compile_: Compile = False,
        seed: Seed = 0,
        set_: SetFields = None,
        quiet: Quiet = False,
    ) -> None:
        """Train an autoencoder face swap between two facesets (Ctrl-C saves; --resume)."""
        from twoface.train.swap import train_swap as run

        opts = train_options(steps=steps, minutes=minutes, save_every=save_every,
                             preview_every=preview_every, device=device,
                             compile_=compile_, resume=resume, quiet=quiet,
                             description="train swap")
        try:
            result = run(a, b, output, model=model, size=size, batch=batch, gan=gan, seed=seed,
                         overrides=parse_overrides(set_), options=opts)
        except KeyboardInterrupt:
            err.print(f"interrupted: checkpoint saved in {output}; continue with --resume")
            raise
        if not quiet:
            out.print(f"steps {result.start_step}→{result.step} in {result.seconds:.0f} s, "
                      f"{result.examples_per_s:.1f} examples/s, loss "
                      f"{result.last.get('loss', float('nan')):.4f}; model in [bold]{output}[/]")

    @app.command("swap")
    def swap(
        source: Annotated[Path, typer.Argument(help="Video or image to convert.")],
        model: Annotated[Path, typer.Option("-m", "--model", help="Trained model folder.")],
        output: Annotated[Path, typer.Option("-o", "--output", help="Output file.")],
        direction: Annotated[str, typer.Option(help="a2b: faces of A become B; b2a.")
                             ] = "a2b",
        alignments: Annotated[Path | None, typer.Option(
            help="A faceset (or its alignments.json) extracted from SOURCE.")] = None,
        blend: Annotated[str, typer.Option(help="feather or seamless.")] = "feather",
        color: Annotated[str, typer.Option(help="rct, hist or none.")] = "rct",
        batch: Annotated[int, typer.Option(min=1, help="Frames per model call.")] = 8,
        min_face: Annotated[int, typer.Option(help="Leave faces smaller than this (px).")
                            ] = 40,
        device: Annotated[str | None, typer.Option()] = None,
        no_mark: Annotated[bool, typer.Option(
            "--no-mark", help="Write NO watermark and NO manifest (prints a warning).")] = False,
        quiet: Annotated[bool, typer.Option("-q", "--quiet")] = False,
    ) -> None:
        """Swap faces in a video or image with a trained model (output marked)."""
        from twoface.apply.swap import SwapOptions, SwapPipeline

        for name, value, allowed in (("--direction", direction, ("a2b", "b2a")),
                                     ("--blend", blend, ("feather", "seamless")),
                                     ("--color", color, ("rct", "hist", "none"))):
            if value not in allowed:
                raise TwofaceError(None, f"{name} must be one of {', '.join(allowed)}")
        if no_mark:
            from twoface.provenance import warn_no_mark

            warn_no_mark(err)
        opts = SwapOptions(direction=direction, blend=blend, color=color,  # type: ignore[arg-type]
                           batch=batch, min_face=min_face, mark=not no_mark)
        pipe = SwapPipeline.from_pretrained(model, device)
        report = pipe(source, output, opts, alignments=alignments, progress=not quiet)
        if not quiet:
            out.print(f"{report.frames} frames, {report.faces} faces swapped in "
                      f"{report.swapped_frames} frames → [bold]{report.output}[/]"
                      + (f" (manifest: {report.manifest})" if report.manifest else ""))

    @eval_app.command("swap")
    def eval_swap(
        swapped: Annotated[Path, typer.Argument(help="The swapped video or image.")],
        source: Annotated[Path, typer.Option("--source", help="The original it was made from.")],
        target: Annotated[Path, typer.Option("--target", help="Faceset of the target (B).")],
        distractors: Annotated[list[Path] | None, typer.Option(
            "--distractor", help="Extra facesets of other people (repeatable).")] = None,
        output: Annotated[Path | None, typer.Option(
            "-o", "--output", help="Folder for metrics.json and report.html.")] = None,
        every: Annotated[int, typer.Option(min=1, help="Identity/pose on every Nth frame.")
                         ] = 1,
        as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")
                           ] = False,
    ) -> None:
        """Measure a swap: identity retrieval and similarity, pose and expression error,
        background PSNR, temporal flicker."""
        from twoface.evaluate.swap import evaluate_swap, write_report

        result = evaluate_swap(swapped, source, target, distractors=list(distractors or []),
                               every=every)
        folder = output or swapped.with_name(swapped.stem + "_eval")
        write_report(result, folder)
        if as_json:
            print(json.dumps(result["summary"], indent=1))
            return
        for k, v in result["summary"].items():
            out.print(f"  {k:28s} {v:.4g}" if isinstance(v, float) else f"  {k:28s} {v}")
        out.print(f"report: [bold]{folder / 'report.html'}[/]")
