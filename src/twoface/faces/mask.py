"""Face masks from landmarks: the convex hull with raised brows, feathered at the edge."""

from __future__ import annotations

import cv2
import numpy as np


def hull_points(marks: np.ndarray, brow_raise: float = 0.2) -> np.ndarray:
    """Jaw and brows with the brows lifted by ``brow_raise`` × the brow-to-chin distance so the
    forehead is inside the hull (a face swap must cover it; dlib has no forehead points)."""
    pts = np.asarray(marks, np.float64).copy()
    chin = pts[8]
    brows = pts[17:27]
    lift = (brows.mean(0) - chin) * brow_raise
    pts[17:27] = brows + lift
    return np.vstack([pts[0:17], pts[17:27]]).astype(np.float32)


def face_mask(marks: np.ndarray, shape: tuple[int, ...], *, brow_raise: float = 0.2,
              feather: float = 0.0) -> np.ndarray:
    """``H×W`` float32 mask in [0, 1]: 1 inside the face hull.

    ``feather`` is the width of the soft edge as a fraction of the face size; the soft ramp lies
    inside the hull so that a feathered mask never spills past the face outline.
    """
    h, w = shape[:2]
    hull = cv2.convexHull(hull_points(marks, brow_raise)).astype(np.int32)
    mask = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(mask, hull, 255, lineType=cv2.LINE_AA)
    out = mask.astype(np.float32) / 255.0
    if feather > 0:
        _x0, _y0, bw, bh = cv2.boundingRect(hull)
        radius = max(1.0, feather * max(bw, bh))
        dist = cv2.distanceTransform((mask > 127).astype(np.uint8), cv2.DIST_L2, 5)
        out = np.clip(dist / radius, 0.0, 1.0).astype(np.float32)
    return out
