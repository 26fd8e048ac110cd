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


def gradient_energy(image: np.ndarray, mask: np.ndarray) -> float:
    """Mean gradient magnitude (3×3 Sobel on the luma, 0-255 scale) where ``mask`` is set.

    Fine detail (pores, lashes, hair, the edges of lips and eyes) is where the gradient is
    high; a blurred or upsampled face loses it, whatever its colours. NaN for an empty mask.
    """
    keep = mask > 0.5
    if not keep.any():
        return float("nan")
    gray = image.astype(np.float32)
    if gray.ndim == 3:
        gray = gray @ np.array([0.299, 0.587, 0.114], np.float32)
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
    return float(np.sqrt(gx * gx + gy * gy)[keep].mean())


def sharpness_ratio(result: np.ndarray, reference: np.ndarray, mask: np.ndarray) -> float:
    """``gradient_energy(result) / gradient_energy(reference)`` inside ``mask``: 1.0 is as
    sharp as the reference, a Gaussian blur of sigma 2 px gives about 0.3-0.5. NaN when the
    reference is flat or the mask empty."""
    ys, xs = np.nonzero(mask > 0.5)
    if not len(ys):
        return float("nan")
    box = (slice(max(0, ys.min() - 2), ys.max() + 3), slice(max(0, xs.min() - 2), xs.max() + 3))
    result, reference, mask = result[box], reference[box], mask[box]  # the gradient near it
    ref = gradient_energy(reference, mask)
    if not np.isfinite(ref) or ref < 1e-6:
        return float("nan")
    return gradient_energy(result, mask) / ref
