"""Reenactment and the one-shot swap: speed, and quality on real clips. Writes
``## Reenactment and one-shot swap (DEVICE)`` in BENCHMARKS.md.

* speed: frames per second of ``reenact`` and ``swap --face`` (model, crops and pasting; the
  face tracking before it is timed apart) at the motion model's size, batched, for the given
  model and for untrained ``small`` 128 px and ``fomm`` 256 px models (their cost does not
  depend on training);
* quality (needs ``../shared``): the one-shot swap of a held-out person's photo
  (liveportrait/source) into three real driving clips, with both engines (the motion model
  and the landmark warp), judged by ``eval swap`` against the real-people gallery (frames in
  ``runs/bench_reenact/frames_*.png``); reenactment of two real targets by two real actors
  (expression only), judged by ``eval reenact``. Clips are cut to their first ``--frames``
  frames into the git-ignored ``runs/bench_reenact`` (never published).

    .venv/bin/python bench/reenact.py [--model MOTION_MODEL] [--frames 90] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine, write_section

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "runs" / "bench_reenact"
TARGETS = ("d6", "d9", "d12")  # one-shot swap targets
PHOTOS = ("s9", "s42")  # held-out people (liveportrait/source): a painted portrait, a photograph
REENACT = (("d14", "d3"), ("d19", "d10"))  # (target, actor)


def _shown(path: Path) -> str:
    """A path relative to the project where it lies inside it (nothing machine-specific)."""
    try:
        return f"`{path.resolve().relative_to(ROOT)}`"
    except ValueError:
        return f"`{path.name}`"


def cut(name: str, frames: int) -> Path:
    """The first ``frames`` frames of a liveportrait driving clip (no audio needed)."""
    from twoface.evaluate.gallery import find_shared_faces
    from twoface.media import VideoWriter, iter_frames, probe

    shared = find_shared_faces()
    if shared is None:
        raise SystemExit("quality needs ../shared/data/faces")
    src = shared / "liveportrait" / "driving" / f"{name}.mp4"
    out = WORK / "clips" / f"{name}_{frames}.mp4"
    if not out.is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        with VideoWriter(out, probe(src).fps or 25, crf=12) as w:
            for fr in iter_frames(src):
                if fr.index >= frames:
                    break
                w.write(fr.image)
    return out


def synthetic_clip(frames: int, size: int = 512) -> Path:
    from twoface.media import VideoWriter
    from twoface.synth import Identity, render_sequence

    out = WORK / "clips" / f"synthetic_{frames}_{size}.mp4"
    if not out.is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        with VideoWriter(out, 25) as w:
            for r in render_sequence(Identity.random(5), frames, size=size, seed=5):
                w.write(r.image)
    return out


def speed(models: dict[str, Path], frames: int, repeats: int = 2) -> list[dict]:
    """Frames per second of both pipelines per model (median of ``repeats``)."""
    import numpy as np

    from twoface.apply.oneshot import OneShotSwapPipeline
    from twoface.apply.reenact import ReenactOptions, ReenactPipeline
    from twoface.media import read_frame, write_image

    clip = synthetic_clip(frames)
    photo = WORK / "clips" / "photo.png"
    write_image(photo, read_frame(synthetic_clip(frames), 0.0).image)
    rows = []
    for name, folder in models.items():
        re_pipe = ReenactPipeline.from_pretrained(folder)
        one_pipe = OneShotSwapPipeline.from_pretrained(folder)
        re_fps, one_fps = [], []
        for _ in range(repeats):
            r = re_pipe(clip, clip, WORK / "speed_re.mp4", ReenactOptions(batch=16))
            re_fps.append(r.fps)
            o = one_pipe(clip, [photo], WORK / "speed_one.mp4")
            one_fps.append(o.fps)
        rows.append({"model": name, "size": re_pipe.model.config.size,
                     "reenact_fps": float(np.median(re_fps)),
                     "oneshot_fps": float(np.median(one_fps))})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def sheet(examples: list, path: Path) -> None:
    """Source | swapped frames, stacked (never published: made from ../shared)."""
    import numpy as np

    from twoface.media import write_image

    if examples:
        write_image(path, np.vstack([np.hstack([a, b]) for _, a, b in examples]))


def speed_warp(frames: int, repeats: int = 2) -> dict:
    """Frames per second of both pipelines' warp engines (no model)."""
    import numpy as np

    from twoface.apply.oneshot import OneShotOptions, OneShotSwapPipeline
    from twoface.apply.reenact import ReenactOptions, ReenactPipeline

    clip, photo = synthetic_clip(frames), WORK / "clips" / "photo.png"
    re_fps, one_fps = [], []
    for _ in range(repeats):
        re_fps.append(ReenactPipeline.warp_only()(
            clip, clip, WORK / "speed_re.mp4", ReenactOptions(engine="warp")).fps)
        one_fps.append(OneShotSwapPipeline.warp_only()(
            clip, [photo], WORK / "speed_one.mp4", OneShotOptions(engine="warp")).fps)
    row = {"model": "warp engine (no model)", "size": "frame",
           "reenact_fps": float(np.median(re_fps)), "oneshot_fps": float(np.median(one_fps))}
    print(json.dumps(row), flush=True)
    return row


def quality(model: Path, frames: int) -> tuple[list[dict], list[dict]]:
    from twoface.apply.oneshot import OneShotOptions, OneShotSwapPipeline
    from twoface.apply.reenact import ReenactOptions, ReenactPipeline
    from twoface.data.extract import extract
    from twoface.evaluate.gallery import find_shared_faces
    from twoface.evaluate.reenact import evaluate_reenact
    from twoface.evaluate.swap import evaluate_swap
    from twoface.types import OneShotEngine

    shared = find_shared_faces()
    assert shared is not None
    one_rows, re_rows = [], []
    engines: dict[OneShotEngine, OneShotSwapPipeline] = {
        "motion": OneShotSwapPipeline.from_pretrained(model),
        "warp": OneShotSwapPipeline.warp_only()}
    for name in PHOTOS:
        photo = shared / "liveportrait" / "source" / f"{name}.jpg"
        fs = WORK / "facesets" / name
        extract([photo], fs)
        for t, engine in ((t, e) for e in engines for t in TARGETS):
            clip = cut(t, frames)
            out = WORK / f"{name}_into_{t}_{engine}.mp4"
            engines[engine](clip, [photo], out, OneShotOptions(engine=engine))
            ev = evaluate_swap(out, clip, fs, every=3, real_gallery=shared)
            sheet(ev["examples"], WORK / f"frames_{name}_{t}_{engine}.png")
            s = ev["summary"]
            one_rows.append({"photo": name, "target": t, "engine": engine,
                             "found": s["faces_found"], "retrieval": s["identity_retrieval"],
                             "gallery": s["gallery_identities"], "real": s["gallery_real"],
                             "pose": s["pose_err_deg"], "sharpness": s["sharpness_ratio"],
                             "shut": s["source_shut_frames"], "blinks": s["blinks_kept"],
                             "verdict": s["verdict"]})
            print(json.dumps(one_rows[-1]), flush=True)
    re_pipes: dict[OneShotEngine, ReenactPipeline] = {
        "motion": ReenactPipeline.from_pretrained(model), "warp": ReenactPipeline.warp_only()}
    for (t, a), kind in ((pair, e) for e in re_pipes for pair in REENACT):
        tgt, act = cut(t, frames), cut(a, frames)
        out = WORK / f"{t}_by_{a}_{kind}.mp4"
        re_pipes[kind](tgt, act, out, ReenactOptions(engine=kind, expression_only=True))
        s = evaluate_reenact(out, tgt, act, every=3, real_gallery=shared)["summary"]
        re_rows.append({"target": t, "actor": a, "engine": kind,
                        "gain": s["expression_gain"],
                        "err": s["expression_err_iod"], "base": s["expression_baseline_iod"],
                        "retrieval": s["identity_retrieval"], "gallery": s["gallery_identities"],
                        "pose": s["pose_err_deg"], "sharpness": s["sharpness_ratio"],
                        "flicker": s["flicker_ratio"]})
        print(json.dumps(re_rows[-1]), flush=True)
    return one_rows, re_rows


def main() -> None:
    import torch

    from twoface.demo.pretrained import demo_model
    from twoface.models.registry import create, save_pretrained

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=Path, help="motion model (default: the demo's)")
    ap.add_argument("--frames", type=int, default=90)
    ap.add_argument("--no-quality", action="store_true")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    model = args.model or demo_model("motion")
    assert model is not None, "no motion model"
    t0 = time.time()
    untrained = {}
    for name, size in (("small", 128), ("fomm", 256)):
        folder = WORK / "untrained" / f"{name}_{size}"
        if not (folder / "model.safetensors").is_file():
            save_pretrained(create("motion", name, size=size), folder)
        untrained[f"{name} {size} px (untrained)"] = folder
    rows = speed({model.name: model, **untrained}, 48)
    rows.append(speed_warp(48))
    one_rows, re_rows = ([], []) if args.no_quality else quality(model, args.frames)
    device = "cuda" if torch.cuda.is_available() else "cpu"

    def f(v: object, fmt: str) -> str:
        return format(v, fmt) if isinstance(v, int | float) and v == v else "—"  # NaN: —

    body = [f"`python bench/reenact.py` on {machine()}, {torch.get_num_threads()} torch "
            f"threads; {(time.time() - t0) / 60:.0f} min in all. Model for quality: "
            f"`{model.name}` ({_shown(model)}).", "",
            "**Speed** (a 48-frame 512 px synthetic clip driving itself, batch 16 for "
            "reenact and 8 for the one-shot swap; frames/s after tracking, median of 2):", "",
            "| model | size | reenact frames/s | one-shot swap frames/s |", "|---|---|---|---|"]
    body += [f"| {r['model']} | {r['size']} | {r['reenact_fps']:.1f} | "
             f"{r['oneshot_fps']:.1f} |" for r in rows]
    if one_rows:
        body += ["", "**One-shot swap** of one photo of a person held out of every clip "
                 f"(`s9.jpg`, a painted portrait; `s42.jpg`, a photograph) into the first "
                 f"{args.frames} frames of real clips, `eval swap` (gallery with real people; "
                 "the issue's bars: retrieval ≥ 90 %, pose ≤ 3°, sharpness ≥ 0.6; blinks "
                 "kept: of the sampled frames where the target's eyes are shut, the share "
                 "where the swapped eyes are shut too). The warp engine keeps the target's "
                 "glasses in front of the new face since 2026-12-07 (`--occlusion`, the "
                 "default; d9 wears glasses):", "",
                 "| photo | target | engine | face found | identity retrieval (gallery, real) | "
                 "pose error (°) | sharpness | blinks kept (shut frames) | verdict |",
                 "|---|---|---|---|---|---|---|---|---|"]
        body += [f"| {r['photo']} | {r['target']} | {r['engine']} | {f(r['found'], '.0%')} | "
                 f"{f(r['retrieval'], '.0%')} "
                 f"({r['gallery']}, {r['real']}) | {f(r['pose'], '.2f')} | "
                 f"{f(r['sharpness'], '.2f')} | {f(r['blinks'], '.0%')} ({r['shut']}) | "
                 f"{r['verdict']} |" for r in one_rows]
        body += ["", "**Reenactment** (`--expression-only`), `eval reenact`: expression error "
                 "in inter-ocular distances against the do-nothing baseline (gain = 1 − "
                 "error / baseline; the goal is ≥ 0.5), the target's identity kept. "
                 "Landmark tracks keep blinks and mouth movements since 2026-12-07 "
                 "(`keep_expression`), so the actor's expression measured here is larger "
                 "than before (d19 by d10: baseline 0.027 → 0.044) and gains from before "
                 "that date are not comparable. Landmarks are fitted in the HOG detector's "
                 "box since the same day's later run (before: a box round the landmarks, "
                 "which damped the expression dlib read; the warp engine's gains were 0.48 "
                 "and 0.30 that way):", "",
                 "| target | actor | engine | expression error | baseline | gain | identity "
                 "retrieval (gallery) | pose error (°) | sharpness | flicker ratio |",
                 "|---|---|---|---|---|---|---|---|---|---|"]
        body += [f"| {r['target']} | {r['actor']} | {r['engine']} | {f(r['err'], '.3f')} | "
                 f"{f(r['base'], '.3f')} | {f(r['gain'], '.2f')} | {f(r['retrieval'], '.0%')} "
                 f"({r['gallery']}) | {f(r['pose'], '.2f')} | {f(r['sharpness'], '.2f')} | "
                 f"{f(r['flicker'], '.2f')} |" for r in re_rows]
    text = "\n".join(body) + "\n"
    print(text)
    if not args.no_write:
        write_section(f"Reenactment and one-shot swap ({device})", text)


if __name__ == "__main__":
    main()
