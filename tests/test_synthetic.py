"""The procedural face renderer: determinism, ground truth, conventions, and what dlib sees."""

from __future__ import annotations

import importlib.util
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from twoface.synth import (
    Expression,
    Identity,
    Light,
    canonical_landmarks,
    render,
    render_sequence,
    write_talking_video,
)
from twoface.types import Pose


def _ear(lm: np.ndarray) -> float:
    """Eye aspect ratio of the image-left eye (36..41)."""
    e = lm[36:42]
    return float((np.linalg.norm(e[1] - e[5]) + np.linalg.norm(e[2] - e[4]))
                 / (2 * np.linalg.norm(e[0] - e[3])))


@pytest.fixture(scope="module")
def frontal():
    return render(Identity.random(11), Pose(0, 0, 0), size=256, seed=4)


def test_deterministic_for_a_seed():
    a = render(Identity.random(5), Pose(12, -4, 3), Expression(smile=0.5), size=128, seed=9)
    b = render(Identity.random(5), Pose(12, -4, 3), Expression(smile=0.5), size=128, seed=9)
    assert np.array_equal(a.image, b.image)
    assert np.array_equal(a.landmarks, b.landmarks)
    assert np.array_equal(a.mask, b.mask)


def test_seeds_give_different_people():
    assert Identity.random(1) != Identity.random(2)
    assert Identity.random(1) == Identity.random(1)
    a = render(Identity.random(1), size=128, seed=0)
    b = render(Identity.random(2), size=128, seed=0)
    assert np.abs(a.image.astype(int) - b.image.astype(int)).mean() > 5
    assert np.abs(a.landmarks - b.landmarks).max() > 1.0


def test_outputs_and_face_size(frontal):
    assert frontal.image.shape == (256, 256, 3) and frontal.image.dtype == np.uint8
    assert frontal.landmarks.shape == (68, 2) and frontal.landmarks.dtype == np.float32
    assert frontal.mask.shape == (256, 256) and set(np.unique(frontal.mask)) <= {0, 255}
    lm = frontal.landmarks
    assert (lm >= 0).all() and (lm < 256).all()
    width = lm[16, 0] - lm[0, 0]
    assert 0.42 * 256 < width < 0.58 * 256  # "about half the image wide"
    assert frontal.pose == Pose(0, 0, 0)


def test_ibug_order_frontal(frontal):
    lm = frontal.landmarks
    assert lm[36, 0] < lm[39, 0] < lm[42, 0] < lm[45, 0]  # eyes left to right, 36 outer
    assert lm[0, 0] < lm[8, 0] < lm[16, 0]
    assert lm[8, 1] == lm[:17, 1].max()  # the chin is the lowest jaw point
    assert lm[17:27, 1].max() < lm[36:48, 1].min()  # brows above the eyes
    assert np.all(np.diff(lm[27:31, 1]) > 0)  # the bridge runs down to the tip
    assert lm[30, 1] < lm[33, 1] < lm[51, 1] < lm[57, 1] < lm[8, 1]
    assert lm[48, 0] < lm[54, 0] and lm[60, 0] < lm[64, 0]
    assert abs(lm[30, 0] - (lm[36, 0] + lm[45, 0]) / 2) < 1.0  # symmetric
    inside = frontal.mask[lm[17:, 1].round().astype(int), lm[17:, 0].round().astype(int)]
    assert (inside > 0).mean() > 0.9  # the inner points lie on the face mask


def test_pose_sign_conventions(frontal):
    idn = Identity.random(11)
    centre = frontal.landmarks[[36, 45]].mean(0)

    def nose_offset(r) -> np.ndarray:
        return r.landmarks[30] - r.landmarks[[36, 45]].mean(0) - (frontal.landmarks[30] - centre)

    # yaw > 0: the subject turns to their left, the nose moves to image right.
    assert nose_offset(render(idn, Pose(25, 0, 0), size=256, seed=4))[0] > 4
    assert nose_offset(render(idn, Pose(-25, 0, 0), size=256, seed=4))[0] < -4
    # pitch > 0: chin up, the nose tip rises toward the eyes.
    assert nose_offset(render(idn, Pose(0, 15, 0), size=256, seed=4))[1] < -2
    # roll > 0: clockwise in the image, so the image-right eye drops.
    lm = render(idn, Pose(0, 0, 10), size=256, seed=4).landmarks
    assert lm[45, 1] - lm[36, 1] > 0.12 * (lm[45, 0] - lm[36, 0])


def test_blink_closes_the_eyes(frontal):
    closed = render(Identity.random(11), Pose(0, 0, 0), Expression(blink=1.0), size=256, seed=4)
    assert _ear(closed.landmarks) < 0.3 * _ear(frontal.landmarks)
    # Paint follows: the eye region is darker open (iris, lashes) than closed (lid skin).
    lm = frontal.landmarks
    x0, x1 = int(lm[36, 0]) + 2, int(lm[39, 0]) - 1
    y0, y1 = int(lm[37, 1]), int(lm[41, 1]) + 1
    assert closed.image[y0:y1, x0:x1].std() < frontal.image[y0:y1, x0:x1].std()


def test_mouth_open_separates_the_inner_lips(frontal):
    lm = frontal.landmarks
    assert np.abs(lm[[61, 62, 63], 1] - lm[[67, 66, 65], 1]).max() < 0.5
    opened = render(Identity.random(11), Pose(0, 0, 0), Expression(mouth_open=1.0), size=256,
                    seed=4).landmarks
    gap = opened[66, 1] - opened[62, 1]
    assert gap > 10  # px at 256: ~20 mm of jaw drop
    assert opened[8, 1] - lm[8, 1] > 8  # the chin drops with the jaw
    assert abs(opened[36, 1] - lm[36, 1]) < 0.5  # the eyes do not


def test_scale_and_centre():
    idn = Identity.random(2)
    a = render(idn, size=128, seed=1).landmarks
    b = render(idn, size=128, seed=1, scale=0.5, center=(0.3, 0.6)).landmarks
    wa, wb = a[16, 0] - a[0, 0], b[16, 0] - b[0, 0]
    assert abs(wb / wa - 0.5) < 0.02
    box = (b.min(0) + b.max(0)) / 2
    assert np.allclose(box, [0.3 * 128, 0.6 * 128], atol=2.0)


def test_light_changes_shading_not_geometry():
    idn = Identity.random(3)
    a = render(idn, size=128, seed=2, light=Light(direction=(-0.7, -0.3, 0.6)))
    b = render(idn, size=128, seed=2, light=Light(direction=(0.7, -0.3, 0.6), shadows=False))
    assert np.array_equal(a.landmarks, b.landmarks)
    half = a.mask[:, :64] > 0
    assert a.image[:, :64][half].mean() > b.image[:, :64][half].mean()  # lit from its side


def test_canonical_landmarks():
    t = canonical_landmarks()
    assert t.shape == (68, 2)
    assert t.min() >= 0 and t.max() <= 1 and np.isclose(t.max(0), 1).all()
    assert t[36, 0] < t[45, 0] and t[8, 1] == pytest.approx(1.0)


def test_sequence_moves_smoothly():
    frames = render_sequence(Identity.random(4), 8, fps=25, size=96, seed=3)
    assert len(frames) == 8
    yaws = [f.pose.yaw for f in frames]
    assert max(abs(y) for y in yaws) <= 25 + 1e-6 and len(set(yaws)) == 8
    step = max(np.abs(a.landmarks - b.landmarks).max() for a, b in pairwise(frames))
    assert step < 6  # px at 96: no jumps between consecutive frames


def _dlib():
    dlib = pytest.importorskip("dlib")
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("face_recognition_models is not installed")
    path = Path(spec.submodule_search_locations[0]) / "models"
    return (dlib.get_frontal_face_detector(),
            dlib.shape_predictor(str(path / "shape_predictor_68_face_landmarks.dat")))


def test_dlib_finds_the_faces_and_agrees_with_the_ground_truth():
    """A small version of bench/synthetic_faces.py: 8 people × 5 poses and expressions."""
    detector, predictor = _dlib()
    found, nmes = 0, []
    rng = np.random.default_rng(7)
    for person in range(8):
        idn = Identity.random(1000 + person)
        for k in range(5):
            yaw = float(rng.uniform(-30, 30)) if k < 2 else float(rng.uniform(-15, 15))
            pose = Pose(yaw, float(rng.uniform(-15, 15)), float(rng.uniform(-10, 10)))
            r = render(idn, pose, Expression.random(person * 5 + k), size=256, seed=k)
            boxes = detector(r.image, 0)
            if not boxes:
                continue
            found += 1
            if abs(yaw) <= 15:
                pred = np.array([[p.x, p.y] for p in predictor(r.image, boxes[0]).parts()])
                iod = np.linalg.norm(r.landmarks[36] - r.landmarks[45])
                nmes.append(np.linalg.norm(pred - r.landmarks, axis=1).mean() / iod)
    assert found / 40 >= 0.9
    assert len(nmes) >= 20 and float(np.mean(nmes)) <= 0.1


def test_talking_video_round_trip(tmp_path):
    video = pytest.importorskip("twoface.media.video")
    path = tmp_path / "talk.mp4"
    frames = write_talking_video(path, Identity.random(6), seconds=0.5, fps=24, size=96, seed=1)
    assert len(frames) == 12
    read = list(video.iter_frames(path))
    assert len(read) == len(frames)
    assert read[0].image.shape == (96, 96, 3)
    # The encoded frame looks like the rendered one (H.264 at crf 18 is near lossless).
    diff = np.abs(read[0].image.astype(int) - frames[0].image.astype(int)).mean()
    assert diff < 6
