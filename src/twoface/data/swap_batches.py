"""Training batches for the face swap: two facesets, held as one tensor each, augmented on the
batch's device.

Each face becomes a ``(5, S, S)`` uint8 stack at the model's size and coverage: RGB, the face
mask (landmark hull, forehead included) and the eyes+mouth mask. With the stacks resident on
the device, a batch costs an index and a few ``grid_sample`` calls: no loader can starve the
GPU because there is no loader.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from twoface.data.augment import apply_affine, colour_jitter, random_affine, random_warp, seed_for
from twoface.data.faceset import Faceset
from twoface.errors import TwofaceError
from twoface.faces.align import align_matrix, invert, transform_points
from twoface.faces.mask import face_mask
from twoface.types import EYE_L, EYE_R, MOUTH_OUTER

MIN_FACES = 16
"""Fewer faces than this per identity and the decoder memorises frames instead of learning a
face; a few hundred varied faces per side is what gives a usable swap."""


def face_stack(image: np.ndarray, fs_matrix: np.ndarray, marks: np.ndarray, size: int,
               coverage: float) -> np.ndarray:
    """One face as a ``(5, size, size)`` uint8 stack from its faceset crop ``image``.

    ``fs_matrix`` maps frame → faceset crop; ``marks`` are the 68 landmarks in frame pixels.
    The crop is re-aligned to the model's own ``size`` and ``coverage``.
    """
    m_model = align_matrix(marks, size, coverage)
    m = np.vstack([m_model, [0, 0, 1]]) @ np.vstack([invert(fs_matrix), [0, 0, 1]])
    scale = float(np.sqrt(abs(np.linalg.det(m[:2, :2]))))
    if scale < 0.75:  # shrink with area averaging first: warpAffine alone would alias
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        m = m @ np.diag([1 / scale, 1 / scale, 1])
    rgb = cv2.warpAffine(image, m[:2], (size, size), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REFLECT101)
    pts = transform_points(marks, m_model)
    mask = face_mask(pts, (size, size))
    feats: np.ndarray = np.zeros((size, size), np.uint8)
    for part in (EYE_R, EYE_L, MOUTH_OUTER):
        hull = cv2.convexHull(pts[part].astype(np.float32)).astype(np.int32)
        cv2.fillConvexPoly(feats, hull, 255, lineType=cv2.LINE_AA)
    # Eyes and mouth hulls are thin: grow them so lids, brows' inner ends and lips count too.
    k = max(3, size // 16) | 1
    feats = cv2.dilate(feats, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    return np.concatenate([rgb.transpose(2, 0, 1), (mask * 255).astype(np.uint8)[None],
                           feats[None]])


def load_stacks(folder: str | Path, size: int, coverage: float) -> torch.Tensor:
    """All faces of the faceset at ``folder`` as a ``(N, 5, size, size)`` uint8 tensor."""
    fs = Faceset.load(folder)
    if len(fs.faces) < MIN_FACES:
        raise TwofaceError(folder, f"holds {len(fs.faces)} faces; training needs at least "
                           f"{MIN_FACES} per identity (a few hundred give a usable swap)")
    stacks = [face_stack(fs.image(f), np.asarray(f.matrix, np.float64), f.marks, size, coverage)
              for f in fs.faces]
    return torch.from_numpy(np.stack(stacks))


class SwapBatches:
    """Batches for :meth:`twoface.models.swap_ae.SwapAE.training_step`.

    ``batch(step)`` is a pure function of ``(seed, rank, step)``, so a resumed run sees the
    very batches an unbroken run would have seen.
    """

    def __init__(self, a: torch.Tensor, b: torch.Tensor, batch_size: int, *,
                 device: torch.device | str = "cpu", seed: int = 0, rank: int = 0,
                 warp: float = 0.04, face_weight: float = 3.0,
                 feature_weight: float = 3.0) -> None:
        self.device = torch.device(device)
        # Resident on the device when small enough (a few thousand faces at 128 px are tens
        # of MB); otherwise batches are gathered on the CPU and copied asynchronously.
        resident = self.device.type == "cpu" or (a.numel() + b.numel()) < 2**31
        self.a = a.to(self.device) if resident else a.pin_memory()
        self.b = b.to(self.device) if resident else b.pin_memory()
        self.batch_size, self.seed, self.rank = batch_size, seed, rank
        self.warp, self.face_weight, self.feature_weight = warp, face_weight, feature_weight

    @classmethod
    def from_facesets(cls, a: str | Path, b: str | Path, size: int, coverage: float,
                      batch_size: int, **kw: Any) -> SwapBatches:
        return cls(load_stacks(a, size, coverage), load_stacks(b, size, coverage), batch_size,
                   **kw)

    def _side(self, data: torch.Tensor, gen: torch.Generator) -> dict[str, torch.Tensor]:
        idx = torch.randint(len(data), (self.batch_size,), generator=gen)
        raw = data[idx.to(data.device)].to(self.device, non_blocking=True).float() / 255
        stack = apply_affine(raw, random_affine(self.batch_size, gen))
        target = colour_jitter(stack[:, :3], gen)
        mask, feats = stack[:, 3:4], stack[:, 4:5]
        weight = 1 + self.face_weight * mask + self.feature_weight * feats
        return {"in": random_warp(target, gen, strength=self.warp), "target": target,
                "mask": mask, "weight": weight}

    def batch(self, step: int) -> dict[str, torch.Tensor]:
        """The batch for training step ``step``: ``a_in, a_target, a_mask, a_weight`` and the
        same for ``b``; images ``(B, 3, S, S)``, masks and weights ``(B, 1, S, S)``."""
        gen = torch.Generator().manual_seed(seed_for(self.seed, self.rank, step))
        out = {}
        for side, data in (("a", self.a), ("b", self.b)):
            for k, v in self._side(data, gen).items():
                out[f"{side}_{k}"] = v
        return out
