"""Differentiable augmentation for GAN discriminators (the DiffAugment idea, Zhao et al. 2020).

With a few hundred faces a discriminator memorises the training set within a few thousand
steps and its gradients stop teaching the generator anything. Augmenting *both* real and
generated images before the discriminator, with operations that gradients pass through, keeps
it from memorising while the generator still learns the un-augmented distribution (the
augmentations are applied to fakes too, so they do not leak into what G draws).

Every op takes and returns ``(B, C, H, W)`` images in [-1, 1] and draws its randomness from
the global torch RNG (which the training loop checkpoints, so resume stays exact).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def brightness(x: torch.Tensor) -> torch.Tensor:
    """Add one random offset in [-0.5, 0.5) per image (a quarter of the [-1, 1] range
    either way: stronger shifts wash faces out and leave D too little to judge)."""
    return x + (torch.rand(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype) - 0.5)


def saturation(x: torch.Tensor) -> torch.Tensor:
    """Scale each pixel's distance from its grey value by a random factor in [0, 2)."""
    grey = x.mean(dim=1, keepdim=True)
    factor = 2 * torch.rand(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype)
    return grey + (x - grey) * factor


def contrast(x: torch.Tensor) -> torch.Tensor:
    """Scale each image's distance from its mean by a random factor in [0.5, 1.5)."""
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    factor = torch.rand(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype) + 0.5
    return mean + (x - mean) * factor


def translation(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by up to ``ratio`` of its side, filling with 0 (mid-grey).

    Done as a gather with integer indices (no interpolation), so it is exact and cheap; the
    gradient flows to the pixels that were kept.
    """
    b, _, h, w = x.shape
    sh, sw = round(h * ratio), round(w * ratio)
    dy = torch.randint(-sh, sh + 1, (b, 1, 1), device=x.device)
    dx = torch.randint(-sw, sw + 1, (b, 1, 1), device=x.device)
    ys = torch.arange(h, device=x.device).view(1, h, 1) + dy  # source row of each output row
    xs = torch.arange(w, device=x.device).view(1, 1, w) + dx
    inside = ((ys >= 0) & (ys < h) & (xs >= 0) & (xs < w)).unsqueeze(1)
    ys, xs = ys.clamp(0, h - 1), xs.clamp(0, w - 1)
    flat = (ys * w + xs).view(b, 1, h * w).expand(-1, x.shape[1], -1)
    out = x.flatten(2).gather(2, flat).view_as(x)
    return torch.where(inside, out, torch.zeros_like(out))


def cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    """Blank one random square of ``ratio`` × the side per image (set to 0, mid-grey)."""
    b, _, h, w = x.shape
    ch, cw = max(1, round(h * ratio)), max(1, round(w * ratio))
    # Centres anywhere in the image: holes near an edge are partly outside, as in DiffAugment.
    cy = torch.randint(0, h, (b, 1, 1), device=x.device)
    cx = torch.randint(0, w, (b, 1, 1), device=x.device)
    ys = torch.arange(h, device=x.device).view(1, h, 1)
    xs = torch.arange(w, device=x.device).view(1, 1, w)
    hole = ((ys - cy).abs() * 2 < ch) & ((xs - cx).abs() * 2 < cw)
    return x * (~hole).unsqueeze(1).to(x.dtype)


OPS = {"color": (brightness, saturation, contrast), "translation": (translation,),
       "cutout": (cutout,)}


def check_policy(policy: str) -> None:
    """Raise ValueError for a policy naming an unknown augmentation."""
    unknown = [p for p in policy.split(",") if p and p not in OPS]
    if unknown:
        raise ValueError(f"unknown DiffAugment op(s) {unknown}; choose from {sorted(OPS)}")


def diff_augment(x: torch.Tensor, policy: str = "color,translation,cutout") -> torch.Tensor:
    """Apply the comma-separated ``policy`` (``color``, ``translation``, ``cutout``) to a
    ``(B, 3, H, W)`` batch in [-1, 1]; an empty policy returns ``x`` unchanged."""
    for name in filter(None, policy.split(",")):
        for op in OPS[name]:
            x = op(x)
    return x


def blur_down(x: torch.Tensor, size: int) -> torch.Tensor:
    """``(B, C, H, W)`` → ``(B, C, size, size)`` by area averaging (the recon target)."""
    return x if x.shape[-1] == size else F.adaptive_avg_pool2d(x, size)
