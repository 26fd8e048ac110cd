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
    generated: list[Path] = field(default_factory=list)  # media the demo made (all marked)
    sections: list[str] = field(default_factory=list)  # HTML fragments for the report
    timings: dict[str, float] = field(default_factory=dict)


Stage = Callable[[DemoContext], None]

# Two synthetic people; seeds chosen once so the demo is the same on every machine.
IDENTITIES = {"alice": 11, "bob": 23}


def stage_render(ctx: DemoContext) -> None:
    """Render each synthetic identity talking and turning its head (marked: twoface made it)."""
    from twoface.data.synthetic import Identity, render_sequence
    from twoface.provenance import MarkedVideoWriter, Provenance

    rows = []
    for name, seed in IDENTITIES.items():
        path = ctx.root / "videos" / f"{name}.mp4"
        renders = render_sequence(Identity.random(seed), round(ctx.seconds * 25), fps=25,
                                  size=256, seed=seed)
        prov = Provenance(method="synthetic")
        with MarkedVideoWriter(path, 25, prov) as writer:
            for r in renders:
                writer.write(r.image)
        ctx.videos[name] = path
        ctx.generated.append(path)
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


def stage_swap(ctx: DemoContext) -> None:
    """Train the light swap model on alice ↔ bob briefly, swap alice's video into bob, measure.

    A CPU-sized run (a few hundred faces a side, under two minutes): enough to show the
    pipeline and its numbers end to end, not a convincing swap.
    """
    import cv2
    import numpy as np

    from twoface.apply.swap import SwapOptions, SwapPipeline
    from twoface.metrics.report import png_data_uri, summary_table
    from twoface.metrics.swap import evaluate_swap
    from twoface.train.loop import TrainOptions
    from twoface.train.swap import train_swap

    run = ctx.root / "models" / "swap_alice_bob"
    steps = max(30, int(40 * ctx.seconds))
    # Narrower than "light" so that the short CPU budget buys more steps.
    result = train_swap(ctx.facesets["alice"], ctx.facesets["bob"], run, model="light",
                        batch=8, overrides={"dec_channels": 64, "latent": 128},
                        options=TrainOptions(steps=steps, save_every=steps, preview_every=steps,
                                             progress=ctx.progress, resume=True,
                                             description="train swap"))
    out = ctx.root / "videos" / "alice_as_bob.mp4"
    ctx.generated.append(out)
    report = SwapPipeline.from_pretrained(run)(ctx.videos["alice"], out, SwapOptions(),
                                               progress=ctx.progress)
    metrics = evaluate_swap(out, ctx.videos["alice"], ctx.facesets["bob"], every=5,
                            n_synthetic=4, examples=2)
    preview = cv2.cvtColor(cv2.imread(str(run / "samples" / "latest.png")), cv2.COLOR_BGR2RGB)
    shots = "".join(f"<img alt='frame {i}' src='{png_data_uri(np.hstack([a, b]), 512)}'>"
                    for i, a, b in metrics["examples"])
    ctx.sections.append(
        f"<h2>3. Face swap (autoencoder)</h2><p>Light model trained {result.step} steps "
        + (f"({result.examples_per_s:.0f} faces/s on this machine)" if result.seconds > 0
           and result.step > result.start_step else "(trained in an earlier run)")
        + "; alice's video converted "
        f"with bob's decoder: {report.faces} faces in {report.frames} frames, "
        f"{_link(ctx, out)}, watermarked and signed.</p>"
        f"<p>Preview: alice, alice→alice, alice→bob, bob, bob→bob, bob→alice</p>"
        f"<img alt='training preview' src='{png_data_uri(preview, 512)}'>"
        f"<h3>Metrics</h3>{summary_table(metrics['summary'])}"
        f"<p>source | swapped</p>{shots}")


def stage_verify(ctx: DemoContext) -> None:
    """Check the marks on everything the demo made, and that the watermark survives a
    re-encode that strips the manifest (what an upload platform does)."""
    from twoface.media import VideoWriter, iter_frames, probe
    from twoface.provenance import verify_file

    stripped = ctx.root / "videos" / "alice_as_bob_reuploaded.mp4"
    source = ctx.generated[-1]
    with VideoWriter(stripped, probe(source).fps, crf=28) as writer:
        for frame in iter_frames(source):
            writer.write(frame.image)  # plain H.264 at CRF 28: no manifest survives
    rows = []
    for path in [*ctx.generated, stripped]:
        rep = verify_file(path)
        wm = rep["watermark"]
        payload = wm.get("payload") or {}
        rows.append(
            f"<tr><td>{_link(ctx, path)}</td><td>{html.escape(rep['manifest']['state'])}</td>"
            f"<td>{'yes' if wm['detected'] else 'no'} ({wm['confidence']:.2f})</td>"
            f"<td>{html.escape(str(payload.get('method', '')))}</td>"
            f"<td>{html.escape(str(rep['verdict']))}</td></tr>")
    ctx.sections.append(
        "<h2>4. Provenance</h2><p>Every file the demo generated carries an invisible watermark "
        "and a signed C2PA manifest (<code>twoface verify</code>). The last row is the swapped "
        "video re-encoded at CRF 28 by a plain writer, as an upload platform would: the "
        "manifest is gone, the watermark is still read.</p><table><tr><th>file</th>"
        "<th>manifest</th><th>watermark (confidence)</th><th>method</th><th>verdict</th></tr>"
        + "".join(rows) + "</table>")


STAGES: list[tuple[str, Stage]] = [
    ("render synthetic people", stage_render),
    ("extract faces", stage_extract),
    ("face swap", stage_swap),
    ("verify provenance", stage_verify),
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
