"""The hashes trust-and-safety teams exchange: PDQ for pictures, vPDQ for videos.

PDQ is computed by the ``pdqhash`` binding (Meta's reference C++ compiled for Python) rather
than re-implemented: hash lists are matched bit for bit across organisations, so the hash
must be the reference's own, including its Jarosz-filter downsampling and float details.

vPDQ is PDQ applied to video frames sampled once per ``seconds_per_hash``, written in the
vPDQ text format ``frame_number,quality,pdq_hex,timestamp`` (one line per kept frame). It is
built here on the PDQ binding, because the ``vpdq`` binding compiles against FFmpeg's
development libraries, which a plain ``pip install`` cannot count on. Frames are decoded by
PyAV here and by the reference's own FFmpeg calls there: the same frames are chosen, and a
frame's hash differs by a few bits only where the two colour conversions differ (measured in
BENCHMARKS.md, well inside the match distance).

Hex follows PDQ's own ``Hash256::format``: 64 hex digits, most significant 16-bit word first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from twoface.errors import TwofaceError
from twoface.forensics._phash import pdq_hash

# PDQ's own matching convention: two hashes within 31 bits of 256 are the same picture, and
# frames below quality 50 (flat, blurred) are too featureless to match on.
MATCH_DISTANCE = 31
MIN_QUALITY = 50
SECONDS_PER_HASH = 1.0
_HEX = re.compile(r"^[0-9a-fA-F]{64}$")
_CHUNK = 1 << 15
_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def pdq(image: np.ndarray) -> tuple[str, int]:
    """PDQ hash (64 hex digits) and quality (0..100) of an ``H×W×3`` uint8 RGB image."""
    packed, quality = pdq_hash(image)
    return packed.tobytes().hex(), quality


@dataclass(frozen=True)
class VpdqFeature:
    """One sampled video frame's PDQ hash."""

    frame: int
    quality: int
    hash: str
    timestamp: float

    def line(self) -> str:
        return f"{self.frame},{self.quality},{self.hash},{self.timestamp:.3f}"


def vpdq(path: str | Path, seconds_per_hash: float = SECONDS_PER_HASH) -> list[VpdqFeature]:
    """The vPDQ features of the video at ``path``: one PDQ hash per ``seconds_per_hash``.

    Frames are chosen by the reference's rule (every ``int(fps · seconds_per_hash)``-th
    decoded frame, timestamp ``frame / fps``), so both hash the same frames.
    """
    from twoface.media import iter_frames, probe

    fps = probe(path).fps
    every = max(1, int(fps * seconds_per_hash))
    out: list[VpdqFeature] = []
    for fr in iter_frames(path):
        if fr.index % every == 0:
            digest, quality = pdq(fr.image)
            out.append(VpdqFeature(fr.index, quality, digest, round(fr.index / fps, 3)))
    return out


def distance(a: str, b: str) -> int:
    """Hamming distance in bits between two PDQ hex hashes."""
    x = np.frombuffer(bytes.fromhex(a), np.uint8) ^ np.frombuffer(bytes.fromhex(b), np.uint8)
    return int(_POPCOUNT[x].sum())


@dataclass(frozen=True)
class HashList:
    """A shared hash list: PDQ hashes (``(N, 32)`` packed bits) and their labels."""

    hashes: np.ndarray
    labels: list[str]

    @classmethod
    def read(cls, path: str | Path) -> HashList:
        """Read the common text format: one hex PDQ hash per line, optionally followed by a
        label (after a comma, tab or space); blank lines and ``#`` comments are skipped. A
        vPDQ line (``frame,quality,hash,timestamp``) contributes its hash."""
        path = Path(path)
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise TwofaceError(path, f"cannot read the hash list ({exc})") from None
        hashes, labels = [], []
        for n, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            parts = [p.strip() for p in re.split(r"[,\t ]", line, maxsplit=1)]
            if not _HEX.match(parts[0]):
                fields = [p.strip() for p in line.split(",")]
                if len(fields) >= 3 and _HEX.match(fields[2]):  # a vPDQ feature line
                    parts = [fields[2], ""]
                else:
                    raise TwofaceError(path, f"line {n}: expected a 64-digit hex PDQ hash, "
                                       f"got {parts[0][:70]!r}")
            hashes.append(np.frombuffer(bytes.fromhex(parts[0]), np.uint8))
            labels.append(parts[1] if len(parts) > 1 and parts[1] else parts[0][:12])
        if not hashes:
            raise TwofaceError(path, "the hash list holds no hashes")
        return cls(np.stack(hashes), labels)

    def best(self, hashes: list[str]) -> tuple[str, int] | None:
        """The label and distance of the closest list entry to any of ``hashes`` within
        :data:`MATCH_DISTANCE`, or None."""
        if not hashes:
            return None
        q = np.stack([np.frombuffer(bytes.fromhex(h), np.uint8) for h in hashes])
        best, where = 257, 0
        # In chunks of the list: the XOR array is queries x entries x 32 bytes.
        for start in range(0, len(self.hashes), _CHUNK):
            part = self.hashes[None, start:start + _CHUNK, :]
            d = _POPCOUNT[q[:, None, :] ^ part].sum(axis=-1, dtype=np.int32).min(axis=0)
            j = int(np.argmin(d))
            if int(d[j]) < best:
                best, where = int(d[j]), start + j
        return (self.labels[where], best) if best <= MATCH_DISTANCE else None
