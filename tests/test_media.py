"""Tests for twoface.media: every file is made on the fly, small and short."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from PIL import Image

import twoface.media.writer as writer_module
from twoface.errors import MediaError
from twoface.media import (
    VideoWriter,
    collect_media,
    iter_frames,
    media_kind,
    probe,
    read_frame,
    read_image,
    write_image,
    write_video,
)

RATE = 44100
TONE_ON = (0.25, 0.75)  # seconds of 440 Hz tone in a 1 s track; silence around it


# ---------------------------------------------------------------- helpers


def make_frames(n: int, h: int = 60, w: int = 80) -> list[np.ndarray]:
    """``n`` smooth RGB frames (gradients and a moving soft blob) that H.264 keeps well."""
    yy, xx = np.mgrid[:h, :w].astype(np.float64)
    out = []
    for i in range(n):
        cx, cy = (10 + 2 * i) % w, h / 2
        blob = 120 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / 60)
        r = 40 + 2 * xx + blob
        g = 60 + 2 * yy
        b = 200 - xx - yy + blob / 2
        out.append(np.clip(np.stack([r, g, b], -1), 0, 255).astype(np.uint8))
    return out


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255**2 / max(mse, 1e-12)))


def write_tone(path: Path, codec: str, rate: int = RATE, seconds: float = 1.0) -> np.ndarray:
    """Encode a mono track (silence, a 440 Hz tone in TONE_ON, silence) with PyAV."""
    t = np.arange(int(rate * seconds)) / rate
    on = (t >= TONE_ON[0]) & (t < TONE_ON[1])
    x = np.where(on, 0.5 * np.sin(2 * np.pi * 440 * t), 0.0).astype(np.float32)
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=rate, layout="mono")
        for i in range(0, len(x), 1024):
            frame = av.AudioFrame.from_ndarray(x[None, i:i + 1024], format="fltp", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = rate, i, Fraction(1, rate)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return x


def decode_audio(path: Path) -> tuple[np.ndarray, int, float]:
    """(first channel as float, sample rate, time of the first sample) of ``path``'s audio."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        chunks, start = [], None
        for frame in container.decode(stream):
            if start is None:
                start = float(frame.time or 0.0)
            x = frame.to_ndarray()
            if x.dtype == np.int16:
                x = x / 32768.0
            chunks.append(x[0] if frame.format.is_planar else x[0, :: len(frame.layout.channels)])
        return np.concatenate(chunks).astype(np.float64), stream.rate, start or 0.0


def onset(samples: np.ndarray, rate: int, start: float) -> float:
    """Time (s) of the first sample louder than a fifth of the tone."""
    return start + int(np.argmax(np.abs(samples) > 0.1)) / rate


def audio_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(container.streams.audio[0]) if p.size]


def stream_duration(path: Path, kind: str = "audio") -> float:
    with av.open(str(path)) as container:
        stream = getattr(container.streams, kind)[0]
        return float(stream.duration * stream.time_base)


def write_raw(path: Path, n: int = 10, rotation: int | None = None, gop: int = 250) -> None:
    """A plain PyAV H.264 64×48 file (index at the end), optionally tagged with a rotation.

    Frame ``i`` has background level ``40 + 3 i`` so that frames can be told apart.
    """
    w, h = 64, 48
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.gop_size = gop  # keyframe interval; x264 adds B-frames between
        stream.options = {"bf": "3"}
        if rotation is not None:
            # PyAV 18 writes the display matrix as stream side data; degrees counter-clockwise.
            stream.set_display_rotation(rotation)
        for i in range(n):
            image = np.full((h, w, 3), 40 + 3 * i, np.uint8)
            image[:12, :16] = 230  # a marker in the stored picture's top-left corner
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


@contextlib.contextmanager
def raises_media(path: Path, *words: str) -> Iterator[pytest.ExceptionInfo[MediaError]]:
    """Expect a MediaError whose message names ``path`` and contains every word."""
    with pytest.raises(MediaError) as info:
        yield info
    err = info.value
    assert err.path == path, err
    assert str(err).startswith(f"{path}: ")
    for word in words:
        assert word in err.problem, err


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A tone (AAC .m4a and PCM .wav) and a 40-frame 80×60 clip carrying the AAC tone."""
    root = tmp_path_factory.mktemp("media")
    tone = write_tone(root / "tone.m4a", "aac")
    write_tone(root / "tone.wav", "pcm_s16le")
    frames = make_frames(40)
    write_video(root / "clip.mp4", frames, fps=25, audio_from=root / "tone.m4a")
    decoded = list(iter_frames(root / "clip.mp4"))
    return {"root": root, "tone": tone, "frames": frames, "decoded": decoded,
            "clip": root / "clip.mp4", "m4a": root / "tone.m4a", "wav": root / "tone.wav"}


# ---------------------------------------------------------------- video round trip


def test_round_trip_frames_and_probe(media: dict) -> None:
    info = probe(media["clip"])
    assert (info.width, info.height) == (80, 60)
    assert info.fps == pytest.approx(25)
    assert info.frame_count == 40
    assert info.duration == pytest.approx(1.6, abs=1e-6)
    assert info.codec == "h264"
    assert info.rotation == 0
    assert info.time_base == Fraction(1, 90000)
    assert not info.variable_frame_rate
    assert (info.has_audio, info.audio_codec, info.audio_rate) == (True, "aac", RATE)

    decoded = media["decoded"]
    assert [f.index for f in decoded] == list(range(40))
    assert [f.time for f in decoded] == pytest.approx([i / 25 for i in range(40)])
    for got, want in zip(decoded, media["frames"], strict=True):
        assert got.image.shape == (60, 80, 3) and got.image.dtype == np.uint8
        assert psnr(got.image, want) > 30


def test_ntsc_rate_and_odd_size(tmp_path: Path) -> None:
    path = tmp_path / "ntsc.mp4"
    frames = make_frames(6, h=49, w=65)
    write_video(path, frames, fps=Fraction(30000, 1001))
    info = probe(path)
    # Odd sides are cropped (not padded) so that pixels keep their coordinates.
    assert (info.width, info.height) == (64, 48)
    assert info.fps == pytest.approx(30000 / 1001)
    got = list(iter_frames(path))
    assert [f.time for f in got] == pytest.approx([i * 1001 / 30000 for i in range(6)])
    assert psnr(got[2].image, frames[2][:48, :64]) > 30


def test_writer_options_and_frame_checks(tmp_path: Path) -> None:
    # Full-resolution chroma needs no even sides: 65×49 stays 65×49. Gray frames are fine.
    path = tmp_path / "full.mkv"
    gray = [f[..., 0] for f in make_frames(3, h=49, w=65)]
    with VideoWriter(path, 10, pix_fmt="yuv444p", crf=10, preset="ultrafast") as writer:
        for image in gray:
            writer.write(image)
        with pytest.raises(ValueError, match="but the video is"):
            writer.write(np.zeros((48, 64, 3), np.uint8))
        with pytest.raises(ValueError, match="uint8"):
            writer.write(np.zeros((49, 65, 3), np.float32))
    info = probe(path)
    assert (info.width, info.height, info.frame_count, info.fps) == (65, 49, 3, 10)
    got = next(iter_frames(path)).image
    assert psnr(got, np.repeat(gray[0][:, :, None], 3, axis=2)) > 35


def test_mkv_frame_count_is_counted(tmp_path: Path) -> None:
    path = tmp_path / "clip.mkv"
    write_video(path, make_frames(12), fps=25)
    with av.open(str(path)) as container:
        assert container.streams.video[0].frames == 0  # Matroska's header has no count
    info = probe(path)
    assert info.frame_count == 12
    assert info.duration == pytest.approx(12 / 25, abs=0.01)


def test_seek_start_end_every(media: dict) -> None:
    full = media["decoded"]
    got = list(iter_frames(media["clip"], start=0.4, end=0.8))
    assert [f.index for f in got] == list(range(10, 20))
    assert [f.time for f in got] == pytest.approx([i / 25 for i in range(10, 20)])
    for frame in got:
        assert np.array_equal(frame.image, full[frame.index].image)
    sparse = list(iter_frames(media["clip"], start=0.4, end=0.8, every=3))
    assert [f.index for f in sparse] == [10, 13, 16, 19]
    assert [f.index for f in iter_frames(media["clip"], every=15)] == [0, 15, 30]
    with pytest.raises(ValueError):
        iter_frames(media["clip"], every=0)


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_seek_lands_on_every_frame(tmp_path: Path, suffix: str) -> None:
    # Keyframes every 8 frames with B-frames: seeking must find the keyframe before each
    # target even though MP4 seeks by decode time, which runs ahead of presentation time.
    path = tmp_path / f"gop{suffix}"
    write_raw(path, n=40, gop=8)
    full = list(iter_frames(path))
    assert len(full) == 40
    for k in range(1, 40):
        first = next(iter_frames(path, start=k / 25))
        assert first.index == k
        assert np.array_equal(first.image, full[k].image)
        shown = read_frame(path, k / 25 + 0.02)
        assert shown.index == k
        assert np.array_equal(shown.image, full[k].image)


def test_read_frame(media: dict) -> None:
    full = media["decoded"]
    for t, index in [(0.0, 0), (0.61, 15), (0.64, 16), (1.0, 25), (1.59, 39), (1.6, 39)]:
        frame = read_frame(media["clip"], t)
        assert frame.index == index, t
        assert frame.time == pytest.approx(index / 25)
        assert np.array_equal(frame.image, full[index].image)
    with raises_media(media["clip"], "past the end"):
        read_frame(media["clip"], 5.0)


def test_variable_frame_rate_keeps_timestamps(tmp_path: Path) -> None:
    path = tmp_path / "vfr.mp4"
    times = [0.0, 0.04, 0.2, 0.25, 0.5, 0.52, 0.9, 1.0]
    frames = make_frames(len(times))
    with VideoWriter(path, fps=25) as writer:
        for image, t in zip(frames, times, strict=True):
            writer.write(image, t)
    info = probe(path)
    assert info.variable_frame_rate
    assert info.frame_count == len(times)
    got = list(iter_frames(path))
    assert [f.time for f in got] == pytest.approx(times, abs=1e-4)
    # After a seek, indices still count frames from the start, not time × fps.
    assert [f.index for f in iter_frames(path, start=0.3)] == [4, 5, 6, 7]
    frame = read_frame(path, 0.3)
    assert (frame.index, frame.time) == (3, pytest.approx(0.25))
    with pytest.raises(ValueError, match="not after"), VideoWriter(tmp_path / "b.mp4") as writer:
        writer.write(frames[0], 0.5)
        writer.write(frames[1], 0.5)
    assert not (tmp_path / "b.mp4").exists()


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_rotation_metadata_is_applied(tmp_path: Path, rotation: int) -> None:
    path = tmp_path / f"rot{rotation}.mp4"
    write_raw(path, n=6, rotation=rotation)
    info = probe(path)
    assert info.rotation == rotation
    assert (info.width, info.height) == ((48, 64) if rotation in (90, 270) else (64, 48))
    stored = np.zeros((48, 64), bool)
    stored[:12, :16] = True
    # np.rot90 turns counter-clockwise, as the display matrix angle does.
    marker = np.rot90(stored, rotation // 90)
    for frame in [*iter_frames(path, end=0.1), read_frame(path, 0.1)]:
        assert frame.image.shape == (*marker.shape, 3)
        gray = frame.image.mean(axis=2)
        assert gray[marker].mean() > 200 and gray[~marker].mean() < 70


# ---------------------------------------------------------------- audio


def test_audio_is_copied_when_mp4_takes_it(media: dict) -> None:
    # The clip was written with audio_from=tone.m4a (AAC): its packets must be the same bytes.
    assert audio_packets(media["clip"]) == audio_packets(media["m4a"])
    assert stream_duration(media["clip"]) == pytest.approx(stream_duration(media["m4a"]),
                                                           abs=0.03)
    samples, rate, start = decode_audio(media["clip"])
    assert onset(samples, rate, start) == pytest.approx(TONE_ON[0], abs=0.015)


def test_audio_from_a_video_keeps_sync(media: dict, tmp_path: Path) -> None:
    out = write_video(tmp_path / "again.mov", media["frames"][:20], fps=25,
                      audio_from=media["clip"])
    assert probe(out).audio_codec == "aac"
    samples, rate, start = decode_audio(out)
    assert onset(samples, rate, start) == pytest.approx(TONE_ON[0], abs=0.015)


def test_audio_is_reencoded_to_aac(media: dict, tmp_path: Path) -> None:
    out = write_video(tmp_path / "pcm.mp4", media["frames"], fps=25, audio_from=media["wav"])
    info = probe(out)
    assert (info.audio_codec, info.audio_rate) == ("aac", RATE)
    assert stream_duration(out) == pytest.approx(1.0, abs=0.05)
    samples, rate, start = decode_audio(out)
    assert onset(samples, rate, start) == pytest.approx(TONE_ON[0], abs=0.015)
    # It sounds the same: a 440 Hz tone as loud as the source's.
    tone = samples[int((start + 0.35) * rate):int((start + 0.65) * rate)]
    assert np.sqrt(np.mean(tone**2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.1)
    spectrum = np.abs(np.fft.rfft(tone))
    assert np.fft.rfftfreq(len(tone), 1 / rate)[np.argmax(spectrum)] == pytest.approx(440, abs=5)


def test_source_without_audio_gives_silent_video(media: dict, tmp_path: Path) -> None:
    silent = write_video(tmp_path / "silent.mp4", media["frames"][:3])
    out = write_video(tmp_path / "out.mp4", media["frames"][:3], audio_from=silent)
    assert not probe(out).has_audio


# ---------------------------------------------------------------- writer safety


def test_interrupted_writer_leaves_old_file(tmp_path: Path) -> None:
    path = tmp_path / "out.mp4"
    path.write_bytes(b"the old video")
    with pytest.raises(RuntimeError, match="boom"), VideoWriter(path) as writer:
        for image in make_frames(5):
            writer.write(image)
        raise RuntimeError("boom")
    assert path.read_bytes() == b"the old video"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]


def test_writer_without_frames_fails_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "none.mp4"
    with raises_media(path, "no frames"), VideoWriter(path):
        pass
    assert list(tmp_path.iterdir()) == []
    with raises_media(tmp_path / "x.webm", "cannot write H.264"):
        VideoWriter(tmp_path / "x.webm")


def test_encoder_fallback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                          caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(writer_module, "ENCODERS", ("no_such_encoder", "mpeg4"))
    with caplog.at_level(logging.WARNING):
        out = write_video(tmp_path / "fallback.mp4", make_frames(4))
    assert "libx264 is not in this PyAV build" in caplog.text
    assert probe(out).codec == "mpeg4"
    monkeypatch.setattr(writer_module, "ENCODERS", ("no_such_encoder",))
    with raises_media(tmp_path / "never.mp4", "no H.264 encoder"):
        VideoWriter(tmp_path / "never.mp4")


# ---------------------------------------------------------------- bad video inputs


def test_text_file_named_mp4(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("these are not the frames you are looking for\n" * 20)
    with raises_media(path, "not a video file"):
        probe(path)
    with raises_media(path, "not a video file"):
        list(iter_frames(path))


def test_truncated_mp4(tmp_path: Path) -> None:
    # Index at the end (plain PyAV): cut in half, the file has no index at all.
    raw = tmp_path / "raw.mp4"
    write_raw(raw, n=25)
    # Index first (VideoWriter uses +faststart): the index points past the end.
    fast = write_video(tmp_path / "fast.mp4", make_frames(25))
    for source in (raw, fast):
        data = source.read_bytes()
        cut = tmp_path / f"cut_{source.name}"
        cut.write_bytes(data[: len(data) // 2])
        with raises_media(cut, "truncated or corrupt"):
            probe(cut)
        with raises_media(cut, "truncated or corrupt"):
            list(iter_frames(cut))
        with raises_media(cut, "truncated or corrupt"):
            read_frame(cut, 0.1)


def test_truncated_mkv(tmp_path: Path) -> None:
    # Matroska cut in half still opens and decodes; its Segment size gives it away.
    whole = write_video(tmp_path / "whole.mkv", make_frames(25))
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with raises_media(cut, "truncated or corrupt"):
        probe(cut)
    with raises_media(cut, "truncated or corrupt"):
        list(iter_frames(cut))


def test_empty_missing_and_audio_only(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.touch()
    with raises_media(empty, "empty file"):
        probe(empty)
    with raises_media(empty, "empty file"):
        media_kind(empty)
    missing = tmp_path / "missing.mp4"
    for call in (probe, iter_frames, lambda p: read_frame(p, 0), read_image, media_kind):
        with raises_media(missing, "does not exist"):
            call(missing)
    audio_only = tmp_path / "voice.mp4"
    write_tone(audio_only, "aac")
    with raises_media(audio_only, "has no video stream (audio only)"):
        probe(audio_only)
    with raises_media(audio_only, "has no video stream (audio only)"):
        list(iter_frames(audio_only))
    with raises_media(missing, "does not exist"):
        VideoWriter(tmp_path / "out.mp4", audio_from=missing)


# ---------------------------------------------------------------- images


def test_image_modes(tmp_path: Path) -> None:
    gray = (np.arange(40 * 30).reshape(30, 40) % 256).astype(np.uint8)
    Image.fromarray(gray).save(tmp_path / "gray.png")
    got = read_image(tmp_path / "gray.png")
    assert got.shape == (30, 40, 3) and got.dtype == np.uint8
    assert np.array_equal(got, np.repeat(gray[:, :, None], 3, axis=2))

    Image.new("CMYK", (32, 24), (0, 255, 255, 0)).save(tmp_path / "cmyk.jpg", quality=95)
    assert np.abs(read_image(tmp_path / "cmyk.jpg").astype(int) - [255, 0, 0]).max() < 8

    rgba = np.zeros((20, 30, 4), np.uint8)
    rgba[:, :10] = (255, 0, 0, 255)  # opaque red
    rgba[:, 10:20] = (0, 0, 255, 0)  # transparent: composited over white
    rgba[:, 20:] = (0, 0, 0, 128)  # half-transparent black: mid gray
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    got = read_image(tmp_path / "rgba.png")
    assert got.shape == (20, 30, 3)
    assert (got[0, 0] == [255, 0, 0]).all() and (got[0, 15] == 255).all()
    assert np.abs(got[0, 25].astype(int) - 127).max() <= 1

    deep = (np.arange(48 * 32).reshape(32, 48) * 40).astype(np.uint16)
    Image.fromarray(deep).save(tmp_path / "gray16.png")
    got = read_image(tmp_path / "gray16.png")
    assert np.abs(got[..., 0].astype(int) - np.round(deep / 257)).max() <= 1

    rgb16 = np.zeros((24, 32, 3), np.uint16)
    rgb16[..., 0], rgb16[..., 1], rgb16[..., 2] = 65535, 32896, 0  # R, G, B
    cv2.imwrite(str(tmp_path / "rgb16.png"), rgb16[..., ::-1])  # OpenCV writes BGR
    assert np.abs(read_image(tmp_path / "rgb16.png").astype(int) - [255, 128, 0]).max() <= 1


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    stored = np.full((20, 40, 3), 30, np.uint8)
    stored[:8, :10] = 240  # top-left marker as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    Image.fromarray(stored).save(tmp_path / "phone.jpg", exif=exif, quality=95)
    got = read_image(tmp_path / "phone.jpg")
    want = np.rot90(stored, -1)
    assert got.shape == want.shape == (40, 20, 3)
    assert np.abs(got.astype(int) - want).mean() < 4


def test_bad_images(tmp_path: Path) -> None:
    tiny = tmp_path / "tiny.png"
    Image.new("RGB", (1, 1)).save(tiny)
    with raises_media(tiny, "image is 1×1 px; too small to hold a face"):
        read_image(tiny)
    text = tmp_path / "text.jpg"
    text.write_text("not a picture")
    with raises_media(text, "not an image"):
        read_image(text)
    whole = tmp_path / "whole.png"
    Image.fromarray(make_frames(1)[0]).save(whole)
    cut = tmp_path / "cut.png"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with raises_media(cut, "truncated"):
        read_image(cut)
    empty = tmp_path / "empty.png"
    empty.touch()
    with raises_media(empty, "empty file"):
        read_image(empty)


def test_write_image(tmp_path: Path) -> None:
    image = make_frames(1)[0]
    assert np.array_equal(read_image(write_image(tmp_path / "a.png", image)), image)
    assert psnr(read_image(write_image(tmp_path / "a.jpg", image)), image) > 35
    assert psnr(read_image(write_image(tmp_path / "a.webp", image, quality=90)), image) > 30
    gray = image[..., 1]
    assert np.array_equal(read_image(write_image(tmp_path / "g.png", gray))[..., 0], gray)
    with pytest.raises(ValueError):
        write_image(tmp_path / "f.png", image.astype(np.float32))
    with raises_media(tmp_path / "a.gif", "cannot write images"):
        write_image(tmp_path / "a.gif", image)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jpg", "a.png", "a.webp", "g.png"]


# ---------------------------------------------------------------- kinds and folders


def test_media_kind_and_collect_media(tmp_path: Path) -> None:
    root = tmp_path / "in"
    (root / "b" / "deep").mkdir(parents=True)
    (root / ".hidden").mkdir()
    for name in ["b/deep/z.mp4", "a.JPG", "b/c.png", "notes.txt", ".x.tmp.mp4",
                 ".hidden/h.png", "b/._mac.jpg"]:
        (root / name).write_bytes(b"x")
    assert media_kind(root / "a.JPG") == "image"
    assert media_kind(root / "b/deep/z.mp4") == "video"
    with raises_media(root / "notes.txt", "unknown media type"):
        media_kind(root / "notes.txt")
    with raises_media(root, "folder"):
        media_kind(root)
    extra = tmp_path / "extra.webm"
    extra.write_bytes(b"x")
    assert collect_media([root, extra, root / "a.JPG"]) == [
        root / "a.JPG", root / "b" / "c.png", root / "b" / "deep" / "z.mp4", extra,
    ]
    nothing = tmp_path / "nothing"
    nothing.mkdir()
    (nothing / "readme.md").write_text("hi")
    with raises_media(nothing, "no images or videos in this folder"):
        collect_media([nothing])
    with raises_media(tmp_path / "nope", "does not exist"):
        collect_media([tmp_path / "nope"])


def test_check_media_reads_headers_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """check_media refuses an image over the pixel cap, or a non-image, from its header."""
    from twoface.media import check_media, write_image

    img = write_image(tmp_path / "a.png", np.zeros((40, 50, 3), np.uint8))
    assert check_media(img) == "image"
    monkeypatch.setenv("TWOFACE_MAX_PIXELS", "1000")
    with pytest.raises(MediaError, match="over the"):
        check_media(img)
    bad = tmp_path / "b.jpg"
    bad.write_bytes(b"not a picture")
    with pytest.raises(MediaError, match="not an image"):
        check_media(bad)
