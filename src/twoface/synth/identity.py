"""Who a synthetic person is and how they are shown: :class:`Identity` (shape, colours, hair),
:class:`Expression` and :class:`Light`, with the palettes they draw from."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np


def _triple(values: Iterable[float]) -> tuple[float, float, float]:
    """Three numbers (a colour) as a tuple of plain floats."""
    r, g, b = (float(v) for v in values)
    return r, g, b


def _rgb(rng: np.random.Generator, palette: list[tuple[float, float, float]],
         jitter: float) -> tuple[float, float, float]:
    base = np.asarray(palette[rng.integers(len(palette))], float)
    return _triple(np.clip(base * rng.uniform(1 - jitter, 1 + jitter, 3), 0, 1))


_SKIN = [(0.96, 0.80, 0.70), (0.90, 0.71, 0.58), (0.80, 0.58, 0.44), (0.64, 0.44, 0.31),
         (0.44, 0.28, 0.19), (0.30, 0.19, 0.13)]
_HAIR = [(0.06, 0.05, 0.05), (0.16, 0.10, 0.07), (0.30, 0.19, 0.11), (0.48, 0.33, 0.19),
         (0.72, 0.58, 0.36), (0.52, 0.22, 0.10), (0.55, 0.54, 0.52)]
_IRIS = [(0.30, 0.17, 0.08), (0.18, 0.10, 0.05), (0.42, 0.33, 0.16), (0.30, 0.40, 0.26),
         (0.32, 0.45, 0.62), (0.44, 0.50, 0.55)]


@dataclass(frozen=True)
class Identity:
    """What makes one synthetic person (frozen; use :meth:`random` for a plausible one).

    Shape factors scale an average adult head and are 1 on average (``random`` draws about
    ±5–20 %): the face's width and length below the eyes, the jaw's width at its angles,
    the chin's width and length, eye size and spacing, nose length and width, mouth width
    and lip thickness. ``brow_arch``, ``hairline`` (low … receding), ``hair_volume``,
    ``hair_length`` (cropped … past the shoulders) and ``stubble`` run 0..1. Colours are
    sRGB in 0..1. ``seed`` seeds the skin, hair and brow textures.
    """

    seed: int = 0  # seeds the skin, hair and brow texture
    face_width: float = 1.0
    face_length: float = 1.0
    jaw_width: float = 1.0
    chin_width: float = 1.0
    chin_length: float = 1.0
    skin_color: tuple[float, float, float] = (0.86, 0.67, 0.55)
    eye_size: float = 1.0
    eye_spacing: float = 1.0
    iris_color: tuple[float, float, float] = (0.30, 0.17, 0.08)
    brow_thickness: float = 1.0
    brow_color: tuple[float, float, float] = (0.14, 0.09, 0.06)
    brow_arch: float = 0.5
    nose_length: float = 1.0
    nose_width: float = 1.0
    mouth_width: float = 1.0
    lip_thickness: float = 1.0
    lip_color: tuple[float, float, float] = (0.72, 0.40, 0.38)
    hair_color: tuple[float, float, float] = (0.16, 0.10, 0.07)
    hairline: float = 0.4  # 0 low … 1 high (receding)
    hair_volume: float = 0.5
    hair_length: float = 0.2  # 0 cropped … 1 past the shoulders
    stubble: float = 0.0
    shirt_color: tuple[float, float, float] = (0.25, 0.32, 0.45)

    def __post_init__(self) -> None:
        # Colours given as lists or arrays become tuples: identities are cache keys.
        for name in ("skin_color", "iris_color", "brow_color", "lip_color", "hair_color",
                     "shirt_color"):
            object.__setattr__(self, name, tuple(float(v) for v in getattr(self, name)))

    @staticmethod
    def random(seed: int) -> Identity:
        """A random identity; the same seed always gives the same person."""
        rng = np.random.default_rng([seed, 1])
        u = rng.uniform
        tone = u(0, len(_SKIN) - 1)
        i = min(int(tone), len(_SKIN) - 2)
        skin = np.asarray(_SKIN[i]) * (i + 1 - tone) + np.asarray(_SKIN[i + 1]) * (tone - i)
        skin = np.clip(skin * u(0.95, 1.05, 3), 0, 1)
        hair = _rgb(rng, _HAIR if tone < 2.5 else _HAIR[:3], 0.12)
        lip = np.clip(0.7 * skin * [0.98, 0.66, 0.66] + 0.3 * np.asarray([0.66, 0.30, 0.32])
                      * (0.65 + 0.35 * skin.mean() / 0.7) * u(0.9, 1.1), 0, 1)
        long_hair = rng.random() < 0.45
        return Identity(
            seed=seed, face_width=u(0.93, 1.07), face_length=u(0.93, 1.07),
            jaw_width=u(0.88, 1.12), chin_width=u(0.8, 1.2), chin_length=u(0.88, 1.12),
            skin_color=_triple(skin),
            eye_size=u(0.9, 1.1), eye_spacing=u(0.95, 1.05), iris_color=_rgb(rng, _IRIS, 0.1),
            brow_thickness=u(0.65, 1.35), brow_color=_triple(v * u(0.55, 0.9) for v in hair),
            brow_arch=u(0, 1), nose_length=u(0.9, 1.1), nose_width=u(0.88, 1.18),
            mouth_width=u(0.9, 1.1), lip_thickness=u(0.8, 1.2),
            lip_color=_triple(lip), hair_color=hair,
            hairline=u(0, 1), hair_volume=u(0.1, 1.0),
            hair_length=u(0.5, 1.0) if long_hair else u(0.0, 0.3),
            stubble=u(0.2, 0.8) if (not long_hair and rng.random() < 0.4) else 0.0,
            shirt_color=_triple(u(0.1, 0.8, 3)))


@dataclass(frozen=True)
class Expression:
    """Facial expression, each in 0..1; ``gaze`` shifts the irises (x, y in −1..1)."""

    mouth_open: float = 0.0
    smile: float = 0.0
    brow_raise: float = 0.0
    blink: float = 0.0
    gaze: tuple[float, float] = (0.0, 0.0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "gaze", tuple(float(v) for v in self.gaze))

    @staticmethod
    def random(seed: int) -> Expression:
        """A random everyday expression (eyes mostly open)."""
        rng = np.random.default_rng([seed, 2])
        return Expression(mouth_open=float(rng.uniform(0, 1) ** 2), smile=float(rng.uniform(0, 1)),
                          brow_raise=float(rng.uniform(0, 1) ** 2),
                          blink=float(rng.uniform(0, 1) ** 4),
                          gaze=(float(rng.uniform(-0.6, 0.6)), float(rng.uniform(-0.4, 0.4))))


@dataclass(frozen=True)
class Light:
    """A key light (``direction`` toward the light, camera frame: x right, y down, z to the
    camera), the ambient share, the key's colour temperature in kelvin and whether it casts
    shadows."""

    direction: tuple[float, float, float] = (-0.35, -0.45, 0.82)
    ambient: float = 0.42
    temperature: float = 5500.0
    shadows: bool = True

    @staticmethod
    def random(seed: int) -> Light:
        """A plausible portrait light: from the front half, above more often than below."""
        rng = np.random.default_rng([seed, 3])
        az, el = rng.uniform(-40, 40), rng.uniform(-5, 40)
        d = (-math.sin(math.radians(az)) * math.cos(math.radians(el)), -math.sin(math.radians(el)),
             math.cos(math.radians(az)) * math.cos(math.radians(el)))
        return Light(direction=d, ambient=float(rng.uniform(0.35, 0.6)),
                     temperature=float(rng.uniform(3500, 7500)))
