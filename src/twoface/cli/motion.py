"""The first-order motion model: ``clips``, ``train motion``, ``animate``, ``eval motion``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from twoface.cli import training
from twoface.cli.common import Device, NoMark, Quiet, default_of
from twoface.cli.console import err, note, out, print_summary, warn
from twoface.cli.options import ANIMATE, REENACT, SIZE_HELP, MotionModel, MotionSize, model_help
from twoface.cli.training import (
    Compile,
    Minutes,
    PreviewEvery,
    Resume,
    SaveEvery,
    Seed,
    SetFields,
)
from twoface.data.clips import make_clips
from twoface.errors import TwofaceError
from twoface.evaluate.motion import evaluate_motion
from twoface.train.motion import train_motion
from twoface.train.presets import PresetName
from twoface.types import BlendName, ColorMatchName, OneShotEngine


def clips(
    videos: Annotated[list[Path], typer.Argument(help="Videos (or folders of them).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Clips folder.")],
    size: Annotated[int, typer.Option(min=32, help="Side of the square frames (px).")
                    ] = default_of(make_clips, "size"),
    every: Annotated[int, typer.Option(min=1, help="Keep every Nth frame.")
                     ] = default_of(make_clips, "every"),
    quiet: Quiet = False,
) -> None:
    """Cut stable, loosely cropped square face clips (one per video) for motion training
    (re-running keeps clips already made)."""
    from twoface.progress import progress_bar

    with progress_bar(enabled=not quiet) as bar:
        results = make_clips(list(videos), output, size=size, every=every, progress=bar)
    for folder, doc, why in results:
        if doc is None:
            warn(f"{folder.name}: {why} (skipped)")
        elif not quiet:
            out.print(f"  {escape(folder.name):20s} {doc['frames']:5d} frames  {escape(why)}")
    if not any(doc is not None for _, doc, _ in results):
        raise TwofaceError(output, "no clip made: no face found in any video")


def train(
    clips_dirs: Annotated[list[Path], typer.Argument(help="Clip folders (or their parents).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Model folder.")],
    model: Annotated[MotionModel | None, typer.Option(help=model_help("motion model"))
                     ] = None,
    size: Annotated[MotionSize | None, typer.Option(help=SIZE_HELP)] = None,
    batch: Annotated[int | None, typer.Option(
        min=1, help="Frame pairs per step (default 8, or the preset's).")] = None,
    preset: Annotated[PresetName | None, typer.Option(
        help="A recipe for the general model reenact and the one-shot swap reuse: cpu "
        "(about an hour on 2 cores, small model at 128 px) or gpu (about 10 minutes on one "
        "H100/H200, fomm at 128 px with a PatchGAN); both add the identity loss. Sets "
        "model, size, batch, learning-rate schedule and the time budget unless given.")
                      ] = None,
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
    """Train a first-order motion model on face clips (Ctrl-C saves; --resume)."""
    steps = steps or (1_000_000 if preset else 20000)
    how = training.Run(output=output, steps=steps, minutes=minutes, resume=resume,
                       save_every=save_every, preview_every=preview_every, device=device,
                       compile=compile_, seed=seed, set=set_, quiet=quiet)
    notes: list[str] = []  # clips the trainer shrank to the model's size
    training.run(how, "train motion", lambda opts, cfg: train_motion(
        list(clips_dirs), output, model=model, size=size, batch=batch, gan=gan, seed=seed,
        overrides=cfg, options=opts, notes=notes, preset=preset))
    for n in notes:
        note(n)


def animate(
    source: Annotated[Path, typer.Argument(help="Still image of the face to animate.")],
    driving: Annotated[Path, typer.Option("--driving", help="Video whose motion to copy.")],
    model: Annotated[Path, typer.Option("-m", "--model", help="Trained motion model.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Output video.")],
    relative: Annotated[bool, typer.Option(
        "--relative/--absolute", help="Transfer the driver's change of pose (keeps the "
        "source's face shape) or its absolute keypoints.")] = ANIMATE.relative,
    adapt_scale: Annotated[bool, typer.Option(
        "--adapt-scale", help="Scale the motion by the faces' size ratio.")
                           ] = ANIMATE.adapt_scale,
    find_best_frame: Annotated[bool, typer.Option(
        "--find-best-frame", help="Measure motion from the driving frame whose pose is "
        "closest to the source's (else the first).")] = ANIMATE.find_best_frame,
    no_crop: Annotated[bool, typer.Option(
        "--no-crop", help="Animate the whole (centre square of the) image, face or not.")
                       ] = not ANIMATE.crop,
    paste_back: Annotated[bool, typer.Option(
        "--paste-back", help="Blend the animated face back into the whole source image.")
                          ] = ANIMATE.paste_back,
    out_size: Annotated[int, typer.Option(min=32, help="Side of the output crop (px).")
                        ] = ANIMATE.out_size,
    batch: Annotated[int, typer.Option(min=1, help="Frames per model call.")] = ANIMATE.batch,
    device: Device = None,
    no_mark: NoMark = False,
    quiet: Quiet = False,
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
        note(n)
    if not quiet:
        out.print(f"{report.frames} frames ({report.fps:.1f} frames/s, reference frame "
                  f"{report.reference_frame}) → [bold]{escape(str(report.output))}[/]"
                  + (f" (manifest: {escape(str(report.manifest))})" if report.manifest else ""))


def reenact(
    target: Annotated[Path, typer.Argument(help="Video of the person whose face to drive.")],
    driver: Annotated[Path, typer.Option("--driver", help="Video of the actor whose "
                                         "expressions to transfer.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Output video.")],
    model: Annotated[Path | None, typer.Option(
        "-m", "--model", help="Trained motion model (not needed with --engine warp).")
                     ] = None,
    engine: Annotated[OneShotEngine, typer.Option(
        help="motion (the motion model redraws the face) or warp (the target's own face "
        "warped onto landmarks moved by the actor's expression: sharp, no model, expression "
        "only).")] = REENACT.engine,
    expression_only: Annotated[bool, typer.Option(
        "--expression-only", help="Keep the target's own head motion; transfer only the "
        "actor's expression.")] = REENACT.expression_only,
    neutral_frame: Annotated[int | None, typer.Option(
        min=0, help="Actor frame the motion is measured from (default: the one with the "
        "mouth closed, facing the camera).")] = None,
    blend: Annotated[BlendName, typer.Option(
        help="How the face is pasted back: feathered mask or Poisson (seamless) cloning.")
                     ] = REENACT.blend,
    color: Annotated[ColorMatchName, typer.Option(
        help="Colour matching of the drawn face to the frame.")] = REENACT.color,
    batch: Annotated[int, typer.Option(min=1, help="Frames per model call.")] = REENACT.batch,
    min_face: Annotated[int, typer.Option(help="Leave faces smaller than this (px).")
                        ] = REENACT.min_face,
    device: Device = None,
    no_mark: NoMark = False,
    quiet: Quiet = False,
) -> None:
    """Drive the face in TARGET with the actor's expressions (Face2Face); hair, background
    and audio stay the target's (output marked)."""
    from twoface.apply.reenact import ReenactOptions, ReenactPipeline

    if no_mark:
        from twoface.provenance import warn_no_mark

        warn_no_mark(err)
    opts = ReenactOptions(engine=engine, expression_only=expression_only,
                          neutral_frame=neutral_frame, blend=blend, color=color, batch=batch,
                          min_face=min_face, mark=not no_mark)
    if engine == "warp":
        pipe = ReenactPipeline.warp_only()
    elif model is None:
        raise TwofaceError(target, "the motion engine needs a motion model: give -m (or "
                           "--engine warp)")
    else:
        pipe = ReenactPipeline.from_pretrained(model, device)
    report = pipe(target, driver, output, opts, progress=not quiet)
    for n in report.notes:
        note(n)
    if not quiet:
        out.print(f"{report.frames} frames, {report.reenacted_frames} reenacted "
                  f"({report.fps:.1f} frames/s, actor's neutral frame "
                  f"{report.neutral_frame}) → [bold]{escape(str(report.output))}[/]"
                  + (f" (manifest: {escape(str(report.manifest))})" if report.manifest else ""))


def evaluate(
    clips_dirs: Annotated[list[Path], typer.Argument(help="Held-out clip folders.")],
    model: Annotated[Path, typer.Option("-m", "--model", help="Trained motion model.")],
    every: Annotated[int, typer.Option(min=1, help="Use every Nth frame.")
                     ] = default_of(evaluate_motion, "every"),
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="Write metrics.json (and sample strips) here.")] = None,
    device: Device = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")
                       ] = False,
    quiet: Quiet = False,
) -> None:
    """FOMM's protocol on held-out clips: reconstruction L1, AKD, AED (dlib), and identity
    preservation when animating one clip's first frame with another clip."""
    result = evaluate_motion(list(clips_dirs), model, every=every, device=device,
                             output=output, progress=not quiet and not as_json)
    if as_json:
        print(json.dumps(result["summary"], indent=1))
        return
    print_summary(result["summary"], width=30)


def evaluate_reenact(
    output: Annotated[Path, typer.Argument(help="The reenacted video.")],
    target: Annotated[Path, typer.Option("--target", help="The target video it was made from.")],
    driver: Annotated[Path, typer.Option("--driver", help="The actor's video.")],
    neutral_frame: Annotated[int | None, typer.Option(
        min=0, help="The actor's neutral frame (default: found as reenact finds it).")] = None,
    every: Annotated[int, typer.Option(min=1, help="Expression, pose and identity on every "
                                       "Nth frame.")] = 2,
    real_gallery: Annotated[Path | None, typer.Option(
        "--real-gallery", help="Faces folder with real people for the identity gallery "
        "(default: ../shared/data/faces when found, or $TWOFACE_SHARED_FACES).")] = None,
    no_real_gallery: Annotated[bool, typer.Option(
        "--no-real-gallery", help="Leave real people out of the gallery.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")
                       ] = False,
) -> None:
    """Measure a reenactment: expression transfer against doing nothing, the target's
    identity kept (retrieval against real people), pose error, sharpness, flicker."""
    from twoface.evaluate.gallery import find_shared_faces
    from twoface.evaluate.reenact import evaluate_reenact as measure

    gallery = None if no_real_gallery else (real_gallery or find_shared_faces())
    if gallery is not None and not gallery.is_dir():
        raise TwofaceError(gallery, "is not a folder (--real-gallery)")
    result = measure(output, target, driver, every=every, neutral_frame=neutral_frame,
                     real_gallery=gallery)
    if as_json:
        print(json.dumps(result["summary"], indent=1))
        return
    print_summary(result["summary"], width=30)

