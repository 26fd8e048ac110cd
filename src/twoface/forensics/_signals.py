"""Per-frame signals for the shallowfake checks, gathered in one decoding pass.

Every check in :mod:`twoface.forensics.shallow` reads these arrays rather than the video,
so a clip is decoded once however many checks run. Frames are reduced to small grey
thumbnails on the way: edit traces (repeats, drops, cuts, bars) survive downscaling, and
memory stays flat on long videos.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from twoface.forensics._resample import second_derivative_profiles
from twoface.media import iter_frames
from twoface.media._avio import AV_ERRORS, open_input

# Side of the grey thumbnails compared frame to frame: small enough to ignore sensor and
# codec noise in the motion signal, large enough that a one-pixel shift still registers.
THUMB = 64
# Longest side of the grey image used for noise and black-bar measures: noise lives at the
# pixel scale, so this keeps more detail than the thumbnail.
NOISE_SIDE = 256
# Side of the grey images that optical flow runs on: flow magnitude grows in proportion to
# the motion (a dropped frame doubles it), which the saturating grey difference does not.
FLOW_SIDE = 128
# Bins per RGB channel of the colour histograms compared across a possible cut.
HIST_BINS = 16


@dataclass
class Signals:
    """What one decoding pass learns, one entry per decoded frame (``n`` frames).

    ``motion[i]``, ``flow[i]`` and ``hist_dist[i]`` compare frame ``i`` with frame ``i-1``
    (0 for the first frame): mean absolute grey difference of the thumbnails (0..255), mean
    optical-flow magnitude in ``FLOW_SIDE``-pixel images, and half the L1 distance of the
    colour histograms (0..1). ``noise[i]`` is the frame's high-pass residual
    level (grey levels). ``row_max``/``col_max`` hold, per row/column of the noise-sized
    image, the brightest value seen in any frame: a black bar stays dark all clip long.
    ``packet_pts`` are the video packets' presentation times in seconds, sorted.
    ``flow_hi[i]`` is the 95th percentile of the flow magnitude and ``step_hi[i]`` the
    99th percentile of the absolute grey difference: a talking head moves a small part of
    the picture, so the means drown its motion in codec noise while the top of the
    distribution keeps it (a repeated frame's top stays at noise level).
    """

    times: np.ndarray
    motion: np.ndarray
    flow: np.ndarray
    hist_dist: np.ndarray
    noise: np.ndarray
    row_max: np.ndarray
    col_max: np.ndarray
    packet_pts: np.ndarray
    flow_hi: np.ndarray
    step_hi: np.ndarray
    audio_duration: float | None
    video_duration: float
    metadata: dict = field(default_factory=dict)
    # Mean squared grey difference to the previous frame, in the noise-sized image: grows
    # with the square of a small motion, so a skipped frame stands about 4x above its
    # neighbours (the skip rhythm's signal).
    sqdiff: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # Sums of the full-resolution second-derivative profiles (per column, per row) over
    # ``resample_frames`` frames: the resampling check's evidence.
    d2_cols: np.ndarray = field(default_factory=lambda: np.zeros(0))
    d2_rows: np.ndarray = field(default_factory=lambda: np.zeros(0))
    resample_frames: int = 0
    # Per-pixel mean and spread over time of the noise-sized grey image, and the decoded
    # frames' (width, height): a burned-in overlay stays put while the picture around it
    # changes (:func:`twoface.forensics._overlay.burned_in`).
    still_mean: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    still_std: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    frame_size: tuple[int, int] = (0, 0)

    @property
    def n(self) -> int:
        return int(self.times.size)


def gather(path: Path, *, max_frames: int | None = None) -> Signals:
    """Decode ``path`` once and return its :class:`Signals`.

    ``max_frames`` stops early on long videos (the checks then see only the start).
    Raises MediaError for files that are missing, not video, or broken.
    """
    meta = read_metadata(path)
    times: list[float] = []
    motion: list[float] = []
    flow: list[float] = []
    flow_hi: list[float] = []
    step_hi: list[float] = []
    prev_small: np.ndarray | None = None
    hist_dist: list[float] = []
    noise: list[float] = []
    row_max: np.ndarray | None = None
    col_max: np.ndarray | None = None
    prev_thumb: np.ndarray | None = None
    prev_grey: np.ndarray | None = None
    sqdiff: list[float] = []
    prev_hist: np.ndarray | None = None
    d2_cols: np.ndarray | None = None
    d2_rows: np.ndarray | None = None
    d2_frames = 0
    acc_sum: np.ndarray | None = None
    acc_sq: np.ndarray | None = None
    acc_n = 0
    for frame in iter_frames(path):
        if max_frames is not None and len(times) >= max_frames:
            break
        rgb = frame.image
        h, w = rgb.shape[:2]
        # Full resolution (resampling traces live at the pixel scale); large frames only
        # every few frames, which the average over the clip hardly needs.
        if len(times) % max(1, round(h * w / 400_000)) == 0:
            cols, rows = second_derivative_profiles(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
            if d2_cols is None or d2_rows is None or d2_cols.shape != cols.shape:
                d2_cols, d2_rows, d2_frames = cols, rows, 0
            else:
                d2_cols, d2_rows = d2_cols + cols, d2_rows + rows
            d2_frames += 1
        scale = min(1.0, NOISE_SIDE / max(h, w))
        mid = rgb if scale >= 1.0 else cv2.resize(
            rgb, (max(1, round(w * scale)), max(1, round(h * scale))),
            interpolation=cv2.INTER_AREA)
        grey = cv2.cvtColor(mid, cv2.COLOR_RGB2GRAY)
        grey_f = grey.astype(np.float32)
        sqdiff.append(0.0 if prev_grey is None or prev_grey.shape != grey_f.shape
                      else float(np.mean((grey_f - prev_grey) ** 2)))
        if acc_sum is None or acc_sq is None or acc_sum.shape != grey_f.shape:
            acc_sum, acc_sq, acc_n = np.zeros(grey_f.shape), np.zeros(grey_f.shape), 0
        acc_sum += grey_f
        acc_sq += np.square(grey_f, dtype=np.float64)
        acc_n += 1
        prev_grey = grey_f
        thumb = cv2.resize(grey, (THUMB, THUMB), interpolation=cv2.INTER_AREA).astype(np.float32)
        hist = _colour_hist(mid)
        small = cv2.resize(grey, (FLOW_SIDE, FLOW_SIDE), interpolation=cv2.INTER_AREA)
        if prev_small is None:
            flow.append(0.0)
            flow_hi.append(0.0)
            step_hi.append(0.0)
        else:
            mag = _flow_field(prev_small, small)
            flow.append(float(mag.mean()))
            flow_hi.append(float(np.percentile(mag, 95)))
            diff = np.abs(small.astype(np.int16) - prev_small.astype(np.int16))
            step_hi.append(float(np.percentile(diff, 99)))
        prev_small = small
        times.append(frame.time)
        motion.append(0.0 if prev_thumb is None else float(np.abs(thumb - prev_thumb).mean()))
        hist_dist.append(0.0 if prev_hist is None else float(np.abs(hist - prev_hist).sum() / 2))
        noise.append(_noise_level(grey))
        rmax, cmax = grey.max(axis=1), grey.max(axis=0)
        row_max = rmax if row_max is None else np.maximum(row_max, rmax)
        col_max = cmax if col_max is None else np.maximum(col_max, cmax)
        prev_thumb, prev_hist = thumb, hist
    assert row_max is not None and col_max is not None  # iter_frames raises on no frames
    assert acc_sum is not None and acc_sq is not None
    still_mean = acc_sum / acc_n
    still_std = np.sqrt(np.maximum(acc_sq / acc_n - still_mean ** 2, 0.0))
    return Signals(
        times=np.asarray(times), motion=np.asarray(motion), flow=np.asarray(flow),
        hist_dist=np.asarray(hist_dist),
        noise=np.asarray(noise), row_max=row_max, col_max=col_max,
        packet_pts=np.asarray(meta.pop("_packet_pts")),
        flow_hi=np.asarray(flow_hi), step_hi=np.asarray(step_hi),
        audio_duration=meta.pop("_audio_duration"), video_duration=meta.pop("_video_duration"),
        metadata=meta, d2_cols=d2_cols if d2_cols is not None else np.zeros(0),
        d2_rows=d2_rows if d2_rows is not None else np.zeros(0), resample_frames=d2_frames,
        sqdiff=np.asarray(sqdiff), still_mean=still_mean, still_std=still_std,
        frame_size=(w, h),
    )


def read_metadata(path: Path) -> dict:
    """Container and stream tags, plus packet times and stream durations, by demuxing only.

    Private keys (``_packet_pts``, ``_audio_duration``, ``_video_duration``) are popped by
    :func:`gather`; the rest is reported as-is so the user sees the raw evidence.
    """
    with open_input(path) as container:
        video = next(iter(container.streams.video), None)
        audio = next(iter(container.streams.audio), None)
        streams = []
        for s in container.streams:
            streams.append({"index": s.index, "type": s.type, "codec": s.codec_context.name,
                            "tags": dict(s.metadata)})
        meta: dict = {"format": container.format.name, "tags": dict(container.metadata),
                      "streams": streams}
        pts: list[float] = []
        video_bytes = 0
        settings: dict | None = None
        audio_end: float | None = None
        audio_start: float | None = None
        if video is not None:
            tb = float(video.time_base or 0) or 1 / 90000
            origin = video.start_time or 0
            wanted = [video] + ([audio] if audio is not None else [])
            # A damaged tail only shortens the lists; decoding reports the damage properly.
            with contextlib.suppress(*AV_ERRORS):
                for packet in container.demux(wanted):
                    if not packet.size or packet.pts is None:
                        continue
                    if packet.stream.type == "video":
                        pts.append((packet.pts - origin) * tb)
                        video_bytes += packet.size
                        if settings is None and len(pts) <= 3:
                            settings = encoder_settings(bytes(packet))
                    else:
                        atb = float(packet.time_base)
                        start = packet.pts * atb
                        end = start + (packet.duration or 0) * atb
                        audio_start = start if audio_start is None else min(audio_start, start)
                        audio_end = end if audio_end is None else max(audio_end, end)
        pts.sort()
        meta["_packet_pts"] = pts
        meta["encoder_settings"] = settings or {}
        if video is not None and pts:
            pixels = (video.codec_context.width or 0) * (video.codec_context.height or 0)
            meta["bits_per_pixel"] = round(8 * video_bytes / max(1, pixels * len(pts)), 4)
        meta["_audio_duration"] = (None if audio_end is None or audio_start is None
                                   else audio_end - audio_start)
        if video is not None and video.duration and video.time_base:
            meta["_video_duration"] = float(video.duration * video.time_base)
        elif len(pts) >= 2:
            meta["_video_duration"] = pts[-1] - pts[0] + float(np.median(np.diff(pts)))
        else:
            meta["_video_duration"] = 0.0
    return meta


# x264 and x265 write their version and every option into the first access unit as a
# "user data unregistered" SEI message: a record of the last software encode.
_SETTINGS = re.compile(rb"(x26[45] [ -~]{0,200}?)options: ([ -~]{0,4000})")


def encoder_settings(packet: bytes) -> dict | None:
    """The encoder name and options an x264/x265 stream records about itself, if any."""
    m = _SETTINGS.search(packet)
    if m is None:
        return None
    parts = m.group(1).decode("ascii").split(" - ")
    name = " ".join(p.strip() for p in parts[:2])  # "x264 core 164 r3108 31e19f9"
    options = {}
    for item in m.group(2).decode("ascii").split():
        key, sep, value = item.partition("=")
        if sep:
            options[key] = value
    return {"encoder": name, "options": options}


def _colour_hist(rgb: np.ndarray) -> np.ndarray:
    """Joint-free RGB histogram (three channels side by side), summing to 1 per channel."""
    parts = [cv2.calcHist([rgb], [c], None, [HIST_BINS], [0, 256]).ravel() for c in range(3)]
    hist = np.concatenate(parts)
    return hist / max(1.0, float(hist.sum()) / 3)


def _flow_field(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Farneback optical-flow magnitude per pixel from ``a`` to ``b`` (pixels, uint8 greys)."""
    # OpenCV's stubs want a flow array; None (allocate one) is what its docs allow.
    f = cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 9, 3, 5, 1.1, 0)  # type: ignore[call-overload]
    return np.linalg.norm(f, axis=2)


def _noise_level(grey: np.ndarray) -> float:
    """Robust high-pass residual level: median absolute Laplacian-like residual.

    The median ignores edges (few pixels) and tracks the flat-area grain that a camera,
    a denoiser or an encoder setting leaves, which differs between two spliced sources.
    """
    g = grey.astype(np.float32)
    residual = g - cv2.blur(g, (3, 3))
    return float(np.median(np.abs(residual)))
