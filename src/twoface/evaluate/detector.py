"""``twoface eval detector`` and ``eval cross-method``: detector numbers, with intervals.

Two sources of truth:

* a **detection dataset** (``--dataset``): the crops of one split (``test`` by default) are
  scored directly; numbers for all faces, per manipulation method (its fakes against all
  reals) and per compression level, at frame level (intervals by resampling videos) and at
  video level (one score per video and CRF: the mean of the top half of its face logits);
* **media files** (``--real``/``--fake``): each file goes through ``twoface detect``'s
  pipeline with the provenance step off (the detector is measured, not the watermark), so
  the video-level numbers include face finding, sampling and aggregation as a user gets them.

The **leave-one-method-out table** (:func:`cross_method`, ``twoface eval cross-method``)
trains, for every method, a model without it (``train detector --exclude METHOD``) and scores
that method's fakes, next to a model trained on every method.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from twoface.errors import TwofaceError
from twoface.metrics.detection import aggregate, summarize


def _levels(labels: np.ndarray, logits: np.ndarray, videos: list[str], n_boot: int,
            seed: int, threshold: float = 0.7) -> dict[str, Any]:
    frame = summarize(labels, logits, groups=videos, n_boot=n_boot, seed=seed)
    _, vs, vy = aggregate(logits, videos, labels, rule="top_half")
    assert vy is not None
    video = summarize(vy, vs, n_boot=n_boot, seed=seed)
    # Near what `detect` would answer: the calibrated probability against the detector's
    # fake threshold (its card's, else 0.7).
    prob = 1 / (1 + np.exp(-vs))
    video["threshold"] = threshold
    for name, rows in (("fpr", vy == 0), ("tpr", vy == 1)):
        if rows.any():
            video[f"{name}_at_default"] = round(float((prob[rows] >= threshold).mean()), 4)
    return {"frame": frame, "video": video}


def evaluate_dataset(dataset: str | Path, detector: str | Path | None = None, *,
                     split: str = "test", n_boot: int = 500, seed: int = 0,
                     progress: Any = None) -> dict[str, Any]:
    """Metrics of ``detector`` on one split of a detection dataset."""
    from twoface.data.detect_manifest import REAL, Manifest
    from twoface.forensics.detector_card import load_card
    from twoface.models.detectors import DEFAULT_DIR, load_detector

    man = Manifest.load(dataset)
    rows = man.select(split=split)
    if not rows:
        raise TwofaceError(dataset, f"the {split!r} split is empty")
    model = load_detector(detector)
    thr = load_card(detector if detector is not None else DEFAULT_DIR,
                    model.name).thresholds.fake
    logits = _score(model, man, rows, progress)
    labels = np.array([int(r["label"]) for r in rows])
    videos = _videos(rows)
    methods = sorted({r["method"] for r in rows} - {REAL})
    crfs = sorted({int(r["crf"]) for r in rows})
    out: dict[str, Any] = {"dataset": str(dataset), "split": split,
                           "detector": str(detector) if detector else "default",
                           "all": _levels(labels, logits, videos, n_boot, seed, thr),
                           "per_method": {}, "per_crf": {}, "per_method_crf": {}}

    def sub(keep: np.ndarray) -> dict[str, Any]:
        vids = [v for v, k in zip(videos, keep, strict=True) if k]
        return _levels(labels[keep], logits[keep], vids, n_boot, seed, thr)

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


def _score(model: Any, manifest: Any, rows: list[dict], progress: Any = None) -> np.ndarray:
    """Calibrated logits of ``model`` for dataset ``rows`` (crops read in chunks)."""
    import torch

    size = model.config.size
    logits = np.empty(len(rows))
    task = (progress.add_task("score faces", total=len(rows), unit="faces")
            if progress is not None else None)
    for i in range(0, len(rows), 256):
        x = torch.from_numpy(manifest.images(rows[i:i + 256], size)).permute(0, 3, 1, 2)
        with torch.no_grad():
            logits[i:i + 256] = model.calibrated_logits(x.float().div(255)).numpy()
        if task is not None:
            progress.advance(task, min(256, len(rows) - i))
    return logits


def _videos(rows: list[dict]) -> list[str]:
    """Video-level sample of each row: a video at each CRF counts as its own sample (same
    frames, other codec)."""
    return [f"{r['video']}@crf{r['crf']}" for r in rows]


def _block(rows: list[dict], logits: np.ndarray, n_boot: int, seed: int) -> dict[str, Any]:
    """Frame and video levels of ``rows`` (reals and fakes), pooled and per CRF."""
    labels = np.array([int(r["label"]) for r in rows])
    crf = np.array([int(r["crf"]) for r in rows])
    videos = _videos(rows)
    out = _levels(labels, logits, videos, n_boot, seed)
    out["fake_videos"] = len({r["video"] for r in rows if int(r["label"]) == 1})
    out["per_crf"] = {}
    for q in sorted(set(crf.tolist())):
        keep = crf == q
        out["per_crf"][str(q)] = _levels(labels[keep], logits[keep],
                                         [v for v, k in zip(videos, keep, strict=True) if k],
                                         n_boot, seed)
    return out


def cross_method(dataset: str | Path, out_dir: str | Path, *, model: str = "cnn",
                 batch: int = 32, seed: int = 0, overrides: dict | None = None,
                 options: Any = None, in_domain: bool = True, n_boot: int = 500,
                 log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """The leave-one-method-out table of detector ``model`` on ``dataset``.

    For every fake method M a model is trained without M, in training and in calibration
    alike, into ``out_dir/without_M``, and scored on M's fakes against the test split's real
    faces in two scopes: ``test`` (M's fakes in the test split) and ``all`` (M's fakes in every
    split: the model saw none of them, so all are unseen and the number rests on more videos).
    With ``in_domain``, ``out_dir/all`` (trained on every method) gives M's test-split cell
    for comparison: the drop from seen to unseen is what the table is for. A self-blend model
    trains on real faces only, so one model (``out_dir/selfblend``) serves every row and has no
    in-domain counterpart; a fusion's members are trained first (cnn and spectral without the
    method, one self-blend model shared by all). Folders that already hold a calibrated model
    are reused, and an interrupted one is resumed, so a stopped run continues where it
    was."""
    from dataclasses import replace

    from twoface.data.detect_manifest import REAL, Manifest
    from twoface.data.detector_batches import is_selfblend
    from twoface.models.detectors import load_detector
    from twoface.train.checkpoint import STATE
    from twoface.train.detector import member_overrides, train_detector
    from twoface.train.loop import TrainOptions

    man = Manifest.load(dataset)
    rows = man.select()
    methods = sorted({r["method"] for r in rows} - {REAL})
    if len(methods) < 2:
        raise TwofaceError(dataset, "a cross-method table needs fakes of at least two "
                           f"methods; found {len(methods)}")
    reals = [r for r in rows if r["method"] == REAL and r["split"] == "test"]
    if not reals:
        raise TwofaceError(dataset, "the test split holds no real faces")
    out_dir, opts, say = Path(out_dir), options or TrainOptions(), log or (lambda _m: None)
    real_only = is_selfblend(model)

    def fit_one(folder: Path, kind: str, exclude: list[str],
                members: list[Path] | None = None) -> bool:
        """Train ``kind`` into ``folder`` unless it is done; returns whether it was."""
        name = str(folder.relative_to(out_dir))
        if (folder / "calibration.json").is_file():
            say(f"{name}: reusing the calibrated model in {folder}")
            return True
        what = ("on real faces only" if is_selfblend(kind) else
                f"without {exclude[0]}" if exclude else "on every method")
        say(f"{name}: training {kind} {what}")
        resume = opts.resume or (kind != "fusion" and (folder / STATE).is_file())
        try:
            train_detector(dataset, folder, model=kind, batch=batch, seed=seed,
                           overrides=(member_overrides(overrides, kind) if model == "fusion"
                                      and kind != "fusion" else overrides),
                           exclude=exclude, members=members,
                           options=replace(opts, resume=resume, description=f"{kind} {name}"))
        except TwofaceError as exc:  # say which model of the table could not be trained
            raise TwofaceError(exc.path, f"{exc.problem} (training {name})") from exc
        return False

    def trained(name: str, exclude: list[str]) -> tuple[Path, bool]:
        folder, members = out_dir / name, None
        if model == "fusion" and not (folder / "calibration.json").is_file():
            # Its members, each trained once: the self-blend one sees no fake, so a single
            # model serves every row; cnn and spectral are trained without the method.
            members = [folder / "members" / "cnn", out_dir / "selfblend",
                       folder / "members" / "spectral"]
            for member in members:
                fit_one(member, member.name, exclude if member.name != "selfblend" else [])
        return folder, fit_one(folder, model, exclude, members)

    def scored(folder: Path, picked: list[dict]) -> np.ndarray:
        return _score(load_detector(folder), man, picked)

    home = None
    if in_domain and not real_only:
        home, _ = trained("all", [])
        seen_fakes = [r for r in rows if r["method"] != REAL and r["split"] == "test"]
        z_home = scored(home, reals + seen_fakes)
        z_reals, z_fakes = z_home[:len(reals)], z_home[len(reals):]
    shared = trained("selfblend", []) if real_only else None
    table = []
    for m in methods:
        folder, reused = shared or trained(f"without_{m}", [m])
        fakes = [r for r in rows if r["method"] == m]
        z = scored(folder, reals + fakes)
        z_r, z_f = z[:len(reals)], z[len(reals):]
        in_test = np.array([r["split"] == "test" for r in fakes], bool)
        row: dict[str, Any] = {
            "left_out": m, "folder": str(folder), "reused": reused,
            "unseen_all": _block(reals + fakes, z, n_boot, seed),
            "unseen_test": (_block(reals + [f for f, k in zip(fakes, in_test, strict=True)
                                            if k], np.r_[z_r, z_f[in_test]], n_boot, seed)
                            if in_test.any() else None),
            "in_domain_test": None}
        if home is not None:
            mine = np.array([r["method"] == m for r in seen_fakes], bool)
            if mine.any():
                row["in_domain_test"] = _block(
                    reals + [r for r, k in zip(seen_fakes, mine, strict=True) if k],
                    np.r_[z_reals, z_fakes[mine]], n_boot, seed)
        table.append(row)
        say(f"{m}: unseen frame AUC {row['unseen_all']['frame']['auc']:.3f} "
            f"({row['unseen_all']['fake_videos']} fake videos, every split)")
    return {"dataset": str(dataset), "model": model, "real_only": real_only,
            "methods": methods, "in_domain_folder": str(home) if home else None,
            "test_real_videos": len({r["video"] for r in reals}), "rows": table}


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
