"""Do the identity and face-feature losses help a swap per minute of training? Writes
``## Face swap: identity and face-feature losses per minute`` in BENCHMARKS.md.

A real pair from ``../shared`` (read in place, never copied; default d6 → d14 of
``liveportrait/driving``), extracted once into ``runs/bench_swap_losses`` (git-ignored), every
5th face of each held out. Variants of the ``cpu`` preset's model (``light``, 128 px, EMA,
batch 8) differ only in the extra losses: none, ``identity``, ``face_features``, both. They
train in rounds of ``--round`` minutes, one variant after the other, so that whatever else
loads the machine loads them alike; each gets the same wall-clock time, so a loss that costs
time must earn it. The learning rate is constant here (a cosine needs the budget up front).

Scored on the held-out faces with the EMA weights: L1 inside the face (grey levels, own
decoder), A→B identity distance to B's mean dlib embedding (lower is better), margin (how
much closer to B's mean than to A's), and sharpness of the swap against the source face.

    .venv/bin/python bench/swap_losses.py [--minutes 6] [--round 1] [--a d6 --b d14]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine, write_section

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "runs" / "bench_swap_losses"
VARIANTS = {"none": {}, "identity 0.1": {"identity": 0.1},
            "face features 0.1": {"face_features": 0.1},
            "both": {"identity": 0.1, "face_features": 0.1}}


def faceset(name: str) -> Path:
    from twoface.data.extract import ExtractOptions, extract
    from twoface.evaluate.gallery import find_shared_faces

    shared = find_shared_faces()
    if shared is None:
        raise SystemExit("needs ../shared/data/faces")
    out = WORK / f"fs_{name}"
    extract([shared / "liveportrait" / "driving" / f"{name}.mp4"], out,
            ExtractOptions(size=256, every=2))
    return out


def l1_in_face(model: torch.nn.Module, stacks: torch.Tensor, who: str) -> float:
    x = stacks[:, :3].float() / 255
    mask = stacks[:, 3:4].float() / 255
    with torch.no_grad():
        face = model(x, who)[0]
    return float(((face - x).abs() * mask).sum() / (mask.sum() * 3)) * 255


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=6.0, help="per variant")
    ap.add_argument("--round", type=float, default=1.0, help="minutes per turn")
    ap.add_argument("--a", default="d6")
    ap.add_argument("--b", default="d14")
    ap.add_argument("--only", nargs="*", help="variants to run (default all)")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()

    from twoface.data.swap_batches import SwapBatches, load_stacks
    from twoface.models import create
    from twoface.train.loop import TrainOptions, fit
    from twoface.train.presets import SWAP_PRESETS, Goal, goal_report

    t0 = time.time()
    preset = SWAP_PRESETS["cpu"]
    fs = {"a": faceset(args.a), "b": faceset(args.b)}
    probe = create("swap", preset.model, size=preset.size)
    size, coverage = probe.config.size, probe.config.coverage
    stacks = {k: load_stacks(p, size, coverage) for k, p in fs.items()}
    held = {k: s[::5] for k, s in stacks.items()}
    train = {k: torch.cat([s[i::5] for i in range(1, 5)]) for k, s in stacks.items()}
    data = SwapBatches(train["a"], train["b"], preset.batch, seed=0)
    names = [n for n in VARIANTS if not args.only or n in args.only]
    models, steps, spent = {}, dict.fromkeys(names, 0), dict.fromkeys(names, 0.0)
    for n in names:
        torch.manual_seed(0)
        models[n] = create("swap", preset.model, size=preset.size,
                           **{**preset.overrides, **VARIANTS[n]})
    shutil.rmtree(WORK / "runs", ignore_errors=True)  # every variant starts from scratch
    rounds = max(1, round(args.minutes / args.round))
    for r in range(rounds):
        for n in names:
            run = WORK / "runs" / n.replace(" ", "_")
            tr = time.time()
            res = fit(models[n], data.batch, run, TrainOptions(
                steps=10**9, minutes=args.round, resume=r > 0, save_every=10**9,
                preview_every=0, progress=False, log_every=5))
            spent[n] += time.time() - tr
            steps[n] = res.step
            print(f"round {r + 1}/{rounds} {n}: step {res.step}", flush=True)
    rows = []
    for n in names:
        m = models[n].eval()
        rep = goal_report(m, held["a"], held["b"], Goal(0.5, 0.7), n=len(held["a"]))
        l1 = (l1_in_face(m, held["a"], "a") + l1_in_face(m, held["b"], "b")) / 2
        rows.append((n, steps[n], spent[n] / 60, l1, rep["identity_distance"], rep["margin"],
                     rep["sharpness"]))
        print(json.dumps(rows[-1]), flush=True)
    table = ["| extra losses | steps | minutes | held-out L1 in face (grey) ↓ | A→B identity "
             "distance ↓ | margin (closer to B than A) ↑ | sharpness ↑ |",
             "|---|---|---|---|---|---|---|"]
    table += [f"| {r[0]} | {r[1]} | {r[2]:.1f} | {r[3]:.2f} | {r[4]:.3f} | {r[5]:.3f} | "
              f"{r[6]:.2f} |" for r in rows]
    body = (f"`python bench/swap_losses.py --minutes {args.minutes:g} --round {args.round:g} "
            f"--a {args.a} --b {args.b}` on {machine()}; {(time.time() - t0) / 60:.0f} min in "
            f"all. Real pair {args.a} → {args.b} (liveportrait/driving, read in place; every "
            f"2nd frame extracted, every 5th face held out: {len(held['a'])} + "
            f"{len(held['b'])} held-out faces). The `cpu` preset's model ({preset.model}, "
            f"{preset.size} px, batch {preset.batch}, EMA {preset.overrides['ema_decay']}, lr "
            f"{preset.overrides['lr']} constant), the same wall-clock time each, trained in "
            f"turns of {args.round:g} min; scored with the EMA weights.\n\n"
            + "\n".join(table) + "\n")
    print(body)
    if not args.no_write:
        write_section("Face swap: identity and face-feature losses per minute", body)


if __name__ == "__main__":
    main()
