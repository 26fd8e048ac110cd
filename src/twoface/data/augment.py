"""Batch augmentation as torch ops, so it runs wherever the batch is (GPU when there is one).

Random numbers are drawn on the CPU from the caller's ``torch.Generator`` and then moved to
the batch's device: the same generator state gives the same batch on every device, which
makes resuming exact.

Shapes: images/stacks ``(B, C, H, W)`` float; ``theta`` ``(B, 2, 3)`` in normalised
coordinates (``[-1, 1]`` across the image, as ``F.affine_grid`` uses).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _uniform(gen: torch.Generator, n: int, lo: float, hi: float) -> torch.Tensor:
    return torch.rand(n, generator=gen) * (hi - lo) + lo


def random_affine(n: int, gen: torch.Generator, *, rotate: float = 10.0, scale: float = 0.05,
                  shift: float = 0.05, flip: bool = True) -> torch.Tensor:
    """``(n, 2, 3)`` random similarity transforms (degrees, relative scale, share of the side)
    with an optional horizontal flip for half the samples."""
    ang = torch.deg2rad(_uniform(gen, n, -rotate, rotate))
    s = 1 + _uniform(gen, n, -scale, scale)
    tx, ty = _uniform(gen, n, -shift, shift) * 2, _uniform(gen, n, -shift, shift) * 2
    fx = torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0) if flip else torch.ones(n)
    cos, sin = torch.cos(ang) / s, torch.sin(ang) / s
    return torch.stack([torch.stack([cos * fx, -sin, tx], 1),
                        torch.stack([sin * fx, cos, ty], 1)], 1)


def apply_affine(x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Resample ``x`` ``(B, C, H, W)`` through ``theta``; borders reflect so no black wedges
    teach the decoder to draw them."""
    grid = F.affine_grid(theta.to(x.device, x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection",
                         align_corners=False)


def random_warp(x: torch.Tensor, gen: torch.Generator, *, strength: float = 0.04,
                points: int = 5) -> torch.Tensor:
    """Bend ``x`` ``(B, C, H, W)`` with a smooth random displacement field.

    A ``points × points`` grid of Gaussian offsets (std ``strength`` × half the side) is
    upsampled bicubically to a per-pixel field. This is what makes the autoencoder swap work:
    the network cannot copy pixels, so it must learn what a face of this person looks like
    and redraw it clean from a distorted view.
    """
    b, _, h, w = x.shape
    coarse = torch.randn(b, 2, points, points, generator=gen) * strength
    coarse[:, :, [0, -1], :] = 0  # pin the border so the field stays inside the image
    coarse[:, :, :, [0, -1]] = 0
    field = F.interpolate(coarse.to(x.device, x.dtype), size=(h, w), mode="bicubic",
                          align_corners=True).permute(0, 2, 3, 1)
    ident = torch.eye(2, 3, device=x.device, dtype=x.dtype).expand(b, 2, 3)
    grid = F.affine_grid(ident, [b, 1, h, w], align_corners=False) + field
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection",
                         align_corners=False)


def colour_jitter(x: torch.Tensor, gen: torch.Generator, *, gain: float = 0.08,
                  bias: float = 0.04, saturation: float = 0.15) -> torch.Tensor:
    """Per-sample per-channel gain and offset and a saturation change: ``(B, 3, H, W)`` in
    [0, 1] → same, clamped. Lighting differs between the two facesets; this keeps the model
    from tying identity to a colour cast."""
    b = x.shape[0]
    g = (1 + (torch.rand(b, 3, 1, 1, generator=gen) * 2 - 1) * gain).to(x.device, x.dtype)
    o = ((torch.rand(b, 3, 1, 1, generator=gen) * 2 - 1) * bias).to(x.device, x.dtype)
    sat = (1 + (torch.rand(b, 1, 1, 1, generator=gen) * 2 - 1) * saturation).to(x.device, x.dtype)
    grey = x.mean(1, keepdim=True)
    return ((grey + (x - grey) * sat) * g + o).clamp(0, 1)


def seed_for(*parts: int) -> int:
    """A 63-bit seed from integers (run seed, rank, step), so every step's randomness is a pure
    function of where it is: resuming at step N draws what an unbroken run drew at N."""
    h = 1469598103934665603
    for p in parts:
        h = ((h ^ (p & 0xFFFFFFFFFFFF)) * 1099511628211) % (1 << 63)
    return int(h) if h else 1


__all__ = ["apply_affine", "colour_jitter", "random_affine", "random_warp", "seed_for"]
