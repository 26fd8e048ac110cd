"""Typer commands for the first-order motion model: ``clips``, ``train motion``, ``animate``,
``eval motion``.

``twoface.cli`` calls :func:`register` with its app and its ``train`` and ``eval`` groups.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

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
err = Console(stderr=True, soft_wrap=True, highlight=False)


def register(app: typer.Typer, train_app: typer.Typer, eval_app: typer.Typer) -> None:
    """Add the motion commands."""

    @app.command("clips")
    def clips(
        videos: Annotated[list[Path], typer.Argument(help="Videos (or folders of them).")],
        output: Annotated[Path, typer.Option("-o", "--output", help="Clips folder.")],
        size: Annotated[int, typer.Option(min=32, help="Side of the square frames (px).")
                        ] = 256,
        every: Annotated[int, typer.Option(min=1, help="Keep every Nth frame.")] = 1,
        quiet: Annotated[bool, typer.Option("-q", "--quiet")] = False,
    ) -> None:
        """Cut stable, loosely cropped square face clips (one per video) for motion training
        (re-running keeps clips already made)."""
        from twoface.data.clips import make_clips
        from twoface.progress import progress_bar

        with progress_bar(enabled=not quiet) as bar:
            results = make_clips(list(videos), output, size=size, every=every, progress=bar)
        made = [r for r in results if r[1] is not None]
        for folder, doc, note in results:
            if doc is None:
                err.print(f"[yellow]warning:[/] {escape(str(folder.name))}: {escape(note)} "
                          "(skipped)")
            elif not quiet:
                out.print(f"  {folder.name:20s} {doc['frames']:5d} frames  {note}")
        if not made:
            raise TwofaceError(output, "no clip made: no face found in any video")

    @train_app.command("motion")
    def train_motion(
        clips_dirs: Annotated[list[Path], typer.Argument(help="Clip folders (or their parents).")],
        output: Annotated[Path, typer.Option("-o", "--output", help="Model folder.")],
        model: Annotated[str | None, typer.Option(help="small (CPU) or fomm (GPU).")] = None,
        size: Annotated[int | None, typer.Option(help="64, 128 or 256 (model default).")
                        ] = None,
        batch: Annotated[int, typer.Option(min=1, help="Frame pairs per step.")] = 8,
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
        """Train a first-order motion model on face clips (Ctrl-C saves; --resume)."""
        from twoface.cli_common import parse_overrides, train_options
        from twoface.train.motion import train_motion as run

        opts = train_options(steps=steps, minutes=minutes, save_every=save_every,
                             preview_every=preview_every, device=device,
                             compile_=compile_, resume=resume, quiet=quiet,
                             description="train motion")
        notes: list[str] = []
        try:
            result = run(list(clips_dirs), output, model=model, size=size, batch=batch,
                         gan=gan, seed=seed, overrides=parse_overrides(set_), options=opts,
                         notes=notes)
        except KeyboardInterrupt:
            err.print(f"interrupted: checkpoint saved in {output}; continue with --resume")
            raise
        for n in notes:
            err.print(f"note: {escape(n)}")
        if not quiet:
            out.print(f"steps {result.start_step}→{result.step} in {result.seconds:.0f} s, "
                      f"{result.examples_per_s:.1f} examples/s, loss "
                      f"{result.last.get('loss', float('nan')):.4f}; model in [bold]{output}[/]")

    @app.command("animate")
    def animate(
        source: Annotated[Path, typer.Argument(help="Still image of the face to animate.")],
        driving: Annotated[Path, typer.Option("--driving", help="Video whose motion to copy.")],
        model: Annotated[Path, typer.Option("-m", "--model", help="Trained motion model.")],
        output: Annotated[Path, typer.Option("-o", "--output", help="Output video.")],
        relative: Annotated[bool, typer.Option(
            "--relative/--absolute", help="Transfer the driver's change of pose (keeps the "
            "source's face shape) or its absolute keypoints.")] = True,
        adapt_scale: Annotated[bool, typer.Option(
            "--adapt-scale", help="Scale the motion by the faces' size ratio.")] = False,
        find_best_frame: Annotated[bool, typer.Option(
            "--find-best-frame", help="Measure motion from the driving frame whose pose is "
            "closest to the source's (else the first).")] = False,
        no_crop: Annotated[bool, typer.Option(
            "--no-crop", help="Animate the whole (centre square of the) image, face or not.")
                           ] = False,
        paste_back: Annotated[bool, typer.Option(
            "--paste-back", help="Blend the animated face back into the whole source image.")
                              ] = False,
        out_size: Annotated[int, typer.Option(min=32, help="Side of the output crop (px).")
                            ] = 256,
        batch: Annotated[int, typer.Option(min=1, help="Frames per model call.")] = 16,
        device: Annotated[str | None, typer.Option()] = None,
        no_mark: Annotated[bool, typer.Option(
            "--no-mark", help="Write NO watermark and NO manifest (prints a warning).")] = False,
        quiet: Annotated[bool, typer.Option("-q", "--quiet")] = False,
    ) -> None:
        """Animate a still face with the motion of a driving video (output marked)."""
        from twoface.apply.animate import AnimateOptions, AnimatePipeline

        if no_mark:
            from twoface.provenance import warn_no_mark

            warn_no_mark(err)
        opts = AnimateOptions(relative=relative, adapt_scale=adapt_scale,
                              find_best_frame=find_best_frame, crop=not no_crop,
                              paste_back=paste_back, out_size=out_size, batch=batch,
                              mark=not no_mark)
        pipe = AnimatePipeline.from_pretrained(model, device)
        report = pipe(source, driving, output, opts, progress=not quiet)
        for n in report.notes:
            err.print(f"note: {escape(n)}")
        if not quiet:
            out.print(f"{report.frames} frames ({report.fps:.1f} frames/s, reference frame "
                      f"{report.reference_frame}) → [bold]{report.output}[/]"
                      + (f" (manifest: {report.manifest})" if report.manifest else ""))

    @eval_app.command("motion")
    def eval_motion(
        clips_dirs: Annotated[list[Path], typer.Argument(help="Held-out clip folders.")],
        model: Annotated[Path, typer.Option("-m", "--model", help="Trained motion model.")],
        every: Annotated[int, typer.Option(min=1, help="Use every Nth frame.")] = 1,
        output: Annotated[Path | None, typer.Option(
            "-o", "--output", help="Write metrics.json (and sample strips) here.")] = None,
        device: Annotated[str | None, typer.Option()] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")
                           ] = False,
        quiet: Annotated[bool, typer.Option("-q", "--quiet")] = False,
    ) -> None:
        """FOMM's protocol on held-out clips: reconstruction L1, AKD, AED (dlib), and identity
        preservation when animating one clip's first frame with another clip."""
        from twoface.evaluate.motion import evaluate_motion

        result = evaluate_motion(list(clips_dirs), model, every=every, device=device,
                                 output=output, progress=not quiet and not as_json)
        if as_json:
            print(json.dumps(result["summary"], indent=1))
            return
        for k, v in result["summary"].items():
            out.print(f"  {k:30s} {v:.4g}" if isinstance(v, float) else f"  {k:30s} {v}")
