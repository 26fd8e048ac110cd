"""Hair on the synthetic head (private to :mod:`twoface.synth`): where it grows, how much volume
it adds to the head's radius, and its strand and clump textures, on the texel grid of
:mod:`twoface.synth.grid`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

from twoface.synth.grid import CLOTH, NT, NY, THETA, YS, smoothstep, value_noise

if TYPE_CHECKING:
    from twoface.synth.identity import Identity


def add_hair(idn: Identity, radius: np.ndarray, label: np.ndarray, xmap: np.ndarray,
             rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Hair coverage and volume: ``(radius with hair, coverage 0..1, strands, clumps)``.

    Hair grows above the frontal hairline; at the sides above the ears, in front of them as
    sideburns and behind them down to the nape; long hair also falls past the ears. Edges
    wander like real hairlines; strands are fine ridges running down the head, in clumps.
    """
    fw, fl = idn.face_width, idn.face_length
    th, y = THETA[None, :], YS[:, None]
    c = np.cos(th)
    wn = rng.standard_normal((NY, NT)).astype(np.float32)
    fine = cv2.GaussianBlur(wn, (0, 0), sigmaX=1.0, sigmaY=4.0)
    jitter = 1.2 * fine / (fine.std() + 1e-6) + 1.5 * value_noise(rng, (NY, NT), 25)
    hl0 = -(60 + 22 * idn.hairline) * (1 + 0.4 * (fl - 1))
    ax = np.abs(xmap)
    y_hl = hl0 + 9 * (np.minimum(ax, 45) / 45) ** 2 + 2.3 * np.maximum(ax - 45, 0)  # temples
    front_hair = smoothstep(y_hl + 4.0, y_hl - 3.0, y + jitter) * (c > 0)
    ath = np.degrees(np.abs(th)) + 0.6 * jitter
    sb = 5 * fl + 12 * idn.hair_volume  # sideburn length
    ear_top = -4 + 6 * idn.hair_volume
    side = ((ath > 84) & (ath < 90) & (y < sb)) | ((ath >= 88) & (y < ear_top)) | (
        (ath > 113) & (y < 46 * fl))
    side_hair = cv2.GaussianBlur(side.astype(np.float32), (0, 0), 1.2)
    hair = np.maximum(front_hair, side_hair)
    hair = np.maximum(hair, (y < -60) * (c <= 0))  # crown and back of the skull
    # Hair lies flat at its edges and gains volume over a couple of centimetres; lumpy.
    thick = (3 + 16 * idn.hair_volume) * (1 + 0.35 * smoothstep(-40, -110, y))
    thick = thick * (1 + 0.2 * value_noise(rng, (NY, NT), 40))
    grow = np.clip(cv2.GaussianBlur(hair.astype(np.float32), (0, 0), sigmaX=22, sigmaY=25)
                   * 2 - 1, 0, 1)
    radius = radius + thick * grow ** 0.8 * (label != CLOTH)

    # Long hair falls from the widest part of the skull past the ears, rounding toward the
    # face; its ends are uneven.
    if idn.hair_length > 0.35:
        ends = 30 + 160 * (idn.hair_length - 0.35) / 0.65 + 10 * value_noise(rng, (1, NT), 12)
        ends = ends - 25 * (1 - smoothstep(np.radians(75), np.radians(130), np.abs(th)))
        rc = (74.5 * fw + thick + 3) * (1 - 0.07 * smoothstep(ends - 30, ends, y))
        wrap = smoothstep(np.radians(68 + 3 * jitter[:1]), np.radians(110), np.abs(th))
        fall = smoothstep(-45, -25, y) * smoothstep(ends, ends - 12, y)
        rcur = radius + (rc - radius) * wrap * fall
        over = rcur > radius + 0.5
        radius = np.where(over, rcur, radius)
        hair = np.maximum(hair, over.astype(np.float32))
    strands: np.ndarray = cv2.GaussianBlur(wn, (0, 0), sigmaX=0.8, sigmaY=9)
    strands /= strands.std() + 1e-6
    clumps: np.ndarray = cv2.GaussianBlur(wn, (0, 0), sigmaX=3.5, sigmaY=25)
    clumps /= clumps.std() + 1e-6
    radius = radius + (0.3 * strands + 0.5 * clumps) * np.clip(hair * 2 - 1, 0, 1)
    return radius, hair, strands, clumps
