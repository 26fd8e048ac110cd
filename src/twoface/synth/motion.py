"""Expressions for the synthetic head: warps of the texel grid (private to ``synthetic``).

Geometry and paint live on one texel grid, so an expression is a warp of that grid: the map
at a texel is read from the *source* texel the warp sends it back to. Moving the jaw is a pure
move down each column (a true 3D translation of the lower face); smiling moves the mouth
corners out and up; raising the brows lifts the forehead. Every warp also has an exact (or
first-order) forward map, which carries the ground-truth points to where the warped paint is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from twoface.synth.grid import DTH, DY, FACE, NT, THETA, Y0, YS, smoothstep
from twoface.synth.head import Design

# The part of the grid that expressions touch: the front of the head, forehead to throat.
ROWS = slice(int((-95 - Y0) / DY), int((215 - Y0) / DY))
COLS = slice(int(np.searchsorted(THETA, -math.radians(82))),
             int(np.searchsorted(THETA, math.radians(82))))
JAW_DROP = 20.0  # mm the lower lip falls at mouth_open = 1
LOWER_LIP = (55, 56, 57, 58, 59, 65, 66, 67)  # points that ride on the jaw
UPPER_LIP = (49, 50, 51, 52, 53, 61, 62, 63)  # points that stay above the opening


@dataclass
class Warp:
    """One expression's warp: what the renderer needs to move paint and points together."""

    smile: float
    brow: float
    drop: float
    dz: Design
    xmap: np.ndarray  # the neutral frontal-x map (full grid)

    # --- the three displacement fields, in frontal mm -------------------------------------
    def smile_field(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Forward displacement of smiling: corners out and up, cheeks up."""
        if self.smile == 0:
            return np.zeros_like(x), np.zeros_like(x)
        ym, mw = self.dz.mouth_y, self.dz.mouth_half / 0.87
        dx = np.zeros_like(x)
        dy = -1.0 * np.exp(-(x / 12) ** 2 - ((y - ym + 3) / 6) ** 2)
        for s in (-1.0, 1.0):
            gc = np.exp(-((x - s * mw) / 11) ** 2 - ((y - ym) / 9) ** 2)
            dx += s * 4.5 * gc
            dy -= 4.0 * gc + 2.5 * np.exp(-((x - s * 40) / 15) ** 2 - ((y - 33) / 13) ** 2)
        return self.smile * dx, self.smile * dy

    def brow_field(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Forward vertical displacement of raising the brows (zero at and below the eyes)."""
        lift = smoothstep(-4, -18, y) * smoothstep(-100, -60, y)
        lift = lift * (1 - smoothstep(55, 72, np.abs(x)))
        return -6.0 * self.brow * lift

    def _jaw_columns(self, xc: np.ndarray, yj: np.ndarray) -> tuple[np.ndarray, ...]:
        """Per-column breakpoints of the jaw's piecewise-linear fall ``J(y)``.

        Above the hinge line ``b0`` nothing moves; just below it the lower lip falls by
        ``drop·ε`` (ε shapes the mouth's opening, 0 at its corners); the fall ramps to
        ``drop·L`` by ``b1``, stays down to below the jaw border ``b2`` and fades by ``b3``.
        """
        dz = self.dz
        hw = dz.mouth_half + 4.5 * self.smile
        ax = np.abs(xc)
        _, sdy = self.smile_field(xc, np.full_like(xc, dz.mouth_y))
        eps = np.clip(1 - (ax / hw) ** 2, 0, 1) ** 0.6
        b0 = np.where(ax <= hw, dz.mouth_y + sdy, dz.mouth_y + sdy - 35 * smoothstep(hw, 75, ax))
        lat = 1 - 0.6 * smoothstep(20, 75, ax)
        col_w = 1 - smoothstep(math.radians(60), math.radians(80), np.abs(THETA[COLS]))
        lat = lat * col_w
        eps = eps * col_w
        b1 = b0 + 22.0
        b2 = np.maximum(yj + 4.0, b1 + 1.0)
        b3 = b2 + 45.0
        return eps, lat, b0, b1, b2, b3

    # --- forward map of points ---------------------------------------------------------------
    def forward(self, tex: np.ndarray, index: np.ndarray, jaw_row: np.ndarray) -> np.ndarray:
        """Move texel points ``(N, 2)`` of the neutral face to the warped grid.

        ``index`` holds each point's iBUG index (or -1), which picks the lower lip's side of
        the mouth line.
        """
        out = np.asarray(tex, np.float64).copy()
        col, row = out[:, 0], out[:, 1]
        ci = np.clip(np.round(col).astype(int), 0, NT - 1)
        ri = np.clip(np.round(row).astype(int), 0, len(YS) - 1)
        x, y = self.xmap[ri, ci].astype(np.float64), Y0 + DY * row
        dx, dy = self.smile_field(x, y)
        xt = np.gradient(self.xmap[ri], axis=1)[np.arange(len(ri)), ci] / DTH
        col = col + dx / np.maximum(xt, 20.0) / DTH
        y = y + dy
        ci = np.clip(np.round(col).astype(int), COLS.start, COLS.stop - 1)
        mouth_row = round((self.dz.mouth_y - Y0) / DY)
        eps, lat, b0, b1, b2, b3 = (a[ci - COLS.start] for a in self._jaw_columns(
            self.xmap[mouth_row, COLS], jaw_row[COLS]))
        d = self.drop
        j = np.where(y < b0, 0.0, eps + (lat - eps) * np.clip((y - b0) / (b1 - b0), 0, 1))
        # Points on the mouth line itself belong to one lip or the other.
        on_line = np.abs(y - b0) < 0.5
        j = np.where(on_line & np.isin(index, LOWER_LIP), eps, j)
        j = np.where(on_line & np.isin(index, UPPER_LIP), 0.0, j)
        j = np.where(y > b2, lat * (1 - np.clip((y - b2) / (b3 - b2), 0, 1)), j)
        y = y + d * j
        y = y + self.brow_field(x, y)
        return np.stack([col, (y - Y0) / DY], 1).astype(np.float32)

    # --- backward map of the grid ------------------------------------------------------------
    def source(self, jaw_row: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Source texel coordinates for the window, and the mouth gap's depth parameter.

        Returns ``(src_col, src_row, gap)`` over ``ROWS × COLS``; ``gap`` is in 0..1 across
        the open mouth (upper lip to lower lip) and -1 elsewhere. Each field is only
        evaluated on the band of rows it can move.
        """
        x = self.xmap[ROWS, COLS]
        y = np.broadcast_to(YS[ROWS, None], x.shape).astype(np.float32)
        col = np.broadcast_to(np.arange(COLS.start, COLS.stop, dtype=np.float32), x.shape)
        sc, sy = col.copy(), y.copy()
        gap = np.full(x.shape, -1.0, np.float32)
        if self.brow > 0:  # forward is y += b(x, y): invert by fixed-point iteration
            band = _band(-105, 0)
            xb, yb = x[band], y[band]
            ys = yb.copy()
            for _ in range(4):
                ys = yb - self.brow_field(xb, ys)
            sy[band] = ys
        if self.drop > 0:  # exact inverse of the piecewise-linear column map
            band = _band(0, 215)
            yb = y[band]
            mouth_row = round((self.dz.mouth_y - Y0) / DY)
            eps, lat, b0, b1, b2, b3 = self._jaw_columns(self.xmap[mouth_row, COLS],
                                                         jaw_row[COLS])
            d = self.drop
            f0, f1, f2, f3 = b0 + d * eps, b1 + d * lat, b2 + d * lat, b3
            k1 = d * (lat - eps) / (b1 - b0)
            k3 = d * lat / (b3 - b2)
            sy[band] = np.select(
                [yb < b0, yb < f0, yb < f1, yb < f2, yb < f3],
                [yb, b0 + 0 * yb, (yb - d * eps + k1 * b0) / (1 + k1), yb - d * lat,
                 (yb - d * lat - k3 * b2) / (1 - k3)], yb)
            gap[band] = np.where((yb >= b0) & (yb < f0) & (d * eps > 0.05),
                                 (yb - b0) / np.maximum(d * eps, 1e-6), -1.0)
        if self.smile > 0:  # small displacement: iterate, columns via dx/dθ of the face
            band = _band(0, 125)
            xb, cb, yb = x[band], col[band], sy[band]
            xt = np.maximum(np.gradient(xb, axis=1) / DTH, 20.0)
            cs, ysm = cb.copy(), yb.copy()
            for _ in range(3):
                dx, dy = self.smile_field(xb + (cs - cb) * xt * DTH, ysm)
                cs, ysm = cb - dx / xt / DTH, yb - dy
            sc[band], sy[band] = cs, ysm
        return sc, ((sy - Y0) / DY).astype(np.float32), gap


def _band(y0: float, y1: float) -> slice:
    """Rows of the window (``ROWS``) with ``y0 <= y < y1``."""
    lo = int(np.searchsorted(YS[ROWS], y0))
    return slice(lo, int(np.searchsorted(YS[ROWS], y1)))


def apply(warp: Warp, radius: np.ndarray, alb: np.ndarray, sexp: np.ndarray, label: np.ndarray,
          jaw_row: np.ndarray) -> None:
    """Warp the window of the maps in place, open the mouth, add smile and brow creases.

    ``alb`` is ``(NY, NT, 4)``: albedo and specular strength; ``sexp`` the specular exponent.
    """
    if warp.smile == 0 and warp.brow == 0 and warp.drop == 0:
        return
    sc, sr, gap = warp.source(jaw_row)
    remap: dict[str, Any] = {"interpolation": cv2.INTER_LINEAR,
                             "borderMode": cv2.BORDER_REPLICATE}
    rad: np.ndarray = cv2.remap(radius, sc, sr, **remap)
    rgbs: np.ndarray = cv2.remap(alb, sc, sr, **remap)
    sx = cv2.remap(sexp, sc, sr, **remap)
    lab = cv2.remap(label, sc, sr, cv2.INTER_NEAREST, borderMode=cv2.BORDER_REPLICATE)
    dz = warp.dz
    if warp.smile > 0:
        band = _band(0, 125)
        x = warp.xmap[ROWS, COLS][band]
        y = YS[ROWS][band][:, None]
        for k in (-1.0, 1.0):  # the cheeks bunch up (deepening the nasolabial folds)
            rad[band] += 2.5 * warp.smile * np.exp(-((x - k * 39) / 14) ** 2 - ((y - 30) / 12) ** 2)
    if warp.brow > 0:
        band = _band(-80, -20)
        x = warp.xmap[ROWS, COLS][band]
        y = YS[ROWS][band][:, None]
        fore = smoothstep(-28, -38, y) * smoothstep(-75, -60, y)
        fore = fore * (1 - smoothstep(30, 50, np.abs(x)))
        lines = np.clip(np.sin((y + 0.004 * x * x) * 2 * np.pi / 9.0), 0, 1) ** 3 * fore
        rad[band] -= 0.25 * warp.brow * lines
        rgbs[band, :, :3] *= 1 - 0.03 * warp.brow * lines[..., None]
    m = gap >= 0
    if m.any():
        x = warp.xmap[ROWS, COLS]
        s = gap[m]
        xm = x[m]
        hw = dz.mouth_half + 4.5 * warp.smile
        # Recess the mouth: upper teeth just behind the lip, the dark inside behind them.
        depth = 3.5 + 11 * smoothstep(0.22, 0.5, s) * (1 - 0.4 * smoothstep(0.75, 1.0, s))
        rad[m] -= depth
        teeth = (s < 0.3 + 0.04 * np.cos(xm / hw * 2)) & (np.abs(xm) < 0.8 * hw)
        seams = np.min(np.abs(np.abs(xm)[:, None] - np.array([[0, 8.5, 15, 21.5]], np.float32)),
                       axis=1)
        gaps = 0.55 + 0.45 * smoothstep(0.0, 0.6, seams)  # dark seams between the teeth
        tooth = np.array([0.86, 0.83, 0.76], np.float32) * gaps[:, None]
        inside = np.array([0.30, 0.10, 0.09], np.float32) * (1 - 0.65 * np.sin(np.pi * s))[:, None]
        tongue = np.array([0.62, 0.30, 0.30], np.float32) * smoothstep(0.6, 0.95, s)[:, None] * 0.6
        col = np.where(teeth[:, None], tooth, inside + tongue)
        rgbs[m, :3] = col
        rgbs[m, 3] = np.where(teeth, 0.35, 0.12)
        sx[m] = np.where(teeth, 40.0, 20.0)
        lab[m] = FACE
    radius[ROWS, COLS] = rad
    alb[ROWS, COLS] = rgbs
    sexp[ROWS, COLS] = sx
    label[ROWS, COLS] = lab
