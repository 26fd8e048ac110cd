"""Tracking benchmark: how far a followed face's landmarks stray from where the detector puts
them, with and without the optical-flow step of :class:`twoface.faces.track.FaceTracker`.

Every real driving clip of ``../shared`` (LivePortrait), the first ``--frames`` frames. The
reference is dlib's landmarks fitted in a detector box on every frame (what the predictor was
trained for); the tracker detects every 5th frame and follows in between (``flow=False``: the
box is carried over from the previous frame, as before 2026-12-07; ``flow=True``: it is first
moved by the landmarks' optical flow). Error per frame: mean distance over the 68 points in
inter-ocular distances; a frame is *lost* beyond 0.25 (the face outline no longer on the face).
Raw landmarks, before any smoothing.

    .venv/bin/python bench/tracking.py [--frames 150] [--no-write]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import SHARED, machine, write_section

LOST = 0.25


def reference(path: Path, frames: int, models: Any) -> dict[int, np.ndarray]:
    """Landmarks in the largest detector box of every frame."""
    from twoface.faces.detect import detect, landmarks
    from twoface.media import iter_frames

    out = {}
    for fr in iter_frames(path):
        if fr.index >= frames:
            break
        found = detect(fr.image, models)
        if found:
            box = max(found, key=lambda f: f[0].area)[0]
            out[fr.index] = landmarks(fr.image, box, models)
    return out


def tracked(path: Path, frames: int, models: Any, flow: bool) -> tuple[dict, float]:
    """The main track's raw landmarks per frame, and the seconds the tracker took."""
    from twoface.faces.track import FaceTracker, TrackerConfig
    from twoface.media import iter_frames

    tracker = FaceTracker(models, TrackerConfig(detect_every=5, flow=flow))
    per: dict[int, dict[int, np.ndarray]] = {}
    spent = 0.0
    for fr in iter_frames(path):
        if fr.index >= frames:
            break
        t = time.perf_counter()
        faces = tracker.update(fr.image, fr.index, fr.time)
        spent += time.perf_counter() - t
        for f in faces:
            per.setdefault(f.track_id, {})[fr.index] = f.landmarks
    main = max(per.values(), key=len) if per else {}
    return main, spent


def errors(track: dict[int, np.ndarray], ref: dict[int, np.ndarray]) -> np.ndarray:
    out = []
    for i, r in ref.items():
        if i not in track:
            out.append(np.inf)  # the tracker has no face where the detector has one
            continue
        iod = float(np.linalg.norm(r[45] - r[36])) or 1.0
        out.append(float(np.linalg.norm(track[i] - r, axis=1).mean()) / iod)
    return np.array(out)


def speed_720p(models: Any, frames: int = 240, repeats: int = 3) -> dict[bool, float]:
    """Median ms per frame of the tracker alone on d13 (720 × 1280), both ways, interleaved."""
    from twoface.faces.track import FaceTracker, TrackerConfig
    from twoface.media import iter_frames

    images = [fr.image for fr in iter_frames(SHARED / "liveportrait" / "driving" / "d13.mp4")
              if fr.index < frames]
    spent: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(repeats):
        for flow in (False, True):
            tracker = FaceTracker(models, TrackerConfig(detect_every=5, flow=flow))
            t = time.perf_counter()
            for k, image in enumerate(images):
                tracker.update(image, k, k / 30)
            spent[flow].append(1000 * (time.perf_counter() - t) / len(images))
    return {flow: float(np.median(v)) for flow, v in spent.items()}


def main() -> None:
    from twoface.faces.dlib_models import DlibModels

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=150)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    clips = sorted((SHARED / "liveportrait" / "driving").glob("*.mp4"))
    if not clips:
        raise SystemExit(f"no clips under {SHARED}: this benchmark needs ../shared")
    models = DlibModels()
    t0 = time.time()
    rows = []
    for clip in clips:
        ref = reference(clip, args.frames, models)
        row: dict = {"clip": clip.stem, "frames": len(ref)}
        for flow in (False, True):
            track, spent = tracked(clip, args.frames, models, flow)
            e = errors(track, ref)
            row[flow] = {"mean": float(np.mean(np.minimum(e, 1.0))),
                         "p95": float(np.percentile(np.minimum(e, 1.0), 95)),
                         "lost": int((e > LOST).sum()), "ms": 1000 * spent / max(len(ref), 1)}
        rows.append(row)
        print(row, flush=True)

    def cell(r: dict, flow: bool) -> str:
        v = r[flow]
        return f"{v['mean']:.3f} / {v['p95']:.3f} / {v['lost']}"

    total = {flow: {"frames": sum(r["frames"] for r in rows),
                    "lost": sum(r[flow]["lost"] for r in rows),
                    "mean": float(np.mean([r[flow]["mean"] for r in rows])),
                    "ms": float(np.median([r[flow]["ms"] for r in rows]))}
             for flow in (False, True)}
    fast = speed_720p(models)
    body = [f"`python bench/tracking.py` on {machine()}; {(time.time() - t0) / 60:.1f} min. "
            f"The first {args.frames} frames of the {len(rows)} LivePortrait driving clips; the "
            "tracker detects every 5th frame and follows in between; error against dlib's "
            "landmarks in a detector box on every frame, in inter-ocular distances (mean over "
            f"frames / 95th percentile / frames lost, error > {LOST}):", "",
            "| clip | frames | box carried over (before) | box moved by optical flow |",
            "|---|---|---|---|"]
    body += [f"| {r['clip']} | {r['frames']} | {cell(r, False)} | {cell(r, True)} |"
             for r in rows]
    body += [f"| **all** | {total[False]['frames']} | mean {total[False]['mean']:.3f}, "
             f"{total[False]['lost']} lost | mean {total[True]['mean']:.3f}, "
             f"{total[True]['lost']} lost |", "",
             f"Tracker time per frame (median over clips, detection included): "
             f"{total[False]['ms']:.1f} ms before, {total[True]['ms']:.1f} ms with the flow; "
             f"at 720 × 1280 (d13, 240 frames, median of 3 interleaved runs): "
             f"{fast[False]:.1f} ms before, {fast[True]:.1f} ms with the flow."]
    text = "\n".join(body) + "\n"
    print(text)
    if not args.no_write:
        write_section("Tracking: following fast heads", text)


if __name__ == "__main__":
    main()
