"""The jaw's ground truth: points 0–16 on the visible outline of the face (private).

Annotators of iBUG 300-W put the jaw points on the face's outline as *seen*, so they are not
fixed points of the head: a turned cheek's outline is its silhouette, the near side's is
where the face meets the ear or hair, the chin's is its lower edge. This module finds that
outline for the pose being rendered.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from twoface.synth.grid import DTH, DY, FACE
from twoface.synth.head import texel_points
from twoface.synth.raycast import mat3, sample

# How far a jaw search line may turn away from the camera before it counts as the outline
# (cosine between the surface normal and the outward direction), per search line: the sides
# are true silhouettes; the chin's edge is where it has turned ~70° to face down, in the
# view or on the head (so that looking up does not move the chin onto its underside).
_JAW_TURN = np.array([0.99, 0.99, 0.99, 0.99, 0.99, 0.99, 0.985, 0.97, 0.955, 0.945, 0.94])
_JAW_TURN = np.concatenate([_JAW_TURN, _JAW_TURN[9::-1]])


def jaw_points(starts: np.ndarray, dirs_in: np.ndarray, radius: np.ndarray, label: np.ndarray,
               nrm: np.ndarray, rot: np.ndarray, project: Callable[[np.ndarray], np.ndarray],
               eyes: np.ndarray) -> np.ndarray:
    """Jaw points 0–16 on the visible outline, evenly spaced along it as annotators do.

    ``starts`` and ``dirs_in`` are the search lines' texel starts and frontal outward
    directions (``(21, 2)``: two up each temple and the 17 designed outline points);
    ``nrm`` holds head-frame normals, ``project`` maps head-frame points to the image.
    Search lines run outward from inside the face (81 of them, fanning from the temples
    round the chin); on each the outline is the sample reaching furthest outward in the
    image, among those before the line leaves the face (hair, ear, neck) or turns away.
    Points 0 and 16 start the outline near eye level (``eyes``: the outer eye corners in the
    image, ``(2, 2)``), 8 is under the chin, the others split the outline evenly.
    """
    sub, n_lines = 4, len(starts)
    m = np.arange((n_lines - 1) * sub + 1) / sub
    i0 = np.minimum(m.astype(int), n_lines - 2)
    f = (m - i0)[:, None]
    start = starts[i0] * (1 - f) + starts[i0 + 1] * f
    dirs = dirs_in[i0] * (1 - f) + dirs_in[i0 + 1] * f
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    turn = np.interp(m, np.arange(n_lines), _JAW_TURN)[:, None]
    s = np.linspace(0, 80, 161, dtype=np.float32)[None, :]
    col = start[:, :1] + s * dirs[:, :1] / (85 * DTH)
    row = start[:, 1:] + s * dirs[:, 1:] / DY
    tex = np.stack([col.ravel(), row.ravel()], 1)
    uv = project(texel_points(radius, tex)).reshape(len(m), -1, 2)
    o_head = np.column_stack([dirs, np.zeros(len(m))]).astype(np.float32)
    o3 = o_head @ rot.T
    o3[:, 2] = 0
    o3 /= np.linalg.norm(o3, axis=1, keepdims=True) + 1e-9
    n_head = sample(nrm, tex[:, 0], tex[:, 1])[:, :3]
    nn = mat3(n_head, rot.T).reshape(len(m), -1, 3)
    facing = np.maximum((nn * o3[:, None, :]).sum(-1),
                        (n_head.reshape(len(m), -1, 3) * o_head[:, None, :]).sum(-1))
    lab = sample(label, tex[:, 0], tex[:, 1], cv2.INTER_NEAREST).reshape(len(m), -1)
    off_face = lab != FACE
    stop = off_face | (facing >= turn)
    last = np.where(stop.any(1), np.argmax(stop, 1), stop.shape[1] - 1)
    rows = np.arange(len(m))
    last = np.where(off_face[rows, last] & (last > 0), last - 1, last)
    reach = (uv * o3[:, None, :2]).sum(-1)
    reach[np.arange(stop.shape[1])[None, :] > last[:, None]] = -np.inf
    outline = uv[rows, np.argmax(reach, 1)].astype(np.float64)
    up = (rot @ np.array([0, 1, 0], np.float32))[:2]
    up /= np.linalg.norm(up)
    chin = len(m) // 2
    out = np.zeros((17, 2), np.float32)
    # Where the outline starts: halfway between eye level in the image and the level of the
    # ears' tops on the head (8 mm above the eye line, search line 4/3), which is how
    # annotators (and dlib) follow the contour's top as the head nods.
    ear = 4 / 3 * sub
    for k, part, eye in ((0, outline[: chin + 1], eyes[0]), (8, outline[chin:][::-1], eyes[1])):
        anchor = part[int(ear)] + (ear % 1) * (part[int(ear) + 1] - part[int(ear)])
        h = part @ up - 0.5 * float(eye @ up) - 0.5 * float(anchor @ up)
        j = int(np.argmax(h >= 0)) if (h >= 0).any() else len(h) - 1
        if j > 0:  # cut the outline where it passes eye level
            t = h[j] / (h[j] - h[j - 1])
            part = np.vstack([part[j] + t * (part[j - 1] - part[j]), part[j:]])
        seg = np.linalg.norm(np.diff(part, axis=0), axis=1)
        arc = np.concatenate([[0], np.cumsum(seg)])
        at = np.linspace(0, arc[-1], 9)
        pts = np.stack([np.interp(at, arc, part[:, 0]), np.interp(at, arc, part[:, 1])], 1)
        out[k:k + 9] = pts if k == 0 else pts[::-1]
    return out
