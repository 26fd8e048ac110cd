"""The lower part of dlib's face recognition ResNet as a trainable detector backbone.

:class:`DlibTrunk` keeps the stem and the first ``levels`` levels of
:class:`twoface.faces.nets.FaceEmbedder` (the rest, its pooling and its 128-d layer, are
dropped), initialised from dlib's weights when it is built and trainable from there. Those
filters were learnt on millions of faces: a start on real faces that a detector trained from
scratch on a few videos does not have. The ``Affine`` layers (dlib's test-time batch norm)
stay fixed buffers, as in the embedder; the convolutions around them learn.

Input: aligned crops ``(N, 3, S, S)`` in [0, 1] whose landmark template spans ``coverage``;
they are resampled to dlib's 150 px chip (:func:`twoface.faces.nets.chips.crops_to_chips`), so
the map it returns has the same side whatever ``S`` is.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from twoface.faces.nets.chips import crops_to_chips
from twoface.faces.nets.embedder import _LEVELS, load_embedder

MAX_LEVELS = len(_LEVELS)
# side of the map after the stem and each level, for 150 px chips
SIDES = (35, 35, 17, 8, 4, 2)


def trunk_channels(levels: int) -> int:
    """Channels of the map after the first ``levels`` levels (1..5): 32, 64, 128, 256, 256."""
    return _LEVELS[levels - 1][0]


class DlibTrunk(nn.Module):
    """``(N, 3, S, S)`` crops in [0, 1] → ``(N, C, h, w)`` with ``C = trunk_channels(levels)``
    and ``h = w = SIDES[levels]`` (35, 17, 8, 4, 2 for 1..5 levels)."""

    avg_rgb: torch.Tensor

    def __init__(self, levels: int, coverage: float) -> None:
        super().__init__()
        if not 1 <= levels <= MAX_LEVELS:
            raise ValueError(f"levels must be from 1 to {MAX_LEVELS}, got {levels}")
        net = load_embedder().requires_grad_(True)  # dlib's weights, now to be fine-tuned
        self.coverage = coverage
        self.register_buffer("avg_rgb", net.avg_rgb.clone())
        self.stem_conv, self.stem_affine = net.stem_conv, net.stem_affine
        self.levels = nn.ModuleList(list(net.levels)[:levels])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        chips = crops_to_chips(x, self.coverage)
        # FaceEmbedder.normalize: dlib's input layer, (255·x − avg_rgb) / 256
        x = (chips * 255 - self.avg_rgb.to(chips.dtype)) / 256
        x = F.max_pool2d(F.relu(self.stem_affine(self.stem_conv(x))), 3, 2)
        for blocks in self.levels:
            assert isinstance(blocks, nn.ModuleList)
            for block in blocks:
                x = block(x)
        return x
