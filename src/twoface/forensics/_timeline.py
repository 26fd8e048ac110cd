"""The time map of a clip against its source: which source moment each clip frame shows.

:func:`twoface.forensics._compare.compare` gives each clip frame its best source frame
(:func:`_best_pairs` there); here lines ``source_time = speed · clip_time + offset`` are
fitted to those pairs, one contiguous stretch of the clip at a time (:func:`segments`),
and grown to where the whole picture stops matching (:func:`extend`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SAME_PICTURE = 0.8  # correlation of two whole thumbnails that show the same moment
STILL_S = 1.0  # half-width (s) of the window whose mean picture counts as still
SPEED_RANGE = (0.2, 4.0)  # source seconds per clip second a fitted line may have
MIN_RUN_S = 0.5  # shortest stretch of the clip that gets its own line
# How much better (mean moving-part correlation) a stretch's own line must follow what moves
# than another line before the difference counts as evidence: a speed change must beat
# the best line at the source's own speed, a cut the line of the stretch before it. Where
# little moves, lines that differ explain the frames alike (measured on the shared clips:
# ≤ 0.015 for the spurious stretches of untouched, mirrored and captioned clips, ≥ 0.13
# for real speed changes).
MOTION_GAIN = 0.03
# F statistic two bend points must reach to split a stretch (see bend). Set on the shared
# clips at CRF 28: a middle third re-timed scored 13.9-185 on 20 of the 25 where a bend was
# tried (the rest 0.6-10.7), a whole clip re-timed at most 11.8. The spurious stretches of
# near-still clips can score high too; the motion evidence (MOTION_GAIN) then drops them.
_BEND_F = 12.0


def features(x: np.ndarray) -> np.ndarray:
    x = x - x.mean(axis=1, keepdims=True)
    x /= np.linalg.norm(x, axis=1, keepdims=True) + 1e-6
    return x


def extend(segs: list[Segment], tq: np.ndarray, ts: np.ndarray, qf: np.ndarray,
            sf: np.ndarray) -> None:
    """Grow each segment over neighbouring clip frames the line still explains.

    Near a cut, the moving-part correlation of :func:`_best_pairs` is muddied (a frame's
    still picture is a mean over both sides of the cut), so a segment stops short; the
    whole picture at the frame its line predicts says where it really ends.
    """
    taken = np.zeros(len(tq), bool)
    for g in segs:
        taken[g.first:g.last + 1] = True

    def fits(g: Segment, i: int) -> bool:
        j = int(np.clip(np.searchsorted(ts, g.speed * tq[i] + g.offset), 0, len(ts) - 1))
        near = [k for k in (j - 1, j) if 0 <= k < len(ts)]
        return max(float(qf[i] @ sf[k]) for k in near) >= SAME_PICTURE

    for g in segs:
        while g.last + 1 < len(tq) and not taken[g.last + 1] and fits(g, g.last + 1):
            g.last += 1
            taken[g.last] = True
        while g.first - 1 >= 0 and not taken[g.first - 1] and fits(g, g.first - 1):
            g.first -= 1
            taken[g.first] = True


class LineFit:
    """How well lines follow what moves in the clip: moving-part features of the clip
    (``qm``) and the source (``sm``), with their frame times."""

    def __init__(self, qm: np.ndarray, sm: np.ndarray, tq: np.ndarray, ts: np.ndarray,
                 fps: float) -> None:
        self.qm, self.sm, self.tq, self.ts, self.fps = qm, sm, tq, ts, fps

    def _frames(self, g: Segment) -> np.ndarray:
        idx = np.arange(g.first, g.last + 1)
        return idx if len(idx) <= 300 else idx[np.linspace(0, len(idx) - 1, 300).astype(int)]

    def score(self, g: Segment, speed: float, offset: float) -> float:
        """Mean moving-part correlation of ``g``'s frames with the source frames the line
        ``speed · t + offset`` predicts (the better of the two around each predicted time)."""
        idx = self._frames(g)
        j = np.clip(np.searchsorted(self.ts, speed * self.tq[idx] + offset), 1,
                    len(self.ts) - 1)
        q = self.qm[idx]
        return float(np.maximum((q * self.sm[j]).sum(axis=1),
                                (q * self.sm[j - 1]).sum(axis=1)).mean())

    def speed_one(self, g: Segment) -> list[tuple[float, float]]:
        """Lines at the source's own speed within ±1 s of ``g``'s line at its middle."""
        mid = 0.5 * float(self.tq[g.first] + self.tq[g.last])
        centre = g.speed * mid + g.offset - mid
        return [(1.0, float(b)) for b in centre + np.arange(-1.0, 1.0 + 1e-9, 0.5 / self.fps)]

    def speed_gain(self, g: Segment) -> float:
        """How much better ``g``'s own line follows what moves than any line at the
        source's own speed (see MOTION_GAIN)."""
        own = self.score(g, g.speed, g.offset)
        return own - max(self.score(g, *line) for line in self.speed_one(g))

    def cut_gain(self, p: Segment, g: Segment) -> float:
        """How much worse any one line through two neighbouring stretches follows what
        moves than their own lines: over the candidate lines (either stretch's own, or the
        source's speed at any offset near either), the smallest of the larger loss of the
        two sides. A jump between lines that a still stretch let drift apart is no cut."""
        own_p, own_g = self.score(p, p.speed, p.offset), self.score(g, g.speed, g.offset)
        lines = [(p.speed, p.offset), (g.speed, g.offset), *self.speed_one(p),
                 *self.speed_one(g)]
        return min(max(own_p - self.score(p, *line), own_g - self.score(g, *line))
                   for line in lines)


def local_mean(x: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Each row's mean over the rows whose time is within ±STILL_S of its own."""
    cum = np.vstack([np.zeros((1, x.shape[1]), np.float64), np.cumsum(x, axis=0,
                                                                      dtype=np.float64)])
    lo = np.searchsorted(times, times - STILL_S, side="left")
    hi = np.searchsorted(times, times + STILL_S, side="right")
    return ((cum[hi] - cum[lo]) / (hi - lo)[:, None]).astype(np.float32)


@dataclass
class Segment:
    first: int  # clip frame numbers, inclusive
    last: int
    speed: float
    offset: float
    speed_se: float
    inliers: int


def fit_line(t: np.ndarray, s: np.ndarray, tol: float, rng: np.random.Generator
              ) -> tuple[float, float, np.ndarray] | None:
    """RANSAC line s = a·t + b with a in SPEED_RANGE; (a, b, inlier mask)."""
    n = len(t)
    if n < 6:
        return None
    best: tuple[float, float, float] | None = None
    for _ in range(300):
        i, j = rng.choice(n, 2, replace=False)
        if abs(t[j] - t[i]) < 0.3:
            continue
        a = (s[j] - s[i]) / (t[j] - t[i])
        if not SPEED_RANGE[0] <= a <= SPEED_RANGE[1]:
            continue
        b = s[i] - a * t[i]
        # Pairs near the line count more than pairs at its edge: a compromise line that
        # skims two stretches on different lines scores below either stretch's own line.
        r = np.abs(s - (a * t + b)) / tol
        k = float(np.clip(1.0 - r * r, 0.0, None).sum())
        if best is None or k > best[0]:
            best = (k, a, b)
    if best is None or best[0] < 4:
        return None
    _, a, b = best
    return float(a), float(b), np.abs(s - (a * t + b)) <= tol


def segments(tq: np.ndarray, ts: np.ndarray, ok: np.ndarray, tol: float) -> list[Segment]:
    """Contiguous stretches of the clip that each follow one line, found greedily."""
    rng = np.random.default_rng(0)
    out: list[Segment] = []
    todo = [(0, len(tq) - 1)]
    while todo:
        lo, hi = todo.pop()
        idx = np.arange(lo, hi + 1)
        use = idx[ok[idx]]
        if len(use) < 6 or tq[hi] - tq[lo] < MIN_RUN_S:
            continue
        fit = fit_line(tq[use], ts[use], tol, rng)
        if fit is None:
            continue
        a, b, _ = fit
        inl = ok[idx] & (np.abs(ts[idx] - (a * tq[idx] + b)) <= tol)
        # The longest run dominated by inliers (maximum subarray: +1 in, -0.5 out).
        gain = np.where(inl, 1.0, -0.5)
        best, cur, start, span = 0.0, 0.0, 0, (0, -1)
        for k, g in enumerate(gain):
            if cur <= 0:
                cur, start = 0.0, k
            cur += g
            if cur > best:
                best, span = cur, (start, k)
        first, last = lo + span[0], lo + span[1]
        run = np.arange(first, last + 1)
        # Least squares on the run's inliers only, at a tighter tolerance each time, so
        # that a neighbouring stretch on another line cannot pull the fit its way.
        for shrink in (1.0, 0.75):
            run_in = run[ok[run] & (np.abs(ts[run] - (a * tq[run] + b)) <= tol * shrink)]
            if len(run_in) < 6:
                break
            a, b = np.polyfit(tq[run_in], ts[run_in], 1)
        if len(run_in) < 6 or tq[last] - tq[first] < MIN_RUN_S:
            continue
        se = _slope_se(tq[run_in], ts[run_in] - (a * tq[run_in] + b))
        out.append(Segment(int(first), int(last), float(a), float(b), se, len(run_in)))
        if first - 1 >= lo:
            todo.append((lo, first - 1))
        if last + 1 <= hi:
            todo.append((last + 1, hi))
    out.sort(key=lambda g: g.first)
    # Neighbours on the same line (a still stretch splits a run) become one segment.
    merged: list[Segment] = []
    for g in out:
        if merged:
            p = merged[-1]
            t = tq[g.first]
            if (abs(g.speed - p.speed) <= 0.02
                    and abs((g.speed * t + g.offset) - (p.speed * t + p.offset)) <= 2 * tol):
                n = p.inliers + g.inliers
                merged[-1] = Segment(p.first, g.last, (p.speed * p.inliers + g.speed
                                                        * g.inliers) / n,
                                      (p.offset * p.inliers + g.offset * g.inliers) / n,
                                      min(p.speed_se, g.speed_se), n)
                continue
        merged.append(g)
    return merged


def _slope_se(t: np.ndarray, resid: np.ndarray) -> float:
    """Standard error of a fitted line's slope from its points' times and residuals."""
    dt = t - t.mean()
    return float(np.sqrt((resid ** 2).sum() / max(1, len(t) - 2) / max(1e-12,
                                                                       (dt ** 2).sum())))


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) index of each run of True."""
    out, start = [], None
    for i, v in enumerate(mask):
        if v and start is None:
            start = i
        elif not v and start is not None:
            out.append((start, i - 1))
            start = None
    if start is not None:
        out.append((start, len(mask) - 1))
    return out


def bend(tq: np.ndarray, ts: np.ndarray, ok: np.ndarray, tol: float,
         segs: list[Segment]) -> list[Segment]:
    """``segs`` with each off-speed stretch split where the clip's own speed resumes.

    A partial edit (the middle of a clip slowed or sped up) makes the time map bend twice,
    and one line fitted across a bend takes a compromise slope and overreaches into the
    untouched parts. For each stretch not at the source's speed, the continuous model
    "speed 1, then speed s, then speed 1" is fitted for every pair of bend points (every
    third frame, at most 120 of them) by least squares; it replaces the line when it keeps as
    many pairs within ``tol`` and its drop in squared error is significant (F ≥ _BEND_F).
    """
    out: list[Segment] = []
    for g in segs:
        idx = np.arange(g.first, g.last + 1)
        idx = idx[ok[idx]]
        x, y = tq[idx], ts[idx]
        if abs(g.speed - 1.0) < 0.03 or len(idx) < 40:
            out.append(g)
            continue
        line_in = int((np.abs(y - (g.speed * x + g.offset)) <= tol).sum())
        # Counting pairs within tol cannot tell a compromise line from a bend that stays
        # within a frame or two of it; the squared error can.
        line_sse = float(((y - (g.speed * x + g.offset)) ** 2).sum())
        # Every third frame, at most 120 candidates (pairs grow with their square: a long
        # clip's stretch would otherwise cost millions of fits).
        cand = x[::max(3, -(-len(x) // 120))]
        best: tuple[int, float, float, float, float, float] | None = None
        for i, b1 in enumerate(cand):
            for b2 in cand[i + 1:]:
                if b2 - b1 < MIN_RUN_S:
                    continue
                a = np.where(x <= b1, x, np.where(x <= b2, b1, b1 + x - b2))
                bb = np.clip(x - b1, 0.0, b2 - b1)
                design = np.stack([np.ones_like(x), bb], axis=1)
                (c, s), *_ = np.linalg.lstsq(design, y - a, rcond=None)
                r = y - (a + c + s * bb)
                n_in = int((np.abs(r) <= tol).sum())
                sse = float((r * r).sum())
                if best is None or (n_in, -sse) > (best[0], -best[5]):
                    best = (n_in, float(b1), float(b2), float(c), float(s), sse)
        if best is None or best[0] < line_in or abs(best[4] - 1.0) < 0.03:
            out.append(g)
            continue
        # The two bend points must pay for themselves: an F statistic of the drop in
        # squared error against what is left (time-map noise is a frame or two).
        f_stat = (line_sse - best[5]) / 2 / max(best[5] / max(1, len(idx) - 4), 1e-12)
        if f_stat < _BEND_F:
            out.append(g)
            continue
        _, b1, b2, c, s, _ = best
        cut1 = int(np.searchsorted(tq, b1, side="right"))
        cut2 = int(np.searchsorted(tq, b2, side="right"))
        mid = np.arange(cut1, cut2)
        mid = mid[ok[mid]]
        off_mid = c + b1 - s * b1
        se = _slope_se(tq[mid], ts[mid] - (s * tq[mid] + off_mid))
        pieces = [(g.first, cut1 - 1, 1.0, c), (cut1, cut2 - 1, s, off_mid),
                  (cut2, g.last, 1.0, c + b1 + s * (b2 - b1) - b2)]
        for first, last, speed, offset in pieces:
            if last < first:
                continue
            span = np.arange(first, last + 1)
            span = span[ok[span]]
            n_in = int((np.abs(ts[span] - (speed * tq[span] + offset)) <= tol).sum())
            out.append(Segment(int(first), int(last), float(speed), float(offset),
                               se if speed != 1.0 else 0.0, n_in))
    return out
