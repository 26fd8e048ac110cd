"""What every shallowfake check (:mod:`twoface.forensics.shallow`) returns: a :class:`Finding`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

FindingKind = Literal["speed_change", "frame_drop", "duplicate_frames", "splice", "reencode",
                      "metadata", "crop", "mirror", "overlay", "source_trait",
                      "source_match"]

# Kinds that describe how the source was made (a frame-rate conversion, variable frame
# rate, bars present from the first frame), not something done to it afterwards: shown as
# context, never counted or coloured as a manipulation, whatever their confidence.
# ``source_match`` names the video a clip was compared against and how well they line up.
CONTEXT_KINDS: frozenset[str] = frozenset({"source_trait", "source_match"})


@dataclass
class Finding:
    """One edit trace: what, when (seconds), how sure (0..1), and the evidence.

    For ``source_trait`` the confidence says how sure the trait is present, not how likely
    an edit is.
    """

    kind: FindingKind
    start: float
    end: float
    confidence: float
    evidence: dict = field(default_factory=dict)

    @property
    def is_context(self) -> bool:
        return self.kind in CONTEXT_KINDS

    def to_dict(self) -> dict:
        d = asdict(self)
        d["start"], d["end"] = round(self.start, 3), round(self.end, 3)
        d["confidence"] = round(self.confidence, 3)
        d["context"] = self.is_context
        return d
