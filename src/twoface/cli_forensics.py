"""Typer commands for forensics: ``inspect`` (shallowfake edit traces) and ``index``
(near-duplicate search: ``index add``, ``index search``).

``twoface.cli`` calls :func:`register` on its app; the work is done in
:mod:`twoface.forensics.shallow` and :mod:`twoface.forensics.index`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add the forensics commands to ``app``."""
    _register_index(app)

    @app.command()
    def inspect(
        video: Annotated[Path, typer.Argument(help="Video to examine.")],
        as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")
                           ] = False,
        output: Annotated[Path | None, typer.Option(
            "-o", "--output", help="Folder to write report.json and report.html into.")
                                    ] = None,
        min_confidence: Annotated[float, typer.Option(
            min=0.0, max=1.0, help="Hide findings below this confidence in the table.")
                                  ] = 0.0,
        max_frames: Annotated[int | None, typer.Option(
            min=2, help="Examine only the first N frames (long videos).")] = None,
    ) -> None:
        """Look for traces of plain editing: repeated or dropped frames, cuts, black bars,
        odd metadata, speed changes. Each finding has a time span, a confidence and evidence.
        """
        import json

        from rich.console import Console
        from rich.table import Table

        from twoface.fileio import atomic_write_json
        from twoface.forensics.shallow import inspect_video

        report = inspect_video(video, max_frames=max_frames)
        data = report.to_dict()
        if output is not None:
            from twoface.forensics.shallow_report import write_html

            atomic_write_json(output / "report.json", data)
            write_html(report, output, min_confidence=min_confidence)
        if as_json:
            print(json.dumps(data, indent=1))
            return
        console = Console()
        shown = [f for f in report.findings if f.confidence >= min_confidence]
        console.print(f"[bold]{video}[/]: {report.frames} frames, {report.duration:.2f} s, "
                      f"{len(report.findings)} finding(s)")
        if shown:
            table = Table(show_lines=False)
            for col in ("kind", "start", "end", "conf", "evidence"):
                table.add_column(col)
            for f in shown:
                ev = ", ".join(f"{k}={v}" for k, v in f.evidence.items())
                table.add_row(f.kind, f"{f.start:.2f}", f"{f.end:.2f}", f"{f.confidence:.2f}",
                              ev, style="bold" if f.confidence >= 0.5 else None)
            console.print(table)
        if output is not None:
            console.print(f"report: [bold]{output / 'report.html'}[/] (and report.json)")


_INDEX_HELP = "Index file (default: $TWOFACE_INDEX, else index.sqlite in the user data folder)."


def _register_index(app: typer.Typer) -> None:
    """The ``index`` group: build a near-duplicate index of videos and search it."""
    index_app = typer.Typer(help="Trace a clip to the indexed video it was cut from.",
                            no_args_is_help=True)
    app.add_typer(index_app, name="index")

    @index_app.command("add")
    def index_add(
        paths: Annotated[list[Path], typer.Argument(help="Videos or folders to index.")],
        index: Annotated[Path | None, typer.Option("--index", help=_INDEX_HELP)] = None,
        quiet: Annotated[bool, typer.Option("-q", "--quiet")] = False,
    ) -> None:
        """Hash videos into the index (files already indexed and unchanged are skipped)."""
        from rich.console import Console

        from twoface.forensics.index import add_videos, default_index_path
        from twoface.media import collect_media, media_kind
        from twoface.progress import progress_bar

        db = index or default_index_path()
        videos = [p for p in collect_media(paths) if media_kind(p) == "video"]
        with progress_bar(enabled=not quiet) as bar:
            report = add_videos(videos, db, progress=bar)
        if not quiet:
            Console().print(f"[bold]{db}[/]: {len(report.added)} added ({report.frames} "
                            f"frames), {len(report.skipped)} already indexed")

    @index_app.command("search")
    def index_search(
        video: Annotated[Path, typer.Argument(help="Clip to trace.")],
        index: Annotated[Path | None, typer.Option("--index", help=_INDEX_HELP)] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print matches as JSON.")
                           ] = False,
        top: Annotated[int, typer.Option(min=1, help="Show at most this many matches.")] = 5,
    ) -> None:
        """Find the indexed videos this clip was cut from (even sped up, mirrored, cropped)."""
        import json

        from rich.console import Console
        from rich.table import Table

        from twoface.forensics.index import default_index_path, search

        matches = search(video, index or default_index_path(), top=top)
        if as_json:
            print(json.dumps({"matches": [m.to_dict() for m in matches]}, indent=1))
            return
        console = Console()
        if not matches:
            console.print(f"[bold]{video}[/]: no indexed source found")
            return
        table = Table(title=f"sources of {video}")
        table.add_column("file", overflow="fold")
        for col in ("score", "query s", "source s", "speed", "mirrored"):
            table.add_column(col)
        for m in matches:
            table.add_row(m.file, f"{m.score:.2f}", f"{m.query_start:.2f}-{m.query_end:.2f}",
                          f"{m.source_start:.2f}-{m.source_end:.2f}", f"{m.speed:.2f}",
                          "yes" if m.mirrored else "no")
        console.print(table)
