"""Speed changes as one finding with a factor, and the cadences a source carries as context.

The model: every shown frame either repeats the content before it (advance 0), moves on by
one content frame (advance 1), or skips one (advance 2). Repeats are found exactly (the
duplicate mask); skips from the optical flow, which about doubles across a skipped frame.
Skips of a real edit come in a rhythm (showing a clip at 1.25× skips one frame in five), so
they are found with a matched filter over every rhythm a uniform speed-up leaves
(``floor(k·s + φ)``), which is far more robust than judging each step alone.

A source may carry repeats of its own: converting 24 or 25 fps to 30 repeats one frame in
five or six, all clip long, counted in *content* frames. Those repeats fall on one phase of
that period in content time, which an edit's repeats do not; they are reported as a
``source_trait`` and divided out, so that a 0.75× slow-down of a converted clip still
measures 0.75×.

The speed factor is then ``content frames advanced / (c · frames shown)``, with ``c`` the
share of unique frames the source itself had (5/6 for 25→30, 1 for a native clip).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from twoface.forensics._finding import Finding
from twoface.forensics._signals import Signals

# Frames per analysis window (≈ 4 s at 30 fps) and the step between windows: short enough
# to give a partial-span edit its own span, long enough for a rhythm to show.
WIN, STEP = 120, 40
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
# Factors closer to 1 than this are not reported (codec and detection noise).
_MIN_CHANGE = 0.04
# Repeats a frame-rate conversion leaves: 24→30 fps shows one frame in 5 twice, 25→30 one in
# 6; 24→25 one in 25. As factors of content advance per shown frame:
_TRAITS = {0.8: "one frame in 5 shown twice", 5 / 6: "one frame in 6 shown twice",
           0.96: "one frame in 25 shown twice"}
# Largest share of irregular repeats still read as a conversion (24 → 30 fps repeats 20 %,
# and a window of a few seconds counts a few more or fewer).
_IRREGULAR_TRAIT = 0.27


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


def _loose_pattern(flow: np.ndarray, repeat: np.ndarray, known: np.ndarray,
                   frozen: np.ndarray) -> tuple[float, np.ndarray, float] | None:
    """A slow-down rhythm found by the matched filter when too few of its repeats were
    seen one by one (little motion) for the strict count: accepted when most of the
    repeats that were seen fall on its slots. A "skip" rhythm above 1.5× whose single steps
    are those repeats is the same slow-down seen from the other side."""
    r = _best_rhythm(_residual(flow, ~frozen), valid=~frozen)
    if r is None:
        return None
    k = np.arange(flow.size, dtype=float)
    adv = np.floor((k + 1) * r.factor + r.phase) - np.floor(k * r.factor + r.phase)
    if r.factor > 1.5:
        slots, factor = adv == 1, r.factor - 1
    elif r.factor < 1:
        slots, factor = adv == 0, r.factor
    else:
        return None
    if _trait_name(factor) or repeat.sum() == 0:
        return None
    if float(repeat[slots].sum()) < 0.6 * float(repeat.sum()):
        return None
    # ...and where the picture moves enough to tell, its slots do hold repeats (an irregular
    # conversion cadence lines up with some rhythm now and then, but leaves most slots
    # empty).
    seen = slots & known
    if int(seen.sum()) < 4 or float(repeat[seen].mean()) < 0.7:
        return None
    return factor, slots & ~frozen, r.phase


def _trait_name(factor: float) -> str | None:
    for value, name in _TRAITS.items():
        if abs(factor - value) <= 0.025:
            return name
    return None


@dataclass
class WindowFit:
    """What one window of frame intervals ``[a, b)`` says about its timing: the edit's
    factor (1: none), its interval and z, and the source's conversion cadence if any."""

    a: int
    b: int
    factor: float
    low: float
    high: float
    z: float
    method: str
    trait_name: str | None
    trait_share: float
    phase: float = 0.0  # of the edit's rhythm, counted from interval 0 of the clip


def _resolve_alias(r: Rhythm) -> Rhythm:
    """A rhythm and its mirror split the frames the same way: repeats once in four (0.75×)
    are also singles once in four among skips (1.75×). Repeats leave codec noise only (a
    deep dip, effect ≥ _ALIAS_EFFECT), a skip doubles the motion (log 2 ≈ 0.69)."""
    if r.factor > 1.5 and r.effect >= _ALIAS_EFFECT:
        return Rhythm(r.z, r.factor - 1, r.effect, r.events, r.low - 1, r.high - 1, r.phase)
    if r.factor < 1 and r.effect < _ALIAS_EFFECT and r.factor + 1 <= _GRID.max():
        return Rhythm(r.z, r.factor + 1, r.effect, r.events, r.low + 1, r.high + 1, r.phase)
    return r


def fit_window(sig: Signals, a: int, b: int) -> WindowFit:
    """Timing model for intervals ``a..b-1`` (interval ``i`` is frame ``i-1`` → ``i``).

    Where repeats can be seen one by one (the picture moves), a strict rhythm among them is
    a software slow-down, and the repeats off that rhythm, as a share of the frames left,
    are the source's own cadence (a conversion's is often irregular: phones, variable
    rates); skips are then searched among the other steps. Where the picture barely moves,
    single repeats drown in codec noise and only the matched filter over the whole window
    (repeats and skips alike) can still find a rhythm.
    """
    a = max(1, a)
    flow = _flow_per_tick(sig)[a:b]
    fit = WindowFit(a, b, 1.0, 1.0, 1.0, 0.0, "", None, 0.0)
    repeat, known = _repeats(flow)
    # Repeats next to repeats are a frozen picture (reported by the frozen-frame check), not
    # a cadence: no conversion or re-timing from 0.5× up shows a frame three times.
    frozen = repeat & (np.r_[False, repeat[:-1]] | np.r_[repeat[1:], False])
    frozen |= np.r_[False, frozen[:-1]] & repeat
    if frozen.sum() >= 3:
        repeat, known = repeat & ~frozen, known & ~frozen
    else:
        frozen[:] = False
    if int(repeat.sum()) < 4 or int(known.sum()) < 16:
        rhythm = _best_rhythm(_residual(flow, ~frozen), valid=~frozen)
        if rhythm is not None:
            rhythm = _resolve_alias(rhythm)
            if _trait_name(rhythm.factor) and rhythm.factor < 1:
                fit.trait_name, fit.trait_share = _trait_name(rhythm.factor), 1 - rhythm.factor
            else:
                _set(fit, rhythm)
                fit.phase = (rhythm.phase - a * rhythm.factor) % 1.0
        return fit
    pattern = _strict_pattern(repeat, known) or _loose_pattern(flow, repeat, known, frozen)
    edit_s, slots, phase = (1.0, np.zeros_like(repeat), 0.0) if pattern is None else pattern
    rest = known & ~slots
    c = 1.0 - float(repeat[rest].sum()) / max(1, int(rest.sum()))
    if pattern is not None and _trait_name(edit_s):
        # A conversion's rhythm (alone, or inside a messier conversion cadence): taken as
        # the source's, not an edit (a slow-down by exactly that factor looks the same).
        c, edit_s = edit_s if c > 0.95 or _trait_name(c) else edit_s * c, 1.0
    trait = _trait_name(c) if c < 0.95 else None
    fit.trait_name, fit.trait_share = trait, 1.0 - c
    if edit_s < 1:
        # The rhythm fixes the factor to within one event over the window, give or take
        # the events that could not be seen (little motion) at each end.
        events = int(slots.sum())
        err = (2.0 + math.sqrt(events)) / max(1, b - a)
        fit.factor, fit.low, fit.high = edit_s, edit_s - err, edit_s + err
        fit.z = _Z + events / 2  # a strict rhythm of repeats is strong evidence per event
        fit.method = "repeated frames in a fixed rhythm"
        fit.phase = (phase - a * edit_s) % 1.0
        return fit
    if c < 0.95 and trait is None and 1 - c <= _IRREGULAR_TRAIT:
        # Repeats without a rhythm, at a rate a conversion gives: phones and converters
        # that follow a clock rather than a pattern leave exactly this; re-timing software
        # keeps a strict rhythm (above).
        fit.trait_name = "repeats without a fixed rhythm"
        return fit
    if c < 0.95 and trait is None:
        # Irregular repeats at a rate no conversion gives: re-timing by a tool that keeps
        # no rhythm, or a variable-rate source; measured, but weaker evidence.
        err = (2.0 + math.sqrt(float(repeat[rest].sum()))) / max(1, int(rest.sum()))
        fit.factor, fit.low, fit.high, fit.z = c, c - err, c + err, 0.0
        fit.method = "repeated frames, irregular"
        return fit
    rhythm = _best_rhythm(_residual(flow, ~repeat & ~frozen), fast_only=True,
                          valid=~repeat & ~frozen)
    if rhythm is not None and rhythm.effect < _ALIAS_EFFECT:
        _set(fit, rhythm)
        fit.phase = (rhythm.phase - a * rhythm.factor) % 1.0
    return fit


def _set(fit: WindowFit, r: Rhythm) -> None:
    fit.factor, fit.low, fit.high, fit.z = r.factor, r.low, r.high, r.z
    fit.method = ("repeated frames in a fixed rhythm" if r.factor < 1 else
                  "skipped frames in a fixed rhythm (motion doubles across a skip)")


def _flow_per_tick(sig: Signals) -> np.ndarray:
    """Flow per frame interval, scaled to the clip's typical interval: a variable-rate clip's
    long gaps carry more motion without any frame being skipped."""
    flow = sig.flow_hi.astype(float).copy()
    if sig.n > 2:
        dt = np.diff(sig.times)
        tick = float(np.median(dt))
        if tick > 0:
            flow[1:] *= tick / np.maximum(dt, 0.25 * tick)
    return flow


def _windows(n: int) -> list[tuple[int, int]]:
    if n <= WIN + STEP // 2:
        return [(1, n)]
    starts = list(range(1, n - WIN + 1, STEP))
    if starts[-1] + WIN < n:
        starts.append(n - WIN)
    return [(s, s + WIN) for s in starts]


def _span(sig: Signals, a: int, b: int) -> tuple[float, float]:
    step = float(np.median(np.diff(sig.times))) if sig.n > 1 else 0.0
    return float(sig.times[max(0, a - 1)]), float(sig.times[min(b, sig.n) - 1]) + step


def retiming(sig: Signals) -> list[Finding]:
    """``speed_change`` findings (one per span of one factor) and ``source_trait`` context
    for a frame-rate conversion cadence."""
    if sig.n < 24:
        return []
    fits = [fit_window(sig, a, b) for a, b in _windows(sig.n)]
    # Neighbouring windows that agree on the factor make one span.
    groups: list[list[WindowFit]] = []
    prev: WindowFit | None = None
    for f in fits:
        if abs(f.factor - 1) < _MIN_CHANGE:
            prev = None
            continue
        if prev is not None and abs(prev.factor - f.factor) < 0.05:
            groups[-1].append(f)
        else:
            groups.append([f])
        prev = f
    out: list[Finding] = []
    for g in groups:
        best = max(g, key=lambda f: f.z)
        factor = float(np.median([f.factor for f in g]))
        low, high = min(f.low for f in g), max(f.high for f in g)
        first, last = _refine(sig, best, g[0].a, g[-1].b)
        start, end = _span(sig, first, last)
        if best.z:
            conf = min(0.95, 0.5 + 0.05 * (best.z - _Z))
            strength = {"rhythm_z": round(best.z, 1)}
        else:
            conf, strength = 0.3, {}
        ev: dict = {"speed_factor": round(factor, 3), "interval": [round(low, 3), round(high, 3)],
                    "method": best.method, **strength, "windows": len(g)}
        traits = {f.trait_name for f in g if f.trait_name}
        if traits:
            ev["source_cadence"] = f"{', '.join(sorted(traits))} conversion found and set apart"
        out.append(Finding("speed_change", start, end, conf, ev))
    out += _trait_findings(sig, fits)
    return out


def _refine(sig: Signals, fit: WindowFit, a: int, b: int) -> tuple[int, int]:
    """The part of intervals ``a..b-1`` where ``fit``'s rhythm really holds.

    Windows are seconds long, so a span made of them overshoots a partial edit by up to a
    window. Each predicted event (repeat or skip) is checked against the steps around it;
    the span runs from the first to the last event of the longest stretch that agrees.
    """
    flow = _flow_per_tick(sig)
    k = np.arange(a, b, dtype=float)
    s = fit.factor
    adv = np.floor((k + 1) * s + fit.phase) - np.floor(k * s + fit.phase)
    events = np.flatnonzero(adv == 0 if s < 1 else adv >= 2) + a
    if events.size < 4:
        return a, b
    x = np.log(flow + 0.02)
    sign = -1.0 if s < 1 else 1.0
    agree = np.zeros(events.size, dtype=bool)
    is_event = set(events.tolist())
    for i, e in enumerate(events.tolist()):
        around = [j for j in range(max(1, e - 4), min(sig.n, e + 5)) if j not in is_event]
        if around:
            # A repeat sits well below its neighbours, a skip well above (×1.4 or more).
            agree[i] = sign * (x[e] - float(np.median(x[around]))) > 0.33
    # Longest stretch of agreeing events, forgiving one miss in a row (codec noise).
    best, run_start, misses = (0, 0, -1), None, 0
    for i, ok in enumerate(agree):
        if ok:
            if run_start is None:
                run_start = i
            misses = 0
            if i - run_start > best[0]:
                best = (i - run_start, run_start, i)
        elif run_start is not None:
            misses += 1
            if misses > 1:
                run_start, misses = None, 0
    if best[2] < 0 or best[0] < 3:
        return a, b
    return int(events[best[1]]), int(events[best[2]]) + 1


def _trait_findings(sig: Signals, fits: list[WindowFit]) -> list[Finding]:
    with_trait = [f for f in fits if f.trait_name]
    if not with_trait:
        return []
    names = [f.trait_name for f in with_trait]
    name = max(set(names), key=names.count)
    share = float(np.median([f.trait_share for f in with_trait]))
    start, end = _span(sig, with_trait[0].a, with_trait[-1].b)
    fps = 1 / float(np.median(np.diff(sig.times)))
    return [Finding("source_trait", start, end, min(0.95, 0.5 + 0.45 * len(with_trait)
                                                      / len(fits)), {
        "trait": "frame-rate conversion cadence", "pattern": name,
        "conversion": f"≈ {fps * (1 - share):.3g} → {fps:.3g} fps",
        "content_fps": round(fps * (1 - share), 2), "file_fps": round(fps, 2),
        "repeated_share": round(share, 3),
        "windows_with_it": f"{len(with_trait)}/{len(fits)}",
        "note": "repeats left by converting a lower frame rate up: context, not an edit "
                "(a slow-down by the same factor looks alike; audio would tell)"})]
