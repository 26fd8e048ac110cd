"""GAN faces benchmark: training throughput per model and size, and the metrics of trained
models side by side.

    .venv/bin/python bench/gan.py throughput [--steps 4] [--device cuda]
    .venv/bin/python bench/gan.py quality --run fastgan-small=runs/gan/small \\
        --run dcgan=runs/gan/dcgan --real runs/gan/fs_real --real runs/gan/fs_cg [-n 500]

``throughput`` times full training steps (G forward, D on augmented reals and fakes, both
backward passes and AdamW steps, lazy R1 on its schedule) on random images resident on the
device; bf16 autocast and channels_last on CUDA, as in the training loop. ``quality`` draws
``n`` faces from each model and measures them against the real facesets (Fréchet distance and
KID on dlib identity embeddings, dlib detection rate, nearest training neighbours; see
:mod:`twoface.evaluate.gan`). Each sub-command writes its own section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine, write_section
from _timing import train_rate
from twoface.device import pick_device
from twoface.models import create, names

BATCH = {32: 32, 64: 16, 128: 8, 256: 4}


def throughput(args: argparse.Namespace) -> None:
    device = pick_device(args.device)
    rows = ["| model | size | batch | G params (M) | D params (M) | images/s |",
            "|---|---|---|---|---|---|"]
    for name in names("gan"):
        for size in args.sizes:
            torch.manual_seed(0)
            model = create("gan", name, size=size)
            batch = args.batch or BATCH[size]
            real = torch.rand(batch, 3, size, size, device=device) * 2 - 1
            rate = train_rate(model, lambda _i, r=real: {"real": r}, device, args.steps)
            g = sum(p.numel() for p in model.g.parameters()) / 1e6
            d = sum(p.numel() for p in model.d.parameters()) / 1e6
            rows.append(f"| {name} | {size} | {batch} | {g:.1f} | {d:.1f} | {rate:.1f} |")
            print(rows[-1], flush=True)
    threads = torch.get_num_threads()
    write_section(f"GAN faces: training throughput ({device.type})",
                  f"Machine: {machine()}; device {device}"
                  + (f", {threads} torch thread(s)" if device.type == "cpu" else "") + ".\n\n"
                  "Images = real faces consumed per second by full training steps (G forward, "
                  "D on DiffAugmented reals and fakes, both backward passes and AdamW steps, "
                  f"lazy R1 on its schedule), random data resident on the device, {args.steps} "
                  "timed steps after one warm-up. The CPU is shared with other jobs, so treat "
                  "CPU numbers as ±30 %."
                  + ("" if device.type == "cuda" else
                     " The GPU numbers are the same command with `--device cuda` (it writes a "
                     "`(cuda)` section); **not run: this session had no GPU.**")
                  + "\n\n" + "\n".join(rows))


def _log_stats(run: Path) -> dict[str, float]:
    """Steps, wall minutes and mean images/s of a run, from its log.csv."""
    with open(run / "log.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    times = [float(r["time"]) for r in rows]
    return {"steps": int(rows[-1]["step"]), "minutes": (times[-1] - times[0]) / 60,
            "images_per_s": sum(float(r["examples_per_s"]) for r in rows) / len(rows)}


def quality(args: argparse.Namespace) -> None:
    import json

    from twoface.evaluate.gan import evaluate_gan, real_features
    from twoface.models.registry import read_config

    runs = dict(item.split("=", 1) for item in args.run)
    sizes = {read_config(d, "gan")["config"]["size"] for d in runs.values()}
    if len(sizes) != 1:
        raise SystemExit(f"compare models of one size side by side (got sizes {sizes})")
    size = sizes.pop()
    t0 = time.perf_counter()
    cache = Path(args.real_cache) if args.real_cache else None
    if cache is not None and cache.is_file():  # plain arrays (no pickle), made by this command
        with np.load(cache, allow_pickle=False) as z:
            real = {k: z[k] for k in z.files}
    else:
        real = real_features(args.real, size, progress=True)
        if cache is not None:
            np.savez(cache, **real)
    print(f"real features: {len(real['emb'])} faces in {time.perf_counter() - t0:.0f} s")
    results = {}
    for label, run in runs.items():
        res = evaluate_gan(run, real, n=args.n, truncation=args.truncation, device=args.device,
                           output=Path(run) / "eval", progress=True)
        results[label] = {**res["summary"], **_log_stats(Path(run))}
        print(label, json.dumps(results[label], indent=1))
    keys = [("training steps", "steps", "{:d}"), ("training wall time (min)", "minutes",
                                                   "{:.0f}"),
            ("training images/s (mean)", "images_per_s", "{:.1f}"),
            ("Fréchet distance, dlib embeddings (↓)", "fid_dlib", "{:.4f}"),
            ("KID, dlib embeddings ×10³ (↓)", "kid_dlib", "{:.3f}"),
            ("dlib finds a face (generated)", "detection_rate", "{:.0%}"),
            ("dlib finds a face (real, same size)", "real_detection_rate", "{:.0%}"),
            ("NN identity distance, median", "nn_identity_median", "{:.3f}"),
            ("NN identity distance, min", "nn_identity_min", "{:.3f}"),
            ("share with a training face < 0.6 (same person)", "nn_identity_same_person",
             "{:.0%}"),
            ("real→real NN identity distance, median", "real_nn_identity_median", "{:.3f}"),
            ("NN pixel RMSE, median", "nn_pixel_rmse_median", "{:.3f}"),
            ("NN pixel RMSE, min", "nn_pixel_rmse_min", "{:.3f}"),
            ("real→real NN pixel RMSE, median / min", "real_nn_pixel_rmse_median", "{:.3f}")]
    head = "| metric | " + " | ".join(runs) + " |\n|---|" + "---|" * len(runs) + "\n"
    body_rows = []
    for title, key, fmt in keys:
        cells = []
        for r in results.values():
            v = r[key] * 1e3 if key == "kid_dlib" else r[key]
            cell = fmt.format(v)
            if key == "real_nn_pixel_rmse_median":
                cell += f" / {r['real_nn_pixel_rmse_min']:.3f}"
            cells.append(cell)
        body_rows.append(f"| {title} | " + " | ".join(cells) + " |")
    names_ = ", ".join(f"`{label}` = `{results[label]['model_name']}` ({runs[label]})"
                       for label in runs)
    body = (f"Machine: {machine()} (CPU only, shared with other jobs; 1 torch thread per "
            f"training run).\n\nModels: {names_}, all at {size} px, trained on the same faces: "
            f"{', '.join(map(str, args.real))} ({len(real['emb'])} faces). The metrics compare "
            f"{args.n} generated faces (truncation {args.truncation}) with **those same "
            "training faces** (no held-out set). The Fréchet distance and KID are computed on "
            "dlib's 128-d identity embeddings: our own offline metric, **not comparable to "
            "published FID/KID** (Inception features, 50 000 images). NN = nearest training "
            "face (mirrored faces included in pixel space; RMSE of [0, 1] pixel values at "
            f"{size} px); the real→real rows are the same distance from each training face to "
            "its nearest *other* training face (consecutive video frames are near-duplicates, "
            "so that reference is low).\n\n" + head + "\n".join(body_rows)
            + "\n\nSheets of the closest generated/training pairs: `RUN/eval/nearest.png`."
            + (f"\n\n{args.note}" if args.note else ""))
    print(body)
    write_section(f"GAN faces: metrics side by side ({size} px, CPU-trained)", body)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("throughput")
    t.add_argument("--steps", type=int, default=4)
    t.add_argument("--batch", type=int, default=0)
    t.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256])
    t.add_argument("--device")
    q = sub.add_parser("quality")
    q.add_argument("--run", action="append", required=True, help="LABEL=MODEL_DIR")
    q.add_argument("--real", action="append", required=True)
    q.add_argument("-n", type=int, default=500)
    q.add_argument("--truncation", type=float, default=1.0)
    q.add_argument("--device")
    q.add_argument("--note", help="A paragraph to add (how the runs were trained).")
    q.add_argument("--real-cache", help="An .npz file to keep the real faces' features in "
                   "(reused when it exists; made for the same --real facesets and size).")
    args = ap.parse_args()
    {"throughput": throughput, "quality": quality}[args.cmd](args)


if __name__ == "__main__":
    main()
