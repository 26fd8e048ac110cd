"""256-bit perceptual hashes of one frame (twoface's own PDQ-like hash, or real PDQ), their
Hamming distance and their bands.

The recipe follows the idea of Facebook's PDQ (and the classic DCT pHash): a grey picture
shrunk to 64×64 keeps only the coarse layout that survives re-encoding, mild crops and
rescaling; its 16×16 lowest DCT frequencies describe that layout, and thresholding each
coefficient at their median gives 256 bits that are half ones on every picture, so that
unrelated frames sit near 128 bits apart while copies of one frame sit close together.

Real PDQ (``hasher="pdq"``) comes from the ``pdqhash`` binding of Meta's reference C++: it is
what hash-sharing programmes exchange, so it must be bit-exact, not a re-implementation.
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np

Hasher = Literal["own", "pdq"]
HASHERS: tuple[Hasher, ...] = ("own", "pdq")

HASH_BITS = 256
HASH_BYTES = HASH_BITS // 8
BANDS = 16  # multi-index hashing: 16 bands of 16 bits each
_SIDE = 64
_LOW = 16
# Frames whose grey level hardly varies (black or flat leader frames) give a meaningless
# hash (the median split is then noise) that would match every other flat frame.
_MIN_CONTRAST = 2.0
# How many bits are set in each byte value: popcount by table lookup, fast in numpy.
_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def frame_hashes(image: np.ndarray, hasher: Hasher = "own"
                 ) -> tuple[np.ndarray, np.ndarray] | None:
    """The hash of an ``H×W×3`` uint8 RGB frame and of its mirror image, or None if flat.

    Returns two ``(32,)`` uint8 arrays (packed bits, most significant first). The mirror's
    hash is what the frame's hash would be after a horizontal flip: a flip keeps the
    magnitude of every DCT coefficient and negates those of odd horizontal frequency, so it
    costs one sign change instead of a second transform. ``hasher="pdq"``: real PDQ and its
    mirror (PDQ's own dihedral transform); flat frames are skipped by the same rule.
    """
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    small = cv2.resize(grey, (_SIDE, _SIDE), interpolation=cv2.INTER_AREA).astype(np.float32)
    if float(small.std()) < _MIN_CONTRAST:
        return None
    if hasher == "pdq":
        import pdqhash

        rgb = image if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
        hashes, _quality = pdqhash.compute_dihedral(np.ascontiguousarray(rgb))
        # The binding lists the 8 dihedral hashes in PDQ's order; the sixth ("flip Y",
        # about the vertical axis) is the left-right mirror.
        return _pack(hashes[0]), _pack(hashes[5])
    block: np.ndarray = cv2.dct(small)[:_LOW, :_LOW]
    mirror = block.copy()
    mirror[:, 1::2] *= -1.0  # odd horizontal frequencies change sign under a left-right flip
    return _bits(block), _bits(mirror)


def pdq_hash(image: np.ndarray) -> tuple[np.ndarray, int]:
    """Real PDQ of an ``H×W×3`` uint8 RGB image: ``(32,)`` packed bits (most significant
    first, the order of PDQ's hex form) and PDQ's quality (0..100)."""
    import pdqhash

    bits, quality = pdqhash.compute(np.ascontiguousarray(image, dtype=np.uint8))
    return _pack(bits), int(quality)


def _pack(bits: np.ndarray) -> np.ndarray:
    # The binding gives bits most significant first (bit 255 .. bit 0), as the hex reads.
    return np.packbits(np.asarray(bits, dtype=np.uint8))


def centre_crop(image: np.ndarray, keep: float) -> np.ndarray:
    """The central ``keep`` fraction (per side) of ``image``, resized back to its size."""
    if keep >= 1.0:
        return image
    h, w = image.shape[:2]
    ch, cw = max(1, round(h * keep)), max(1, round(w * keep))
    y, x = (h - ch) // 2, (w - cw) // 2
    return cv2.resize(image[y:y + ch, x:x + cw], (w, h), interpolation=cv2.INTER_AREA)


def _bits(block: np.ndarray) -> np.ndarray:
    # The median makes the hash independent of brightness and contrast (PDQ does the same).
    return np.packbits((block > np.median(block)).ravel())


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Bit distances between hashes ``a (..., 32)`` and ``b (..., 32)`` (broadcast) → int."""
    return _POPCOUNT[np.bitwise_xor(a, b)].sum(axis=-1, dtype=np.int32)


def bands(hashes: np.ndarray) -> np.ndarray:
    """The 16 band values (16-bit ints) of hashes ``(N, 32)`` uint8 → ``(N, 16)`` int64.

    By the pigeonhole principle two hashes fewer than 16 bits apart agree exactly on at
    least one band; looking bands up in an index finds such candidates without a scan.
    """
    pairs = hashes.reshape(len(hashes), BANDS, 2).astype(np.int64)
    return (pairs[:, :, 0] << 8) | pairs[:, :, 1]


def band_neighbours(values: np.ndarray) -> np.ndarray:
    """Each band value ``(N, 16)`` together with the 16 values one bit away → ``(N, 16, 17)``.

    Probing these too widens the pigeonhole guarantee from 15 to 31 bits, which is what a
    cropped and re-encoded copy needs, at 17 times the lookups.
    """
    flips = np.concatenate([[0], 1 << np.arange(16)]).astype(np.int64)
    return values[:, :, None] ^ flips[None, None, :]
