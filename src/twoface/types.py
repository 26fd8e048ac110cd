"""Domain types shared by every package, and the names of choices, declared once.

Conventions: images are ``H×W×3`` ``uint8`` RGB numpy arrays; points are ``(x, y)`` in pixels
with the origin at the top-left corner of the top-left pixel's centre (OpenCV's convention).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

Image = np.ndarray
"""``H×W×3`` uint8 RGB."""

DetectorName = Literal["hog", "cnn"]
BlendName = Literal["feather", "seamless"]
ColorMatchName = Literal["rct", "hist", "none"]
OneShotEngine = Literal["motion", "warp"]  # the one-shot swap: motion model or landmark warp

# Index ranges of the 68-point (iBUG 300-W) landmark scheme.
JAW = slice(0, 17)
BROW_R = slice(17, 22)  # the subject's right brow: left in the image
BROW_L = slice(22, 27)
NOSE_BRIDGE = slice(27, 31)
NOSE_LOWER = slice(31, 36)
EYE_R = slice(36, 42)
EYE_L = slice(42, 48)
MOUTH_OUTER = slice(48, 60)
MOUTH_INNER = slice(60, 68)


@dataclass(frozen=True)
class BBox:
    """An axis-aligned box ``[x0, x1) × [y0, y1)`` in pixels."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def center(self) -> tuple[float, float]:
        return ((self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2)

    @property
    def area(self) -> float:
        return max(0.0, self.width) * max(0.0, self.height)

    def iou(self, other: BBox) -> float:
        ix = max(0.0, min(self.x1, other.x1) - max(self.x0, other.x0))
        iy = max(0.0, min(self.y1, other.y1) - max(self.y0, other.y0))
        inter = ix * iy
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    def scaled(self, factor: float) -> BBox:
        """The box grown (or shrunk) by ``factor`` about its centre."""
        cx, cy = self.center
        hw, hh = self.width * factor / 2, self.height * factor / 2
        return BBox(cx - hw, cy - hh, cx + hw, cy + hh)

    def as_list(self) -> list[float]:
        return [float(self.x0), float(self.y0), float(self.x1), float(self.y1)]

    @staticmethod
    def from_points(points: np.ndarray) -> BBox:
        lo, hi = points.min(axis=0), points.max(axis=0)
        return BBox(float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))


@dataclass(frozen=True)
class VideoFrame:
    """One decoded frame: its index in decode order, its presentation time, the RGB image."""

    index: int
    time: float
    image: Image


@dataclass(frozen=True)
class Pose:
    """Head pose in degrees: yaw (left/right), pitch (up/down), roll (in-plane)."""

    yaw: float
    pitch: float
    roll: float


@dataclass
class Face:
    """One face found in one frame."""

    bbox: BBox
    score: float = 0.0
    landmarks: np.ndarray | None = None  # (68, 2) float32, frame pixels
    embedding: np.ndarray | None = None  # (128,) float32, dlib identity space
    track_id: int = -1
    frame_index: int = 0
    time: float = 0.0
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class AlignedFace:
    """A face warped to the canonical frame.

    ``matrix`` is the 2×3 similarity transform that maps frame pixels to crop pixels;
    ``size`` the crop's side and ``coverage`` how much of the face template it spans.
    """

    image: Image
    matrix: np.ndarray
    size: int
    coverage: float

    @property
    def inverse(self) -> np.ndarray:
        """The 2×3 transform that maps crop pixels back to frame pixels."""
        m = np.vstack([self.matrix, [0.0, 0.0, 1.0]])
        return np.linalg.inv(m)[:2]
