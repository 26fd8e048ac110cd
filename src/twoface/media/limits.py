"""Size limits checked from a file's header, before any pixel is decoded.

A 190 KB H.264 file can declare 8000×8000 frames; decoding even one costs hundreds of MB and
scanning a few takes minutes. Every reader refuses frames over the pixel cap before decoding:
``TWOFACE_MAX_PIXELS`` in the environment, or 4096 × 4096 (4K UHD and DCI fit).
"""

from __future__ import annotations

import os
from pathlib import Path

from twoface.errors import MediaError

ENV_MAX_PIXELS = "TWOFACE_MAX_PIXELS"
DEFAULT_MAX_PIXELS = 4096 * 4096


def max_pixels() -> int:
    """The pixel cap per frame or image: ``$TWOFACE_MAX_PIXELS`` or :data:`DEFAULT_MAX_PIXELS`."""
    raw = os.environ.get(ENV_MAX_PIXELS, "").strip()
    if not raw:
        return DEFAULT_MAX_PIXELS
    try:
        value = int(float(raw))
    except ValueError:
        raise MediaError(None, f"{ENV_MAX_PIXELS}={raw!r} is not a number of pixels") from None
    if value < 64:
        raise MediaError(None, f"{ENV_MAX_PIXELS}={raw!r} is too small (at least 64)")
    return value


def check_frame_size(path: Path, width: int, height: int, what: str = "frames") -> None:
    """Refuse ``width × height`` over the cap, naming the file (0 means unknown: allowed)."""
    cap = max_pixels()
    if width > 0 and height > 0 and width * height > cap:
        raise MediaError(path, f"{what} are {width}×{height} px ({width * height / 1e6:.1f} MP), "
                         f"over the {cap / 1e6:.1f} MP limit (set {ENV_MAX_PIXELS} to raise it)")
