"""The one-shot swap keeps what lies in front of the target's face: glasses drawn onto a
synthetic person stay in front of another person's face pasted over them, and a face without
glasses gives nothing (its wrinkles, moles and features are the target's and must go)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from twoface.apply._occlusion import occluders
from twoface.faces.mask import face_mask


def _glasses(image: np.ndarray, marks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``image`` with thin dark rims round both eyes and a bridge, and the rims' mask."""
    out, rims = image.copy(), np.zeros(image.shape[:2], np.uint8)
    iod = float(np.linalg.norm(marks[45] - marks[36]))
    centres = [marks[36:42].mean(0), marks[42:48].mean(0)]
    for target, value in ((out, (25, 25, 30)), (rims, 1)):
        for c in centres:
            cv2.ellipse(target, np.round(c).astype(int).tolist(),
                        (round(0.42 * iod), round(0.3 * iod)), 0, 0, 360, value, 2)
        a = np.round(centres[0] + [0.42 * iod, 0]).astype(int).tolist()
        b = np.round(centres[1] - [0.42 * iod, 0]).astype(int).tolist()
        cv2.line(target, a, b, value, 2)
    return out, rims


@pytest.fixture(scope="module")
def faces() -> dict:
    from twoface.faces.detect import detect, landmarks
    from twoface.faces.dlib_models import DlibModels
    from twoface.synth import Identity, render

    models = DlibModels()
    out = {}
    for name, seed in (("target", 21), ("drawn", 22)):
        image = render(Identity.random(seed), size=256, seed=seed, center=(0.5, 0.5)).image
        out[name] = (image, landmarks(image, detect(image, models)[0][0], models))
    return out


def test_glasses_stay_in_front_of_the_pasted_face(faces: dict) -> None:
    (target, marks), (drawn, d_marks) = faces["target"], faces["drawn"]
    framed, rims = _glasses(target, marks)
    region = face_mask(marks, target.shape)
    occ = occluders(framed, drawn, region, [marks, d_marks]) > 0.5
    inside = (rims > 0) & (region > 0.5)
    assert occ[inside].mean() > 0.5  # most of the rims inside the paste come back
    near = cv2.dilate(rims, np.ones((7, 7), np.uint8)) > 0
    assert occ[~near].mean() < 0.002  # and almost nothing else


def test_a_face_without_glasses_keeps_none_of_its_own_features(faces: dict) -> None:
    (target, marks), (drawn, d_marks) = faces["target"], faces["drawn"]
    region = face_mask(marks, target.shape)
    assert not occluders(target, drawn, region, [marks, d_marks]).any()


def test_the_paste_keeps_glasses_worn_all_along_not_strokes_seen_once(faces: dict) -> None:
    """Glasses are worn for the whole shot: the paste keeps rims found frame after frame, and
    ignores strokes that turn up in one frame of a track without them."""
    from twoface.apply._facecrop import Paster, crop_at, follow_box

    (target, marks), (drawn, _) = faces["target"], faces["drawn"]
    framed, rims = _glasses(target, marks)
    box = follow_box(marks)
    face = crop_at(drawn, box, 128).astype(np.float32) / 255
    inside = (rims > 0) & (face_mask(marks, target.shape) > 0.9)

    def rims_kept(out: np.ndarray) -> float:
        return float((np.abs(out.astype(int) - framed).max(2) < 12)[inside].mean())

    steady = Paster(occlusion=True)
    kept = [rims_kept(steady(framed, face, box, marks)) for _ in range(4)]
    assert min(kept) > 0.5
    once = Paster(occlusion=True)
    for _ in range(6):
        once(target, face, box, marks)
    assert rims_kept(once(framed, face, box, marks)) < 0.2
    assert rims_kept(Paster(occlusion=False)(framed, face, box, marks)) < 0.2


def test_strokes_that_are_not_glasses_stay_behind(faces: dict) -> None:
    """Brows raised past their landmarks (dlib's brows lag a high raise) are not glasses."""
    (target, marks), (drawn, d_marks) = faces["target"], faces["drawn"]
    region = face_mask(marks, target.shape)
    iod = float(np.linalg.norm(marks[45] - marks[36]))
    raised = target.copy()
    for lo, hi in ((17, 22), (22, 27)):
        pts = np.round(marks[lo:hi] - [0, 0.2 * iod]).astype(np.int32)
        cv2.polylines(raised, [pts], False, (30, 25, 25), max(2, round(0.08 * iod)))
    assert not occluders(raised, drawn, region, [marks, d_marks]).any()
