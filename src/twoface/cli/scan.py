"""``scan``: check a collection of media, one Parquet row per file, resumable.

The work is done in :mod:`twoface.scan`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from twoface.cli.common import Device, Quiet
from twoface.cli.console import err, out
from twoface.errors import TwofaceError

CHECK_NAMES = ("provenance", "detect", "inspect")


def _checks(text: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(v.strip() for v in text.split(",") if v.strip()))
    bad = [n for n in names if n not in CHECK_NAMES]
    if bad or not names:
        raise TwofaceError(None, f"--checks takes some of {','.join(CHECK_NAMES)}, got "
                           f"{text!r}")
    return names


def scan(
    inputs: Annotated[list[Path], typer.Argument(
        help="Files, folders (searched recursively for media) or .csv/.txt lists of paths.")],
    output: Annotated[Path, typer.Option(
        "-o", "--output", help="Results folder (parts/*.parquet, summary.html, "
        "summary.json, reports/); rerunning into it skips the files already done.")],
    checks: Annotated[str, typer.Option(
        help="Checks per file, comma-separated.")] = ",".join(CHECK_NAMES),
    workers: Annotated[int | None, typer.Option(
        min=1, help="Worker processes (default: the CPU count; 1 runs in this process).")
                       ] = None,
    ray: Annotated[str | None, typer.Option(
        "--ray", help="Run on Ray: 'local' (start one here), 'auto' (this machine's "
        "cluster) or a cluster address. Needs `pip install twoface[ray]`.")] = None,
    device: Device = None,
    match: Annotated[Path | None, typer.Option(
        "--match", help="Hash list (a PDQ hash per line, optional label): flag files whose "
        "PDQ/vPDQ hashes match an entry.")] = None,
    index: Annotated[Path | None, typer.Option(
        "--index", help="Near-duplicate index (`twoface index`): the inspect check looks up "
        "each video's source in it and measures crops, mirrors, speed, cuts and overlays "
        "against that source.")] = None,
    model: Annotated[Path | None, typer.Option(
        "-m", "--model", help="Detector folder (default: the one twoface ships).")] = None,
    frames: Annotated[int, typer.Option(min=1, help="Frames sampled per video by detect.")
                      ] = 32,
    no_reports: Annotated[bool, typer.Option(
        "--no-reports", help="Skip the per-file detect reports (faster).")] = False,
    quiet: Quiet = False,
) -> None:
    """Scan a collection: provenance, detection and shallowfake checks, PDQ/vPDQ hashes,
    one Parquet row per file, an HTML and a JSON summary. Resumable: each file once."""
    from twoface.progress import progress_bar
    from twoface.scan import ScanConfig, run_scan

    names = _checks(checks)
    if index is not None:  # a bad index is one error now, not one per file
        from twoface.forensics.index import connect

        connect(index, create=False).close()
    n = workers or (os.cpu_count() or 1)
    dev = device or "cpu"  # CPU-first: a GPU only when asked for
    config = ScanConfig(results=str(output), checks=names,  # type: ignore[arg-type]
                        detector=None if model is None else str(model), frames=frames,
                        extra=min(16, frames // 2), device=dev,
                        # One torch thread per worker: the detector's batches are a few
                        # faces, too small to split well, and on busy cores two threads
                        # made a file 3x slower (BENCHMARKS.md); workers scale instead.
                        threads=1,
                        match_list=None if match is None else str(match),
                        index=None if index is None else str(index),
                        reports=not no_reports)
    try:
        with progress_bar(enabled=not quiet) as bar:
            summary = run_scan(inputs, config, workers=n, ray=ray, progress=bar)
    except KeyboardInterrupt:
        err.print(f"interrupted: the finished rows are kept in {escape(str(output))}; run "
                  "the same command again to go on")
        raise typer.Exit(130) from None
    if quiet:
        return
    run = summary["run"]
    verdicts = ", ".join(f"{k} {v}" for k, v in sorted(summary["verdicts"].items()))
    rate = run["files_per_minute"]
    out.print(f"[bold]{escape(str(output))}[/]: {summary['rows']} file(s) ({verdicts}); this "
              f"run checked {run['checked']}" + (f" at {rate:.1f} files/min" if rate else "")
              + f", skipped {run['skipped_done']} done and {len(run['duplicates'])} "
              f"duplicate(s); {len(summary['matches'])} hash-list match(es)")
    out.print(f"summary: [bold]{escape(str(output / 'summary.html'))}[/]")
