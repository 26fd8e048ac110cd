"""``twoface demo``: the main job on built-in data, as a list of stages.

Each stage reads what earlier stages left in the run folder and adds a section to the report.
Later features (swap, marks, detection) each add a stage here.
"""

from __future__ import annotations

import base64
import html
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from twoface import __version__
from twoface.fileio import atomic_write_text


@dataclass
class DemoContext:
    root: Path
    seconds: float
    progress: bool
    videos: dict[str, Path] = field(default_factory=dict)
    facesets: dict[str, Path] = field(default_factory=dict)
    sections: list[str] = field(default_factory=list)  # HTML fragments for the report
    timings: dict[str, float] = field(default_factory=dict)


Stage = Callable[[DemoContext], None]

# Two synthetic people; seeds chosen once so the demo is the same on every machine.
IDENTITIES = {"alice": 11, "bob": 23}


def stage_render(ctx: DemoContext) -> None:
    """Render each synthetic identity talking and turning its head."""
    from twoface.data.synthetic import Identity, write_talking_video

    rows = []
    for name, seed in IDENTITIES.items():
        path = ctx.root / "videos" / f"{name}.mp4"
        renders = write_talking_video(path, Identity.random(seed), seconds=ctx.seconds,
                                      fps=25, size=256, seed=seed)
        ctx.videos[name] = path
        rows.append(f"<tr><td>{name}</td><td>seed {seed}</td><td>{len(renders)} frames</td>"
                    f"<td>{_link(ctx, path)}</td></tr>")
    ctx.sections.append("<h2>1. Synthetic people</h2><p>Procedurally rendered 3D heads with "
                        "exact ground-truth landmarks: nobody real is shown.</p><table>"
                        + "".join(rows) + "</table>")


def stage_extract(ctx: DemoContext) -> None:
    """Extract each video into its own faceset and show montages and statistics."""
    from twoface.data.faceset import Faceset
    from twoface.faces.dlib_models import DlibModels
    from twoface.faces.extract import extract
    from twoface.progress import progress_bar

    models = DlibModels()
    parts = ["<h2>2. Face extraction</h2><table><tr><th>faceset</th><th>frames</th>"
             "<th>faces</th><th>tracks</th><th>face px (median)</th><th>|yaw| max</th>"
             "<th>blur (median)</th></tr>"]
    montages = []
    for name, video in ctx.videos.items():
        out = ctx.root / "facesets" / name
        with progress_bar(enabled=ctx.progress) as bar:
            report = extract([video], out, models=models, progress=bar)
        fs = Faceset.load(out)
        s = fs.summary()
        ctx.facesets[name] = out
        yaw = max(abs(s["yaw"].get("min", 0)), abs(s["yaw"].get("max", 0))) if s["yaw"] else 0
        parts.append(
            f"<tr><td>{name}</td><td>{report.frames}</td><td>{report.faces}</td>"
            f"<td>{report.tracks}</td><td>{s['face_px'].get('median', 0):.0f}</td>"
            f"<td>{yaw:.0f}°</td><td>{s['blur'].get('median', 0):.0f}</td></tr>")
        if fs.faces:
            montages.append((name, fs.montage(ctx.root / f"montage_{name}.png", limit=32)))
    parts.append("</table>")
    for name, png in montages:
        parts.append(f"<h3>{name}</h3>{_img(png)}")
    ctx.sections.append("".join(parts))


STAGES: list[tuple[str, Stage]] = [
    ("render synthetic people", stage_render),
    ("extract faces", stage_extract),
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


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(path.name)}" src="data:image/png;base64,{data}">'


def _link(ctx: DemoContext, path: Path) -> str:
    rel = path.relative_to(ctx.root).as_posix()
    return f'<a href="{html.escape(rel)}">{html.escape(rel)}</a>'
