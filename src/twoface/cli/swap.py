"""The autoencoder face swap: ``train swap``, ``swap``, ``eval swap``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from twoface.apply.oneshot import OneShotOptions
from twoface.apply.swap import Direction
from twoface.cli import training
from twoface.cli.common import Device, NoMark, Quiet, default_of
from twoface.cli.console import err, out, print_summary, warn
from twoface.cli.options import SIZE_HELP, SWAP, SwapModel, SwapSize, model_help
from twoface.cli.training import (
    Compile,
    Minutes,
    PreviewEvery,
    Resume,
    SaveEvery,
    Seed,
    SetFields,
)
from twoface.errors import TwofaceError
from twoface.evaluate.swap import evaluate_swap
from twoface.train.presets import PresetName
from twoface.train.swap import train_swap
from twoface.types import BlendName, ColorMatchName, OneShotEngine


def train(
    a: Annotated[Path, typer.Option("--a", help="Faceset of identity A (the source).")],
    b: Annotated[Path, typer.Option("--b", help="Faceset of identity B (the target).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Model folder.")],
    model: Annotated[SwapModel | None, typer.Option(help=model_help("swap model"))] = None,
    size: Annotated[SwapSize | None, typer.Option(help=SIZE_HELP)] = None,
    batch: Annotated[int | None, typer.Option(
        min=1, help="Faces per identity per step (default 16, or the preset's).")] = None,
    preset: Annotated[PresetName | None, typer.Option(
        help="A measured recipe: cpu (about an hour on 2 cores, 128 px light model) or gpu "
        "(about 10 minutes on one H100/H200, full model); sets model, size, batch, learning "
        "rate schedule, EMA and the time budget unless given, and reports how far the model "
        "is from the preset's goal.")] = None,
    steps: Annotated[int | None, typer.Option(
        min=1, help="Train until this step (a resumed run continues towards it; default "
        "20000, or only the time budget with --preset).")] = None,
    minutes: Minutes = None,
    gan: Annotated[bool, typer.Option("--gan", help="Add a PatchGAN loss (sharper).")] = False,
    resume: Resume = False,
    save_every: SaveEvery = training.SAVE_EVERY,
    preview_every: PreviewEvery = training.PREVIEW_EVERY,
    device: Device = None,
    compile_: Compile = False,
    seed: Seed = 0,
    set_: SetFields = None,
    quiet: Quiet = False,
) -> None:
    """Train an autoencoder face swap between two facesets (Ctrl-C saves; --resume)."""
    steps = steps or (1_000_000 if preset else 20000)
    how = training.Run(output=output, steps=steps, minutes=minutes, resume=resume,
                       save_every=save_every, preview_every=preview_every, device=device,
                       compile=compile_, seed=seed, set=set_, quiet=quiet)
    training.run(how, "train swap", lambda opts, cfg: train_swap(
        a, b, output, model=model, size=size, batch=batch, gan=gan, seed=seed, overrides=cfg,
        options=opts, preset=preset))


def swap(
    source: Annotated[Path, typer.Argument(help="Video or image to convert.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Output file.")],
    model: Annotated[Path | None, typer.Option("-m", "--model", help=(
        "Trained model folder: a swap model, or with --face a motion model (not needed "
        "with --engine warp)."))] = None,
    face: Annotated[list[Path] | None, typer.Option(
        "--face", help="One-shot swap: a photo of the new face (repeatable: several photos "
        "of one person, the closest in pose is used per frame); MODEL is then a motion "
        "model and no per-pair training is needed.")] = None,
    engine: Annotated[OneShotEngine, typer.Option(
        help="With --face: motion (the motion model moves the photo's face) or warp (the "
        "photo's face warped onto each frame's landmarks: sharp, no model).")
                      ] = default_of(OneShotOptions, "engine"),
    occlusion: Annotated[bool, typer.Option(
        help="With --face and --engine warp: keep the target's glasses in front of the new "
        "face.")] = default_of(OneShotOptions, "occlusion"),
    direction: Annotated[Direction, typer.Option(
        help="a2b: faces of A become B; b2a: the other way.")] = SWAP.direction,
    alignments: Annotated[Path | None, typer.Option(
        help="A faceset (or its alignments.json) extracted from SOURCE.")] = None,
    blend: Annotated[BlendName, typer.Option(
        help="How the face is pasted back: feathered mask or Poisson (seamless) cloning.")
                     ] = SWAP.blend,
    color: Annotated[ColorMatchName, typer.Option(
        help="Colour matching of the new face to the frame (rct: Reinhard transfer; hist: "
        "histogram matching).")] = SWAP.color,
    batch: Annotated[int, typer.Option(min=1, help="Frames per model call.")] = SWAP.batch,
    min_face: Annotated[int, typer.Option(help="Leave faces smaller than this (px).")
                        ] = SWAP.min_face,
    device: Device = None,
    no_mark: NoMark = False,
    quiet: Quiet = False,
) -> None:
    """Swap faces in a video or image with a trained model, or from photos with --face and a
    motion model (output marked)."""
    from twoface.apply.swap import SwapOptions, SwapPipeline

    if no_mark:
        from twoface.provenance import warn_no_mark

        warn_no_mark(err)
    if face:
        _swap_from_photos(source, list(face), model, output, engine=engine, blend=blend,
                          occlusion=occlusion, color=color, batch=batch, min_face=min_face,
                          device=device, mark=not no_mark, quiet=quiet)
        return
    if model is None:
        raise TwofaceError(source, "give a trained swap model with -m (or photos with --face)")
    opts = SwapOptions(direction=direction, blend=blend, color=color, batch=batch,
                       min_face=min_face, mark=not no_mark)
    pipe = SwapPipeline.from_pretrained(model, device)
    report = pipe(source, output, opts, alignments=alignments, progress=not quiet)
    if not quiet:
        out.print(f"{report.frames} frames, {report.faces} faces swapped in "
                  f"{report.swapped_frames} frames → [bold]{escape(str(report.output))}[/]"
                  + (f" (manifest: {escape(str(report.manifest))})" if report.manifest else ""))


def _swap_from_photos(source: Path, faces: list[Path], model: Path | None, output: Path, *,
                      engine: OneShotEngine, blend: BlendName, occlusion: bool,
                      color: ColorMatchName, batch: int, min_face: int, device: str | None,
                      mark: bool, quiet: bool) -> None:
    from twoface.apply.oneshot import OneShotSwapPipeline

    opts = OneShotOptions(engine=engine, blend=blend, occlusion=occlusion, color=color,
                          batch=batch, min_face=min_face, mark=mark)
    if engine == "warp":
        pipe = OneShotSwapPipeline.warp_only()
    elif model is None:
        raise TwofaceError(source, "the motion engine needs a motion model: give -m (or "
                           "--engine warp)")
    else:
        pipe = OneShotSwapPipeline.from_pretrained(model, device)
    report = pipe(source, faces, output, opts, progress=not quiet)
    if not quiet:
        used = ", ".join(f"{escape(k)} {v}" for k, v in report.photo_frames.items())
        out.print(f"{report.frames} frames, {report.swapped_frames} swapped from photos "
                  f"({used}; {report.fps:.1f} frames/s) → [bold]{escape(str(report.output))}[/]"
                  + (f" (manifest: {escape(str(report.manifest))})" if report.manifest else ""))


def evaluate(
    swapped: Annotated[Path, typer.Argument(help="The swapped video or image.")],
    source: Annotated[Path, typer.Option("--source", help="The original it was made from.")],
    target: Annotated[Path, typer.Option("--target", help="Faceset of the target (B).")],
    distractors: Annotated[list[Path] | None, typer.Option(
        "--distractor", help="Extra facesets of other people (repeatable).")] = None,
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="Folder for metrics.json and report.html "
        "(default: SWAPPED's name + _eval).")] = None,
    every: Annotated[int, typer.Option(min=1, help="Identity/pose on every Nth frame.")
                     ] = default_of(evaluate_swap, "every"),
    real_gallery: Annotated[Path | None, typer.Option(
        "--real-gallery", help="Faces folder with real people for the identity gallery "
        "(default: ../shared/data/faces when found, or $TWOFACE_SHARED_FACES).")] = None,
    no_real_gallery: Annotated[bool, typer.Option(
        "--no-real-gallery", help="Leave real people out of the gallery.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")
                       ] = False,
) -> None:
    """Measure a swap: face still found, identity retrieval against real people, pose and
    expression error, sharpness against the source, background PSNR, flicker; a verdict."""
    from twoface.evaluate.gallery import find_shared_faces
    from twoface.evaluate.swap import write_report

    gallery = None if no_real_gallery else (real_gallery or find_shared_faces())
    if gallery is not None and not gallery.is_dir():
        raise TwofaceError(gallery, "is not a folder (--real-gallery)")
    if gallery is None and not no_real_gallery and not distractors:
        warn("no real people in the identity gallery (give --distractor facesets or "
             "--real-gallery): retrieval among synthetic faces alone is easy to pass")
    result = evaluate_swap(swapped, source, target, distractors=list(distractors or []),
                           every=every, real_gallery=gallery)
    folder = output or swapped.with_name(swapped.stem + "_eval")
    write_report(result, folder)
    if as_json:
        print(json.dumps(result["summary"], indent=1))
        return
    print_summary(result["summary"])
    why = "; ".join(result["verdict_reasons"])
    out.print(f"verdict: [bold]{escape(result['summary']['verdict'])}[/]"
              + (f" ({escape(why)})" if why else ""))
    out.print(f"rules: {escape(result['rules_text'])}")
    out.print(f"report: [bold]{escape(str(folder / 'report.html'))}[/]")
