"""Face networks benchmark: dlib's face recognition ResNet and mmod face detector, ported to
PyTorch (``twoface.faces.nets``), against dlib itself.

    .venv/bin/python bench/facenets.py [all|agree|speed] [--write] [--quick]
    python bench/facenets.py speed --device cuda --weights-dir DIR [--write]

``agree``: ≥ 500 face chips from ../shared/data/faces (dlib HOG, 5-point shape predictor,
``dlib.get_face_chip(img, shape, 150, 0.25)``) embedded by dlib and by the port; ≥ 50 images
(≤ 640 px) through both detectors. ``speed``: chips/s and 720p frames/s, medians of repeats in
one run, with dlib's own times beside them on the CPU. ``--device cuda`` times the port only
(no dlib needed; weights from ``--weights-dir`` when face_recognition_models is absent).
``--write`` puts the section into BENCHMARKS.md (only this section is replaced).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import SHARED, machine, write_section
from twoface.faces.nets import (
    detect_faces,
    detect_faces_batch,
    embed_chips,
    load_detector,
    load_embedder,
)

TITLE = "Face networks (dlib's ResNet and mmod detector in PyTorch)"
STILLS = ["public_domain_portraits/*", "multiface/**/*.png", "digiface1m/**/*.jpg",
          "gan_vs_real/**/*.png", "liveportrait/source/*.jpg", "liveportrait/driving/*.jpg"]


def shrink(img: np.ndarray, max_side: int | None) -> np.ndarray:
    """Downscale (bilinear) so that the longer side is at most ``max_side``."""
    from PIL import Image

    if not max_side or max(img.shape[:2]) <= max_side:
        return img
    s = max_side / max(img.shape[:2])
    size = (round(img.shape[1] * s), round(img.shape[0] * s))
    return np.asarray(Image.fromarray(img).resize(size, Image.BILINEAR))


def load_rgb(path: Path, max_side: int | None = None) -> np.ndarray:
    from PIL import Image

    return shrink(np.asarray(Image.open(path).convert("RGB")), max_side)


def video_frames(path: Path, count: int) -> Iterator[np.ndarray]:
    """``count`` frames spread over the first ~10 s of a video, RGB."""
    import av

    with av.open(str(path)) as box:
        for i, frame in enumerate(box.decode(video=0)):
            if i % 37 == 0:
                yield frame.to_ndarray(format="rgb24")
                count -= 1
            if count == 0:
                break


def shared_images(utk: int, frames_per_video: int) -> Iterator[tuple[str, np.ndarray]]:
    for pattern in STILLS:
        for p in sorted(SHARED.glob(pattern)):
            yield p.relative_to(SHARED).parts[0], load_rgb(p, 1280)
    for p in sorted((SHARED / "liveportrait").glob("*/*.mp4")):
        for f in video_frames(p, frames_per_video):
            yield "liveportrait video frames", f
    for p in sorted((SHARED / "utkface_adults").glob("*.jpg"))[:utk]:
        yield "utkface_adults", load_rgb(p)


def make_chips(dlib_mod, n_target: int, quick: bool) -> tuple[np.ndarray, dict[str, int]]:
    """Chips the way face_recognition does it: HOG, 5 landmarks, get_face_chip(…, 150, 0.25)."""
    import face_recognition_models as frm

    hog = dlib_mod.get_frontal_face_detector()
    sp = dlib_mod.shape_predictor(frm.pose_predictor_five_point_model_location())
    chips, sources = [], {}
    for source, img in shared_images(60 if quick else 400, 3 if quick else 10):
        for d in hog(img, 1 if max(img.shape[:2]) <= 700 else 0):
            chips.append(dlib_mod.get_face_chip(img, sp(img, d), 150, 0.25))
            sources[source] = sources.get(source, 0) + 1
        if len(chips) >= n_target:
            break
    return np.stack(chips), sources


def agree_embedder(dlib_mod, embedder, quick: bool) -> list[str]:
    import face_recognition_models as frm

    chips, sources = make_chips(dlib_mod, 120 if quick else 600, quick)
    enc = dlib_mod.face_recognition_model_v1(frm.face_recognition_model_location())
    theirs = np.stack([np.asarray(enc.compute_face_descriptor(c)) for c in chips])
    ours = embed_chips(chips, embedder=embedder)
    diff = np.abs(ours - theirs)
    iu = np.triu_indices(len(chips), 1)
    dist = lambda e: np.linalg.norm(e[:, None] - e[None], axis=2)[iu]  # noqa: E731
    d_theirs, d_ours = dist(theirs.astype(np.float64)), dist(ours.astype(np.float64))
    same = (d_theirs < 0.6) == (d_ours < 0.6)
    near = int((np.abs(d_theirs - 0.6) < 1e-3).sum())
    norms = np.linalg.norm(theirs, axis=1)
    src = ", ".join(f"{k} {v}" for k, v in sorted(sources.items(), key=lambda kv: -kv[1]))
    return [
        f"**Embedder.** {len(chips)} chips ({src}); dlib {dlib_mod.__version__} "
        "`compute_face_descriptor(chip)` against `embed_chips` (float32):", "",
        "| chips | max abs diff | mean abs diff | pairs | same-person decision (d < 0.6) "
        "agreement | max abs diff of pair distances | pairs within 1e-3 of 0.6 |",
        "|---|---|---|---|---|---|---|",
        f"| {len(chips)} | **{diff.max():.2e}** | {diff.mean():.2e} | {same.size} | "
        f"**{same.mean():.4%}** ({int((~same).sum())} differ) | "
        f"{np.abs(d_theirs - d_ours).max():.2e} | {near} |", "",
        f"dlib's descriptors are not L2-normalised (norms {norms.min():.2f}–{norms.max():.2f}); "
        "the port returns them the same way."]


def _iou(a, b) -> float:
    iw = min(a[2], b[2]) - max(a[0], b[0]) + 1
    ih = min(a[3], b[3]) - max(a[1], b[1]) + 1
    inter = max(iw, 0) * max(ih, 0)
    area = lambda r: (r[2] - r[0] + 1) * (r[3] - r[1] + 1)  # noqa: E731
    return inter / (area(a) + area(b) - inter)


def detector_images(quick: bool) -> list[np.ndarray]:
    pats = [("utkface_adults/*.jpg", 6 if quick else 20), ("gan_vs_real/crops/*/*.png", 10),
            ("digiface1m/crops/*.jpg", 6), ("multiface/crops/*.png", 5),
            ("public_domain_portraits/*", 2), ("gan_vs_real/*teaser*.png", 3),
            ("liveportrait/source/*.jpg", 6)]
    images = [load_rgb(p, 640) for pat, n in pats for p in sorted(SHARED.glob(pat))[:n]]
    for name in ("s18.mp4", "s29.mp4", "d9.mp4", "d13.mp4"):
        folder = SHARED / "liveportrait" / ("source" if name[0] == "s" else "driving")
        images += [shrink(f, 640) for f in video_frames(folder / name, 1 if quick else 2)]
    return images


def agree_detector(dlib_mod, detector, quick: bool) -> list[str]:
    import face_recognition_models as frm

    cnn = dlib_mod.cnn_face_detection_model_v1(frm.cnn_face_detector_model_location())
    images = detector_images(quick)
    n_theirs = matched = identical = extra = 0
    score_diff = 0.0
    for img in images:
        theirs = [(d.rect.left(), d.rect.top(), d.rect.right(), d.rect.bottom(), d.confidence)
                  for d in cnn(img, 0)]
        ours = detect_faces(img, detector=detector)
        n_theirs += len(theirs)
        for t in theirs:
            best = max(ours, key=lambda o, t=t: _iou(o, t), default=None)
            if best is not None and _iou(best, t) >= 0.9:
                matched += 1
                identical += best[:4] == t[:4]
                score_diff = max(score_diff, abs(best[4] - t[4]))
        extra += sum(all(_iou(o, t) < 0.5 for t in theirs) for o in ours if o[4] > 0)
    sizes = sorted({f"{im.shape[1]}×{im.shape[0]}" for im in images},
                   key=lambda s: -int(s.split("×")[0]))
    return [
        f"**Detector.** {len(images)} images from shared ({len(sizes)} sizes from {sizes[0]} "
        f"to {sizes[-1]}, large ones downscaled to ≤ 640 px), upsample 0, against "
        "`cnn_face_detection_model_v1(img, 0)`:", "",
        "| images | dlib boxes | matched at IoU ≥ 0.9 | identical rectangles | "
        "max abs score diff | extra boxes (score > 0, no dlib box at IoU ≥ 0.5) |",
        "|---|---|---|---|---|---|",
        f"| {len(images)} | {n_theirs} | **{matched / max(n_theirs, 1):.1%}** ({matched}) | "
        f"{identical} | {score_diff:.1e} | **{extra}** |"]


def median_time(fn: Callable[[], object], repeats: int, sync: Callable[[], None]) -> float:
    fn()  # warm-up (allocations, cuDNN autotuning, lazy loading)
    sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def frame_720p() -> np.ndarray:
    video = SHARED / "liveportrait" / "source" / "s18.mp4"
    if video.is_file():
        return next(video_frames(video, 1))
    from twoface.synth import Identity, render

    frame = np.full((720, 1280, 3), 90, np.uint8)  # shared data absent: one synthetic face
    frame[200:456, 500:756] = render(Identity.random(1), size=256, seed=1).image
    return frame


def speed(device: str, weights: Path | None, with_dlib: bool, quick: bool) -> list[str]:
    dev = torch.device(device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    reps = 3 if quick else 7
    embedder, detector = load_embedder(dev, weights), load_detector(dev, weights)
    chips = np.random.default_rng(0).integers(0, 256, (256, 150, 150, 3), dtype=np.uint8)
    rows = []
    dlib_chip = dlib_frame = None
    if with_dlib:
        import dlib
        import face_recognition_models as frm

        enc = dlib.face_recognition_model_v1(frm.face_recognition_model_location())
        cnn = dlib.cnn_face_detection_model_v1(frm.cnn_face_detector_model_location())
        dlib_chip = median_time(lambda: enc.compute_face_descriptor(chips[0]), reps, sync)
        dlib_b32 = median_time(lambda: enc.compute_face_descriptor(list(chips[:32])), 3, sync) / 32
    batches = (1, 32) if dev.type == "cpu" else (1, 32, 256)
    for dtype in (torch.float32, torch.bfloat16):
        for b in batches:
            t = median_time(lambda b=b, dtype=dtype: embed_chips(
                chips[:b], embedder=embedder, dtype=dtype, batch_size=b), reps, sync)
            name = "float32" if dtype == torch.float32 else "bf16 autocast"
            ref = "" if dlib_chip is None else (
                f"{1 / dlib_chip:.1f} (one by one)" if b == 1 else
                f"{1 / dlib_b32:.1f} (list of 32)" if b == 32 else "")
            ratio = "" if not ref else f"{(b / t) / (1 / (dlib_chip if b == 1 else dlib_b32)):.1f}×"
            rows.append(f"| embedder, batch {b}, {name} | {b / t:.1f} chips/s | {ref} | {ratio} |")
    frame = frame_720p()
    if with_dlib:
        dlib_frame = median_time(lambda: cnn(frame, 0), 3, sync)
    for b in (1, 4) if dev.type == "cpu" else (1, 8):
        frames = [frame] * b
        t = median_time(lambda f=frames, b=b: detect_faces_batch(
            f, detector=detector, batch_size=b), 3 if dev.type == "cpu" else reps, sync)
        ref = "" if dlib_frame is None else f"{1 / dlib_frame:.2f}"
        ratio = "" if dlib_frame is None else f"{dlib_frame / (t / b):.1f}×"
        rows.append(f"| detector, 720p ({frame.shape[1]}×{frame.shape[0]}), upsample 0, "
                    f"batch {b} | {b / t:.2f} frames/s | {ref} | {ratio} |")
    threads = torch.get_num_threads()
    head = (f"**Speed** on {device} ({threads} torch threads), medians of {reps} timed "
            "repeats after one warm-up" + (", dlib timed in the same run (the machine is "
                                           "shared: compare the ratios, not runs):"
                                           if with_dlib else ", the port only:"))
    return [head, "", "| network | port | dlib | port / dlib |", "|---|---|---|---|", *rows]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", nargs="?", default="all", choices=["all", "agree", "speed"])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--weights-dir", type=Path, default=None,
                    help="folder with the two .dat files (default: face_recognition_models)")
    ap.add_argument("--quick", action="store_true", help="fewer chips, images and repeats")
    ap.add_argument("--write", action="store_true", help="write the section to BENCHMARKS.md")
    args = ap.parse_args()
    with_dlib = args.device == "cpu"
    lines = [f"Machine: {machine()}" + (f", {torch.cuda.get_device_name()}" if
                                         args.device.startswith("cuda") else "") + ".", ""]
    if args.what in ("all", "agree"):
        import dlib

        if not SHARED.is_dir():
            sys.exit(f"{SHARED}: shared face media absent; agreement needs it")
        lines += [*agree_embedder(dlib, load_embedder(), args.quick), ""]
        lines += [*agree_detector(dlib, load_detector(), args.quick), ""]
    if args.what in ("all", "speed"):
        lines += speed(args.device, args.weights_dir, with_dlib, args.quick)
    body = "\n".join(lines)
    print(body)
    if args.write:
        write_section(TITLE + ("" if args.device == "cpu" else f" ({args.device})"), body)


if __name__ == "__main__":
    main()
