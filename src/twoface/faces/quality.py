"""Per-face quality: sharpness, size and head pose from the 68 landmarks."""

from __future__ import annotations

import cv2
import numpy as np

from twoface.types import Pose

# A generic adult head in millimetres, in camera axes for a frontal face (x to the image right,
# y down, z away from the camera), nose tip at the origin; keys are iBUG 68-point indices.
# Rounded anthropometric averages: enough for pose to a few degrees, not an identity model.
_HEAD_3D = {
    8: (0.0, 68.0, 28.0),    # chin
    17: (-58.0, -50.0, 42.0),  # brow outer ends
    26: (58.0, -50.0, 42.0),
    27: (0.0, -38.0, 22.0),  # nose bridge between the eyes
    30: (0.0, 0.0, 0.0),      # nose tip
    33: (0.0, 13.0, 14.0),   # under the nose
    36: (-44.0, -34.0, 34.0),  # outer eye corners
    39: (-14.0, -33.0, 28.0),  # inner eye corners
    42: (14.0, -33.0, 28.0),
    45: (44.0, -34.0, 34.0),
    48: (-25.0, 30.0, 24.0),  # mouth corners
    54: (25.0, 30.0, 24.0),
}
_IDX = np.array(list(_HEAD_3D))
_MODEL = np.array(list(_HEAD_3D.values()), np.float64)


def head_pose(marks: np.ndarray, frame_size: tuple[int, int] | None = None) -> Pose:
    """Yaw, pitch and roll in degrees from 68 landmarks.

    Signs: yaw > 0 when the face turns towards the image's right (the nose moves right),
    pitch > 0 when it looks up, roll > 0 when it tilts clockwise in the image. A pinhole camera
    with focal length equal to the frame width (about 53° field of view) is assumed; without
    ``frame_size`` the landmarks' own extent sets the scale (it only affects perspective).
    """
    pts = np.asarray(marks, np.float64)[_IDX]
    if frame_size is None:
        w = h = float(max(np.ptp(marks[:, 0]), np.ptp(marks[:, 1])) * 3)
        cx, cy = marks[:, 0].mean(), marks[:, 1].mean()
    else:
        w, h = float(frame_size[0]), float(frame_size[1])
        cx, cy = w / 2, h / 2
    cam = np.array([[w, 0, cx], [0, w, cy], [0, 0, 1]], np.float64)
    ok, rvec, _ = cv2.solvePnP(_MODEL, pts, cam, None, flags=cv2.SOLVEPNP_EPNP)
    if ok:
        ok, rvec, _tvec = cv2.solvePnP(_MODEL, pts, cam, None, rvec, _, True,
                                      flags=cv2.SOLVEPNP_ITERATIVE)
    if not ok:
        return Pose(float("nan"), float("nan"), float("nan"))
    rot, _ = cv2.Rodrigues(rvec)
    # The head's forward direction (towards the camera for a frontal face) in camera axes.
    fwd = rot @ np.array([0.0, 0.0, -1.0])
    yaw = np.degrees(np.arctan2(fwd[0], -fwd[2]))
    pitch = np.degrees(np.arctan2(-fwd[1], np.hypot(fwd[0], fwd[2])))
    roll = np.degrees(np.arctan2(rot[1, 0], rot[0, 0]))
    return Pose(float(yaw), float(pitch), float(roll))


def blur_score(crop: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Variance of the Laplacian of the grey crop (inside ``mask`` if given): higher is sharper.

    Comparable only between crops of the same size, which a faceset guarantees.
    """
    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY) if crop.ndim == 3 else crop
    lap = cv2.Laplacian(grey.astype(np.float32), cv2.CV_32F, ksize=3)
    if mask is not None:
        lap = lap[mask > 0.5]
    return float(lap.var()) if lap.size else 0.0


def face_size(marks: np.ndarray) -> float:
    """Face size in pixels: the larger side of the landmarks' bounding box."""
    return float(max(np.ptp(marks[:, 0]), np.ptp(marks[:, 1])))


EYES = ((36, 42), (42, 48))  # the 68-point scheme's right and left eye outlines


def eye_openness(marks: np.ndarray) -> np.ndarray:
    """``(2,)``: each eye's lid gap over its width (dlib's points: about 0.3 open, 0.1 shut)."""
    out = []
    for lo, _ in EYES:
        e = marks[lo:lo + 6]
        gap = np.linalg.norm(e[[1, 2]] - e[[5, 4]], axis=1).mean()
        out.append(gap / max(float(np.linalg.norm(e[3] - e[0])), 1e-6))
    return np.array(out)
