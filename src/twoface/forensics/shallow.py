"""Shallowfake checks: traces of plain editing (no neural network needed).

``inspect_video(path)`` decodes a video once (:mod:`twoface.forensics._signals`) and runs
each check over the per-frame signals (:mod:`twoface.forensics._frame_checks`,
:mod:`twoface.forensics._speed`, :mod:`twoface.forensics._resample`) and the file's
metadata (:mod:`twoface.forensics._file_checks`). ``inspect_image(path)`` runs the checks
that make sense for a still (:mod:`twoface.forensics._image_checks`); ``inspect(path)``
picks one by the file's kind. Every check returns :class:`Finding`
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
from twoface.forensics._finding import CONTEXT_KINDS, Finding, FindingKind
from twoface.forensics._frame_checks import (
    duplicate_frames,
    duplicate_mask,
    splices,
    timestamp_gaps,
)
from twoface.forensics._overlay import burned_in
from twoface.forensics._resample import resampling_findings
from twoface.forensics._signals import gather
from twoface.forensics._speed import retiming

__all__ = ["CONTEXT_KINDS", "VIDEO_CHECKS", "Finding", "FindingKind", "Report",
           "duplicate_frames", "inspect", "inspect_image", "inspect_video", "letterbox",
           "metadata_checks", "retiming", "rotation", "splices", "timestamp_gaps"]

# What ``inspect_video`` looks at, in words, for the report.
VIDEO_CHECKS = ("speed changes (repeat and skip rhythms, also on top of a conversion "
                "cadence; audio length)", "frozen frames",
                "timestamp gaps", "cuts (splices)", "enlargement / crop (resampling traces)",
                "burned-in overlays (still sharp regions over a changing picture)",
                "encoder settings and metadata", "source traits (frame-rate conversion, "
                "variable frame rate, black bars): context only")
COMPARE_CHECK = ("against the source: framing (crop), mirror, timing (speed changes, cuts) "
                 "and overlays, measured by lining the clip up with it")


@dataclass
class Report:
    """All findings for one file, most confident first."""

    file: str
    findings: list[Finding]
    frames: int = 0
    duration: float = 0.0
    media: str = "video"
    checks: tuple[str, ...] = VIDEO_CHECKS
    # Per-frame signals for plots (time, motion, hist): kept out of the JSON, which stays small.
    curves: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def edits(self) -> list[Finding]:
        """Findings about what was done to the media (context left out)."""
        return [f for f in self.findings if not f.is_context]

    @property
    def context(self) -> list[Finding]:
        """Traits of the source (frame-rate conversion, bars, variable rate)."""
        return [f for f in self.findings if f.is_context]

    def to_dict(self) -> dict:
        d = {"file": self.file, "media": self.media, "frames": self.frames,
             "duration": round(self.duration, 3), "checks": list(self.checks),
             "findings": [f.to_dict() for f in self.findings]}
        if self.media == "image":
            del d["frames"], d["duration"]
        return d


def inspect(path: str | Path, *, max_frames: int | None = None,
            against: str | Path | None = None, index: str | Path | None = None) -> Report:
    """``inspect_image`` for a still, ``inspect_video`` for a video (by the file's kind).

    A video may be compared with its source: ``against`` names it, or ``index`` is searched
    for it (see :func:`inspect_video`). Stills have no source comparison.
    """
    from twoface.errors import TwofaceError
    from twoface.media import media_kind

    if media_kind(path) == "image":
        if against is not None or index is not None:
            raise TwofaceError(path, "comparing with a source is for videos; a still gets "
                                     "the still checks only")
        return inspect_image(path)
    return inspect_video(path, max_frames=max_frames, against=against, index=index)


def inspect_image(path: str | Path) -> Report:
    """The checks a still allows: metadata, JPEG re-compression, resampling traces.

    Raises MediaError for files that are missing, not images, or broken.
    """
    from twoface.forensics._image_checks import IMAGE_CHECKS, image_findings

    findings = image_findings(Path(path))
    findings.sort(key=lambda f: (f.is_context, -f.confidence))
    return Report(str(path), findings, media="image", checks=IMAGE_CHECKS)


def inspect_video(path: str | Path, *, max_frames: int | None = None,
                  now: dt.datetime | None = None, against: str | Path | None = None,
                  index: str | Path | None = None) -> Report:
    """Run every shallowfake check on the video at ``path``.

    ``now`` (UTC) is the clock that "creation time in the future" is judged against.
    ``against`` is the video the clip was made from, when known; ``index`` a near-duplicate
    index searched for it (the best match is used). With a source that lines up, its
    measured framing, mirror, timing, cuts and overlays (:mod:`twoface.forensics._compare`)
    replace the blind speed, cut and crop checks, which only guess from traces.
    Raises MediaError for files that are missing, not video, or broken.
    """
    from twoface.media import media_kind, probe

    path = Path(path)
    if media_kind(path) != "video":
        raise MediaError(path, "is an image: use inspect_image (still checks)")
    probe(path)  # a still image in a video's clothing, or a broken file, stops here
    sig = gather(path, max_frames=max_frames)
    findings: list[Finding] = []
    dups = duplicate_mask(sig)
    findings += duplicate_frames(sig, dups)
    findings += timestamp_gaps(sig)
    findings += retiming(sig)
    findings += splices(sig, dups)
    findings += resampling_findings(sig.d2_cols, sig.d2_rows, 0.0, sig.video_duration,
                                    frames=sig.resample_frames)
    findings += letterbox(sig)
    findings += burned_in(sig)
    findings += metadata_checks(sig, now or dt.datetime.now(dt.UTC))
    findings += rotation(path, sig)
    checks: tuple[str, ...] = VIDEO_CHECKS
    if against is not None or index is not None:
        findings = _with_source(path, findings, against, index, max_frames)
        checks = (*VIDEO_CHECKS, COMPARE_CHECK)
    # Edits first, most confident first; the source's traits after them.
    findings.sort(key=lambda f: (f.is_context, -f.confidence, f.start))
    duration = sig.video_duration or (float(sig.times[-1]) if sig.n else 0.0)
    return Report(str(path), findings, frames=sig.n, duration=duration, checks=checks,
                  curves={"time": sig.times, "motion": sig.motion, "hist": sig.hist_dist})


# Blind checks that a source comparison measures directly, and so replaces when it lines up.
_MEASURED_KINDS = frozenset({"speed_change", "frame_drop", "splice", "crop", "overlay"})


def _with_source(path: Path, findings: list[Finding], against: str | Path | None,
                 index: str | Path | None, max_frames: int | None) -> list[Finding]:
    """``findings`` with the comparison against the clip's source added (see inspect_video)."""
    from twoface.forensics._compare import compare
    from twoface.forensics.index import search

    start, end = 0.0, None
    if against is None:
        assert index is not None
        matches = search(path, Path(index), top=1)
        if not matches:
            return [*findings, Finding("source_match", 0.0, 0.0, 0.0, {
                "index": str(index), "note": "no indexed video matches: blind checks only"})]
        m = matches[0]
        against = m.file
        # Decode only the matched part of the source, with a margin for what the search's
        # sampling (5 per second) could miss at either end.
        start = max(0.0, min(m.source_start, m.source_end) - 2.0)
        end = max(m.source_start, m.source_end) + 2.0
    result = compare(path, Path(against), source_start=start, source_end=end,
                     max_frames=max_frames)
    if result.aligned_share >= 0.5:
        findings = [f for f in findings if f.kind not in _MEASURED_KINDS]
    return [*findings, *result.findings]
