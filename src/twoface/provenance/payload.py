"""The watermark payload, its CRC and its error-correcting codeword.

The BCH code carries a 64-bit message. Two layouts share it; the first 4 bits (the tool
field) say which. Each field is most-significant bit first.

Layout 2 (written since 2026-12; *bound to the content*)::

    bits  0– 3  tool        4 bits   2 = twoface, layout 2
    bits  4– 7  method      4 bits   what made the media, see METHOD_CODES
    bits  8–15  model       8 bits   first 8 bits of the SHA-256 of the weights
    bits 16–27  day        12 bits   UTC days since 2024-01-01, modulo 4096 (11.2 years)
    bits 28–55  content    28 bits   perceptual hash of the marked picture (or a video's
                                     first frame), see :mod:`twoface.provenance.content`
    bits 56–63  CRC-8 of bits 0–55

Layout 1 (read only: media marked before)::

    bits  0– 3  tool 1, 4–7 method, 8–31 model (24 bits), 32–47 day (16 bits),
    bits 48–63  CRC-16 of bits 0–47

The content hash is what stops a lifted watermark from vouching for other media: the
difference between a marked picture and its original, added to another picture, still decodes,
but its content field names the picture it came from (``twoface verify`` says *copied*).

On the wire the 64-bit message is encoded as a BCH(127, 64) codeword (corrects 10 errors),
XOR-ed with a fixed pseudo-random whitening sequence so that a biased decoder output (all
zeros, all ones) is not itself a codeword.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

import numpy as np

from twoface.provenance import bch

MESSAGE_BITS = 64
PAYLOAD_BITS = 48  # layout 1's payload; layout 2 uses 56 bits and an 8-bit CRC
CODE_BITS = bch.N
TOOL_TWOFACE = 1  # layout 1
TOOL_TWOFACE_BOUND = 2  # layout 2: carries a content hash
CONTENT_BITS = 28
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
    "reenact": 7,  # a face driven by another actor's expressions (motion model)
    "swap_oneshot": 8,  # a face swapped in from photos by the motion model (no training)
}
METHOD_NAMES = {code: name for name, code in METHOD_CODES.items()}
_LAYOUTS = {TOOL_TWOFACE: ((4, 4, 24, 16), 16), TOOL_TWOFACE_BOUND: ((4, 4, 8, 12, 28), 8)}


@dataclass(frozen=True)
class WatermarkPayload:
    """What the invisible watermark says: who made the media, with which model, on which day,
    and (layout 2) a hash of the picture it was put on. ``content=None`` is layout 1."""

    method: int = 0
    model: int = 0
    day: int = 0
    tool: int = TOOL_TWOFACE
    content: int | None = None

    def __post_init__(self) -> None:
        bound = self.content is not None
        if bound != (self.tool == TOOL_TWOFACE_BOUND):
            raise ValueError("a content hash goes with tool field 2, and only with it")
        widths = _LAYOUTS.get(self.tool, _LAYOUTS[TOOL_TWOFACE])[0]
        values = self.fields()
        names = ("tool", "method", "model", "day", "content")[:len(values)]
        for name, value, bits in zip(names, values, widths, strict=True):
            if not 0 <= value < (1 << bits):
                raise ValueError(f"payload field {name}={value} does not fit in {bits} bits")

    def fields(self) -> tuple[int, ...]:
        head = (self.tool, self.method, self.model, self.day)
        return head if self.content is None else (*head, self.content)

    @staticmethod
    def make(method: str, model_fingerprint: str = "", when: dt.datetime | None = None,
             content: int | None = None) -> WatermarkPayload:
        """A payload from a method name, a hex model fingerprint, a time (default now) and,
        for the content-bound layout 2, the picture's hash (layout 1 without it)."""
        when = when or dt.datetime.now(dt.UTC)
        days = max(0, (when.astimezone(dt.UTC).date() - EPOCH).days)
        hex_digits = "".join(c for c in model_fingerprint.lower() if c in "0123456789abcdef")
        code = METHOD_CODES.get(method, 0)
        if content is None:
            model = int(hex_digits[:6], 16) if hex_digits else 0
            return WatermarkPayload(method=code, model=model, day=days % (1 << 16))
        model = int(hex_digits[:2], 16) if hex_digits else 0
        return WatermarkPayload(method=code, model=model, day=days % (1 << 12),
                                tool=TOOL_TWOFACE_BOUND, content=content)

    @property
    def date(self) -> dt.date:
        """The day it was made (layout 2 counts modulo 4096 days: the latest such day up to
        today)."""
        if self.content is None:
            return EPOCH + dt.timedelta(days=self.day)
        today = (dt.datetime.now(dt.UTC).date() - EPOCH).days
        wraps = max(0, (today - self.day) // 4096)
        return EPOCH + dt.timedelta(days=self.day + 4096 * wraps)

    @property
    def method_name(self) -> str:
        return METHOD_NAMES.get(self.method, f"code-{self.method}")

    @property
    def model_hex(self) -> str:
        return f"{self.model:02x}" if self.content is not None else f"{self.model:06x}"

    def to_message(self) -> list[int]:
        """The 64 message bits: fields then CRC."""
        widths, crc_bits = _LAYOUTS[self.tool] if self.tool in _LAYOUTS else \
            _LAYOUTS[TOOL_TWOFACE]
        out: list[int] = []
        for value, bits in zip(self.fields(), widths, strict=True):
            out.extend((value >> (bits - 1 - i)) & 1 for i in range(bits))
        crc = _crc(out, crc_bits)
        return out + [(crc >> (crc_bits - 1 - i)) & 1 for i in range(crc_bits)]

    def to_bits(self) -> list[int]:
        """The payload bits without the CRC (48 for layout 1, 56 for layout 2)."""
        return self.to_message()[:MESSAGE_BITS - _LAYOUTS[self.tool][1]]

    @staticmethod
    def from_message(message: list[int]) -> WatermarkPayload | None:
        """Parse 64 message bits; ``None`` when the tool field is unknown or the CRC fails."""
        if len(message) != MESSAGE_BITS:
            raise ValueError(f"a message is {MESSAGE_BITS} bits, got {len(message)}")
        tool = _int(message[:4])
        if tool not in _LAYOUTS:
            return None
        widths, crc_bits = _LAYOUTS[tool]
        body = message[:MESSAGE_BITS - crc_bits]
        if _int(message[MESSAGE_BITS - crc_bits:]) != _crc(body, crc_bits):
            return None
        values, pos = [], 0
        for width in widths:
            values.append(_int(body[pos:pos + width]))
            pos += width
        content = values[4] if tool == TOOL_TWOFACE_BOUND else None
        return WatermarkPayload(method=values[1], model=values[2], day=values[3], tool=tool,
                                content=content)

    def to_dict(self) -> dict:
        out = {"tool": "twoface" if self.tool in _LAYOUTS else f"tool-{self.tool}",
               "method": self.method_name, "model": self.model_hex,
               "date": self.date.isoformat()}
        if self.content is not None:
            out["content_hash"] = f"{self.content:07x}"
        return out


def _int(bits: list[int]) -> int:
    value = 0
    for b in bits:
        value = (value << 1) | (b & 1)
    return value


def _crc(bits: list[int], width: int) -> int:
    return bch.crc16(bits) if width == 16 else bch.crc8(bits)


@cache
def whitening() -> tuple[int, ...]:
    rng = np.random.default_rng(_WHITENING_SEED)
    return tuple(int(b) for b in rng.integers(0, 2, CODE_BITS))


def encode_payload(payload: WatermarkPayload) -> np.ndarray:
    """The 127 channel bits (0/1, uint8) that the watermark embeds for ``payload``."""
    word = bch.encode(payload.to_message())
    return np.array([b ^ w for b, w in zip(word, whitening(), strict=True)], dtype=np.uint8)


def decode_payload(channel_bits: np.ndarray, max_errors: int = bch.T
                   ) -> tuple[WatermarkPayload, int] | None:
    """Undo :func:`encode_payload` on hard bits: ``(payload, bits corrected)`` when the word is
    within ``max_errors`` of a codeword whose message has a known tool field and passes that
    layout's CRC, else ``None``."""
    word = [int(b) ^ w for b, w in zip(channel_bits.tolist(), whitening(), strict=True)]
    result = bch.decode(word)
    if result is None:
        return None
    message, errors = result
    if errors > max_errors:
        return None
    payload = WatermarkPayload.from_message(list(message))
    return None if payload is None else (payload, errors)
