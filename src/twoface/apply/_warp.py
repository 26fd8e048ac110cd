"""Piecewise-affine face warping on landmarks: the classic one-photo face swap, and the
motion model's sharp, training-free counterpart.

The 68 landmarks plus ten points above the brows (the forehead the paste mask covers) are
triangulated once (Delaunay, on the first face given); every triangle of the source face is
moved affinely onto the same triangle of the destination face. What the warp cannot invent
(teeth behind lips that were closed, an ear turned into view) it does not draw: the inner
mouth is left to the frame (see :class:`twoface.apply._facecrop.Paster`'s ``keep_mouth``).
A face moved on itself (reenactment) adds a ring of fixed points around it
(:func:`anchor_ring`), so the warp fades into the untouched frame with no blend at all.
"""

from __future__ import annotations

import cv2
import numpy as np


def face_points(marks: np.ndarray, brow_raise: float = 0.25) -> np.ndarray:
    """``(78, 2)``: the 68 landmarks and the brows lifted by ``brow_raise`` × brow-to-chin."""
    brows = marks[17:27]
    lift = (brows.mean(0) - marks[8]) * brow_raise
    return np.vstack([marks, brows + lift]).astype(np.float64)


def anchor_ring(marks: np.ndarray, n: int = 20, margin: float = 1.5) -> np.ndarray:
    """``(n, 2)`` points on an ellipse around the face (``margin`` × its half-extent): the warp's
    fixed frame. A warp whose ring points stay put is the identity along the ring, so the
    warped region meets the untouched frame without a seam (no feathered blend, no ghost
    brows or doubled jaw)."""
    pts = face_points(marks)
    lo, hi = pts.min(0), pts.max(0)
    centre, half = (lo + hi) / 2, (hi - lo) / 2 * margin
    angle = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return centre + half * np.stack([np.cos(angle), np.sin(angle)], 1)


def triangles(points: np.ndarray) -> np.ndarray:
    """``(T, 3)`` indices of a Delaunay triangulation of ``points`` ``(N, 2)``."""
    lo = points.min(0) - 10
    hi = points.max(0) + 10
    sub = cv2.Subdiv2D((int(lo[0]), int(lo[1]), int(hi[0] - lo[0]) + 1,
                        int(hi[1] - lo[1]) + 1))
    for p in points:
        sub.insert((float(p[0]), float(p[1])))
    tris = []
    for t in np.asarray(sub.getTriangleList()).reshape(-1, 3, 2):
        d = np.linalg.norm(points[None] - t[:, None], axis=2)  # (3, N)
        idx = d.argmin(1)
        if d[np.arange(3), idx].max() < 1e-3 and len(set(idx.tolist())) == 3:
            tris.append(idx)
    return np.array(tris, np.int32)


def piecewise_warp(image: np.ndarray, src: np.ndarray, dst: np.ndarray, tris: np.ndarray,
                   size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """``image``'s triangles ``src[tris]`` moved onto ``dst[tris]`` in a ``size`` = (w, h)
    canvas: the warped picture (uint8) and the mask of what was drawn (bool)."""
    w, h = size
    out = np.zeros((h, w, 3), np.uint8)
    drawn = np.zeros((h, w), np.uint8)
    for tri in tris:
        d, s = dst[tri].astype(np.float32), src[tri].astype(np.float32)
        x0, y0 = np.floor(d.min(0)).astype(int)
        x1, y1 = np.ceil(d.max(0)).astype(int) + 1
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        if x1 <= x0 or y1 <= y0:
            continue
        e1, e2 = d[1] - d[0], d[2] - d[0]
        if abs(float(e1[0] * e2[1] - e1[1] * e2[0])) < 1e-3:
            continue  # a triangle folded flat: nothing to draw
        # The affine map from this canvas patch back into the source image.
        back = cv2.getAffineTransform(d - np.array([x0, y0], np.float32), s)
        patch = cv2.warpAffine(image, back, (x1 - x0, y1 - y0),
                               flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_REFLECT)
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillConvexPoly(mask, np.round(d - [x0, y0]).astype(np.int32), 1)
        region = out[y0:y1, x0:x1]
        region[mask > 0] = patch[mask > 0]
        drawn[y0:y1, x0:x1] |= mask
    return out, drawn > 0


def fill_mouth(image: np.ndarray, marks: np.ndarray, donor: np.ndarray, donor_marks: np.ndarray,
               *, min_area: float = 6.0) -> np.ndarray:
    """``image`` with the inside of its lips (``marks[60:68]``) taken from ``donor``'s open mouth
    (Face2Face's mouth interior: a warp can open lips, but draws no teeth behind them).

    The donor's mouth is moved by the affine that best maps its 20 mouth points onto
    ``marks``'; its brightness is matched on the lips around the opening. A mouth
    open less than ``min_area`` px², or a donor whose own mouth is open less than half as
    wide, is left as it is.
    """
    inner = marks[60:68].astype(np.float32)
    if cv2.contourArea(inner) < min_area:
        return image
    src = np.hstack([donor_marks[48:68], np.ones((20, 1))])
    affine = np.linalg.lstsq(src, marks[48:68], rcond=None)[0].T  # 2×3
    donor_area = cv2.contourArea(donor_marks[60:68].astype(np.float32))
    if donor_area * abs(np.linalg.det(affine[:, :2])) < 0.5 * cv2.contourArea(inner):
        return image  # the donor's mouth is shut: it has no inside to give
    h, w = image.shape[:2]
    x0, y0 = np.floor(marks[48:68].min(0)).astype(int) - 2
    x1, y1 = np.ceil(marks[48:68].max(0)).astype(int) + 3
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 <= x0 or y1 <= y0:
        return image
    shift = np.array([[1, 0, -x0], [0, 1, -y0]], np.float64)
    to_patch = shift @ np.vstack([affine, [0, 0, 1]])
    patch = cv2.warpAffine(donor, to_patch, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REFLECT).astype(np.float32)
    here = image[y0:y1, x0:x1].astype(np.float32)
    local = marks - np.array([x0, y0])
    lips = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(lips, [np.round(local[48:60]).astype(np.int32)], 1)
    hole = np.zeros_like(lips)
    cv2.fillPoly(hole, [np.round(local[60:68]).astype(np.int32)], 1)
    ring = (lips > 0) & (hole == 0)
    if ring.sum() > 10:  # as bright as this face's lips (one gain: teeth keep their colour)
        gain = float(here[ring].mean()) / max(float(patch[ring].mean()), 1.0)
        patch = patch * np.clip(gain, 0.6, 1.6)
    alpha = cv2.GaussianBlur(hole.astype(np.float32), (0, 0), 0.8)[..., None]
    out = image.copy()
    out[y0:y1, x0:x1] = np.clip(np.rint(here * (1 - alpha) + patch * alpha), 0, 255).astype(
        np.uint8)
    return out
