"""What lies in front of the target's face (the rims of glasses) and should stay in front of a
face pasted over it: FaceFusion's occluder, without a network.

A drawn face carries no glasses: pasted over a target who wears them, the rims vanish inside
the mask and stop at its edge, the clearest tell a swap can show. Rims are thin (narrower than
a tenth of the eyes' spacing), long, and in the frame but not in the drawn face. So: thin
structures of either polarity (black-hat and top-hat of the luma) in the frame, less those of
the drawn face at the same place; away from the eyes, brows and lips of both faces (each face
has its own, never exactly in place); kept where they form long thin strokes, and only when
together they are long enough to be a frame of glasses and one spans the nose where its bridge
sits, not a wrinkle, a mole or a brow raised past its landmarks (which are the target's and
must not come back). Glasses are worn for the whole shot, so the paste
(:class:`twoface.apply._facecrop.Paster`) keeps occluders only while they are found steadily
along the track. Clear plastic rims (d12 of ``../shared``) and thin light ones (d19) stand too
little out of the skin to be found, and the paste covers them as before. The drawn face
must be sharp (the warp engine's photo): against a soft one, every line of the target's own
face (a fold, an eyelid's crease) would read as lying in front of it.
"""

from __future__ import annotations

import cv2
import numpy as np

# (first, last + 1, filled, margin in inter-ocular distances): eyes and lips filled, brows
# stroked; the eyes' margin takes in lashes, a wider one would cut the rims below them.
_FEATURES = ((36, 42, True, 0.08), (42, 48, True, 0.08), (48, 60, True, 0.06),
             (17, 22, False, 0.06), (22, 27, False, 0.06))


def _thin(gray: np.ndarray, k: int) -> np.ndarray:
    """Structures narrower than ``k`` px, dark or bright: max(black-hat, top-hat), int16.
    (A round element: a square one, twice as fast, also answers at the corners of wide
    shapes and doubles the strays.)"""
    ker = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    return np.maximum(cv2.morphologyEx(gray, cv2.MORPH_BLACKHAT, ker),
                      cv2.morphologyEx(gray, cv2.MORPH_TOPHAT, ker)).astype(np.int16)


def _features(marks: np.ndarray, shape: tuple[int, int], iod: float) -> np.ndarray:
    """uint8 mask over the eyes, lips (filled) and brows (stroked) of ``marks``, widened
    (one dilation per margin)."""
    drawn: dict[float, np.ndarray] = {}
    for lo, hi, filled, margin in _FEATURES:
        pts = np.round(marks[lo:hi]).astype(np.int32)
        one = drawn.setdefault(margin, np.zeros(shape, np.uint8))
        if filled:
            cv2.fillPoly(one, [pts], 1)
        else:  # raised high, brows go past their landmarks: the band reaches up for them
            up = np.round((marks[lo:hi].mean(0) - marks[8]) * 0.2).astype(np.int32)
            cv2.fillPoly(one, [np.vstack([pts, (pts + up)[::-1]])], 1)
            cv2.polylines(one, [pts], False, 1, max(2, round(0.1 * iod)))
    out = np.zeros(shape, np.uint8)
    for margin, one in drawn.items():
        grow = max(3, round(2 * margin * iod) | 1)
        ker = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (grow, grow))
        out = np.maximum(out, cv2.dilate(one, ker))
    return out


def occluders(frame: np.ndarray, drawn: np.ndarray, region: np.ndarray,
              marks: list[np.ndarray], *, contrast: float = 14.0, min_length: float = 0.3,
              min_total: float = 1.0) -> np.ndarray:
    """Float mask in [0, 1] (``frame``'s size) of the frame's occluders inside ``region``.

    ``frame`` and ``drawn`` are ``H×W×3`` (uint8 or float in [0, 1]) over the same pixels;
    ``marks`` the landmarks of both faces there (the frame's and the drawn face's), the first
    setting the scale. A stroke is kept when it is at least ``min_length`` inter-ocular
    distances long and stands ``contrast`` grey levels out of its surroundings more in the
    frame than in the drawn face; all strokes are dropped unless together they are
    ``min_total`` inter-ocular distances long and one of them (or a thin stroke half as
    wide) spans the nose between the eyes, where a frame of glasses has its bridge: raised
    brows, hair or a fold, which can pass the other tests, do not reach across there.
    """
    out = np.zeros(frame.shape[:2], np.float32)
    iod = float(np.linalg.norm(marks[0][45] - marks[0][36]))
    ys, xs = np.nonzero(region > 0.5)
    if iod < 8 or not len(ys):
        return out
    k = max(3, round(0.1 * iod) | 1)
    # Only the region's box (and the element's reach round it) is looked at.
    h, w = frame.shape[:2]
    y0, y1 = max(0, ys.min() - k), min(h, ys.max() + k + 1)
    x0, x1 = max(0, xs.min() - k), min(w, xs.max() + k + 1)
    box = (slice(y0, y1), slice(x0, x1))

    def gray(img: np.ndarray) -> np.ndarray:
        img = img[box]
        img = img if img.dtype == np.uint8 else np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8)
        return cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_RGB2GRAY)

    excess = _thin(gray(frame), k) - _thin(gray(drawn), k)
    away = np.ones(excess.shape, bool)
    for m in marks:
        away &= _features(m - [x0, y0], excess.shape, iod) == 0
    cand = ((excess > contrast) & (region[box] > 0.5) & away).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(cand, connectivity=8)
    keep = np.zeros(n, bool)
    length = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
    # Long, and thin along its length (a stroke, not a patch of shadow).
    keep[1:] = (length[1:] >= min_length * iod) & (
        stats[1:, cv2.CC_STAT_AREA] <= 0.25 * iod * length[1:])
    if length[keep].sum() < min_total * iod:
        return out
    bridge = np.zeros(excess.shape, np.uint8)
    centre = marks[0][[27, 39, 42]].mean(0) - [x0, y0]
    cv2.circle(bridge, np.round(centre).astype(int).tolist(), max(2, round(0.15 * iod)), 1, -1)
    crossing = np.unique(labels[bridge > 0])
    bw, bh, area = stats[crossing[crossing > 0]][:, [cv2.CC_STAT_WIDTH, cv2.CC_STAT_HEIGHT,
                                                     cv2.CC_STAT_AREA]].T
    # A bridge spans the nose (its shading runs down it) and is thin, like a rim.
    if not ((bw >= min_length / 2 * iod) & (area <= 0.08 * iod * (bw + bh))).any():
        return out
    mask = cv2.dilate(keep[labels].astype(np.uint8), np.ones((3, 3), np.uint8))
    out[box] = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 0.8)
    return out
