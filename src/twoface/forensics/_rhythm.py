"""Re-timing rhythms: the matched filter over ``floor(k·s + φ)`` patterns and the one-by-one
repeat count that :mod:`twoface.forensics._speed` builds its timing model on.

A uniform re-timing at the same frame rate shows content frame ``floor(k·s + φ)`` as frame
``k``: a slow-down (s < 1) repeats a frame wherever that advances by 0, a speed-up (s > 1)
skips one wherever it advances by 2. Those events are compared with the other steps of the
log optical flow (a repeat leaves codec noise only, a skip doubles the motion).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Candidate factors searched by the matched filter (a slow-down repeats frames, a speed-up
# skips them) and the phase resolution of the rhythms ``floor(k·s + φ)``.
# Rhythms longer than 12 frames (factors within 0.08 of 1) are left out: at that length
# a talking head's own pace and the encoder's frame-type pattern make rhythms of their own.
_GRID: np.ndarray = np.concatenate([np.arange(0.5, 0.92, 0.0025),
                                    np.arange(1.08, 1.9, 0.0025)]).round(4)
_PHASES = 24
# A rhythm counts at this z (two-sample t of the flow at its events against the rest; the
# best of ~8000 patterns in real untouched clips reaches 5-6) and this effect (log units:
# a repeat leaves codec noise only, a skip doubles the flow; a mouth's own rhythm is weaker).
_Z, _EFFECT = 6.0, 0.3
# A dip this deep (log units) is a repeat, not a single step among skips (see _resolve_alias).
_ALIAS_EFFECT = 0.8
# Smallest spread of log flow assumed (codec noise on real video).
_SD_FLOOR = 0.1


@dataclass
class Rhythm:
    """The best uniform re-timing pattern found in a run of frames."""

    z: float
    factor: float
    effect: float
    events: np.ndarray  # indices (into the run) of the repeats or skips it predicts
    low: float
    high: float
    phase: float = 0.0  # φ of floor((k + 1)·s + φ), k counted from the run's start


def _residual(flow: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """Log flow with slow changes (a pause, a nod, motion speeding up) removed (valid steps
    only; invalid ones get 0): first the mean of the ±6 neighbours, which follows a steady
    trend exactly, then their median, which a few outliers do not move. A rhythm only
    shifts either by a constant, which the two-group comparison ignores."""
    out = np.zeros(flow.size)
    idx = np.arange(flow.size) if valid is None else np.flatnonzero(valid)
    x = np.log(flow[idx] + 0.02)
    x = x - np.array([x[max(0, j - 6):j + 7].mean() for j in range(x.size)])
    out[idx] = x - np.array([np.median(x[max(0, j - 6):j + 7]) for j in range(x.size)])
    return out


def _best_rhythm(x: np.ndarray, fast_only: bool = False,
                 valid: np.ndarray | None = None) -> Rhythm | None:
    """Matched filter: the factor ``s`` and phase whose events (``floor`` advancing by 0 for
    s < 1, by 2 for s > 1) best explain dips or jumps of ``x``; ``None`` below _Z/_EFFECT.

    The interval is the range of factors whose best phase still scores within 3 of the best
    (a profile of the score, so a short or noisy run gets a wide interval). Steps outside
    ``valid`` (repeats) keep their place in the rhythm but take no part in the statistic.
    """
    k = np.arange(x.size, dtype=float)
    if valid is None:
        valid = np.ones(x.size, dtype=bool)
    n = int(valid.sum())
    if n < 16:
        return None
    x = np.where(valid, x, 0.0)
    vf = valid.astype(float)
    x2 = x * x
    total2 = float(x2.sum())
    robust_sd = 1.4826 * float(np.median(np.abs(x[valid] - np.median(x[valid]))))
    phases = (np.arange(_PHASES) / _PHASES)[:, None]
    total = float(x.sum())
    grid = _GRID[_GRID > 1] if fast_only else _GRID
    profile = np.full(grid.size, -np.inf)
    best: tuple[float, int, int, float] | None = None
    for g, s in enumerate(grid):
        adv = np.floor((k + 1) * s + phases) - np.floor(k * s + phases)
        masks = adv == 0 if s < 1 else adv >= 2
        n1 = masks @ vf
        ok = (n1 >= 3) & (n - n1 >= 3)
        if not ok.any():
            continue
        s1 = masks @ x
        q1 = masks @ x2
        n1f, n0f = np.maximum(n1, 1).astype(float), np.maximum(n - n1, 1).astype(float)
        effect = s1 / n1f - (total - s1) / n0f
        # Spread: the robust overall one (outliers are common in real motion), or the
        # pooled one within the two groups when smaller (a clean rhythm makes the overall
        # spread mostly the rhythm itself); floored at codec noise so that a noise-free
        # synthetic clip's tiny wobbles do not score as rhythms.
        within = (q1 - s1 ** 2 / n1f) + ((total2 - q1) - (total - s1) ** 2 / n0f)
        pooled = np.sqrt(np.maximum(within, 0) / max(1, n - 2))
        sd = np.maximum(np.minimum(pooled, robust_sd), _SD_FLOOR)
        sign = -1.0 if s < 1 else 1.0  # repeats dip, skips jump
        z = np.where(ok, sign * effect / (sd * np.sqrt(1 / n1f + 1 / n0f)), -np.inf)
        j = int(np.argmax(z))
        profile[g] = z[j]
        if best is None or z[j] > best[0]:
            best = (float(z[j]), g, j, float(sign * effect[j]))
    if best is None or best[0] < _Z or best[3] < _EFFECT:
        return None
    z_best, g_best, j_best, effect_best = best
    s = float(grid[g_best])
    adv = np.floor((k + 1) * s + j_best / _PHASES) - np.floor(k * s + j_best / _PHASES)
    events = np.flatnonzero((adv == 0 if s < 1 else adv >= 2) & valid)
    near = grid[(profile >= z_best - 3) & ((grid < 1) == (s < 1))]
    return Rhythm(z_best, s, effect_best, events, float(near.min()), float(near.max()),
                  j_best / _PHASES)


# A step is a repeat when its flow is below this share of its neighbours' and they move
# more than _MOVING (pixels at the 95th percentile): where nothing moves, a repeat cannot
# be told from codec noise, and those frames are left out of the count ("unknown").
_REPEAT_SHARE, _MOVING = 0.3, 0.25
def _repeats(flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(repeat, known) masks over the intervals of a run."""
    n = flow.size
    neigh = np.array([np.median(np.r_[flow[max(0, j - 4):j], flow[j + 1:j + 5]])
                      for j in range(n)])
    known = neigh > _MOVING
    repeat = known & (flow < _REPEAT_SHARE * neigh)
    return repeat, known


def counted_repeats(flow: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(repeat, known, frozen): the repeats seen one by one, where they could be seen, and
    runs of them (a frozen picture, reported by the frozen-frame check, not a cadence: no
    conversion or re-timing from 0.5× up shows a frame three times)."""
    repeat, known = _repeats(flow)
    frozen = repeat & (np.r_[False, repeat[:-1]] | np.r_[repeat[1:], False])
    frozen |= np.r_[False, frozen[:-1]] & repeat
    if frozen.sum() >= 3:
        return repeat & ~frozen, known & ~frozen, frozen
    return repeat, known, np.zeros_like(repeat)


# A software slow-down repeats frames in a strict rhythm: at least this share of the
# rhythm's known slots must hold a repeat.
_STRICT = 0.85


def _strict_pattern(repeat: np.ndarray, known: np.ndarray
                    ) -> tuple[float, np.ndarray, float] | None:
    """The slow-down rhythm ``floor(k·s + φ)`` with the most repeats on its slots, among
    those whose known slots are nearly all repeats. Returns (s, slots, φ) or None."""
    n = repeat.size
    k = np.arange(n, dtype=float)
    phases = (np.arange(_PHASES) / _PHASES)[:, None]
    rep, kn = repeat.astype(float), known.astype(float)
    best: tuple[float, float, np.ndarray, float] | None = None
    for s in _GRID[_GRID < 1]:
        masks = (np.floor((k + 1) * s + phases) - np.floor(k * s + phases)) == 0
        hits = masks @ rep
        slots = masks @ kn
        ok = (slots >= 4) & (hits >= _STRICT * np.maximum(slots, 1))
        if not ok.any():
            continue
        j = int(np.argmax(np.where(ok, hits, -1)))
        if best is None or hits[j] > best[0]:
            best = (float(hits[j]), float(s), masks[j].copy(), j / _PHASES)
    return None if best is None else (best[1], best[2], best[3])


def _resolve_alias(r: Rhythm) -> Rhythm:
    """A rhythm and its mirror split the frames the same way: repeats once in four (0.75×)
    are also singles once in four among skips (1.75×). Repeats leave codec noise only (a
    deep dip, effect ≥ _ALIAS_EFFECT), a skip doubles the motion (log 2 ≈ 0.69)."""
    if r.factor > 1.5 and r.effect >= _ALIAS_EFFECT:
        return Rhythm(r.z, r.factor - 1, r.effect, r.events, r.low - 1, r.high - 1, r.phase)
    if r.factor < 1 and r.effect < _ALIAS_EFFECT and r.factor + 1 <= _GRID.max():
        return Rhythm(r.z, r.factor + 1, r.effect, r.events, r.low + 1, r.high + 1, r.phase)
    return r


# The skip filter (speed-ups) works on the log mean squared grey difference, which grows
# with the square of a small motion: a skipped frame stands about log 4 ≈ 1.4 above the
# steps beside it. Each step is compared with its nearest neighbours only (the local
# contrast), so a talking head's own pace, which changes over a few frames, cancels.
# Factors up to 1.6 are searched: above it most steps are skips and a rhythm of the few
# single steps is what the encoder's frame types (I/P/B quality) leave as well.
_SKIP_GRID: np.ndarray = _GRID[(_GRID >= 1.09) & (_GRID <= 1.6)]
_DIP_GRID: np.ndarray = _GRID[_GRID < 1]
# A skip rhythm counts at this z and this mean contrast (log units; a clean skip gives
# ≈ 1.4, an encoder's frame-type pattern 0.2-0.5 on real clips).
_SKIP_Z, _SKIP_EFFECT = 5.5, 0.8
# Contrasts are clipped here: a cut or a flash is one huge step, not a rhythm.
_SKIP_CLIP = 1.5
# Added to the squared difference before the log (grey levels²): codec noise, so that a
# near-still picture's steps do not swing in log units.
_SQ_FLOOR = 0.05
# Median contrast (log units) at the dips of a rhythm below which they are repeats: a
# repeat leaves codec noise only, while the single steps between skips sit about log 4
# ≈ 1.4 below their skip neighbours at most, and less once motion is large.
_REPEAT_DEPTH = -1.4


def local_contrast(sq: np.ndarray, bad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(contrast, ok): log ``sq`` of each step minus the mean of its nearest usable
    neighbour on each side (within two steps); steps in ``bad`` (repeats) are not used."""
    y = np.log(sq + _SQ_FLOOR)
    n = y.size
    e, ok = np.zeros(n), np.zeros(n, dtype=bool)
    for k in np.flatnonzero(~bad):
        nb = [j for j in (k - 1, k - 2) if j >= 0 and not bad[j]][:1]
        nb += [j for j in (k + 1, k + 2) if j < n and not bad[j]][:1]
        if nb:
            e[k], ok[k] = y[k] - float(np.mean(y[nb])), True
    return e, ok


def skip_rhythm(sq: np.ndarray, bad: np.ndarray, *, dips: bool = False) -> Rhythm | None:
    """The re-timing rhythm ``floor(k·s + φ)`` that best explains the jumps of ``sq`` (mean
    squared difference per step) at its skips (advance 2, s > 1), or with ``dips`` also
    the dips at its repeats (advance 0, s < 1: at high CRF a repeat keeps enough codec
    noise to escape the one-by-one count, but still dips well below its neighbours).
    ``None`` below _SKIP_Z or _SKIP_EFFECT. Same statistic and interval as
    :func:`_best_rhythm`, on the local contrast of the steps not in ``bad``. Searching
    both sides matters: a slow-down's dips lift the steps beside them, which a skip
    rhythm at twice the rate (0.75× → 1.5×) would otherwise take for skips."""
    e, ok = local_contrast(sq, bad)
    n = int(ok.sum())
    if n < 16:
        return None
    x = np.where(ok, np.clip(e, -_SKIP_CLIP, _SKIP_CLIP), 0.0)
    vf = ok.astype(float)
    sd = max(1.4826 * float(np.median(np.abs(x[ok] - np.median(x[ok])))), _SD_FLOOR)
    total = float(x.sum())
    k = np.arange(x.size, dtype=float)
    phases = (np.arange(_PHASES) / _PHASES)[:, None]
    grid = np.concatenate([_DIP_GRID, _SKIP_GRID]) if dips else _SKIP_GRID
    profile = np.full(grid.size, -np.inf)
    best: tuple[float, int, int, float] | None = None
    for g, s in enumerate(grid):
        adv = np.floor((k + 1) * s + phases) - np.floor(k * s + phases)
        masks = adv >= 2 if s > 1 else adv == 0
        n1 = masks @ vf
        s1 = masks @ x
        valid = (n1 >= 3) & (n - n1 >= 3)
        if not valid.any():
            continue
        n1f, n0f = np.maximum(n1, 1), np.maximum(n - n1, 1)
        effect = (1.0 if s > 1 else -1.0) * (s1 / n1f - (total - s1) / n0f)
        z = np.where(valid, effect / (sd * np.sqrt(1 / n1f + 1 / n0f)), -np.inf)
        j = int(np.argmax(z))
        profile[g] = z[j]
        if best is None or z[j] > best[0]:
            best = (float(z[j]), g, j, float(effect[j]))
    if best is None or best[0] < _SKIP_Z or best[3] < _SKIP_EFFECT:
        return None
    z_best, g_best, j_best, effect_best = best
    s = float(grid[g_best])
    adv = np.floor((k + 1) * s + j_best / _PHASES) - np.floor(k * s + j_best / _PHASES)
    events = np.flatnonzero((adv >= 2 if s > 1 else adv == 0) & ok)
    near = grid[(profile >= z_best - 3) & ((grid > 1) == (s > 1))]
    if s < 1 and s + 1 <= _SKIP_GRID.max() and float(np.median(e[events])) > _REPEAT_DEPTH:
        # Dips every other step, too shallow for repeats: the single steps between the
        # skips of s + 1 (1.5x alternates one and two frames; 0.5x repeats every other).
        skips = np.flatnonzero((adv == 1) & ok)
        return Rhythm(z_best, s + 1, effect_best, skips, float(near.min()) + 1,
                      float(near.max()) + 1, j_best / _PHASES)
    return Rhythm(z_best, s, effect_best, events, float(near.min()), float(near.max()),
                  j_best / _PHASES)
