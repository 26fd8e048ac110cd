"""The shallowfake checks that read the per-frame signals (:mod:`twoface.forensics._signals`):
repeated, dropped and re-timed frames, timestamp gaps, and splices. Part of
:mod:`twoface.forensics.shallow`, which runs them all.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from twoface.forensics._finding import Finding
from twoface.forensics._signals import Signals

# A frame is a repeat of its predecessor when its thumbnail differs by less than this
# (grey levels, mean absolute) *and* far less than the clip's typical motion.
_DUP_ABS = 0.35
_DUP_REL = 0.05
# Half-width (frames) of the window giving the local baseline that spikes are judged against.
_WIN = 8


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


def _regularity(idx: np.ndarray) -> tuple[int, float]:
    """The commonest gap between indices and the share of gaps equal to it (1 = periodic)."""
    if idx.size < 3:
        return 0, 0.0
    gaps = np.diff(idx)
    values, counts = np.unique(gaps, return_counts=True)
    k = int(np.argmax(counts))
    return int(values[k]), float(counts[k] / gaps.size)


def span(sig: Signals, first: int, last: int) -> tuple[float, float]:
    """Seconds from frame ``first`` to the end of frame ``last``."""
    step = float(np.median(np.diff(sig.times))) if sig.n > 1 else 0.0
    return float(sig.times[max(0, first)]), float(sig.times[min(last, sig.n - 1)]) + step


def duplicate_frames(sig: Signals, dups: np.ndarray) -> list[Finding]:
    """Runs of repeated frames: frame-rate up-conversion or slow motion by repetition.

    A region where repeats recur at a fixed period also yields a ``speed_change`` finding
    with the implied speed factor (unique frames / frames shown).
    """
    out: list[Finding] = []
    # Repeats from a frame-rate conversion come every few frames, a few missed: when the
    # whole clip repeats at one period, bridge gaps of several periods so that the
    # conversion is reported once rather than as dozens of regions.
    period, regular = _regularity(np.flatnonzero(dups))
    bridge = max(8, 4 * period) if dups.sum() >= 8 and regular >= 0.4 else 8
    for first, last in _runs(dups, max_gap=bridge):
        idx = np.flatnonzero(dups[first:last + 1]) + first
        n = int(idx.size)
        if n < 2:
            # A lone repeat is common in clean video (a paused camera, an encoder hiccup).
            conf = 0.15
        else:
            period, regular = _regularity(idx)
            conf = (1 - math.exp(-n / 4)) * (0.6 + 0.4 * regular)
        start, end = span(sig, first - 1, last)
        shown = last - first + 2
        ev: dict[str, Any] = {"repeated_frames": n, "frames_in_region": shown,
                              "repeat_period_frames": _regularity(idx)[0],
                              "max_motion": round(float(sig.motion[idx].max()), 3),
                              "typical_motion": round(float(np.median(sig.motion[1:])), 3)}
        out.append(Finding("duplicate_frames", start, end, conf, ev))
        if n >= 4:
            period, regular = _regularity(idx)
            if regular >= 0.6:
                speed = (shown - n) / shown
                ev = {"source": "duplicate-frame cadence", "repeat_period_frames": period,
                      "speed_factor": round(speed, 3)}
                weight = regular
                if _audio_matches(sig):
                    # Audio as long as the picture: the repeats filled a higher frame rate
                    # (up-conversion) rather than stretching time.
                    weight *= 0.4
                    ev["note"] = "audio length matches video: frame-rate conversion likely"
                out.append(Finding("speed_change", start, end, conf * weight, ev))
    return out


def _audio_matches(sig: Signals) -> bool:
    """Whether the file has audio as long as its video (within 5 %)."""
    if sig.audio_duration is None or sig.video_duration <= 0:
        return False
    return abs(sig.audio_duration - sig.video_duration) <= 0.05 * sig.video_duration


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
    # Jitter without gaps: a variable-rate phone clip is normal, so keep this weak.
    jitter = float(np.std(gaps[gaps <= 1.5 * step]) / step)
    if jitter > 0.2 and not missing.size:
        out.append(Finding("frame_drop", float(pts[0]), float(pts[-1]), 0.2, {
            "source": "packet timestamps", "irregular_spacing": round(jitter, 3)}))
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


def motion_jumps(sig: Signals, dups: np.ndarray) -> list[Finding]:
    """Frames whose motion is about double their neighbours': a frame cut out in between.

    Smooth motion changes little from one frame to the next, so removing a frame makes the
    step across the gap about twice as large. One such jump is weak evidence (motion does
    speed up); a string of them at a fixed period is what dropping every k-th frame leaves.
    """
    m = sig.flow
    if sig.n < 8:
        return []
    prev, nxt = np.roll(m, 1), np.roll(m, -1)
    neigh = np.minimum(prev, nxt)
    ratio = np.zeros(sig.n)
    valid = np.zeros(sig.n, dtype=bool)
    # Steps next to a repeat are distorted by it: the duplicate check speaks for those.
    near_dup = np.convolve(dups.astype(float), np.ones(5), mode="same") > 0
    valid[2:-1] = ~near_dup[2:-1]
    # Below this (pixels in the flow images) motion is sensor and codec noise.
    floor = max(0.08, float(np.percentile(m[1:], 10)))
    ok = valid & (neigh > floor)
    ratio[ok] = m[ok] / neigh[ok]
    # A cut is a far bigger change: the splice check reports those.
    jumps = ok & (ratio > 1.6) & (ratio < 4.0)
    out = []
    for first, last in _runs(jumps, max_gap=6):
        idx = np.flatnonzero(jumps[first:last + 1]) + first
        n = int(idx.size)
        period, regular = _regularity(idx)
        # Lively motion alone gives scattered jumps; a cut-out pattern gives many, evenly.
        if n < 6 or regular < 0.6:
            continue
        conf = (1 - math.exp(-n / 6)) * regular ** 2
        start, end = span(sig, first - 1, last)
        out.append(Finding("frame_drop", start, end, conf, {
            "source": "motion energy", "jumps": n, "period_frames": period,
            "median_ratio_to_neighbours": round(float(np.median(ratio[idx])), 3)}))
    return out


# ------------------------------------------------------------------------------ cadence

# Frames per analysis window (≈ 6 s at 30 fps) and the step between windows.
_CAD_WIN, _CAD_STEP = 180, 90
_CAD_PERIODS = range(2, 9)
# Smallest mean change of log motion at the rhythm's phase that counts (×1.28 or ÷1.28).
# Measured: a skipped frame raises it by 0.29-0.52, a repeat lowers it by more; the synthetic
# renderer's own talking rhythm (period 6) reaches 0.19, real talking heads 0.1-0.2.
_CAD_EFFECT = 0.25


def _rhythms(x: np.ndarray, count: int = 2) -> list[tuple[float, int, int, float]]:
    """The strongest periodic departures of ``x`` (log motion) from its local median: for
    each period and phase, the z-score of the mean residual over every ``P``-th frame.
    Returns up to ``count`` (z, period, phase, effect), strongest first (effect: the mean
    residual at that phase, in log units); after each, its pattern is
    taken out so that a second rhythm (an edit on top of a frame-rate conversion) can show.
    z < 0 means periodic dips (repeats), z > 0 jumps (skips)."""
    n = x.size
    med = np.array([np.median(x[max(0, i - 6):i + 7]) for i in range(n)])
    r = x - med
    sd = 1.4826 * float(np.median(np.abs(r - np.median(r)))) + 1e-6
    found = []
    for _ in range(count):
        best = (0.0, 0, 0)
        for period in _CAD_PERIODS:
            for phase in range(period):
                v = r[phase::period]
                z = float(v.mean() / (sd / math.sqrt(v.size)))
                if abs(z) > abs(best[0]):
                    best = (z, period, phase)
        if best[1] == 0:
            break
        effect = float(r[best[2]::best[1]].mean())
        found.append((*best, effect))
        r[best[2]::best[1]] -= effect
    return found


def cadence(sig: Signals) -> list[Finding]:
    """Frames repeated or skipped at a fixed period: re-timing by repetition or dropping.

    Compression noise hides a single repeated frame in a quiet talking head (the re-encoded
    copy differs as much as real motion does), but a retime leaves a *rhythm*: showing a
    clip at 0.75× repeats every 4th frame, 1.25× skips one in 5. Folding the frame-to-frame
    motion (thumbnail difference and optical flow, both must agree) by each period 2–8 finds
    it as a dip or a jump of many standard errors. Up-conversion of the frame rate leaves the
    same dips as slow motion; audio as long as the video tells them apart, as above.
    """
    if sig.n < 24:
        return []
    signals = [np.log(np.maximum(sig.motion[1:], 1e-3)), np.log(np.maximum(sig.flow[1:], 1e-4))]
    starts = list(range(0, max(1, sig.n - 1 - _CAD_WIN) + 1, _CAD_STEP))
    hits: list[tuple[int, int, float, int, int]] = []  # (first, last, z, period, sign)
    for a in starts:
        b = min(sig.n - 1, a + _CAD_WIN)
        motion, flow = (_rhythms(x[a:b]) for x in signals)
        for zm, period, phase, effect in motion:
            # A repeat or a skip changes the motion by a large factor (a repeat leaves only
            # codec noise, a skip doubles the step); a talking mouth's own rhythm does not.
            if abs(effect) < _CAD_EFFECT:
                continue
            # The two measures must name the same rhythm; the weaker one is the evidence.
            for zf, pf, hf, _ in flow:
                if (pf, hf) == (period, phase) and np.sign(zf) == np.sign(zm):
                    z = float(np.sign(zm) * min(abs(zm), abs(zf)))
                    if abs(z) >= 4.0:
                        hits.append((a + 1, b, z, period, int(np.sign(z))))
    hits.sort(key=lambda h: (h[3], h[4], h[0]))
    out: list[Finding] = []
    for key, group in itertools.groupby(hits, key=lambda h: (h[3], h[4])):
        items = list(group)
        period, sign = key
        z = max(abs(h[2]) for h in items)
        conf = min(0.95, 0.5 + 0.1 * (z - 4.5)) if z >= 4.5 else 0.1 * (z - 1.0)
        start, end = span(sig, items[0][0] - 1, items[-1][1])
        if sign < 0:
            ev = {"source": "motion cadence", "pattern": "a repeated frame every "
                  f"{period} frames", "period_frames": period,
                  "speed_factor": round((period - 1) / period, 3), "z": round(z, 1)}
            if _audio_matches(sig):
                conf *= 0.6
                ev["note"] = "audio length matches video: frame-rate conversion likely"
            out.append(Finding("speed_change", start, end, conf, ev))
        else:
            out.append(Finding("frame_drop", start, end, conf, {
                "source": "motion cadence", "pattern": f"a frame skipped every {period} "
                "frames", "period_frames": period,
                "speed_factor": round((period + 1) / period, 3), "z": round(z, 1)}))
    return out


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
