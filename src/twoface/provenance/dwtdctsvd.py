"""The classic DWT-DCT-SVD watermark, kept as a registered baseline (``"dwtdctsvd"``).

Where the default scheme started: luminance → one-level Haar DWT → the LL band cut into 4×4
blocks → 2-D DCT of each block → SVD; each block's largest singular value is quantised
(QIM, step ``STEP``) to an even or odd multiple for a 0 or a 1. The 127 channel bits repeat
across the blocks and are read by a soft majority vote, then BCH-decoded like the default.

The luminance is first resampled to a fixed working size (shorter side ``WORK``), so any uniform
resize is undone. What it cannot survive is a crop: the block grid is anchored to the image's
corner, and a crop of a few pixels shifts every block. That is why the default ``"tiled"``
scheme searches shifts and scales instead (compare the two in BENCHMARKS.md).
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np
import pywt

from twoface.provenance import bch
from twoface.provenance.payload import CODE_BITS, WatermarkPayload, decode_payload, encode_payload
from twoface.provenance.scheme import Detection, luminance
from twoface.types import Image

WORK = 256  # working shorter side (pixels); LL is half that
BLOCK = 4
STEP = 34.0  # QIM step on the largest singular value of a 4×4 DCT block of LL


def _dct_matrix(n: int) -> np.ndarray:
    k = np.arange(n)[:, None]
    m = np.cos(np.pi * (2 * np.arange(n)[None, :] + 1) * k / (2 * n)) * np.sqrt(2 / n)
    m[0] /= np.sqrt(2)
    return m  # orthonormal DCT-II: coefficients = M @ block @ M.T


_D = _dct_matrix(BLOCK)


class DwtDctSvdScheme:
    """Block DWT-DCT-SVD with QIM; resize-tolerant, not crop-tolerant (a baseline)."""

    name = "dwtdctsvd"

    @staticmethod
    def _work(img: Image) -> np.ndarray:
        """Luminance resampled to the working size (a multiple of 8 each way)."""
        h, w = img.shape[:2]
        f = WORK / min(h, w)
        size = (max(2 * BLOCK, round(w * f)) // 8 * 8, max(2 * BLOCK, round(h * f)) // 8 * 8)
        interp = cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR
        return cv2.resize(luminance(img), size, interpolation=interp)

    @staticmethod
    def _blocks(ll: np.ndarray) -> np.ndarray:
        """LL → (rows, cols, 4, 4) DCT blocks."""
        h, w = ll.shape
        b = ll.reshape(h // BLOCK, BLOCK, w // BLOCK, BLOCK).transpose(0, 2, 1, 3)
        return _D @ b @ _D.T

    def embed(self, img: Image, payload: WatermarkPayload, state: dict | None = None) -> Image:
        y = self._work(img)
        ll, detail = pywt.dwt2(y, "haar")
        coeffs = self._blocks(ll)
        u, s, vt = np.linalg.svd(coeffs)
        bits = np.resize(encode_payload(payload), s.shape[:2])  # bits repeat over the blocks
        x = s[..., 0] / STEP
        q = np.floor(x)
        wrong = q.astype(np.int64) % 2 != bits
        # Wrong parity: step to the nearer neighbouring cell (down only if that stays ≥ 0).
        down = wrong & (x - q < 0.5) & (q >= 1)
        q = q + wrong - 2 * down
        s[..., 0] = (q + 0.5) * STEP
        marked = u @ (s[..., None] * vt)
        blocks = _D.T @ marked @ _D
        rows, cols = blocks.shape[:2]
        ll2 = blocks.transpose(0, 2, 1, 3).reshape(rows * BLOCK, cols * BLOCK)
        delta_work = pywt.idwt2((ll2, detail), "haar") - y
        h, w = img.shape[:2]
        delta = cv2.resize(delta_work.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
        return np.clip(np.rint(img.astype(np.float32) + delta[..., None]), 0, 255).astype(np.uint8)

    def _soft(self, img: Image) -> np.ndarray:
        """Per-bit votes in [-1, 1] (positive means 1), averaged over the bit's blocks."""
        y = self._work(img)
        ll, _ = pywt.dwt2(y, "haar")
        s = np.linalg.svd(self._blocks(ll), compute_uv=False)[..., 0].ravel()
        # Position of s within its QIM cell: cos(π·s/STEP) is -1 at even centres, +1 at odd.
        votes = -np.cos(np.pi * (s / STEP - 0.5))
        idx = np.arange(votes.size) % CODE_BITS
        return np.bincount(idx, votes, CODE_BITS) / np.maximum(np.bincount(idx, None, CODE_BITS), 1)

    def _decode(self, soft: np.ndarray, frames: int) -> Detection:
        result = decode_payload((soft > 0).astype(np.uint8))
        if result is None:
            return Detection(False, frames=frames, extra={"soft": soft})
        payload, errors = result
        return Detection(True, payload, confidence=1.0 - errors / (bch.T + 1), bit_errors=errors,
                         frames=frames, extra={"soft": soft})

    def detect(self, img: Image) -> Detection:
        return self._decode(self._soft(img), 1)

    def detect_frames(self, frames: Iterable[Image]) -> Detection:
        softs = [self._soft(f) for f in frames]
        if not softs:
            return Detection(False, frames=0)
        return self._decode(np.mean(softs, axis=0), len(softs))

