"""Objective measures of a face swap, per frame and summarised.

* identity retrieval: is the swapped face, in dlib's embedding space, nearer the target
  identity than the source identity and every distractor identity (synthetic people rendered
  here, plus any extra facesets)? Identity distance and cosine similarity to the target too;
* pose error: |yaw|, |pitch|, |roll| differences between the swapped and the source face;
* expression error: landmark shape difference after a similarity alignment (pose removed),
  in units of the inter-ocular distance;
* background PSNR: outside a generous face mask the frame should be untouched;
* temporal flicker: mean frame-to-frame change inside the face, swapped vs. source;
* face still found: does a face detector, run near the source face's box, still find a face
  in the swapped frame (counted over the frames where it finds the source's)?
* sharpness ratio: fine-detail energy inside the face (away from the blend seam: luma minus
  its 1 px Gaussian blur), swapped over source; 1.0 is as detailed as the source, a blur or
  an upsampled small face scores far below, and bold features cannot make up for lost detail;
  far *above* 1 is a texture the video does not have (a painted portrait's brush strokes, a
  sharp still pasted into soft footage), which the verdict counts against the swap too;
* a verdict, *convincing* / *recognisable but soft* / *failed*, by the stated
  :class:`VerdictRules`.

The gallery for identity retrieval is the target, the source, synthetic people rendered here,
every ``--distractor`` faceset and the real people of :mod:`twoface.evaluate.gallery` when
they can be found. The source video is tracked once; the swapped frame's landmarks are fitted
in the source face's box, so a poor swap is still measured on every frame rather than skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from twoface.errors import TwofaceError
from twoface.faces.align import transform_points, umeyama
from twoface.faces.mask import face_mask
from twoface.faces.quality import eye_openness, head_pose
from twoface.metrics.image import psnr_outside, sharpness_ratio
from twoface.types import BBox, Image

N_SYNTHETIC = 8  # synthetic distractor identities rendered on the fly


def synthetic_identities(models: Any, n: int = N_SYNTHETIC, seed: int = 1000
                         ) -> list[tuple[str, np.ndarray]]:
    """``n`` distractor identities: synthetic people, each embedded from three poses."""
    from twoface.faces.detect import embeddings
    from twoface.synth import Identity, render
    from twoface.types import Pose

    out = []
    for k in range(n):
        idn = Identity.random(seed + k)
        embs = embeddings([(r.image, r.landmarks) for r in
                           (render(idn, Pose(yaw, 0, 0), size=224, seed=seed + k)
                            for yaw in (-15, 0, 15))], models)
        out.append((f"synthetic-{seed + k}", embs.mean(0)))
    return out


@dataclass(frozen=True)
class VerdictRules:
    """When a swap is called convincing, recognisable but soft, or failed (stated in every
    report). *Convincing* needs every ``convincing_*`` bar; any ``fail_*`` bar missed is
    *failed*; anything between is *recognisable but soft*.

    Sharpness is bounded on both sides: a face with far more fine detail than the video around
    it (a painted portrait's brush strokes measured 3.2 against the footage) reads as pasted
    on, however well it is placed. Good swaps measured 0.8-1.4 (BENCHMARKS.md, one-shot swap
    and reenactment), so the upper bars sit well clear of them."""

    convincing_found: float = 0.95  # share of source-face frames whose swapped face is found
    convincing_identity: float = 0.95  # identity retrieval: nearest of the gallery = target
    convincing_pose_deg: float = 3.0  # mean |yaw|, |pitch|, |roll| error, at most
    convincing_sharpness: float = 0.7  # sharpness ratio swapped / source, at least
    fail_found: float = 0.9
    fail_identity: float = 0.8
    fail_pose_deg: float = 6.0
    fail_sharpness: float = 0.4
    convincing_sharpness_max: float = 2.0  # sharpness ratio, at most
    fail_sharpness_max: float = 2.5

    def judge(self, s: dict[str, Any]) -> tuple[str, list[str]]:
        """``(verdict, reasons)`` for a summary of :func:`evaluate_swap`."""
        checks = [("face found", s["faces_found"], self.fail_found, self.convincing_found, 1),
                  ("identity retrieval", s["identity_retrieval"], self.fail_identity,
                   self.convincing_identity, 1),
                  ("pose error", s["pose_err_deg"], self.fail_pose_deg,
                   self.convincing_pose_deg, -1),
                  ("sharpness", s["sharpness_ratio"], self.fail_sharpness,
                   self.convincing_sharpness, 1)]
        if np.isfinite(s["sharpness_ratio"]):  # a missing one already failed above
            checks.append(("sharpness (more detail than the video)", s["sharpness_ratio"],
                           self.fail_sharpness_max, self.convincing_sharpness_max, -1))
        failed, soft = [], []
        for name, value, fail, good, sign in checks:
            if not np.isfinite(value) or sign * value < sign * fail:
                failed.append(f"{name} {value:.3g} ({'<' if sign > 0 else '>'} {fail:g})")
            elif sign * value < sign * good:
                soft.append(f"{name} {value:.3g} ({'<' if sign > 0 else '>'} {good:g})")
        if failed:
            return "failed", failed
        return ("recognisable but soft", soft) if soft else ("convincing", [])

    def describe(self) -> str:
        return (f"convincing: face found >= {self.convincing_found:.0%}, identity retrieval "
                f">= {self.convincing_identity:.0%}, pose error <= "
                f"{self.convincing_pose_deg:g} deg, sharpness ratio >= "
                f"{self.convincing_sharpness:g} and <= {self.convincing_sharpness_max:g}; "
                f"failed: face found < {self.fail_found:.0%}, identity retrieval < "
                f"{self.fail_identity:.0%}, pose error > {self.fail_pose_deg:g} deg or "
                f"sharpness ratio < {self.fail_sharpness:g} or > {self.fail_sharpness_max:g}; "
                "otherwise recognisable but soft")


def faceset_identity(folder: str | Path) -> tuple[np.ndarray, list[Path]]:
    """The mean dlib embedding of a faceset's faces, and the media it was extracted from."""
    from twoface.data.faceset import Faceset

    fs = Faceset.load(folder)
    vecs = np.array([f.vector for f in fs.faces if np.any(f.vector)])
    if not len(vecs):
        raise TwofaceError(folder, "faceset holds no face embeddings")
    return vecs.mean(0), [Path(src.path) for src in fs.sources]


def face_found(image: Image, box: BBox, models: Any) -> bool:
    """Whether the face detector finds a face overlapping ``box`` (IoU >= 0.3), searching the
    region around it (twice its size) so the cost does not grow with the frame."""
    from twoface.faces.detect import detect

    h, w = image.shape[:2]
    r = box.scaled(2.0)
    x0, y0 = max(0, int(r.x0)), max(0, int(r.y0))
    x1, y1 = min(w, int(r.x1)), min(h, int(r.y1))
    if x1 - x0 < 16 or y1 - y0 < 16:
        return False
    crop = np.ascontiguousarray(image[y0:y1, x0:x1])
    local = BBox(box.x0 - x0, box.y0 - y0, box.x1 - x0, box.y1 - y0)
    upsample = 1 if min(box.width, box.height) < 100 else 0
    return any(b.iou(local) >= 0.3 for b, _ in detect(crop, models, upsample=upsample))


def expression_error(marks: np.ndarray, ref: np.ndarray) -> float:
    """Mean landmark distance after aligning ``marks`` to ``ref`` by a similarity transform,
    over the inner 51 points, divided by ``ref``'s inter-ocular distance."""
    m = umeyama(marks[17:], ref[17:])
    moved = transform_points(marks[17:], m)
    iod = float(np.linalg.norm(ref[45] - ref[36])) or 1.0
    return float(np.linalg.norm(moved - ref[17:], axis=1).mean() / iod)


def _frames(path: Path) -> tuple[Iterator[tuple[float, Image]], int]:
    """(time, image) pairs of a video or an image (one frame), and how many there are."""
    from twoface.media import iter_frames, media_kind, probe, read_image

    if media_kind(path) == "image":
        return iter([(0.0, read_image(path))]), 1
    return ((f.time, f.image) for f in iter_frames(path)), probe(path).frame_count


def evaluate_swap(swapped: str | Path, source: str | Path, target: str | Path, *,
                  distractors: list[Path] | None = None, every: int = 1,
                  n_synthetic: int = N_SYNTHETIC, real_gallery: Path | None = None,
                  rules: VerdictRules | None = None, models: Any = None,
                  examples: int = 3) -> dict[str, Any]:
    """Measure ``swapped`` (made from ``source``) against the target faceset ``target``.

    ``real_gallery``: a faces folder holding the real people of
    :mod:`twoface.evaluate.gallery` (``../shared/data/faces``), added to the gallery.

    Returns ``{"summary": {...}, "frames": [per-frame dicts], "identities": [names],
    "examples": [(index, source image, swapped image)], "rules": ..., "gallery_notes": ...}``.
    """
    from twoface.faces.detect import face_chip, landmarks
    from twoface.faces.dlib_models import DlibModels
    from twoface.faces.nets import embed_chips
    from twoface.faces.track import FaceTracker, TrackerConfig

    models = models or DlibModels()
    swapped, source = Path(swapped), Path(source)
    sw_frames, n_sw = _frames(swapped)
    src_frames, n_src = _frames(source)
    if n_sw != n_src:
        raise TwofaceError(swapped, f"has {n_sw} frames but the source has {n_src}; "
                           "metrics compare frame by frame")
    want = set(np.linspace(0, n_src - 1, examples).round().astype(int).tolist())
    shots: list[tuple[int, Image, Image]] = []
    target_vec, target_files = faceset_identity(target)
    others = synthetic_identities(models, n_synthetic)
    others += [(Path(d).name, faceset_identity(d)[0]) for d in distractors or []]
    n_real, gallery_notes = 0, []  # type: int, list[str]
    if real_gallery is not None:
        from twoface.evaluate.gallery import real_gallery as find_real

        src_vec = _source_identity(source, models)
        people, gallery_notes = find_real(
            real_gallery, models, exclude_files=[source, *target_files],
            exclude_vectors=[target_vec] + ([src_vec] if src_vec is not None else []))
        others += [(f"real-{p.name}", p.vector) for p in people]
        n_real = len(people)
    tracker = FaceTracker(models, TrackerConfig(detect_every=5 if n_src > 1 else 1))
    rows: list[dict[str, Any]] = []
    src_chips: list[np.ndarray] = []
    sw_chips: list[tuple[int, np.ndarray]] = []
    prev: tuple[Image, Image, np.ndarray] | None = None
    for i, ((t, src), (_, sw)) in enumerate(zip(src_frames, sw_frames, strict=False)):
        faces = tracker.update(src, i, t)
        if i in want:
            shots.append((i, src, sw))
        if not faces:
            prev = None
            continue
        face = max(faces, key=lambda f: f.bbox.area)
        # Both faces are fitted in the same box, so the predictor's sensitivity to its box
        # cancels: an untouched frame measures exactly zero.
        ref, marks = landmarks(src, face.bbox, models), landmarks(sw, face.bbox, models)
        big = face_mask(ref, src.shape, brow_raise=0.35)
        grow = max(3, int(0.15 * float(np.ptp(ref[:, 0]))) | 1)
        big = cv2.dilate(big, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (grow, grow)))
        inner = face_mask(ref, src.shape) > 0.5
        row: dict[str, Any] = {"frame": i, "bg_psnr": psnr_outside(sw, src, big)}
        # Sharpness away from the blend seam: the inner face, shrunk by a tenth of its width.
        shrink = max(3, int(0.1 * float(np.ptp(ref[:, 0]))) | 1)
        core = cv2.erode(inner.astype(np.uint8),
                         cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (shrink, shrink)))
        row["sharpness"] = sharpness_ratio(sw, src, core)
        if prev is not None and inner.any():
            p_src, p_sw, p_inner = prev
            both = inner & p_inner
            row["flicker_swapped"] = float(np.abs(sw.astype(np.float32) - p_sw)[both].mean())
            row["flicker_source"] = float(np.abs(src.astype(np.float32) - p_src)[both].mean())
        prev = (src.astype(np.float32), sw.astype(np.float32), inner)
        if i % every == 0:
            ps, pw = head_pose(ref, src.shape[1::-1]), head_pose(marks, src.shape[1::-1])
            row.update(yaw_err=abs(pw.yaw - ps.yaw), pitch_err=abs(pw.pitch - ps.pitch),
                       roll_err=abs(pw.roll - ps.roll),
                       expression_err=expression_error(marks, ref),
                       eyes_source=float(eye_openness(ref).mean()),
                       eyes_swapped=float(eye_openness(marks).mean()))
            if face_found(src, face.bbox, models):  # the same search on both frames
                row["found"] = face_found(sw, face.bbox, models)
            # Chips now, one batch through the embedder at the end.
            src_chips.append(face_chip(src, ref, models))
            sw_chips.append((len(rows), face_chip(sw, marks, models)))
        rows.append(row)
    if not rows or not sw_chips:
        raise TwofaceError(source, "no face found in the source; nothing to measure")
    src_embs = embed_chips(np.stack(src_chips), embedder=models.net_embedder)
    sw_vecs = embed_chips(np.stack([c for _, c in sw_chips]), embedder=models.net_embedder)
    sw_embs = [(idx, vec) for (idx, _), vec in zip(sw_chips, sw_vecs, strict=True)]
    # The source identity is the source video's own mean face; compared with the target and
    # the distractors, retrieval asks "who does the swapped face look like now?".
    gallery = [("target", target_vec), ("source", np.mean(src_embs, 0)), *others]
    vecs = np.array([v for _, v in gallery])
    for idx, e in sw_embs:
        d = np.linalg.norm(vecs - e, axis=1)
        rows[idx].update(dist_target=float(d[0]), dist_source=float(d[1]),
                         nearest=gallery[int(np.argmin(d))][0],
                         cos_target=float(e @ vecs[0] / (np.linalg.norm(e) *
                                                        np.linalg.norm(vecs[0]) + 1e-9)))
    summary = _summarise(rows, n_src, len(gallery))
    summary["gallery_real"] = n_real
    rules = rules or VerdictRules()
    summary["verdict"], reasons = rules.judge(summary)
    return {"summary": summary, "verdict_reasons": reasons, "rules": asdict(rules),
            "rules_text": rules.describe(), "frames": rows,
            "identities": [n for n, _ in gallery], "gallery_notes": gallery_notes,
            "examples": shots, "swapped": str(swapped), "source": str(source),
            "target": str(target)}


def _source_identity(source: Path, models: Any) -> np.ndarray | None:
    """The source person's embedding from a few frames, to keep them out of the gallery."""
    from twoface.evaluate.gallery import identity_of

    found = identity_of("source", [source], models)
    return found.vector if found is not None else None


def _summarise(rows: list[dict[str, Any]], frames: int, gallery: int) -> dict[str, Any]:
    def mean(key: str) -> float:
        v = [r[key] for r in rows if key in r and np.isfinite(r[key])]
        return float(np.mean(v)) if v else float("nan")

    ided = [r for r in rows if "nearest" in r]
    fl_sw, fl_src = mean("flicker_swapped"), mean("flicker_source")
    checked = [r["found"] for r in rows if "found" in r]
    sharp = [r["sharpness"] for r in rows if np.isfinite(r.get("sharpness", np.nan))]
    pose = [(r["yaw_err"] + r["pitch_err"] + r["roll_err"]) / 3 for r in rows if "yaw_err" in r]
    return {
        "frames": frames,
        "frames_with_face": len(rows),
        "frames_identity": len(ided),
        "gallery_identities": gallery,
        "identity_retrieval": float(np.mean([r["nearest"] == "target" for r in ided])),
        "closer_to_target_than_source": float(np.mean(
            [r["dist_target"] < r["dist_source"] for r in ided])),
        "dist_target": mean("dist_target"),
        "dist_source": mean("dist_source"),
        "cos_target": mean("cos_target"),
        "yaw_err_deg": mean("yaw_err"),
        "pitch_err_deg": mean("pitch_err"),
        "roll_err_deg": mean("roll_err"),
        "expression_err_iod": mean("expression_err"),
        "bg_psnr_db": mean("bg_psnr"),
        "flicker_swapped": fl_sw,
        "flicker_source": fl_src,
        "flicker_ratio": fl_sw / fl_src if fl_src > 0 else float("nan"),
        "faces_found": float(np.mean(checked)) if checked else float("nan"),
        "frames_found_checked": len(checked),
        "pose_err_deg": float(np.mean(pose)) if pose else float("nan"),
        "sharpness_ratio": float(np.median(sharp)) if sharp else float("nan"),
        **blink_agreement(rows),
    }


def blink_agreement(rows: list[dict[str, Any]], shut: float = 0.6) -> dict[str, Any]:
    """Do the swapped eyes shut when the source's do? An eye counts as shut below ``shut`` ×
    its own video's open eyes (the 80th percentile of the lid gap over eye width), so a photo
    with narrower eyes is judged against itself. ``blinks_kept``: the share of the source's
    shut-eye frames where the swap's are shut too (NaN when the source never shuts them);
    ``blinks_added``: the share of its open-eye frames where the swap's are shut."""
    src = np.array([r["eyes_source"] for r in rows if "eyes_source" in r])
    sw = np.array([r["eyes_swapped"] for r in rows if "eyes_source" in r])
    if not len(src):
        return {"source_shut_frames": 0, "blinks_kept": float("nan"),
                "blinks_added": float("nan")}
    src_shut = src < shut * np.percentile(src, 80)
    sw_shut = sw < shut * np.percentile(sw, 80)
    return {"source_shut_frames": int(src_shut.sum()),
            "blinks_kept": float(sw_shut[src_shut].mean()) if src_shut.any() else float("nan"),
            "blinks_added": float(sw_shut[~src_shut].mean()) if (~src_shut).any()
            else float("nan")}


def write_report(result: dict[str, Any], folder: str | Path) -> Path:
    """``folder/metrics.json`` (summary and per-frame rows) and ``folder/report.html``."""
    from twoface.report import write_swap_report

    return write_swap_report(result, Path(folder))
