"""The 48-bit watermark payload, its CRC and its error-correcting codeword.

Layout of the 48 payload bits (bit 0 first; each field most-significant bit first)::

    bits  0– 3  tool       4 bits   1 = twoface, payload layout v1 (0 and 2–15 reserved)
    bits  4– 7  method     4 bits   what made the media, see METHOD_CODES
    bits  8–31  model     24 bits   model fingerprint: first 24 bits of the SHA-256 of the weights
    bits 32–47  day       16 bits   UTC days since 2024-01-01 (wraps in the year 2203)

On the wire: ``message = payload (48) + CRC-16 of the payload (16)`` = 64 bits, encoded as a
BCH(127, 64) codeword (corrects 10 errors), XOR-ed with a fixed pseudo-random whitening
sequence so that a biased decoder output (all zeros, all ones) is not itself a codeword.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

import numpy as np

from twoface.provenance import bch

PAYLOAD_BITS = 48
CODE_BITS = bch.N
TOOL_TWOFACE = 1
EPOCH = dt.date(2024, 1, 1)
_WHITENING_SEED = 0x2FACE

# Method names → 4-bit codes. Unknown names map to 0 ("other"); the manifest keeps the full name.
METHOD_CODES: dict[str, int] = {
    "other": 0,
    "mark": 1,  # media made elsewhere, marked with `twoface mark`
    "swap": 2,  # autoencoder face swap
    "gan": 3,  # GAN generation
    "animate": 4,  # first-order motion animation
    "demo": 5,
    "synthetic": 6,  # procedurally rendered people (twoface.synth)
}
METHOD_NAMES = {code: name for name, code in METHOD_CODES.items()}


@dataclass(frozen=True)
class WatermarkPayload:
    """What the invisible watermark says: who made the media, with which model, on which day."""

    method: int = 0
    model: int = 0
    day: int = 0
    tool: int = TOOL_TWOFACE

    def __post_init__(self) -> None:
        for name, value, bits in (("tool", self.tool, 4), ("method", self.method, 4),
                                  ("model", self.model, 24), ("day", self.day, 16)):
            if not 0 <= value < (1 << bits):
                raise ValueError(f"payload field {name}={value} does not fit in {bits} bits")

    @staticmethod
    def make(method: str, model_fingerprint: str = "", when: dt.datetime | None = None
             ) -> WatermarkPayload:
        """Build a payload from a method name, a hex model fingerprint and a time (default now)."""
        when = when or dt.datetime.now(dt.UTC)
        day = max(0, (when.astimezone(dt.UTC).date() - EPOCH).days) % (1 << 16)
        hex_digits = "".join(c for c in model_fingerprint.lower() if c in "0123456789abcdef")
        model = int(hex_digits[:6], 16) if hex_digits else 0
        return WatermarkPayload(method=METHOD_CODES.get(method, 0), model=model, day=day)

    @property
    def date(self) -> dt.date:
        return EPOCH + dt.timedelta(days=self.day)

    @property
    def method_name(self) -> str:
        return METHOD_NAMES.get(self.method, f"code-{self.method}")

    def to_bits(self) -> list[int]:
        out: list[int] = []
        for value, bits in ((self.tool, 4), (self.method, 4), (self.model, 24), (self.day, 16)):
            out.extend((value >> (bits - 1 - i)) & 1 for i in range(bits))
        return out

    @staticmethod
    def from_bits(bits: list[int]) -> WatermarkPayload:
        if len(bits) != PAYLOAD_BITS:
            raise ValueError(f"payload needs {PAYLOAD_BITS} bits, got {len(bits)}")
        fields, pos = [], 0
        for width in (4, 4, 24, 16):
            value = 0
            for b in bits[pos:pos + width]:
                value = (value << 1) | (b & 1)
            fields.append(value)
            pos += width
        tool, method, model, day = fields
        return WatermarkPayload(method=method, model=model, day=day, tool=tool)

    def to_dict(self) -> dict:
        return {"tool": "twoface" if self.tool == TOOL_TWOFACE else f"tool-{self.tool}",
                "method": self.method_name, "model": f"{self.model:06x}",
                "date": self.date.isoformat()}


@cache
def whitening() -> tuple[int, ...]:
    rng = np.random.default_rng(_WHITENING_SEED)
    return tuple(int(b) for b in rng.integers(0, 2, CODE_BITS))


def encode_payload(payload: WatermarkPayload) -> np.ndarray:
    """The 127 channel bits (0/1, uint8) that the watermark embeds for ``payload``."""
    bits = payload.to_bits()
    crc = bch.crc16(bits)
    message = bits + [(crc >> (15 - i)) & 1 for i in range(16)]
    word = bch.encode(message)
    return np.array([b ^ w for b, w in zip(word, whitening(), strict=True)], dtype=np.uint8)


def decode_payload(channel_bits: np.ndarray, max_errors: int = bch.T
                   ) -> tuple[WatermarkPayload, int] | None:
    """Undo :func:`encode_payload` on hard bits: ``(payload, bits corrected)`` when the word is
    within ``max_errors`` of a codeword whose message passes the CRC and whose tool field is
    known, else ``None``."""
    word = [int(b) ^ w for b, w in zip(channel_bits.tolist(), whitening(), strict=True)]
    result = bch.decode(word)
    if result is None:
        return None
    message, errors = result
    if errors > max_errors:
        return None
    bits, crc_bits = message[:PAYLOAD_BITS], message[PAYLOAD_BITS:]
    crc = 0
    for b in crc_bits:
        crc = (crc << 1) | b
    if crc != bch.crc16(bits):
        return None
    payload = WatermarkPayload.from_bits(bits)
    if payload.tool != TOOL_TWOFACE:
        return None
    return payload, errors
