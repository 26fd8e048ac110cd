"""Ray casting into the radial height field, shadows and shading (private to ``synthetic``).

A ray ``p(t) = o + t·d`` (orthographic, so every ray shares ``d``) is inside the head where
``F(p) = hypot(x, z) - R(θ, y) < 0``. ``F`` is Lipschitz with a constant ``L`` bounded per
grid row from the slopes of ``R``, so a step of ``F / L`` can never cross the surface; steps
never shorter than ``H_MIN`` keep the count low (they could only skip slivers thinner than
that, at grazing silhouettes) and bisection then pins the hit to a few microns.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from twoface.synth.grid import DTH, DY, HAIR, NY, TH0, Y0

H_MIN = 1.2  # mm
STEP_MAX = 12.0  # mm
MAX_STEPS = 64  # rays that have not hit by then are called misses
_W = 1024  # remap wants 2D maps narrower than SHRT_MAX


def sample(img: np.ndarray, col: np.ndarray, row: np.ndarray,
           interp: int = cv2.INTER_LINEAR) -> np.ndarray:
    """Bilinear (or nearest) look-up of a grid ``(NY, NT[, C])`` at fractional texels."""
    n = col.size
    m = -(-n // _W) * _W
    c = np.zeros(m, np.float32)
    r = np.zeros(m, np.float32)
    c[:n], r[:n] = col, row
    out = cv2.remap(img, c.reshape(-1, _W), r.reshape(-1, _W), interp,
                    borderMode=cv2.BORDER_REPLICATE)
    return out.reshape(-1, *img.shape[2:])[:n]


def texel_of(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Texel coordinates ``(col, row)`` of head-frame points ``(N, 3)``."""
    return ((np.arctan2(p[:, 0], p[:, 2]) - TH0) / DTH, (p[:, 1] - Y0) / DY)


def dot3(p: np.ndarray, v: np.ndarray | Sequence[float]) -> np.ndarray:
    """``p @ v`` for ``(N, 3)`` points (column sums: much faster than numpy's matmul here)."""
    return p[:, 0] * float(v[0]) + p[:, 1] * float(v[1]) + p[:, 2] * float(v[2])


def mat3(p: np.ndarray, m: np.ndarray) -> np.ndarray:
    """``p @ m`` for ``(N, 3)`` points and a ``3×3`` matrix."""
    return np.stack([dot3(p, m[:, j]) for j in range(3)], 1)


class Caster:
    """Casts parallel rays into one head's radius map."""

    def __init__(self, radius: np.ndarray) -> None:
        self.radius = radius
        r = np.maximum(radius, 1.0)
        slope_t = np.gradient(radius, axis=1) / DTH / r
        slope_y = np.gradient(radius, axis=0) / DY
        lip = np.sqrt(1 + slope_t ** 2 + slope_y ** 2)
        # The worst slope within ~±16 mm of each texel, kept on a 4× coarser grid; steps are
        # capped at STEP_MAX so that they never leave that neighbourhood.
        block = cv2.dilate(lip, np.ones((4, 4), np.uint8))[2::4, 2::4]
        self.lip = np.clip(cv2.dilate(block, np.ones((13, 13), np.uint8)), 1, 12)
        self.rowmax = radius.max(axis=1)

    def field(self, x: np.ndarray, y: np.ndarray,
              z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``F`` at points given by coordinate arrays, with their texel ``(col, row)``."""
        col = (np.arctan2(x, z) - TH0) * (1 / DTH)
        row = (y - Y0) * (1 / DY)
        return np.sqrt(x * x + z * z) - sample(self.radius, col, row), col, row

    def cast(self, o: np.ndarray, d: np.ndarray, t0: np.ndarray | None = None,
             t1: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """First hits of rays ``o + t·d``: ``(hit (N,) bool, points (N, 3), t (N,))``.

        ``t0``/``t1`` narrow where to look (defaults: a bounding cylinder). Coordinates are
        kept as separate arrays: numpy is several times faster on them than on ``(N, 3)``.
        """
        n = len(o)
        b0, b1 = self._bounds(o, d)
        t0 = b0 if t0 is None else np.maximum(t0, b0)
        t1 = b1 if t1 is None else np.minimum(t1, b1)
        dx, dy, dz = (float(v) for v in d)
        hit = np.zeros(n, bool)
        lo, hi = np.zeros(n, np.float32), np.zeros(n, np.float32)
        flo, fhi = np.ones(n, np.float32), -np.ones(n, np.float32)
        idx = np.nonzero(t1 > t0)[0]
        ox, oy, oz = (np.ascontiguousarray(o[idx, i]) for i in range(3))
        t, tend = t0[idx], t1[idx]
        f, col, row = self.field(ox + t * dx, oy + t * dy, oz + t * dz)
        inside = f < 0  # started inside: only where the bound was too tight; call it a hit
        hit[idx[inside]] = True
        lo[idx[inside]] = hi[idx[inside]] = t[inside]
        alive = ~inside
        for it in range(MAX_STEPS):
            # Compact only once many rays are done: gathering every array costs a step.
            if alive.mean() < 0.7:
                idx, ox, oy, oz, t, tend, f, col, row = (
                    v[alive] for v in (idx, ox, oy, oz, t, tend, f, col, row))
                alive = np.ones(idx.size, bool)
            if not idx.size:
                break
            lip = sample(self.lip, col * 0.25 - 0.5, row * 0.25 - 0.5, cv2.INTER_NEAREST)
            # Rays still going after many steps are grazing a surface: let their minimum
            # step grow (they could only skip ever thinner slivers) so the tail ends soon.
            h_min = H_MIN * (1 + it / 8)
            tn = t + np.minimum(np.maximum(f / lip, h_min), STEP_MAX) * alive
            fn, col, row = self.field(ox + tn * dx, oy + tn * dy, oz + tn * dz)
            crossed = alive & (fn < 0)
            ic = idx[crossed]
            hit[ic] = True
            lo[ic], hi[ic], flo[ic], fhi[ic] = t[crossed], tn[crossed], f[crossed], fn[crossed]
            alive &= ~crossed & (tn < tend)
            t, f = tn, fn
        idx = np.nonzero(hit)[0]
        ox, oy, oz = (np.ascontiguousarray(o[idx, i]) for i in range(3))
        a, b, fa, fb = lo[idx], hi[idx], flo[idx], fhi[idx]
        for _ in range(4):
            m = 0.5 * (a + b)
            fm = self.field(ox + m * dx, oy + m * dy, oz + m * dz)[0]
            inside = fm < 0
            b, fb = np.where(inside, m, b), np.where(inside, fm, fb)
            a, fa = np.where(inside, a, m), np.where(inside, fa, fm)
        # A last secant step: the bracket is tiny and the surface all but flat across it.
        tt = a + (b - a) * np.minimum(np.maximum(fa / np.maximum(fa - fb, 1e-6), 0), 1)
        pts = np.zeros((n, 3), np.float32)
        pts[idx, 0], pts[idx, 1], pts[idx, 2] = ox + tt * dx, oy + tt * dy, oz + tt * dz
        thit = np.full(n, np.inf, np.float32)
        thit[idx] = tt
        return hit, pts, thit

    def cast_grid(self, o: np.ndarray, d: np.ndarray, step: int = 4,
                  margin: float = 6.0) -> tuple[np.ndarray, np.ndarray]:
        """Hits of a regular grid of parallel rays ``o (H, W, 3)``, coarse to fine.

        Every ``step``-th ray is cast first; the others then only search near the nearest hit
        among their coarse neighbours (and are background where none of those hit), which
        saves most of the empty-space and approach steps.
        """
        h, w = o.shape[:2]
        _, _, tc = self.cast(o[::step, ::step].reshape(-1, 3), d)
        tc = tc.reshape((h + step - 1) // step, (w + step - 1) // step)
        near = cv2.erode(np.where(np.isfinite(tc), tc, 1e9).astype(np.float32),
                         np.ones((3, 3), np.uint8))
        near = np.repeat(np.repeat(near, step, 0), step, 1)[:h, :w].ravel()
        todo = np.nonzero(near < 1e8)[0]
        hit = np.zeros(h * w, bool)
        pts = np.zeros((h * w, 3), np.float32)
        hs, ps, _ = self.cast(o.reshape(-1, 3)[todo], d, t0=near[todo] - margin)
        hit[todo], pts[todo] = hs, ps
        return hit, pts

    def _bounds(self, o: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where each ray enters and leaves a bounding cylinder around the axis."""
        a = d[0] ** 2 + d[2] ** 2
        if a < 0.05:  # nearly vertical rays: no useful cylinder, march the whole box
            return np.zeros(len(o), np.float32), np.full(len(o), 900.0, np.float32)
        # Rays drift in y across the head; bound the radius over the rows they can reach.
        drift = 2 * float(self.rowmax.max()) * abs(d[1]) / np.sqrt(a) + 10
        k = int(drift / DY)
        pad = np.pad(self.rowmax, k, mode="edge")
        rb = np.lib.stride_tricks.sliding_window_view(pad, 2 * k + 1).max(1) + 1.0
        tc = -(o[:, 0] * d[0] + o[:, 2] * d[2]) / a
        row = np.clip((o[:, 1] + tc * d[1] - Y0) / DY, 0, NY - 1).astype(np.int32)
        b = o[:, 0] * d[0] + o[:, 2] * d[2]
        c = o[:, 0] ** 2 + o[:, 2] ** 2 - rb[row] ** 2
        disc = b * b - a * c
        root = np.sqrt(np.maximum(disc, 0))
        t0 = np.where(disc > 0, (-b - root) / a, 1.0)
        t1 = np.where(disc > 0, (-b + root) / a, 0.0)
        return np.maximum(t0, 0).astype(np.float32), t1.astype(np.float32)


def normals(radius: np.ndarray, col0: int = 0) -> np.ndarray:
    """Unit outward normals ``(rows, cols, 3)`` (head frame) of (a window of) the radial
    height field whose first column is grid column ``col0``."""
    th = (TH0 + DTH * np.arange(col0, col0 + radius.shape[1], dtype=np.float32))[None, :]
    s, c = np.sin(th), np.cos(th)
    r = np.maximum(radius, 1e-3)
    rt = np.gradient(radius, axis=1) / DTH / r
    ry = np.gradient(radius, axis=0) / DY
    n = np.stack([s - rt * c, -ry, c + rt * s], -1)
    return (n / np.linalg.norm(n, axis=-1, keepdims=True)).astype(np.float32)


def occlusion(radius: np.ndarray) -> np.ndarray:
    """Cheap ambient occlusion: how far the surface sits below its neighbourhood (blurred at
    a quarter of the grid's resolution, which is plenty for a 5–14 mm blur)."""
    h, w = radius.shape
    small = cv2.resize(radius, (w // 4, h // 4), interpolation=cv2.INTER_AREA)
    mm_col, mm_row = 4 * DTH * 90, 4 * DY  # mm per small texel (at a face's radius)
    near = cv2.GaussianBlur(small, (0, 0), sigmaX=5 / mm_col, sigmaY=5 / mm_row)
    wide = cv2.GaussianBlur(small, (0, 0), sigmaX=14 / mm_col, sigmaY=14 / mm_row)
    blur = cv2.resize(0.07 * near + 0.02 * wide, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.clip(1 - np.maximum(blur - 0.09 * radius, 0), 0.3, 1)


class ShadowMap:
    """Depth of the head seen from the light (orthographic), for cast shadows."""

    RES, HALF = 1.25, 170.0  # mm per texel, half extent

    def __init__(self, caster: Caster, light: np.ndarray, centre: np.ndarray) -> None:
        self.l = light / np.linalg.norm(light)
        helper = np.array([0.0, 1.0, 0.0]) if abs(self.l[1]) < 0.9 else np.array([1.0, 0, 0])
        self.e1 = np.cross(self.l, helper)
        self.e1 /= np.linalg.norm(self.e1)
        self.e2 = np.cross(self.l, self.e1)
        self.centre = centre
        n = int(2 * self.HALF / self.RES)
        g = (np.arange(n) + 0.5) * self.RES - self.HALF
        aa, bb = np.meshgrid(g, g)
        o = (centre + aa[..., None] * self.e1 + bb[..., None] * self.e2
             + 400 * self.l).astype(np.float32)
        hit, pts = caster.cast_grid(o, (-self.l).astype(np.float32))
        depth = np.where(hit.reshape(-1), dot3(pts - centre, self.l), -1e4)
        depth = depth.astype(np.float32)
        self.depth = depth.reshape(n, n)

    def visibility(self, p: np.ndarray, n: np.ndarray, bias: float = 1.0,
                   soft: float = 3.0) -> np.ndarray:
        """0 (in shadow) .. 1 (lit) for head-frame points ``(N, 3)`` with normals ``n``.

        The point is first pushed out along its normal (no self-shadowing "acne" on lit
        slopes) and the depth test is filtered bilinearly over the four nearest texels.
        """
        q = p + 1.5 * self.RES * n - self.centre
        u = (dot3(q, self.e1) + self.HALF) / self.RES - 0.5
        v = (dot3(q, self.e2) + self.HALF) / self.RES - 0.5
        dp = dot3(q, self.l) + bias
        u0, v0 = np.floor(u), np.floor(v)
        fu, fv = u - u0, v - v0
        vis = np.zeros(len(p), np.float32)
        for du, dv, wgt in ((0, 0, (1 - fu) * (1 - fv)), (1, 0, fu * (1 - fv)),
                            (0, 1, (1 - fu) * fv), (1, 1, fu * fv)):
            dm = sample(self.depth, u0 + du, v0 + dv, cv2.INTER_NEAREST)
            vis += wgt * np.minimum(np.maximum(1 + (dp - dm) / soft, 0), 1)
        return vis


def kelvin(t: float) -> np.ndarray:
    """Linear RGB of a black body at ``t`` K, normalised to unit luminance (table values)."""
    ks = [2500, 3500, 4500, 5500, 6500, 8000, 10000]
    table = np.array([[1.0, 0.62, 0.29], [1.0, 0.76, 0.52], [1.0, 0.86, 0.73], [1.0, 0.93, 0.87],
                      [1.0, 0.98, 1.0], [0.89, 0.92, 1.0], [0.79, 0.85, 1.0]]) ** 2.2
    rgb = np.array([np.interp(t, ks, table[:, i]) for i in range(3)])
    return (rgb / (rgb @ [0.2126, 0.7152, 0.0722])).astype(np.float32)


def shade(alb: np.ndarray, spec_k: np.ndarray, spec_e: np.ndarray, ao: np.ndarray,
          n: np.ndarray, lab: np.ndarray, ldir: np.ndarray, ambient: float, temperature: float,
          vis: np.ndarray) -> np.ndarray:
    """Linear RGB ``(N, 3)`` of lit points (camera-frame normals ``n``, light ``ldir``).

    Wrapped Lambert (skin scatters red light deeper into the shadow side), a hemispheric
    ambient darkened by occlusion, and Blinn-Phong highlights; ``vis`` is the key light's
    shadow visibility. Albedo is sRGB and is linearised here.
    """
    lin = alb ** 2.2
    ndl = dot3(n, ldir)
    skin = (lab != HAIR)[:, None]
    wrap = np.where(skin, np.array([0.30, 0.17, 0.12], np.float32),
                    np.array([0.08, 0.08, 0.08], np.float32))
    diff = np.clip((ndl[:, None] + wrap) / (1 + wrap), 0, 1) * vis[:, None]
    key = kelvin(temperature) * (1 - ambient) * 1.05
    amb = ambient * (0.8 - 0.25 * n[:, 1]) * ao  # more light from above than from below
    h = ldir + np.array([0, 0, 1], np.float32)
    h /= np.linalg.norm(h)
    ndh = np.maximum(dot3(n, h), 0)
    spec = spec_k * (spec_e + 8) / 30 * ndh ** spec_e * vis * (ndl > 0)
    return lin * (amb[:, None] + diff * key) + spec[:, None] * key
