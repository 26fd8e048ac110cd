"""How good, how varied and how original are a GAN's faces, measured offline.

* **Fréchet identity distance (FID-dlib).** The Fréchet distance between Gaussians fitted to
  dlib's 128-d identity embeddings of real and generated faces. This is *our own* metric:
  published FIDs use Inception-v3 pool features of 50 000 images, and the two numbers are not
  comparable. It is what can be computed here without downloading weights; it rewards faces
  whose identity statistics match the training set's.
* **KID** (kernel inception distance, Bińkowski et al. 2018) on the same features: the
  unbiased MMD² with the cubic polynomial kernel, averaged over random subsets; unbiased, so
  it is meaningful on a few hundred faces where the Fréchet distance is biased upwards.
* **Detection rate.** The share of generated faces in which dlib's HOG detector finds a face
  (and, for calibration, the same on the real faces at the same size).
* **Nearest neighbours.** For each generated face, the closest training face in identity
  space (Euclidean, dlib's "same person" threshold is 0.6) and in pixel space (RMSE in [0, 1]
  at the model's size, mirrored training faces included, since training mirrors). A GAN that
  copies its training faces shows pixel distances far below the real-to-real reference.

A true (Inception) FID is not computed: this project ships no Inception-v3 implementation or
weights and never downloads any.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypedDict

import numpy as np

EMBED_SIDE = 256  # faces are upscaled to this before dlib: HOG misses faces under ~80 px
SAME_PERSON = 0.6  # dlib's Euclidean threshold for two faces of one person


# ------------------------------------------------------------------- distances on features
def _psd_sqrt(m: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix (negative round-off clipped)."""
    w, v = np.linalg.eigh((m + m.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to feature sets ``a (N, D)``, ``b (M, D)``:
    ``|μa − μb|² + tr(Σa + Σb − 2 (Σa Σb)^½)``.

    ``tr (Σa Σb)^½`` equals ``tr (Σa^½ Σb Σa^½)^½``, whose argument is symmetric PSD: two
    eigendecompositions give it exactly, with no complex round-off to discard.
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise ValueError(f"need two (N≥2, D) feature sets, got {a.shape} and {b.shape}")
    mu = a.mean(0) - b.mean(0)
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root_a = _psd_sqrt(ca)
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(root_a @ cb @ root_a), 0, None)).sum()
    return float(mu @ mu + np.trace(ca) + np.trace(cb) - 2 * cross)


def kid(a: np.ndarray, b: np.ndarray, *, subsets: int = 100, subset_size: int = 1000,
        seed: int = 0) -> tuple[float, float]:
    """Kernel distance: mean and standard deviation over ``subsets`` random subsets of the
    unbiased MMD² with ``k(x, y) = (x·y / D + 1)³``."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    m = min(subset_size, len(a), len(b))
    if m < 2:
        raise ValueError("KID needs at least 2 samples in each set")
    d = a.shape[1]
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(subsets):
        x = a[rng.choice(len(a), m, replace=False)]
        y = b[rng.choice(len(b), m, replace=False)]
        kxx, kyy = (x @ x.T / d + 1) ** 3, (y @ y.T / d + 1) ** 3
        kxy = (x @ y.T / d + 1) ** 3
        # Unbiased: the diagonals (a sample with itself) are left out of the within-set means.
        mmd = ((kxx.sum() - np.trace(kxx)) / (m * (m - 1))
               + (kyy.sum() - np.trace(kyy)) / (m * (m - 1)) - 2 * kxy.mean())
        values.append(mmd)
    return float(np.mean(values)), float(np.std(values))


def nearest(queries: np.ndarray, bank: np.ndarray, *, exclude_self: bool = False,
            chunk: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean distance from each row of ``queries`` to its nearest row of ``bank`` and that
    row's index (``exclude_self``: queries *are* the bank; a row may not match itself)."""
    q, k = np.asarray(queries, np.float32), np.asarray(bank, np.float32)
    kk = (k * k).sum(1)
    dist, idx = np.empty(len(q), np.float32), np.empty(len(q), np.int64)
    for s in range(0, len(q), chunk):
        part = q[s:s + chunk]
        d2 = (part * part).sum(1)[:, None] + kk[None] - 2 * part @ k.T
        if exclude_self:
            d2[np.arange(len(part)), np.arange(s, s + len(part))] = np.inf
        j = d2.argmin(1)
        idx[s:s + chunk], dist[s:s + chunk] = j, np.sqrt(np.clip(d2[np.arange(len(part)), j],
                                                                 0, None))
    return dist, idx


# ---------------------------------------------------------------------- dlib features
def identity_features(faces: np.ndarray, coverage: float, *, progress: bool = False
                      ) -> tuple[np.ndarray, np.ndarray]:
    """dlib embeddings ``(N, 128)`` and HOG detections ``(N,)`` bool of aligned faces
    ``(N, S, S, 3)`` uint8.

    Every face is embedded, found or not, from landmarks fitted inside the box where the
    alignment template puts the face: the same for real and generated faces, so the features
    measure the faces rather than the detector's luck.
    """
    import cv2

    from twoface.faces.align import template_points
    from twoface.faces.detect import detect, face_chip, landmarks
    from twoface.faces.dlib_models import DlibModels
    from twoface.faces.nets import embed_chips
    from twoface.progress import progress_bar
    from twoface.types import BBox

    models = DlibModels()
    box = BBox.from_points(template_points(EMBED_SIDE, coverage))
    chips = np.zeros((len(faces), 150, 150, 3), np.uint8)
    found = np.zeros(len(faces), bool)
    with progress_bar(enabled=progress) as bar:
        task = bar.add_task("dlib features", total=len(faces), unit="faces")
        for i, face in enumerate(faces):
            img = (face if face.shape[0] == EMBED_SIDE else
                   cv2.resize(face, (EMBED_SIDE, EMBED_SIDE), interpolation=cv2.INTER_CUBIC))
            found[i] = bool(detect(img, models))
            chips[i] = face_chip(img, landmarks(img, box, models), models)
            bar.advance(task)
    return embed_chips(chips, embedder=models.net_embedder), found


class RealFeatures(TypedDict):
    """What :func:`real_features` computes once for a reference set."""

    faces: np.ndarray  # (N, S, S, 3) uint8
    emb: np.ndarray  # (N, 128) dlib embeddings
    found: np.ndarray  # (N,) whether dlib found a face
    coverage: np.float64  # the facesets' crop coverage


def real_features(facesets: Sequence[str | Path], size: int, *, limit: int = 2000,
                  seed: int = 0, progress: bool = False) -> RealFeatures:
    """The reference set: faces of ``facesets`` at the model's ``size`` (at most ``limit``,
    drawn at random), their embeddings, detections and pixels."""
    from twoface.data.faceset import Faceset
    from twoface.data.gan_batches import load_faces

    faces = load_faces(facesets, size, progress=progress).permute(0, 2, 3, 1).numpy()
    if len(faces) > limit:
        faces = faces[np.sort(np.random.default_rng(seed).choice(len(faces), limit, False))]
    coverage = Faceset.load(facesets[0]).coverage
    emb, found = identity_features(faces, coverage, progress=progress)
    return {"faces": faces, "emb": emb, "found": found, "coverage": np.float64(coverage)}


def compare(fake: np.ndarray, real: RealFeatures, *, kid_subsets: int = 100,
            kid_subset_size: int = 1000, progress: bool = False) -> dict[str, Any]:
    """Every metric of this module for generated faces ``fake (N, S, S, 3)`` uint8 against
    :func:`real_features` output; returns a flat summary and per-face nearest neighbours."""
    emb, found = identity_features(fake, float(real["coverage"]), progress=progress)
    kid_mean, kid_std = kid(emb, real["emb"], subsets=kid_subsets, subset_size=kid_subset_size)
    e_dist, e_idx = nearest(emb, real["emb"])
    e_ref, _ = nearest(real["emb"], real["emb"], exclude_self=True)
    px = fake.reshape(len(fake), -1).astype(np.float32) / 255
    rf = real["faces"]
    bank = np.concatenate([rf, rf[:, :, ::-1]]).reshape(2 * len(rf), -1).astype(np.float32) / 255
    dims = px.shape[1]
    p_dist, p_idx = nearest(px, bank)
    p_dist, p_idx = p_dist / np.sqrt(dims), p_idx % len(rf)  # Euclidean → RMSE per value
    real_px = rf.reshape(len(rf), -1).astype(np.float32) / 255
    p_ref, _ = nearest(real_px, real_px, exclude_self=True)
    p_ref = p_ref / np.sqrt(dims)
    summary = {
        "generated": len(fake), "real": len(rf),
        "fid_dlib": frechet_distance(emb, real["emb"]),
        "kid_dlib": kid_mean, "kid_dlib_std": kid_std,
        "detection_rate": float(found.mean()),
        "real_detection_rate": float(real["found"].mean()),
        "nn_identity_median": float(np.median(e_dist)), "nn_identity_min": float(e_dist.min()),
        "nn_identity_same_person": float((e_dist < SAME_PERSON).mean()),
        "real_nn_identity_median": float(np.median(e_ref)),
        "nn_pixel_rmse_median": float(np.median(p_dist)), "nn_pixel_rmse_min": float(p_dist.min()),
        "real_nn_pixel_rmse_median": float(np.median(p_ref)),
        "real_nn_pixel_rmse_min": float(p_ref.min()),
        "inception_fid": None,
    }
    return {"summary": summary, "nn_pixel": p_dist, "nn_pixel_index": p_idx,
            "nn_identity": e_dist, "nn_identity_index": e_idx, "found": found}


def nearest_sheet(fake: np.ndarray, real_faces: np.ndarray, dist: np.ndarray,
                  index: np.ndarray, pairs: int = 8) -> np.ndarray:
    """An image of the ``pairs`` generated faces closest to a training face (top row) above
    those training faces (bottom row): the copy check a person can look at."""
    order = np.argsort(dist)[:pairs]
    top = np.concatenate([fake[i] for i in order], axis=1)
    bottom = np.concatenate([real_faces[index[i]] for i in order], axis=1)
    return np.concatenate([top, bottom], axis=0)


def evaluate_gan(model_dir: str | Path, real: Sequence[str | Path] | RealFeatures, *,
                 n: int = 500, seed: int = 12345, truncation: float = 1.0,
                 device: str | None = None, output: str | Path | None = None,
                 progress: bool = False) -> dict[str, Any]:
    """Draw ``n`` faces from the model in ``model_dir`` and compare them with ``real`` (faceset
    folders, or a :func:`real_features` result to reuse). With ``output``, writes
    ``metrics.json`` and ``nearest.png`` (closest generated/training pairs) there."""
    from twoface.apply.generate import GanPipeline
    from twoface.fileio import atomic_write_json

    pipe = GanPipeline.from_pretrained(model_dir, device)
    if not isinstance(real, dict):
        real = real_features(real, pipe.size, progress=progress)
    if real["faces"].shape[1] != pipe.size:
        raise ValueError("real features were computed at another size than the model's")
    fake = pipe.faces(n, seed=seed, truncation=truncation)
    result = compare(fake, real, progress=progress)
    result["summary"].update({"model": str(model_dir), "model_name": pipe.model.name,
                              "size": pipe.size, "truncation": truncation})
    if output is not None:
        out = Path(output)
        atomic_write_json(out / "metrics.json", result["summary"])
        from twoface.provenance import Provenance, write_marked_image

        # Half of the sheet is generated faces: it is marked like every other output.
        prov = Provenance.from_files("gan", [], model=model_dir, label=None)
        sheet = nearest_sheet(fake, real["faces"], result["nn_pixel"], result["nn_pixel_index"])
        write_marked_image(out / "nearest.png", sheet, prov)
    return result
