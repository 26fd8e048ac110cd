"""dlib's 150 px identity chip drawn from twoface's aligned crops, differentiably.

dlib's embedder expects the chip ``dlib.get_face_chip(image, shape, 150, 0.25)`` makes: the
face fitted by a similarity transform of its inner landmarks onto dlib's own mean face. A
twoface crop is fitted the same way onto twoface's template (:mod:`twoface.faces.align`), so
the two frames differ by one fixed similarity transform, which this module applies with
``grid_sample``: the identity and face-feature losses can then backpropagate from the
embedder into a generator that draws aligned crops.

The transform was measured with dlib (a coordinate-ramp image through ``get_face_chip``) on
119 real faces of ``utkface_adults``: a chip pixel sits at ``CHIP_SCALE · t + CHIP_SHIFT`` for
template coordinates ``t`` (the unit square of ``align.TEMPLATE``), with a per-face spread of
2.5 % in scale and 1.5 px in shift (the two mean faces differ a little in shape). Embeddings
of these chips lie 0.13–0.14 from those of dlib's own chips for 128–256 px crops (0.20 at
64 px), against about 0.8 between different people: close enough for a loss, not a
replacement for dlib's chip in a metric.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

CHIP_SIZE = 150
CHIP_SCALE = 117.6  # chip pixels per template unit
CHIP_SHIFT = (15.39, 25.39)  # chip pixel (x, y) of template point (0, 0)


def chip_theta(size: int, coverage: float) -> torch.Tensor:
    """The ``(2, 3)`` ``affine_grid`` matrix (normalised chip → normalised crop coordinates,
    ``align_corners=False``) for crops of side ``size`` whose template spans ``coverage``."""
    margin = (1.0 - coverage) / 2
    # chip px u -> template t = (u - shift) / scale -> crop px p = (t·coverage + margin)·size
    # and normalised n = (2p + 1) / side - 1 on both sides.
    k = coverage * size / CHIP_SCALE  # crop px per chip px
    rows = []
    for axis in (0, 1):
        # p(u) = k·u + c  with  c = (margin − coverage·shift/scale)·size
        c = (margin - coverage * CHIP_SHIFT[axis] / CHIP_SCALE) * size
        # u = ((n_u + 1)·CHIP − 1) / 2 ;  n_p = (2·p + 1) / size − 1
        scale = k * CHIP_SIZE / size
        shift = (2 * (k * (CHIP_SIZE - 1) / 2 + c) + 1) / size - 1
        rows.append([scale if axis == 0 else 0.0, scale if axis == 1 else 0.0, shift])
    return torch.tensor(rows, dtype=torch.float32)


def crops_to_chips(crops: torch.Tensor, coverage: float) -> torch.Tensor:
    """Aligned crops ``(N, 3, S, S)`` (any range) → dlib-framed chips ``(N, 3, 150, 150)``
    by bilinear resampling (differentiable; borders replicate)."""
    n, _, size, _ = crops.shape
    theta = chip_theta(size, coverage).to(crops.device, crops.dtype).expand(n, 2, 3)
    grid = F.affine_grid(theta, [n, 3, CHIP_SIZE, CHIP_SIZE], align_corners=False)
    return F.grid_sample(crops, grid, mode="bilinear", padding_mode="border",
                         align_corners=False)
