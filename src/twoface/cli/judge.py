"""``detect``: judge media (fake / real / uncertain / no-face), provenance first.

The work is done in :mod:`twoface.forensics.detect`. This module and that one load torch
only once every input has passed its header checks, so a file that is refused (too many
pixels, not media) is refused at once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from twoface.cli.common import Quiet
from twoface.cli.console import err, out
from twoface.errors import TwofaceError
from twoface.forensics.detect import DetectOptions

DETECT = DetectOptions()
MODEL_HELP = "Detector folder (default: the small detector twoface ships)."


def detect(
    media: Annotated[list[Path], typer.Argument(help="Videos, images or folders to judge.")],
    model: Annotated[Path | None, typer.Option("-m", "--model", help=MODEL_HELP)] = None,
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="Folder for report.json + report.html per file.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per file.")
                       ] = False,
    frames: Annotated[int, typer.Option(min=1, help="Frames sampled per video.")
                      ] = DETECT.frames,
    extra: Annotated[int, typer.Option(min=0, help="More frames near high scores.")
                     ] = DETECT.extra,
    fake_threshold: Annotated[float | None, typer.Option(
        min=0.0, max=1.0, help="p(fake) from which a file is called fake (default: the "
        "detector card's, set for a measured false-positive rate; else 0.7).")] = None,
    real_threshold: Annotated[float | None, typer.Option(
        min=0.0, max=1.0, help="p(fake) up to which a file is called real (between the "
        "two: uncertain; default: the card's, else 0.3).")] = None,
    no_provenance: Annotated[bool, typer.Option(
        "--no-provenance", help="Skip the manifest/watermark check.")] = False,
    quiet: Quiet = False,
) -> None:
    """Judge faces in media: fake / real / uncertain / no-face, provenance first."""
    from twoface.forensics.detect import scan_files
    from twoface.forensics.detect_report import public, write_report
    from twoface.progress import progress_bar

    if (real_threshold is not None and fake_threshold is not None
            and real_threshold > fake_threshold):
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
        out.print(f"[bold]{escape(rep['file'])}[/]: {rep['verdict']}"
                  + (f" (p(fake) = {p:.3f})" if p is not None else "")
                  + (" — certain, by provenance" if rep["certain"] else "")
                  + f"; {rep['faces']} face(s) in {len(rep['tracks'])} track(s)"
                  + (f"; report {escape(str(page))}" if page else ""))
    if not quiet and any(not r["certain"] and r["probability_fake"] is not None
                         for r in reports):
        # A detector's verdict is an estimate: say how far it can be trusted, where it is read.
        err.print(caveat(reports[0]["detector"]["card"]))


def caveat(card: dict) -> str:
    """One line on what a detector-only verdict is worth (from the detector's card)."""
    if not card.get("card"):
        return "note: " + card["note"]
    m = card.get("measured", {})
    fpr = m.get("video_fpr")
    said = (f"it called {fpr:.0%} of {m.get('video_reals', '?')} held-out real videos fake"
            if fpr is not None else "its false-positive rate was not measured")
    return (f"note: detector verdicts are estimates, not proof ({said}; blind spots and "
            "training data in its model card)")
