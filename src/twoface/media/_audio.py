"""Carry a source file's audio into a video being written.

The packets are copied untouched when the output container takes the codec (AAC, MP3, ALAC
and Opus all fit MP4), so the sound is bit-identical; anything else (PCM from a WAV, Vorbis
in an MP4, ...) is decoded and re-encoded to AAC at 96 kb/s per channel.

Timing: time 0 of the output is the start of the source's *video* stream when it has one
(so lips stay in sync with the frames written from that source), else the start of its
audio. Packets are handed out in time order so that the writer can interleave them with the
video as it goes instead of buffering a whole track in memory.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import av.container
import numpy as np

from twoface.errors import MediaError
from twoface.media._avio import AV_ERRORS, canonical_codec, open_input

# Audio codecs each output container takes as they are (FFmpeg's muxers accept these).
_MP4_AUDIO = {"aac", "mp3", "alac", "opus", "flac", "ac3", "eac3"}
_COPYABLE: dict[str, set[str]] = {
    ".mp4": _MP4_AUDIO,
    ".m4v": _MP4_AUDIO,
    ".mov": {"aac", "mp3", "alac", "ac3", "pcm_s16le", "pcm_s24le", "pcm_f32le"},
    ".mkv": _MP4_AUDIO | {"vorbis", "pcm_s16le", "pcm_s24le", "pcm_f32le"},
    ".avi": {"mp3", "ac3", "pcm_s16le"},
}
# Sample rates the AAC encoder takes; others are resampled to 48 kHz.
_AAC_RATES = {7350, 8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000,
              88200, 96000}
# Timestamp jitter below this many seconds is not a gap or an overlap worth mending.
_JITTER = 0.002


class AudioPassthrough:
    """The audio of ``source`` as packets for ``output``; built by :func:`open_passthrough`."""

    def __init__(self, output: av.container.OutputContainer, source: Path,
                 container: av.container.InputContainer, stack: contextlib.ExitStack,
                 suffix: str) -> None:
        self.source = source
        self._output = output
        self._input = container
        self._stack = stack
        self._in = container.streams.audio[0]
        # Time 0 of the output, in the source's seconds.
        video = [s for s in container.streams.video
                 if not s.disposition & av.stream.Disposition.attached_pic]
        anchor = video[0] if video else self._in
        self._origin = float((anchor.start_time or 0) * anchor.time_base) if anchor.time_base \
            else 0.0
        codec = canonical_codec(self._in)
        # AAC without extradata is ADTS-framed (from MPEG-TS or AVI): MP4 needs the raw form,
        # so such a track is re-encoded rather than copied into a file that will not mux.
        adts = codec == "aac" and not self._in.codec_context.extradata
        self.copied = codec in _COPYABLE.get(suffix, set()) and not adts
        if self.copied:
            self._out = output.add_stream_from_template(self._in)
            self._packets = self._copy()
        else:
            channels = self._in.codec_context.layout.nb_channels
            # AAC knows mono, stereo, 5.1 and 7.1; other layouts are mixed down to stereo.
            self._layout = {1: "mono", 2: "stereo", 6: "5.1", 8: "7.1"}.get(channels, "stereo")
            rate = self._in.rate if self._in.rate in _AAC_RATES else 48000
            self._rate = rate
            self._out = output.add_stream("aac", rate=rate, layout=self._layout)
            self._out.bit_rate = min(96_000 * av.AudioLayout(self._layout).nb_channels, 512_000)
            self._packets = self._encode()
        self._pending: tuple[float, av.Packet] | None = None

    def pump(self, until: float | None = None) -> None:
        """Mux every packet that starts before ``until`` seconds (all that are left if None)."""
        while True:
            if self._pending is None:
                try:
                    self._pending = next(self._packets, None)
                except AV_ERRORS as exc:
                    raise MediaError(self.source, "audio track is truncated or corrupt") from exc
                if self._pending is None:
                    return
            start, packet = self._pending
            if until is not None and start > until:
                return
            self._output.mux(packet)
            self._pending = None

    def close(self) -> None:
        """Close the source file."""
        self._stack.close()

    def _copy(self) -> Iterator[tuple[float, av.Packet]]:
        """The source's packets, shifted so that the output's time 0 is the source's origin."""
        tb = self._in.time_base
        assert tb is not None  # a demuxed stream always has one
        shift = round(Fraction(self._origin) / tb)
        for packet in self._input.demux(self._in):
            if not packet.size or packet.dts is None:
                continue  # the flush packet at the end
            packet.dts -= shift
            packet.pts = packet.dts if packet.pts is None else packet.pts - shift
            packet.stream = self._out
            yield float(packet.pts * tb), packet

    def _encode(self) -> Iterator[tuple[float, av.Packet]]:
        """Decode, lay the samples on a gapless timeline from 0, encode AAC."""
        rate = self._rate
        resampler = av.AudioResampler(format="fltp", layout=self._layout, rate=rate)
        written = 0  # samples handed to the encoder so far: the next one's position
        origin = round(self._origin * rate)
        decoded = self._input.decode(self._in)
        for frame in _then_none(decoded):
            for chunk in resampler.resample(frame):
                samples = chunk.to_ndarray()  # (channels, n) float32
                t = chunk.time  # None exactly when chunk.pts is
                at = written if t is None else round(t * rate) - origin
                if at - written > _JITTER * rate:
                    # A hole in the source (or audio that starts after the video): silence,
                    # so that later sound stays at its time.
                    for gap in _silence(samples.shape[0], at - written, rate):
                        yield from self._encode_samples(gap, written)
                        written += gap.shape[1]
                elif written - at > _JITTER * rate:
                    # Overlap (or audio before the video's start): drop what is already past.
                    samples = samples[:, written - at:]
                if samples.shape[1]:
                    yield from self._encode_samples(samples, written)
                    written += samples.shape[1]
        for packet in self._out.encode(None):
            yield _start(packet), packet

    def _encode_samples(self, samples: np.ndarray, at: int) -> Iterator[tuple[float, av.Packet]]:
        """Encode ``(channels, n)`` float32 samples placed at sample ``at``."""
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples, dtype=np.float32),
                                           format="fltp", layout=self._layout)
        frame.sample_rate = self._rate
        frame.time_base = Fraction(1, self._rate)
        frame.pts = at
        for packet in self._out.encode(frame):
            yield _start(packet), packet


def _start(packet: av.Packet) -> float:
    """An encoded packet's start in seconds (an encoder stamps both pts and time base)."""
    assert packet.pts is not None and packet.time_base is not None
    return float(packet.pts * packet.time_base)


def open_passthrough(output: av.container.OutputContainer, source: Path,
                     suffix: str) -> AudioPassthrough | None:
    """Add ``source``'s first audio stream to ``output``; None when it has no audio.

    Raises MediaError when ``source`` cannot be read.
    """
    stack = contextlib.ExitStack()
    try:
        container = stack.enter_context(open_input(source, "media"))
        if not container.streams.audio:
            stack.close()
            return None
        return AudioPassthrough(output, source, container, stack, suffix)
    except BaseException:
        stack.close()
        raise


def _then_none(frames: Iterator[av.AudioFrame]) -> Iterator[av.AudioFrame | None]:
    """The frames, then None: a resampler flushes what it holds when given None."""
    yield from frames
    yield None


def _silence(channels: int, count: int, rate: int) -> Iterator[np.ndarray]:
    """``count`` samples of silence in blocks of at most one second."""
    while count > 0:
        n = min(count, rate)
        yield np.zeros((channels, n), dtype=np.float32)
        count -= n
