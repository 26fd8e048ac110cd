"""Shallowfake checks on a real clip (skipped without ../shared): every manipulation the issue
lists is made from 4 s of a LivePortrait driving video, and the near-duplicate index must
trace each back to its source; `inspect` must report the edits it is built to see."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from twoface.forensics.index import add_videos, search
from twoface.forensics.shallow import inspect_video
from twoface.media import iter_frames, probe, write_video

SIDE = 256


def _load(path: Path, start: float, end: float) -> list[np.ndarray]:
    out = []
    for f in iter_frames(path, start=start, end=end):
        h, w = f.image.shape[:2]
        s = SIDE / max(h, w)
        out.append(cv2.resize(f.image, (round(w * s) // 2 * 2, round(h * s) // 2 * 2),
                              interpolation=cv2.INTER_AREA))
    return out


def _retime(frames: list[np.ndarray], speed: float) -> list[np.ndarray]:
    return [frames[min(int(k * speed), len(frames) - 1)] for k in range(int(len(frames) / speed))]


def _crop(frames: list[np.ndarray], share: float) -> list[np.ndarray]:
    h, w = frames[0].shape[:2]
    ch, cw = int(h * share), int(w * share)
    y, x = (h - ch) // 2, (w - cw) // 2
    return [cv2.resize(f[y:y + ch, x:x + cw], (w, h)) for f in frames]


def _overlay(frames: list[np.ndarray]) -> list[np.ndarray]:
    out = []
    for f in frames:
        g = f.copy()
        cv2.putText(g, "LIVE: downtown today", (6, g.shape[0] - 12), cv2.FONT_HERSHEY_SIMPLEX,
                    0.5, (255, 255, 255), 1, cv2.LINE_AA)
        out.append(g)
    return out


@pytest.fixture(scope="module")
def real(shared_faces, tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("shallow_real")
    driving = shared_faces / "liveportrait" / "driving"
    src, other = driving / "d18.mp4", driving / "d9.mp4"
    fps = probe(src).fps
    a, b = _load(src, 0.0, 4.0), _load(other, 0.0, 4.0)
    original = write_video(folder / "original.mp4", a, fps, crf=23)
    distractor = write_video(folder / "distractor.mp4", _load(other, 4.0, 8.0), fps, crf=23)
    twice = write_video(folder / "once.mp4", a, fps, crf=30)
    made = {
        "slow": _retime(a, 0.75), "fast": _retime(a, 1.25),
        "drop": [f for i, f in enumerate(a) if i % 4 != 3],
        "splice": a[:len(a) // 2] + [cv2.resize(f, a[0].shape[1::-1]) for f in b[len(b) // 2:]],
        "crop": _crop(a, 0.85), "mirror": [np.ascontiguousarray(f[:, ::-1]) for f in a],
        "overlay": _overlay(a),
    }
    clips = {k: write_video(folder / f"{k}.mp4", v, fps, crf=23) for k, v in made.items()}
    clips["reencode"] = write_video(folder / "reencode.mp4",
                                    (f.image for f in iter_frames(twice)), fps, crf=30)
    index = folder / "index.sqlite"
    add_videos([original, distractor], index)
    return {"original": original, "clips": clips, "index": index}


@pytest.mark.parametrize("name", ["slow", "fast", "drop", "splice", "crop", "mirror",
                                  "reencode", "overlay"])
def test_index_traces_every_manipulation_to_its_source(real, name):
    found = search(real["clips"][name], real["index"], top=1)
    assert found and Path(found[0].file).resolve() == real["original"].resolve()
    if name == "mirror":
        assert found[0].mirrored
    if name == "fast":
        assert abs(found[0].speed - 1.25) < 0.1
    if name == "slow":
        assert abs(found[0].speed - 0.75) < 0.1


@pytest.mark.parametrize(("name", "kind", "factor"), [
    ("slow", "speed_change", 0.75), ("splice", "splice", None), ("reencode", "reencode", None)])
def test_inspect_reports_the_edit(real, name, kind, factor):
    report = inspect_video(real["clips"][name])
    hits = [f for f in report.findings if f.kind == kind and f.confidence >= 0.5]
    assert hits, report.findings
    if factor is not None:
        assert any(abs(f.evidence.get("speed_factor", 0) - factor) < 0.06 for f in hits)


def test_inspect_is_quiet_on_the_untouched_copy(real):
    report = inspect_video(real["original"])
    assert [f for f in report.findings if f.confidence >= 0.5] == []
