"""Speed changes as one finding with a factor, and the cadences a source carries as context.

The model: every shown frame either repeats the content before it (advance 0), moves on by
one content frame (advance 1), or skips one (advance 2). Repeats are found exactly (the
duplicate mask); skips from the mean squared frame difference, which grows about x4 across
a skipped frame, each step compared with its nearest neighbours (``skip_rhythm``; the
optical flow's rhythm is the fallback).
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
An edit on top of such a cadence moves the cadence's repeats off its own rhythm, so where a
window shows any rhythm at all, the edit and the cadence are also fitted together
(:mod:`twoface.forensics._cadence`), and that fit wins when it explains the frames clearly
better.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from twoface.forensics._cadence import LEAD_OVER, Z_MIN, cadence_explains, edit_edges, fit_cadence
from twoface.forensics._finding import Finding
from twoface.forensics._rhythm import (
    _ALIAS_EFFECT,
    _SKIP_Z,
    _Z,
    Rhythm,
    _best_rhythm,
    _repeats,
    _residual,
    _resolve_alias,
    _strict_pattern,
    counted_repeats,
    skip_rhythm,
)
from twoface.forensics._signals import Signals

# Frames per analysis window (≈ 4 s at 30 fps) and the step between windows: short enough
# to give a partial-span edit its own span, long enough for a rhythm to show.
WIN, STEP = 120, 40
# Factors closer to 1 than this are not reported (codec and detection noise).
_MIN_CHANGE = 0.04
# Shortest span (seconds) a speed change is reported over.
_MIN_SPAN_S = 1.2
# Repeats a frame-rate conversion leaves: 24→30 fps shows one frame in 5 twice, 25→30 one in
# 6; 24→25 one in 25; 20→30 one in 3. As factors of content advance per shown frame:
_TRAITS = {0.8: "one frame in 5 shown twice", 5 / 6: "one frame in 6 shown twice",
           0.96: "one frame in 25 shown twice", 2 / 3: "one frame in 3 shown twice"}
# Largest share of irregular repeats still read as a conversion (24 → 30 fps repeats 20 %,
# and a window of a few seconds counts a few more or fewer).
_IRREGULAR_TRAIT = 0.27
# Share of a window's steps where the picture moves enough to see a repeat (``_repeats``'s
# ``known``) below which the source's cadence and an edit are not fitted together.
_MOVING_SHARE = 0.6


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
    z_bar: float = _Z  # the z at which this method's rhythm counts
    # A rhythm whose every event shows in the frames: its span is trimmed to where they
    # show. One fitted with the source's cadence (which hides some) has its edges fitted.
    trimmable: bool = True


def fit_window(sig: Signals, a: int, b: int) -> WindowFit:
    """Timing model for intervals ``a..b-1`` (interval ``i`` is frame ``i-1`` → ``i``): one
    rhythm (:func:`_one_rhythm`), and where that sees any rhythm, the edit and the source's
    cadence fitted together (:mod:`twoface.forensics._cadence`), which wins when it fits."""
    fit = _one_rhythm(sig, max(1, a), b)
    if not (fit.trait_name or fit.factor != 1.0) or sig.sqdiff.size != sig.n:
        return fit
    # Where the picture barely moves, the encoder's own frame-type rhythm rules the squared
    # difference; a cadence fitted there is the encoder's.
    if float(_repeats(_flow_per_tick(sig)[fit.a:fit.b])[1].mean()) >= _MOVING_SHARE:
        sq = _sq_per_tick(sig)[fit.a:fit.b]
        both = fit_cadence(sq)
        if both is not None and (fit.factor == 1.0 or both.lead >= LEAD_OVER):
            fit.factor, fit.low, fit.high = both.factor, both.low, both.high
            fit.z, fit.z_bar, fit.phase = both.z, Z_MIN, (both.phase - fit.a * both.factor) % 1
            fit.trait_name, fit.trait_share = _TRAITS[both.share], 1 - both.share
            fit.trimmable = False
            fit.method = (("repeated" if both.factor < 1 else "skipped") + " frames in a fixed "
                          f"rhythm on top of the source's conversion ({_TRAITS[both.share]})")
        elif fit.factor > 1.0 and cadence_explains(sq, fit.factor):
            # A skip rhythm that a cadence alone explains as well: its faint repeats.
            fit.factor, fit.low, fit.high, fit.z, fit.method = 1.0, 1.0, 1.0, 0.0, ""
    return fit


def _one_rhythm(sig: Signals, a: int, b: int) -> WindowFit:
    """One timing model for intervals ``a..b-1``.

    Where repeats can be seen one by one (the picture moves), a strict rhythm among them is
    a software slow-down, and the repeats off that rhythm, as a share of the frames left,
    are the source's own cadence (a conversion's is often irregular: phones, variable
    rates); skips are then searched among the other steps. Where the picture barely moves,
    single repeats drown in codec noise and only the matched filter over the whole window
    (repeats and skips alike) can still find a rhythm.
    """
    flow = _flow_per_tick(sig)[a:b]
    fit = WindowFit(a, b, 1.0, 1.0, 1.0, 0.0, "", None, 0.0)
    repeat, known, frozen = counted_repeats(flow)
    if int(repeat.sum()) < 4 or int(known.sum()) < 16:
        rhythm = _best_rhythm(_residual(flow, ~frozen), valid=~frozen)
        if rhythm is not None:
            rhythm = _resolve_alias(rhythm)
            if rhythm.factor > 1.5 and _trait_name(rhythm.factor - 1):
                rhythm = _resolve_alias(Rhythm(rhythm.z, rhythm.factor, _ALIAS_EFFECT,
                                               rhythm.events, rhythm.low, rhythm.high,
                                               rhythm.phase))
        use_sq = sig.sqdiff.size == sig.n
        if (rhythm is None or rhythm.factor > 1) and use_sq:
            # Skips are judged on the squared difference's local contrast (see
            # skip_rhythm), which holds up where the flow's rhythm does not.
            flow_rhythm = rhythm
            rhythm = _skip_fit(sig, a, b, frozen | repeat, dips=True)
            if (rhythm is None and flow_rhythm is not None and flow_rhythm.z >= _Z + 2
                    and flow_rhythm.factor >= 1.09):
                rhythm, use_sq = flow_rhythm, False  # a strong flow rhythm stands alone
        if rhythm is not None:
            if _trait_name(rhythm.factor) and rhythm.factor < 1:
                fit.trait_name, fit.trait_share = _trait_name(rhythm.factor), 1 - rhythm.factor
            else:
                _set(fit, rhythm, _SKIP_Z if use_sq else _Z)
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
    irregular = c < 0.95 and trait is None
    if irregular and 1 - c <= _IRREGULAR_TRAIT:
        # Repeats without a rhythm, at a rate a conversion gives: phones and converters
        # that follow a clock rather than a pattern leave exactly this; re-timing software
        # keeps a strict rhythm (above).
        fit.trait_name = "repeats without a fixed rhythm"
    if sig.sqdiff.size == sig.n:
        rhythm = _skip_fit(sig, a, b, repeat | frozen, dips=True)
        # A source with irregular repeats may drop frames as irregularly, which a rhythm
        # of skips rarely matches by chance but sometimes does: a speed-up on top of it
        # needs a stronger rhythm.
        if rhythm is not None and irregular and rhythm.z < _SKIP_Z + 1.0:
            rhythm = None
        if rhythm is not None and rhythm.factor < 1 and _trait_name(rhythm.factor):
            # Dips in a conversion's rhythm (repeats too noisy to count one by one).
            fit.trait_name = fit.trait_name or _trait_name(rhythm.factor)
            fit.trait_share = max(fit.trait_share, 1 - rhythm.factor)
            rhythm = None
    else:
        rhythm = _best_rhythm(_residual(flow, ~repeat & ~frozen), fast_only=True,
                              valid=~repeat & ~frozen)
        # A "speed-up" whose single steps fall once in 5 or 6 is a conversion cadence seen
        # from the other side (its repeats too faint to count one by one), not an edit.
        if rhythm is not None and (rhythm.effect >= _ALIAS_EFFECT
                                   or _trait_name(rhythm.factor - 1)):
            rhythm = None
    if rhythm is not None:
        _set(fit, rhythm, _SKIP_Z if sig.sqdiff.size == sig.n else _Z)
        fit.phase = (rhythm.phase - a * rhythm.factor) % 1.0
    elif irregular and 1 - c > _IRREGULAR_TRAIT:
        # Irregular repeats at a rate no conversion gives: re-timing by a tool that keeps
        # no rhythm, or a variable-rate source; measured, but weaker evidence.
        err = (2.0 + math.sqrt(float(repeat[rest].sum()))) / max(1, int(rest.sum()))
        fit.factor, fit.low, fit.high, fit.z = c, c - err, c + err, 0.0
        fit.method = "repeated frames, irregular"
    return fit


def _skip_fit(sig: Signals, a: int, b: int, bad: np.ndarray, *, dips: bool = False
              ) -> Rhythm | None:
    """The skip rhythm of intervals ``a..b-1`` on the squared difference per tick."""
    return skip_rhythm(_sq_per_tick(sig)[a:b], bad, dips=dips)


def _sq_per_tick(sig: Signals) -> np.ndarray:
    """Mean squared difference per frame interval, scaled to the clip's typical interval."""
    sq = sig.sqdiff.astype(float).copy()
    if sig.n > 2:
        dt = np.diff(sig.times)
        tick = float(np.median(dt))
        if tick > 0:
            sq[1:] *= (tick / np.maximum(dt, 0.25 * tick)) ** 2
    return sq


def _set(fit: WindowFit, r: Rhythm, z_bar: float = _Z) -> None:
    fit.factor, fit.low, fit.high, fit.z, fit.z_bar = r.factor, r.low, r.high, r.z, z_bar
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
        first, last = (_refine(sig, best, g[0].a, g[-1].b) if best.trimmable else edit_edges(
            _sq_per_tick(sig), best.factor, 1 - best.trait_share, g[0].a, g[-1].b))
        start, end = _span(sig, first, last)
        if end - start < _MIN_SPAN_S:
            continue  # a rhythm over a few dozen frames is as likely chance (or a cut)
        if best.z:
            conf = min(0.95, 0.5 + 0.05 * (best.z - best.z_bar))
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
    bar = 0.33  # a repeat sits well below its neighbours, a skip well above (×1.4 or more)
    if s > 1 and sig.sqdiff.size == sig.n:
        x, bar = np.log(sig.sqdiff.astype(float) + 0.05), 0.6  # squared: ×1.8
    sign = -1.0 if s < 1 else 1.0
    agree = np.zeros(events.size, dtype=bool)
    is_event = set(events.tolist())
    for i, e in enumerate(events.tolist()):
        around = [j for j in range(max(1, e - 4), min(sig.n, e + 5)) if j not in is_event]
        if around:
            agree[i] = sign * (x[e] - float(np.median(x[around]))) > bar
    # The stretch where agreeing events outnumber the others most (a maximum subarray):
    # pauses in the motion hide a few events inside an edit, while outside it events
    # agree only by chance.
    best, run_start, run = (0.0, 0, -1), 0, 0.0
    for i, ok in enumerate(agree):
        if run <= 0:
            run_start, run = i, 0.0
        run += 1.0 if ok else -1.0
        if run > best[0]:
            best = (run, run_start, i)
    if best[2] < 0 or best[2] - best[1] < 3:
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
