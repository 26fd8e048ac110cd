"""Colour matching and blending for pasting a generated face back into its frame.

Crops are ``S×S×3`` float32 RGB in [0, 1]; masks ``S×S`` float32 in [0, 1]; frames ``H×W×3``.
"""

from __future__ import annotations

import cv2
import numpy as np


def lab_stats(crop: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``(2, 3)``: mean and standard deviation of each Lab channel inside ``mask``."""
    lab = cv2.cvtColor(crop.astype(np.float32), cv2.COLOR_RGB2LAB)
    w = (mask > 0.5).reshape(-1)
    px = lab.reshape(-1, 3)[w] if w.any() else lab.reshape(-1, 3)
    return np.stack([px.mean(0), px.std(0) + 1e-3]).astype(np.float64)


def rct(crop: np.ndarray, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Reinhard colour transfer: give ``crop`` (whose Lab stats are ``src``) the stats ``dst``.

    Taking the stats as arguments lets the caller smooth ``dst − src`` over time, so the
    correction itself does not flicker from frame to frame.
    """
    lab = cv2.cvtColor(crop.astype(np.float32), cv2.COLOR_RGB2LAB).astype(np.float64)
    ratio = np.clip(dst[1] / src[1], 0.5, 2.0)  # guard against near-flat patches
    lab = (lab - src[0]) * ratio + dst[0]
    lab[..., 0] = np.clip(lab[..., 0], 0, 100)
    return np.clip(cv2.cvtColor(lab.astype(np.float32), cv2.COLOR_LAB2RGB), 0, 1)


def hist_match(crop: np.ndarray, ref: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Match each RGB channel's histogram inside ``mask`` to ``ref``'s (CDF mapping)."""
    out = crop.copy()
    m = mask > 0.5
    if m.sum() < 16:
        return out
    for c in range(3):
        s, r = crop[..., c][m], ref[..., c][m]
        s_q = np.sort(s)
        r_q = np.sort(r)
        ranks = np.searchsorted(s_q, crop[..., c], side="left") / max(len(s_q) - 1, 1)
        out[..., c] = np.interp(np.clip(ranks, 0, 1), np.linspace(0, 1, len(r_q)), r_q)
    return np.clip(out, 0, 1)


def feather(mask: np.ndarray, amount: float = 0.06) -> np.ndarray:
    """Erode then blur a crop mask so that the pasted edge falls inside the face and fades
    over ``amount`` × the crop side."""
    s = mask.shape[0]
    k = max(3, int(s * amount) | 1)
    # Outside the crop counts as "not face": the forehead hull often reaches the crop's top
    # edge, and a mask cut there must fade out too rather than end in a hard line.
    core = cv2.erode(mask.astype(np.float32), cv2.getStructuringElement(cv2.MORPH_ELLIPSE,
                                                                        (k, k)),
                     borderType=cv2.BORDER_CONSTANT, borderValue=0)
    return cv2.GaussianBlur(core, (0, 0), k / 3, borderType=cv2.BORDER_CONSTANT)


def paste(frame: np.ndarray, face: np.ndarray, alpha: np.ndarray, how: str) -> np.ndarray:
    """Blend ``face`` (``H×W×3`` float in [0, 1], already in frame pixels) into ``frame``
    (uint8) with ``alpha`` ``H×W``: ``feather`` alpha-blends; ``seamless`` is Poisson
    blending (OpenCV's seamlessClone), which hides lighting seams at some cost in colour."""
    if not (alpha > 0.02).any():
        return frame
    face8 = (face * 255).round().astype(np.uint8)
    if how == "seamless":
        hard = (alpha > 0.5).astype(np.uint8) * 255
        hy, hx = np.nonzero(hard)
        h, w = frame.shape[:2]
        # OpenCV centres the mask's own bounding box on ``centre``: use that box, and keep a
        # pixel of margin inside the frame, which Poisson blending needs as its boundary.
        if len(hy) and hx.min() > 0 and hy.min() > 0 and hx.max() < w - 1 and hy.max() < h - 1:
            x0, x1, y0, y1 = hx.min(), hx.max() + 1, hy.min(), hy.max() + 1
            centre = (int(x0 + (x1 - x0) // 2), int(y0 + (y1 - y0) // 2))
            try:
                return cv2.seamlessClone(np.ascontiguousarray(face8[y0:y1, x0:x1]),
                                         np.ascontiguousarray(frame),
                                         np.ascontiguousarray(hard[y0:y1, x0:x1]), centre,
                                         cv2.NORMAL_CLONE)
            except cv2.error:
                pass  # degenerate mask shapes: fall back to feathering below
    a = alpha[..., None].astype(np.float32)
    out = frame.astype(np.float32) * (1 - a) + face8.astype(np.float32) * a
    return out.round().astype(np.uint8)
