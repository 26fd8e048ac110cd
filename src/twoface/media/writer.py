"""Write H.264 videos with PyAV, atomically, optionally carrying another file's audio.

The video goes to a temporary file beside the target and replaces it only when
:meth:`VideoWriter.close` succeeds; an exception inside ``with VideoWriter(...)`` removes the
temporary file and leaves whatever was at the target untouched.

Odd sizes: 4:2:0 (and 4:2:2) chroma needs even sides, so an odd last row/column is *cropped*
rather than padded. Cropping keeps pixel coordinates (anchored top-left) and never puts
pixels into the output that were not in the input, which matters for forensics and
watermarks; the price is one lost row or column.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable, Iterable
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import av.container
import av.video.stream
import numpy as np

from twoface.errors import MediaError
from twoface.fileio import atomic_path
from twoface.media._audio import AudioPassthrough, open_passthrough
from twoface.media._avio import AV_ERRORS, check_file

__all__ = ["VideoWriter", "write_video"]

log = logging.getLogger(__name__)

# Containers that hold H.264 (WebM does not: it takes VP8/VP9/AV1 only).
_WRITABLE = {".mp4", ".m4v", ".mov", ".mkv", ".avi"}
# Tried in order. libx264 is in the PyPI wheels of PyAV; the others only take a bitrate.
ENCODERS = ("libx264", "libopenh264", "mpeg4")
# Timestamps tick at ~90 kHz (MPEG's clock): fine enough for a VFR source's times, and
# whole ticks per frame at the nominal rate. MPEG-4 part 2 caps the clock at 65535 Hz.
_CLOCK = {"libx264": 90_000, "libopenh264": 90_000, "mpeg4": 60_000}


class VideoWriter:
    """Encode RGB frames to an H.264 video at ``path`` (container chosen by the suffix).

    ``fps`` is the nominal rate: frames written without a time follow each other at it.
    ``crf`` is x264's constant quality (0 lossless … 51 worst; 18 looks lossless). With
    ``audio_from``, that file's audio is carried over (see :mod:`twoface.media._audio`);
    a file without audio simply gives a silent video. ``finish`` is called on the finished
    temporary file just before it replaces ``path`` (provenance signs it there, so that the
    video never exists marked but unsigned).

    Use it as a context manager::

        with VideoWriter("out.mp4", fps=info.fps, audio_from=source) as writer:
            for frame in frames:
                writer.write(frame.image, frame.time)
    """

    def __init__(self, path: str | Path, fps: float | Fraction = 25, *, crf: int = 18,
                 audio_from: str | Path | None = None, preset: str = "medium",
                 pix_fmt: str = "yuv420p", finish: Callable[[Path], None] | None = None
                 ) -> None:
        self.path = Path(path)
        self._finish = finish
        if self.path.suffix.lower() not in _WRITABLE:
            raise MediaError(self.path, f"cannot write H.264 into '{self.path.suffix}'; "
                             f"use one of {', '.join(sorted(_WRITABLE))}")
        self.fps = Fraction(fps).limit_denominator(100_000)
        if self.fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        if not 0 <= crf <= 51:
            raise ValueError(f"crf must be in 0..51, got {crf}")
        try:
            # A 4×4 picture tells whether the chroma planes are subsampled (smaller).
            planes = av.VideoFormat(pix_fmt, 4, 4).components
        except (ValueError, av.error.FFmpegError) as exc:
            raise ValueError(f"unknown pixel format {pix_fmt!r}") from exc
        self._even = (any(p.width < 4 for p in planes), any(p.height < 4 for p in planes))
        self.crf, self.preset, self.pix_fmt = crf, preset, pix_fmt
        self.audio_from = None if audio_from is None else Path(audio_from)
        if self.audio_from is not None:
            check_file(self.audio_from, "media")  # fail now, not after an hour of encoding
        self.encoder = _pick_encoder(self.path)
        num = self.fps.numerator
        self.time_base = Fraction(1, num * max(1, math.ceil(_CLOCK[self.encoder] / num)))
        self._step = round(1 / (self.fps * self.time_base))  # ticks per nominal frame
        self._stack: contextlib.ExitStack | None = None
        self._tmp: Path | None = None
        self._container: av.container.OutputContainer | None = None
        self._stream: av.video.stream.VideoStream | None = None
        self._audio: AudioPassthrough | None = None
        self._shape: tuple[int, int] | None = None
        self._next_pts = 0
        self._last_pts: int | None = None
        self.frames_written = 0
        self._closed = False

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc is None:
            self.close()
        else:
            self._abort(exc)

    def write(self, image: np.ndarray, time: float | None = None) -> None:
        """Append one ``H×W×3`` uint8 RGB (or ``H×W`` gray) frame shown at ``time`` seconds.

        ``time=None`` places the frame one nominal period after the previous one; explicit
        times (strictly increasing) keep a variable-frame-rate source's timing. Every frame
        must have the size of the first.
        """
        if self._closed:
            raise ValueError(f"{self.path}: writer is closed")
        image = _as_rgb(image)
        if self._shape is None:
            self._start(image.shape[0], image.shape[1])
        elif image.shape[:2] != self._shape:
            raise ValueError(f"frame is {image.shape[1]}×{image.shape[0]} px but the video is "
                             f"{self._shape[1]}×{self._shape[0]} px")
        pts = self._next_pts if time is None else round(Fraction(float(time)) / self.time_base)
        if self._last_pts is not None and pts <= self._last_pts:
            raise ValueError(f"frame time {time} s is not after the previous frame's "
                             f"({float(self._last_pts * self.time_base)} s)")
        h, w = image.shape[:2]
        image = image[: h - h % 2 if self._even[1] else h, : w - w % 2 if self._even[0] else w]
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
        frame.pts = pts
        frame.time_base = self.time_base
        assert self._stream is not None and self._container is not None
        try:
            for packet in self._stream.encode(frame):
                self._container.mux(packet)
            if self._audio is not None:
                self._audio.pump(float(pts * self.time_base))
        except AV_ERRORS as exc:
            raise MediaError(self.path, f"cannot encode video: {exc}") from exc
        self._last_pts, self._next_pts = pts, pts + self._step
        self.frames_written += 1

    def close(self) -> Path:
        """Finish the file and move it into place; returns ``path``. Idempotent."""
        if self._closed:
            return self.path
        if self._container is None:
            self._closed = True
            raise MediaError(self.path, "no frames were written")
        assert self._stream is not None and self._stack is not None
        errors: tuple[type[BaseException], ...] = (*AV_ERRORS, MediaError)
        try:
            for packet in self._stream.encode(None):  # drain the encoder's look-ahead
                self._container.mux(packet)
            if self._audio is not None:
                self._audio.pump(None)
            self._container.close()
        except errors as exc:
            self._abort(exc)
            if isinstance(exc, MediaError):
                raise
            raise MediaError(self.path, f"cannot finish video: {exc}") from exc
        if self._audio is not None:
            self._audio.close()
        if self._finish is not None:
            assert self._tmp is not None
            try:
                self._finish(self._tmp)
            except BaseException as exc:
                self._container = self._audio = None  # both closed already
                self._abort(exc)
                raise
        self._stack.close()  # fsync and rename into place
        self._closed = True
        return self.path

    def _start(self, height: int, width: int) -> None:
        """Open the temporary output and its streams, sized by the first frame."""
        w = width - width % 2 if self._even[0] else width
        h = height - height % 2 if self._even[1] else height
        if w < 2 or h < 2:
            raise ValueError(f"frame is {width}×{height} px; too small for a video")
        self._shape = (height, width)
        stack = contextlib.ExitStack()
        tmp = stack.enter_context(atomic_path(self.path, clean=True))
        self._stack, self._tmp = stack, tmp
        suffix = self.path.suffix.lower()
        # faststart puts the index first: the file plays while it downloads (HTML reports).
        options = {"movflags": "+faststart"} if suffix in {".mp4", ".m4v", ".mov"} else {}
        try:
            self._container = av.open(str(tmp), "w", options=options)
            stream = self._container.add_stream(self.encoder, rate=self.fps)
            assert isinstance(stream, av.VideoStream)  # what a video encoder makes
            stream.width, stream.height, stream.pix_fmt = w, h, self.pix_fmt
            stream.time_base = self.time_base
            stream.codec_context.time_base = self.time_base
            if self.encoder == "libx264":
                stream.options = {"crf": str(self.crf), "preset": self.preset}
            else:
                # No constant-quality knob: a bitrate that looks like crf 18 at this size.
                bits_per_pixel = 0.15 * 2 ** ((18 - self.crf) / 6)
                stream.bit_rate = int(w * h * float(self.fps) * bits_per_pixel)
            self._stream = stream
            if self.audio_from is not None:
                self._audio = open_passthrough(self._container, self.audio_from, suffix)
        except BaseException as exc:
            self._abort(exc)
            if isinstance(exc, AV_ERRORS):
                raise MediaError(self.path, f"cannot open for writing: {exc}") from exc
            raise

    def _abort(self, exc: BaseException) -> None:
        """Drop the temporary file and release everything; the target stays as it was."""
        self._closed = True
        if self._container is not None:
            with contextlib.suppress(*AV_ERRORS):
                self._container.close()
        if self._audio is not None:
            self._audio.close()
        if self._stack is not None:
            # atomic_path removes its temporary file when it sees an exception.
            with contextlib.suppress(BaseException):
                self._stack.__exit__(type(exc), exc, exc.__traceback__)


def write_video(path: str | Path, frames: Iterable[np.ndarray], fps: float | Fraction = 25, *,
                crf: int = 18, audio_from: str | Path | None = None) -> Path:
    """Write ``frames`` (each ``H×W×3`` uint8 RGB) at ``fps`` to ``path``; returns ``path``."""
    with VideoWriter(path, fps, crf=crf, audio_from=audio_from) as writer:
        for image in frames:
            writer.write(image)
    return writer.path


def _pick_encoder(path: Path) -> str:
    """The first encoder this PyAV build has: libx264 unless it is missing."""
    for name in ENCODERS:
        try:
            av.codec.Codec(name, "w")
        except (ValueError, av.error.FFmpegError):
            continue
        if name != ENCODERS[0]:
            log.warning("libx264 is not in this PyAV build; writing %s with %s instead "
                        "(crf is approximated by a bitrate)", path.name, name)
        return name
    raise MediaError(path, "this PyAV build has no H.264 encoder (libx264); "
                     "install the PyPI wheel of 'av', which ships it")


def _as_rgb(image: np.ndarray) -> np.ndarray:
    """Check a frame and make it ``H×W×3`` uint8 (a gray ``H×W`` one is repeated 3 times)."""
    if not isinstance(image, np.ndarray):
        raise TypeError(f"frame must be a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise ValueError(f"frame must be uint8, got {image.dtype}")
    if image.ndim == 2:
        return np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"frame must be H×W×3 RGB or H×W gray, got shape {image.shape}")
    return image
