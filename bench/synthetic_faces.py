"""How human do the synthetic faces look to dlib? Detection rate and landmark agreement.

Renders random identities with random expressions and poses at 256×256, runs dlib's HOG face
detector without upsampling and its 68-point predictor on the detected box, and compares with
the renderer's ground truth. Prints a table (the lead copies numbers into BENCHMARKS.md).

    .venv/bin/python bench/synthetic_faces.py [--n 200] [--nme-n 200] [--detail]

NME: mean point-to-point error over the 68 points divided by the ground-truth distance between
the outer eye corners (points 36 and 45).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

import dlib
import numpy as np

from twoface.synth import Expression, Identity, render
from twoface.types import Pose

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine, write_section

REGIONS = {"jaw": slice(0, 17), "brows": slice(17, 27), "nose": slice(27, 36),
           "eyes": slice(36, 48), "mouth": slice(48, 68)}


def _models() -> tuple:
    spec = importlib.util.find_spec("face_recognition_models")
    assert spec is not None and spec.submodule_search_locations
    path = Path(spec.submodule_search_locations[0]) / "models"
    return (dlib.get_frontal_face_detector(),
            dlib.shape_predictor(str(path / "shape_predictor_68_face_landmarks.dat")))


def _case(i: int, max_yaw: float) -> tuple[Identity, Pose, Expression]:
    rng = np.random.default_rng([i, 99])
    pose = Pose(float(rng.uniform(-max_yaw, max_yaw)), float(rng.uniform(-15, 15)),
                float(rng.uniform(-10, 10)))
    return Identity.random(i), pose, Expression.random(i)


def evaluate(n: int, max_yaw: float, detector, predictor, offset: int) -> dict:
    """Detection and landmark error over ``n`` random renders with ``|yaw| <= max_yaw``."""
    found, nmes, per_region, times, signed = 0, [], {k: [] for k in REGIONS}, [], []
    for i in range(offset, offset + n):
        idn, pose, expr = _case(i, max_yaw)
        t = time.perf_counter()
        r = render(idn, pose, expr, size=256, seed=i)
        times.append(time.perf_counter() - t)
        gt = r.landmarks
        lo, hi = gt.min(0), gt.max(0)
        boxes = [b for b in detector(r.image, 0)
                 if lo[0] < (b.left() + b.right()) / 2 < hi[0]
                 and lo[1] < (b.top() + b.bottom()) / 2 < hi[1]]
        if not boxes:
            continue
        found += 1
        shape = predictor(r.image, boxes[0])
        pred = np.array([[p.x, p.y] for p in shape.parts()], np.float32)
        iod = float(np.linalg.norm(gt[36] - gt[45]))
        err = np.linalg.norm(pred - gt, axis=1) / iod
        nmes.append(float(err.mean()))
        for k, sl in REGIONS.items():
            per_region[k].append(float(err[sl].mean()))
        signed.append((pred - gt) / iod)
    return {"n": n, "found": found, "nme": np.array(nmes), "regions": per_region,
            "ms": 1000 * float(np.median(times)), "signed": np.array(signed)}


def _frame_time() -> tuple[float, float]:
    """Median ms per frame for one identity over random poses and expressions, and the cost
    of building a new identity's head (done once, then cached)."""
    idn = Identity.random(424242)
    t = time.perf_counter()
    render(idn, size=256)
    first = time.perf_counter() - t
    times = []
    for i in range(21):
        pose, expr = _case(i, 25)[1:]
        t = time.perf_counter()
        render(idn, pose, expr, size=256, seed=i)
        times.append(time.perf_counter() - t)
    per_frame = float(np.median(times[1:]))
    return 1000 * per_frame, 1000 * (first - per_frame)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=200, help="renders for the detection rate")
    ap.add_argument("--nme-n", type=int, default=200, help="renders for the landmark error")
    ap.add_argument("--detail", action="store_true", help="per-point mean signed error")
    args = ap.parse_args()
    detector, predictor = _models()
    det = evaluate(args.n, 30, detector, predictor, 0)
    lm = evaluate(args.nme_n, 15, detector, predictor, 100_000)
    nme = lm["nme"]
    regions = ", ".join(f"{k} {np.mean(v):.4f}" for k, v in lm["regions"].items())
    frame_ms = _frame_time()
    rows = [
        "| check | renders | result |",
        "|---|---|---|",
        f"| HOG detection, no upsampling, \\|yaw\\|≤30°, \\|pitch\\|≤15°, \\|roll\\|≤10° | "
        f"{det['n']} | {det['found'] / det['n']:.1%} |",
        f"| 68-point NME (inter-ocular), \\|yaw\\|≤15° | {lm['found']} detected of {lm['n']} | "
        f"mean {nme.mean():.4f}, median {np.median(nme):.4f}, p95 {np.percentile(nme, 95):.4f}"
        f", max {nme.max():.4f} |",
        f"| NME by region | | {regions} |",
        f"| render time, new identity each time (median, 256²) | {det['n']} | "
        f"{det['ms']:.0f} ms |",
        f"| render time, same identity (median, 256²; building a new identity: "
        f"{frame_ms[1]:.0f} ms once) | 20 | {frame_ms[0]:.0f} ms |",
    ]
    body = "\n".join([f"Machine: {machine()}.", "", *rows])
    print(body)
    write_section("Synthetic faces (dlib's view)", body)
    if args.detail:
        s = lm["signed"].mean(0)
        for i in range(68):
            print(f"{i:2d} dx {s[i, 0]:+.3f} dy {s[i, 1]:+.3f}")


if __name__ == "__main__":
    main()
