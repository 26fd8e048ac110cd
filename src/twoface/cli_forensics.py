"""Typer commands for forensics: ``inspect`` (shallowfake edit traces).

``twoface.cli`` calls :func:`register` on its app; the work is done in
:mod:`twoface.forensics.shallow`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add the forensics commands to ``app``."""

    @app.command()
    def inspect(
        video: Annotated[Path, typer.Argument(help="Video to examine.")],
        as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")
                           ] = False,
        output: Annotated[Path | None, typer.Option(
            "-o", "--output", help="Folder to write report.json into.")] = None,
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
            atomic_write_json(output / "report.json", data)
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
            console.print(f"report: [bold]{output / 'report.json'}[/]")
