"""Face detection, landmarks and identity embeddings with dlib.

All functions take RGB uint8 images (``H×W×3``) and a :class:`DlibModels` instance.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from twoface.faces.dlib_models import DlibModels
from twoface.types import BBox, DetectorName


def detect(
    image: np.ndarray,
    models: DlibModels,
    *,
    detector: DetectorName = "hog",
    upsample: int = 0,
    max_side: int | None = 640,
    min_score: float = -0.2,
) -> list[tuple[BBox, float]]:
    """Find faces; returns ``(box, score)`` pairs in ``image`` pixels, best first.

    ``max_side`` shrinks large frames before detecting (HOG cost grows with pixels, and faces in
    720p frames are far above the 80 px HOG minimum); boxes are scaled back. ``upsample``
    doubles the image that many times to find faces smaller than ~80 px.
    ``min_score`` is HOG's ``adjust_threshold``: slightly below 0 recovers hard frames at a small
    cost in false boxes, which tracking and landmarks then filter.
    """
    img = np.ascontiguousarray(image)
    scale = 1.0
    if max_side and max(img.shape[:2]) > max_side:
        import cv2

        scale = max_side / max(img.shape[:2])
        img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    found: list[tuple[BBox, float]] = []
    if detector == "hog":
        rects, scores, _ = models.hog.run(img, upsample, min_score)
        for r, s in zip(rects, scores, strict=True):
            found.append((_to_bbox(r, scale), float(s)))
    elif detector == "cnn":
        from twoface.faces.nets import detect_faces

        for x0, y0, x1, y1, score in detect_faces(img, upsample, detector=models.net_detector):
            found.append((BBox(x0 / scale, y0 / scale, (x1 + 1) / scale, (y1 + 1) / scale),
                          score))
    else:
        raise ValueError(f"unknown detector {detector!r}")
    found.sort(key=lambda bs: -bs[1])
    return _drop_overlaps(found)


def _to_bbox(rect: Any, scale: float) -> BBox:
    """A dlib ``rectangle`` (inclusive corners) at ``1 / scale`` of the image, as a BBox."""
    r = rect
    return BBox(r.left() / scale, r.top() / scale, (r.right() + 1) / scale,
                (r.bottom() + 1) / scale)


def _drop_overlaps(found: list[tuple[BBox, float]], iou: float = 0.4) -> list[tuple[BBox, float]]:
    kept: list[tuple[BBox, float]] = []
    for box, score in found:
        if all(box.iou(k) < iou for k, _ in kept):
            kept.append((box, score))
    return kept


def _rect(models: DlibModels, box: BBox) -> object:
    return models.dlib.rectangle(round(box.x0), round(box.y0),
                                 round(box.x1) - 1, round(box.y1) - 1)


def landmarks(image: np.ndarray, box: BBox, models: DlibModels, *, points: int = 68) -> np.ndarray:
    """``(points, 2)`` float32 landmarks inside ``box`` (68-point iBUG or 5-point scheme)."""
    predictor = models.shape68 if points == 68 else models.shape5
    shape = predictor(np.ascontiguousarray(image), _rect(models, box))
    return np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float32)


def embedding(image: np.ndarray, marks: np.ndarray, models: DlibModels) -> np.ndarray:
    """dlib's 128-d identity embedding of the face whose 68 landmarks are ``marks``.

    Faces of one person lie within ~0.6 (Euclidean) of each other in this space.
    """
    return embeddings([(image, marks)], models)[0]


def face_chip(image: np.ndarray, marks: np.ndarray, models: DlibModels) -> np.ndarray:
    """The ``150×150×3`` chip dlib's embedder reads: the face fitted onto dlib's mean face
    (``get_face_chip`` with padding 0.25, as ``compute_face_descriptor`` makes it)."""
    dlib = models.dlib
    box = BBox.from_points(marks)
    parts = [dlib.point(round(x), round(y)) for x, y in marks]
    shape = dlib.full_object_detection(_rect(models, box), parts)
    return np.asarray(dlib.get_face_chip(np.ascontiguousarray(image), shape, 150, 0.25))


def embeddings(faces: list[tuple[np.ndarray, np.ndarray]], models: DlibModels) -> np.ndarray:
    """Identity embeddings ``(N, 128)`` float32 of ``(image, 68 landmarks)`` pairs, in one
    batch through the PyTorch port of dlib's ResNet (equal to dlib's descriptors to ~1e-6)."""
    from twoface.faces.nets import embed_chips

    if not faces:
        return np.zeros((0, 128), np.float32)
    chips = np.stack([face_chip(img, marks, models) for img, marks in faces])
    return embed_chips(chips, embedder=models.net_embedder)
