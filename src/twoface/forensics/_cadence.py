"""A converted source re-timed: the edit's rhythm and the source's cadence fitted together.

A clip converted up to 30 fps from 24 or 25 already repeats one content frame in five or
six. Re-timing it at the same frame rate (``floor(k·s + φ)`` of its frames, as
:mod:`twoface.forensics._rhythm` describes) moves those repeats and adds the edit's own
repeats or skips, so shown frame ``k`` shows content frame

    C(k) = floor(c · floor(s·k + φ) + ψ)

with ``c`` the source's share of unique frames (5/6 for 25→30) and ``s`` the edit's factor.
Neither rhythm alone is then a clean ``floor(k·s)`` pattern, which is why the single-rhythm
search reads such clips as a conversion or as the wrong factor. Here every ``(s, φ, c, ψ)``
on a grid predicts the log squared step of each interval (``log(Δ² + 0.1)``: a repeat far
below, a skip ``log 4`` above a single step); the prediction and the clip's log squared
frame difference are both detrended by the same ±6-frame running mean and correlated. The
edit counts when its best hypothesis beats the best cadence-only one (``s = 1``) clearly.

Hypotheses that cannot be told from a cadence alone are left out: a factor that is itself a
conversion's (a 0.8× slow-down looks like 24→30), and an overall content rate ``s·c`` of 1
or of a conversion (a 1.2× speed-up of a 25→30 clip shows every content frame once, as a
native clip does). Those stay ambiguous without the source (``inspect --against``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# Edit factors searched (the bar's range and a little beyond; 0.5× and 2× alias with each
# other's halves and are left to the single-rhythm search) and the rhythm's phases.
_S_GRID = np.concatenate([np.arange(0.7, 0.955, 0.005), np.arange(1.05, 1.605, 0.005)])
_PHASES = np.arange(16) / 16
_MIN_STEPS = 48  # frame differences a fit needs
# Source cadences: share of unique frames and the period of its repeats. 24 -> 25 fps (one
# frame in 25) costs most (25 phases) and matters least as a cadence, but without it a
# native clip's slow-down is taken for a mimic (0.9x of 25 -> 30 fps shows 0.75 of the
# content frames, as 0.75x does): near 1 it stands in for a clip with no cadence.
CADENCES = {0.8: 5, 5 / 6: 6, 0.96: 25, 2 / 3: 3}
# A combined fit counts at this correlation z and this lead over the cadence alone, and
# replaces a single rhythm found without a cadence only with LEAD_OVER (a native clip's
# speed-up can be mimicked by a cadence and another factor: 1.5x by 0.75x of 20 -> 30 fps).
# Set on the shared clips (2026-12-07): untouched clips' best leads stayed at or below 3.3
# at CRF 18 but one (FaceSynthetics' dense_landmarks, 7.0, see BENCHMARKS.md); the combined
# fits of re-timed converted clips led by 4.6-6.7, a native clip's mimic by 3.3.
Z_MIN, LEAD, LEAD_OVER = 6.5, 3.5, 4.0
_HALF = 6  # running-mean half-width (frames), as in _rhythm._residual


@dataclass
class CadenceFit:
    z: float  # correlation z of the best combined hypothesis
    lead: float  # its z minus the best cadence-only hypothesis's
    factor: float
    phase: float  # φ of floor(s·k + φ), k counted from the window's first interval
    share: float  # c
    low: float
    high: float


def _detrend(n: int) -> np.ndarray:
    """The linear map ``x ↦ x - running mean(x)``, centred to mean 0 (n × n)."""
    m = np.zeros((n, n))
    for i in range(n):
        lo, hi = max(0, i - _HALF), min(n, i + _HALF + 1)
        m[i, lo:hi] = 1.0 / (hi - lo)
    a = np.eye(n) - m
    return a - a.mean(axis=0, keepdims=True)


def _ambiguous(s: float, c: float, near: float = 0.03) -> bool:
    rates = [1.0, *CADENCES]
    # Every other content frame shown twice (0.5) is 0.5x as much as 15 -> 30 fps.
    return (any(abs(s - r) < near for r in rates)
            or any(abs(s * c - r) < near for r in [0.5, *rates]))


# Per cadence, the factors of _S_GRID that can be told from a cadence alone.
_TELLABLE = {c: np.array([not _ambiguous(float(s), c) for s in _S_GRID]) for c in CADENCES}


def _log_steps(frames: np.ndarray, c: float, psi: float) -> np.ndarray:
    """``log(Δ² + 0.1)`` of the content frames that shown frames ``frames`` (…, n + 1)
    show through cadence ``(c, ψ)``: the predicted size of each step (…, n)."""
    step = np.diff(np.floor(c * frames + psi), axis=-1)
    return np.log(step * step + 0.1)


def _rhythms(factors: np.ndarray, n: int) -> np.ndarray:
    """Source frame numbers ``floor(s·k + φ)`` shown at steps k = 0..n (S, phases, n + 1),
    in exact (float64) products: a rhythm's steps fall on whole numbers."""
    k = np.arange(n + 1, dtype=float)
    return np.floor(factors[:, None, None] * k + _PHASES[None, :, None])


class _Scorer:
    """Correlation z of predicted step sizes with one window's detrended log squared frame
    differences (the grid's products in float32: it is large)."""

    @classmethod
    def of(cls, sq: np.ndarray) -> _Scorer | None:
        """The scorer of ``sq``, or None where it is too short or flat to fit."""
        if sq.size < _MIN_STEPS:
            return None
        scores = cls(sq)
        return scores if scores.norm_y >= 1e-6 else None

    def __init__(self, sq: np.ndarray) -> None:
        self.n = n = sq.size
        a = _detrend(n)
        y = np.clip(a @ np.log(sq.astype(float) + 0.05), -2.0, 2.0)
        y -= y.mean()
        self.norm_y = float(np.sqrt(y @ y))
        self.a, self.y = a.astype(np.float32), y.astype(np.float32)
        self.k = np.arange(n + 1, dtype=np.float32)

    def rhythms(self, factors: np.ndarray) -> np.ndarray:
        """Source frame numbers ``floor(s·k + φ)`` shown at each step (S, phases, n + 1)."""
        return _rhythms(factors, self.n).astype(np.float32)

    def __call__(self, frames: np.ndarray, c: float, psi: float) -> np.ndarray:
        """z of every rhythm in ``frames`` (…, n + 1) seen through cadence ``(c, ψ)``."""
        pred = _log_steps(frames, c, psi).reshape(-1, self.n) @ self.a.T
        norm = np.sqrt((pred * pred).sum(axis=1)) * self.norm_y
        z = np.where(norm > 1e-9, (pred @ self.y) / np.maximum(norm, 1e-9), 0.0)
        return (z * np.sqrt(self.n)).reshape(frames.shape[:-1])

    def cadence_only(self) -> float:
        return max(float(self(self.k[None, :], c, i / period).max())
                   for c, period in CADENCES.items() for i in range(period))


def fit_cadence(sq: np.ndarray) -> CadenceFit | None:
    """The best ``(s, φ, c)`` for the mean squared frame differences ``sq`` of one window,
    or ``None`` when no combined hypothesis passes :data:`Z_MIN` and :data:`LEAD`."""
    scores = _Scorer.of(sq)
    if scores is None:
        return None
    shown = scores.rhythms(_S_GRID)
    best: tuple[float, float, float, float, np.ndarray] | None = None
    for c, period in CADENCES.items():
        for psi in (i / period for i in range(period)):
            z = scores(shown, c, psi)
            z[~_TELLABLE[c]] = -np.inf
            g, p = np.unravel_index(int(np.argmax(z)), z.shape)
            if best is None or z[g, p] > best[0]:
                best = (float(z[g, p]), float(_S_GRID[g]), float(_PHASES[p]), c, z.max(axis=1))
    if best is None:
        return None
    z_best, s, phase, c, profile = best
    lead = z_best - scores.cadence_only()
    if z_best < Z_MIN or lead < LEAD:
        return None
    near = _S_GRID[(profile >= z_best - 1.0) & ((_S_GRID > 1) == (s > 1))]
    return CadenceFit(z_best, lead, s, phase, c, float(near.min()), float(near.max()))


def cadence_explains(sq: np.ndarray, factor: float) -> bool:
    """Whether a conversion cadence alone explains the squared frame differences ``sq`` at
    least as well as a re-timing at ``factor`` of a clip with none: a 25 -> 30 fps clip's
    repeats, when too faint to count one by one, also read as a skip every sixth step."""
    scores = _Scorer.of(sq)
    if scores is None:
        return False
    edit = float(scores(scores.rhythms(np.array([factor])), 1.0, 0.0).max())
    return scores.cadence_only() >= edit


# A moved span edge must raise the piecewise fit's z by this much over the window's edge.
_EDGE_GAIN = 1.0


def _log_steps_by_phase(frames: np.ndarray, c: float, period: int) -> np.ndarray:
    """``log(Δ² + 0.1)`` of every shown-frame sequence in ``frames`` (…, n + 1) seen through
    cadence ``c`` at each of its ``period`` phases ψ, as rows (…·period, n)."""
    rows = [_log_steps(frames, c, i / period) for i in range(period)]
    return np.stack(rows).reshape(-1, frames.shape[-1] - 1).astype(np.float32)


def _edge(sq: np.ndarray, left: np.ndarray, right: np.ndarray, keep: int) -> int:
    """Where in ``sq`` the model switches from the ``left`` hypotheses to the ``right``
    ones (rows of predicted log steps), or ``keep`` when no switch point beats it clearly.
    Every (left, right) pair is tried at every position: detrending is linear, so each
    side's part of the prediction is detrended on its own and the correlation assembled."""
    scores = _Scorer.of(sq)
    if scores is None:
        return keep
    n = scores.n
    at = scores.a.T  # prediction (rows) @ at = detrended prediction
    y = scores.y
    z_at: dict[int, float] = {}
    for m in sorted({*range(0, n + 1, 2), keep}):
        p = left[:, :m] @ at[:m]
        q = right[:, m:] @ at[m:]
        num = (p @ y)[:, None] + (q @ y)[None, :]
        nrm2 = (p * p).sum(1)[:, None] + (q * q).sum(1)[None, :] + 2 * (p @ q.T)
        z = num / np.sqrt(np.maximum(nrm2, 1e-12)) / scores.norm_y
        z_at[m] = float(z.max()) * math.sqrt(n)
    best = max(z_at, key=lambda m: z_at[m])
    return best if z_at[best] >= z_at[keep] + _EDGE_GAIN else keep


def edit_edges(sq: np.ndarray, factor: float, share: float, a: int, b: int,
               margin: int = 40, reach: int = 120) -> tuple[int, int]:
    """The intervals ``first..last-1`` of ``a..b-1`` (a span of windows that a combined fit
    of ``factor`` over cadence ``share`` found) where the edit really holds.

    Windows overshoot a partial edit by up to a window, and here the events cannot be
    checked one by one (the cadence hides some). So each edge is fitted: within ``reach``
    intervals of it (and ``margin`` beyond), the cadence alone on one side and the edit
    over the cadence on the other, at every switch point; the end first, then the start,
    then the end again with the start settled."""
    c = min(CADENCES, key=lambda x: abs(x - share))
    period = CADENCES[c]
    n = sq.size
    edit = _rhythms(np.array([factor]), n)[0]  # (phases, n + 1)
    plain = np.arange(n + 1, dtype=float)[None, :]
    first, last = a, b
    for side in ("end", "start", "end"):
        if side == "end":
            lo, hi = max(first, last - reach), min(n, last + margin)
        else:
            lo, hi = max(1, first - margin), min(last, first + reach)
        if hi - lo < _MIN_STEPS:
            continue
        e = _log_steps_by_phase(edit[:, lo:hi + 1] - edit[:, lo:lo + 1], c, period)
        p = _log_steps_by_phase(plain[:, lo:hi + 1], c, period)
        seg = sq[lo:hi]
        if side == "end":
            last = lo + _edge(seg, e, p, last - lo)
        else:
            first = lo + _edge(seg, p, e, first - lo)
    return first, last
