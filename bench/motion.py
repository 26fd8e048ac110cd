"""First-order motion model benchmark: training throughput, animation speed at 256 px, and
FOMM's metrics on held-out clips. Runs on the CPU; on a CUDA machine the same commands use the
GPU (bf16 autocast and channels_last, as the training loop does) and write ``(cuda)`` sections.

    .venv/bin/python bench/motion.py throughput [--steps 3]
    .venv/bin/python bench/motion.py animate MODEL_DIR --source IMG --driving VIDEO
    .venv/bin/python bench/motion.py quality MODEL_DIR --clips runs/motion/clips_heldout

Each sub-command writes its own section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine, write_section
from _timing import sync, train_rate
from twoface.device import pick_device
from twoface.models import create, names
from twoface.nn.warp import random_warp_params


def _batch(size: int, batch: int, device: torch.device) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    img = torch.rand(batch + 1, 3, size, size, generator=g)
    warp = random_warp_params(batch, g, 0.05, 0.005)
    return {k: v.to(device) for k, v in
            {"source": img[:-1], "driving": img[1:], **warp}.items()}


@torch.no_grad()
def _animate_rate(model: torch.nn.Module, device: torch.device, batch: int, reps: int) -> float:
    """Frames per second of the network alone when animating: keypoints of a batch of driving
    frames, dense motion and generator, the source encoded once (as the pipeline does)."""
    model.to(device).eval()
    size = model.config.size
    src = torch.rand(1, 3, size, size, device=device)
    drv = torch.rand(batch, 3, size, size, device=device)
    amp = torch.autocast("cuda", torch.bfloat16, enabled=device.type == "cuda")
    with amp:
        kp_s, feat = model.keypoints(src), model.encode(src)
        t0 = 0.0
        for i in range(reps + 1):
            if i == 1:
                sync(device)
                t0 = time.perf_counter()
            model.animate(src, feat, kp_s, model.keypoints(drv))
    sync(device)
    return reps * batch / (time.perf_counter() - t0)


def throughput(args: argparse.Namespace) -> None:
    device = pick_device(args.device)
    rows = ["| variant | size | params (M) | train batch | train pairs/s | animate frames/s |",
            "|---|---|---|---|---|---|"]
    for name in names("motion"):
        for size in (64, 128, 256):
            torch.manual_seed(0)
            model = create("motion", name, size=size)
            params = sum(p.numel() for p in model.parameters()) / 1e6
            batch = args.batch or (8 if name == "small" or device.type == "cuda" else 2)
            train = train_rate(model, lambda _i, b=_batch(size, batch, device): b, device,
                               args.steps)
            anim = _animate_rate(model, device, 8, args.steps)
            rows.append(f"| {name} | {size} | {params:.1f} | {batch} | {train:.2f} | "
                        f"{anim:.2f} |")
            print(rows[-1], flush=True)
    write_section(f"Motion model: throughput ({device.type})",
                  f"Machine: {machine()}; device {device}; torch threads "
                  f"{torch.get_num_threads()}.\n\nTraining: full step (keypoints of source, "
                  "driving and the warped driving frame, dense motion, generator, pyramid "
                  "L1 + SSIM and equivariance losses, backward, AdamW) on random data "
                  "resident on the device. Animating: the network alone, batches of 8 driving "
                  "frames against one encoded source. Random weights (speed does not depend "
                  f"on them); {args.steps} timed steps after one warm-up. The CPU is shared "
                  "with other jobs, so treat the numbers as ±30 %.\n\n" + "\n".join(rows))


def animate(args: argparse.Namespace) -> None:
    """End-to-end frames/s of ``twoface animate`` with a trained model, 256 px output."""
    from twoface.apply.animate import AnimateOptions, AnimatePipeline
    from twoface.media import probe

    pipe = AnimatePipeline.from_pretrained(args.model, args.device)
    rows = ["| run | frames | seconds | frames/s |", "|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for label, opts in (("crop, 256 px out, marked", AnimateOptions(out_size=256)),
                            ("crop, 256 px out, --no-mark", AnimateOptions(out_size=256,
                                                                          mark=False))):
            out = Path(tmp) / "out.mp4"
            t0 = time.perf_counter()
            report = pipe(args.source, args.driving, out, opts)
            total = time.perf_counter() - t0
            rows.append(f"| {label} (whole command) | {report.frames} | {total:.1f} | "
                        f"{report.frames / total:.1f} |")
            rows.append(f"| {label} (frame loop only) | {report.frames} | "
                        f"{report.seconds:.1f} | {report.fps:.1f} |")
            print(rows[-2], rows[-1], sep="\n", flush=True)
    info = probe(args.driving)
    body = (f"Machine: {machine()}; device {pipe.device}; torch threads "
            f"{torch.get_num_threads()}; model `{args.model}` ({pipe.model.name}, "
            f"{pipe.model.config.size} px, upscaled to 256 px output); source "
            f"`{Path(args.source).name}`, driving `{Path(args.driving).name}` "
            f"({info.width}×{info.height}, {info.frame_count} frames). The whole command "
            "includes tracking the driving video's face and encoding; the frame loop is "
            "crop → keypoints → dense motion → generator → watermark → H.264.\n\n"
            + "\n".join(rows))
    write_section(f"Motion model: animation speed ({pipe.device.type})", body)


def _training_summary(run: Path, batch: int) -> str:
    from twoface.train.checkpoint import checkpoint_step

    rows = list(csv.DictReader((run / "log.csv").open()))
    if not rows:
        return "no training log"
    last = rows[-1]
    seconds = float(last["time"]) - float(rows[0]["time"])
    step0 = int(rows[0]["step"])
    cfg = json.loads((run / "config.json").read_text())
    return (f"model `{cfg['name']}` at {cfg['config']['size']} px "
            f"({cfg['config']['keypoints']} keypoints), trained {checkpoint_step(run)} steps "
            f"of {batch} frame pairs, {seconds / 60:.0f} min between the "
            f"log rows at step {step0} and {last['step']}, last logged rate "
            f"{float(last['examples_per_s']):.1f} pairs/s, last losses: rec "
            f"{float(last['rec']):.3f}, L1 {float(last['l1']):.3f}, equivariance "
            f"{float(last['eq_value']):.3f} / {float(last['eq_jacobian']):.3f}")


def quality(args: argparse.Namespace) -> None:
    from twoface.evaluate.motion import evaluate_motion

    result = evaluate_motion(args.clips, args.model, every=args.every, device=args.device,
                             output=args.output, progress=True)
    s = result["summary"]
    rows = ["| clip | frames | L1 | AKD (px @256) | AED | missing | static L1 | static AKD |",
            "|---|---|---|---|---|---|---|---|"]
    for c in result["clips"]:
        rows.append(f"| {c['clip']} | {c['frames']} | {c['l1']:.4f} | {c['akd']:.2f} | "
                    f"{c['aed']:.3f} | {c['missing_rate']:.2f} | {c['l1_static']:.4f} | "
                    f"{c['akd_static']:.2f} |")
    rows.append(f"| **all** | {s['frames']} | **{s['l1']:.4f}** | **{s['akd_px256']:.2f}** | "
                f"**{s['aed']:.3f}** | {s['missing_rate']:.2f} | {s['l1_static_source']:.4f} | "
                f"{s['akd_static_source']:.2f} |")
    body = (f"Machine: {machine()}. Held-out clips: "
            f"{', '.join(c['clip'] for c in result['clips'])} (never seen in training); "
            f"{_training_summary(Path(args.model), args.train_batch)}.\n\nProtocol (FOMM's "
            "reconstruction): source = first frame of each clip, driving = every frame of "
            f"the same clip (every {args.every}), absolute keypoints. L1 on [0, 1] pixels at "
            f"the model's size ({s['model_size']} px); AKD and AED with dlib's 68-point "
            "landmarks and 128-d embedding at 256 px"
            + (f" ({s['note']})" if "note" in s else "") + "; frames where dlib finds the "
            "real face but not the generated one count as *missing* and are left out of "
            "AKD/AED. *Static* is the do-nothing baseline: the source frame shown unchanged for "
            "every frame.\n\n" + "\n".join(rows) +
            f"\n\nCross-identity (each held-out clip's first frame animated by the other "
            f"clip, relative motion): dlib embedding distance of the output to the source "
            f"image **{s['id_dist_output_to_source']:.3f}**, against "
            f"{s['id_dist_driver_to_source']:.3f} for the driver's own frames (below 0.6 "
            "reads as the same person to dlib).\n\nFor reference only, the FOMM paper reports "
            "AKD 1.294 and AED 0.140 on VoxCeleb at 256 px with a 256 px model trained for "
            "days on GPUs, and other landmark and identity networks (AED there is not on "
            "dlib's scale): these numbers are not comparable one to one.")
    print(body)
    write_section("Motion model: held-out quality (CPU model)", body)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default=None)
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("throughput")
    t.add_argument("--steps", type=int, default=3)
    t.add_argument("--batch", type=int, default=0)
    a = sub.add_parser("animate")
    a.add_argument("model")
    a.add_argument("--source", required=True)
    a.add_argument("--driving", required=True)
    q = sub.add_parser("quality")
    q.add_argument("model")
    q.add_argument("--clips", nargs="+", required=True)
    q.add_argument("--every", type=int, default=1)
    q.add_argument("--output", default=None)
    q.add_argument("--train-batch", type=int, default=8,
                   help="the run's --batch (for the text)")
    args = ap.parse_args()
    {"throughput": throughput, "animate": animate, "quality": quality}[args.cmd](args)


if __name__ == "__main__":
    main()
