"""Overlays: text or logos burned into the picture after capture.

With the source (:func:`overlay_regions`, used by :func:`twoface.forensics._compare.compare`
once a clip is lined up with it in space and time): what differs from the source, in the
same place, in most lined-up frames.

Without it (:func:`burned_in`): sharp edges that stay put all clip long while the picture
right around them changes. A caption over a moving speaker, or a logo over a moving
camera, is that; a bookshelf behind a speaker on a tripod is still too, and so is a logo
over it, which is why a still surround gives no finding at all rather than a guess.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

from twoface.forensics._finding import Finding

if TYPE_CHECKING:
    from twoface.forensics._compare import _Side
    from twoface.forensics._signals import Signals

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
    _, parts = _parts(joined)
    return [_scaled(box, query.size, (w, h)) for _, box in parts], len(pairs)


def _parts(mask: np.ndarray) -> tuple[np.ndarray, list[tuple[int, tuple[int, int, int, int]]]]:
    """Connected parts of ``mask`` (uint8) covering at least OVERLAY_AREA of it: the label
    image and, per part, its label and box (x, y, w, h) in the mask's pixels."""
    _, labels, stats, _ = cv2.connectedComponentsWithStats(mask)
    h, w = mask.shape
    return labels, [(k, (int(x), int(y), int(bw), int(bh)))
                    for k, (x, y, bw, bh, area) in enumerate(stats) if k
                    and area >= OVERLAY_AREA * w * h]


def _scaled(box: tuple[int, int, int, int], size: tuple[int, int],
            work: tuple[int, int]) -> list[int]:
    """``box`` in a ``work``-sized (w, h) image, in the pixels of a ``size``-sized one."""
    sx, sy = size[0] / work[0], size[1] / work[1]
    x, y, bw, bh = box
    return [round(x * sx), round(y * sy), round(bw * sx), round(bh * sy)]


# Blind check (set 2026-12-07 on the 19 shared clips of BENCHMARKS.md's shallowfake section,
# noise-sized grey, 0..255): a pixel is still below this temporal spread and an edge above
# this Sobel gradient of the mean picture (per pixel); a region counts when the picture in a
# 7-pixel ring around its box spreads at least STILL_RING over time (median) and this many
# times its own spread. Untouched clips' still edges had rings of at most 2.0.
STILL_SPREAD, STILL_EDGE = 3.0, 60.0
STILL_RING, STILL_RATIO = 3.0, 1.5
_MIN_FRAMES = 24
_RING = 7  # px


def burned_in(sig: Signals) -> list[Finding]:
    """``overlay`` findings for still, sharp regions over a changing picture (see module)."""
    mean, spread = sig.still_mean, sig.still_std
    if sig.n < _MIN_FRAMES or mean.size == 0:
        return []
    h, w = mean.shape
    m = mean.astype(np.float32)
    edge = np.hypot(cv2.Sobel(m, cv2.CV_32F, 1, 0, ksize=3),
                    cv2.Sobel(m, cv2.CV_32F, 0, 1, ksize=3)) / 4
    still = cv2.morphologyEx(((spread < STILL_SPREAD) & (edge > STILL_EDGE)).astype(np.uint8),
                             cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    labels, parts = _parts(still)
    regions, rings = [], []
    for k, (x, y, bw, bh) in parts:
        # The ring: a 7-pixel margin round the box (clipped to the picture), the box left out.
        y0, x0 = max(0, y - _RING), max(0, x - _RING)
        ring = np.ones((min(h, y + bh + _RING) - y0, min(w, x + bw + _RING) - x0), bool)
        ring[y - y0:y - y0 + bh, x - x0:x - x0 + bw] = False
        around = float(np.median(spread[y0:y0 + ring.shape[0], x0:x0 + ring.shape[1]][ring]))
        inside = float(np.median(spread[y:y + bh, x:x + bw][labels[y:y + bh, x:x + bw] == k]))
        if around >= STILL_RING and around >= STILL_RATIO * max(inside, 0.5):
            regions.append(_scaled((x, y, bw, bh), sig.frame_size, (w, h)))
            rings.append((around, inside))
    if not regions:
        return []
    around, inside = max(rings)
    end = sig.video_duration or float(sig.times[-1])
    return [Finding("overlay", 0.0, end, min(0.9, 0.5 + 0.05 * (around - STILL_RING)), {
        "regions_px": regions, "spread_inside": round(inside, 2),
        "spread_around": round(around, 2),
        "note": f"{len(regions)} sharp region(s) stay put all clip long (temporal spread "
                f"{inside:.1f} grey levels) while the picture around them changes "
                f"({around:.1f}): text or a logo burned in after capture, or a fixed "
                "object the camera saw (the source would tell)"})]
