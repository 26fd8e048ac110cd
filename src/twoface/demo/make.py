"""Demo stages that make media: synthetic people, faces, a swap, an animation, GAN faces."""

from __future__ import annotations

from typing import TYPE_CHECKING

from twoface.demo._common import IDENTITIES, DemoContext, img, link

if TYPE_CHECKING:
    from pathlib import Path

    import numpy as np


def _training_preview(run: Path) -> np.ndarray:
    """The RGB preview image a training run saved last."""
    import cv2

    image = cv2.imread(str(run / "samples" / "latest.png"))
    assert image is not None  # fit() writes one at its last step
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def stage_render(ctx: DemoContext) -> None:
    """Render each synthetic identity talking and turning its head (marked: twoface made it)."""
    from twoface.provenance import MarkedVideoWriter, Provenance
    from twoface.synth import Identity, render_sequence

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
                    f"<td>{link(ctx, path)}</td></tr>")
    ctx.sections.append("<h2>1. Synthetic people</h2><p>Procedurally rendered 3D heads with "
                        "exact ground-truth landmarks: nobody real is shown.</p><table>"
                        + "".join(rows) + "</table>")


def stage_extract(ctx: DemoContext) -> None:
    """Extract each video into its own faceset and show montages and statistics."""
    from twoface.data.extract import extract
    from twoface.data.faceset import Faceset
    from twoface.faces.dlib_models import DlibModels
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
        parts.append(f"<h3>{name}</h3>{img(png)}")
    ctx.sections.append("".join(parts))


def stage_swap(ctx: DemoContext) -> None:
    """Train the light swap model on alice ↔ bob briefly, swap alice's video into bob, measure.

    A CPU-sized run (a few hundred faces a side, under two minutes): enough to show the
    pipeline and its numbers end to end, not a convincing swap.
    """
    import numpy as np

    from twoface.apply.swap import SwapOptions, SwapPipeline
    from twoface.evaluate.swap import evaluate_swap
    from twoface.report import png_data_uri, summary_table
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
    ctx.fakes["swap"] = out
    report = SwapPipeline.from_pretrained(run)(ctx.videos["alice"], out, SwapOptions(),
                                               progress=ctx.progress)
    metrics = evaluate_swap(out, ctx.videos["alice"], ctx.facesets["bob"], every=5,
                            n_synthetic=4, examples=2)
    preview = _training_preview(run)
    shots = "".join(f"<img alt='frame {i}' src='{png_data_uri(np.hstack([a, b]), 512)}'>"
                    for i, a, b in metrics["examples"])
    ctx.sections.append(
        f"<h2>3. Face swap (autoencoder)</h2><p>Light model trained {result.step} steps "
        + (f"({result.examples_per_s:.0f} faces/s on this machine)" if result.seconds > 0
           and result.step > result.start_step else "(trained in an earlier run)")
        + "; alice's video converted "
        f"with bob's decoder: {report.faces} faces in {report.frames} frames, "
        f"{link(ctx, out)}, watermarked and signed.</p>"
        f"<p>Preview: alice, alice→alice, alice→bob, bob, bob→bob, bob→alice</p>"
        f"<img alt='training preview' src='{png_data_uri(preview, 512)}'>"
        f"<h3>Metrics</h3>{summary_table(metrics['summary'])}"
        f"<p>source | swapped</p>{shots}")


def stage_animate(ctx: DemoContext) -> None:
    """First-order motion: train a tiny motion model on clips cut from alice's and bob's
    videos, then animate a still of alice with bob's video (marked like everything else).

    Seconds of CPU training at 64 px: the motion is visible, the faces are blurry.
    """

    from twoface.apply.animate import AnimateOptions, AnimatePipeline
    from twoface.data.clips import make_clips
    from twoface.media import read_frame, write_image
    from twoface.report import png_data_uri
    from twoface.train.loop import TrainOptions
    from twoface.train.motion import DEMO, train_motion

    clips = ctx.root / "clips"
    make_clips([ctx.videos["alice"], ctx.videos["bob"]], clips, size=64)
    run = ctx.root / "models" / "motion"
    steps = max(60, int(70 * ctx.seconds))
    result = train_motion([clips], run, batch=4, overrides=DEMO,
                          options=TrainOptions(steps=steps, save_every=steps,
                                               preview_every=steps, progress=ctx.progress,
                                               resume=True, description="train motion"))
    still = ctx.root / "videos" / "alice_still.png"
    write_image(still, read_frame(ctx.videos["alice"], 0.0).image)
    out = ctx.root / "videos" / "alice_driven_by_bob.mp4"
    report = AnimatePipeline.from_pretrained(run)(still, ctx.videos["bob"], out,
                                                  AnimateOptions(out_size=128))
    ctx.generated.append(out)
    ctx.fakes["animate"] = out
    preview = _training_preview(run)
    ctx.sections.append(
        f"<h2>4. Animation (first-order motion)</h2><p>A tiny motion model trained "
        f"{result.step} steps on 64 px clips of both people; a still of alice moved by bob's "
        f"video: {report.frames} frames, {link(ctx, out)}, watermarked and signed.</p>"
        "<p>Preview: source, driving, keypoints, prediction, occlusion</p>"
        f"<img alt='motion preview' src='{png_data_uri(preview, 640)}'>")


def stage_generate(ctx: DemoContext) -> None:
    """A GAN trained for seconds on the two people's faces: a grid of new faces, a latent
    walk video, and the generation metrics (all outputs marked)."""
    from twoface.apply.generate import GanPipeline
    from twoface.evaluate.gan import evaluate_gan
    from twoface.report import summary_table
    from twoface.train.gan import DEMO_CONFIG, DEMO_STEPS, train_gan
    from twoface.train.loop import TrainOptions

    run = ctx.root / "models" / "gan"
    steps = max(100, int(DEMO_STEPS * min(1.0, ctx.seconds / 3)))
    result = train_gan(list(ctx.facesets.values()), run, model="fastgan-small", batch=8,
                       overrides=DEMO_CONFIG,
                       options=TrainOptions(steps=steps, save_every=steps, preview_every=steps,
                                            progress=ctx.progress, resume=True,
                                            description="train gan"))
    pipe = GanPipeline.from_pretrained(run)
    out = ctx.root / "generated"
    made = pipe(out, n=16, seed=0, grid=out / "grid.png", progress=ctx.progress)
    walk = pipe.interpolate(ctx.root / "videos" / "gan_walk.mp4", seed=0, keyframes=3,
                            frames_between=12, progress=ctx.progress)
    ctx.generated += [made.files[0], walk]
    assert made.grid is not None  # asked for above
    ctx.fakes["gan"] = walk
    summary = evaluate_gan(run, list(ctx.facesets.values()), n=32)["summary"]
    ctx.sections.append(
        f"<h2>5. Faces of nobody (GAN)</h2><p>A tiny FastGAN-style model trained {result.step} "
        f"steps on the two people's aligned faces: {len(made.files)} new faces "
        f"(<code>generated/</code>, each watermarked and signed) and a latent walk "
        f"{link(ctx, walk)}. At this budget expect blobs, not faces.</p>{img(made.grid)}"
        f"<h3>Metrics (against the training faces)</h3>{summary_table(summary)}")
