"""The blind overlay check (``inspect`` without the source): a caption burned in over a moving
face is found where it is; the same caption over a still background, or no caption, is not."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from twoface.forensics.shallow import inspect_video
from twoface.media import write_video

FPS = 25


@pytest.fixture(scope="module")
def head() -> list[np.ndarray]:
    from twoface.synth import Identity, render_sequence

    return [r.image for r in render_sequence(Identity.random(3), 48, size=128, seed=3)]


def _caption(frames: list[np.ndarray], text: str, x: int, y: int) -> list[np.ndarray]:
    out = []
    for f in frames:
        g = f.copy()
        cv2.putText(g, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 2)
        out.append(g)
    return out


def _overlays(path) -> list:
    return [f for f in inspect_video(path).findings if f.kind == "overlay"]


def test_caption_over_a_moving_face_is_found_where_it_is(head, tmp_path):
    clip = write_video(tmp_path / "caption.mp4", _caption(head, "NEWS 24", 34, 98), FPS)
    found = _overlays(clip)
    assert len(found) == 1 and found[0].confidence >= 0.5, found
    boxes = found[0].evidence["regions_px"]
    # Every region lies on the caption's rows (text baseline 98, about 12 px tall).
    assert boxes and all(y >= 80 and y + h <= 106 for _, y, _, h in boxes), boxes
    assert found[0].evidence["spread_around"] > found[0].evidence["spread_inside"]


def test_caption_over_a_still_background_is_not_guessed(head, tmp_path):
    # The top-left corner is background that never changes: a caption there cannot be told
    # from a sign the camera saw, so the blind check stays silent (the source would tell).
    clip = write_video(tmp_path / "corner.mp4", _caption(head, "TV", 2, 14), FPS)
    assert _overlays(clip) == []


def test_no_caption_no_overlay(head, tmp_path):
    assert _overlays(write_video(tmp_path / "clean.mp4", head, FPS)) == []
