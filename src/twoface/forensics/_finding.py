"""What every shallowfake check (:mod:`twoface.forensics.shallow`) returns: a :class:`Finding`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

FindingKind = Literal["speed_change", "frame_drop", "duplicate_frames", "splice", "reencode",
                      "metadata", "crop"]


@dataclass
class Finding:
    """One edit trace: what, when (seconds), how sure (0..1), and the evidence."""

    kind: FindingKind
    start: float
    end: float
    confidence: float
    evidence: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["start"], d["end"] = round(self.start, 3), round(self.end, 3)
        d["confidence"] = round(self.confidence, 3)
        return d
