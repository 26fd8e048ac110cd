"""Face crops that follow one face through a video, and pasting a drawn crop back into its
frame: shared by ``swap`` (tracking), ``reenact`` and the one-shot swap (both).

A *follow box* is a square ``(x0, y0, side)`` in whole pixels around one frame's smoothed
landmarks, ``LOOSE`` × the face's extent like the motion model's training clips, so the motion
model sees every frame's face at the place and scale it learnt. Boxes may reach past the frame
(a face at the edge): crops repeat the edge pixels there and pasting clips to the frame.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from twoface.apply.blend import feather, hist_match, lab_stats, paste, rct
from twoface.faces.quality import EYES, eye_openness
from twoface.types import BlendName, ColorMatchName

Box = tuple[int, int, int]  # x0, y0, side in frame pixels
PerFrame = dict[int, list[tuple[int, np.ndarray]]]  # frame index → [(track id, 68×2 marks)]


def track_faces(source: Path, models: Any, *, detect_every: int = 5, min_face: int = 40,
                progress: bool = False, total: int | None = None,
                expression: bool = False) -> PerFrame:
    """Track every face of ``source`` and smooth each track's landmarks (zero-phase Kalman;
    ``expression`` keeps blinks and mouth movements, see
    :func:`~twoface.faces.track.smooth_landmarks`)."""
    from twoface.faces.track import FaceTracker, TrackerConfig, smooth_landmarks
    from twoface.media import iter_frames
    from twoface.progress import progress_bar

    tracker = FaceTracker(models, TrackerConfig(detect_every=detect_every, min_face=min_face))
    tracks: dict[int, list[tuple[int, float, np.ndarray]]] = defaultdict(list)
    with progress_bar(enabled=progress) as bar:
        task = bar.add_task(f"track {source.name}", total=total, unit="frames")
        for fr in iter_frames(source):
            for face in tracker.update(fr.image, fr.index, fr.time):
                assert face.landmarks is not None  # the tracker fits them to every face
                tracks[face.track_id].append((fr.index, fr.time, face.landmarks))
            bar.advance(task)
    per_frame: PerFrame = defaultdict(list)
    for tid, items in tracks.items():
        marks = smooth_landmarks(np.array([m for _, _, m in items]),
                                 np.array([t for _, t, _ in items]), expression=expression)
        for (index, _, _), m in zip(items, marks, strict=True):
            per_frame[index].append((tid, m))
    return dict(per_frame)


def main_track(per_frame: PerFrame) -> dict[int, np.ndarray]:
    """Frame index → landmarks of the face seen in the most frames (the video's subject)."""
    counts: dict[int, int] = defaultdict(int)
    for faces in per_frame.values():
        for tid, _ in faces:
            counts[tid] += 1
    if not counts:
        return {}
    best = max(counts, key=lambda t: counts[t])
    return {i: m for i, faces in per_frame.items() for tid, m in faces if tid == best}


def follow_box(marks: np.ndarray, loose: float = 1.8) -> Box:
    """The square around ``marks`` (68×2) the motion model wants to see, in whole pixels."""
    lo, hi = marks.min(0), marks.max(0)
    side = max(8, round(loose * float(np.max(hi - lo))))
    cx, cy = (lo + hi) / 2
    # A little more room above than below: the hair belongs to the head that moves.
    return round(cx - side / 2), round(cy - side / 2 - 0.05 * side), side


def crop_at(image: np.ndarray, box: Box, size: int) -> np.ndarray:
    """``box`` of ``image`` resized to ``size``² (uint8), edge pixels repeated past the frame."""
    x0, y0, side = box
    h, w = image.shape[:2]
    pad = max(0, -x0, -y0, x0 + side - w, y0 + side - h)
    if pad:
        image = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        x0, y0 = x0 + pad, y0 + pad
    part = np.ascontiguousarray(image[y0:y0 + side, x0:x0 + side])
    interp = cv2.INTER_AREA if side > size else cv2.INTER_CUBIC
    return cv2.resize(part, (size, size), interpolation=interp)


def normalised_pose(marks: np.ndarray) -> np.ndarray:
    """68 landmarks centred and scaled to unit spread: comparable across faces and sizes."""
    centred = marks - marks.mean(0)
    return centred / max(float(np.sqrt((centred ** 2).sum(1).mean())), 1e-6)


def mouth_open(marks: np.ndarray) -> float:
    """Inner-lip gap over the face's height (0 for a closed mouth)."""
    gap = float(np.linalg.norm(marks[[61, 62, 63]] - marks[[67, 66, 65]], axis=1).mean())
    return gap / max(float(np.ptp(marks[:, 1])), 1e-6)


def eyes_shut(marks: np.ndarray, wide: np.ndarray) -> np.ndarray:
    """``(2,)`` in [0, 1]: how shut each eye is against ``wide``, the track's open eyes (its
    80th percentile of :func:`eye_openness`); 0 up to a third shut, 1 from two thirds."""
    closed = 1 - eye_openness(marks) / np.maximum(wide, 1e-6)
    return np.clip((closed - 1 / 3) * 3, 0, 1)


class Paster:
    """Pastes drawn face crops into their frames through the frame's own face mask, with a
    colour correction smoothed along the track (so the face neither jumps nor flickers)."""

    def __init__(self, color: ColorMatchName = "rct", blend: BlendName = "feather",
                 smooth: float = 0.2, brow_raise: float = 0.2, occlusion: bool = False) -> None:
        self.color, self.blend, self.smooth, self.brow_raise = color, blend, smooth, brow_raise
        self.occlusion = occlusion  # keep the frame's glasses in front of the face
        self._shift: np.ndarray | None = None
        self._glasses = 0.5  # how steadily occluders are found along the track (EMA of 0/1)

    def __call__(self, frame: np.ndarray, face: np.ndarray, box: Box, marks: np.ndarray,
                 *, keep_mouth: bool = False, keep_eyes: np.ndarray | None = None,
                 frame_marks: np.ndarray | None = None, drawn: np.ndarray | None = None
                 ) -> np.ndarray:
        """``frame`` (uint8) with ``face`` (``S×S×3`` float in [0, 1], drawn for ``box``)
        pasted inside the hull of ``marks`` (the frame's landmarks). ``keep_mouth`` leaves
        the frame's own inner mouth (a warp cannot draw teeth it never saw); ``keep_eyes``
        (``(2,)`` in [0, 1], see :func:`eyes_shut`) shows that much of the frame's own eyes
        and lids (a warp squeezes open eyes thin but cannot shut them), where
        ``frame_marks`` puts them when ``marks`` were moved off the frame's own; ``drawn``
        (``side×side`` bool) limits the paste to what the face drawing covered. With
        ``occlusion``, the frame's glasses stay in front (the face must be sharp:
        :func:`twoface.apply._occlusion.occluders`)."""
        from twoface.faces.mask import face_mask

        x0, y0, side = box
        local = marks - np.array([x0, y0], np.float64)  # landmarks in the box's pixels
        own = local if frame_marks is None else frame_marks - np.array([x0, y0], np.float64)
        big = cv2.resize(face.astype(np.float32), (side, side), interpolation=cv2.INTER_CUBIC)
        big = np.clip(big, 0, 1)
        here = crop_at(frame, box, side).astype(np.float32) / 255
        mask = face_mask(local, (side, side), brow_raise=self.brow_raise)
        if self.color == "rct":
            src, dst = lab_stats(big, mask), lab_stats(here, mask)
            shift = np.stack([dst[0] - src[0], dst[1] / src[1]])
            if self._shift is not None:
                shift = self._shift + self.smooth * (shift - self._shift)
            self._shift = shift
            big = rct(big, src, np.stack([src[0] + shift[0], src[1] * shift[1]]))
        elif self.color == "hist":
            big = hist_match(big, here, mask)
        if drawn is not None:
            mask = mask * drawn.astype(np.float32)
        alpha = feather(mask)
        if self.occlusion:
            from twoface.apply._occlusion import occluders

            occ = occluders(here, big, mask, [own, local])
            # Glasses are worn for the whole shot: strokes found in a frame here and there
            # (an eyelid's crease, a fold, caught in a turn) are the target's face, not glasses.
            self._glasses += 0.1 * (float(occ.any()) - self._glasses)
            if self._glasses >= 0.5:
                alpha = alpha * (1 - occ)
        if keep_mouth:
            # Cut after feathering: an eroded hole would grow past the lips.
            lips = np.round(local[60:68]).astype(np.int32)
            hole = cv2.fillPoly(np.zeros((side, side), np.float32), [lips], 1.0)
            alpha = alpha * (1 - cv2.GaussianBlur(hole, (0, 0), max(1.0, side / 150)))
        if keep_eyes is not None and float(np.max(keep_eyes)) > 0:
            alpha = alpha * (1 - _eye_windows(own, side, keep_eyes))
        # Only the part of the box inside the frame is written back.
        h, w = frame.shape[:2]
        fx0, fy0, fx1, fy1 = max(0, x0), max(0, y0), min(w, x0 + side), min(h, y0 + side)
        if fx1 <= fx0 or fy1 <= fy0:
            return frame
        cx0, cy0 = fx0 - x0, fy0 - y0
        cut = (slice(cy0, cy0 + fy1 - fy0), slice(cx0, cx0 + fx1 - fx0))
        out = frame.copy()
        out[fy0:fy1, fx0:fx1] = paste(out[fy0:fy1, fx0:fx1], big[cut], alpha[cut], self.blend)
        return out


def _eye_windows(marks: np.ndarray, side: int, weights: np.ndarray) -> np.ndarray:
    """``side×side`` float: soft ellipses over each eye and its lids, scaled by ``weights``."""
    out = np.zeros((side, side), np.float32)
    for (lo, hi), w in zip(EYES, weights, strict=True):
        if w <= 0:
            continue
        e = marks[lo:hi]
        width = float(np.linalg.norm(e[3] - e[0]))
        angle = float(np.degrees(np.arctan2(*(e[3] - e[0])[::-1])))
        cx, cy = np.rint(e.mean(0)).astype(int).tolist()
        axes = (round(0.75 * width), round(0.5 * width))
        one = cv2.ellipse(np.zeros((side, side), np.float32), (cx, cy), axes, angle, 0, 360,
                          1.0, -1)
        out = np.maximum(out, w * cv2.GaussianBlur(one, (0, 0), max(1.0, width / 6)))
    return out
