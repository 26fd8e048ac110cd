"""Faces into facesets: ``extract`` and ``faces``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from twoface.cli.common import Quiet
from twoface.cli.console import out, warn
from twoface.types import DetectorName

# ExtractOptions' defaults, restated: its module loads PyAV, which the command line must not
# load to start (tests/test_cli.py checks that the two agree).
EXTRACT_DEFAULTS: dict[str, Any] = {
    "size": 256, "every": 1, "detector": "hog", "identity_threshold": 0.6, "min_face": 40,
    "upsample": 0, "detect_every": 5}


def extract(
    inputs: Annotated[list[Path], typer.Argument(help="Videos, images or folders.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Faceset folder.")],
    size: Annotated[int, typer.Option(help="Side of the aligned crops in pixels.")
                    ] = EXTRACT_DEFAULTS["size"],
    every: Annotated[int, typer.Option(min=1, help="Use every Nth video frame.")
                     ] = EXTRACT_DEFAULTS["every"],
    detector: Annotated[DetectorName, typer.Option(
        help="Face detector: hog is fast, cnn (dlib's mmod) finds more but is slow on a CPU.")
                        ] = EXTRACT_DEFAULTS["detector"],
    identity: Annotated[Path | None, typer.Option(
        help="Keep only faces of the person in this image.")] = None,
    identity_threshold: Annotated[float, typer.Option(
        help="Largest embedding distance to --identity still counted as that person.")
                                  ] = EXTRACT_DEFAULTS["identity_threshold"],
    min_face: Annotated[int, typer.Option(help="Ignore faces smaller than this (px).")
                        ] = EXTRACT_DEFAULTS["min_face"],
    upsample: Annotated[int, typer.Option(min=0, max=2, help="Upsample to find small faces.")
                        ] = EXTRACT_DEFAULTS["upsample"],
    detect_every: Annotated[int, typer.Option(
        min=1, help="Run the detector every N frames; track by landmarks in between.")
                            ] = EXTRACT_DEFAULTS["detect_every"],
    no_smooth: Annotated[bool, typer.Option("--no-smooth", help="Keep raw landmarks.")] = False,
    quiet: Quiet = False,
) -> None:
    """Find, track and align every face into a faceset (re-running skips inputs done)."""
    from twoface.data.extract import ExtractOptions
    from twoface.data.extract import extract as run_extract
    from twoface.progress import progress_bar

    opts = ExtractOptions(size=size, every=every, detector=detector, identity=identity,
                          identity_threshold=identity_threshold, min_face=min_face,
                          upsample=upsample, detect_every=detect_every, smooth=not no_smooth)
    with progress_bar(enabled=not quiet) as bar:
        report = run_extract(list(inputs), output, opts, progress=bar)
    if not quiet:
        table = Table(title=f"faceset {escape(str(output))}", show_lines=False)
        for col in ("source", "status", "frames", "faces", "tracks", "note"):
            table.add_column(col)
        for s in report.sources:
            table.add_row(escape(Path(s.path).name), s.status, str(s.frames), str(s.faces),
                          str(s.tracks), escape(s.note))
        out.print(table)
        out.print(f"[bold]{report.frames}[/] frames, [bold]{report.faces}[/] faces, "
                  f"[bold]{report.tracks}[/] tracks")
    for w in report.warnings:
        warn(f"{w} (the faceset is valid but holds no faces from it)")


def faces(
    faceset: Annotated[Path, typer.Argument(help="Faceset folder.")],
    montage: Annotated[Path | None, typer.Option(help="Write a PNG grid of faces.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Summarise a faceset."""
    from twoface.data.faceset import Faceset

    fs = Faceset.load(faceset)
    summary = fs.summary()
    if montage:
        summary["montage"] = str(fs.montage(montage))
    if as_json:
        print(json.dumps(summary, indent=1))
        return
    out.print(f"[bold]{escape(str(faceset))}[/]: {summary['faces']} faces from "
              f"{summary['sources']} source(s) in {summary['tracks']} track(s), "
              f"{summary['size']}px crops")
    for key in ("face_px", "blur", "yaw", "pitch"):
        if summary[key]:
            s = summary[key]
            out.print(f"  {key:8s} min {s['min']:8.1f}  median {s['median']:8.1f}  "
                      f"max {s['max']:8.1f}")
    if montage:
        out.print(f"  montage  {escape(str(montage))}")
