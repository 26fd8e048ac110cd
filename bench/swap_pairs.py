"""Many face-swap pairs at once, for the detection benchmark's swap fakes.

The facesets (dlib, here) and the GPU (no dlib, no PyAV, 64 MiB per call) live on different
machines, so the work is cut in three:

    python bench/swap_pairs.py pack FS... -o STACKS [--max 400]        # here: facesets → stacks
    python bench/swap_pairs.py train STACKS -o RUNS --pair A:B --gan-pair C:D --minutes 4
    python bench/swap_pairs.py export RUNS -o OUT   # there: fp16 weights + one tar.gz, to carry
    python bench/swap_pairs.py import OUT -o RUNS   # here: back to model folders
    python bench/swap_pairs.py swap RUNS --video NAME=PATH... -o OUT   # here: both directions

``pack`` turns each faceset into the exact ``(N, 5, S, S)`` uint8 stacks the swap trainer holds
on the device (RGB, face mask, eyes+mouth mask at the model's size and coverage), as one
compressed ``NAME.npz`` per identity: a few MB instead of a faceset's PNGs. ``train`` starts
one process per pair, all on one device, each stopping after ``--minutes`` (it saves first).
``--gan-pair`` trains with the adversarial loss. ``swap`` runs ``twoface swap`` for both
directions of every trained pair: A's video with B's face and B's video with A's face.
These fakes are for detector benchmarks only and are written *unmarked* (``--no-mark``): a
watermark in the fakes' pixels alone would be a shortcut a detector could learn. They stay in
the git-ignored ``runs/``; never publish them.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MODEL, SIZE = "light", 64


def pack(facesets: list[Path], out: Path, max_faces: int) -> None:
    from collections import Counter

    from twoface.data.faceset import Faceset
    from twoface.data.swap_batches import face_stack
    from twoface.models.registry import create

    coverage = create("swap", MODEL, size=SIZE).config.coverage
    out.mkdir(parents=True, exist_ok=True)
    for folder in facesets:
        fs = Faceset.load(folder)
        main = Counter(f.track for f in fs.faces).most_common(1)[0][0]  # the video's person
        faces = [f for f in fs.faces if f.track == main]
        keep = np.linspace(0, len(faces) - 1, min(max_faces, len(faces))).round().astype(int)
        stacks = np.stack([face_stack(fs.image(faces[i]), np.asarray(faces[i].matrix, float),
                                      faces[i].marks, SIZE, coverage) for i in keep])
        np.savez_compressed(out / f"{folder.name}.npz", stacks=stacks, size=SIZE,
                            coverage=coverage)
        print(f"{folder.name}: {len(keep)} of {len(fs.faces)} faces", flush=True)


def train_one(stacks: Path, a: str, b: str, run: Path, gan: bool, minutes: float,
              batch: int, amp: bool = True) -> None:
    import torch

    from twoface.data.swap_batches import SwapBatches
    from twoface.device import pick_device
    from twoface.train.checkpoint import new_or_resumed
    from twoface.train.loop import TrainOptions, fit

    net = new_or_resumed("swap", run, model=MODEL, default=MODEL,
                         config={"size": SIZE, "gan": gan}, resume=False)
    device = pick_device(None)
    side = [torch.from_numpy(np.load(stacks / f"{n}.npz")["stacks"]) for n in (a, b)]
    data = SwapBatches(side[0], side[1], batch, device=device, seed=0,
                       face_weight=net.config.face_weight,
                       feature_weight=net.config.feature_weight)
    result = fit(net, data.batch, run, TrainOptions(
        steps=10**7, minutes=minutes, save_every=10**6, preview_every=1000, log_every=50,
        progress=False, amp=amp, description=f"{a}:{b}"))
    info = {"a": a, "b": b, "gan": gan, "steps": result.step, "batch": batch, "amp": amp,
            "seconds": round(result.seconds, 1),
            "examples_per_s": round(result.examples_per_s, 1), "device": str(device),
            "card": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
            "last": result.last}
    (run / "pair.json").write_text(json.dumps(info, indent=1))
    print(json.dumps(info), flush=True)


def train(stacks: Path, out: Path, pairs: list[str], gan_pairs: list[str], minutes: float,
          batch: int, amp: bool = True) -> None:
    jobs = []
    for spec, gan in [(p, False) for p in pairs] + [(p, True) for p in gan_pairs]:
        a, b = spec.split(":")
        run = out / f"{a}_{b}{'_gan' if gan else ''}"
        cmd = [sys.executable, __file__, "train-one", str(stacks), a, b, str(run),
               "--minutes", str(minutes), "--batch", str(batch)] + (["--gan"] if gan else []) \
            + ([] if amp else ["--no-amp"])
        jobs.append(subprocess.Popen(cmd))
        time.sleep(2)  # let each claim its memory before the next starts
    codes = [j.wait() for j in jobs]
    if any(codes):
        sys.exit(f"a pair failed: exit codes {codes}")


def export(runs: Path, out: Path) -> None:
    """Each run's weights as fp16 ``NAME.safetensors`` (half the bytes: the device returns at
    most 16 MiB a file) and everything else of every run in one ``pairs.tar.gz``."""
    import tarfile

    from safetensors.torch import load_file, save_file

    out.mkdir(parents=True, exist_ok=True)
    with tarfile.open(out / "pairs.tar.gz", "w:gz") as tar:
        for run in sorted(p for p in runs.iterdir() if (p / "pair.json").exists()):
            state = load_file(str(run / "model.safetensors"))
            save_file({k: v.half() if v.is_floating_point() else v for k, v in state.items()},
                      str(out / f"{run.name}.safetensors"))
            for f in sorted(run.iterdir()):
                if f.name not in ("model.safetensors", "state.safetensors") and f.is_file():
                    tar.add(f, arcname=f"{run.name}/{f.name}")


def import_(src: Path, runs: Path) -> None:
    """Undo :func:`export`: model folders with fp32 weights under ``runs``."""
    import tarfile

    from safetensors.torch import load_file, save_file

    with tarfile.open(src / "pairs.tar.gz") as tar:
        tar.extractall(runs, filter="data")
    for w in sorted(src.glob("*.safetensors")):
        state = load_file(str(w))
        save_file({k: v.float() if v.is_floating_point() else v for k, v in state.items()},
                  str(runs / w.stem / "model.safetensors"))
        print(f"{w.stem}: imported", flush=True)


def swap(runs: Path, videos: dict[str, str], out: Path) -> None:
    """Both directions of every pair, into ``out/swap`` or ``out/swap_gan`` by its loss."""
    for run in sorted(p for p in runs.iterdir() if (p / "pair.json").exists()):
        info = json.loads((run / "pair.json").read_text())
        folder = out / ("swap_gan" if info["gan"] else "swap")
        folder.mkdir(parents=True, exist_ok=True)
        for direction, target, face in (("a2b", info["a"], info["b"]),
                                        ("b2a", info["b"], info["a"])):
            dest = folder / f"{target}_as_{face}.mp4"
            if dest.exists():
                continue
            subprocess.run([str(ROOT / ".venv" / "bin" / "twoface"), "swap", videos[target],
                            "-m", str(run), "--direction", direction, "-o", str(dest), "-q",
                            "--no-mark"],
                           check=True)
            print(f"{dest.name} done", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pack")
    p.add_argument("facesets", type=Path, nargs="+")
    p.add_argument("-o", type=Path, required=True)
    p.add_argument("--max", type=int, default=400)
    t = sub.add_parser("train")
    t.add_argument("stacks", type=Path)
    t.add_argument("-o", type=Path, required=True)
    t.add_argument("--pair", action="append", default=[])
    t.add_argument("--gan-pair", action="append", default=[])
    t.add_argument("--minutes", type=float, default=4.0)
    t.add_argument("--batch", type=int, default=32)
    t.add_argument("--no-amp", action="store_true", help="fp32 (bf16 autocast collapsed 4 of "
                   "5 pairs on an H100)")
    o = sub.add_parser("train-one")
    o.add_argument("stacks", type=Path)
    o.add_argument("a")
    o.add_argument("b")
    o.add_argument("run", type=Path)
    o.add_argument("--gan", action="store_true")
    o.add_argument("--minutes", type=float, default=4.0)
    o.add_argument("--batch", type=int, default=32)
    o.add_argument("--no-amp", action="store_true")
    e = sub.add_parser("export")
    e.add_argument("runs", type=Path)
    e.add_argument("-o", type=Path, required=True)
    i = sub.add_parser("import")
    i.add_argument("src", type=Path)
    i.add_argument("-o", type=Path, required=True)
    s = sub.add_parser("swap")
    s.add_argument("runs", type=Path)
    s.add_argument("--video", action="append", default=[], help="NAME=PATH")
    s.add_argument("-o", type=Path, required=True)
    args = ap.parse_args()
    if args.cmd == "pack":
        pack(args.facesets, args.o, args.max)
    elif args.cmd == "train":
        train(args.stacks, args.o, args.pair, args.gan_pair, args.minutes, args.batch,
              not args.no_amp)
    elif args.cmd == "train-one":
        train_one(args.stacks, args.a, args.b, args.run, args.gan, args.minutes, args.batch,
                  not args.no_amp)
    elif args.cmd == "export":
        export(args.runs, args.o)
    elif args.cmd == "import":
        import_(args.src, args.o)
    else:
        swap(args.runs, dict(v.split("=", 1) for v in args.video), args.o)


if __name__ == "__main__":
    main()
