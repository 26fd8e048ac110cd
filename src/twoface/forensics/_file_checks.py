"""The shallowfake checks on the file as a whole: letterbox bars (context), the encoder and
its settings, creation times, a display rotation, and audio as long as the video or not.
Part of :mod:`twoface.forensics.shallow`, which runs them all.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from twoface.forensics._finding import Finding
from twoface.forensics._frame_checks import span
from twoface.forensics._signals import Signals

# Encoders and tools whose tag says the file was written by software, not a camera.
_SOFTWARE = ("lavf", "handbrake", "ffmpeg", "premiere", "final cut", "davinci", "imovie",
             "capcut", "after effects", "x264", "libx264", "shotcut", "kdenlive", "openshot")


# ----------------------------------------------------------------------------- letterbox

def letterbox(sig: Signals, dark: float = 28.0) -> list[Finding]:
    """Black bars: rows or columns at the edges that stay dark in every frame."""
    def bar(profile: np.ndarray) -> tuple[int, int]:
        dark_mask = profile <= dark
        lead = int(np.argmin(dark_mask)) if not dark_mask.all() else profile.size
        trail = int(np.argmin(dark_mask[::-1])) if not dark_mask.all() else profile.size
        return lead, trail

    if sig.n < 2 or np.all(sig.row_max <= dark):
        return []  # an all-black clip is not a letterboxed one
    top, bottom = bar(sig.row_max)
    left, right = bar(sig.col_max)
    rows, cols = sig.row_max.size, sig.col_max.size
    frac = {"top": top / rows, "bottom": bottom / rows, "left": left / cols,
            "right": right / cols}
    # One or two dark lines are common (encoder padding, a dark border in the scene).
    sides = {k: v for k, v in frac.items() if v >= 0.03}
    if not sides:
        return []
    paired = ("top" in sides and "bottom" in sides) or ("left" in sides and "right" in sides)
    # Bars that stay dark in every frame from the first one are how the source was framed
    # (a 4:3 picture in a 16:9 file, a phone's side bars): context. A crop made later
    # shows as resampling traces instead (:mod:`twoface.forensics._resample`).
    conf = min(0.95, (0.55 if paired else 0.35) + 2.0 * max(sides.values()))
    return [Finding("source_trait", float(sig.times[0]), span(sig, 0, sig.n - 1)[1], conf, {
        "trait": "black bars in every frame", "bars": {k: round(v, 3) for k, v in sides.items()},
        "max_brightness_in_bars": dark,
        "note": "present from the first frame to the last: how the source was framed"})]


# ------------------------------------------------------------------------------ metadata

# x264/x265 constant-quality settings at or above this are far below what a camera or an
# editor exporting a master records; platforms re-encoding uploads sit around here.
_HEAVY_CRF = 28.0


def _software_encode(meta: dict, encoder: str, end: float) -> list[Finding]:
    """The last encode, when software made it: the container's encoder tag and the settings
    record x264/x265 leave in the stream (a camera's hardware encoder writes neither).

    This is re-encoding *history* only as far as the last step: it cannot count earlier
    generations. Nearly every shared clip was transcoded, so a software encode alone stays
    weak; strong constant-quality compression (``crf`` ≥ 28) is the re-upload pattern and
    goes above 0.5.
    """
    settings = meta.get("encoder_settings") or {}
    software = any(s in encoder.lower() for s in _SOFTWARE)
    if not settings and not software:
        return []
    ev: dict = {"encoder": encoder} if encoder else {}
    conf = 0.3
    if settings:
        opts = settings.get("options", {})
        ev["stream_encoder"] = settings.get("encoder")
        ev["settings"] = {k: opts[k] for k in ("rc", "crf", "bitrate", "preset", "keyint",
                                               "bframes") if k in opts}
        try:
            crf = float(opts.get("crf", "nan"))
        except ValueError:
            crf = float("nan")
        if crf >= _HEAVY_CRF:
            conf = min(0.9, 0.55 + 0.05 * (crf - _HEAVY_CRF))
            ev["note"] = f"strong re-compression (crf {crf:g} ≥ {_HEAVY_CRF:g})"
    if "bits_per_pixel" in meta:
        ev["bits_per_pixel"] = meta["bits_per_pixel"]
    return [Finding("reencode", 0.0, end, conf, ev)]


def rotation(path: Path, sig: Signals) -> list[Finding]:
    """A display rotation in the container: the picture is stored sideways and turned on
    playback. Phones do this all the time, so it is context (low confidence), not evidence;
    an edit that re-encodes usually bakes the turn into the pixels and drops the tag."""
    from twoface.media import probe

    degrees = probe(path).rotation
    if not degrees:
        return []
    end = sig.video_duration or (float(sig.times[-1]) if sig.n else 0.0)
    return [Finding("metadata", 0.0, end, 0.2, {
        "problem": "display rotation set in the container", "rotation_degrees": degrees})]


def _parse_time(text: str) -> dt.datetime | None:
    try:
        t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def metadata_checks(sig: Signals, now: dt.datetime) -> list[Finding]:
    """Tags that contradict each other or the clock, software encoders, and audio that runs
    longer or shorter than the video (a speed change applied to one of them)."""
    meta = sig.metadata
    tags = {k.lower(): v for k, v in meta.get("tags", {}).items()}
    end = sig.video_duration or (float(sig.times[-1]) if sig.n else 0.0)
    out: list[Finding] = []
    encoder = tags.get("encoder", "")
    if not encoder and not meta.get("encoder_settings"):
        out.append(Finding("metadata", 0.0, end, 0.1, {"problem": "no encoder tag"}))
    out += _software_encode(meta, encoder, end)
    stamps = {"container": tags.get("creation_time")}
    for s in meta.get("streams", []):
        stamps[f"{s['type']}#{s['index']}"] = s["tags"].get("creation_time")
    parsed = {k: _parse_time(v) for k, v in stamps.items() if v}
    for where, t in parsed.items():
        if t is None:
            out.append(Finding("metadata", 0.0, end, 0.4, {
                "problem": "unreadable creation_time", "where": where, "value": stamps[where]}))
        elif t > now + dt.timedelta(days=1):
            out.append(Finding("metadata", 0.0, end, 0.6, {
                "problem": "creation_time in the future", "where": where, "value": stamps[where]}))
    good = [t for t in parsed.values() if t is not None]
    if len(good) >= 2 and (max(good) - min(good)).total_seconds() > 60:
        out.append(Finding("metadata", 0.0, end, 0.5, {
            "problem": "creation_time differs between container and streams",
            "values": {k: v for k, v in stamps.items() if v}}))
    if sig.audio_duration is not None and end > 0:
        diff = sig.audio_duration - end
        rel = abs(diff) / end
        if abs(diff) > 0.5 and rel > 0.05:
            # A speed change applied to the picture alone leaves the audio at its old length.
            conf = min(0.9, 0.4 + rel)
            # Picture sped up alone: shorter than its audio by the speed factor.
            out.append(Finding("speed_change", 0.0, end, conf, {
                "source": "audio vs video duration", "video_s": round(end, 3),
                "audio_s": round(sig.audio_duration, 3),
                "ratio": round(sig.audio_duration / end, 3),
                "speed_factor": round(sig.audio_duration / end, 3),
                "method": "audio length against video length (picture re-timed alone)"}))
    return out
