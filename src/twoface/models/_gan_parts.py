"""The FastGAN-like networks of :mod:`twoface.models.gan`: a generator with gated upsampling,
noise injection and skip-layer excitation, and a residual discriminator that also
reconstructs the real image from its 8×8 features. The model (losses, EMA, registration) is
:class:`twoface.models.gan.GAN`; the DCGAN baseline's networks are in
:mod:`twoface.models.gan_dcgan`.

Images are ``(B, 3, S, S)`` in [-1, 1]; latents ``(B, z_dim)``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

if TYPE_CHECKING:
    from twoface.models.gan import GanConfig


def _channels(base: int, cap: int, size: int, res: int) -> int:
    """Width at resolution ``res``: ``base`` at the full size, doubling per halving, capped."""
    return min(cap, base * (size // res))


def _he_init(module: nn.Module) -> None:
    """Variance-preserving init (He, for leaky ReLU 0.2), zero biases.

    PyTorch's default init shrinks the signal about threefold per layer; through a dozen
    unnormalised discriminator layers the logits are then almost constant, and since Adam
    takes parameter steps of a fixed size, D barely moves its output and stays at chance.
    """
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.Linear):
            nn.init.kaiming_normal_(m.weight, a=0.2, nonlinearity="leaky_relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def pixel_norm(x: torch.Tensor) -> torch.Tensor:
    """Normalise each pixel's feature vector to unit RMS over channels (ProGAN)."""
    return x * torch.rsqrt(x.square().mean(dim=1, keepdim=True) + 1e-8)


# ------------------------------------------------------------------------ FastGAN-like
class Noise(nn.Module):
    """Adds learned-strength per-pixel noise (fine detail: hair, skin). Training draws fresh
    noise; eval uses a fixed map so the same latent always draws the same face and latent
    interpolation videos do not flicker."""

    fixed: torch.Tensor

    def __init__(self, res: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(()))
        fixed = torch.randn(1, 1, res, res, generator=torch.Generator().manual_seed(res))
        self.register_buffer("fixed", fixed, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        noise = (torch.randn(x.shape[0], 1, *x.shape[2:], device=x.device, dtype=x.dtype)
                 if self.training else self.fixed.to(x.dtype))
        return x + self.weight * noise


class Norm(nn.Module):
    """Batch norm (FastGAN's choice) or pixel norm (ProGAN's: no dependence on the batch)."""

    def __init__(self, kind: str, channels: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(channels) if kind == "batch" else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(x) if self.bn is not None else pixel_norm(x)


class GatedConv(nn.Module):
    """conv3×3 → noise → norm → GLU: the gate lets each unit switch features off."""

    def __init__(self, cin: int, cout: int, res: int, norm: str) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, 2 * cout, 3, padding=1)
        self.noise = Noise(res)
        self.norm = Norm(norm, 2 * cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.glu(self.norm(self.noise(self.conv(x))), dim=1)


class Excite(nn.Module):
    """Skip-layer excitation: a low-resolution map → one gain in (0, 1) per channel of a map
    8× larger, so coarse layout steers fine texture without a long chain of layers."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.AdaptiveAvgPool2d(4), nn.Conv2d(cin, cout, 4),
                                 nn.LeakyReLU(0.1), nn.Conv2d(cout, cout, 1), nn.Sigmoid())

    def forward(self, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
        return high * self.net(low)


class FastGenerator(nn.Module):
    """Mapping MLP → 4×4 → gated upsampling blocks with skip-layer excitation → tanh RGB."""

    w_avg: torch.Tensor

    def __init__(self, cfg: GanConfig) -> None:
        super().__init__()
        self.z_dim, self.size = cfg.z_dim, cfg.size
        ch = {r: _channels(cfg.g_channels, cfg.max_channels, cfg.size, r)
              for r in (2**k for k in range(2, int(math.log2(cfg.size)) + 1))}
        layers: list[nn.Module] = []
        for _ in range(cfg.w_layers):
            layers += [nn.Linear(cfg.z_dim, cfg.z_dim), nn.LeakyReLU(0.2)]
        self.mapping = nn.Sequential(*layers)
        # Running mean of w: the centre truncation pulls towards (StyleGAN's w_avg).
        self.register_buffer("w_avg", torch.zeros(cfg.z_dim))
        self.init = nn.Linear(cfg.z_dim, 2 * ch[4] * 16)
        self.init_norm = Norm(cfg.g_norm, 2 * ch[4])
        self.init_conv = GatedConv(ch[4], ch[4], 4, cfg.g_norm)
        self.blocks = nn.ModuleDict({
            str(r): nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                                  GatedConv(ch[r // 2], ch[r], r, cfg.g_norm),
                                  GatedConv(ch[r], ch[r], r, cfg.g_norm))
            for r in ch if r > 4})
        self.excite = nn.ModuleDict({str(r): Excite(ch[r], ch[8 * r]) for r in ch
                                     if 8 * r in ch})
        self.to_rgb = nn.Conv2d(ch[cfg.size], 3, 3, padding=1)
        _he_init(self)

    def mapped(self, z: torch.Tensor) -> torch.Tensor:
        """``(B, z_dim)`` latents → ``(B, z_dim)`` w vectors."""
        return self.mapping(pixel_norm(z[:, :, None, None]).flatten(1))

    def forward(self, z: torch.Tensor, truncation: float = 1.0) -> torch.Tensor:
        w = self.mapped(z)
        if self.training and torch.is_grad_enabled():
            with torch.no_grad():
                self.w_avg.lerp_(w.detach().mean(0).to(self.w_avg.dtype), 0.005)
        if truncation != 1.0:
            w = self.w_avg + truncation * (w - self.w_avg)
        x = F.glu(self.init_norm(self.init(w).view(len(w), -1, 4, 4)), dim=1)
        feats = {4: self.init_conv(x)}
        x = feats[4]
        for r in sorted(int(k) for k in self.blocks):
            x = self.blocks[str(r)](x)
            if str(r // 8) in self.excite:
                x = self.excite[str(r // 8)](feats[r // 8], x)
            feats[r] = x
        return torch.tanh(self.to_rgb(x))


class DownBlock(nn.Module):
    """Residual downsampling: two convs and an average-pool shortcut, halved resolution."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.main = nn.Sequential(nn.Conv2d(cin, cin, 3, padding=1), nn.LeakyReLU(0.2),
                                  nn.Conv2d(cin, cout, 3, padding=1), nn.LeakyReLU(0.2),
                                  nn.AvgPool2d(2))
        self.skip = nn.Sequential(nn.AvgPool2d(2), nn.Conv2d(cin, cout, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.main(x) + self.skip(x)) * (0.5**0.5)  # keep the variance of a sum of two


class FastDiscriminator(nn.Module):
    """RGB → residual down blocks → 8×8 features (→ reconstruction) → 4×4 → minibatch std →
    one logit. No normalisation layers: R1 is the regulariser."""

    RECON = 32  # side of the image D reconstructs from its 8×8 features

    def __init__(self, cfg: GanConfig) -> None:
        super().__init__()
        ch = {r: _channels(cfg.d_channels, cfg.max_channels, cfg.size, r)
              for r in (2**k for k in range(2, int(math.log2(cfg.size)) + 1))}
        self.from_rgb = nn.Sequential(nn.Conv2d(3, ch[cfg.size], 1), nn.LeakyReLU(0.2))
        self.to8 = nn.Sequential(*[DownBlock(ch[r], ch[r // 2])
                                   for r in sorted(ch, reverse=True) if r > 8])
        self.to4 = DownBlock(ch[8], ch[4])
        self.head = nn.Sequential(nn.Conv2d(ch[4] + 1, ch[4], 3, padding=1), nn.LeakyReLU(0.2),
                                  nn.Flatten(), nn.Linear(ch[4] * 16, ch[4]), nn.LeakyReLU(0.2),
                                  nn.Linear(ch[4], 1))
        mid = max(16, ch[8] // 4)
        self.decoder = nn.Sequential(
            nn.Conv2d(ch[8], mid, 3, padding=1), nn.LeakyReLU(0.2),
            nn.Upsample(scale_factor=2), nn.Conv2d(mid, mid, 3, padding=1), nn.LeakyReLU(0.2),
            nn.Upsample(scale_factor=2), nn.Conv2d(mid, mid, 3, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(mid, 3, 3, padding=1), nn.Tanh()) if cfg.recon > 0 else None
        _he_init(self)

    def forward(self, x: torch.Tensor, recon: bool = False
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(B, 3, S, S)`` → logits ``(B,)`` and, with ``recon``, a ``(B, 3, 32, 32)`` image."""
        f8 = self.to8(self.from_rgb(x))
        f4 = self.to4(f8)
        # Minibatch standard deviation (ProGAN): lets D see a lack of variety across fakes.
        group = math.gcd(len(f4), 4)
        y = f4.view(group, -1, *f4.shape[1:]).std(dim=0, unbiased=False)
        y = y.mean(dim=(1, 2, 3)).view(-1, 1, 1, 1).repeat(group, 1, 4, 4)
        logits = self.head(torch.cat([f4, y], dim=1)).view(-1)
        rec = self.decoder(f8) if recon and self.decoder is not None else None
        return logits, rec
