"""Detection, landmarks and embeddings on synthetic faces with known ground truth."""

from __future__ import annotations

import numpy as np
import pytest

from twoface.faces.detect import detect, embedding, landmarks


@pytest.mark.parametrize("detector", ["hog", "cnn"])
def test_detectors_find_the_synthetic_face(synthetic_face, models, detector: str) -> None:
    found = detect(synthetic_face.image, models, detector=detector)
    assert len(found) == 1
    box, _ = found[0]
    cx, cy = box.center
    gx, gy = synthetic_face.landmarks.mean(0)
    assert abs(cx - gx) < 0.15 * box.width and abs(cy - gy) < 0.2 * box.height


def test_large_frames_are_shrunk_for_detection_and_boxes_scaled_back(synthetic_face,
                                                                     models) -> None:
    import cv2

    big = cv2.resize(synthetic_face.image, None, fx=4, fy=4, interpolation=cv2.INTER_CUBIC)
    (small_box, _), = detect(synthetic_face.image, models)
    (big_box, _), = detect(big, models, max_side=256)
    assert big_box.width == pytest.approx(4 * small_box.width, rel=0.1)


def test_landmarks_agree_with_ground_truth(synthetic_face, models) -> None:
    (box, _), = detect(synthetic_face.image, models)
    gt = synthetic_face.landmarks
    pred = landmarks(synthetic_face.image, box, models)
    iod = np.linalg.norm(gt[45] - gt[36])
    assert np.linalg.norm(pred - gt, axis=1).mean() / iod < 0.1
    five = landmarks(synthetic_face.image, box, models, points=5)
    assert five.shape == (5, 2)
    # dlib's 5-point scheme: eye corners (two per eye) and the base of the nose.
    assert np.linalg.norm(five[4] - gt[33]) / iod < 0.15


def test_embedding_is_stable_for_one_face(synthetic_face, models) -> None:
    (box, _), = detect(synthetic_face.image, models)
    marks = landmarks(synthetic_face.image, box, models)
    a = embedding(synthetic_face.image, marks, models)
    b = embedding(synthetic_face.image, marks + 0.5, models)
    assert a.shape == (128,) and a.dtype == np.float32
    assert np.linalg.norm(a - b) < 0.1


def test_tracker_follows_a_fast_moving_face_by_optical_flow(models) -> None:
    """A face crossing the frame at 19 px per frame between detections: carried over in its
    old box, the landmarks fall off it within two frames (more than an inter-ocular distance
    away by the fourth); moved by the optical flow first, they stay on it."""
    import numpy as np

    from twoface.faces.track import FaceTracker, TrackerConfig
    from twoface.synth import Identity, render
    from twoface.types import Pose

    frames = [render(Identity.random(3), Pose(0, 0, 0), size=320, seed=3, scale=0.6,
                     center=(0.3 + 0.06 * k, 0.5)) for k in range(5)]

    def last_error(flow: bool) -> float:
        tracker = FaceTracker(models, TrackerConfig(detect_every=5, flow=flow))
        for k, r in enumerate(frames):
            faces = tracker.update(r.image, k, k / 25)
        truth = frames[-1].landmarks
        iod = float(np.linalg.norm(truth[45] - truth[36]))
        assert faces, "the track was dropped"
        return float(np.linalg.norm(faces[0].landmarks - truth, axis=1).mean()) / iod

    assert last_error(flow=True) < 0.1
    assert last_error(flow=False) > 0.5
