"""Invisible watermarks: a small registry of schemes and the default crop-tolerant one.

The default scheme, ``"tiled"``, is spread spectrum in a low/mid band of the luminance (the band
a 2-level DWT's LL image holds; we resample instead of transforming, which is the same band):

* **Geometry.** The image is seen through a *chip grid* whose shorter side always has ``GRID``
  chips, whatever the pixel size, so any uniform resize (platform downscaling) maps the grid
  onto itself. The grid is covered by a periodic tile of ``TILE × TILE`` chips.
* **Tile.** The 127 BCH channel bits each own ``TILE²//127`` chips at pseudo-random positions
  with pseudo-random ±1 signs (spread spectrum); the chip signs are multiplied by the bit's sign.
  The tile is upsampled smoothly to pixels, shaped by an activity mask (less in flat regions,
  where a pattern of this size shows as a mottle on skin and walls; more in textured ones,
  which hide it), scaled to a fixed RMS (``TARGET_RMS`` grey levels, PSNR ≈ 38.6 dB) and added
  equally to R, G and B, so
  only luminance changes.
* **Informed embedding.** The image itself correlates with each carrier by chance, which is
  most of the noise a plain spread-spectrum decoder sees. The embedder measures that
  correlation with the decoder's own read-out and sets per-bit amplitudes that give every bit
  the same margin at the same power (the idea of improved spread spectrum).
* **Decoding.** Resample to ``_UP`` samples per chip, whiten (high-pass, divide by local
  contrast, which also cancels brightness and contrast changes), then for each candidate scale
  fold the image modulo the tile and cross-correlate the fold with all 127 carriers by FFT. A
  crop is a cyclic shift of the fold, so every offset is tested at once; a crop also rescales
  the grid (by the kept fraction of the shorter side), so scales 0.70–1.04 are searched. The
  sync statistic is the carrier energy (sum of squared correlations: the bits' signs are
  unknown). At the best few (scale, shift) the bits are read by correlation twice (at the
  whole-sample shift and at the best quarter-sample shift) and each read-out is decoded
  Chase-style: the hard bits, then every combination of the 3 least reliable bits flipped.
* **Video.** Every frame carries the same bits in the same place, so the whitened frames of a
  clip are averaged before one search and one decode: a soft vote across frames.

False positives: a detection needs a BCH decode (≤ 10 errors) whose 4-bit tool field names one
of twoface's two payload layouts and whose CRC matches (CRC-16 for layout 1, CRC-8 for the
content-bound layout 2, see :mod:`twoface.provenance.payload`). For an unmarked input the 127
read bits are fair coin flips (the carriers are pseudo-random ±1 patterns, and the codeword is
whitened), so one decoded word is a false positive with probability
``2^64·V(127,10)/2^127 · (2^-16 + 2^-8) · 2^-4 ≈ 6e-9``; an image or video tries
``DECODE_ATTEMPTS × READS × 2^CHASE_BITS = 48`` words, ≈ 3e-7 by the union bound
(:func:`false_positive_rate`), under the 1e-6 budget. The benchmark checks it on thousands of
unmarked frames.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

import cv2
import numpy as np

from twoface.provenance import bch
from twoface.provenance.dwtdctsvd import DwtDctSvdScheme
from twoface.provenance.payload import (
    CODE_BITS,
    WatermarkPayload,
    decode_payload,
    encode_payload,
)
from twoface.provenance.scheme import Detection, WatermarkScheme, check_image, luminance
from twoface.types import Image

GRID = 96  # chips along the shorter side
TILE = 32  # chips per tile side
SEED = 0x7F0CE
TARGET_RMS = 3.0  # luminance change, grey levels RMS (PSNR ≈ 38.6 dB, most of it in texture)
# Scales searched: kept fraction of the shorter side (crops down to 70 %; slight padding).
SCALES = np.arange(0.70, 1.0401, 0.01)
REFINE = (-0.0067, -0.0033, 0.0033, 0.0067)  # finer steps around the best coarse scale
DECODE_ATTEMPTS = 3  # best sync candidates tried; enters the false-positive bound
READS = 2  # bit read-outs per candidate: at the whole-sample shift and the best sub-sample one
CHASE_BITS = 3  # least reliable bits whose flips are tried (2^3 words per read-out)
SUBSHIFTS = (-0.5, -0.25, 0.0, 0.25, 0.5)  # sub-sample shifts tried, in decoder samples
VIDEO_SMOOTHING = 0.8  # EMA of per-bit amplitudes across a video's frames
MASK_POWER = 0.5  # exponent of the activity mask (see embed)
MASK_RANGE = (0.25, 4.0)  # activity relative to the image's mean, clipped to this first
HP_SIGMA = 2.0  # decoder high-pass, in decoder samples (1 chip)
LOCAL_SIGMA = 4.0  # window of the local-contrast normalisation
LOCAL_FLOOR = 1.5  # keeps near-flat regions from being amplified into noise
_UP = 2  # decoder samples per chip: half-chip shift resolution


def _upsample_tile(tile: np.ndarray, up: int) -> np.ndarray:
    """A cyclic tile resampled to ``up`` samples per chip with the embedder's interpolation."""
    p = tile.shape[0]
    tiled = np.tile(tile.astype(np.float32), (3, 3))
    # Output sample j sits at chip coordinate (j + 0.5)/up - 0.5, inside the middle copy.
    off = 0.5 / up - 0.5 + p
    m = np.array([[1 / up, 0, off], [0, 1 / up, off]], np.float32)
    return cv2.warpAffine(tiled, m, (p * up, p * up), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)


def _whiten(y: np.ndarray) -> np.ndarray:
    """High-pass and contrast-normalise a luminance image (the decoder's pre-filter)."""
    hp = y - cv2.GaussianBlur(y, (0, 0), HP_SIGMA)
    local = np.sqrt(cv2.GaussianBlur(hp * hp, (0, 0), LOCAL_SIGMA))
    return hp / (local + LOCAL_FLOOR)


def _whiten_cyclic(tile: np.ndarray) -> np.ndarray:
    p = tile.shape[0]
    hp = np.tile(tile, (3, 3))
    hp = (hp - cv2.GaussianBlur(hp, (0, 0), HP_SIGMA))[p:2 * p, p:2 * p]
    return hp - hp.mean()


def _fold(res: np.ndarray, period: int) -> np.ndarray:
    """Sum an image modulo ``period`` in both axes (zero-padding the ragged edge)."""
    h, w = res.shape
    hp, wp = -(-h // period) * period, -(-w // period) * period
    padded = np.zeros((hp, wp), np.float32)
    padded[:h, :w] = res
    return padded.reshape(hp // period, period, wp // period, period).sum(axis=(0, 2))


class TiledScheme:
    """The default crop- and scale-tolerant spread-spectrum scheme (see the module docstring)."""

    name = "tiled"

    def __init__(self, grid: int = GRID, tile: int = TILE, seed: int = SEED,
                 target_rms: float = TARGET_RMS, informed: bool = True,
                 mask_power: float = MASK_POWER,
                 mask_range: tuple[float, float] = MASK_RANGE) -> None:
        self.grid, self.tile, self.target_rms, self.informed = grid, tile, target_rms, informed
        self.mask_power, self.mask_range = mask_power, mask_range
        rng = np.random.default_rng(seed)
        chips = tile * tile
        if chips < CODE_BITS:
            raise ValueError("tile too small for the codeword")
        self.spread = rng.choice([-1.0, 1.0], size=(tile, tile)).astype(np.float32)
        # Each bit owns chips//127 chips in random positions (interleaving: a local loss hits
        # many bits a little rather than one bit entirely); leftover chips stay unmarked.
        per_bit = chips // CODE_BITS
        order = rng.permutation(chips)
        owner = np.full(chips, -1, np.int64)
        owner[order[:per_bit * CODE_BITS]] = np.repeat(np.arange(CODE_BITS), per_bit)
        self.owner = owner.reshape(tile, tile)

    def _render(self, shape: tuple[int, int], weights: np.ndarray) -> np.ndarray:
        """The chip pattern for per-bit signed amplitudes ``weights`` at pixel size ``shape``."""
        h, w = shape
        gain = np.append(weights, 0.0)[self.owner]  # owner -1 picks the appended 0
        tile = (self.spread * gain).astype(np.float32)
        k = self.grid / min(h, w)  # chips per pixel
        reps_y = int(np.ceil(h * k / self.tile)) + 1
        reps_x = int(np.ceil(w * k / self.tile)) + 1
        # Pixel x (centre convention) sits at chip coordinate (x + 0.5)·k - 0.5.
        m = np.array([[k, 0, 0.5 * k - 0.5], [0, k, 0.5 * k - 0.5]], np.float32)
        return cv2.warpAffine(np.tile(tile, (reps_y, reps_x)), m, (w, h),
                              flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_REFLECT)

    def _soft_identity(self, img: Image) -> np.ndarray:
        """The decoder's soft bits at the embedding geometry (scale 1, no shift)."""
        carriers, _ = _decoder_templates(self)
        return carriers @ _fold(self.residual(img), self.tile * _UP).ravel()

    def embed(self, img: Image, payload: WatermarkPayload, state: dict | None = None) -> Image:
        """Mark one image, or one video frame when ``state`` (one dict per video) is given: the
        per-bit amplitudes are then smoothed over time, because a mark that flickers from frame
        to frame is what inter-frame coding throws away first."""
        check_image(img)
        h, w = img.shape[:2]
        signs = np.where(encode_payload(payload) > 0, 1.0, -1.0)
        y = luminance(img)
        # Activity mask, raised to mask_power > 0: the mark hides in texture. The flat-weighted
        # mask used before (power -0.5, 2.5 grey levels RMS, PSNR 40.2 dB) was plainly visible
        # as a mottle on skin and walls; this one at 3.0 RMS puts about half as much on flat
        # areas and 12 % less on skin-like ones, and survives H.264 about as well
        # (bench/watermark.py).
        sigma = max(1.0, min(h, w) / self.grid)
        hp = y - cv2.GaussianBlur(y, (0, 0), sigma)
        act = np.sqrt(cv2.GaussianBlur(hp * hp, (0, 0), 2 * sigma))
        mask = np.clip(act / (np.mean(act) + 1e-6), *self.mask_range) ** self.mask_power

        def mark(weights: np.ndarray) -> np.ndarray:
            delta = self._render((h, w), signs * weights) * mask
            delta *= self.target_rms / np.sqrt(np.mean(delta * delta) + 1e-12)
            return np.clip(np.rint(img.astype(np.float32) + delta[..., None]), 0, 255)

        out = mark(np.ones(CODE_BITS))
        if self.informed:
            weights = self._informed_weights(img, out.astype(np.uint8), signs)
            if state is not None:
                if "weights" in state:
                    weights = VIDEO_SMOOTHING * state["weights"] + (1 - VIDEO_SMOOTHING) * weights
                state["weights"] = weights
            out = mark(weights)
        return out.astype(np.uint8)

    def _informed_weights(self, img: Image, marked: Image, signs: np.ndarray) -> np.ndarray:
        """Per-bit amplitudes that cancel the host's own projection on each carrier.

        Plain spread spectrum loses most of its margin to the image itself (the host correlates
        with each carrier by chance). Measuring that correlation and the mark's gain per bit,
        we solve for amplitudes giving every bit the same margin at the same total power
        (improved spread spectrum, Malvar & Florêncio's idea, done by measurement).
        """
        host = signs * self._soft_identity(img)
        gain = signs * self._soft_identity(marked) - host
        gain = np.maximum(gain, 0.25 * np.median(gain) + 1e-9)
        lo, hi = 0.3, 3.0

        def weights(margin: float) -> np.ndarray:
            return np.clip((margin - host) / gain, lo, hi)

        # Bisection on the common margin so that the mean power matches the uniform mark's.
        m_lo, m_hi = float(np.min(host)), float(np.max(host + hi * gain))
        for _ in range(40):
            mid = 0.5 * (m_lo + m_hi)
            if np.mean(weights(mid) ** 2) > 1.0:
                m_hi = mid
            else:
                m_lo = mid
        return weights(m_lo)

    # ---- decoding ------------------------------------------------------------------------------
    def residual(self, img: Image) -> np.ndarray:
        """The whitened luminance resampled to ``_UP`` samples per chip (scale 1)."""
        check_image(img)
        h, w = img.shape[:2]
        f = _UP * self.grid / min(h, w)
        size = (max(1, round(w * f)), max(1, round(h * f)))
        interp = cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR
        y = cv2.resize(luminance(img), size, interpolation=interp)
        return _whiten(y)

    def detect(self, img: Image) -> Detection:
        return self.detect_residual(self.residual(img))

    def detect_frames(self, frames: Iterable[Image]) -> Detection:
        total: np.ndarray | None = None
        n = 0
        for frame in frames:
            res = self.residual(frame)
            if total is not None and res.shape != total.shape:
                raise ValueError("all frames of a video must have the same size")
            total = res if total is None else total + res
            n += 1
        if total is None:
            return Detection(False, frames=0)
        det = self.detect_residual(total / n)
        det.frames = n
        return det

    def detect_residual(self, res: np.ndarray) -> Detection:
        """Search scale and shift on a whitened residual, then read and decode the bits."""
        carriers, _ = _decoder_templates(self)
        if min(res.shape) < self.tile * _UP:
            return Detection(False)
        candidates = [self._sync(res, float(scale)) for scale in SCALES]
        top = max(candidates, key=lambda c: c[0])[1]
        candidates += [self._sync(res, top + d) for d in REFINE]
        candidates.sort(key=lambda c: -c[0])
        best_soft = None
        for z, scale, (dy, dx), folded in candidates[:DECODE_ATTEMPTS]:
            aligned = np.roll(folded, (-dy, -dx), axis=(0, 1))
            reads = (lambda: carriers @ aligned.ravel(),  # noqa: B023 (called at once below)
                     lambda: _subsample_read(aligned, carriers))  # noqa: B023
            for read in reads:  # the sub-sample search only when the plain read fails
                soft = read()
                best_soft = soft if best_soft is None else best_soft
                result = _chase_decode(soft)
                if result is not None:
                    payload, errors = result
                    return Detection(True, payload,
                                     confidence=max(0.0, 1.0 - errors / (bch.T + CHASE_BITS + 1)),
                                     bit_errors=errors, sync=z, scale=scale,
                                     extra={"soft": soft})
        return Detection(False, sync=candidates[0][0], scale=candidates[0][1],
                         extra={"soft": best_soft})

    def _sync(self, res: np.ndarray, scale: float
              ) -> tuple[float, float, tuple[int, int], np.ndarray]:
        """Fold ``res`` resampled by ``scale``; the carrier-energy peak's z-score and shift."""
        _, carriers_f = _decoder_templates(self)
        period = self.tile * _UP
        h, w = res.shape
        size = (max(period, round(w * scale)), max(period, round(h * scale)))
        folded = _fold(cv2.resize(res, size, interpolation=cv2.INTER_LINEAR), period)
        # corr[i, dy, dx] = <carrier i, fold shifted by (dy, dx)>; the bits' signs are
        # unknown, so the sync statistic is the energy summed over all carriers.
        corr = np.fft.irfft2(np.fft.rfft2(folded)[None] * carriers_f, s=folded.shape)
        energy = np.einsum("ijk,ijk->jk", corr, corr)
        peak = int(np.argmax(energy))
        z = (energy.flat[peak] - energy.mean()) / (energy.std() + 1e-12)
        dy, dx = divmod(peak, period)
        return float(z), scale, (dy, dx), folded


def false_positive_rate(attempts: int = DECODE_ATTEMPTS) -> float:
    """Upper bound on the chance that an unmarked image or video is reported as marked: each
    of the ``attempts × READS × 2^CHASE_BITS`` words tried must decode, carry one of the two
    known tool fields (1/16 each) and pass that layout's CRC (16 bits for layout 1, 8 for
    layout 2). A union bound: the words are not independent, which only lowers the chance."""
    per_layout = (bch.false_decode_probability(crc_bits=16)
                  + bch.false_decode_probability(crc_bits=8))
    return attempts * READS * (1 << CHASE_BITS) * per_layout / 16


def _subsample_read(aligned: np.ndarray, carriers: np.ndarray) -> np.ndarray:
    """The carrier read-out of a fold at the sub-sample shift (quarter steps, up to half a
    sample each way) with the most carrier energy: a crop or resize rarely lands the grid on
    whole decoder samples, and a fraction of a chip off costs correlation. The fold is cyclic,
    so the shift is an exact phase ramp on its spectrum."""
    period = aligned.shape[0]
    spectrum = np.fft.rfft2(aligned)
    fy = np.fft.fftfreq(period)[:, None]
    fx = np.fft.rfftfreq(period)[None, :]
    best, best_energy = None, -1.0
    for a in SUBSHIFTS:
        for b in SUBSHIFTS:
            shifted = np.fft.irfft2(spectrum * np.exp(2j * np.pi * (fy * a + fx * b)),
                                    s=aligned.shape)
            soft = carriers @ shifted.ravel().astype(np.float32)
            energy = float(soft @ soft)
            if energy > best_energy:
                best, best_energy = soft, energy
    assert best is not None
    return best


def _chase_decode(soft: np.ndarray) -> tuple[WatermarkPayload, int] | None:
    """Soft-decision decoding in the manner of Chase: the hard word, then the same word with
    every combination of its ``CHASE_BITS`` least reliable bits flipped, each BCH-decoded.
    Returns the payload and the bits that differ from the hard word (flips plus corrections)."""
    hard = (soft > 0).astype(np.uint8)
    weak = np.argsort(np.abs(soft))[:CHASE_BITS]
    for pattern in range(1 << CHASE_BITS):
        trial = hard.copy()
        flips = [int(weak[j]) for j in range(CHASE_BITS) if pattern >> j & 1]
        trial[flips] ^= 1
        result = decode_payload(trial)
        if result is not None:
            return result[0], result[1] + len(flips)
    return None


@cache
def _decoder_templates(scheme: TiledScheme) -> tuple[np.ndarray, np.ndarray]:
    """The 127 whitened carriers at decoder rate, flattened, and their conjugate spectra."""
    side = scheme.tile * _UP
    carriers = np.empty((CODE_BITS, side, side), np.float32)
    for i in range(CODE_BITS):
        chips = scheme.spread * (scheme.owner == i)
        carriers[i] = _whiten_cyclic(_upsample_tile(chips, _UP))
    return carriers.reshape(CODE_BITS, -1), np.conj(np.fft.rfft2(carriers))


_SCHEMES: dict[str, WatermarkScheme] = {s.name: s for s in (TiledScheme(), DwtDctSvdScheme())}
"""Every built-in scheme by name: the default crop-tolerant ``tiled`` and the classic
``dwtdctsvd`` baseline (kept for the robustness benchmark)."""


def get_scheme(name: str = "tiled") -> WatermarkScheme:
    if name not in _SCHEMES:
        raise KeyError(f"unknown watermark scheme {name!r}; known: {sorted(_SCHEMES)}")
    return _SCHEMES[name]


def scheme_names() -> list[str]:
    return sorted(_SCHEMES)
