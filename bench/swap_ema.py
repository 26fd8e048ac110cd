"""Does an EMA of the swap weights help? Writes ``## Face swap: EMA weights`` in BENCHMARKS.md.

Two of twoface's synthetic people (no real person) are rendered talking and turning their
heads, extracted, and split: every 5th face of each is held out. One ``light`` swap model is
trained on the rest with ``ema_decay`` set; at each checkpoint both the trained weights and
their moving average reconstruct the held-out faces (each person through their own decoder,
from clean inputs), and the swap A→B is checked by dlib's identity network: mean distance
of the swapped faces to B's held-out faces. The model has no batch norm or dropout, so the
two weight sets differ only by the averaging: one run compares them on one trajectory.

    .venv/bin/python bench/swap_ema.py [--steps 1500] [--every 250] [--decay 0.99]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine, write_section

PEOPLE = {"ema_a": 11, "ema_b": 23}  # synthetic identities (seeds)


def facesets(root: Path, frames: int) -> dict[str, Path]:
    from twoface.data.extract import extract
    from twoface.media import write_video
    from twoface.synth import Identity, render_sequence

    out = {}
    for name, seed in PEOPLE.items():
        video = root / f"{name}.mp4"
        renders = render_sequence(Identity.random(seed), frames, fps=25, size=256, seed=seed)
        write_video(video, [r.image for r in renders], 25)
        extract([video], root / name)
        out[name] = root / name
    return out


def masked_errors(model: torch.nn.Module, stacks: torch.Tensor, who: str) -> tuple[float, float]:
    """Mean absolute error inside the face mask (grey levels) and DSSIM of the whole crop."""
    from twoface.nn.losses import weighted_l1_ssim

    x = stacks[:, :3].float() / 255
    mask = stacks[:, 3:4].float() / 255
    with torch.no_grad():
        face = model(x, who)[0]
        l1 = float(((face - x).abs() * mask).sum() / (mask.sum() * 3)) * 255
        _, dssim = weighted_l1_ssim(face, x, torch.ones_like(mask), ssim_share=0.5)
    return l1, float(dssim)


def identity_distance(model: torch.nn.Module, a: torch.Tensor, b: torch.Tensor,
                      coverage: float) -> float:
    """Mean dlib distance from A's faces drawn by B's decoder to B's held-out faces."""
    from twoface.faces.nets.embedder import load_embedder
    from twoface.nn.losses import face_embeddings

    net = load_embedder()
    with torch.no_grad():
        swapped = model(a[:, :3].float() / 255, "b")[0]
        e_sw = face_embeddings(net, swapped, coverage)[0]
        e_b = face_embeddings(net, b[:, :3].float() / 255, coverage)[0]
    return float(torch.cdist(e_sw, e_b).mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--every", type=int, default=250)
    ap.add_argument("--decay", type=float, default=0.99)
    ap.add_argument("--frames", type=int, default=250)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()

    from twoface.data.swap_batches import SwapBatches, load_stacks
    from twoface.models import create
    from twoface.train.loop import TrainOptions, fit

    t0 = time.time()
    torch.manual_seed(0)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        fs = facesets(Path(tmp), args.frames)
        model = create("swap", "light", ema_decay=args.decay)
        size, coverage = model.config.size, model.config.coverage
        stacks = {n: load_stacks(p, size, coverage) for n, p in fs.items()}
        held = {n: s[::5] for n, s in stacks.items()}
        train = {n: torch.cat([s[i::5] for i in range(1, 5)]) for n, s in stacks.items()}
        data = SwapBatches(train["ema_a"], train["ema_b"], args.batch, seed=0)
        run = Path(tmp) / "run"
        for step in range(args.every, args.steps + 1, args.every):
            fit(model, data.batch, run, TrainOptions(
                steps=step, resume=step > args.every, save_every=10**9, preview_every=0,
                progress=False, log_every=args.every))
            row = [step]
            for averaged in (False, True):
                model.train(not averaged)  # train mode draws with the trained weights
                ea = masked_errors(model, held["ema_a"], "a")
                eb = masked_errors(model, held["ema_b"], "b")
                ident = identity_distance(model, held["ema_a"], held["ema_b"], coverage)
                row += [(ea[0] + eb[0]) / 2, (ea[1] + eb[1]) / 2, ident]
            rows.append(row)
            print(" ".join(f"{v:.4f}" if isinstance(v, float) else str(v) for v in row),
                  flush=True)
        n_train = {n: len(s) for n, s in train.items()}
    table = ["| step | trained: L1 in face (grey) | DSSIM | A→B identity distance | "
             "EMA: L1 in face (grey) | DSSIM | A→B identity distance |",
             "|---|---|---|---|---|---|---|"]
    table += [f"| {r[0]} | {r[1]:.2f} | {r[2]:.4f} | {r[3]:.3f} | {r[4]:.2f} | {r[5]:.4f} | "
              f"{r[6]:.3f} |" for r in rows]
    body = (f"`python bench/swap_ema.py --steps {args.steps} --decay {args.decay}` on "
            f"{machine()}; {(time.time() - t0) / 60:.1f} min. Two synthetic people, "
            f"{args.frames} rendered frames each, every 5th face held out "
            f"({', '.join(f'{v} training faces' for v in n_train.values())}); `light` model, "
            f"64 px, batch {args.batch}, one run: both weight sets are scored on the held-out "
            "faces at each step (reconstruction through each person's own decoder; identity: "
            "dlib distance of A drawn by B's decoder to B's faces, lower is better).\n\n"
            + "\n".join(table) + "\n")
    print(body)
    if not args.no_write:
        write_section("Face swap: EMA weights", body)


if __name__ == "__main__":
    main()
