"""Read videos with PyAV: probe, iterate frames with real timestamps, grab one frame.

Frames come out as ``H×W×3`` uint8 RGB with the stream's rotation already applied, so a
portrait phone video reads upright. Times are seconds from the video stream's start; a
variable-frame-rate source keeps its real timestamps. The writer lives in
:mod:`twoface.media.writer` and is re-exported here.

Rotation: PyAV 18 exposes the display matrix of each decoded frame as ``frame.rotation``
(degrees counter-clockwise, FFmpeg's ``av_display_rotation_get``). Files tagged the old way
(a ``rotate`` stream tag, degrees clockwise) are honoured too. Mirroring in the display
matrix is not applied: PyAV does not expose it on read.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.container
import av.video.stream
import numpy as np

from twoface.errors import MediaError
from twoface.media._avio import (
    AV_ERRORS,
    TRUNCATED,
    canonical_codec,
    check_file,
    data_missing,
    looks_like_video_container,
    open_input,
)
from twoface.media.limits import check_frame_size
from twoface.media.writer import VideoWriter, write_video
from twoface.types import VideoFrame

__all__ = ["VideoInfo", "VideoWriter", "iter_frames", "probe", "read_frame", "write_video"]

# Packets looked at to guess whether the frame rate varies: a few seconds of video.
_VFR_WINDOW = 300
# A decoder may show up to this many frames before the one it decodes (B-frame reordering),
# so a window cut mid-stream can miss as many timestamps at its end.
_REORDER_SLACK = 16
# Frame times are exact rationals turned into floats; compare them with this slack.
_EPS = 1e-6


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe` learns about a video.

    ``width``/``height`` are the displayed size, after rotation; ``rotation`` is in degrees
    counter-clockwise (0, 90, 180 or 270); ``fps`` is the average rate; ``time_base`` the
    video stream's tick, in seconds.
    """

    path: Path
    width: int
    height: int
    fps: float
    frame_count: int
    duration: float
    codec: str
    rotation: int
    has_audio: bool
    audio_codec: str | None
    audio_rate: int | None
    time_base: Fraction
    variable_frame_rate: bool


def probe(path: str | Path) -> VideoInfo:
    """Describe the video at ``path`` without decoding more than its first frame.

    The frame count comes from the container's header when it has one (MP4/MOV) and is
    counted by demuxing every packet otherwise (MKV/WebM): cheap, since nothing is decoded.
    Whether the frame rate varies is judged from the spacing of the first few hundred
    packets' timestamps (all of them when the file was demuxed anyway).
    """
    path = Path(path)
    with _open_video(path) as (container, stream):
        header_frames = stream.frames or 0
        limit = _VFR_WINDOW if header_frames > 0 else None
        try:
            pts, count, complete, first = _scan(container, stream, limit)
        except AV_ERRORS as exc:
            raise MediaError(path, TRUNCATED) from exc
        if count == 0:
            raise MediaError(path, "video has no frames")
        if first is None:
            raise MediaError(path, TRUNCATED)
        frame_count = header_frames if header_frames > 0 else count
        tb = stream.time_base or Fraction(1, 90000)
        rotation = _rotation(first, stream)
        rate = stream.average_rate or stream.guessed_rate
        if stream.duration:
            duration = float(stream.duration * tb)
        elif container.duration:
            duration = container.duration / av.time_base
        elif rate:
            duration = frame_count / float(rate)
        else:
            duration = 0.0
        if not rate:
            rate = Fraction(frame_count) / Fraction(duration) if duration > 0 else Fraction(0)
        width, height = stream.codec_context.width, stream.codec_context.height
        if rotation in (90, 270):
            width, height = height, width
        audio = next(iter(container.streams.audio), None)
        return VideoInfo(
            path=path,
            width=width,
            height=height,
            fps=float(rate),
            frame_count=frame_count,
            duration=duration,
            codec=canonical_codec(stream),
            rotation=rotation,
            has_audio=audio is not None,
            audio_codec=None if audio is None else canonical_codec(audio),
            audio_rate=None if audio is None else audio.rate,
            time_base=Fraction(tb),
            variable_frame_rate=_is_vfr(pts, complete),
        )


def iter_frames(
    path: str | Path, *, start: float = 0.0, end: float | None = None, every: int = 1
) -> Iterator[VideoFrame]:
    """Yield the frames shown in ``[start, end)`` seconds, every ``every``-th of them.

    ``index`` counts frames from the start of the file even when ``start`` > 0 (the decoder
    seeks to the keyframe before ``start`` and drops what precedes it); ``every`` counts from
    the first frame yielded. ``time`` is the frame's presentation time in seconds from the
    stream's start. Each ``image`` is ``H×W×3`` uint8 RGB, rotated upright.

    Raises MediaError for a file that is missing, not a video, or broken; the file is opened
    on the first ``next()``, but a missing file is reported at once.
    """
    if every < 1:
        raise ValueError(f"every must be at least 1, got {every}")
    if start < 0:
        raise ValueError(f"start must not be negative, got {start}")
    if end is not None and end <= start:
        raise ValueError(f"end ({end}) must be after start ({start})")
    path = Path(path)
    check_file(path)
    return _iter_frames(path, start, end, every)


def _iter_frames(path: Path, start: float, end: float | None, every: int) -> Iterator[VideoFrame]:
    taken = 0
    with contextlib.closing(_decode(path, start)) as frames:
        for index, time, frame, rotation in frames:
            if time < start - _EPS:
                continue
            if end is not None and time >= end - _EPS:
                break
            if taken % every == 0:
                yield VideoFrame(index, time, _to_rgb(frame, rotation))
            taken += 1


def read_frame(path: str | Path, time: float) -> VideoFrame:
    """The frame on screen at ``time`` seconds: the last one whose time is not after it.

    Raises MediaError when ``time`` is past the end of the video, ValueError when negative.
    """
    if time < 0:
        raise ValueError(f"time must not be negative, got {time}")
    path = Path(path)
    check_file(path)
    shown = None
    ran_out = True
    with contextlib.closing(_decode(path, time)) as frames:
        for decoded in frames:
            if decoded[1] > time + _EPS and shown is not None:
                ran_out = False
                break
            # The first frame stands for any time before it (a stream whose first pts is late).
            shown = decoded
            if decoded[1] > time + _EPS:
                ran_out = False
                break
        if shown is None:
            raise MediaError(path, "video has no frames")
        index, t, frame, rotation = shown
        image = _to_rgb(frame, rotation)
    if ran_out and time > t + _EPS:
        # Past the last frame: it stays on screen only until the video's end.
        end = probe(path).duration
        if time > max(end, t) + _EPS:
            raise MediaError(path, f"{time:.3f} s is past the end of the video ({end:.3f} s)")
    return VideoFrame(index, t, image)


@contextlib.contextmanager
def _open_video(
    path: Path,
) -> Iterator[tuple[av.container.InputContainer, av.video.stream.VideoStream]]:
    """Open ``path`` and pick its video stream, refusing files that have none."""
    with open_input(path) as container:
        fmt = container.format.name or ""
        if fmt == "image2" or fmt.endswith("_pipe"):  # FFmpeg opens a picture as a video
            raise MediaError(path, f"is a still image ({fmt.removesuffix('_pipe')}), not a "
                             "video")
        # Cover art in an audio file is a one-picture "video" stream; it is no video.
        streams = [
            s for s in container.streams.video
            if not s.disposition & av.stream.Disposition.attached_pic
        ]
        if not streams:
            if container.streams.audio:
                raise MediaError(path, "has no video stream (audio only)")
            if not container.streams and looks_like_video_container(path):
                # An MP4 cut before its index opens with no streams at all.
                raise MediaError(path, TRUNCATED)
            raise MediaError(path, "has no video stream")
        if data_missing(container, path):
            raise MediaError(path, TRUNCATED)
        ctx = streams[0].codec_context
        if ctx is None:
            raise MediaError(path, "video stream has no decoder (unknown or damaged codec)")
        check_frame_size(path, ctx.width, ctx.height)  # from the header, before decoding
        yield container, streams[0]


def _decode(path: Path, seek: float
            ) -> Generator[tuple[int, float, av.VideoFrame, int], None, None]:
    """Decode from the keyframe before ``seek`` seconds on: ``(index, time, frame, rotation)``.

    Frames are left in PyAV's form so that the ones a caller drops cost no RGB conversion.
    """
    with _open_video(path) as (container, stream):
        tb = stream.time_base
        assert tb is not None  # a demuxed stream always has one
        origin = stream.start_time or 0
        rate = stream.average_rate or stream.guessed_rate
        # Frame threads decode several frames at once: the speed-up that matters on long videos.
        stream.thread_type = "AUTO"
        try:
            frames, first = _seek(container, stream, seek)
        except AV_ERRORS as exc:
            raise MediaError(path, TRUNCATED) from exc
        if first is None:
            raise MediaError(path, "video has no frames")
        try:
            step = round(1 / (rate * tb)) if rate else 1
            index = None
            pts = origin - step
            for frame in itertools.chain([first], frames):
                # A frame without pts (rare: raw streams) follows its predecessor by one step.
                pts = frame.pts if frame.pts is not None else pts + step
                time = float((pts - origin) * tb)
                check_frame_size(path, frame.width, frame.height)  # a mid-stream size change
                if index is None:
                    index = 0 if seek <= 0 else _index_at(path, stream.index, pts, time, rate)
                else:
                    index += 1
                yield index, time, frame, _rotation(frame, stream)
        except AV_ERRORS as exc:
            raise MediaError(path, TRUNCATED) from exc


def _seek(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, seek: float
) -> tuple[Iterator[av.VideoFrame], av.VideoFrame | None]:
    """Position the decoder at or before ``seek`` seconds: (remaining frames, first frame)."""
    tb = stream.time_base
    assert tb is not None  # a demuxed stream always has one
    origin = stream.start_time or 0
    frames = container.decode(stream)
    if seek <= 0:
        return frames, next(frames, None)
    rate = stream.average_rate or stream.guessed_rate or 25
    # MP4 seeks by decode time, which runs ahead of presentation time by the B-frame delay:
    # aiming that much earlier keeps the keyframe from landing after the target.
    target = max(0.0, seek - _REORDER_SLACK / float(rate))
    container.seek(origin + int(Fraction(target) / tb), stream=stream, backward=True)
    frames = container.decode(stream)
    first = next(frames, None)
    landed = None if first is None or first.pts is None else float((first.pts - origin) * tb)
    if landed is not None and landed <= seek + _EPS:
        return frames, first
    # The demuxer landed after the target (an index without a keyframe early enough):
    # decoding from the start is slow but never wrong.
    container.seek(origin, stream=stream, backward=True)
    frames = container.decode(stream)
    return frames, next(frames, None)


def _index_at(path: Path, stream_index: int, pts: int, time: float, rate: Fraction | None) -> int:
    """The index, counted from the start of the file, of the frame shown at ``pts``.

    At a constant rate it is ``time × fps``. When the first packets say the rate varies,
    count the packets shown earlier instead: demuxing without decoding is cheap.
    """
    with open_input(path) as container:
        stream = container.streams[stream_index]
        packets = _packet_times(container, stream)
        window = list(itertools.islice(packets, _VFR_WINDOW))
        complete = len(window) < _VFR_WINDOW
        if rate and not _is_vfr([p for p, _ in window if p is not None], complete):
            return round(time * float(rate))
        count = sum(1 for p, _ in window if p is not None and p < pts)
        for p, d in packets:
            # A packet is never shown before it is decoded: once dts passes pts, stop.
            if d is not None and d > pts:
                break
            if p is not None and p < pts:
                count += 1
        return count


def _packet_times(
    container: av.container.InputContainer, stream: av.stream.Stream
) -> Iterator[tuple[int | None, int | None]]:
    """(pts, dts) of every real packet of ``stream``, in file order."""
    for packet in container.demux(stream):
        if packet.size:  # the empty packet at the end only flushes the decoder
            yield packet.pts, packet.dts


def _scan(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, limit: int | None
) -> tuple[list[int], int, bool, av.VideoFrame | None]:
    """Demux up to ``limit`` packets (all when None), decoding only the first frame.

    Returns the packets' pts, how many packets there were, whether that was all of them,
    and the first frame.
    """
    pts: list[int] = []
    count = 0
    first = None
    complete = True
    for packet in container.demux(stream):
        if not packet.size:
            continue
        count += 1
        if packet.pts is not None:
            pts.append(packet.pts)
        if first is None:
            first = next(iter(packet.decode()), None)
        if limit is not None and count >= limit and first is not None:
            complete = False
            break
    if first is None and count:
        # The decoder holds frames back for reordering; flushing hands them out.
        first = next(iter(stream.codec_context.decode(None)), None)
    return pts, count, complete, first


def _is_vfr(pts: list[int], complete: bool) -> bool:
    """Whether presentation times are spaced unevenly (beyond the time base's rounding)."""
    ticks = sorted(pts)
    if not complete:
        ticks = ticks[:-_REORDER_SLACK]
    if len(ticks) < 3:
        return False
    gaps = np.diff(np.asarray(ticks, dtype=np.int64))
    gaps = gaps[gaps > 0]
    if gaps.size < 2:
        return False
    # Two ticks of slack: a 29.97 fps video in MKV's millisecond ticks alternates 33/34 ms.
    return bool(gaps.max() - gaps.min() > max(2.0, 0.1 * float(np.median(gaps))))


def _rotation(frame: av.VideoFrame, stream: av.video.stream.VideoStream) -> int:
    """Counter-clockwise rotation to display the frame upright: 0, 90, 180 or 270."""
    degrees: float = frame.rotation
    if not degrees:
        tag = stream.metadata.get("rotate")
        with contextlib.suppress(ValueError):
            # The legacy tag counts clockwise.
            degrees = -float(tag) if tag else 0
    return round(degrees / 90) % 4 * 90


def _to_rgb(frame: av.VideoFrame, rotation: int) -> np.ndarray:
    """``H×W×3`` uint8 RGB of ``frame``, turned ``rotation`` degrees counter-clockwise."""
    image: np.ndarray = frame.to_ndarray(format="rgb24")
    if rotation:
        image = np.ascontiguousarray(np.rot90(image, rotation // 90))
    return image
