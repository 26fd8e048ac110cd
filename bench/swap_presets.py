"""A swap preset on real pairs, judged by ``eval swap``. Writes ``## Face swap: presets on real
pairs (DEVICE)`` in BENCHMARKS.md.

For each ``--pair A:B`` of ``../shared/data/faces/liveportrait/driving`` (read in place, never
copied; everything made stays in the git-ignored ``runs/bench_swap_presets``, never
published): extract both videos (every 2nd frame), train ``twoface train swap --preset P``
for the preset's budget (or ``--minutes``), convert A's video into B (marked, as always) and
run ``eval swap`` against the real-people gallery. With ``--baseline`` the recipe before the
presets (``light`` at 64 px, batch 16, constant rate, no EMA) trains for the same time, so the
two are side by side. Frames of each result land in ``runs/bench_swap_presets/PAIR/frames_*.png``
(source | swap).

    .venv/bin/python bench/swap_presets.py [--preset cpu] [--pair d6:d14 --pair d9:d3 ...]
        [--minutes M] [--baseline] [--no-write]

The GPU machine has no dlib or PyAV (nor dlib's weights, which the ``gpu`` preset's identity
loss reads): there, train from stacks packed here with ``bench/swap_pairs.py`` (pack, train,
export; ``bench/gpu.sh`` shows the round trip), then convert and evaluate back on this
machine. This script itself runs where the facesets are made.
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
WORK = ROOT / "runs" / "bench_swap_presets"
PAIRS = ("d6:d14", "d9:d3", "d12:d19")
BASELINE = {"model": "light", "size": 64, "batch": 16}


def video(name: str) -> Path:
    from twoface.evaluate.gallery import find_shared_faces

    shared = find_shared_faces()
    if shared is None:
        raise SystemExit("needs ../shared/data/faces")
    return shared / "liveportrait" / "driving" / f"{name}.mp4"


def faceset(name: str) -> Path:
    from twoface.data.extract import ExtractOptions, extract

    out = WORK / "facesets" / name
    extract([video(name)], out, ExtractOptions(size=256, every=2))
    return out


def frames_sheet(examples: list, path: Path) -> None:
    import numpy as np

    from twoface.media import write_image

    rows = [np.hstack([a, b]) for _, a, b in examples]
    if rows:
        width = min(r.shape[1] for r in rows)
        write_image(path, np.vstack([r[:, :width] for r in rows]))


def one(pair: str, recipe: str, preset: str, minutes: float | None) -> dict:
    from twoface.apply.swap import SwapOptions, SwapPipeline
    from twoface.evaluate.gallery import find_shared_faces
    from twoface.evaluate.swap import evaluate_swap
    from twoface.train.loop import TrainOptions
    from twoface.train.swap import train_swap

    a, b = pair.split(":")
    fa, fb = faceset(a), faceset(b)
    run = WORK / pair.replace(":", "_to_") / recipe
    t0 = time.time()
    if recipe == "preset":
        res = train_swap(fa, fb, run, preset=preset, options=TrainOptions(
            steps=10**9, minutes=minutes, resume=True, progress=False))
    else:
        from twoface.train.presets import swap_preset

        budget = minutes or swap_preset(preset).minutes
        res = train_swap(fa, fb, run, model=BASELINE["model"], size=BASELINE["size"],
                         batch=BASELINE["batch"], options=TrainOptions(
                             steps=10**9, minutes=budget, resume=True, progress=False))
    trained = (time.time() - t0) / 60
    out = run / f"{a}_as_{b}.mp4"
    SwapPipeline.from_pretrained(run)(video(a), out, SwapOptions(), progress=False)
    ev = evaluate_swap(out, video(a), fb, every=5, real_gallery=find_shared_faces(), examples=3)
    frames_sheet(ev["examples"], run.parent / f"frames_{recipe}.png")
    s = ev["summary"]
    row = {"pair": pair, "recipe": recipe, "steps": res.step, "minutes": round(trained, 1),
           "found": s.get("faces_found"), "retrieval": s.get("identity_retrieval"),
           "gallery": s.get("gallery_identities"), "pose": s.get("pose_err_deg"),
           "sharpness": s.get("sharpness_ratio"), "verdict": s.get("verdict"),
           "goal": res.extra.get("goal")}
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", default="cpu")
    ap.add_argument("--pair", action="append", help="A:B (default: three pairs)")
    ap.add_argument("--minutes", type=float, help="override the preset's budget")
    ap.add_argument("--baseline", action="store_true", help="also the recipe before presets")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    t0 = time.time()
    rows = []
    for pair in args.pair or PAIRS:
        rows.append(one(pair, "preset", args.preset, args.minutes))
        if args.baseline:
            rows.append(one(pair, "baseline", args.preset, args.minutes))

    def f(v: object, fmt: str) -> str:
        return format(v, fmt) if isinstance(v, int | float) else "—"

    table = ["| pair | recipe | steps | minutes | face found | identity retrieval (gallery) | "
             "pose error (°) | sharpness | verdict |", "|---|---|---|---|---|---|---|---|---|"]
    table += [f"| {r['pair']} | {r['recipe']} | {r['steps']} | {r['minutes']} | "
              f"{f(r['found'], '.1%')} | {f(r['retrieval'], '.1%')} ({r['gallery']}) | "
              f"{f(r['pose'], '.2f')} | {f(r['sharpness'], '.2f')} | {r['verdict']} |"
              for r in rows]
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    body = (f"`python bench/swap_presets.py --preset {args.preset}` on {machine()}; "
            f"{(time.time() - t0) / 60:.0f} min in all. Real pairs of liveportrait/driving "
            "(read in place), A's video converted into B and judged by `eval swap` against "
            "the real-people gallery; frames in `runs/bench_swap_presets/`.\n\n"
            + "\n".join(table) + "\n")
    print(body)
    if not args.no_write:
        write_section(f"Face swap: presets on real pairs ({device})", body)


if __name__ == "__main__":
    main()
