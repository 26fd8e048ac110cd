"""Picture measures inside a mask: PSNR and sharpness.

Pure maths on arrays (no faces, no files), used by the swap evaluation.
"""

from __future__ import annotations

import math

import cv2
import numpy as np


def psnr_outside(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    """PSNR (dB) of ``a`` vs ``b`` over pixels where ``mask`` < 0.5; 100 when identical."""
    keep = mask < 0.5
    if not keep.any():
        return float("nan")
    mse = float(((a.astype(np.float32) - b.astype(np.float32))[keep] ** 2).mean())
    return 100.0 if mse < 1e-10 else 10 * math.log10(255.0**2 / mse)


def _luma(image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The boolean mask and the image's luma (float32, 0-255)."""
    gray = image.astype(np.float32)
    if gray.ndim == 3:
        gray = gray @ np.array([0.299, 0.587, 0.114], np.float32)
    return mask > 0.5, gray


def gradient_energy(image: np.ndarray, mask: np.ndarray) -> float:
    """Mean gradient magnitude (3×3 Sobel on the luma, 0-255 scale) where ``mask`` is set.

    Fine detail (pores, lashes, hair, the edges of lips and eyes) is where the gradient is
    high; a blurred or upsampled face loses it, whatever its colours. NaN for an empty mask.
    """
    keep, gray = _luma(image, mask)
    if not keep.any():
        return float("nan")
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
    return float(np.sqrt(gx * gx + gy * gy)[keep].mean())


def detail_energy(image: np.ndarray, mask: np.ndarray, sigma: float = 1.0) -> float:
    """RMS of the finest detail (the luma minus its Gaussian blur of ``sigma`` px, 0-255
    scale) where ``mask`` is set: pores, lashes, hair strands and the rims of eyes and lips.
    Unlike the gradient magnitude it is not carried by a few strong edges (a dark eyebrow on
    light skin), so a soft face with bold features does not pass for a sharp one. NaN for an
    empty mask."""
    keep, gray = _luma(image, mask)
    if not keep.any():
        return float("nan")
    fine = gray - cv2.GaussianBlur(gray, (0, 0), sigma)
    return float(np.sqrt((fine[keep] ** 2).mean()))


def sharpness_ratio(result: np.ndarray, reference: np.ndarray, mask: np.ndarray) -> float:
    """``detail_energy(result) / detail_energy(reference)`` inside ``mask``: 1.0 is as much
    fine detail as the reference; a Gaussian blur of sigma 2 px gives about 0.2, a 64 px face
    upsampled into a 250 px one far below 0.5. NaN when the reference is flat or the mask
    empty. (Until 2026-12-06 this was the gradient-magnitude ratio, which rated a visibly soft
    swap with bolder eyebrows than the source at 0.84.)"""
    ys, xs = np.nonzero(mask > 0.5)
    if not len(ys):
        return float("nan")
    box = (slice(max(0, ys.min() - 4), ys.max() + 5), slice(max(0, xs.min() - 4), xs.max() + 5))
    result, reference, mask = result[box], reference[box], mask[box]  # the detail near it
    ref = detail_energy(reference, mask)
    if not np.isfinite(ref) or ref < 1e-6:
        return float("nan")
    return detail_energy(result, mask) / ref
