"""Detectors: ``dataset build``, ``train detector``, ``eval detector``, ``eval cross-method``.

The work is done in :mod:`twoface.data.detect_dataset`, :mod:`twoface.train.detector` and
:mod:`twoface.evaluate.detector`; the tables these commands print are in
:mod:`twoface.cli.detect_tables`. ``detect`` itself (judging media) is in
:mod:`twoface.cli.judge`, which starts without torch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from twoface.cli import training
from twoface.cli.common import Device, Quiet, default_of
from twoface.cli.console import err, out, warn
from twoface.cli.detect_tables import print_cross_method, print_metrics
from twoface.cli.judge import MODEL_HELP
from twoface.cli.options import DATASET, DetectorModel
from twoface.cli.training import (
    Minutes,
    PreviewEvery,
    Resume,
    SaveEvery,
    Seed,
    SetFields,
    Steps,
)
from twoface.errors import TwofaceError
from twoface.evaluate.detector import cross_method as run_cross_method
from twoface.evaluate.detector import evaluate_dataset
from twoface.train.detector import train_detector

ARCH_HELP = ("Detector architecture (the selfblend ones learn from real faces only; fusion "
             "stacks trained members).")
Json = Annotated[bool, typer.Option("--json", help="Print the results as JSON.")]
Boot = Annotated[int, typer.Option(min=0, help="Bootstrap resamples for the intervals.")]


def _crfs(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise TwofaceError(None, f"--crf takes numbers like 0,23,40, got {text!r}") from None


def dataset_build(
    output: Annotated[Path, typer.Option("-o", "--output", help="New dataset folder.")],
    real: Annotated[list[Path] | None, typer.Option(
        "--real", help="Real videos, images or folders (repeatable).")] = None,
    fake: Annotated[list[str] | None, typer.Option(
        "--fake", help="METHOD=PATH: fake media made by METHOD (repeatable).")] = None,
    crf: Annotated[str, typer.Option(help="H.264 CRFs every input is re-encoded at.")
                   ] = ",".join(map(str, DATASET.crfs)),
    size: Annotated[int, typer.Option(min=32, help="Crop side in pixels.")] = DATASET.size,
    every: Annotated[int, typer.Option(min=1, help="Use every Nth video frame.")
                     ] = DATASET.every,
    max_frames: Annotated[int, typer.Option(min=1, help="At most N frames per video.")
                          ] = DATASET.max_frames,
    val: Annotated[float, typer.Option(
        min=0.0, max=0.5, help="Share of the groups for validation (calibration).")
                   ] = DATASET.val,
    test: Annotated[float, typer.Option(min=0.0, max=0.5, help="Share of the groups for "
                                        "testing.")] = DATASET.test,
    seed: Annotated[int, typer.Option(help="Seed of the split.")] = DATASET.seed,
    link: Annotated[list[str] | None, typer.Option(
        "--link", help="STEM,STEM,...: inputs that must share a split, e.g. the two "
        "people of a swap pair (repeatable).")] = None,
    quiet: Quiet = False,
) -> None:
    """Extract, re-encode (same path for every class) and split a labelled face dataset."""
    from twoface.data.detect_dataset import DatasetOptions, build_dataset, parse_fake
    from twoface.progress import progress_bar

    opts = DatasetOptions(crfs=_crfs(crf), size=size, every=every, max_frames=max_frames,
                          val=val, test=test, seed=seed,
                          links=tuple(tuple(x.strip() for x in spec.split(",") if x.strip())
                                      for spec in link or []))
    fakes = [parse_fake(s) for s in fake or []]
    with progress_bar(enabled=not quiet) as bar:
        report = build_dataset(list(real or []), fakes, output, opts, progress=bar)
    if not quiet:
        for key, n in sorted(report.counts.items()):
            out.print(f"  {key:30s} {n:6d} crops")
        out.print(f"{report.rows} crops → [bold]{escape(str(output / 'manifest.csv'))}[/]")
    for s in report.sources:
        if s.note == "no faces found":
            warn(f"{s.path}: no faces found")


def train(
    dataset: Annotated[Path, typer.Argument(help="Dataset folder (dataset build).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Model folder.")],
    model: Annotated[DetectorModel, typer.Option(help=ARCH_HELP)
                     ] = default_of(train_detector, "model"),
    steps: Steps = 3000,
    minutes: Minutes = None,
    batch: Annotated[int, typer.Option(min=2, help="Faces per step.")
                     ] = default_of(train_detector, "batch"),
    member: Annotated[list[Path] | None, typer.Option(
        "--member", help="fusion: a trained member folder (repeatable; default: train "
        "cnn, selfblend and spectral first).")] = None,
    exclude: Annotated[list[str] | None, typer.Option(
        "--exclude", help="Leave this method out of training (repeatable).")] = None,
    resume: Resume = False,
    save_every: SaveEvery = training.SAVE_EVERY,
    preview_every: PreviewEvery = 500,
    device: Device = None,
    seed: Seed = 0,
    set_: SetFields = None,
    quiet: Quiet = False,
) -> None:
    """Train a face-forgery detector and calibrate it on the val split (self-blend
    models use the real faces only, and first train their re-renderer into
    OUTPUT/rerender: 3000 steps outside --steps and --minutes, --set rerender_steps=N
    to change, --set rerender=0 to skip; one already there is reused)."""
    how = training.Run(output=output, steps=steps, minutes=minutes, resume=resume,
                       save_every=save_every, preview_every=preview_every, device=device,
                       seed=seed, set=set_, quiet=quiet)
    training.run(how, f"train {model}", lambda opts, cfg: train_detector(
        dataset, output, model=model, batch=batch, seed=seed, overrides=cfg,
        members=list(member or []), exclude=list(exclude or []), options=opts))


def evaluate(
    real: Annotated[list[Path] | None, typer.Option(
        "--real", help="Real media (repeatable).")] = None,
    fake: Annotated[list[str] | None, typer.Option(
        "--fake", help="METHOD=PATH fake media (repeatable).")] = None,
    dataset: Annotated[Path | None, typer.Option(
        "--dataset", help="Evaluate on a dataset split instead of media.")] = None,
    split: Annotated[str, typer.Option(help="Dataset split to use.")
                     ] = default_of(evaluate_dataset, "split"),
    model: Annotated[Path | None, typer.Option("-m", "--model", help=MODEL_HELP)] = None,
    boot: Boot = default_of(evaluate_dataset, "n_boot"),
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="Write metrics.json here.")] = None,
    as_json: Json = False,
    quiet: Quiet = False,
) -> None:
    """AUC, AP, EER and TPR@1%FPR with bootstrap intervals, frame and video level."""
    from twoface.data.detect_dataset import parse_fake
    from twoface.evaluate.detector import evaluate_media
    from twoface.fileio import atomic_write_json
    from twoface.progress import progress_bar

    if dataset is not None and (real or fake):
        raise TwofaceError(None, "give --dataset or --real/--fake, not both")
    with progress_bar(enabled=not quiet and not as_json) as bar:
        if dataset is not None:
            result = evaluate_dataset(dataset, model, split=split, n_boot=boot, progress=bar)
        else:
            result = evaluate_media(list(real or []), [parse_fake(s) for s in fake or []],
                                    model, n_boot=boot, progress=bar)
    if output is not None:
        atomic_write_json(output / "metrics.json", result)
    if as_json:
        print(json.dumps(result, indent=1))
        return
    print_metrics(result)


def cross_method(
    dataset: Annotated[Path, typer.Argument(help="Dataset folder (dataset build).")],
    output: Annotated[Path, typer.Option(
        "-o", "--output", help="Folder for the models and cross_method.json.")],
    model: Annotated[DetectorModel, typer.Option(help=ARCH_HELP)
                     ] = default_of(run_cross_method, "model"),
    steps: Steps = 3000,
    minutes: Minutes = None,
    batch: Annotated[int, typer.Option(min=2, help="Faces per step.")
                     ] = default_of(run_cross_method, "batch"),
    in_domain: Annotated[bool, typer.Option(
        help="Also train on every method, for the seen-method comparison.")
                         ] = default_of(run_cross_method, "in_domain"),
    boot: Boot = default_of(run_cross_method, "n_boot"),
    device: Device = None,
    seed: Seed = 0,
    set_: SetFields = None,
    as_json: Json = False,
    quiet: Quiet = False,
) -> None:
    """Leave-one-method-out table: per method, a model trained without it, scored on
    its fakes (reuses finished models in -o, resumes an interrupted one)."""
    from twoface.fileio import atomic_write_json

    silent = quiet or as_json
    how = training.Run(output=output, steps=steps, minutes=minutes, preview_every=0,
                       device=device, seed=seed, set=set_, quiet=silent)
    result = run_cross_method(dataset, output, model=model, batch=batch, seed=seed,
                              overrides=training.parse_overrides(set_),
                              options=how.options(model), in_domain=in_domain, n_boot=boot,
                              log=None if silent else err.print)
    atomic_write_json(output / "cross_method.json", result)
    if as_json:
        print(json.dumps(result, indent=1))
    elif not quiet:
        print_cross_method(result)
        out.print(f"table in [bold]{escape(str(output / 'cross_method.json'))}[/]")
