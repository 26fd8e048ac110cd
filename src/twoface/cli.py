"""The ``twoface`` command line: one Typer app, one subcommand per job.

Commands only parse arguments and call the library; problems with user input arrive as
:class:`~twoface.errors.TwofaceError` and leave as one line on stderr with exit code 2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from twoface.cli_detect import register as register_detect
from twoface.cli_forensics import register as register_forensics
from twoface.cli_gan import register as register_gan
from twoface.cli_motion import register as register_motion
from twoface.cli_provenance import register as register_provenance
from twoface.cli_swap import register as register_swap
from twoface.errors import TwofaceError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="twoface: make, mark, detect and measure synthetic faces, offline.")
out = Console()
err = Console(stderr=True, soft_wrap=True, highlight=False)
# Groups that several model kinds add commands to (``train swap``, ``eval swap``, ...).
train_app = typer.Typer(help="Train a model.", no_args_is_help=True)
eval_app = typer.Typer(help="Measure generated media.", no_args_is_help=True)
app.add_typer(train_app, name="train")
app.add_typer(eval_app, name="eval")


@app.command()
def extract(
    inputs: Annotated[list[Path], typer.Argument(help="Videos, images or folders.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Faceset folder.")],
    size: Annotated[int, typer.Option(help="Side of the aligned crops in pixels.")] = 256,
    every: Annotated[int, typer.Option(min=1, help="Use every Nth video frame.")] = 1,
    detector: Annotated[str, typer.Option(help="hog (fast) or cnn (dlib mmod, slow on CPU).")
                        ] = "hog",
    identity: Annotated[Path | None, typer.Option(
        help="Keep only faces of the person in this image.")] = None,
    identity_threshold: Annotated[float, typer.Option(
        help="Largest embedding distance to --identity still counted as that person.")] = 0.6,
    min_face: Annotated[int, typer.Option(help="Ignore faces smaller than this (px).")] = 40,
    upsample: Annotated[int, typer.Option(min=0, max=2, help="Upsample to find small faces.")
                        ] = 0,
    detect_every: Annotated[int, typer.Option(min=1, help="Run the detector every N frames; "
                                              "track by landmarks in between.")] = 5,
    no_smooth: Annotated[bool, typer.Option("--no-smooth", help="Keep raw landmarks.")] = False,
    quiet: Annotated[bool, typer.Option("-q", "--quiet")] = False,
) -> None:
    """Find, track and align every face into a faceset (re-running skips inputs done)."""
    from twoface.data.extract import ExtractOptions
    from twoface.data.extract import extract as run_extract
    from twoface.progress import progress_bar

    if detector not in ("hog", "cnn"):
        raise TwofaceError(None, f"--detector must be hog or cnn, not {detector!r}")
    opts = ExtractOptions(size=size, every=every, detector=detector,  # type: ignore[arg-type]
                          identity=identity, identity_threshold=identity_threshold,
                          min_face=min_face, upsample=upsample,
                          detect_every=detect_every, smooth=not no_smooth)
    with progress_bar(enabled=not quiet) as bar:
        report = run_extract(list(inputs), output, opts, progress=bar)
    table = Table(title=f"faceset {output}", show_lines=False)
    for col in ("source", "status", "frames", "faces", "tracks", "note"):
        table.add_column(col)
    for s in report.sources:
        table.add_row(Path(s.path).name, s.status, str(s.frames), str(s.faces), str(s.tracks),
                      s.note)
    if not quiet:
        out.print(table)
        out.print(f"[bold]{report.frames}[/] frames, [bold]{report.faces}[/] faces, "
                  f"[bold]{report.tracks}[/] tracks")
    for w in report.warnings:
        err.print(f"[yellow]warning:[/] {escape(w)} "
                  "(the faceset is valid but holds no faces from it)")


@app.command()
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
    out.print(f"[bold]{faceset}[/]: {summary['faces']} faces from {summary['sources']} "
              f"source(s) in {summary['tracks']} track(s), {summary['size']}px crops")
    for key in ("face_px", "blur", "yaw", "pitch"):
        if summary[key]:
            s = summary[key]
            out.print(f"  {key:8s} min {s['min']:8.1f}  median {s['median']:8.1f}  "
                      f"max {s['max']:8.1f}")
    if montage:
        out.print(f"  montage  {montage}")


@app.command()
def demo(
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder for the demo run.")
                      ] = Path("demo_out"),
    seconds: Annotated[float, typer.Option(help="Length of each synthetic video.")] = 3.0,
    quiet: Annotated[bool, typer.Option("-q", "--quiet")] = False,
) -> None:
    """The main job on built-in synthetic data; writes DIR/report.html."""
    from twoface.demo import run_demo

    report = run_demo(output, seconds=seconds, progress=not quiet)
    out.print(f"report: [bold]{report}[/]")


# Jobs whose commands live beside their packages; each module imports only typer at the top.
register_provenance(app)
register_swap(app, train_app, eval_app)
register_detect(app, train_app, eval_app)
register_motion(app, train_app, eval_app)
register_gan(app, train_app, eval_app)
register_forensics(app)


def main() -> None:
    """Console entry point: user errors print one line, never a traceback."""
    try:
        app()
    except TwofaceError as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        sys.exit(2)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
