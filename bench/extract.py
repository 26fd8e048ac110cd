"""Extraction benchmark: coverage, tracks and jitter on real videos, throughput at 720p,
dlib's landmark error against synthetic ground truth, and the align/warp-back round trip.

    .venv/bin/python bench/extract.py [--quick]

Writes the "Extraction" section of BENCHMARKS.md. Needs ../shared/data/faces for the real
videos; the synthetic parts run anywhere.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import SHARED, machine, write_section
from twoface.data.extract import ExtractOptions, extract
from twoface.data.faceset import Faceset, validate
from twoface.faces.align import align_face, warp_back
from twoface.faces.detect import detect, landmarks
from twoface.faces.dlib_models import DlibModels
from twoface.faces.mask import face_mask
from twoface.faces.track import FaceTracker, smooth_landmarks
from twoface.media import iter_frames, probe


def displacement(seq: np.ndarray) -> float:
    """Mean frame-to-frame landmark displacement in inter-ocular distances."""
    iod = np.linalg.norm(seq[:, 45] - seq[:, 36], axis=1)
    return float((np.linalg.norm(np.diff(seq, axis=0), axis=2).mean(1) / iod[:-1]).mean())


def acceleration(seq: np.ndarray) -> float:
    """Mean second difference (jitter with the smooth motion taken out), same unit."""
    iod = np.linalg.norm(seq[:, 45] - seq[:, 36], axis=1)
    acc = seq[2:] - 2 * seq[1:-1] + seq[:-2]
    return float((np.linalg.norm(acc, axis=2).mean(1) / iod[1:-1]).mean())


def real_video(path: Path, models: DlibModels) -> dict:
    """Coverage, tracks, schema and jitter for one real video (raw vs smoothed landmarks)."""
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        report = extract([path], Path(tmp) / "fs", ExtractOptions(), models=models)
        seconds = time.perf_counter() - t0
        fs = Faceset.load(Path(tmp) / "fs")
        import json

        valid = validate(json.loads(fs.json_path.read_text())) is None
    frames = report.frames
    with_face = len({f.frame for f in fs.faces})
    # Raw landmarks of the same tracker, for the jitter comparison.
    tracker = FaceTracker(models)
    raw, times = [], []
    for fr in iter_frames(path):
        faces = tracker.update(fr.image, fr.index, fr.time)
        if faces:
            raw.append(faces[0].landmarks)
            times.append(fr.time)
    raw_a = np.array(raw, np.float64)
    smooth = smooth_landmarks(raw_a, np.array(times)).astype(np.float64)
    iod = np.linalg.norm(raw_a[:, 45] - raw_a[:, 36], axis=1)
    dev = np.linalg.norm(smooth - raw_a, axis=2).mean(1) / iod
    speed = np.r_[0, np.linalg.norm(np.diff(raw_a, axis=0), axis=2).mean(1) / iod[1:]]
    fast = speed >= np.percentile(speed, 90)
    return {"name": path.name, "frames": frames, "coverage": with_face / max(1, frames),
            "tracks": report.tracks, "valid": valid, "seconds": seconds,
            "disp_raw": displacement(raw_a), "disp_smooth": displacement(smooth),
            "acc_raw": acceleration(raw_a), "acc_smooth": acceleration(smooth),
            "dev_fast": float(dev[fast].mean()), "iod_px": float(np.median(iod))}


def throughput_720p(path: Path, models: DlibModels, limit: int) -> dict:
    info = probe(path)
    with tempfile.TemporaryDirectory() as tmp:
        # Cut the first `limit` frames so the run stays short; every frame is processed.
        from twoface.media import VideoWriter

        clip = Path(tmp) / "clip.mp4"
        with VideoWriter(clip, info.fps, crf=18) as w:
            for i, fr in enumerate(iter_frames(path)):
                if i >= limit:
                    break
                w.write(fr.image)
        t0 = time.perf_counter()
        report = extract([clip], Path(tmp) / "fs", ExtractOptions(), models=models)
        seconds = time.perf_counter() - t0
    return {"size": f"{info.width}×{info.height}", "frames": report.frames,
            "fps": report.frames / seconds, "faces": report.faces}


def synthetic(models: DlibModels, n: int) -> dict:
    from twoface.synth import Expression, Identity, render
    from twoface.types import Pose

    rng = np.random.default_rng(7)
    nme, found, rt_err = [], 0, []
    for i in range(n):
        ident = Identity.random(1000 + i)
        yaw = float(rng.uniform(-15, 15))
        pose = Pose(yaw, float(rng.uniform(-10, 10)), float(rng.uniform(-8, 8)))
        expr = Expression(mouth_open=float(rng.uniform(0, 0.6)), smile=float(rng.uniform(0, 1)))
        r = render(ident, pose, expr, size=256, seed=i)
        dets = detect(r.image, models, upsample=0)
        if not dets:
            continue
        found += 1
        pred = landmarks(r.image, dets[0][0], models)
        iod = np.linalg.norm(r.landmarks[45] - r.landmarks[36])
        nme.append(float(np.linalg.norm(pred - r.landmarks, axis=1).mean() / iod))
        aligned = align_face(r.image, r.landmarks, size=512)
        back = warp_back(aligned.image, aligned.matrix, r.image.shape)
        import cv2

        mask = cv2.erode((face_mask(r.landmarks, r.image.shape) > 0.5).astype(np.uint8),
                         np.ones((5, 5), np.uint8)) > 0
        rt_err.append(float(np.abs(back.astype(float) - r.image.astype(float))[mask].mean()))
    return {"n": n, "detected": found / n, "nme_mean": float(np.mean(nme)),
            "nme_median": float(np.median(nme)), "roundtrip": float(np.mean(rt_err))}


def synthetic_lag(models: DlibModels) -> dict:
    """Error against ground truth on a synthetic fast head turn: raw vs smoothed landmarks."""
    from twoface.synth import Identity, render_sequence

    renders = render_sequence(Identity.random(5), 75, fps=25, size=256, seed=5,
                              yaw_amplitude=30)
    tracker = FaceTracker(models)
    raw, truth, times = [], [], []
    for i, r in enumerate(renders):
        faces = tracker.update(r.image, i, i / 25)
        if faces:
            raw.append(faces[0].landmarks)
            truth.append(r.landmarks)
            times.append(i / 25)
    raw_a, truth_a = np.array(raw, np.float64), np.array(truth, np.float64)
    smooth = smooth_landmarks(raw_a, np.array(times)).astype(np.float64)
    iod = np.linalg.norm(truth_a[:, 45] - truth_a[:, 36], axis=1)
    err = lambda x: np.linalg.norm(x - truth_a, axis=2).mean(1) / iod  # noqa: E731
    speed = np.r_[0, np.linalg.norm(np.diff(truth_a, axis=0), axis=2).mean(1) / iod[1:]]
    fast = speed >= np.percentile(speed, 75)
    return {"frames": len(raw), "err_raw": float(err(raw_a).mean()),
            "err_smooth": float(err(smooth).mean()), "err_raw_fast": float(err(raw_a)[fast].mean()),
            "err_smooth_fast": float(err(smooth)[fast].mean())}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer renders and frames")
    args = ap.parse_args()
    models = DlibModels()
    lines = [f"Machine: {machine()}.", ""]
    if SHARED.is_dir():
        drive = SHARED / "liveportrait" / "driving"
        rows = [real_video(drive / name, models) for name in ("d9.mp4", "d6.mp4")]
        lines += ["Real videos (every frame, HOG every 5 frames, tracking in between):", "",
                  "| video | frames | frames with a face | tracks | schema valid | "
                  "displacement raw → smoothed (IOD/frame) | ratio | 2nd difference raw → "
                  "smoothed | ratio | |smoothed − raw| on the fastest 10% frames (IOD) |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for r in rows:
            lines.append(
                f"| {r['name']} | {r['frames']} | {r['coverage']:.1%} | {r['tracks']} | "
                f"{r['valid']} | {r['disp_raw']:.4f} → {r['disp_smooth']:.4f} | "
                f"{r['disp_raw'] / r['disp_smooth']:.2f}× | {r['acc_raw']:.4f} → "
                f"{r['acc_smooth']:.4f} | {r['acc_raw'] / r['acc_smooth']:.1f}× | "
                f"{r['dev_fast']:.4f} (IOD ≈ {r['iod_px']:.0f} px) |")
        tp = [throughput_720p(drive / "d13.mp4", models, 90 if args.quick else 240)
              for _ in range(1 if args.quick else 3)]
        fps = statistics.median(t["fps"] for t in tp)
        lines += ["", f"Throughput, 720p ({tp[0]['size']}, d13.mp4, first {tp[0]['frames']} "
                  f"frames, every frame, tracking, both passes and PNG writes): median "
                  f"**{fps:.1f} frames/s** over {len(tp)} run(s)."]
    else:
        lines.append("(../shared/data/faces absent: real-video rows skipped)")
    syn = synthetic(models, 40 if args.quick else 200)
    lag = synthetic_lag(models)
    lines += ["", f"Synthetic faces ({syn['n']} renders, |yaw| ≤ 15°, 256²): HOG found "
              f"{syn['detected']:.1%}; dlib 68-point NME against the renderer's ground truth "
              f"(inter-ocular) mean **{syn['nme_mean']:.4f}**, median {syn['nme_median']:.4f}; "
              f"align at 512 → warp back: mean absolute error inside the mask "
              f"**{syn['roundtrip']:.2f}/255**.",
              "", f"Smoothing on a synthetic head turn (±30° yaw, {lag['frames']} frames, error "
              f"to ground truth in IOD): all frames raw {lag['err_raw']:.4f} → smoothed "
              f"{lag['err_smooth']:.4f}; fastest quarter raw {lag['err_raw_fast']:.4f} → "
              f"smoothed {lag['err_smooth_fast']:.4f} (smoothing is zero-phase: no lag)."]
    body = "\n".join(lines)
    print(body)
    write_section("Extraction", body)


if __name__ == "__main__":
    main()
