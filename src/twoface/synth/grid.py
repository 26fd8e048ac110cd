"""The texel grid and the design canvas of the synthetic head (private to :mod:`twoface.synth`),
with the small numeric helpers every part of the renderer uses.

See :mod:`twoface.synth.head` for the coordinates: ``θ`` the azimuth (columns), ``y`` the
height in millimetres (rows), and the frontal design canvas in millimetres.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

# The texel grid: azimuth θ (columns) and height y (rows). 0.36° is 0.6 mm on a 95 mm radius,
# about one pixel of the 2× supersampled 256 render; beyond ±160° (the back of the head) is
# never seen for the poses we render and is clamped.
NT, NY = 888, 620
TH0, DTH = math.radians(-160.0), math.radians(320.0) / (NT - 1)
Y0, DY = -135.0, 0.6
THETA = (TH0 + DTH * np.arange(NT)).astype(np.float32)
YS = (Y0 + DY * np.arange(NY)).astype(np.float32)

# The frontal design canvas (features are drawn and bumps shaped here): x from CX0, y from CY0.
CX0, CY0, CRES = -100.0, -100.0, 0.4
CW, CH = 500, 600

# Texel labels.
BACKGROUND, FACE, HAIR, SKIN, CLOTH = 0, 1, 2, 3, 4


def smoothstep(e0: float | np.ndarray, e1: float | np.ndarray, x: np.ndarray) -> np.ndarray:
    """Hermite step from 0 at ``e0`` to 1 at ``e1`` (``e0 > e1`` gives a falling step)."""
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def canvas_grid() -> tuple[np.ndarray, np.ndarray]:
    """Frontal-mm coordinates ``(X, Y)`` of the design canvas pixels, each ``(CH, CW)``."""
    xs = (CX0 + CRES * np.arange(CW)).astype(np.float32)
    ys = (CY0 + CRES * np.arange(CH)).astype(np.float32)
    return np.meshgrid(xs, ys)


def value_noise(rng: np.random.Generator, shape: tuple[int, int], cell: float) -> np.ndarray:
    """Smooth value noise in about ±1 with features ``cell`` texels across."""
    h, w = max(2, int(shape[0] / cell) + 2), max(2, int(shape[1] / cell) + 2)
    small = rng.standard_normal((h, w)).astype(np.float32)
    return cv2.resize(small, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)
