"""A small autoencoder that re-renders real faces, for the self-blend detector's fake class.

Self-blended images teach a detector the seams of a blend, but a face drawn whole by a
generator has no seam: what gives it away is that a decoder drew every pixel. This network
is trained on the self-blend detector's own real faces only (an L1 reconstruction, through
a bottleneck of an eighth of its side, at half the detector's crop size: 64 px and 8×8 for a
128 px detector) and its output stands in for "the same
face, drawn by a decoder". The detector then sees, as fakes, faces partly or wholly replaced
by their own re-rendering (:mod:`twoface.train.detector`), so it still never sees a fake made
by any of twoface's generators.

The decoder upsamples with transposed convolutions; among the generators the detector is
later tested on, the GAN and the motion model upsample by nearest neighbour + convolution and
the swap decoder by pixel shuffle. The idea follows AutoGAN (Zhang, Karaman & Chang, 2019):
artifacts of generator up-sampling can be simulated without any generated image.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from twoface.models.base import OptimGroups, TrainableModel
from twoface.models.registry import register


@dataclass
class RerenderConfig:
    """Knobs of the re-rendering autoencoder; saved in ``config.json``."""

    size: int = 64  # side it works at (the detector's crop is resized to it and back)
    latent: int = 16  # channels of the bottleneck (size / 8 on a side)
    widths: tuple[int, ...] = (32, 64, 128)  # encoder channels; the decoder mirrors them
    lr: float = 2e-3

    def __post_init__(self) -> None:
        self.widths = tuple(int(w) for w in self.widths)  # JSON gives a list back
        if len(self.widths) != 3 or min(self.widths) < 4:
            raise ValueError("widths must be three positive channel counts")
        if self.size < 16 or self.size % 8:
            raise ValueError(f"size must be a multiple of 8 and at least 16, got {self.size}")


def _act() -> nn.Module:
    return nn.LeakyReLU(0.2)


class Rerenderer(TrainableModel):
    """``(B, 3, S, S)`` in [0, 1] → the same faces re-drawn, ``(B, 3, S, S)`` in [0, 1]."""

    adam_betas = (0.9, 0.999)  # a plain reconstruction: the usual Adam momentum (loop.py)

    def __init__(self, config: RerenderConfig) -> None:
        super().__init__()
        self.config = cfg = config
        a, b, c = cfg.widths
        self.encoder = nn.Sequential(
            nn.Conv2d(3, a, 4, 2, 1), _act(), nn.Conv2d(a, b, 4, 2, 1), _act(),
            nn.Conv2d(b, c, 4, 2, 1), _act(), nn.Conv2d(c, cfg.latent, 1))

        def up(cin: int, cout: int) -> list[nn.Module]:
            return [nn.ConvTranspose2d(cin, cout, 4, 2, 1), nn.BatchNorm2d(cout), _act()]

        self.decoder = nn.Sequential(
            nn.Conv2d(cfg.latent, c, 3, 1, 1), _act(), *up(c, b), *up(b, a), *up(a, a),
            nn.Conv2d(a, 3, 3, 1, 1))

    def forward(self, faces: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decoder(self.encoder(faces)))

    def optim_groups(self) -> OptimGroups:
        return {"loss": (list(self.parameters()), self.config.lr)}

    def training_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        x = batch["faces"]
        return {"loss": (self(x).float() - x.float()).abs().mean()}

    def preview(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Up to four faces (top) over their re-renderings (bottom), ``(3, 2S, 4S)``."""
        x = batch["faces"][:4].float()
        with torch.no_grad():
            r = self(x).float()
        return torch.cat([torch.cat(list(x), 2), torch.cat(list(r), 2)], 1).clamp(0, 1)


@register("rerender", "ae")
def ae(**cfg: Any) -> Rerenderer:
    """The re-rendering autoencoder (about 0.4 M parameters)."""
    return Rerenderer(RerenderConfig(**cfg))
