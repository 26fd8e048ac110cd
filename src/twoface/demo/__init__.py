"""``twoface demo``: the main job on built-in data, as a list of stages.

Each stage reads what earlier stages left in the run folder and adds a section to the report.
Later features (swap, marks, detection) each add a stage here.
"""

from __future__ import annotations

import html
import time
from pathlib import Path

from twoface import __version__
from twoface.demo._common import DemoContext, Stage
from twoface.demo.check import stage_detect, stage_verify
from twoface.demo.make import (
    stage_animate,
    stage_extract,
    stage_generate,
    stage_reenact,
    stage_render,
    stage_swap,
)
from twoface.fileio import atomic_write_text

STAGES: list[tuple[str, Stage]] = [
    ("render synthetic people", stage_render),
    ("extract faces", stage_extract),
    ("face swap", stage_swap),
    ("animate a still", stage_animate),
    ("reenact and one-shot swap", stage_reenact),
    ("generate faces", stage_generate),
    ("verify provenance", stage_verify),
    ("detect fakes", stage_detect),
]


def run_demo(root: str | Path, *, seconds: float = 3.0, progress: bool = True) -> Path:
    """Run every stage into ``root`` and write ``root/report.html``; returns its path."""
    ctx = DemoContext(root=Path(root), seconds=seconds, progress=progress)
    ctx.root.mkdir(parents=True, exist_ok=True)
    for name, stage in STAGES:
        t0 = time.perf_counter()
        stage(ctx)
        ctx.timings[name] = time.perf_counter() - t0
    report = ctx.root / "report.html"
    atomic_write_text(report, _page(ctx))
    return report


def _page(ctx: DemoContext) -> str:
    timing = "".join(f"<tr><td>{html.escape(k)}</td><td>{v:.1f} s</td></tr>"
                     for k, v in ctx.timings.items())
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>twoface demo</title>
<style>
body {{ font: 15px/1.45 system-ui, sans-serif; max-width: 960px; margin: 2em auto; color: #222; }}
table {{ border-collapse: collapse; margin: .5em 0 1em; }}
td, th {{ border: 1px solid #ccc; padding: .25em .6em; text-align: left; }}
img {{ max-width: 100%; image-rendering: auto; border: 1px solid #ddd; }}
</style></head><body>
<h1>twoface demo</h1>
<p>twoface {__version__}. Everything below was made on this machine from built-in synthetic
data.</p>
{"".join(ctx.sections)}
<h2>Timings</h2><table>{timing}</table>
</body></html>
"""
