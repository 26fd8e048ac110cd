"""``twoface eval detector``: frame- and video-level numbers of a detector, with intervals.

Two sources of truth:

* a **detection dataset** (``--dataset``): the crops of one split (``test`` by default) are
  scored directly; numbers for all faces, per manipulation method (its fakes against all
  reals) and per compression level, at frame level (intervals by resampling videos) and at
  video level (one score per video and CRF: the mean of the top half of its face logits);
* **media files** (``--real``/``--fake``): each file goes through ``twoface detect``'s
  pipeline with the provenance step off (the detector is measured, not the watermark), so
  the video-level numbers include face finding, sampling and aggregation as a user gets them.

A left-out-method number comes from a model trained with ``train detector --exclude METHOD``
and evaluated here: its row for METHOD is then an unseen-method result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from twoface.errors import TwofaceError
from twoface.metrics.detection import aggregate, summarize


def _levels(labels: np.ndarray, logits: np.ndarray, videos: list[str], n_boot: int,
            seed: int) -> dict[str, Any]:
    from twoface.forensics.detect import DetectOptions

    frame = summarize(labels, logits, groups=videos, n_boot=n_boot, seed=seed)
    _, vs, vy = aggregate(logits, videos, labels, rule="top_half")
    assert vy is not None
    video = summarize(vy, vs, n_boot=n_boot, seed=seed)
    # What `detect` would answer: calibrated probability against its default thresholds.
    prob = 1 / (1 + np.exp(-vs))
    opts = DetectOptions()
    for name, rows in (("fpr", vy == 0), ("tpr", vy == 1)):
        if rows.any():
            video[f"{name}_at_default"] = round(float((prob[rows] >= opts.fake_threshold)
                                                      .mean()), 4)
    return {"frame": frame, "video": video}


def evaluate_dataset(dataset: str | Path, detector: str | Path | None = None, *,
                     split: str = "test", n_boot: int = 500, seed: int = 0,
                     progress: Any = None) -> dict[str, Any]:
    """Metrics of ``detector`` on one split of a detection dataset."""
    import torch

    from twoface.data.detect_dataset import REAL, Manifest
    from twoface.models.detectors import load_detector

    man = Manifest.load(dataset)
    rows = man.select(split=split)
    if not rows:
        raise TwofaceError(dataset, f"the {split!r} split is empty")
    model = load_detector(detector)
    size = model.config.size
    logits = np.empty(len(rows))
    task = (progress.add_task("score faces", total=len(rows), unit="faces")
            if progress is not None else None)
    for i in range(0, len(rows), 256):
        x = torch.from_numpy(man.images(rows[i:i + 256], size)).permute(0, 3, 1, 2)
        with torch.no_grad():
            logits[i:i + 256] = model.calibrated_logits(x.float().div(255)).numpy()
        if task is not None:
            progress.advance(task, min(256, len(rows) - i))
    labels = np.array([int(r["label"]) for r in rows])
    # A video at each CRF counts as its own video-level sample (same frames, other codec).
    videos = [f"{r['video']}@crf{r['crf']}" for r in rows]
    methods = sorted({r["method"] for r in rows} - {REAL})
    crfs = sorted({int(r["crf"]) for r in rows})
    out: dict[str, Any] = {"dataset": str(dataset), "split": split,
                           "detector": str(detector) if detector else "default",
                           "all": _levels(labels, logits, videos, n_boot, seed),
                           "per_method": {}, "per_crf": {}, "per_method_crf": {}}

    def sub(keep: np.ndarray) -> dict[str, Any]:
        vids = [v for v, k in zip(videos, keep, strict=True) if k]
        return _levels(labels[keep], logits[keep], vids, n_boot, seed)

    is_real = labels == 0
    meth = np.array([r["method"] for r in rows])
    crf = np.array([int(r["crf"]) for r in rows])
    for m in methods:
        out["per_method"][m] = sub(is_real | (meth == m))
    for q in crfs:
        out["per_crf"][str(q)] = sub(crf == q)
        for m in methods:
            out["per_method_crf"][f"{m}@{q}"] = sub((crf == q) & (is_real | (meth == m)))
    return out


def evaluate_media(real: list[str | Path], fake: list[tuple[str, str | Path]],
                   detector: str | Path | None = None, *, options: Any = None,
                   n_boot: int = 500, seed: int = 0, progress: Any = None) -> dict[str, Any]:
    """Metrics of the full ``detect`` pipeline on real and fake media files."""
    from dataclasses import replace

    from twoface.forensics.detect import DetectOptions, scan_files
    from twoface.media import collect_media

    opts = replace(options or DetectOptions(), provenance=False, explain=0)
    items = [(p, 0, "real") for p in collect_media(real)] if real else []
    for method, path in fake:
        items += [(p, 1, method) for p in collect_media([path])]
    if not items:
        raise TwofaceError(None, "give --real and --fake media (or --dataset)")
    reports = scan_files([p for p, _, _ in items], detector, opts, progress=progress)
    face_y, face_z, face_v, vid_y, vid_p, vid_m, files = [], [], [], [], [], [], []
    for (path, label, method), rep in zip(items, reports, strict=True):
        files.append({"file": str(path), "label": label, "method": method,
                      "verdict": rep["verdict"], "probability_fake": rep["probability_fake"],
                      "faces": rep["faces"]})
        if rep["verdict"] == "no-face":
            continue
        for tr in rep["tracks"]:
            for e in tr["timeline"]:
                p = min(max(e["p"], 1e-6), 1 - 1e-6)
                face_y.append(label)
                face_z.append(np.log(p / (1 - p)))
                face_v.append(str(path))
        vid_y.append(label)
        vid_p.append(rep["probability_fake"])
        vid_m.append(method)
    fy, fz, vy, vp = map(np.asarray, (face_y, face_z, vid_y, vid_p))
    reals = [f for f in files if f["label"] == 0 and f["verdict"] != "no-face"]
    out: dict[str, Any] = {
        "detector": str(detector) if detector else "default", "files": files,
        "frame": summarize(fy, fz, groups=face_v, n_boot=n_boot, seed=seed) if len(fy) else None,
        "video": summarize(vy, vp, n_boot=n_boot, seed=seed) if len(vy) else None,
        "video_fpr_at_threshold": (round(sum(f["verdict"] == "fake" for f in reals)
                                         / len(reals), 4) if reals else None),
        "per_method": {}}
    for m in sorted(set(vid_m) - {"real"}):
        keep = np.array([(mm == "real") or (mm == m) for mm in vid_m])
        out["per_method"][m] = summarize(vy[keep], vp[keep], n_boot=n_boot, seed=seed)
    return out
