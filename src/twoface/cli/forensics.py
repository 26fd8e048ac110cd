"""Forensics: ``inspect`` (traces of plain editing) and the near-duplicate ``index``
(``index add``, ``index search``).

The work is done in :mod:`twoface.forensics.shallow` and :mod:`twoface.forensics.index`; the
first loads PyAV, so it is imported when ``inspect`` runs, not when the command line starts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from twoface.cli.common import Quiet, default_of
from twoface.cli.console import out
from twoface.errors import TwofaceError
from twoface.forensics._phash import HASHERS
from twoface.forensics.index import search

INDEX_HELP = "Index file (default: $TWOFACE_INDEX, else index.sqlite in the user data folder)."
Index = Annotated[Path | None, typer.Option("--index", help=INDEX_HELP)]


def inspect(
    media: Annotated[Path, typer.Argument(help="Video or still image to examine.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")
                       ] = False,
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="Folder to write report.json and report.html into.")] = None,
    min_confidence: Annotated[float, typer.Option(
        min=0.0, max=1.0, help="Hide findings below this confidence in the table.")] = 0.0,
    max_frames: Annotated[int | None, typer.Option(
        min=2, help="Examine only the first N frames (long videos).")] = None,
    against: Annotated[Path | None, typer.Option(
        "--against", help="The video this clip was made from, when known: its crop, "
        "mirror, speed changes, cuts and overlays are then measured against it.")] = None,
    index: Annotated[Path | None, typer.Option(
        "--index", help="Search this near-duplicate index (`twoface index add`) for the "
        "clip's source and compare with the best match, as --against does.")] = None,
) -> None:
    """Look for traces of plain editing: speed changes, frozen frames, cuts, enlargement
    (crops), burned-in overlays, odd metadata, re-compression. Each finding has a time
    span, a confidence and evidence; traits of the source (frame-rate conversion, black
    bars) are listed apart as context. A still image gets the checks that apply to stills.
    With the clip's source (--against, or found with --index) the edits are measured
    instead of guessed.
    """
    from twoface.fileio import atomic_write_json
    from twoface.forensics.shallow import inspect as run_inspect

    if against is not None and index is not None:
        raise TwofaceError(None, "give either --against or --index, not both")
    report = run_inspect(media, max_frames=max_frames, against=against, index=index)
    data = report.to_dict()
    if output is not None:
        from twoface.forensics.shallow_report import write_html

        atomic_write_json(output / "report.json", data)
        write_html(report, output, min_confidence=min_confidence)
    if as_json:
        print(json.dumps(data, indent=1))
        return
    what = ("image" if report.media == "image"
            else f"{report.frames} frames, {report.duration:.2f} s")
    out.print(f"[bold]{escape(str(media))}[/]: {what}, {len(report.edits)} finding(s), "
              f"{len(report.context)} source trait(s)")
    for title, items in (("findings", report.edits), ("context: traits of the source, "
                                                      "not edits", report.context)):
        shown = [f for f in items if f.confidence >= min_confidence]
        if not shown:
            continue
        table = Table(title=title, show_lines=False)
        for col in ("kind", "start", "end", "conf", "evidence"):
            table.add_column(col)
        for f in shown:
            ev = ", ".join(f"{k}={v}" for k, v in f.evidence.items())
            strong = f.confidence >= 0.5 and not f.is_context
            table.add_row(f.kind, f"{f.start:.2f}", f"{f.end:.2f}", f"{f.confidence:.2f}",
                          escape(ev), style="bold" if strong else ("dim" if f.is_context
                                                                   else None))
        out.print(table)
    if report.media == "image":
        out.print("checked: " + "; ".join(report.checks))
    if output is not None:
        out.print(f"report: [bold]{escape(str(output / 'report.html'))}[/] (and report.json)")


def index_add(
    paths: Annotated[list[Path], typer.Argument(help="Videos or folders to index.")],
    index: Index = None,
    hash_name: Annotated[str | None, typer.Option(
        "--hash", help="Frame hash of a new index: own (twoface's, default) or pdq (the "
        "PDQ that hash-sharing programmes use); an existing index keeps its own.")] = None,
    quiet: Quiet = False,
) -> None:
    """Hash videos into the index (files already indexed and unchanged are skipped)."""
    from twoface.forensics.index import add_videos, default_index_path
    from twoface.media import collect_media, media_kind
    from twoface.progress import progress_bar

    db = index or default_index_path()
    hasher = next((h for h in HASHERS if h == hash_name), None)
    if hash_name is not None and hasher is None:
        raise TwofaceError(None, f"--hash takes one of {', '.join(HASHERS)}, got {hash_name!r}")
    videos = [p for p in collect_media(paths) if media_kind(p) == "video"]
    with progress_bar(enabled=not quiet) as bar:
        report = add_videos(videos, db, progress=bar, hasher=hasher)
    if not quiet:
        out.print(f"[bold]{escape(str(db))}[/]: {len(report.added)} added ({report.frames} "
                  f"frames), {len(report.skipped)} already indexed")


def index_search(
    video: Annotated[Path, typer.Argument(help="Clip to trace.")],
    index: Index = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print matches as JSON.")] = False,
    top: Annotated[int, typer.Option(min=1, help="Show at most this many matches.")
                   ] = default_of(search, "top"),
) -> None:
    """Find the indexed videos this clip was cut from (even sped up, mirrored, cropped)."""
    from twoface.forensics.index import default_index_path

    matches = search(video, index or default_index_path(), top=top)
    if as_json:
        print(json.dumps({"matches": [m.to_dict() for m in matches]}, indent=1))
        return
    if not matches:
        out.print(f"[bold]{escape(str(video))}[/]: no indexed source found")
        return
    table = Table(title=f"sources of {escape(str(video))}")
    table.add_column("file", overflow="fold")
    for col in ("score", "query s", "source s", "speed", "mirrored"):
        table.add_column(col)
    for m in matches:
        table.add_row(escape(m.file), f"{m.score:.2f}", f"{m.query_start:.2f}-{m.query_end:.2f}",
                      f"{m.source_start:.2f}-{m.source_end:.2f}", f"{m.speed:.2f}",
                      "yes" if m.mirrored else "no")
    out.print(table)
