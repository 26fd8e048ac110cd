"""``inspect --against`` / ``--index``: a clip measured against the video it was made from.

The source is a synthetic talking head moving in front of a still, textured backdrop (as a
presenter in front of a wall); each test makes one edit of it and checks that the
comparison names that edit, measures it, and stays quiet about the others.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from twoface.forensics._compare import compare
from twoface.forensics.shallow import Report, inspect_video
from twoface.media import write_video

FPS = 25
W, H = 256, 192


def _backdrop(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    wall = cv2.GaussianBlur(rng.uniform(0, 255, (H, W, 3)).astype(np.float32), (0, 0), 2.0)
    wall = cv2.normalize(wall, None, 30, 220, cv2.NORM_MINMAX).astype(np.uint8)
    for k in range(6):  # a few shelves and frames: corners for the keypoints
        x, y = rng.integers(0, W - 40), rng.integers(0, H - 30)
        cv2.rectangle(wall, (int(x), int(y)), (int(x) + 36, int(y) + 24),
                      tuple(int(c) for c in rng.integers(0, 255, 3)), 2 + k % 2)
    return wall


def _presenter(heads: list[np.ndarray], seed: int) -> list[np.ndarray]:
    """The rendered head pasted in front of backdrop ``seed``."""
    wall = _backdrop(seed)
    out = []
    for face in heads:
        frame = wall.copy()
        inside = face.astype(np.int16).sum(axis=2) > 24  # the render's black surround off
        patch = frame[50:162, 72:184]
        patch[inside] = face[inside]
        out.append(frame)
    return out


def _retime(frames: list[np.ndarray], speed: float) -> list[np.ndarray]:
    return [frames[min(int(k * speed), len(frames) - 1)] for k in range(int(len(frames) / speed))]


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> dict[str, Path]:
    from twoface.synth import Identity, render_sequence

    folder = tmp_path_factory.mktemp("against")
    heads = [r.image for r in render_sequence(Identity.random(3), 125, fps=FPS, size=112,
                                              seed=3)]
    a = _presenter(heads, 3)
    b = _presenter(heads[::-1], 8)  # another room, the head's moves played backwards
    ch, cw = int(H * 0.8), int(W * 0.8)
    y, x = (H - ch) // 2, (W - cw) // 2
    captioned = []
    for f in a:
        g = f.copy()
        cv2.putText(g, "EXCLUSIVE", (10, 180), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2)
        captioned.append(g)

    def out(name: str, frames: list[np.ndarray], crf: int = 23) -> Path:
        return write_video(folder / f"{name}.mp4", frames, FPS, crf=crf)

    return {
        "source": out("source", a, crf=16),
        "other": out("other", b, crf=16),
        "untouched": out("untouched", a),
        "fast": out("fast", _retime(a, 1.25)),
        "slow": out("slow", _retime(a, 0.8)),
        "crop": out("crop", [cv2.resize(f[y:y + ch, x:x + cw], (W, H)) for f in a]),
        "mirror": out("mirror", [np.ascontiguousarray(f[:, ::-1]) for f in a]),
        "caption": out("caption", captioned),
        "splice": out("splice", a[:62] + b[62:]),
    }


def _strong(report: Report, kind: str) -> list:
    return [f for f in report.edits if f.kind == kind and f.confidence >= 0.5]


def _edits(report: Report) -> set[str]:
    return {f.kind for f in report.edits if f.confidence >= 0.5} - {"reencode", "metadata"}


def test_untouched_copy_lines_up_and_raises_nothing(made):
    report = inspect_video(made["untouched"], against=made["source"])
    match = [f for f in report.context if f.kind == "source_match"]
    assert match and match[0].evidence["aligned_share"] >= 0.8
    assert match[0].evidence["shown_width_share"] == pytest.approx(1.0, abs=0.02)
    assert _edits(report) == set()


@pytest.mark.parametrize(("name", "factor"), [("fast", 1.25), ("slow", 0.8)])
def test_speed_change_measured_against_the_source(made, name, factor):
    report = inspect_video(made[name], against=made["source"])
    found = _strong(report, "speed_change")
    assert len(found) == 1, report.findings
    assert found[0].evidence["speed_factor"] == pytest.approx(factor, abs=0.03)
    lo, hi = found[0].evidence["speed_factor_ci"]
    assert lo <= found[0].evidence["speed_factor"] <= hi
    assert _edits(report) == {"speed_change"}


def test_crop_measured_as_the_share_shown(made):
    report = inspect_video(made["crop"], against=made["source"])
    crop = _strong(report, "crop")
    assert crop, report.findings
    assert crop[0].evidence["shown_width_share"] == pytest.approx(0.8, abs=0.02)
    assert crop[0].evidence["shown_height_share"] == pytest.approx(0.8, abs=0.02)
    assert _edits(report) == {"crop"}


def test_mirror_found(made):
    report = inspect_video(made["mirror"], against=made["source"])
    assert _strong(report, "mirror")
    assert _edits(report) == {"mirror"}


def test_caption_found_where_it_was_drawn(made):
    report = inspect_video(made["caption"], against=made["source"])
    found = _strong(report, "overlay")
    assert found and _edits(report) == {"overlay"}
    x, y, w, h = max(found[0].evidence["regions_px"], key=lambda r: r[2] * r[3])
    assert x < 40 and y + h > 170 and y > 140 and w > 60  # the caption's box, not the face


def test_stretch_from_elsewhere_is_a_splice(made):
    report = inspect_video(made["splice"], against=made["source"])
    spl = _strong(report, "splice")
    assert spl and abs(spl[0].start - 62 / FPS) <= 0.5, report.findings


def test_unrelated_source_falls_back_to_blind_checks(made):
    result = compare(made["untouched"], made["other"])
    assert not result.registered or result.aligned_share < 0.5
    assert next(f for f in result.findings if f.kind == "source_match").confidence < 0.5
    assert not [f for f in result.findings if f.kind not in ("source_match",)
                and f.confidence >= 0.5]


def test_index_finds_the_source_to_compare_with(made, tmp_path):
    from twoface.forensics.index import add_videos

    db = tmp_path / "index.sqlite"
    add_videos([made["source"], made["other"]], db)
    report = inspect_video(made["fast"], index=db)
    match = [f for f in report.context if f.kind == "source_match"]
    assert match and Path(match[0].evidence["source"]).name == "source.mp4"
    found = _strong(report, "speed_change")
    assert found and found[0].evidence["speed_factor"] == pytest.approx(1.25, abs=0.03)


def _cli(*args: str) -> subprocess.CompletedProcess:
    code = "import sys; from twoface.cli import main; sys.argv = ['twoface'] + sys.argv[1:]; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=120)


def test_cli_against_bad_source_one_line(made, tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00" * 100)
    for args, name in (((str(made["fast"]), "--against", str(tmp_path / "gone.mp4")),
                        "gone.mp4"),
                       ((str(made["fast"]), "--against", str(broken)), "broken.mp4"),
                       ((str(made["fast"]), "--against", str(made["source"]), "--index",
                         str(tmp_path / "i.sqlite")), "--against")):
        res = _cli("inspect", *args)
        assert res.returncode == 2, (args, res.stderr)
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and name in lines[0] and "Traceback" not in res.stderr


def _moving_features(n: int, seed: int, still: slice | None = None) -> np.ndarray:
    """Unit feature rows that drift from frame to frame like a moving picture (each
    correlates with its neighbours, less with frames further away); ``still`` rows equal."""
    rng = np.random.default_rng(seed)
    x = cv2.GaussianBlur(rng.normal(size=(n, 64)).astype(np.float32), (1, 0), 3.0)
    if still is not None:
        x[still] = x[still.start]
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_a_line_needs_moving_pictures_to_count_as_a_speed_change_or_a_cut() -> None:
    from twoface.forensics._timeline import MOTION_GAIN, LineFit, Segment

    ts = np.arange(300) / FPS
    tq = np.arange(100) / FPS

    def clip_of(sm: np.ndarray, speed: float, jump_at: int | None = None) -> np.ndarray:
        j = np.round((speed * tq + np.where(np.arange(100) >= (jump_at or 999), 1.0, 0.0))
                     * FPS).astype(int)
        return sm[j]

    moving = _moving_features(300, 0)
    # Played 1.25x as fast: its own line beats every line at the source's speed.
    fit = LineFit(clip_of(moving, 1.25), moving, tq, ts, FPS)
    assert fit.speed_gain(Segment(0, 99, 1.25, 0.0, 0.0, 100)) > 3 * MOTION_GAIN
    # Untouched but still for its first 60 frames: a line of another slope through the still
    # part explains it as well as speed 1 does, so it is no evidence.
    still = _moving_features(300, 0, still=slice(0, 75))
    fit = LineFit(clip_of(still, 1.0), still, tq, ts, FPS)
    assert fit.speed_gain(Segment(0, 55, 1.2, -0.05, 0.0, 56)) < MOTION_GAIN
    # Two stretches whose lines drifted apart over the still part are no cut; a real jump
    # of 1 s in moving pictures is.
    p, g = Segment(0, 39, 0.9, 0.0, 0.0, 40), Segment(40, 99, 1.0, 0.2, 0.0, 60)
    assert fit.cut_gain(p, g) < MOTION_GAIN
    fit = LineFit(clip_of(moving, 1.0, jump_at=50), moving, tq, ts, FPS)
    p, g = Segment(0, 49, 1.0, 0.0, 0.0, 50), Segment(50, 99, 1.0, 1.0, 0.0, 50)
    assert fit.cut_gain(p, g) > 3 * MOTION_GAIN


def test_a_partial_speed_change_gets_its_own_stretch() -> None:
    from twoface.forensics._timeline import Segment, bend

    fps = 30
    tq = np.arange(180) / fps
    rng = np.random.default_rng(1)

    def frames_shown(curve: np.ndarray) -> np.ndarray:  # source times on the frame grid
        return np.round((curve + rng.normal(0, 0.3 / fps, curve.size)) * fps) / fps

    # Untouched for 2 s, 0.75x for 2 s, untouched again: one line across all of it would
    # take a compromise slope; the bend finds the middle and its speed.
    curve = np.where(tq < 2, tq, np.where(tq < 4, 2 + 0.75 * (tq - 2), 3.5 + (tq - 4)))
    ts, ok, tol = frames_shown(curve), np.ones(180, bool), 1.6 / fps
    a, b = np.polyfit(tq[40:150], ts[40:150], 1)
    split = bend(tq, ts, ok, tol, [Segment(40, 149, float(a), float(b), 0.0, 110)])
    middle = [g for g in split if g.speed != 1.0]
    assert len(split) == 3 and len(middle) == 1
    assert abs(middle[0].speed - 0.75) < 0.03
    assert abs(tq[middle[0].first] - 2) < 0.2 and abs(tq[middle[0].last] - 4) < 0.2
    # A whole clip played 1.25x as fast is one straight line: left alone.
    ts = frames_shown(1.25 * tq)
    whole = Segment(0, 179, 1.25, 0.0, 0.0, 180)
    assert bend(tq, ts, ok, tol, [whole]) == [whole]
