"""Alignment: a similarity transform from 68 landmarks to a canonical face, and back.

The canonical template below is twoface's own: the generalised-Procrustes mean of dlib's 68
landmarks on ~140 near-frontal real faces (stills and video frames from the test media),
mirror-symmetrised, eyes levelled, scaled so that the points span the unit square.
"""

from __future__ import annotations

import cv2
import numpy as np

from twoface.types import AlignedFace

TEMPLATE = np.array([
    [0.0059, 0.1985], [0.0132, 0.3315], [0.0330, 0.4627], [0.0592, 0.5916], [0.1028, 0.7130],
    [0.1740, 0.8205], [0.2674, 0.9091], [0.3759, 0.9781], [0.5000, 1.0000], [0.6241, 0.9781],
    [0.7326, 0.9091], [0.8260, 0.8205], [0.8972, 0.7130], [0.9408, 0.5916], [0.9670, 0.4627],
    [0.9868, 0.3315], [0.9941, 0.1985], [0.0824, 0.0885], [0.1422, 0.0231], [0.2329, 0.0000],
    [0.3277, 0.0089], [0.4150, 0.0461], [0.5850, 0.0461], [0.6723, 0.0089], [0.7671, 0.0000],
    [0.8578, 0.0231], [0.9176, 0.0885], [0.5000, 0.1614], [0.5000, 0.2499], [0.5000, 0.3367],
    [0.5000, 0.4261], [0.3999, 0.4982], [0.4489, 0.5139], [0.5000, 0.5271], [0.5511, 0.5139],
    [0.6001, 0.4982], [0.1845, 0.1844], [0.2402, 0.1540], [0.3054, 0.1545], [0.3637, 0.1953],
    [0.3024, 0.2068], [0.2367, 0.2072], [0.6363, 0.1953], [0.6946, 0.1545], [0.7598, 0.1540],
    [0.8155, 0.1844], [0.7633, 0.2072], [0.6976, 0.2068], [0.3169, 0.6779], [0.3831, 0.6387],
    [0.4507, 0.6170], [0.5000, 0.6308], [0.5493, 0.6170], [0.6169, 0.6387], [0.6831, 0.6779],
    [0.6198, 0.7433], [0.5539, 0.7729], [0.5000, 0.7783], [0.4461, 0.7729], [0.3802, 0.7433],
    [0.3469, 0.6791], [0.4499, 0.6671], [0.5000, 0.6721], [0.5501, 0.6671], [0.6531, 0.6791],
    [0.5510, 0.7001], [0.5000, 0.7065], [0.4490, 0.7001],
], dtype=np.float64)

# The jaw outline slides with yaw (it is a silhouette, not a fixed point on the face), so only the
# inner points (brows, eyes, nose, mouth) decide the transform.
ALIGN_POINTS = slice(17, 68)

DEFAULT_COVERAGE = 0.625
"""Fraction of the crop side the template spans: room for forehead, hairline and cheeks."""


RIGID_POINTS = [27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 39, 42, 45]
"""The 68-point scheme's nose and eye corners: what an expression barely moves, so a head's
pose fitted on them leaves the expression (lips, brows, lids, jaw) out of it."""


def umeyama(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The least-squares similarity transform (rotation, uniform scale, shift) taking ``src``
    to ``dst`` (both ``N×2``), as a 2×3 matrix (Umeyama 1991, without reflections)."""
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    cov = d.T @ s / len(src)
    u, sig, vt = np.linalg.svd(cov)
    fix = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        fix[1, 1] = -1
    rot = u @ fix @ vt
    var_s = (s**2).sum() / len(src)
    scale = (sig * np.diag(fix)).sum() / var_s if var_s > 0 else 1.0
    shift = mu_d - scale * rot @ mu_s
    return np.hstack([scale * rot, shift[:, None]])


def template_points(size: int, coverage: float = DEFAULT_COVERAGE) -> np.ndarray:
    """The 68 template points in the pixels of a ``size``-sided aligned crop."""
    margin = (1.0 - coverage) / 2
    return (TEMPLATE * coverage + margin) * size


def align_matrix(marks: np.ndarray, size: int, coverage: float = DEFAULT_COVERAGE) -> np.ndarray:
    """2×3 matrix mapping frame pixels to the pixels of the aligned crop."""
    return umeyama(marks[ALIGN_POINTS], template_points(size, coverage)[ALIGN_POINTS])


def transform_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a 2×3 affine matrix to ``N×2`` points."""
    pts = np.asarray(points, np.float64)
    return (pts @ matrix[:, :2].T + matrix[:, 2]).astype(np.float32)


def invert(matrix: np.ndarray) -> np.ndarray:
    return cv2.invertAffineTransform(np.asarray(matrix, np.float64))


def align_face(image: np.ndarray, marks: np.ndarray, size: int = 256,
               coverage: float = DEFAULT_COVERAGE) -> AlignedFace:
    """Warp the face with landmarks ``marks`` (68×2, frame pixels) to a ``size``² crop."""
    matrix = align_matrix(marks, size, coverage)
    crop = cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_CUBIC,
                          borderMode=cv2.BORDER_REFLECT101)
    return AlignedFace(image=crop, matrix=matrix, size=size, coverage=coverage)


def warp_back(crop: np.ndarray, matrix: np.ndarray, frame_shape: tuple[int, ...],
              *, flags: int = cv2.INTER_CUBIC) -> np.ndarray:
    """The exact inverse warp: put ``crop`` (aligned with ``matrix``) back into frame pixels.

    Works for images and for masks (``H×W`` or ``H×W×C``, any dtype OpenCV warps).
    """
    h, w = frame_shape[:2]
    return cv2.warpAffine(crop, matrix, (w, h), flags=flags | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)
