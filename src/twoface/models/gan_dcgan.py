"""The textbook DCGAN's networks (Radford et al. 2015) and the batch-norm recalibration its
generator needs at inference; the model itself is :class:`twoface.models.gan.GAN`.

Images are ``(B, 3, S, S)`` in [-1, 1]; latents ``(B, z_dim)``.
"""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:
    from twoface.models.gan import GanConfig


def _channels(base: int, cap: int, size: int, res: int) -> int:
    """Width at resolution ``res``: ``base`` at the full size, doubling per halving, capped."""
    return min(cap, base * (size // res))


class DCGenerator(nn.Module):
    """z → transposed-conv 4×4 → (transposed conv, BN, ReLU) × log2(S/8) → tanh."""

    def __init__(self, cfg: GanConfig) -> None:
        super().__init__()
        self.z_dim, self.size = cfg.z_dim, cfg.size
        levels = int(math.log2(cfg.size // 4))
        # Each level is as wide as the paper's for the resolution it feeds (ngf at S/2).
        chans = [_channels(cfg.g_channels, cfg.max_channels, cfg.size, 8 * 2**i)
                 for i in range(levels)]
        mods: list[nn.Module] = [nn.ConvTranspose2d(cfg.z_dim, chans[0], 4, 1, 0, bias=False),
                                 nn.BatchNorm2d(chans[0]), nn.ReLU(True)]
        for cin, cout in itertools.pairwise(chans):
            mods += [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout),
                     nn.ReLU(True)]
        mods += [nn.ConvTranspose2d(chans[-1], 3, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*mods)
        _dcgan_init(self)

    def forward(self, z: torch.Tensor, truncation: float = 1.0) -> torch.Tensor:
        # The prior's mean is 0: truncation scales z towards it.
        return self.net((z * truncation)[:, :, None, None])


class DCDiscriminator(nn.Module):
    """(conv 4×4 stride 2, BN except first, LeakyReLU) down to 4×4 → conv 4×4 → logit."""

    def __init__(self, cfg: GanConfig) -> None:
        super().__init__()
        levels = int(math.log2(cfg.size // 4))
        chans = [_channels(cfg.d_channels, cfg.max_channels, cfg.size, cfg.size // 2**i)
                 for i in range(levels)]
        mods: list[nn.Module] = [nn.Conv2d(3, chans[0], 4, 2, 1, bias=False),
                                 nn.LeakyReLU(0.2, True)]
        for cin, cout in itertools.pairwise(chans):
            mods += [nn.Conv2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout),
                     nn.LeakyReLU(0.2, True)]
        mods += [nn.Conv2d(chans[-1], 1, 4, 1, 0, bias=False)]
        self.net = nn.Sequential(*mods)
        _dcgan_init(self)

    def forward(self, x: torch.Tensor, recon: bool = False
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        return self.net(x).view(-1), None


def _dcgan_init(module: nn.Module) -> None:
    """The paper's init: conv weights N(0, 0.02), batch-norm gains N(1, 0.02)."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def has_bn(module: nn.Module) -> bool:
    return any(isinstance(m, nn.BatchNorm2d) for m in module.modules())


@torch.no_grad()
def recalibrate_bn(gen: nn.Module, z_dim: int, *, samples: int = 512, batch: int = 64,
                   seed: int = 0) -> None:
    """Replace the running batch-norm statistics of generator ``gen`` by their average over
    ``samples`` latents drawn from ``seed`` (deterministic); ``gen`` ends in eval mode.

    During training BN normalises with each batch's own statistics and keeps a running average
    over a generator that changes every step; in eval mode those stale averages turn DCGAN's
    samples into noise. Statistics of the final generator give what training-mode sampling
    would, without making a face depend on the other faces in its batch.
    """
    norms = [m for m in gen.modules() if isinstance(m, nn.BatchNorm2d)]
    if not norms:
        return
    device = next(gen.parameters()).device
    saved = [m.momentum for m in norms]
    gen.eval()
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over the calls below
        m.train()
    gen_rng = torch.Generator().manual_seed(seed)
    for i in range(0, samples, batch):
        gen(torch.randn(min(batch, samples - i), z_dim, generator=gen_rng).to(device))
    for m, momentum in zip(norms, saved, strict=True):
        m.momentum = momentum
        m.eval()
