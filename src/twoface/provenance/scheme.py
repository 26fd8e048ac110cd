"""What a watermark scheme is: the :class:`WatermarkScheme` protocol, the :class:`Detection`
it answers with, and the pixel helpers every scheme shares."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from twoface.provenance.payload import WatermarkPayload
from twoface.types import Image


@dataclass
class Detection:
    """A watermark decoder's answer for one image or one video."""

    detected: bool
    payload: WatermarkPayload | None = None
    confidence: float = 0.0
    bit_errors: int | None = None
    sync: float = 0.0  # carrier-energy peak over all shifts, in standard deviations
    scale: float = 1.0
    frames: int = 1
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"detected": self.detected,
                "payload": self.payload.to_dict() if self.payload else None,
                "confidence": round(self.confidence, 3),
                "bit_errors": self.bit_errors, "sync": round(self.sync, 2),
                "scale": round(self.scale, 3), "frames": self.frames}


class WatermarkScheme(Protocol):
    """What every watermark scheme offers (the built-in ones are listed in
    :mod:`twoface.provenance.watermark`)."""

    name: str

    def embed(self, img: Image, payload: WatermarkPayload, state: dict | None = None) -> Image:
        """``img`` (H×W×3 uint8 RGB) with the payload embedded, same shape and dtype; video
        writers pass one ``state`` dict for all frames of a video (schemes may keep temporal
        state there)."""
        ...

    def detect(self, img: Image) -> Detection:
        """Look for a payload in one image."""
        ...

    def detect_frames(self, frames: Iterable[Image]) -> Detection:
        """Look for one payload carried by every frame of a video (a vote across frames)."""
        ...


def luminance(img: Image) -> np.ndarray:
    """BT.601 luma of an RGB uint8 image as float32."""
    rgb = img.astype(np.float32)
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def check_image(img: Image) -> None:
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ValueError(f"expected H×W×3 uint8 RGB, got {img.shape} {img.dtype}")
