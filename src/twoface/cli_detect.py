"""Typer commands for detection: ``dataset build``, ``train detector``, ``detect``,
``eval detector``, ``eval cross-method``.

``twoface.cli`` calls :func:`register` with its app and its ``train`` and ``eval`` groups. The
work is done in :mod:`twoface.data.detect_dataset`, :mod:`twoface.train.detector`,
:mod:`twoface.forensics.detect` and :mod:`twoface.evaluate.detector`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from twoface.cli_common import (
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

out = Console(soft_wrap=True)
err = Console(stderr=True, highlight=False)

_MODEL_HELP = "Detector folder (default: the small detector twoface ships)."


def _crfs(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise TwofaceError(None, f"--crf takes numbers like 0,23,40, got {text!r}") from None


def register(app: typer.Typer, train_app: typer.Typer, eval_app: typer.Typer) -> None:
    """Add the detection commands."""
    dataset_app = typer.Typer(help="Build labelled face datasets for detectors.",
                              no_args_is_help=True)
    app.add_typer(dataset_app, name="dataset")

    @dataset_app.command("build")
    def dataset_build(
        output: Annotated[Path, typer.Option("-o", "--output", help="New dataset folder.")],
        real: Annotated[list[Path] | None, typer.Option(
            "--real", help="Real videos, images or folders (repeatable).")] = None,
        fake: Annotated[list[str] | None, typer.Option(
            "--fake", help="METHOD=PATH: fake media made by METHOD (repeatable).")] = None,
        crf: Annotated[str, typer.Option(help="H.264 CRFs every input is re-encoded at.")
                       ] = "0,23,40",
        size: Annotated[int, typer.Option(min=32, help="Crop side in pixels.")] = 128,
        every: Annotated[int, typer.Option(min=1, help="Use every Nth video frame.")] = 5,
        max_frames: Annotated[int, typer.Option(min=1, help="At most N frames per video.")
                              ] = 64,
        val: Annotated[float, typer.Option(min=0.0, max=0.5)] = 0.2,
        test: Annotated[float, typer.Option(min=0.0, max=0.5)] = 0.2,
        seed: Annotated[int, typer.Option()] = 0,
        link: Annotated[list[str] | None, typer.Option(
            "--link", help="STEM,STEM,...: inputs that must share a split, e.g. the two "
            "people of a swap pair (repeatable).")] = None,
        quiet: Annotated[bool, typer.Option("-q", "--quiet")] = False,
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
            out.print(f"{report.rows} crops → [bold]{output / 'manifest.csv'}[/]")
        for s in report.sources:
            if s.note == "no faces found":
                err.print(f"[yellow]warning:[/] {s.path}: no faces found")

    @train_app.command("detector")
    def train_detector(
        dataset: Annotated[Path, typer.Argument(help="Dataset folder (dataset build).")],
        output: Annotated[Path, typer.Option("-o", "--output", help="Model folder.")],
        model: Annotated[str, typer.Option(
            help="cnn, cnn_tiny, selfblend, selfblend_tiny, spectral or fusion.")] = "cnn",
        steps: Steps = 3000,
        minutes: Minutes = None,
        batch: Annotated[int, typer.Option(min=2)] = 32,
        member: Annotated[list[Path] | None, typer.Option(
            "--member", help="fusion: a trained member folder (repeatable; default: train "
            "cnn, selfblend and spectral first).")] = None,
        exclude: Annotated[list[str] | None, typer.Option(
            "--exclude", help="Leave this method out of training (repeatable).")] = None,
        resume: Resume = False,
        save_every: SaveEvery = 500,
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
        from twoface.train.detector import train_detector as run

        opts = train_options(steps=steps, minutes=minutes, save_every=save_every,
                             preview_every=preview_every, device=device, compile_=False,
                             resume=resume, quiet=quiet, description=f"train {model}")
        summary = run(dataset, output, model=model, batch=batch, seed=seed,
                      overrides=parse_overrides(set_), members=list(member or []),
                      exclude=list(exclude or []), options=opts)
        if not quiet:
            out.print(json.dumps(summary, indent=1))
            out.print(f"model in [bold]{output}[/]")

    @app.command("detect")
    def detect(
        media: Annotated[list[Path], typer.Argument(help="Videos, images or folders to judge.")],
        model: Annotated[Path | None, typer.Option("-m", "--model", help=_MODEL_HELP)] = None,
        output: Annotated[Path | None, typer.Option(
            "-o", "--output", help="Folder for report.json + report.html per file.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="One JSON object per file.")
                           ] = False,
        frames: Annotated[int, typer.Option(min=1, help="Frames sampled per video.")] = 32,
        extra: Annotated[int, typer.Option(min=0, help="More frames near high scores.")
                         ] = 16,
        fake_threshold: Annotated[float, typer.Option(min=0.0, max=1.0)] = 0.7,
        real_threshold: Annotated[float, typer.Option(min=0.0, max=1.0)] = 0.3,
        no_provenance: Annotated[bool, typer.Option(
            "--no-provenance", help="Skip the manifest/watermark check.")] = False,
        quiet: Annotated[bool, typer.Option("-q", "--quiet")] = False,
    ) -> None:
        """Judge faces in media: fake / real / uncertain / no-face, provenance first."""
        from twoface.forensics.detect import DetectOptions, scan_files
        from twoface.forensics.detect_report import public, write_report
        from twoface.progress import progress_bar

        if real_threshold > fake_threshold:
            raise TwofaceError(None, "--real-threshold must not exceed --fake-threshold")
        opts = DetectOptions(frames=frames, extra=extra, fake_threshold=fake_threshold,
                             real_threshold=real_threshold, provenance=not no_provenance)
        with progress_bar(enabled=not quiet and not as_json) as bar:
            reports = scan_files(list(media), model, opts, progress=bar)
        used: set[str] = set()
        for rep in reports:
            page = None
            if output is not None:
                stem = Path(rep["file"]).stem
                name = stem if stem not in used else f"{stem}-{len(used)}"
                used.add(name)
                page = write_report(rep, output / name if len(reports) > 1 else output)
            if as_json:
                print(json.dumps(public(rep) | ({"report": str(page)} if page else {})))
                continue
            p = rep["probability_fake"]
            out.print(f"[bold]{rep['file']}[/]: {rep['verdict']}"
                      + (f" (p(fake) = {p:.3f})" if p is not None else "")
                      + (" — certain, by provenance" if rep["certain"] else "")
                      + f"; {rep['faces']} face(s) in {len(rep['tracks'])} track(s)"
                      + (f"; report {page}" if page else ""))
        if model is None and not quiet and any(not r["certain"] and r["probability_fake"]
                                               is not None for r in reports):
            # The shipped model has only seen synthetic people: say so where the verdict is read.
            err.print("note: the default detector was trained on synthetic faces only and is "
                      "not reliable on real footage (see its MODEL_CARD.md); use -m for yours",
                      soft_wrap=True)

    @eval_app.command("detector")
    def eval_detector(
        real: Annotated[list[Path] | None, typer.Option("--real", help="Real media.")] = None,
        fake: Annotated[list[str] | None, typer.Option(
            "--fake", help="METHOD=PATH fake media (repeatable).")] = None,
        dataset: Annotated[Path | None, typer.Option(
            "--dataset", help="Evaluate on a dataset split instead of media.")] = None,
        split: Annotated[str, typer.Option(help="Dataset split to use.")] = "test",
        model: Annotated[Path | None, typer.Option("-m", "--model", help=_MODEL_HELP)] = None,
        boot: Annotated[int, typer.Option(min=0, help="Bootstrap resamples.")] = 500,
        output: Annotated[Path | None, typer.Option(
            "-o", "--output", help="Write metrics.json here.")] = None,
        as_json: Annotated[bool, typer.Option("--json")] = False,
        quiet: Annotated[bool, typer.Option("-q", "--quiet")] = False,
    ) -> None:
        """AUC, AP, EER and TPR@1%FPR with bootstrap intervals, frame and video level."""
        from twoface.data.detect_dataset import parse_fake
        from twoface.evaluate.detector import evaluate_dataset, evaluate_media
        from twoface.fileio import atomic_write_json
        from twoface.progress import progress_bar

        with progress_bar(enabled=not quiet and not as_json) as bar:
            if dataset is not None:
                if real or fake:
                    raise TwofaceError(None, "give --dataset or --real/--fake, not both")
                result = evaluate_dataset(dataset, model, split=split, n_boot=boot,
                                          progress=bar)
            else:
                result = evaluate_media(list(real or []), [parse_fake(s) for s in fake or []],
                                        model, n_boot=boot, progress=bar)
        if output is not None:
            atomic_write_json(output / "metrics.json", result)
        if as_json:
            print(json.dumps(result, indent=1))
            return
        _print_summary(result)

    @eval_app.command("cross-method")
    def eval_cross_method(
        dataset: Annotated[Path, typer.Argument(help="Dataset folder (dataset build).")],
        output: Annotated[Path, typer.Option(
            "-o", "--output", help="Folder for the models and cross_method.json.")],
        model: Annotated[str, typer.Option(
            help="cnn, cnn_tiny, selfblend, selfblend_tiny, spectral or fusion.")] = "cnn",
        steps: Steps = 3000,
        minutes: Minutes = None,
        batch: Annotated[int, typer.Option(min=2)] = 32,
        in_domain: Annotated[bool, typer.Option(
            help="Also train on every method, for the seen-method comparison.")] = True,
        boot: Annotated[int, typer.Option(min=0, help="Bootstrap resamples.")] = 500,
        device: Device = None,
        seed: Seed = 0,
        set_: SetFields = None,
        as_json: Annotated[bool, typer.Option("--json")] = False,
        quiet: Quiet = False,
    ) -> None:
        """Leave-one-method-out table: per method, a model trained without it, scored on
        its fakes (reuses finished models in -o, resumes an interrupted one)."""
        from twoface.evaluate.detector import cross_method
        from twoface.fileio import atomic_write_json

        opts = train_options(steps=steps, minutes=minutes, save_every=500, preview_every=0,
                             device=device, compile_=False, resume=False,
                             quiet=quiet or as_json, description=model)
        result = cross_method(dataset, output, model=model, batch=batch, seed=seed,
                              overrides=parse_overrides(set_), options=opts,
                              in_domain=in_domain, n_boot=boot,
                              log=None if quiet or as_json else err.print)
        atomic_write_json(output / "cross_method.json", result)
        if as_json:
            print(json.dumps(result, indent=1))
        elif not quiet:
            _print_cross_method(result)
            out.print(f"table in [bold]{output / 'cross_method.json'}[/]")


def _auc_cell(block: dict | None, level: str = "frame", ci: bool = False) -> str:
    if not block or not block.get(level) or block[level].get("auc") is None:
        return "–"
    b = block[level]
    lo_hi = b.get("auc_ci") if ci else None
    return f"{b['auc']:.3f}" + (f" ({lo_hi[0]:.2f}–{lo_hi[1]:.2f})" if lo_hi else "")


def _print_cross_method(result: dict) -> None:
    from rich.table import Table

    t = Table(title=f"{result['model']}: frame AUC of each method when unseen, against the "
              f"test split's {result['test_real_videos']} real videos")
    crfs = " / ".join(result["rows"][0]["unseen_all"]["per_crf"])
    for col in ("left out", "fake videos\ntest / all", "unseen\ntest split",
                "unseen, all splits\n(95 % interval)", f"CRF {crfs}\n(all splits)",
                "video AUC\n(all splits)", "seen\ntest split"):
        t.add_column(col)
    for row in result["rows"]:
        every, test = row["unseen_all"], row["unseen_test"]
        crf = "/".join(f"{b['frame']['auc']:.2f}" if b["frame"].get("auc") is not None
                       else "–" for b in every["per_crf"].values())
        t.add_row(row["left_out"],
                  f"{test['fake_videos'] if test else 0} / {every['fake_videos']}",
                  _auc_cell(test), _auc_cell(every, ci=True),
                  crf, _auc_cell(every, "video"),
                  "real faces\nonly" if result["real_only"] else
                  _auc_cell(row["in_domain_test"]))
    out.print(t)


def _fmt(block: dict | None) -> str:
    if not block or block.get("auc") is None:
        return "n/a (needs both classes)"
    ci = block.get("auc_ci")
    return (f"AUC {block['auc']:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")
            + f"  AP {block['ap']:.3f}  "
            f"EER {block['eer']:.3f}  TPR@1%FPR {block['tpr_at_1pct_fpr']:.3f}  "
            f"(n={block['n']}, fake {block['n_fake']})")


def _print_summary(result: dict) -> None:
    if "all" in result:
        for level in ("frame", "video"):
            out.print(f"{level:5s} all      {_fmt(result['all'][level])}")
        for name, block in {**result["per_method"], **{f"crf {k}": v for k, v in
                                                       result["per_crf"].items()}}.items():
            out.print(f"video {name:8s} {_fmt(block['video'])}")
        return
    out.print(f"frame    {_fmt(result['frame'])}")
    out.print(f"video    {_fmt(result['video'])}")
    for name, block in result["per_method"].items():
        out.print(f"video {name:8s} {_fmt(block)}")
    if result["video_fpr_at_threshold"] is not None:
        out.print(f"real videos called fake: {result['video_fpr_at_threshold']:.1%}")
