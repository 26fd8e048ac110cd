"""Tracking: link faces across frames, detect every N frames, follow by landmarks in between;
and smoothing of each track's landmarks over time so that aligned crops do not jitter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from twoface.faces.align import RIGID_POINTS, transform_points, umeyama
from twoface.faces.detect import detect, embedding, landmarks
from twoface.faces.dlib_models import DlibModels
from twoface.types import BBox, DetectorName, Face


def smooth_landmarks(marks: np.ndarray, times: np.ndarray, *, noise: float = 0.0128,
                     still: float = 0.02, follow: float = 8.0, expression: bool = False,
                     out: np.ndarray | None = None) -> np.ndarray:
    """Zero-phase, speed-adaptive smoothing of one track's landmarks: ``(N, 68, 2)`` → same.

    A constant-velocity Kalman filter run forwards, then a Rauch–Tung–Striebel pass backwards,
    so the result uses past and future alike and has no lag. Its process noise grows with the
    head's speed (``still + follow · speed²``, speed from a symmetric Gaussian-smoothed track of
    the face centre): a still face is smoothed hard, where dlib's jitter is all there is to see,
    and a fast head turn is followed closely. ``noise`` is the measurement variance. All values
    are in units of the track's inter-ocular distance (and seconds), so they do not depend on
    resolution or frame rate. ``out`` (float32, same shape; may be ``marks`` itself) receives
    the result instead of a new array.

    Smoothed that hard, a still face loses its expressions too: a blink (eye aspect ratio 0.10
    in dlib's raw landmarks of a real clip) stays at 0.22, a mouth opened to 0.16 inter-ocular
    distances at 0.06. ``expression`` puts them back (:func:`keep_expression`): what moves the
    face (its pose) is smoothed, what moves *on* the face (lids, lips, brows, jaw) is kept
    whenever it stands out of the landmarks' own jitter. Face swaps and reenactment that draw
    on the landmarks need it; aligned training crops do not.
    """
    n = len(marks)
    raw = np.array(marks, np.float32) if expression and n >= 3 else None  # ``out`` may be it
    if out is None:
        out = np.empty(np.shape(marks), np.float32)
    if n < 3:
        out[...] = marks
        return out
    pts = np.asarray(marks, np.float32)
    times = np.asarray(times, np.float64)
    unit = max(1.0, float(np.median(np.linalg.norm(pts[:, 45] - pts[:, 36], axis=1))))
    speed = _centre_speed(pts[:, 17:].mean(1, dtype=np.float64) / unit, times)
    # Every coordinate shares one model, so the 2×2 covariances, gains and smoother gains do
    # not depend on the data: compute them once, then run the (linear) state recursions on a
    # few columns at a time, so a long track costs a few MB whatever its length.
    fs, gains, cs = _kalman_coefficients(times, speed, noise, still, follow)
    flat = pts.reshape(n, -1)
    result = out.reshape(n, -1)  # a view: ``out`` is written in place
    cols = max(1, min(flat.shape[1], _STATE_BYTES // (n * 2 * 8)))
    for c0 in range(0, flat.shape[1], cols):
        z = flat[:, c0:c0 + cols].astype(np.float64) / unit
        result[:, c0:c0 + cols] = _rts(z, fs, gains, cs) * unit  # z is a copy: in place is safe
    if raw is not None:
        out[...] = keep_expression(raw, out)
    return out


# Points that move on the face, by group: each group's jitter is measured on its own.
_EXPRESSIVE = {"jaw": list(range(17)), "brows": list(range(17, 27)),
               "lids": [37, 38, 40, 41, 43, 44, 46, 47], "lips": list(range(48, 68))}


def keep_expression(raw: np.ndarray, smooth: np.ndarray, *, jitter: float = 2.0) -> np.ndarray:
    """``smooth`` (one track's smoothed ``(N, 68, 2)`` landmarks) with the raw landmarks'
    expression put back.

    Per frame, the raw landmarks are put in the smoothed pose (a similarity fit of the nose and
    eye corners, which an expression barely moves); what differs then is the face's own
    motion plus dlib's jitter. A three-frame median takes out single-frame spikes; per group
    of points (jaw, brows, lids, lips) the jitter's size σ is the robust spread of that
    difference from frame to frame, and a point's difference is kept by the weight
    ``1 − (jitter·σ / |d|)²`` (0 below ``jitter``·σ): a blink or an opening mouth passes
    almost whole, the jitter of a still face does not.
    """
    raw = np.asarray(raw, np.float64)
    smooth = np.asarray(smooth, np.float64)
    n = len(raw)
    unit = max(1.0, float(np.median(np.linalg.norm(raw[:, 45] - raw[:, 36], axis=1))))
    diff = np.empty_like(raw)
    for i in range(n):
        into = umeyama(raw[i, RIGID_POINTS], smooth[i, RIGID_POINTS])
        diff[i] = transform_points(raw[i], into) - smooth[i]
    diff /= unit
    padded = np.concatenate([diff[:1], diff, diff[-1:]])
    diff = np.median(np.stack([padded[:-2], padded[1:-1], padded[2:]]), axis=0)
    out = smooth.copy()
    for idx in _EXPRESSIVE.values():
        d = diff[:, idx]
        step = np.diff(d, axis=0)
        sigma = 1.4826 * float(np.median(np.abs(step - np.median(step)))) / np.sqrt(2) + 1e-9
        size2 = np.maximum((d**2).sum(2, keepdims=True), 1e-18)
        out[:, idx] += d * np.clip(1 - (jitter * sigma) ** 2 / size2, 0, 1) * unit
    return out


_STATE_BYTES = 4 << 20  # memory for one column block of smoother states


def _kalman_coefficients(times: np.ndarray, speed: np.ndarray, noise: float, still: float,
                         follow: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Transitions ``F_i``, Kalman gains ``K_i`` and RTS gains ``C_i`` of the track's model."""
    n = len(times)
    fs, gains, cs = np.empty((n, 2, 2)), np.empty((n, 2)), np.empty((n, 2, 2))
    ps, pps = np.empty((n, 2, 2)), np.empty((n, 2, 2))
    p = np.diag([noise, 1.0])
    for i in range(n):
        dt = max(float(times[i] - times[i - 1]), 1e-3) if i else 1e-3
        f = np.array([[1.0, dt], [0.0, 1.0]])
        if i:
            q = (still + follow * speed[i] ** 2) * np.array([[dt**3 / 3, dt**2 / 2],
                                                            [dt**2 / 2, dt]])
            p = f @ p @ f.T + q
        pps[i], fs[i] = p, f
        gain = p[:, 0] / (p[0, 0] + noise)
        p = p - np.outer(gain, p[0])
        gains[i], ps[i] = gain, p
    for i in range(n - 1):
        cs[i] = ps[i] @ fs[i + 1].T @ np.linalg.inv(pps[i + 1])
    return fs, gains, cs


def _rts(z: np.ndarray, fs: np.ndarray, gains: np.ndarray, cs: np.ndarray) -> np.ndarray:
    """Forward Kalman filter then Rauch–Tung–Striebel pass over ``z`` (N × D): the smoothed
    positions."""
    n = len(z)
    xs = np.empty((n, 2, z.shape[1]))  # filtered states
    x = np.stack([z[0], np.zeros_like(z[0])])
    for i in range(n):
        if i:
            x = fs[i] @ x
        x = x + np.outer(gains[i], z[i] - x[0])
        xs[i] = x
    smooth = np.empty_like(z)
    nxt = xs[-1]
    smooth[-1] = nxt[0]
    for i in range(n - 2, -1, -1):
        nxt = xs[i] + cs[i] @ (nxt - fs[i + 1] @ xs[i])  # fs[i+1] @ xs[i]: prediction at i+1
        smooth[i] = nxt[0]
    return smooth


def _centre_speed(centre: np.ndarray, times: np.ndarray, sigma: int = 2) -> np.ndarray:
    """Speed of a ``(N, 2)`` track after a symmetric Gaussian blur (so it lags nothing)."""
    half = 3 * sigma
    k = np.exp(-(np.arange(-half, half + 1) ** 2) / (2 * sigma * sigma))
    k /= k.sum()
    padded = np.concatenate([centre[:1].repeat(half, 0), centre, centre[-1:].repeat(half, 0)])
    blurred = np.stack([np.convolve(padded[:, d], k, "valid") for d in range(2)], 1)
    dt = np.maximum(np.gradient(times), 1e-3)
    return np.linalg.norm(np.gradient(blurred, axis=0), axis=1) / dt


def _moved_box(box: BBox, m: np.ndarray) -> BBox:
    """The square box whose diagonal is ``box``'s diagonal moved by the similarity ``m``."""
    corners = transform_points(np.array([[box.x0, box.y0], [box.x1, box.y1]]), m)
    half = float(np.hypot(*(corners[1] - corners[0])) / math.sqrt(2)) / 2
    cx, cy = (corners[0] + corners[1]) / 2
    return BBox(cx - half, cy - half, cx + half, cy + half)


@dataclass
class Track:
    """One face followed over time."""

    id: int
    box: BBox
    raw: np.ndarray  # last raw landmarks (68×2)
    anchor_box: BBox  # last detector box, carried along with the landmarks
    anchor_marks: np.ndarray
    embedding: np.ndarray | None = None
    misses: int = 0
    last_detect: int = 0
    length: int = 0
    extra: dict = field(default_factory=dict)


@dataclass
class TrackerConfig:
    detect_every: int = 5
    detector: DetectorName = "hog"
    upsample: int = 0
    min_face: int = 40
    match_iou: float = 0.3
    max_misses: int = 2
    same_person: float = 0.6
    embed_every: int = 5
    flow: bool = True  # move a followed face's box by optical flow first (False: as before)


class FaceTracker:
    """Detect every ``detect_every`` frames; in between, follow each face: its box is moved by
    the optical flow of its landmarks since the previous frame, and the landmarks are predicted
    there. A face the detector misses keeps being followed for up to ``max_misses`` detection
    rounds; a face lost and found again rejoins its old track when the embeddings match, so one
    person gives one track even through missed detections."""

    def __init__(self, models: DlibModels, config: TrackerConfig | None = None) -> None:
        self.models = models
        self.cfg = config or TrackerConfig()
        self.tracks: list[Track] = []
        self.lost: list[Track] = []
        self._next_id = 0
        self._count = 0
        self._gray: tuple[np.ndarray, np.ndarray] | None = None  # (previous, this frame)

    def update(self, image: np.ndarray, frame_index: int, time: float) -> list[Face]:
        """Faces in this frame with dlib's landmarks (smooth them per track afterwards)."""
        if self.cfg.flow:
            gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
            prev = self._gray[1] if self._gray is not None else gray
            self._gray = (prev, gray) if prev.shape == gray.shape else (gray, gray)
        if self._count % self.cfg.detect_every == 0 or not self.tracks:
            self._detect_and_match(image, frame_index)
        else:
            for tr in list(self.tracks):
                self._follow(image, tr)
        self._count += 1
        faces = []
        for tr in self.tracks:
            if tr.length % self.cfg.embed_every == 0:
                tr.embedding = embedding(image, tr.raw, self.models)
            tr.length += 1
            faces.append(Face(bbox=tr.box, score=float(tr.extra.get("score", 0.0)),
                              landmarks=tr.raw.astype(np.float32), embedding=tr.embedding,
                              track_id=tr.id, frame_index=frame_index, time=time,
                              extra={"detected": tr.last_detect == frame_index}))
        return faces

    def _detect_and_match(self, image: np.ndarray, frame_index: int) -> None:
        cfg = self.cfg
        found = [(b, s) for b, s in detect(image, self.models, detector=cfg.detector,
                                           upsample=cfg.upsample)
                 if min(b.width, b.height) >= cfg.min_face]
        pairs = sorted(((found[i][0].iou(tr.box), i, tr) for i in range(len(found))
                        for tr in self.tracks), key=lambda p: -p[0])
        used_det: set[int] = set()
        used_tr: set[int] = set()
        for iou, i, tr in pairs:  # greedy matching, biggest overlaps first
            if iou < cfg.match_iou or i in used_det or tr.id in used_tr:
                continue
            box, score = found[i]
            tr.raw = landmarks(image, box, self.models)
            tr.box = tr.anchor_box = box
            tr.anchor_marks = tr.raw
            tr.misses, tr.last_detect = 0, frame_index
            tr.extra["score"] = score
            used_det.add(i)
            used_tr.add(tr.id)
        # A detection that overlaps no track may still be a known face that moved fast (or came
        # back): match it by identity before opening a new track.
        for i, (box, score) in enumerate(found):
            if i in used_det:
                continue
            marks = landmarks(image, box, self.models)
            emb = embedding(image, marks, self.models)
            free = [t for t in self.tracks if t.id not in used_tr] + self.lost
            dists = [float(np.linalg.norm(t.embedding - emb)) if t.embedding is not None
                     else np.inf for t in free]
            if dists and min(dists) < cfg.same_person:
                tr = free[int(np.argmin(dists))]
                if tr in self.lost:
                    self.lost.remove(tr)
                    self.tracks.append(tr)
            else:
                tr = Track(id=self._next_id, box=box, raw=marks, anchor_box=box,
                           anchor_marks=marks)
                self._next_id += 1
                self.tracks.append(tr)
            tr.raw, tr.box, tr.anchor_box, tr.anchor_marks = marks, box, box, marks
            tr.embedding, tr.misses, tr.last_detect = emb, 0, frame_index
            tr.extra["score"] = score
            used_tr.add(tr.id)
        for tr in list(self.tracks):
            if tr.id in used_tr:
                continue
            tr.misses += 1
            if tr.misses > cfg.max_misses:
                self.tracks.remove(tr)
                self.lost.append(tr)
            else:
                self._follow(image, tr)

    def _follow(self, image: np.ndarray, tr: Track) -> None:
        """Move the track's box with its landmarks and re-fit them there.

        The box keeps the detector's framing (the predictor was trained on HOG boxes): the last
        detector box is carried by the similarity between its landmarks and the new ones. The
        predictor only refines a shape inside its box, so a head that moved fast would leave
        the box behind and the landmarks with it: the box is first moved by the landmarks'
        optical flow from the previous frame (:meth:`_flow`).
        """
        flow = self._flow(tr) if self.cfg.flow else None
        if flow is not None:
            tr.box = _moved_box(tr.box, flow)
        marks = landmarks(image, tr.box, self.models)
        tr.box = _moved_box(tr.anchor_box, umeyama(tr.anchor_marks[17:], marks[17:]))
        tr.raw = landmarks(image, tr.box, self.models)
        h, w = image.shape[:2]
        cx, cy = tr.box.center
        if not (0 <= cx < w and 0 <= cy < h) or tr.box.width < self.cfg.min_face / 2:
            self.tracks.remove(tr)  # drifted off the frame: drop rather than emit garbage
            self.lost.append(tr)

    def _flow(self, tr: Track) -> np.ndarray | None:
        """The similarity (2×3) that moved the track's inner landmarks from the previous frame
        to this one (pyramidal Lucas–Kanade in a window around the face, least-median fit), or
        None where too few points were followed."""
        if self._gray is None:
            return None
        prev, now = self._gray
        if prev is now:
            return None
        h, w = now.shape[:2]
        side = max(tr.box.width, tr.box.height)
        x0, y0 = max(int(tr.box.x0 - side), 0), max(int(tr.box.y0 - side), 0)
        x1, y1 = min(int(tr.box.x1 + side) + 1, w), min(int(tr.box.y1 + side) + 1, h)
        if x1 - x0 < 16 or y1 - y0 < 16:
            return None
        pts = (tr.raw[17:] - (x0, y0)).astype(np.float32).reshape(-1, 1, 2)
        nxt, status, _ = cv2.calcOpticalFlowPyrLK(
            prev[y0:y1, x0:x1], now[y0:y1, x0:x1], pts, pts.copy(), winSize=(21, 21), maxLevel=3,
            criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03))
        ok = status.ravel() == 1
        if ok.sum() < 12:
            return None
        m, _ = cv2.estimateAffinePartial2D(pts[ok], nxt[ok], method=cv2.LMEDS)
        if m is None:
            return None
        m[:, 2] += (x0, y0) - m[:, :2] @ (x0, y0)  # crop pixels → frame pixels
        return m
