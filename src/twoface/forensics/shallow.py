"""Shallowfake checks: traces of plain editing (no neural network needed).

``inspect_video(path)`` decodes a video once (:mod:`twoface.forensics._signals`) and runs
each check over the per-frame signals (:mod:`twoface.forensics._frame_checks`) and the
file's metadata (:mod:`twoface.forensics._file_checks`). Every check returns :class:`Finding`
objects with a time span, a confidence in 0..1 and the numbers that led to it, so a reader
can judge the call. The checks are deliberately conservative: one odd frame in a clean clip
stays below 0.5; only repeated or strong evidence goes above it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from twoface.errors import MediaError
from twoface.forensics._file_checks import letterbox, metadata_checks, rotation
from twoface.forensics._finding import Finding, FindingKind
from twoface.forensics._frame_checks import (
    cadence,
    duplicate_frames,
    duplicate_mask,
    motion_jumps,
    splices,
    timestamp_gaps,
)
from twoface.forensics._signals import gather

__all__ = ["Finding", "FindingKind", "Report", "cadence", "duplicate_frames", "inspect_video",
           "letterbox", "metadata_checks", "motion_jumps", "rotation", "splices",
           "timestamp_gaps"]


@dataclass
class Report:
    """All findings for one file, most confident first."""

    file: str
    findings: list[Finding]
    frames: int = 0
    duration: float = 0.0
    # Per-frame signals for plots (time, motion, hist): kept out of the JSON, which stays small.
    curves: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict:
        return {"file": self.file, "frames": self.frames, "duration": round(self.duration, 3),
                "findings": [f.to_dict() for f in self.findings]}


def inspect_video(path: str | Path, *, max_frames: int | None = None,
                  now: dt.datetime | None = None) -> Report:
    """Run every shallowfake check on the video at ``path``.

    ``now`` (UTC) is the clock that "creation time in the future" is judged against.
    Raises MediaError for files that are missing, not video, or broken.
    """
    from twoface.media import media_kind, probe

    path = Path(path)
    if media_kind(path) != "video":
        raise MediaError(path, "is an image; `inspect` checks videos")
    probe(path)  # a still image in a video's clothing, or a broken file, stops here
    sig = gather(path, max_frames=max_frames)
    findings: list[Finding] = []
    dups = duplicate_mask(sig)
    findings += duplicate_frames(sig, dups)
    findings += timestamp_gaps(sig)
    findings += motion_jumps(sig, dups)
    findings += cadence(sig)
    findings += splices(sig, dups)
    findings += letterbox(sig)
    findings += metadata_checks(sig, now or dt.datetime.now(dt.UTC))
    findings += rotation(path, sig)
    findings.sort(key=lambda f: (-f.confidence, f.start))
    duration = sig.video_duration or (float(sig.times[-1]) if sig.n else 0.0)
    return Report(str(path), findings, frames=sig.n, duration=duration,
                  curves={"time": sig.times, "motion": sig.motion, "hist": sig.hist_dist})
