"""The shipped default detector: its recipe (``make detector``), its leave-identities-out
evaluation on real videos, its video-level calibration and its model card numbers.

    python bench/detect_default.py data        # synthetic people + the dataset (128 px crops)
    python bench/detect_default.py folds       # one detector per fold of held-out identities
    python bench/detect_default.py scan        # `twoface detect` of every held-out file
                                               # (--models old_default: the previous
                                               # default, from runs/.../old_default)
    python bench/detect_default.py final       # the shipped detector, trained on every identity
    python bench/detect_default.py calibrate   # video-level calibration → the shipped folder
    python bench/detect_default.py fairness    # image-level false positives on utkface_adults
    python bench/detect_default.py tables [--write]   # → BENCHMARKS.md
    python bench/detect_default.py all         # the above for the shipped model (`make detector`)

**What may train it** (``../shared/data/faces/SOURCES.md``): the real people of
``liveportrait/`` and ``public_domain_portraits/`` (paintings, the cartoon and children left
out) and twoface's own synthetic people. The recipe is the real-only **self-blend** detector
(it learns real faces against copies of themselves blended back with a small change): no
fake of any method is needed to train it, so every manipulation twoface makes stays unseen.

**Leave identities out**: the 21 real people are cut into ``FOLDS`` folds; a fold's detector
is trained without its people (and without the synthetic people of the test split) and then
runs the whole ``twoface detect`` pipeline on their files. Every real video is thereby judged
by a detector that never saw its person, which is what a user's footage is to the shipped one.
The pooled out-of-fold video logits (reals) and the scans of twoface-made fakes calibrate the
video probability and set the thresholds (``calibrate``).

Everything lands in the git-ignored ``runs/detect/default``; only the final detector's
``config.json``, ``model.safetensors``, ``video.json`` (video calibration) and ``card.json``
are copied into ``src/twoface/models/detectors/default``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
FACES = ROOT.parent / "shared" / "data" / "faces"
LP = FACES / "liveportrait"
WORK = ROOT / "runs" / "detect" / "default"
FOLDS = 5
SIZE = 128
STEPS = 1500
# Real people the licence lets a shipped detector learn from. One entry per person: the
# files showing them (d19.jpg of the repository is a frame of d18, renamed so).
PEOPLE: dict[str, list[str]] = {
    **{d: [f"driving/{d}.mp4"] for d in ("d0", "d3", "d6", "d9", "d10", "d12", "d13", "d14",
                                         "d19", "d20")},
    "d18": ["driving/d18.mp4", "driving/d19_frame_of_d18.jpg"],
    **{s: [f"source/{s}.mp4"] for s in ("s18", "s20", "s29", "s32")},
    **{k: [f"source/driving_still_{d}.jpg"] for k, d in (("d8", "d8"), ("d9s", "d9"),
                                                          ("d30", "d30"))},
    "s42": ["source/s42.jpg"],
    "collins": ["../public_domain_portraits/astronaut_eileen_collins.png"],
    "hopper": ["../public_domain_portraits/grace_hopper.jpg"],
}
SHIPPED = "selfblend"  # chosen over selfblend_dlib by the leave-identities-out scans
SELFBLEND = {"size": SIZE, "rerender": 0.0, "soft_reals": 0.0}


def person_files(person: str) -> list[Path]:
    return [(LP / f).resolve() for f in PEOPLE[person]]


def fold_of(person: str) -> int:
    """People are dealt round-robin into folds in a fixed, sorted order (videos first)."""
    videos = sorted(p for p in PEOPLE if any(f.endswith(".mp4") for f in PEOPLE[p]))
    stills = sorted(p for p in PEOPLE if p not in videos)
    return (videos + stills).index(person) % FOLDS


def make_data(work: Path = WORK) -> Path:
    """Synthetic people (bench/detect.py) and the 128 px dataset of every real face."""
    from detect import METHODS
    from detect import make_data as synthetic
    from twoface.data.detect_dataset import DatasetOptions, build_dataset
    from twoface.progress import progress_bar

    made = synthetic(work / "synthetic", people=40)
    ds = work / "dataset"
    if not (ds / "manifest.csv").exists():
        shutil.rmtree(ds, ignore_errors=True)
        real = [f for p in sorted(PEOPLE) for f in person_files(p)] + made["real"]
        links = tuple(tuple(f.stem for f in person_files(p)) for p in PEOPLE
                      if len(PEOPLE[p]) > 1)
        with progress_bar() as bar:
            build_dataset(real, [(m, work / "synthetic" / m) for m in METHODS], ds,
                          DatasetOptions(size=SIZE, every=5, max_frames=40, links=links),
                          progress=bar)
    return ds



TRAINED_ON = [
    "real people: the 16 adults of LivePortrait's example media (liveportrait/, MIT "
    "licence; 15 videos and 5 photos) and two public-domain NASA/US Navy portraits",
    "twoface's own synthetic people (40 rendered talking heads; 8 held out for testing)",
    "fakes: none; it learnt real faces against self-blended copies of themselves",
]
BLIND_SPOTS = [
    "whole-image generation (GAN or diffusion faces): there is no blend boundary to find; "
    "use the spectral detector or the fusion",
    "seamless, same-sharpness swaps with perfect colour match: it finds blending seams, "
    "resampling and colour edges, not an identity mismatch",
    "few people: 18 real adults trained it, so skin tones, ages, make-up, glasses, low "
    "light and heavy compression outside them are less well covered (see the utkface "
    "fairness table)",
    "faces under about 60 px, profiles beyond about 45 degrees, heavy motion blur",
    "a short appearance: a face seen in fewer sampled frames than min_track_faces cannot "
    "decide a video",
]


def person_of_stem() -> dict[str, str]:
    return {f.stem: p for p in PEOPLE for f in person_files(p)}


def fold_dataset(ds: Path, fold: int | None, work: Path = WORK) -> Path:
    """The dataset with the people of ``fold`` as its test split (None: none held out).

    Real people train (their fold tests); synthetic people keep their split, so the
    face-level calibration (val) sees synthetic people only and the synthetic test people
    are never trained on."""
    from twoface.data.detect_manifest import Manifest, write_manifest

    name = "all" if fold is None else f"fold{fold}"
    out = work / "folds" / name
    if (out / "manifest.csv").exists():
        return out
    out.mkdir(parents=True, exist_ok=True)
    owner = person_of_stem()
    rows = []
    for r in Manifest.load(ds).rows:
        person = owner.get(r["identity"])
        if person is not None:
            r = {**r, "split": "test" if fold is not None and fold_of(person) == fold
                 else "train"}
        rows.append(r)
    if not (out / "faces").exists():
        (out / "faces").symlink_to((ds / "faces").resolve())
    shutil.copy2(ds / "dataset.json", out / "dataset.json")
    write_manifest(out / "manifest.csv", rows)
    return out


# The candidates: run name → (registered model, config overrides). Re-rendered fakes are off
# (they need minutes of re-renderer training per fold and did not help on real video).
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "selfblend": ("selfblend", SELFBLEND),
    "selfblend64": ("selfblend", {**SELFBLEND, "size": 64}),
    "selfblend_dlib": ("selfblend_dlib", {"rerender": 0.0, "soft_reals": 0.0}),
}
# dlib's trunk costs about 3x the time per step on the CPU: it gets 1000 steps, which is still
# more CPU time than the scratch model's 1500.
STEPS_OF = {"selfblend_dlib": 1000}


def train_one(dataset: Path, run: Path, variant: str, steps: int | None = None, seed: int = 0
              ) -> dict[str, Any]:
    from twoface.train.detector import train_detector
    from twoface.train.loop import TrainOptions

    if (run / "calibration.json").exists():
        return json.loads((run / "calibration.json").read_text())
    model, overrides = VARIANTS[variant]
    steps = steps or STEPS_OF.get(variant, STEPS)
    return train_detector(dataset, run, model=model, batch=32, seed=seed,
                          overrides=dict(overrides),
                          options=TrainOptions(steps=steps, save_every=500, preview_every=0,
                                               resume=(run / "state.safetensors").exists(),
                                               description=run.name))


def folds(models: list[str], work: Path = WORK, jobs: int = 2) -> None:
    """One detector per (model, fold), ``jobs`` at a time (one thread each)."""
    from concurrent.futures import ProcessPoolExecutor

    ds = work / "dataset"
    todo = [(fold_dataset(ds, k, work), work / "runs" / f"{m}_fold{k}", m)
            for m in models for k in range(FOLDS)]
    with ProcessPoolExecutor(jobs) as pool:
        for (_, run, _), got in zip(todo, pool.map(_train_job, todo), strict=True):
            print(run.name, json.dumps(got.get("calibration")), flush=True)


def _train_job(job: tuple[Path, Path, str]) -> dict[str, Any]:
    torch.set_num_threads(1)
    return train_one(*job)


def _faces_of(video: Path, every: int, models: Any, limit: int = 400
              ) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """(frame index, frame, 68 landmarks) of the largest face, every ``every`` frames."""
    from twoface.faces.detect import detect, landmarks
    from twoface.media import iter_frames

    out = []
    for fr in iter_frames(video):
        if fr.index >= limit:
            break
        if fr.index % every:
            continue
        found = detect(fr.image, models)
        if found:
            box = max(found, key=lambda bs: bs[0].width * bs[0].height)[0]
            out.append((fr.index, fr.image, landmarks(fr.image, box, models)))
    return out


def paste_fake(host: Path, donor: Path, out: Path, lowres: bool, models: Any,
               seconds: float = 4.0) -> Path | None:
    """A blend-based swap of two real people, the way twoface's swap pastes its decoder's
    face: each host frame gets the donor face whose aligned landmarks are closest (a
    retrieval "decoder" that never blurs), colour-matched (Reinhard) in the face hull and
    alpha-blended through the feathered hull; ``lowres`` sends the face through 64 px first,
    as twoface's 64 px swap models produce it. Written at CRF 23, unmarked."""
    from twoface.apply.blend import lab_stats, rct
    from twoface.faces.align import align_face, transform_points, warp_back
    from twoface.faces.mask import face_mask
    from twoface.media import iter_frames, probe, write_video

    if out.exists():
        return out
    size, cov = 256, 0.625
    donors = []
    for _i, image, marks in _faces_of(donor, 5, models):
        al = align_face(image, marks, size, cov)
        donors.append((al.image.astype(np.float32) / 255,
                       transform_points(marks, al.matrix)))
    if not donors:
        return None
    info = probe(host)
    last = int(min(info.frame_count, seconds * info.fps))
    frames, track = [], None
    from twoface.faces.detect import detect, landmarks

    for fr in iter_frames(host):
        if fr.index >= last:
            break
        found = detect(fr.image, models) if fr.index % 2 == 0 or track is None else None
        if found:
            box = max(found, key=lambda bs: bs[0].width * bs[0].height)[0]
            track = landmarks(fr.image, box, models)
        if track is None:
            frames.append(fr.image)
            continue
        al = align_face(fr.image, track, size, cov)
        here = transform_points(track, al.matrix)
        face, _ = min(donors, key=lambda d: float(np.abs(d[1] - here).mean()))
        if lowres:
            small = cv2_resize(face, 64)
            face = cv2_resize(small, size)
        crop_mask = face_mask(here, (size, size), feather=0.0)
        face = np.clip(rct(face, lab_stats(face, crop_mask),
                           lab_stats(al.image.astype(np.float32) / 255, crop_mask)), 0, 1)
        soft = face_mask(here, (size, size), feather=0.12)
        big_face = warp_back(face, al.matrix, fr.image.shape)
        alpha = warp_back(soft, al.matrix, fr.image.shape)[:, :, None]
        mix = big_face * 255 * alpha + fr.image * (1 - alpha)
        frames.append(np.clip(np.round(mix), 0, 255).astype(np.uint8))
    out.parent.mkdir(parents=True, exist_ok=True)
    return write_video(out, frames, fps=info.fps, crf=23)


def cv2_resize(img: np.ndarray, side: int) -> np.ndarray:
    import cv2

    return cv2.resize(img, (side, side), interpolation=cv2.INTER_AREA if side < img.shape[0]
                      else cv2.INTER_LINEAR)


def fold_videos(fold: int) -> list[tuple[str, Path]]:
    """(person, video) of the fold's real videos."""
    return [(p, f) for p in sorted(PEOPLE) if fold_of(p) == fold
            for f in person_files(p) if f.suffix == ".mp4"]


def make_fakes(work: Path = WORK) -> dict[int, list[tuple[str, Path]]]:
    """Per fold: each real video with the next one's person pasted in, plain and low-res."""
    from twoface.faces.dlib_models import DlibModels

    models = DlibModels()
    made: dict[int, list[tuple[str, Path]]] = {}
    for k in range(FOLDS):
        vids = fold_videos(k)
        made[k] = []
        for i, (host_p, host) in enumerate(vids):
            donor_p, donor = vids[(i + 1) % len(vids)]
            for method in ("paste_real", "paste_real_lowres"):
                out = work / "fakes" / method / f"{host_p}_by_{donor_p}.mp4"
                got = paste_fake(host, donor, out, method.endswith("lowres"), models)
                if got is not None:
                    made[k].append((method, got))
                    print(got.name, method, flush=True)
    return made


def synthetic_test_videos(work: Path = WORK) -> list[tuple[str, Path]]:
    """(method, video) of the synthetic people in the dataset's test split."""
    from detect import METHODS

    ds = json.loads((work / "dataset" / "dataset.json").read_text())
    out = []
    for src in ds["sources"]:
        path = Path(src["path"])
        if src["split"] == "test" and path.is_relative_to(work / "synthetic"):
            out.append((src["method"] if src["method"] != "real" else "synthetic_real", path))
    assert {m for m, _ in out} >= {"synthetic_real", *METHODS}, "test split lacks a class"
    return out


def scan(models: list[str], work: Path = WORK) -> Path:
    """`twoface detect` (provenance off, video calibration off) with each fold's detector on
    its held-out people's files, their pasted fakes and the synthetic test people; one JSON
    line per (model, fold, file) into ``work/scans.jsonl`` (done lines are kept)."""
    from twoface.faces.dlib_models import DlibModels
    from twoface.forensics.detect import DetectOptions, Scanner
    from twoface.forensics.detect_report import public
    from twoface.models.detectors import load_detector

    fakes = make_fakes(work)
    out = work / "scans.jsonl"
    done = set()
    if out.exists():
        done = {(d["model"], d["fold"], d["file"]) for d in map(json.loads, out.open())}
    dlib = DlibModels()
    synth = synthetic_test_videos(work)
    with out.open("a") as fh:
        for m in models:
            for k in range(FOLDS):
                run = work / "runs" / f"{m}_fold{k}"
                if not (run / "calibration.json").exists():
                    print(f"{run.name} is not trained yet: skipped", flush=True)
                    continue
                scanner = Scanner(load_detector(run), DetectOptions(provenance=False),
                                  models=dlib)  # no detector_path: no card, raw aggregate
                files = [("real", f) for p in sorted(PEOPLE) if fold_of(p) == k
                         for f in person_files(p)] + fakes[k]
                if m != "old_default":  # it was trained on these synthetic people
                    files += synth
                for method, f in files:
                    if (m, k, str(f)) in done:
                        continue
                    t0 = time.perf_counter()
                    rep = public(scanner.scan(f))
                    row = {"model": m, "fold": k, "file": str(f), "method": method,
                           "kind": rep["kind"], "logit": rep.get("logit"),
                           "verdict": rep["verdict"], "faces": rep["faces"],
                           "tracks": [{"faces": t["faces"], "logit": t["logit"],
                                       "p": [e["p"] for e in t["timeline"]]}
                                      for t in rep["tracks"]],
                           "seconds": round(time.perf_counter() - t0, 2)}
                    fh.write(json.dumps(row) + "\n")
                    fh.flush()
                    print(m, k, f.name, method, row["logit"], row["verdict"], flush=True)
    return out


REAL_VIDEO = ("real", "synthetic_real")
MARGIN = 0.05
FAKE_REAL_PEOPLE = ("paste_real", "paste_real_lowres")


def load_scans(model: str, work: Path = WORK) -> list[dict[str, Any]]:
    rows = [d for d in map(json.loads, (work / "scans.jsonl").open()) if d["model"] == model]
    if not rows:
        raise SystemExit(f"no scans of {model}: run `scan` first")
    return rows


def video_logit(row: dict[str, Any], min_faces: int) -> tuple[float | None, bool]:
    """The aggregated logit under ``min_faces`` and whether a track could decide."""
    tracks = row["tracks"]
    if not tracks:
        return None, False
    if row["kind"] == "image":
        return max(t["logit"] for t in tracks), True
    long_ = [t["logit"] for t in tracks if t["faces"] >= min_faces]
    return (max(long_), True) if long_ else (max(t["logit"] for t in tracks), False)


def choose(rows: list[dict[str, Any]], min_faces: int) -> dict[str, Any]:
    """Video-level Platt scaling and thresholds from out-of-fold scans of videos.

    Platt scaling is fitted on the videos of real people: the held-out real videos against
    the blend swaps made of them (synthetic people's videos would tie the scale to
    same-sharpness synthetic pastes, a blind spot the model card names). ``fake`` is the
    lowest of 0.80, 0.81, ... 0.99 above every held-out real video (0 false positives among
    them is what a ≤ 2 % rate can be checked with on this few videos); ``real`` the highest
    of 0.30, 0.29, ... 0.05 at or below which at most 10 % of the swaps of real people fall
    (rather uncertain than real)."""
    from twoface.models.detectors import fit_platt

    vids = [(r, *video_logit(r, min_faces)) for r in rows if r["kind"] == "video"]
    vids = [(r, z, ok) for r, z, ok in vids if z is not None]
    z = np.array([z for _, z, _ in vids])
    method = np.array([r["method"] for r, _, _ in vids])
    people = np.isin(method, ("real", *FAKE_REAL_PEOPLE))
    a, b = fit_platt(z[people], (method[people] != "real").astype(int))
    p = 1 / (1 + np.exp(-(a * z + b)))
    decides = np.array([ok for _, _, ok in vids])
    real_p = p[(method == "real") & decides]
    fake_thr = next((t for t in np.round(np.arange(0.80, 0.995, 0.01), 2)
                     if (real_p < t - MARGIN).all()), 0.99)
    real_thr = next((t for t in np.round(np.arange(0.30, 0.04, -0.01), 2)
                     if np.mean(p[np.isin(method, FAKE_REAL_PEOPLE)] <= t) <= 0.10), 0.05)
    return {"a": round(a, 5), "b": round(b, 5), "fake": float(fake_thr),
            "real": float(real_thr), "min_track_faces": min_faces}


def outcomes(rows: list[dict[str, Any]], cal: dict[str, Any]) -> list[dict[str, Any]]:
    """Each scan's calibrated probability and verdict under ``cal``."""
    out = []
    for r in rows:
        z, ok = video_logit(r, cal["min_track_faces"])
        if z is None:
            out.append({**r, "p": None, "call": "no-face"})
            continue
        p = float(1 / (1 + np.exp(-(cal["a"] * z + cal["b"]))))
        call = "fake" if p >= cal["fake"] else "real" if p <= cal["real"] else "uncertain"
        out.append({**r, "p": p, "call": "uncertain" if call == "fake" and not ok else call})
    return out


def summarise(rows: list[dict[str, Any]], cal: dict[str, Any]) -> dict[str, Any]:
    from twoface.metrics.detection import roc_auc

    res = outcomes(rows, cal)
    by: dict[str, dict[str, Any]] = {}
    for r in res:
        key = f"{r['method']}:{r['kind']}"
        d = by.setdefault(key, {"n": 0, "fake": 0, "uncertain": 0, "real": 0, "no-face": 0})
        d["n"] += 1
        d[r["call"]] += 1
    vids = [r for r in res if r["kind"] == "video" and r["p"] is not None]
    y = np.array([0 if r["method"] in REAL_VIDEO else 1 for r in vids])
    p = np.array([r["p"] for r in vids])
    aucs = {m: round(roc_auc(np.r_[np.zeros((y == 0).sum()), np.ones(k.sum())],
                             np.r_[p[y == 0], p[k]]), 4)
            for m in sorted({r["method"] for r in vids} - set(REAL_VIDEO))
            for k in [np.array([r["method"] == m for r in vids])]}
    reals = [r for r in vids if r["method"] == "real"]
    people = np.array([r["method"] in ("real", *FAKE_REAL_PEOPLE) for r in vids])
    return {"calibration": cal, "counts": by, "video_auc": round(roc_auc(y, p), 4),
            "people_auc": round(roc_auc(y[people], p[people]), 4),
            "auc_by_method": aucs,
            "real_videos": len(reals), "real_videos_fake": sum(r["call"] == "fake"
                                                              for r in reals),
            "worst_real": max(((r["p"], Path(r["file"]).name) for r in reals), default=None)}


def calibrate(model: str, min_faces: int, work: Path = WORK) -> dict[str, Any]:
    rows = load_scans(model, work)
    # The previous default is judged as it shipped: face-level calibration, 0.7 / 0.3, any
    # track of 3 faces deciding.
    cal = (choose(rows, min_faces) if model != "old_default" else
           {"a": 1.0, "b": 0.0, "fake": 0.7, "real": 0.3, "min_track_faces": 3})
    got = summarise(rows, cal)
    (work / f"calibration_{model}.json").write_text(json.dumps(got, indent=1))
    return got


def final(model: str, work: Path = WORK) -> dict[str, Any]:
    """The shipped detector: every identity trains (synthetic val people calibrate faces)."""
    ds = fold_dataset(work / "dataset", None, work)
    torch.set_num_threads(2)
    return train_one(ds, work / "runs" / f"{model}_all", model)


def fairness(folder: Path, work: Path = WORK, limit: int | None = None) -> dict[str, Any]:
    """Image-level verdicts of the detector in ``folder`` (with its card) on utkface_adults,
    overall and per gender × group. Benchmark only: these faces never train anything."""
    import csv

    from twoface.faces.dlib_models import DlibModels
    from twoface.forensics.detect import DetectOptions, Scanner

    root = FACES / "utkface_adults"
    labels = list(csv.DictReader((root / "labels.csv").open()))[:limit]
    scanner = Scanner.from_pretrained(folder, DetectOptions(provenance=False, explain=0),
                                      models=DlibModels())
    rows = []
    t0 = time.perf_counter()
    for i, lab in enumerate(labels):
        rep = scanner.scan(root / lab["file"])
        rows.append({"file": lab["file"], "gender": lab["gender"], "group": lab["race"],
                     "verdict": rep["verdict"], "p": rep["probability_fake"]})
        if i % 100 == 0:
            print(i, f"{time.perf_counter() - t0:.0f}s", flush=True)
    (work / "fairness.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return fairness_table(rows)


def fairness_table(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def rates(sel: list[dict[str, Any]]) -> dict[str, Any]:
        judged = [r for r in sel if r["verdict"] != "no-face"]
        n = max(1, len(judged))
        return {"faces": len(sel), "judged": len(judged),
                "fake": round(sum(r["verdict"] == "fake" for r in judged) / n, 4),
                "uncertain": round(sum(r["verdict"] == "uncertain" for r in judged) / n, 4)}

    cells = {f"{g} {q}": rates([r for r in rows if r["gender"] == g and r["group"] == q])
             for g in sorted({r["gender"] for r in rows})
             for q in sorted({r["group"] for r in rows})}
    return {"overall": rates(rows), "cells": cells}


def install(model: str, work: Path = WORK) -> Path:
    """Copy the final detector into the package with its card (video calibration chosen on
    the out-of-fold scans, measured rates, training data, blind spots)."""
    from twoface.models.detectors import DEFAULT_DIR

    got = json.loads((work / f"calibration_{model}.json").read_text())
    cal = got["calibration"]
    counts = got["counts"]
    swaps = {k.split(":")[0]: v for k, v in counts.items()
             if k.split(":")[0] in FAKE_REAL_PEOPLE and k.endswith(":video")}
    n_fake = sum(v["n"] for v in swaps.values())
    caught = sum(v["fake"] for v in swaps.values())
    reals = counts["real:video"]
    measured: dict[str, Any] = {
        "video_fpr": round(got["real_videos_fake"] / got["real_videos"], 4),
        "video_reals": got["real_videos"],
        "video_reals_called_real": reals["real"], "video_tpr": round(caught / max(1, n_fake), 4),
        "video_fakes": n_fake,
        "fakes_were": "blend swaps of held-out real people, half of them sent through 64 px "
        "as twoface's swap models draw them",
        "video_tpr_by_method": {m: round(v["fake"] / max(1, v["n"]), 4)
                                for m, v in sorted(swaps.items())},
        "video_auc_by_method": {m: got["auc_by_method"][m] for m in sorted(swaps)},
        "how": "leave identities out, 5 folds; "
        "bench/detect_default.py", "date": time.strftime("%Y-%m-%d")}
    old = DEFAULT_DIR / "card.json"
    if old.exists():  # the fairness numbers of an earlier run of the same weights stay
        prev = json.loads(old.read_text()).get("measured", {})
        measured |= {k: v for k, v in prev.items() if k.startswith("image_")}
    run = work / "runs" / f"{model}_all"
    DEFAULT_DIR.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "model.safetensors"):
        shutil.copy2(run / name, DEFAULT_DIR / name)
    card = {"schema": "twoface.detector_card", "version": 1,
            "name": f"twoface default ({model}, {SIZE} px)", "trained_on": TRAINED_ON,
            "blind_spots": BLIND_SPOTS,
            "video_calibration": {"a": cal["a"], "b": cal["b"],
                                  "fit_on": "out-of-fold scans of held-out real videos "
                                  "and blend swaps (bench/detect_default.py)"},
            "thresholds": {"fake": cal["fake"], "real": cal["real"],
                           "min_track_faces": cal["min_track_faces"]},
            "measured": measured}
    (DEFAULT_DIR / "card.json").write_text(json.dumps(card, indent=1) + "\n")
    return DEFAULT_DIR


def add_fairness(table: dict[str, Any]) -> None:
    from twoface.models.detectors import DEFAULT_DIR

    path = DEFAULT_DIR / "card.json"
    card = json.loads(path.read_text())
    o = table["overall"]
    worst = max(table["cells"].items(), key=lambda kv: kv[1]["fake"])
    card["measured"] |= {"image_fpr": o["fake"], "image_reals": o["judged"],
                         "image_uncertain": o["uncertain"],
                         "image_worst_group": f"{worst[0]}: {worst[1]['fake']:.4f}",
                         "image_set": "utkface_adults (benchmark only, never trained on)"}
    path.write_text(json.dumps(card, indent=1) + "\n")


def tables(variants: list[str], work: Path = WORK) -> str:
    """Markdown: the candidates side by side, per-file verdicts of the shipped one, fairness."""
    cal = {v: json.loads((work / f"calibration_{v}.json").read_text()) for v in variants
           if (work / f"calibration_{v}.json").exists()}
    methods = sorted({k.split(":")[0] for c in cal.values() for k in c["counts"]})
    out = ["**Candidates** (leave identities out, 5 folds: every file judged by a detector that "
           "never saw its person; AUC of each kind of fake video against the held-out real videos; "
           "calls at each candidate's own video calibration and thresholds; old_default is the "
           "previous shipped detector, as it shipped, whose synthetic rows are left out because "
           "it trained on those synthetic people):", "",
           "| candidate | real people's videos AUC | " + " | ".join(
               f"{m} AUC" for m in methods if m not in REAL_VIDEO) + " | real videos called "
           "fake | thresholds (real / fake) |",
           "|---|---|" + "---|" * (len([m for m in methods if m not in REAL_VIDEO]) + 2)]
    for v, c in cal.items():
        aucs = " | ".join(f"{c['auc_by_method'][m]:.3f}" if m in c["auc_by_method"] else "–"
                          for m in methods if m not in REAL_VIDEO)
        out.append(f"| {v} | {c['people_auc']:.3f} | {aucs} | {c['real_videos_fake']} of "
                   f"{c['real_videos']} | {c['calibration']['real']} / "
                   f"{c['calibration']['fake']} |")
    if "selfblend_dlib" in variants:
        out += ["", backbones()]
    shipped = cal.get(SHIPPED)
    if shipped:
        out += ["", f"**Calls of the shipped recipe ({SHIPPED})** per kind of file (held-out "
                "people only; min_track_faces = "
                f"{shipped['calibration']['min_track_faces']}):", "",
                "| files | n | fake | uncertain | real | no face |", "|---|---|---|---|---|---|"]
        for k, d in sorted(shipped["counts"].items()):
            out.append(f"| {k.replace(':', ' ')} | {d['n']} | {d['fake']} | {d['uncertain']} | "
                       f"{d['real']} | {d['no-face']} |")
        res = outcomes(load_scans(SHIPPED, work), shipped["calibration"])
        reals = sorted((r for r in res if r["method"] == "real"), key=lambda r: -(r["p"] or 0))
        out += ["", "Every real file, its calibrated p(fake) and call: " + ", ".join(
            f"{Path(r['file']).stem} {r['p']:.2f} {r['call']}" if r["p"] is not None else
            f"{Path(r['file']).stem} no face" for r in reals) + "."]
    fair = work / "fairness.jsonl"
    if fair.exists():
        t = fairness_table([json.loads(x) for x in fair.open()])
        o = t["overall"]
        out += ["", "**Fairness** (`utkface_adults`, 1,326 real adult faces, benchmark only: "
                "image-level calls of the shipped detector at its thresholds; a still decides "
                "alone):", "", "| gender × group | faces | judged | called fake | uncertain |",
                "|---|---|---|---|---|",
                f"| **all** | {o['faces']} | {o['judged']} | {o['fake']:.1%} | "
                f"{o['uncertain']:.1%} |"]
        for k, c in t["cells"].items():
            out.append(f"| {k} | {c['faces']} | {c['judged']} | {c['fake']:.1%} | "
                       f"{c['uncertain']:.1%} |")
    return "\n".join(out)


def backbones(folds: tuple[int, ...] = (0, 1), work: Path = WORK) -> str:
    """Scratch against dlib's pretrained trunk on the folds both were trained for."""
    from twoface.metrics.detection import roc_auc

    lines = [f"**Backbone** (folds {', '.join(map(str, folds))} only: "
             "the same held-out people and swaps; raw video logits, no calibration):", "",
             "| backbone | steps | real videos | swaps AUC | swaps through 64 px AUC | "
             "full-resolution swaps AUC | synthetic pastes AUC |", "|---|---|---|---|---|---|---|"]
    for v in ("selfblend", "selfblend_dlib"):
        rows = [r for r in load_scans(v, work) if r["fold"] in folds and r["kind"] == "video"]
        z = {r["file"] + r["method"]: video_logit(r, 4)[0] for r in rows}

        def auc(fakes: tuple[str, ...], reals: tuple[str, ...] = ("real",),
                rows: list[dict[str, Any]] = rows, z: dict = z) -> str:
            sel = [r for r in rows if r["method"] in (*fakes, *reals)
                   and z[r["file"] + r["method"]] is not None]
            y = [int(r["method"] in fakes) for r in sel]
            return f"{roc_auc(y, [z[r['file'] + r['method']] for r in sel]):.3f}"

        lines.append(f"| {v} | {STEPS_OF.get(v, STEPS)} | "
                     f"{sum(r['method'] == 'real' for r in rows)} | {auc(FAKE_REAL_PEOPLE)} | "
                     f"{auc(('paste_real_lowres',))} | {auc(('paste_real',))} | "
                     f"{auc(('paste', 'paste_lowres'), ('synthetic_real',))} |")
    return "\n".join(lines)


def speed(work: Path = WORK, repeats: int = 5) -> str:
    """Crops/s (one thread, batch 32) and the 60 s 720p scan, previous default against the
    shipped one, interleaved in one run (medians)."""
    from detect import scan_time
    from twoface.forensics.detect import Scanner
    from twoface.models.detectors import DEFAULT_DIR, load_detector

    torch.set_num_threads(1)
    folders = {"previous default (64 px)": work / "old_default",
               "shipped default (128 px)": DEFAULT_DIR}
    rates: dict[str, list[float]] = {k: [] for k in folders}
    scans: dict[str, list[float]] = {k: [] for k in folders}
    scan_time(LP / "driving" / "d13.mp4", work=work)  # writes the 60 s loop once
    loop = work / "loop_d13_60s.mp4"
    for _ in range(repeats):
        for name, folder in folders.items():
            model = load_detector(folder)
            x = torch.rand(32, 3, model.config.size, model.config.size)
            model.predict(x)
            n, t0 = 0, time.perf_counter()
            while time.perf_counter() - t0 < 2.0:
                model.predict(x)
                n += 32
            rates[name].append(n / (time.perf_counter() - t0))
    for _ in range(2):
        for name, folder in folders.items():
            scanner = Scanner.from_pretrained(folder)
            t0 = time.perf_counter()
            scanner.scan(loop)
            scans[name].append(time.perf_counter() - t0)
    lines = ["| detector | crops/s (one thread, batch 32, median of 5) | 60 s 720p `detect` "
             "(s, median of 2) |", "|---|---|---|"]
    for name in folders:
        lines.append(f"| {name} | {np.median(rates[name]):.0f} | "
                     f"{np.median(scans[name]):.1f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("data")
    for name in ("folds", "scan"):
        c = sub.add_parser(name)
        c.add_argument("--models", nargs="+", default=["selfblend", "selfblend_dlib"])
        c.add_argument("--jobs", type=int, default=2)
    for name in ("calibrate", "final", "install"):
        c = sub.add_parser(name)
        c.add_argument("--model", default=SHIPPED)
        c.add_argument("--min-faces", type=int, default=4)
    al = sub.add_parser("all", help="The whole recipe for one model (`make detector`).")
    al.add_argument("--model", default=SHIPPED)
    al.add_argument("--min-faces", type=int, default=4)
    tb = sub.add_parser("tables")
    tb.add_argument("--write", action="store_true")
    tb.add_argument("--variants", nargs="+", default=[*VARIANTS, "old_default"])
    sub.add_parser("speed", help="Previous against shipped default: crops/s, 60 s scan.")
    fa = sub.add_parser("fairness")
    fa.add_argument("--limit", type=int, default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.cmd == "data":
        print(make_data())
    elif args.cmd == "folds":
        folds(args.models, jobs=args.jobs)
    elif args.cmd == "scan":
        print(scan(args.models))
    elif args.cmd == "calibrate":
        print(json.dumps(calibrate(args.model, args.min_faces), indent=1))
    elif args.cmd == "final":
        print(json.dumps(final(args.model), indent=1))
    elif args.cmd == "install":
        print(install(args.model))
    elif args.cmd == "all":
        make_data()
        folds([args.model])
        scan([args.model])
        calibrate(args.model, args.min_faces)
        final(args.model)
        add_fairness(fairness(install(args.model)))
    elif args.cmd == "tables":
        from _report import machine, write_section

        body = tables(args.variants) + (
            f"\n\nMeasured on {machine()}; recipe `bench/detect_default.py` (`make "
            "detector`); what the fakes are and what was left out: the model card.")
        print(body)
        if args.write:
            write_section("Detection: the shipped default on real people it never saw", body)
    elif args.cmd == "speed":
        print(speed())
    elif args.cmd == "fairness":
        from twoface.models.detectors import DEFAULT_DIR

        table = fairness(DEFAULT_DIR, limit=args.limit)
        print(json.dumps(table, indent=1))
        if args.limit is None:
            add_fairness(table)


if __name__ == "__main__":
    main()
