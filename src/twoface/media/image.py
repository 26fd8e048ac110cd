"""Read and write still images with Pillow, always as ``H×W×3`` uint8 RGB.

Reading normalises what cameras and editors produce: the EXIF orientation is applied (a
portrait phone photo reads upright), and grayscale, palette, CMYK, 16-bit and alpha images
all become plain 8-bit RGB. Alpha is composited over *white*: transparent regions of
cut-outs and logos are meant to be seen on a light page, and black would read as a dark
object to a face detector.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from twoface.errors import MediaError
from twoface.fileio import atomic_path
from twoface.media.limits import check_frame_size

__all__ = ["MIN_SIDE", "check_image", "read_image", "write_image"]

MIN_SIDE = 8
"""Images with a side shorter than this (px) cannot hold a face and are refused."""

# Pillow's format names by suffix, for the files twoface writes.
_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".bmp": "BMP",
            ".tif": "TIFF", ".tiff": "TIFF"}
# What Pillow raises for files it cannot parse (truncated data is an OSError from load()).
_PIL_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError,
               Image.DecompressionBombError)


def _existing_file(path: str | Path) -> Path:
    """``path`` as a Path; MediaError if it is missing, a folder or empty."""
    path = Path(path)
    if not path.exists():
        raise MediaError(path, "does not exist")
    if path.is_dir():
        raise MediaError(path, "is a folder, not an image file")
    if path.stat().st_size == 0:
        raise MediaError(path, "empty file")
    return path


def check_image(path: str | Path) -> tuple[int, int]:
    """``(width, height)`` of the image at ``path`` from its header, without decoding it.

    Raises MediaError naming the file for what :func:`read_image` would refuse before
    decoding: a missing, empty or non-image file, and pixels over the cap.
    """
    path = _existing_file(path)
    try:
        with Image.open(path) as img:
            size: tuple[int, int] = img.size
    except UnidentifiedImageError as exc:
        raise MediaError(path, "not an image file (or a format Pillow cannot read)") from exc
    except _PIL_ERRORS as exc:
        raise MediaError(path, "image is truncated or corrupt") from exc
    check_frame_size(path, *size, what="image's pixels")
    return size


def read_image(path: str | Path) -> np.ndarray:
    """Decode ``path`` to an ``H×W×3`` uint8 RGB array, upright.

    Raises MediaError naming the file for a missing, empty, non-image, truncated or too
    small (side < 8 px) file.
    """
    path = _existing_file(path)
    try:
        with Image.open(path) as img:
            check_frame_size(path, *img.size, what="image's pixels")  # header only so far
            # open() only reads the header; load() decodes it all, so a truncated file
            # fails here rather than handing back a half-grey picture.
            img.load()
            rgb = _to_rgb(_upright(img))
    except UnidentifiedImageError as exc:
        raise MediaError(path, "not an image file (or a format Pillow cannot read)") from exc
    except Image.DecompressionBombError as exc:
        raise MediaError(path, "image is too large to decode safely") from exc
    except _PIL_ERRORS as exc:
        raise MediaError(path, "image is truncated or corrupt") from exc
    h, w = rgb.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise MediaError(path, f"image is {w}×{h} px; too small to hold a face")
    return rgb


def write_image(path: str | Path, image: np.ndarray, *, quality: int = 95,
                finish: Callable[[Path], None] | None = None) -> Path:
    """Write an ``H×W×3`` uint8 RGB (or ``H×W`` gray) array; the format follows the suffix.

    PNG, BMP and TIFF are lossless; JPEG and WebP use ``quality`` (1..100; JPEG keeps full
    chroma resolution from 90 up, where colour edges around faces would otherwise smear).
    The write is atomic: a crash leaves the old file or the new one. ``finish`` is called on
    the written temporary file before it takes ``path``'s place (to sign it, so that the file
    never exists unsigned). Returns ``path``.
    """
    path = Path(path)
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise MediaError(path, f"cannot write images as '{path.suffix}'; "
                         f"use one of {', '.join(sorted(_FORMATS))}")
    if not isinstance(image, np.ndarray):
        raise TypeError(f"image must be a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise ValueError(f"image must be uint8, got {image.dtype}")
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
        raise ValueError(f"image must be H×W×3 RGB or H×W gray, got shape {image.shape}")
    if not 1 <= quality <= 100:
        raise ValueError(f"quality must be in 1..100, got {quality}")
    pil = Image.fromarray(np.ascontiguousarray(image))
    options: dict[str, object] = {}
    if fmt == "JPEG":
        options = {"quality": quality, "subsampling": 0 if quality >= 90 else 2}
    elif fmt == "WEBP":
        options = {"quality": quality}
    try:
        with atomic_path(path) as tmp:
            pil.save(tmp, format=fmt, **options)
            if finish is not None:
                finish(tmp)
    except OSError as exc:
        raise MediaError(path, f"cannot write: {exc.strerror or exc}") from exc
    return path


def _upright(img: Image.Image) -> Image.Image:
    """Apply the EXIF orientation tag, if any."""
    try:
        return ImageOps.exif_transpose(img)
    except (SyntaxError, ValueError, TypeError, KeyError, OSError):
        # A mangled EXIF block must not cost the picture: show it as stored.
        return img


def _to_rgb(img: Image.Image) -> np.ndarray:
    """8-bit RGB from any Pillow mode: ``H×W×3`` uint8."""
    mode = img.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        # 16-bit gray (PNG/TIFF): scale 0..65535 down, rather than clip at 255 as
        # Pillow's convert() does. Mode "I" from 16-bit files holds the same range.
        gray = np.asarray(img).astype(np.float64)
        gray = np.clip(np.round(gray / 257.0), 0, 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if mode == "F":
        # Float gray: 0..1 when it fits, else taken as 0..255.
        gray = np.asarray(img, dtype=np.float64)
        scale = 255.0 if np.nanmax(gray) <= 1.0 else 1.0
        gray = np.clip(np.nan_to_num(gray * scale), 0, 255).round().astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        mode in ("P", "L", "RGB") and "transparency" in img.info
    )
    if has_alpha:
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"))
    if mode != "RGB":
        img = img.convert("RGB")  # L, 1, P, CMYK, YCbCr, LAB, HSV
    return np.asarray(img)
