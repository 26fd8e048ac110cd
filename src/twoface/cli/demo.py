"""``demo``: the main job on built-in synthetic data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from twoface.cli.common import Quiet, default_of
from twoface.cli.console import out
from twoface.demo import run_demo


def demo(
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder for the demo run.")
                      ] = Path("demo_out"),
    seconds: Annotated[float, typer.Option(help="Length of each synthetic video.")
                       ] = default_of(run_demo, "seconds"),
    quiet: Quiet = False,
) -> None:
    """The main job on built-in synthetic data; writes DIR/report.html."""
    report = run_demo(output, seconds=seconds, progress=not quiet)
    out.print(f"report: [bold]{escape(str(report))}[/]")
