"""Demo stages that make media: synthetic people, faces, a swap, an animation, GAN faces."""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

from twoface.demo._common import IDENTITIES, DemoContext, img, link

if TYPE_CHECKING:
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
    """A short live training loop on alice ↔ bob (the pipeline working on this machine), then
    alice's video converted into bob with the shipped demo model (trained by twoface on the
    two people's other takes; ``make demo-models``), measured by ``eval swap``.

    Without shipped demo models the live model converts: it shows the pipeline and its
    numbers end to end, not a convincing swap.
    """
    import numpy as np

    from twoface.apply.swap import SwapOptions, SwapPipeline
    from twoface.demo.pretrained import demo_model
    from twoface.evaluate.gallery import find_shared_faces
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
    shipped = demo_model("swap_alice_bob")
    out = ctx.root / "videos" / "alice_as_bob.mp4"
    ctx.generated.append(out)
    ctx.fakes["swap"] = out
    report = SwapPipeline.from_pretrained(shipped or run)(ctx.videos["alice"], out,
                                                          SwapOptions(), progress=ctx.progress)
    metrics = evaluate_swap(out, ctx.videos["alice"], ctx.facesets["bob"], every=5,
                            n_synthetic=4, examples=3, real_gallery=find_shared_faces())
    preview = _training_preview(run)
    shots = "".join(f"<img alt='frame {i}' src='{png_data_uri(np.hstack([a, b]), 768)}'>"
                    for i, a, b in metrics["examples"])
    verdict = metrics["summary"]["verdict"]
    why = "; ".join(metrics["verdict_reasons"])
    live = (f"{result.step} steps ({result.examples_per_s:.0f} faces/s on this machine)"
            if result.seconds > 0 and result.step > result.start_step
            else f"{result.step} steps (in an earlier run)")
    which = ("the shipped demo model (<code>light</code> at 128 px, EMA weights, trained by "
             "twoface on other takes of alice and bob: <code>make demo-models</code>)"
             if shipped else "the small model trained live above (no demo models shipped "
             "with this install: expect a blur)")
    ctx.sections.append(
        "<h2>3. Face swap (autoencoder)</h2>"
        f"<p><b>Training, live:</b> a narrow light model trained {live} on the two extracted "
        "facesets. Preview: alice, alice→alice, alice→bob, bob, bob→bob, bob→alice</p>"
        f"<img alt='training preview' src='{png_data_uri(preview, 768)}'>"
        f"<p><b>The swap:</b> alice's video converted with bob's decoder of {which}: "
        f"{report.faces} faces in {report.frames} frames, {link(ctx, out)}, watermarked and "
        f"signed.</p><p><b>eval swap verdict: {html.escape(verdict)}</b>"
        + (f" ({html.escape(why)})" if why else "")
        + f"<br><small>{html.escape(metrics['rules_text'])}</small></p>"
        f"<p>source (alice) | swapped (alice as bob)</p>{shots}"
        f"<h3>Metrics</h3>{summary_table(metrics['summary'])}")


def stage_animate(ctx: DemoContext) -> None:
    """First-order motion: a still of alice moved by bob's video, with the shipped demo model
    (trained on talking clips of other synthetic people and of alice and bob), or without
    one a tiny model trained here on clips of the two videos. Marked like everything else."""
    from twoface.apply.animate import AnimateOptions, AnimatePipeline
    from twoface.demo.pretrained import demo_model
    from twoface.media import read_frame, write_image
    from twoface.report import png_data_uri

    shipped = demo_model("motion")
    run = shipped or _train_tiny_motion(ctx)
    still = ctx.root / "videos" / "alice_still.png"
    write_image(still, read_frame(ctx.videos["alice"], 0.0).image)
    out = ctx.root / "videos" / "alice_driven_by_bob.mp4"
    report = AnimatePipeline.from_pretrained(run)(still, ctx.videos["bob"], out,
                                                  AnimateOptions(out_size=256))
    ctx.generated.append(out)
    ctx.fakes["animate"] = out
    frames = _side_by_side(ctx.videos["bob"], out, 4)
    what = ("the shipped demo model (<code>small</code>, 64 px, trained by twoface on "
            "synthetic talking heads: <code>make demo-models</code>)" if shipped else
            "a tiny model trained here for seconds (no demo models shipped: expect a blur)")
    ctx.sections.append(
        f"<h2>4. Animation (first-order motion)</h2><p>A still of alice moved by bob's video "
        f"with {what}: {report.frames} frames, {link(ctx, out)}, watermarked and signed.</p>"
        f"{img(still)}<p>driving (bob) | animated (alice)</p>"
        f"<img alt='driving and animated frames' src='{png_data_uri(frames, 768)}'>")


def stage_reenact(ctx: DemoContext) -> None:
    """No per-pair training: alice's video driven by bob's expressions (reenactment,
    expression only), and bob's face put into alice's video from one still (the one-shot
    swap), each with both engines (the demo motion model, and the model-free landmark warp);
    all marked, the reenactments measured by ``eval reenact``."""
    import numpy as np

    from twoface.apply.oneshot import OneShotOptions, OneShotSwapPipeline
    from twoface.apply.reenact import ReenactOptions, ReenactPipeline
    from twoface.demo.pretrained import demo_model
    from twoface.evaluate.reenact import evaluate_reenact
    from twoface.media import read_frame, write_image
    from twoface.report import png_data_uri
    from twoface.types import OneShotEngine

    run = demo_model("motion") or ctx.root / "models" / "motion"  # as stage_animate chose
    alice, bob = ctx.videos["alice"], ctx.videos["bob"]
    still = ctx.root / "videos" / "bob_still.png"
    write_image(still, read_frame(bob, 0.0).image)
    pipes: dict[OneShotEngine, tuple[ReenactPipeline, OneShotSwapPipeline]] = {
        "motion": (ReenactPipeline.from_pretrained(run),
                   OneShotSwapPipeline.from_pretrained(run)),
        "warp": (ReenactPipeline.warp_only(), OneShotSwapPipeline.warp_only())}
    rows: list[str] = []
    strips: list[np.ndarray] = []
    for engine, (reenact, oneshot) in pipes.items():
        reenacted = ctx.root / "videos" / f"alice_with_bobs_expressions_{engine}.mp4"
        reenact(alice, bob, reenacted, ReenactOptions(engine=engine, expression_only=True))
        swapped = ctx.root / "videos" / f"bob_into_alice_from_one_still_{engine}.mp4"
        oneshot(alice, [still], swapped, OneShotOptions(engine=engine))
        ctx.generated += [reenacted, swapped]
        s = evaluate_reenact(reenacted, alice, bob, every=3, n_synthetic=4)["summary"]
        rows.append(f"<tr><td>{engine}</td><td>{link(ctx, reenacted)}</td>"
                    f"<td>{s['expression_gain']:.2f}</td><td>{s['identity_retrieval']:.0%}</td>"
                    f"<td>{s['sharpness_ratio']:.2f}</td><td>{link(ctx, swapped)}</td></tr>")
        pair = _side_by_side(alice, reenacted, 3)
        strips.append(pair if not strips else pair[:, pair.shape[1] // 2:])
        both = _side_by_side(alice, swapped, 3)
        strips.append(both[:, both.shape[1] // 2:])
    frames = np.hstack(strips)
    ctx.sections.append(
        "<h2>5. Reenactment and the one-shot swap (no pair training)</h2>"
        "<p>alice keeps her head motion, hair and background and takes bob's expressions "
        "(<code>twoface reenact --expression-only</code>); bob's face from one still is put "
        "into her video (<code>twoface swap --face</code>). Two engines: <b>motion</b>, the "
        "demo motion model (64 px, trained for minutes on a CPU: the plumbing shows, a "
        "convincing face needs the <code>train motion --preset gpu</code> model), and "
        "<b>warp</b>, no model: faces warped triangle by triangle onto landmarks, as sharp "
        "as their source. All watermarked and signed.</p><table><tr><th>engine</th>"
        "<th>reenactment</th><th>eval reenact: expression gain (1 = bob's exactly, 0 = no "
        "better than alice untouched)</th><th>alice's identity kept</th><th>sharpness "
        "ratio</th><th>one-shot swap</th></tr>" + "".join(rows) + "</table>"
        "<p>alice | reenacted (motion) | one-shot (motion) | reenacted (warp) | one-shot "
        "(warp)</p>"
        f"<img alt='reenactment and one-shot swap frames' src='{png_data_uri(frames, 960)}'>")


def _train_tiny_motion(ctx: DemoContext) -> Path:
    from twoface.data.clips import make_clips
    from twoface.train.loop import TrainOptions
    from twoface.train.motion import DEMO, train_motion

    clips = ctx.root / "clips"
    make_clips([ctx.videos["alice"], ctx.videos["bob"]], clips, size=64)
    run = ctx.root / "models" / "motion"
    steps = max(60, int(70 * ctx.seconds))
    train_motion([clips], run, batch=4, overrides=DEMO,
                 options=TrainOptions(steps=steps, save_every=steps, preview_every=steps,
                                      progress=ctx.progress, resume=True,
                                      description="train motion"))
    return run


def _side_by_side(left: Path, right: Path, n: int) -> np.ndarray:
    """``n`` frames spread over two videos, each pair side by side, stacked (RGB)."""
    import cv2
    import numpy as np

    from twoface.media import iter_frames, probe

    def pick(path: Path) -> list[np.ndarray]:
        total = max(1, probe(path).frame_count)
        want = set(np.linspace(0, total - 1, n).round().astype(int).tolist())
        return [f.image for i, f in enumerate(iter_frames(path)) if i in want][:n]

    rows = []
    for a, b in zip(pick(left), pick(right), strict=False):
        b = cv2.resize(b, (a.shape[0] * b.shape[1] // b.shape[0], a.shape[0]))
        rows.append(np.hstack([a, b]))
    return np.vstack(rows)


def stage_generate(ctx: DemoContext) -> None:
    """Faces of nobody: the shipped demo GAN (trained by twoface on 240 synthetic people,
    alice and bob not among them) or, without one, a tiny GAN trained here for seconds: a
    grid of new faces, a latent walk video, and the generation metrics (all outputs marked)."""
    from twoface.apply.generate import GanPipeline
    from twoface.demo.pretrained import demo_model
    from twoface.evaluate.gan import evaluate_gan
    from twoface.report import summary_table
    from twoface.train.gan import DEMO_CONFIG, DEMO_STEPS, train_gan
    from twoface.train.loop import TrainOptions

    shipped = demo_model("gan")
    run = shipped or ctx.root / "models" / "gan"
    if shipped is None:
        steps = max(100, int(DEMO_STEPS * min(1.0, ctx.seconds / 3)))
        result = train_gan(list(ctx.facesets.values()), run, model="fastgan-small", batch=8,
                           overrides=DEMO_CONFIG,
                           options=TrainOptions(steps=steps, save_every=steps,
                                                preview_every=steps, progress=ctx.progress,
                                                resume=True, description="train gan"))
        what = (f"A tiny FastGAN-style model trained {result.step} steps here on the two "
                "people's aligned faces (no demo models shipped): expect blobs, not faces.")
    else:
        what = ("The shipped demo GAN (<code>fastgan-small</code>, 64 px, trained by twoface "
                "on stills of 240 synthetic people: <code>make demo-models</code>).")
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
        f"<h2>6. Faces of nobody (GAN)</h2><p>{what} {len(made.files)} new faces "
        f"(<code>generated/</code>, each watermarked and signed) and a latent walk "
        f"{link(ctx, walk)}.</p>{img(made.grid)}"
        "<h3>Metrics (against alice's and bob's faces"
        + (", which the GAN never saw" if shipped else "") + f")</h3>{summary_table(summary)}")
