"""Compare a clip with the video it was cut from: framing, mirror, timing, cuts, overlays.

When the source of a clip is known (given with ``--against``, or found in a near-duplicate
index), what was done to it can be measured instead of guessed from traces:

1. **Framing.** ORB keypoints of a few clip frames are matched to frames of the source, in
   the clip's own orientation and mirrored; a RANSAC similarity per pair, then one affine
   fitted to the inliers of every pair that agrees, maps clip pixels to source pixels. Its
   scale says how much of the source's width and height the clip shows (a crop resized back
   shows 80 % at a scale of 0.8), and which orientation matched says whether it was
   mirrored.
2. **Timing.** Every source frame is warped into the clip's framing (small thumbnails,
   zero-mean and unit-norm) and each clip frame takes its best-correlated source frame. Lines
   ``source_time = speed · clip_time + offset`` are fitted to those pairs by RANSAC, one
   contiguous stretch of the clip at a time, so a speed-up, a slowed middle third, a cut
   that skips part of the source, or a stretch taken from elsewhere each get a span.
3. **Overlays.** On the frames that line up, the clip is compared pixel by pixel with the
   warped source (after a per-frame gain and offset, and allowing a one-pixel shift so that
   registration error at edges does not count); a region that differs in most frames is
   something added on top (a caption, a logo, a blur box).

Every finding says what it was measured against and with how many frames or keypoints.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from twoface.forensics._finding import Finding
from twoface.forensics._overlay import OVERLAY_PERSIST, overlay_regions
from twoface.forensics._timeline import (
    MIN_RUN_S,
    MOTION_GAIN,
    SAME_PICTURE,
    LineFit,
    bend,
    extend,
    features,
    local_mean,
    runs,
    segments,
)

_WORK = 320  # width (px) frames are registered and compared for overlays at
_THUMB = 80  # width of the thumbnails that time alignment correlates
_MAX_FRAMES = 9000  # per side; a longer clip or source is compared over its first frames
_WORK_FRAMES = 600  # full-size (_WORK) frames kept per side: every k-th frame beyond that
_REG_QUERY = 8  # clip frames whose keypoints are matched to the source
_REG_SOURCE_FPS = 3.0  # source frames per second tried as their partners
_MIN_INLIERS = 25  # keypoint pairs a registration needs to be believed
_SAME_SPEED = 0.03  # |speed - 1| below this is the source's own timing
_CROP_SHARE = 0.97  # a side showing less of the source than this is cropped


@dataclass
class _Side:
    """One decoded video: times, small thumbnails of every frame, and every k-th frame."""

    times: np.ndarray
    thumbs: list[np.ndarray]  # grey, _WORK / 2 wide
    work: dict[int, np.ndarray]  # frame number -> grey frame _WORK wide
    size: tuple[int, int]  # original (width, height)
    fps: float
    truncated: bool


@dataclass
class Comparison:
    """What :func:`compare` found: the findings and how well the two lined up."""

    findings: list[Finding]
    aligned_share: float  # share of the clip's frames on a fitted line
    registered: bool
    evidence: dict = field(default_factory=dict)


def _decode(path: Path, start: float = 0.0, end: float | None = None,
            limit: int = _MAX_FRAMES) -> _Side:
    """Frames of ``path`` in ``[start, end)`` s, at most ``limit`` of them."""
    from twoface.media import iter_frames, probe

    info = probe(path)
    span = (end if end is not None else info.duration) - start
    expected = max(1, int(span * info.fps) + 1)
    every = max(1, math.ceil(min(expected, limit) / _WORK_FRAMES))
    times, thumbs, work = [], [], {}
    truncated = False
    for k, frame in enumerate(iter_frames(path, start=start, end=end)):
        if k >= limit:
            truncated = limit == _MAX_FRAMES  # a caller's own limit is not a truncation
            break
        img = frame.image
        h, w = img.shape[:2]
        grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
        wh = max(2, round(h * _WORK / w))
        full = cv2.resize(grey, (_WORK, wh), interpolation=cv2.INTER_AREA)
        thumbs.append(cv2.resize(full, (_WORK // 2, max(2, wh // 2)),
                                 interpolation=cv2.INTER_AREA))
        if k % every == 0:
            work[k] = full
        times.append(frame.time)
    if not times:
        from twoface.errors import MediaError

        raise MediaError(path, "no frames to compare")
    return _Side(np.asarray(times, float), thumbs, work, (info.width, info.height),
                 info.fps, truncated)


# ----------------------------------------------------------------------------- framing

@dataclass
class _Registration:
    matrix: np.ndarray  # 2×3, clip pixels (_WORK scale) -> source pixels (_WORK scale)
    mirrored: bool
    inliers: int
    pairs: int
    other_inliers: int  # best count of the other orientation


def _orb(grey: np.ndarray, orb: cv2.ORB) -> tuple[list, np.ndarray | None]:
    kps, des = orb.detectAndCompute(grey, None)
    return list(kps), des


def _pair(kq: list, dq: np.ndarray | None, ks: list, ds: np.ndarray | None,
          matcher: cv2.BFMatcher) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(matrix, query points, source points) of the inliers, or None."""
    if dq is None or ds is None or len(kq) < 8 or len(ks) < 8:
        return None
    good = []
    for m in matcher.knnMatch(dq, ds, k=2):
        if len(m) == 2 and m[0].distance < 0.8 * m[1].distance:
            good.append(m[0])
    if len(good) < 8:
        return None
    q = np.array([kq[m.queryIdx].pt for m in good], np.float32)
    s = np.array([ks[m.trainIdx].pt for m in good], np.float32)
    matrix, mask = cv2.estimateAffinePartial2D(q, s, method=cv2.RANSAC,
                                               ransacReprojThreshold=2.0, maxIters=2000)
    if matrix is None or mask is None:
        return None
    keep = mask.ravel().astype(bool)
    return matrix, q[keep], s[keep]


def _register(query: _Side, source: _Side) -> _Registration | None:
    orb = cv2.ORB.create(nfeatures=1000, fastThreshold=12)
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    q_ids = sorted(query.work)
    q_ids = [q_ids[round(i)] for i in np.linspace(0, len(q_ids) - 1, min(_REG_QUERY,
                                                                        len(q_ids)))]
    s_ids = sorted(source.work)
    step = max(1, round(len(source.times) / max(1.0, source.times[-1] - source.times[0] + 1e-9)
                        / _REG_SOURCE_FPS))
    s_pick = [i for i in s_ids if i % step == 0] or s_ids
    s_pick = s_pick[:: max(1, math.ceil(len(s_pick) / 200))]  # at most ~200 partners
    s_feats = [_orb(source.work[i], orb) for i in s_pick]
    best: dict[bool, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {False: [], True: []}
    for qi in q_ids:
        frame = query.work[qi]
        for mirrored in (False, True):
            kq, dq = _orb(np.ascontiguousarray(frame[:, ::-1]) if mirrored else frame, orb)
            found = [f for ks, ds in s_feats
                     if (f := _pair(kq, dq, ks, ds, matcher)) is not None]
            if found:
                best[mirrored].append(max(found, key=lambda f: len(f[1])))
    counts = {m: max((len(f[1]) for f in best[m]), default=0) for m in (False, True)}
    mirrored = counts[True] > counts[False]
    pairs = [f for f in best[mirrored] if len(f[1]) >= 8]
    if counts[mirrored] < _MIN_INLIERS:
        return None
    # Pool the inliers of every pair whose own transform agrees with the strongest pair's.
    anchor = max(pairs, key=lambda f: len(f[1]))[0]
    h, w = query.work[q_ids[0]].shape
    corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], np.float32).T
    pool_q, pool_s, agree = [], [], 0
    for matrix, q, s in pairs:
        if np.abs(matrix @ corners - anchor @ corners).max() <= 3.0:
            pool_q.append(q)
            pool_s.append(s)
            agree += 1
    q_all, s_all = np.concatenate(pool_q), np.concatenate(pool_s)
    matrix, mask = cv2.estimateAffine2D(q_all, s_all, method=cv2.RANSAC,
                                        ransacReprojThreshold=1.5, maxIters=4000)
    if matrix is None:
        matrix, mask = anchor, np.ones(len(q_all), np.uint8)
    return _Registration(matrix.astype(np.float64), mirrored, int(mask.sum()), agree,
                         counts[not mirrored])


def _framing(reg: _Registration, query: _Side, source: _Side) -> dict:
    """Which part of the source the clip shows, in the source's own pixels."""
    q_w = _WORK
    q_h = next(iter(query.work.values())).shape[0]
    s_scale = source.size[0] / _WORK
    corners = np.array([[0, 0, 1], [q_w, 0, 1], [0, q_h, 1], [q_w, q_h, 1]], np.float64).T
    pts = (reg.matrix @ corners) * s_scale
    x0, y0 = pts[0].min(), pts[1].min()
    x1, y1 = pts[0].max(), pts[1].max()
    sw, sh = source.size
    a = reg.matrix[:, :2]
    sx, sy = float(np.hypot(*a[:, 0])), float(np.hypot(*a[:, 1]))
    return {
        "shown_width_share": round((min(x1, sw) - max(x0, 0)) / sw, 3),
        "shown_height_share": round((min(y1, sh) - max(y0, 0)) / sh, 3),
        "region_in_source_px": [round(float(v)) for v in (x0, y0, x1 - x0, y1 - y0)],
        "aspect_change": round(sx / sy, 3) if sy > 0 else None,
        "rotation_deg": round(math.degrees(math.atan2(a[1, 0], a[0, 0])), 2),
    }


# ------------------------------------------------------------------------------ timing

def _warp_thumb(thumb: np.ndarray, to_thumb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    soft = cv2.GaussianBlur(thumb, (0, 0), 1.2)
    return cv2.warpAffine(soft, to_thumb, size, flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REFLECT)


def _source_in_clip_frame(reg: _Registration, query: _Side) -> tuple[np.ndarray, np.ndarray]:
    """2×3 maps from source pixels to clip pixels: at _THUMB scale and at _WORK scale."""
    full = np.vstack([reg.matrix, [0, 0, 1]])
    if reg.mirrored:  # the matrix starts from the mirrored clip
        q_w = _WORK
        flip = np.array([[-1, 0, q_w - 1], [0, 1, 0], [0, 0, 1]], float)
        full = full @ flip
    inv = np.linalg.inv(full)  # source (_WORK) -> clip (_WORK)
    thumb_in = np.diag([2.0, 2.0, 1.0])  # source thumb (_WORK / 2) -> source _WORK
    thumb_out = np.diag([_THUMB / _WORK, _THUMB / _WORK, 1.0])
    return (thumb_out @ inv @ thumb_in)[:2], inv[:2]


def _best_pairs(query: _Side, source: _Side, to_thumb: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...]]:
    """Per clip frame: the source frame whose motion correlates best, and that correlation
    (0 where the two whole pictures do not show the same moment); then the whole-picture
    and the moving-part features of every clip and source frame (unit norm)."""
    q_h = max(2, round(query.thumbs[0].shape[0] * _THUMB / query.thumbs[0].shape[1]))
    size = (_THUMB, q_h)
    q = np.stack([cv2.resize(cv2.GaussianBlur(t, (0, 0), 1.2), size,
                             interpolation=cv2.INTER_AREA).astype(np.float32).ravel()
                  for t in query.thumbs])
    s = np.stack([_warp_thumb(t, to_thumb, size).astype(np.float32).ravel()
                  for t in source.thumbs])
    # What stays still (background, a static head) says nothing about *when*: take from
    # each frame the mean picture of its own side's frames within ±STILL_S (its own side,
    # so that a pixel of registration error or another encoder's grain leaves no standing
    # difference; within a window, so that a clip spliced from two videos keeps each
    # half's own background), and the correlation follows what moves.
    qm = features(q - local_mean(q, query.times))
    sm = features(s - local_mean(s, source.times))
    best = np.empty(len(qm), int)
    score = np.empty(len(qm))
    for i in range(0, len(qm), 512):
        c = qm[i:i + 512] @ sm.T
        best[i:i + 512] = c.argmax(axis=1)
        score[i:i + 512] = c.max(axis=1)
    # Moving parts alike is not enough (two talking heads from one renderer, or the same
    # gesture filmed twice, move alike): the whole picture must match its partner too.
    qf, sf = features(q), features(s)
    whole = (qf * sf[best]).sum(axis=1)
    return best, np.where(whole >= SAME_PICTURE, score, 0.0), (qf, sf, qm, sm)


# ------------------------------------------------------------------------------ compare

def compare(query_path: Path, source_path: Path, *, source_start: float = 0.0,
            source_end: float | None = None, max_frames: int | None = None) -> Comparison:
    """Measure how the clip at ``query_path`` was made from ``source_path``.

    ``source_start``/``source_end`` (seconds) limit the part of the source decoded (an index
    match says where the clip came from). Raises MediaError for a broken source.
    """
    query = _decode(query_path, limit=min(max_frames or _MAX_FRAMES, _MAX_FRAMES))
    return compare_sides(query, _decode(source_path, source_start, source_end), source_path)


def compare_sides(query: _Side, source: _Side, source_path: Path) -> Comparison:
    """:func:`compare` on two decoded videos (``source_path`` names the source)."""
    name = source_path.name
    q_t0, q_t1 = float(query.times[0]), float(query.times[-1])
    base = {"source": str(source_path)}
    if query.truncated or source.truncated:
        base["note"] = f"compared over the first {_MAX_FRAMES} frames of each"
    reg = _register(query, source)
    if reg is None:
        return Comparison([Finding("source_match", q_t0, q_t1, 0.0, base | {
            "note": f"no part of the picture lines up with {name}: blind checks only"})],
            0.0, False, base)
    framing = _framing(reg, query, source)
    evidence = base | framing | {"keypoint_inliers": reg.inliers, "frame_pairs": reg.pairs}
    findings: list[Finding] = []
    if reg.mirrored and reg.inliers >= _MIN_INLIERS and reg.other_inliers * 2 < reg.inliers:
        findings.append(Finding("mirror", q_t0, q_t1, 0.95, {
            "source": str(source_path), "keypoint_inliers_mirrored": reg.inliers,
            "best_inliers_as_shown": reg.other_inliers,
            "note": f"the picture lines up with {name} only when flipped left-right"}))
    shown = min(framing["shown_width_share"], framing["shown_height_share"])
    if shown < _CROP_SHARE:
        conf = float(np.clip((_CROP_SHARE - shown) / 0.03, 0.0, 1.0)) * 0.95
        findings.append(Finding("crop", q_t0, q_t1, round(max(conf, 0.3), 3), {
            "source": str(source_path), **framing, "keypoint_inliers": reg.inliers,
            "note": f"the clip shows {framing['shown_width_share']:.0%} × "
                    f"{framing['shown_height_share']:.0%} of {name}'s picture"}))

    to_thumb, to_work = _source_in_clip_frame(reg, query)
    best, score, (qf, sf, qm, sm) = _best_pairs(query, source, to_thumb)
    ts = source.times[best]
    tq = query.times
    tol = 1.6 / max(source.fps, 1.0)
    ok = score >= 0.5
    segs = bend(tq, ts, ok, tol, segments(tq, ts, ok, tol))
    extend(segs, tq, source.times, qf, sf)
    lines = LineFit(qm, sm, tq, source.times, source.fps)
    covered = np.zeros(len(tq), bool)
    on_line = np.zeros(len(tq), bool)
    for g in segs:
        covered[g.first:g.last + 1] = True
        r = np.arange(g.first, g.last + 1)
        on_line[r] = ok[r] & (np.abs(ts[r] - (g.speed * tq[r] + g.offset)) <= tol)
    aligned = float(on_line.mean())
    evidence |= {"aligned_share": round(aligned, 3), "segments": [
        {"clip": [round(float(tq[g.first]), 2), round(float(tq[g.last]), 2)],
         "source": [round(g.speed * float(tq[g.first]) + g.offset, 2),
                    round(g.speed * float(tq[g.last]) + g.offset, 2)],
         "speed": round(g.speed, 3)} for g in segs]}

    for g in segs:
        if abs(g.speed - 1.0) < _SAME_SPEED or g.inliers < 8:
            continue
        # Where little moves, a line of another speed explains the frames as well.
        if lines.speed_gain(g) < MOTION_GAIN:
            continue
        half = 1.96 * g.speed_se + 0.01
        strong = abs(g.speed - 1.0) - half > 0.0
        conf = 0.95 if strong and g.inliers >= 15 else 0.45
        t0, t1 = float(tq[g.first]), float(tq[g.last])
        findings.append(Finding("speed_change", t0, t1, conf, {
            "speed_factor": round(g.speed, 3),
            "speed_factor_ci": [round(g.speed - half, 3), round(g.speed + half, 3)],
            "source": str(source_path), "frames_on_line": g.inliers,
            "note": f"{t1 - t0:.2f} s of the clip cover {g.speed * (t1 - t0):.2f} s of "
                    f"{name}: played {g.speed:.2f}× as fast"}))
    for p, g in itertools.pairwise(segs):
        t = float(tq[g.first])
        was = p.speed * float(tq[p.last]) + p.offset
        now = g.speed * t + g.offset
        expect = was + p.speed * (t - float(tq[p.last]))
        if abs(now - expect) > 3 * tol and lines.cut_gain(p, g) >= MOTION_GAIN:
            gap = now - expect
            what = (f"skips {gap:.2f} s of the source" if gap > 0
                    else f"goes back {-gap:.2f} s in the source")
            findings.append(Finding("splice", t, t, 0.9, {
                "source": str(source_path), "source_from": round(was, 2),
                "source_to": round(now, 2), "note": f"a cut: the clip {what}"}))
    # Stretches of the clip that are not from this source at all.
    gaps = runs(~covered)
    for a, b in gaps:
        if tq[b] - tq[a] >= MIN_RUN_S and covered.any():
            findings.append(Finding("splice", float(tq[a]), float(tq[b]), 0.85, {
                "source": str(source_path),
                "note": f"{tq[b] - tq[a]:.2f} s of the clip are not found in {name}"}))

    clip_frames = [int(i) for i in np.flatnonzero(on_line)]
    source_frames = [int(best[i]) for i in clip_frames]
    regions, n_pairs = overlay_regions(query, source, to_work, clip_frames, source_frames)
    evidence["overlay_frames_compared"] = n_pairs
    if regions:
        findings.append(Finding("overlay", q_t0, q_t1, 0.9, {
            "source": str(source_path), "regions_px": regions, "frames_compared": n_pairs,
            "note": f"{len(regions)} region(s) differ from {name} in at least "
                    f"{OVERLAY_PERSIST:.0%} of the lined-up frames: added on top"}))
    note = (f"lined up with {name}: {aligned:.0%} of the clip's frames"
            if aligned >= 0.5 else
            f"only {aligned:.0%} of the clip's frames line up with {name}: timing "
            "blind checks kept")
    findings.append(Finding("source_match", q_t0, q_t1, round(aligned, 3),
                            evidence | {"note": note}))
    return Comparison(findings, aligned, True, evidence)


