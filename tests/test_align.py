"""Alignment, masks, pose and smoothing: geometry checked against known answers."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from twoface.faces.align import (
    TEMPLATE,
    align_face,
    align_matrix,
    template_points,
    transform_points,
    umeyama,
    warp_back,
)
from twoface.faces.mask import face_mask
from twoface.faces.track import smooth_landmarks


def _similarity(angle_deg: float, scale: float, shift: tuple[float, float]) -> np.ndarray:
    a = np.radians(angle_deg)
    rot = scale * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return np.hstack([rot, np.array(shift)[:, None]])


def test_umeyama_recovers_a_known_similarity() -> None:
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 100, (30, 2))
    m = _similarity(17.0, 1.7, (12.0, -5.0))
    dst = transform_points(src, m)
    np.testing.assert_allclose(umeyama(src, dst), m, atol=1e-4)


def test_align_maps_landmarks_onto_the_template() -> None:
    marks = transform_points(TEMPLATE * 120, _similarity(-8.0, 1.0, (200.0, 90.0)))
    m = align_matrix(marks, 256)
    np.testing.assert_allclose(transform_points(marks, m)[17:], template_points(256)[17:],
                               atol=1e-3)


def test_mask_covers_the_face_and_feathers_inside() -> None:
    marks = template_points(256).astype(np.float32)
    hard = face_mask(marks, (256, 256))
    soft = face_mask(marks, (256, 256), feather=0.1)
    nose = tuple(int(v) for v in marks[30][::-1])
    assert hard[nose] == 1.0 and soft[nose] == 1.0
    assert hard[2, 2] == 0.0
    assert (soft <= hard + 1e-6).all()  # feathering never spills outside the hull
    assert 0 < soft[soft > 0].min() < 1


def test_round_trip_align_then_warp_back_is_exact_inside_the_mask(synthetic_face) -> None:
    render = synthetic_face
    aligned = align_face(render.image, render.landmarks, size=512)
    back = warp_back(aligned.image, aligned.matrix, render.image.shape)
    mask = face_mask(render.landmarks, render.image.shape) > 0.5
    # Stay off the hull's edge, where the crop's border and interpolation meet.
    import cv2

    mask = cv2.erode(mask.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    err = np.abs(back.astype(np.float64) - render.image.astype(np.float64))[mask].mean()
    assert err < 2.0, f"mean abs error {err:.2f}/255 inside the mask"


def test_smoothing_removes_jitter_without_lag() -> None:
    rng = np.random.default_rng(1)
    t = np.arange(150) / 30.0
    # A face that holds still, then turns fast (a 60 px eased sweep in 0.4 s), then holds.
    sweep = (1 - np.cos(np.pi * np.clip((t - 2.0) / 0.4, 0, 1))) / 2 * 60.0
    base = template_points(256).astype(np.float64)
    truth = base[None] + np.stack([sweep, np.zeros_like(sweep)], -1)[:, None, :]
    noisy = truth + rng.normal(0, 1.0, truth.shape)
    smooth = smooth_landmarks(noisy.astype(np.float32), t).astype(np.float64)

    def jitter(x: np.ndarray) -> float:
        still = (t < 1.9)[1:]
        return float(np.linalg.norm(np.diff(x, axis=0), axis=2).mean(1)[still].mean())

    assert jitter(smooth) < jitter(noisy) / 3
    err_raw = np.linalg.norm(noisy - truth, axis=2).mean()
    err_smooth = np.linalg.norm(smooth - truth, axis=2).mean()
    assert err_smooth < err_raw
    # No lag: halfway through the sweep the smoothed face is halfway too (within 3 px).
    mid = int(np.argmin(np.abs(t - 2.2)))
    assert abs((smooth[mid] - base)[:, 0].mean() - sweep[mid]) < 3.0


def test_smoothing_with_expression_keeps_blinks_and_speech_but_not_jitter() -> None:
    """A still face that blinks (lids shut for 0.2 s) and opens its mouth (0.3 s), with dlib-like
    jitter: the hard smoothing of a still face flattens both; ``expression`` keeps them and
    still removes most of the jitter."""
    from twoface.apply._facecrop import mouth_open
    from twoface.faces.quality import eye_openness

    rng = np.random.default_rng(3)
    t = np.arange(120) / 30.0
    base = template_points(256).astype(np.float64)
    truth = np.repeat(base[None], len(t), 0)
    blink = (t > 1.0) & (t < 1.2)
    for upper, lower in ((37, 41), (38, 40), (43, 47), (44, 46)):
        mid = (truth[blink, upper, 1] + truth[blink, lower, 1]) / 2
        truth[blink, upper, 1], truth[blink, lower, 1] = mid - 0.5, mid + 0.5
    talk = (t > 2.5) & (t < 2.8)
    truth[np.ix_(talk, [56, 57, 58, 65, 66, 67])] += np.array([0.0, 14.0])
    noisy = truth + rng.normal(0, 0.8, truth.shape)

    def shut(x: np.ndarray) -> float:  # eye openness in the middle of the blink
        return float(eye_openness(x[33]).mean())

    def gap(x: np.ndarray) -> float:
        return mouth_open(x[80])

    def jitter(x: np.ndarray) -> float:
        quiet = (t < 0.9)[1:]
        return float(np.linalg.norm(np.diff(x, axis=0), axis=2).mean(1)[quiet].mean())

    hard = smooth_landmarks(noisy.astype(np.float32), t).astype(np.float64)
    kept = smooth_landmarks(noisy.astype(np.float32), t, expression=True).astype(np.float64)
    assert shut(truth) < 0.05 and shut(hard) > 0.2  # the blink is lost
    assert shut(kept) < 0.1
    assert gap(hard) < 0.5 * gap(truth) and gap(kept) > 0.8 * gap(truth)
    assert jitter(kept) < jitter(noisy) / 2


@pytest.mark.parametrize("n", [1, 2])
def test_smoothing_short_tracks_passes_through(n: int) -> None:
    marks = np.ones((n, 68, 2), np.float32)
    np.testing.assert_array_equal(smooth_landmarks(marks, np.arange(n) / 25.0), marks)


def test_smoothing_in_place_and_memory_bounded_by_track_length() -> None:
    """A 10-minute track (18,000 frames) is smoothed in place with a few MB of working
    memory, not several copies of the track: extraction's memory stays flat in video length."""
    rng = np.random.default_rng(2)
    n = 18_000
    t = np.arange(n) / 30.0
    base = template_points(256).astype(np.float32)
    marks = base[None] + np.cumsum(rng.normal(0, 0.5, (n, 1, 2)), 0).astype(np.float32)
    marks += rng.normal(0, 1.0, marks.shape).astype(np.float32)
    head = marks[:400].copy()
    expected = smooth_landmarks(head, t[:400])
    tracemalloc.start()
    try:
        out = smooth_landmarks(marks, t, out=marks)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert out is marks
    assert peak < 16 * 2**20, f"smoothing an 18k-frame track peaked at {peak / 2**20:.0f} MB"
    assert peak < marks.nbytes * 2  # less than two copies of the points it smooths
    # In place gives the same points as a fresh array would (on a short prefix track).
    np.testing.assert_allclose(smooth_landmarks(head, t[:400], out=head), expected, atol=1e-4)


def test_head_pose_signs_follow_the_renderer() -> None:
    from twoface.faces.quality import head_pose
    from twoface.synth import Identity, render
    from twoface.types import Pose

    ident = Identity.random(2)

    def est(yaw: float, pitch: float, roll: float):
        r = render(ident, Pose(yaw, pitch, roll), size=256, seed=2)
        return head_pose(r.landmarks, (256, 256))

    front = est(0, 0, 0)
    assert abs(front.yaw) < 2 and abs(front.roll) < 2
    right, left = est(20, 0, 0), est(-20, 0, 0)
    assert right.yaw > 8 and left.yaw < -8  # same sign convention as the renderer
    assert est(0, 12, 0).pitch > front.pitch + 5  # looking up
    assert est(0, 0, 10).roll == pytest.approx(10, abs=2)
