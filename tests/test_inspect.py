"""Shallowfake checks (``twoface inspect``) on manipulations made on the fly from a synthetic
talking head: repeated frames, dropped frames, a splice, letterbox bars; and a clean clip."""

from __future__ import annotations

import json
import subprocess
import sys
import wave
from pathlib import Path

import cv2
import numpy as np
import pytest

from twoface.forensics.shallow import Report, inspect_video
from twoface.media import write_video

FPS = 25


def _write(path: Path, images: list[np.ndarray]) -> Path:
    return write_video(path, images, FPS)


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    """Every test clip, written once: rendering is the slow part."""
    from twoface.synth import Identity, render_sequence

    folder = tmp_path_factory.mktemp("inspect")
    a = [r.image for r in render_sequence(Identity.random(1), 48, size=128, seed=1)]
    b = [r.image for r in render_sequence(Identity.random(7), 24, size=128, seed=7)]
    boxed = []
    for im in a:
        # 16:9-style letterbox: squeeze the picture into the middle rows, black above/below.
        frame = np.zeros_like(im)
        frame[20:108] = cv2.resize(im, (128, 88), interpolation=cv2.INTER_AREA)
        boxed.append(frame)
    return {
        "clean": _write(folder / "clean.mp4", a),
        # Every frame shown twice: 0.5x slow motion by repetition.
        "dup": _write(folder / "dup.mp4", [im for im in a[:24] for _ in range(2)]),
        "splice": _write(folder / "splice.mp4", a[:24] + b),
        "letterbox": _write(folder / "letterbox.mp4", boxed),
    }


def _confident(report: Report, kind: str, level: float = 0.5) -> list:
    return [f for f in report.findings if f.kind == kind and f.confidence >= level]


def test_clean_clip_has_no_confident_findings(clips):
    report = inspect_video(clips["clean"])
    assert report.frames == 48
    assert [f for f in report.findings if f.confidence >= 0.5] == []


def test_repeated_frames_found_as_one_slow_down(clips):
    report = inspect_video(clips["dup"])
    speed = _confident(report, "speed_change")
    assert len(speed) == 1, report.findings  # one finding over the span, not one per repeat
    ev = speed[0].evidence
    assert ev["speed_factor"] == pytest.approx(0.5, abs=0.05)
    assert ev["interval"][0] <= 0.5 <= ev["interval"][1]
    assert "repeated frames" in ev["method"]
    assert speed[0].end - speed[0].start >= 0.8 * report.duration
    # Every other frame repeated is a rhythm, not a frozen picture.
    assert not _confident(report, "duplicate_frames")


@pytest.mark.parametrize(("keep", "speed"), [(3, 1.5), (4, 4 / 3)])
def test_dropped_frames_found_as_one_speed_up(long_head, tmp_path, keep, speed):
    # Every 3rd (4th) frame removed: a rhythm needs a few seconds to stand out, so the
    # head plays forward and back (7.7 s) rather than the 2 s clip of the other tests.
    frames = long_head + long_head[::-1]
    shown = [im for i, im in enumerate(frames) if i % keep != keep - 1]
    report = inspect_video(_write(tmp_path / "drop.mp4", shown))
    speed_found = _confident(report, "speed_change")
    assert len(speed_found) == 1, report.findings
    assert speed_found[0].evidence["speed_factor"] == pytest.approx(speed, abs=0.05)
    assert "skipped frames" in speed_found[0].evidence["method"]
    assert not _confident(report, "frame_drop")


def test_frozen_picture_found(clips, tmp_path):
    from twoface.media import iter_frames

    frames = [f.image for f in iter_frames(clips["clean"])]
    frozen = frames[:20] + [frames[20]] * 8 + frames[21:]
    report = inspect_video(_write(tmp_path / "frozen.mp4", frozen))
    found = _confident(report, "duplicate_frames")
    assert len(found) == 1 and found[0].evidence["frozen_frames"] >= 6, report.findings
    assert found[0].start == pytest.approx(20 / FPS, abs=0.1)


def test_splice_found_at_the_cut(clips):
    report = inspect_video(clips["splice"])
    cuts = _confident(report, "splice")
    assert len(cuts) == 1, report.findings
    # The cut is between frame 23 (0.92 s) and frame 24 (0.96 s).
    assert cuts[0].start <= 0.96 <= cuts[0].end + 1e-6
    assert cuts[0].end - cuts[0].start < 0.2


def test_letterbox_from_the_first_frame_is_context(clips):
    report = inspect_video(clips["letterbox"])
    bars = [f for f in report.context if "bars" in f.evidence]
    assert bars and bars[0].kind == "source_trait", report.findings
    assert set(bars[0].evidence["bars"]) == {"top", "bottom"}
    assert bars[0].evidence["bars"]["top"] == pytest.approx(20 / 128, abs=0.03)
    assert not [f for f in report.edits if f.confidence >= 0.5]


def _cli(*args: str) -> subprocess.CompletedProcess:
    code = "import sys; from twoface.cli import main; sys.argv = ['twoface'] + sys.argv[1:]; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=120)


def test_cli_json_shape_and_report_dir(clips, tmp_path):
    res = _cli("inspect", str(clips["dup"]), "--json", "-o", str(tmp_path / "rep"))
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["file"] == str(clips["dup"])
    kinds = {"speed_change", "frame_drop", "duplicate_frames", "splice", "reencode", "metadata",
             "crop", "source_trait"}
    assert data["findings"]
    for f in data["findings"]:
        assert f["kind"] in kinds
        assert 0.0 <= f["confidence"] <= 1.0
        assert 0.0 <= f["start"] <= f["end"]
        assert isinstance(f["evidence"], dict)
        assert f["context"] == (f["kind"] == "source_trait")
    assert data["media"] == "video" and data["checks"]
    assert json.loads((tmp_path / "rep" / "report.json").read_text()) == data
    page = (tmp_path / "rep" / "report.html").read_text()
    assert "<svg" in page and "data:image/png;base64," in page  # timeline and a still
    tables = 1 + any(f["context"] for f in data["findings"])  # findings, context
    assert page.count("<tr") == len(data["findings"]) + tables


def _audio_only(path: Path) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(np.zeros(8000, dtype=np.int16).tobytes())
    return path


@pytest.mark.parametrize("kind", ["audio", "empty", "garbage", "truncated"])
def test_cli_bad_input_one_line_exit_2(kind, clips, tmp_path):
    if kind == "audio":
        path = _audio_only(tmp_path / "tone.wav")
    elif kind == "empty":
        path = tmp_path / "empty.mp4"
        path.write_bytes(b"")
    elif kind == "garbage":
        path = tmp_path / "garbage.mp4"
        path.write_bytes(np.random.default_rng(0).bytes(4096))
    else:
        data = clips["clean"].read_bytes()
        path = tmp_path / "cut.mp4"
        path.write_bytes(data[: len(data) // 2])
    res = _cli("inspect", str(path))
    assert res.returncode == 2, (res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "error" in lines[0] and path.name in lines[0], res.stderr
    assert "Traceback" not in res.stderr


def test_metadata_future_time_and_audio_length():
    import datetime as dt

    from twoface.forensics._signals import Signals
    from twoface.forensics.shallow import metadata_checks

    n = 10
    sig = Signals(
        times=np.arange(n) / FPS, motion=np.zeros(n), flow=np.zeros(n), hist_dist=np.zeros(n),
        flow_hi=np.zeros(n), step_hi=np.zeros(n),
        noise=np.zeros(n), row_max=np.full(8, 200.0), col_max=np.full(8, 200.0),
        packet_pts=np.arange(n) / FPS, audio_duration=8.0, video_duration=4.0,
        metadata={"tags": {"creation_time": "2999-01-01T00:00:00.000000Z"},
                  "streams": [{"index": 0, "type": "video", "tags": {}}]})
    found = metadata_checks(sig, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    kinds = {(f.kind, f.evidence.get("problem", f.evidence.get("source"))): f.confidence
             for f in found}
    assert kinds[("metadata", "creation_time in the future")] >= 0.5
    assert kinds[("metadata", "no encoder tag")] < 0.5
    assert kinds[("speed_change", "audio vs video duration")] >= 0.5


def test_strong_recompression_reported_from_the_encoder_record(clips, tmp_path):
    from twoface.media import iter_frames

    again = write_video(tmp_path / "again.mp4", (f.image for f in iter_frames(clips["clean"])),
                        FPS, crf=32)
    heavy = _confident(inspect_video(again), "reencode")
    assert len(heavy) == 1
    ev = heavy[0].evidence
    assert ev["stream_encoder"].startswith("x264") and float(ev["settings"]["crf"]) == 32
    # The clean clip (crf 18) is a software encode too, but not a strong one.
    mild = [f for f in inspect_video(clips["clean"]).findings if f.kind == "reencode"]
    assert mild and mild[0].confidence < 0.5 and float(mild[0].evidence["settings"]["crf"]) == 18


def test_variable_frame_rate_clip_is_inspected(tmp_path):
    from twoface.media import VideoWriter
    from twoface.synth import Identity, render_sequence

    renders = render_sequence(Identity.random(3), 40, size=96, seed=3)
    # A phone-style variable rate: intervals alternate between 30 and 50 ms.
    times = np.cumsum([0.0] + [0.03 if i % 2 else 0.05 for i in range(39)])
    path = tmp_path / "vfr.mp4"
    with VideoWriter(path, 25) as writer:
        for r, t in zip(renders, times, strict=True):
            writer.write(r.image, time=float(t))
    report = inspect_video(path)
    assert report.frames == 40
    assert abs(report.duration - times[-1]) < 0.1
    # Irregular spacing alone is normal for phones: nothing above 0.5.
    assert [f for f in report.findings if f.confidence >= 0.5] == []


@pytest.fixture(scope="module")
def long_head() -> list[np.ndarray]:
    from twoface.synth import Identity, render_sequence

    return [r.image for r in render_sequence(Identity.random(5), 96, size=96, seed=5)]


@pytest.mark.parametrize("speed", [0.75, 1.25])
def test_retime_rhythm_found_and_measured(long_head, tmp_path, speed):
    n = int(len(long_head) / speed)
    shown = [long_head[min(int(k * speed), len(long_head) - 1)] for k in range(n)]
    report = inspect_video(_write(tmp_path / "retimed.mp4", shown))
    found = _confident(report, "speed_change")
    assert len(found) == 1, report.findings
    ev = found[0].evidence
    assert abs(ev["speed_factor"] - speed) < 0.02
    assert ev["interval"][0] - 0.01 <= speed <= ev["interval"][1] + 0.01


def test_partial_speed_up_gets_its_own_span(long_head, tmp_path):
    # 2 s untouched, then 1.5× (every third frame dropped), then untouched again.
    frames = long_head + long_head[::-1]
    mid = [f for i, f in enumerate(frames[48:144]) if i % 3 != 2]
    shown = frames[:48] + mid + frames[144:]
    report = inspect_video(_write(tmp_path / "partial.mp4", shown))
    found = _confident(report, "speed_change")
    assert found, report.findings
    assert all(abs(f.evidence["speed_factor"] - 1.5) < 0.05 for f in found)
    assert found[0].start >= 0.5 and found[-1].end <= report.duration - 0.5


def test_conversion_cadence_is_context_not_an_edit(long_head, tmp_path):
    # 25 → 30 fps the simple way: every 5th frame shown twice, audio-free.
    shown = [f for i, f in enumerate(long_head) for _ in range(2 if i % 5 == 4 else 1)]
    report = inspect_video(write_video(tmp_path / "converted.mp4", shown, 30))
    traits = [f for f in report.context if f.evidence.get("trait") ==
              "frame-rate conversion cadence"]
    assert traits, report.findings
    assert traits[0].evidence["content_fps"] == pytest.approx(25, abs=0.5)
    assert traits[0].evidence["file_fps"] == pytest.approx(30, abs=0.01)
    assert not [f for f in report.edits if f.confidence >= 0.5]


def test_untouched_long_clip_has_no_rhythm(long_head, tmp_path):
    report = inspect_video(_write(tmp_path / "plain.mp4", long_head))
    assert not [f for f in report.findings if f.kind == "speed_change" and f.confidence >= 0.5]


def test_display_rotation_reported_as_context(rotated_talking_video):
    report = inspect_video(rotated_talking_video)
    rot = [f for f in report.findings if f.evidence.get("rotation_degrees")]
    assert len(rot) == 1 and rot[0].kind == "metadata" and rot[0].confidence < 0.5


@pytest.fixture(scope="module")
def still() -> np.ndarray:
    """A 512 px photo-like still: a rendered head with sensor-like noise (a clean render's
    flat shading leaves too few non-zero DCT values for the histogram checks)."""
    from twoface.synth import Identity, render_sequence

    im = render_sequence(Identity.random(2), 1, size=256, seed=2)[0].image
    im = cv2.resize(im, (512, 512), interpolation=cv2.INTER_CUBIC).astype(float)
    noise = np.random.default_rng(0).normal(0, 4, im.shape)
    return np.clip(im + noise, 0, 255).astype(np.uint8)


def test_still_image_gets_the_checks_for_stills(still, tmp_path):
    from PIL import Image

    from twoface.forensics.shallow import inspect

    once = tmp_path / "once.jpg"
    Image.fromarray(still).save(once, quality=90)
    twice = tmp_path / "twice.jpg"
    Image.fromarray(still).save(tmp_path / "first.jpg", quality=50)
    Image.open(tmp_path / "first.jpg").save(twice, quality=90)
    single, double = inspect(once), inspect(twice)
    for report in (single, double):
        assert report.media == "image" and "frames" not in report.to_dict()
        assert any("not applicable" in c for c in report.checks)
    q = [f for f in single.findings if f.kind == "reencode"]
    assert q and q[0].evidence["jpeg_quality_estimate"] == pytest.approx(90, abs=2)
    assert q[0].confidence < 0.5
    assert _confident(double, "reencode"), double.findings


def test_enlarged_still_shows_resampling(still, tmp_path):
    from twoface.forensics.shallow import inspect
    from twoface.media import write_image

    h, w = still.shape[:2]
    zoomed = cv2.resize(still[h // 10:h - h // 10, w // 10:w - w // 10], (w, h),
                        interpolation=cv2.INTER_LINEAR)
    plain, crop = tmp_path / "plain.png", tmp_path / "zoomed.png"
    write_image(plain, still)
    write_image(crop, zoomed)
    assert not _confident(inspect(plain), "crop")
    found = _confident(inspect(crop), "crop")
    assert found and found[0].evidence["enlarged_by"] == pytest.approx(1.25, abs=0.03)


def test_cli_on_an_image_is_an_image_report(still, tmp_path):
    from PIL import Image

    path = tmp_path / "photo.jpg"
    Image.fromarray(still).save(path, quality=85)
    res = _cli("inspect", str(path), "--json", "-o", str(tmp_path / "rep"))
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["media"] == "image" and "frames" not in data and data["checks"]
    page = (tmp_path / "rep" / "report.html").read_text()
    assert "A still image" in page and "<svg" not in page


def _cadence_sq(s: float, c: float, n: int = 120, seed: int = 0) -> np.ndarray:
    """Mean squared frame differences of a talking head converted to share ``c`` of unique
    frames and then re-timed by ``s``: each step moves ``Δ`` content frames at a slowly
    varying speed, plus codec noise."""
    k = np.arange(n + 1)
    step = np.diff(np.floor(c * np.floor(s * k + 0.3) + 0.1))
    speed = 1.0 + 0.5 * np.sin(np.arange(n) / 7.0)
    rng = np.random.default_rng(seed)
    return (step * speed) ** 2 * rng.lognormal(0, 0.3, n) + 0.02


@pytest.mark.parametrize("speed", [0.9, 1.1, 1.25, 1.5])
def test_edit_on_a_converted_source_fitted_with_its_cadence(speed):
    from twoface.forensics._cadence import fit_cadence

    fit = fit_cadence(_cadence_sq(speed, 5 / 6))
    assert fit is not None
    assert fit.factor == pytest.approx(speed, abs=0.01)
    assert fit.share == pytest.approx(5 / 6)
    assert fit.low - 0.01 <= speed <= fit.high + 0.01


def test_cadence_alone_and_its_mimics_are_not_an_edit():
    from twoface.forensics._cadence import fit_cadence

    assert fit_cadence(_cadence_sq(1.0, 5 / 6)) is None  # a plain 25 -> 30 fps conversion
    assert fit_cadence(_cadence_sq(1.0, 1.0)) is None  # a native clip
    # 1.2x of a 25 -> 30 clip shows every content frame once: nothing to tell it by.
    assert fit_cadence(_cadence_sq(1.2, 5 / 6)) is None


def test_speed_up_of_a_converted_clip_measured_against_its_content(long_head, tmp_path):
    # 25 -> 30 fps (every 5th frame twice), then shown 1.25x as fast by dropping frames.
    converted = [f for i, f in enumerate(long_head + long_head[::-1])
                 for _ in range(2 if i % 5 == 4 else 1)]
    shown = [converted[int(k * 1.25)] for k in range(int(len(converted) / 1.25))]
    report = inspect_video(write_video(tmp_path / "converted_fast.mp4", shown, 30))
    found = _confident(report, "speed_change")
    assert found, report.findings
    assert all(abs(f.evidence["speed_factor"] - 1.25) <= 0.05 for f in found), found
    assert "conversion" in found[0].evidence.get("source_cadence", ""), found[0].evidence


def test_faint_cadence_is_not_read_as_a_skip_rhythm():
    from twoface.forensics._cadence import cadence_explains

    # A 25 -> 30 fps clip: one step in six a repeat, which also reads as a 7/6x skip rhythm.
    assert cadence_explains(_cadence_sq(1.0, 5 / 6), 7 / 6)
    # A native clip really shown 1.25x as fast is not a cadence.
    assert not cadence_explains(_cadence_sq(1.25, 1.0), 1.25)
