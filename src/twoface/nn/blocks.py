"""Building blocks shared by the generators and discriminators.

Every block keeps the spatial layout ``(B, C, H, W)``; down/up blocks halve/double ``H, W``.
"""

from __future__ import annotations

import torch
from torch import nn


class Down(nn.Sequential):
    """``(B, cin, H, W)`` → ``(B, cout, H/2, W/2)``: strided 5×5 conv (wide receptive field for
    few layers, the classic face-swap encoder) then LeakyReLU."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(nn.Conv2d(cin, cout, 5, stride=2, padding=2), nn.LeakyReLU(0.1))


class Up(nn.Sequential):
    """``(B, cin, H, W)`` → ``(B, cout, 2H, 2W)``: conv to ``4·cout`` channels then pixel shuffle
    (sub-pixel upscaling has no checkerboard artefacts, unlike transposed conv)."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(nn.Conv2d(cin, cout * 4, 3, padding=1), nn.LeakyReLU(0.1),
                         nn.PixelShuffle(2))


class Residual(nn.Module):
    """``(B, C, H, W)`` → same: two 3×3 convs with a skip; sharpens decoder output cheaply."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.LeakyReLU(0.2),
                                  nn.Conv2d(channels, channels, 3, padding=1))
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.body(x))


class PatchDiscriminator(nn.Module):
    """A PatchGAN critic: ``(B, 3, H, W)`` in [0, 1] → ``(B, 1, H/8, W/8)`` real/fake logits,
    one per overlapping patch (~70 px receptive field at 3 layers), so it judges texture and
    sharpness rather than global layout, which the reconstruction losses already pin down.
    Spectral norm keeps it Lipschitz so it cannot overpower the generator on small data."""

    def __init__(self, channels: int = 64, layers: int = 3) -> None:
        super().__init__()
        sn = nn.utils.parametrizations.spectral_norm
        mods: list[nn.Module] = [sn(nn.Conv2d(3, channels, 4, 2, 1)), nn.LeakyReLU(0.2)]
        c = channels
        for _ in range(layers - 1):
            mods += [sn(nn.Conv2d(c, c * 2, 4, 2, 1)), nn.LeakyReLU(0.2)]
            c *= 2
        mods += [sn(nn.Conv2d(c, c, 3, 1, 1)), nn.LeakyReLU(0.2), nn.Conv2d(c, 1, 3, 1, 1)]
        self.net = nn.Sequential(*mods)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x * 2 - 1)
