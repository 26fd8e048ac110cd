"""The shallowfake checks that read the per-frame signals (:mod:`twoface.forensics._signals`):
frozen frames, timestamp gaps, and splices. Part of :mod:`twoface.forensics.shallow`, which
runs them all; speed changes and the source's own cadence are in
:mod:`twoface.forensics._speed`.
"""

from __future__ import annotations

import itertools

import numpy as np

from twoface.forensics._finding import Finding
from twoface.forensics._signals import Signals

# A frame is a repeat of its predecessor when its thumbnail differs by less than this
# (grey levels, mean absolute) *and* far less than the clip's typical motion.
_DUP_ABS = 0.35
_DUP_REL = 0.05
# Half-width (frames) of the window giving the local baseline that spikes are judged against.
_WIN = 8
# Repeats in a row that make a frozen picture rather than a cadence.
_FREEZE = 4


# ---------------------------------------------------------------- repeats, drops, timestamps

def duplicate_mask(sig: Signals) -> np.ndarray:
    """``mask[i]``: frame ``i`` repeats frame ``i-1``. A still clip has no motion to compare
    against, so nothing in it counts as a repeat."""
    motion = sig.motion[1:]
    mask = np.zeros(sig.n, dtype=bool)
    if motion.size < 4:
        return mask
    moving = motion[motion > _DUP_ABS]
    if moving.size < motion.size * 0.2:
        return mask
    typical = float(np.median(moving))
    mask[1:] = motion < min(_DUP_ABS, _DUP_REL * typical)
    return mask


def _runs(flags: np.ndarray, max_gap: int) -> list[tuple[int, int]]:
    """Groups of True indices whose neighbours are at most ``max_gap`` apart: (first, last)."""
    idx = np.flatnonzero(flags)
    if idx.size == 0:
        return []
    groups, start = [], idx[0]
    for a, b in itertools.pairwise(idx):
        if b - a > max_gap:
            groups.append((int(start), int(a)))
            start = b
    groups.append((int(start), int(idx[-1])))
    return groups


def span(sig: Signals, first: int, last: int) -> tuple[float, float]:
    """Seconds from frame ``first`` to the end of frame ``last``."""
    step = float(np.median(np.diff(sig.times))) if sig.n > 1 else 0.0
    return float(sig.times[max(0, first)]), float(sig.times[min(last, sig.n - 1)]) + step


def duplicate_frames(sig: Signals, dups: np.ndarray) -> list[Finding]:
    """Frozen pictures: runs of consecutive repeats (a freeze-frame inserted, or a stall).

    Single repeats in a rhythm are a re-timing or the source's frame-rate conversion and
    are reported by :mod:`twoface.forensics._speed`; a run of ``_FREEZE`` or more repeats
    in a row is neither.
    """
    out: list[Finding] = []
    typical = float(np.median(sig.step_hi[1:])) if sig.n > 1 else 0.0
    for first, last in _runs(dups, max_gap=1):
        n = last - first + 1
        if n < _FREEZE:
            continue
        # A motionless shot (a still camera, a still sitter) repeats too, but keeps its
        # sensor grain; a frozen picture is exact, far below the clip's own step.
        still = float(sig.step_hi[first:last + 1].max())
        exact = still <= 0.5 * typical
        start, end = span(sig, first - 1, last)
        conf = min(0.9, 0.3 + 0.05 * n) if exact else min(0.4, 0.1 + 0.02 * n)
        out.append(Finding("duplicate_frames", start, end, conf, {
            "frozen_frames": n, "max_motion": round(float(sig.motion[first:last + 1].max()), 3),
            "typical_motion": round(float(np.median(sig.motion[1:])), 3),
            "largest_change_in_run": round(still, 2), "typical_change": round(typical, 2)}))
    return out


def timestamp_gaps(sig: Signals) -> list[Finding]:
    """Missing or irregular presentation times between the video packets."""
    pts = sig.packet_pts
    if pts.size < 4:
        return []
    gaps = np.diff(pts)
    step = float(np.median(gaps))
    if step <= 0:
        return []
    out = []
    missing = np.flatnonzero(gaps > 1.5 * step)
    for i in missing:
        lost = round(float(gaps[i]) / step) - 1
        # A whole number of missing ticks is what cutting frames out leaves behind.
        whole = abs(gaps[i] / step - round(gaps[i] / step)) < 0.15
        conf = min(0.95, 0.55 + 0.1 * lost) if whole else 0.4
        out.append(Finding("frame_drop", float(pts[i]), float(pts[i + 1]), conf, {
            "source": "packet timestamps", "gap_s": round(float(gaps[i]), 4),
            "frame_interval_s": round(step, 4), "missing_frames": max(1, lost)}))
    # Jitter without gaps: a variable-rate phone clip is normal, so it is context.
    jitter = float(np.std(gaps[gaps <= 1.5 * step]) / step)
    if jitter > 0.2 and not missing.size:
        out.append(Finding("source_trait", float(pts[0]), float(pts[-1]), 0.8, {
            "trait": "variable frame rate", "source": "packet timestamps",
            "irregular_spacing": round(jitter, 3),
            "note": "phones record at a variable rate: context, not an edit"}))
    return out


def _local_baseline(x: np.ndarray, skip: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median and MAD of ``x`` in a ±_WIN window around each index, the index itself and
    frames in ``skip`` left out (so a spike or a repeat does not set its own baseline)."""
    n = x.size
    med, mad = np.zeros(n), np.zeros(n)
    for i in range(n):
        lo, hi = max(1, i - _WIN), min(n, i + _WIN + 1)
        sel = [j for j in range(lo, hi) if j != i and not skip[j]]
        if len(sel) < 3:
            med[i], mad[i] = np.inf, 0.0
            continue
        w = x[sel]
        med[i] = float(np.median(w))
        mad[i] = float(np.median(np.abs(w - med[i])))
    return med, mad


# ------------------------------------------------------------------------------ splices

def splices(sig: Signals, dups: np.ndarray) -> list[Finding]:
    """Abrupt changes of content (colour histogram and motion spikes far above the local
    baseline), with the change of noise level across the cut as extra evidence."""
    if sig.n < 6:
        return []
    h, m = sig.hist_dist, sig.motion
    hmed, hmad = _local_baseline(h, dups)
    mmed, _ = _local_baseline(m, dups)
    out = []
    for i in range(1, sig.n):
        if not np.isfinite(hmed[i]):
            continue
        hz = (h[i] - hmed[i]) / (1.4826 * hmad[i] + 0.01)
        mr = m[i] / (mmed[i] + 0.5)
        if h[i] < 0.15 or hz < 8 or mr < 3:
            continue
        before = sig.noise[max(0, i - 5):i]
        after = sig.noise[i:i + 5]
        nb, na = float(np.median(before)), float(np.median(after))
        noise_change = abs(na - nb) / max(0.25, min(na, nb))
        conf = min(0.95, 0.45 + 0.2 * min(1.0, (h[i] - 0.15) / 0.35) + 0.1 * min(1.0, mr / 10)
                   + 0.2 * min(1.0, noise_change))
        start, end = span(sig, i - 1, i)
        out.append(Finding("splice", start, end, conf, {
            "hist_distance": round(float(h[i]), 3), "hist_baseline": round(float(hmed[i]), 3),
            "motion_ratio": round(float(mr), 2), "noise_before": round(nb, 3),
            "noise_after": round(na, 3)}))
    return out
