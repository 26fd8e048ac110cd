"""Overlays: what differs from the source, in the same place, in most lined-up frames.

Used by :func:`twoface.forensics._compare.compare` once a clip is lined up with its source
in space (an affine) and time (a source frame per clip frame).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:
    from twoface.forensics._compare import _Side

OVERLAY_GREY = 18.0  # grey levels (of 255) a pixel must differ by, after gain and shift
OVERLAY_PERSIST = 0.7  # share of lined-up frames a region must differ in
OVERLAY_AREA = 0.002  # smallest overlay, as a share of the frame


def overlay_regions(query: _Side, source: _Side, to_work: np.ndarray, clip_frames: list[int],
             source_frames: list[int]) -> tuple[list[list[int]], int]:
    """Regions (x, y, w, h in clip pixels) that differ from the source in most lined-up
    frames, and how many frame pairs were compared."""
    pairs = [(q, s) for q, s in zip(clip_frames, source_frames, strict=True)
             if q in query.work and s in source.work]
    if len(pairs) > 60:
        pairs = [pairs[round(i)] for i in np.linspace(0, len(pairs) - 1, 60)]
    if len(pairs) < 5:
        return [], len(pairs)
    h, w = query.work[pairs[0][0]].shape
    ones = np.ones(source.work[pairs[0][1]].shape, np.uint8)
    valid = cv2.warpAffine(ones, to_work, (w, h), flags=cv2.INTER_NEAREST) > 0
    valid = cv2.erode(valid.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    hits = np.zeros((h, w), np.float32)
    for q, s in pairs:
        # to_work maps the source into the clip as it is shown (mirrored or not).
        moved = cv2.warpAffine(source.work[s], to_work, (w, h), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REFLECT)
        clip = np.asarray(cv2.GaussianBlur(query.work[q], (0, 0), 1.0), np.float32)
        warped = np.asarray(cv2.GaussianBlur(moved, (0, 0), 1.0), np.float32)
        # Per-frame gain and offset (a colour or brightness change is not an overlay).
        x, y = warped[valid], clip[valid]
        var = float(x.var()) if x.size > 100 else 0.0
        gain = float(np.clip(((x - x.mean()) * (y - y.mean())).mean() / var, 0.5, 2.0)
                     ) if var > 1.0 else 1.0
        warped = gain * (warped - (x.mean() if x.size else 0.0)) + (y.mean() if y.size
                                                                     else 0.0)
        # Difference that no one-pixel shift of the source explains.
        diff = np.full((h, w), np.inf, np.float32)
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                shifted = np.roll(np.roll(warped, dy, axis=0), dx, axis=1)
                np.minimum(diff, np.abs(clip - shifted), out=diff)
        hits += (diff > OVERLAY_GREY) & valid
    share = hits / len(pairs)
    found = (share >= OVERLAY_PERSIST).astype(np.uint8)
    opened = cv2.morphologyEx(found, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))
    joined = cv2.dilate(opened, np.ones((5, 5), np.uint8))  # letters of one caption join up
    n, _, stats, _ = cv2.connectedComponentsWithStats(joined)
    regions = []
    for k in range(1, n):
        x, y, bw, bh, area = stats[k]
        if area >= OVERLAY_AREA * w * h:
            sx, sy = query.size[0] / w, query.size[1] / h
            regions.append([round(x * sx), round(y * sy), round(bw * sx), round(bh * sy)])
    return regions, len(pairs)
