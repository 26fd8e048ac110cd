"""The networks of the first-order motion model (private to :mod:`twoface.models.motion`).

Coordinates are normalised to ``[-1, 1]`` (x along the width, y along the height), the
convention of ``grid_sample(align_corners=True)``, so keypoints mean the same at every size.

A keypoint ``k`` is a position ``p_k`` ``(2,)`` and a Jacobian ``J_k`` ``(2, 2)``: the local
affine motion around it. Dicts ``{"value": (B, K, 2), "jacobian": (B, K, 2, 2)}`` carry them.
"""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F
from torch import nn

from twoface.nn.warp import coordinate_grid

Keypoints = dict[str, torch.Tensor]


def gaussians(kp: torch.Tensor, h: int, w: int, variance: float) -> torch.Tensor:
    """Keypoints ``(B, K, 2)`` → one unnormalised Gaussian blob per keypoint ``(B, K, h, w)``."""
    grid = coordinate_grid(h, w, kp.device, kp.dtype)  # (h, w, 2)
    diff = grid[None, None] - kp[:, :, None, None, :]  # (B, K, h, w, 2)
    return torch.exp(-0.5 * (diff**2).sum(-1) / variance)


def resize(x: torch.Tensor, side: int) -> torch.Tensor:
    """``(B, C, H, W)`` → ``(B, C, side, side)``; antialiased when shrinking so that the small
    motion networks see the whole face rather than aliased pixels."""
    if x.shape[-1] == side and x.shape[-2] == side:
        return x
    shrink = side < x.shape[-1]
    return F.interpolate(x, size=(side, side), mode="bilinear", align_corners=False,
                         antialias=shrink)


class _Down(nn.Sequential):
    """``(B, cin, H, W)`` → ``(B, cout, H/2, W/2)``: conv, batch norm, ReLU, average pool."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(),
                         nn.AvgPool2d(2))


class _Up(nn.Sequential):
    """``(B, cin, H, W)`` → ``(B, cout, 2H, 2W)``: nearest upsampling then conv, BN, ReLU."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(nn.Upsample(scale_factor=2.0, mode="nearest"),
                         nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU())


class _ResBlock(nn.Module):
    """``(B, C, H, W)`` → same, pre-activation residual block (the generator's bottleneck)."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(), nn.Conv2d(c, c, 3, padding=1),
                                  nn.BatchNorm2d(c), nn.ReLU(), nn.Conv2d(c, c, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class Hourglass(nn.Module):
    """U-Net: ``(B, cin, H, W)`` → ``(B, out_channels, H, W)``, the input concatenated to the
    last decoder level so fine detail reaches the heads. ``H`` must divide by ``2**blocks``."""

    def __init__(self, cin: int, width: int, blocks: int, max_width: int) -> None:
        super().__init__()
        chans = [cin] + [min(max_width, width * 2 ** (i + 1)) for i in range(blocks)]
        self.down = nn.ModuleList(_Down(a, b) for a, b in itertools.pairwise(chans))
        ups: list[nn.Module] = []
        c = chans[-1]
        for i in range(blocks - 1, -1, -1):
            out = min(max_width, width * 2**i)
            ups.append(_Up(c, out))
            c = out + chans[i]  # after concatenating the skip of the same level
        self.up = nn.ModuleList(ups)
        self.out_channels = c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = [x]
        for d in self.down:
            skips.append(d(skips[-1]))
        y = skips.pop()
        for u in self.up:
            y = torch.cat([u(y), skips.pop()], dim=1)
        return y


class KeypointDetector(nn.Module):
    """Image ``(B, 3, S, S)`` → ``K`` keypoints with Jacobians, seen at ``side`` pixels.

    Positions are the expectation of the grid under a softmax heatmap per keypoint (so they are
    differentiable and sub-pixel); each Jacobian is the heatmap-weighted mean of a 4-channel
    map, initialised to the identity so training starts from "every part moves rigidly".
    """

    def __init__(self, keypoints: int, side: int, width: int, blocks: int, max_width: int,
                 temperature: float = 0.1) -> None:
        super().__init__()
        self.k, self.side, self.temperature = keypoints, side, temperature
        self.hourglass = Hourglass(3, width, blocks, max_width)
        c = self.hourglass.out_channels
        self.heat = nn.Conv2d(c, keypoints, 7, padding=3)
        self.jac = nn.Conv2d(c, 4 * keypoints, 7, padding=3)
        nn.init.zeros_(self.jac.weight)
        assert self.jac.bias is not None
        with torch.no_grad():
            self.jac.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 1.0]).repeat(keypoints))

    def forward(self, image: torch.Tensor) -> Keypoints:
        feat = self.hourglass(resize(image, self.side))
        b, _, h, w = feat.shape
        heat = F.softmax(self.heat(feat).flatten(2).float() / self.temperature, dim=2)
        heat = heat.view(b, self.k, h, w)
        grid = coordinate_grid(h, w, feat.device)
        value = (heat[..., None] * grid).sum(dim=(2, 3))  # (B, K, 2)
        jac_map = self.jac(feat).float().view(b, self.k, 4, h, w)
        jac = (heat[:, :, None] * jac_map).sum(dim=(3, 4)).view(b, self.k, 2, 2)
        return {"value": value, "jacobian": jac}


class DenseMotion(nn.Module):
    """Mix the per-keypoint affine motions into one dense backward flow, plus an occlusion map.

    ``forward(source, kp_source, kp_driving)`` → ``{"deformation": (B, h, w, 2)`` sampling
    positions in the source for every driving pixel, ``"occlusion": (B, 1, h, w)`` in (0, 1),
    ``"mask": (B, K+1, h, w)`` the motion weights (channel 0: the still background)}, at
    ``side`` pixels.
    """

    def __init__(self, keypoints: int, side: int, width: int, blocks: int, max_width: int,
                 variance: float = 0.01) -> None:
        super().__init__()
        self.k, self.side, self.variance = keypoints, side, variance
        self.hourglass = Hourglass((keypoints + 1) * 4, width, blocks, max_width)
        c = self.hourglass.out_channels
        self.mask = nn.Conv2d(c, keypoints + 1, 7, padding=3)
        self.occlusion = nn.Conv2d(c, 1, 7, padding=3)

    def sparse_motions(self, kp_s: Keypoints, kp_d: Keypoints, h: int, w: int) -> torch.Tensor:
        """``(B, K+1, h, w, 2)``: for each keypoint, where its first-order (affine) motion
        model says a driving pixel ``z`` comes from: ``p_s + J_s J_d⁻¹ (z − p_d)``;
        motion 0 is the identity (background stays)."""
        grid = coordinate_grid(h, w, kp_s["value"].device)
        b = kp_s["value"].shape[0]
        rel = grid[None, None] - kp_d["value"][:, :, None, None]  # (B, K, h, w, 2)
        jac = kp_s["jacobian"] @ torch.linalg.inv(kp_d["jacobian"].float())  # (B, K, 2, 2)
        moved = torch.einsum("bkij,bkhwj->bkhwi", jac, rel) + kp_s["value"][:, :, None, None]
        ident = grid[None, None].expand(b, 1, h, w, 2)
        return torch.cat([ident, moved], dim=1)

    def forward(self, source: torch.Tensor, kp_s: Keypoints, kp_d: Keypoints
                ) -> dict[str, torch.Tensor]:
        src = resize(source, self.side).float()
        b, _, h, w = src.shape
        heat = gaussians(kp_d["value"], h, w, self.variance) - gaussians(kp_s["value"], h, w,
                                                                          self.variance)
        heat = torch.cat([torch.zeros_like(heat[:, :1]), heat], dim=1)  # (B, K+1, h, w)
        motions = self.sparse_motions(kp_s, kp_d, h, w)
        n = self.k + 1
        warped = F.grid_sample(src.repeat_interleave(n, 0), motions.reshape(b * n, h, w, 2),
                               align_corners=True).view(b, n, 3, h, w)
        feat = self.hourglass(torch.cat([heat[:, :, None], warped], dim=2).view(b, n * 4, h, w))
        mask = F.softmax(self.mask(feat).float(), dim=1)  # (B, K+1, h, w)
        deformation = (mask[..., None] * motions).sum(dim=1)  # (B, h, w, 2)
        occlusion = torch.sigmoid(self.occlusion(feat).float())
        return {"deformation": deformation, "occlusion": occlusion, "mask": mask}


class Generator(nn.Module):
    """Occlusion-aware generator: encode the source, warp its features with the dense flow,
    dim what the source cannot show (occlusion), and decode the driving frame.

    ``encode(source)`` is separate so that animation encodes the still image once.
    """

    def __init__(self, width: int, max_width: int, downs: int, res_blocks: int) -> None:
        super().__init__()
        self.first = nn.Sequential(nn.Conv2d(3, width, 7, padding=3), nn.BatchNorm2d(width),
                                   nn.ReLU())
        chans = [min(max_width, width * 2**i) for i in range(downs + 1)]
        self.down = nn.Sequential(*(_Down(a, b) for a, b in itertools.pairwise(chans)))
        self.bottleneck = nn.Sequential(*(_ResBlock(chans[-1]) for _ in range(res_blocks)))
        self.up = nn.Sequential(*(_Up(a, b) for a, b in zip(chans[:0:-1], chans[-2::-1],
                                                             strict=True)))
        self.final = nn.Conv2d(width, 3, 7, padding=3)

    def encode(self, source: torch.Tensor) -> torch.Tensor:
        """``(B, 3, S, S)`` → ``(B, C, S/2**downs, S/2**downs)`` source features."""
        return self.down(self.first(source))

    def decode(self, feat: torch.Tensor, deformation: torch.Tensor,
               occlusion: torch.Tensor) -> torch.Tensor:
        """Warp ``feat`` by ``deformation`` ``(B, h, w, 2)``, scale by ``occlusion``
        ``(B, 1, h, w)`` (both resized to the feature map) → image ``(B, 3, S, S)`` in [0, 1]."""
        side = feat.shape[-1]
        flow = resize(deformation.permute(0, 3, 1, 2), side).permute(0, 2, 3, 1)
        warped = F.grid_sample(feat, flow.to(feat.dtype), align_corners=True)
        warped = warped * resize(occlusion, side).to(feat.dtype)
        return torch.sigmoid(self.final(self.up(self.bottleneck(warped))).float())
