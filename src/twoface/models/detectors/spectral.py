"""A frequency detector for GAN-made and upsampled faces: spectrum statistics + a small MLP.

Generators upsample (transposed convolutions, nearest/bilinear resizes), which leaves
periodic peaks and a wrong fall-off at high frequencies in the power spectrum, and JPEG-like
8×8 block statistics that differ from a camera's (Durall et al. 2020, Frank et al. 2020).
Two hand-made feature sets catch both, computed with torch ops so they run batched on any
device:

* the azimuthally averaged log power spectrum of the grey face (``bins`` rings, DC to the
  corner), which is rotation-free and summarises the fall-off;
* the mean log magnitude of each of the 64 coefficients of the 8×8 block DCT (the energy per
  spatial frequency, where upsampling and blending leave their marks).

A non-affine batch norm standardises the features (its running statistics are saved with the
weights), then an MLP with one hidden layer gives the logit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from twoface.models.detectors.base import Detector
from twoface.models.registry import register


@dataclass
class SpectralConfig:
    size: int = 128  # crops are resized to this side before the spectrum is taken
    coverage: float = 0.625
    bins: int = 32  # rings of the azimuthal average
    hidden: int = 64
    dropout: float = 0.1
    lr: float = 2e-3

    def __post_init__(self) -> None:
        if not 16 <= self.size <= 512 or self.size % 8:
            raise ValueError(f"size must be a multiple of 8 from 16 to 512, got {self.size}")
        if not 0.2 <= self.coverage <= 2.0:
            raise ValueError(f"coverage must be from 0.2 to 2, got {self.coverage}")
        if not 4 <= self.bins <= self.size // 2:
            raise ValueError(f"bins must be in 4..{self.size // 2}, got {self.bins}")


def _ring_matrix(size: int, bins: int) -> torch.Tensor:
    """``(size², bins)``: averaging weights of each pixel of a centred spectrum per ring."""
    c = (size - 1) / 2
    yy, xx = torch.meshgrid(torch.arange(size) - c, torch.arange(size) - c, indexing="ij")
    r = torch.sqrt(xx**2 + yy**2) / (math.sqrt(2) * (c + 1e-9))
    idx = torch.clamp((r * bins).long(), max=bins - 1).reshape(-1)
    m = torch.zeros(size * size, bins)
    m[torch.arange(size * size), idx] = 1.0
    return m / m.sum(0, keepdim=True).clamp(min=1)


def _dct_basis(n: int = 8) -> torch.Tensor:
    """The orthonormal 1-D DCT-II matrix ``(n, n)``."""
    k = torch.arange(n, dtype=torch.float64)[:, None]
    i = torch.arange(n, dtype=torch.float64)[None, :]
    d = torch.cos(math.pi * (2 * i + 1) * k / (2 * n)) * math.sqrt(2 / n)
    d[0] /= math.sqrt(2)
    return d.float()


def spectral_features(grey: torch.Tensor, rings: torch.Tensor, dct: torch.Tensor
                      ) -> torch.Tensor:
    """``(B, S, S)`` grey in [0, 1] → ``(B, bins + 64)`` features (see the module text)."""
    b, s, _ = grey.shape
    x = grey - grey.mean(dim=(1, 2), keepdim=True)
    power = torch.fft.fftshift(torch.fft.fft2(x).abs() ** 2, dim=(-2, -1))
    ring = torch.log(power.reshape(b, -1) @ rings + 1e-8)
    blocks = x.reshape(b, s // 8, 8, s // 8, 8).permute(0, 1, 3, 2, 4).reshape(b, -1, 8, 8)
    coef = dct @ blocks @ dct.T  # 2-D DCT of every block
    block = torch.log(coef.abs().mean(dim=1).reshape(b, 64) + 1e-6)
    return torch.cat([ring, block], dim=1)


class SpectralDetector(Detector):
    """Spectrum and block-DCT statistics → standardise → MLP → logit."""

    rings: torch.Tensor
    dct: torch.Tensor

    def __init__(self, config: SpectralConfig) -> None:
        super().__init__()
        self.config = cfg = config
        # Derived from the config, so not saved (persistent=False) and never out of step.
        self.register_buffer("rings", _ring_matrix(cfg.size, cfg.bins), persistent=False)
        self.register_buffer("dct", _dct_basis(8), persistent=False)
        n = cfg.bins + 64
        self.norm = nn.BatchNorm1d(n, affine=False)
        self.mlp = nn.Sequential(nn.Linear(n, cfg.hidden), nn.SiLU(), nn.Dropout(cfg.dropout),
                                 nn.Linear(cfg.hidden, 1))
        self._init_calibration()

    def features(self, x: torch.Tensor) -> torch.Tensor:
        grey = (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]).float()
        return spectral_features(grey, self.rings, self.dct)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.norm(self.features(x))).squeeze(1)


@register("detector", "spectral")
def spectral(**cfg: Any) -> SpectralDetector:
    """The frequency detector (about 10 k parameters)."""
    return SpectralDetector(SpectralConfig(**cfg))
