"""What a detector knows about itself: ``card.json`` beside its weights.

A detector folder may hold a ``card.json`` (the shipped one always does; ``bench/
detect_default.py calibrate`` writes it)::

    {"schema": "twoface.detector_card", "version": 1,
     "name": "...", "trained_on": ["..."], "blind_spots": ["..."],
     "video_calibration": {"a": 1.0, "b": 0.0, "fit_on": "..."},
     "thresholds": {"fake": 0.9, "real": 0.3, "min_track_faces": 4},
     "measured": {"video_fpr": 0.0, "video_reals": 15, "image_fpr": 0.03, ...}}

``video_calibration`` maps the aggregated video logit to a probability (Platt scaling fitted
on held-out real and fake *videos*, so the number ``detect`` prints is calibrated where the
verdict is made); ``thresholds`` are the ones chosen for a stated video-level false-positive
rate; ``measured`` and ``blind_spots`` are the model card's summary, shown beside every
verdict. A folder without a card is a detector whose training data and error rates twoface
cannot state: its verdicts say so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twoface.errors import TwofaceError

CARD = "card.json"


@dataclass(frozen=True)
class Thresholds:
    fake: float = 0.7  # p(fake) from which a file is called fake
    real: float = 0.3  # p(fake) up to which it is called real; between: uncertain
    min_track_faces: int = 3  # a video track needs this many faces to decide a verdict


@dataclass(frozen=True)
class DetectorCard:
    name: str
    trained_on: list[str] = field(default_factory=list)
    blind_spots: list[str] = field(default_factory=list)
    video_a: float = 1.0  # p(video) = sigmoid(a · aggregated logit + b)
    video_b: float = 0.0
    video_calibrated: bool = False
    thresholds: Thresholds = Thresholds()
    measured: dict[str, Any] = field(default_factory=dict)
    has_card: bool = False

    def summary(self) -> dict[str, Any]:
        """What every report carries next to its verdict."""
        if not self.has_card:
            return {"card": False, "note": "this detector has no card.json: what it was "
                    "trained on and how often it errs are unknown; its probability is "
                    "calibrated per face, not per video"}
        return {"card": True, "name": self.name, "trained_on": self.trained_on,
                "video_calibrated": self.video_calibrated, "measured": self.measured,
                "blind_spots": self.blind_spots}


def load_card(folder: str | Path, name: str) -> DetectorCard:
    """The card of the detector in ``folder`` (a card-less one when there is no file)."""
    path = Path(folder) / CARD
    if not path.is_file():
        return DetectorCard(name=name)
    try:
        raw = json.loads(path.read_text())
        cal = raw.get("video_calibration") or {}
        thr = raw.get("thresholds") or {}
        thresholds = Thresholds(float(thr.get("fake", 0.7)), float(thr.get("real", 0.3)),
                                int(thr.get("min_track_faces", 3)))
        card = DetectorCard(
            name=str(raw.get("name", name)), trained_on=[str(x) for x in raw["trained_on"]],
            blind_spots=[str(x) for x in raw.get("blind_spots", [])],
            video_a=float(cal.get("a", 1.0)), video_b=float(cal.get("b", 0.0)),
            video_calibrated=bool(cal), thresholds=thresholds,
            measured=dict(raw.get("measured", {})), has_card=True)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise TwofaceError(path, f"is not a detector card ({exc})") from None
    if not 0 <= thresholds.real <= thresholds.fake <= 1 or thresholds.min_track_faces < 1:
        raise TwofaceError(path, "thresholds must satisfy 0 <= real <= fake <= 1 and "
                           "min_track_faces >= 1")
    return card
