"""Random smooth warps of images and points (affine + thin-plate spline), used by the motion
model's equivariance losses and by the batchers that draw the warps.

Coordinates are ``(x, y)`` in ``[-1, 1]`` as :func:`torch.nn.functional.grid_sample` reads them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

TPS_POINTS = 5  # control points per side of the random thin-plate-spline warp


def coordinate_grid(h: int, w: int, device: torch.device | None = None,
                    dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``(h, w, 2)`` grid of ``(x, y)`` in ``[-1, 1]``."""
    ys = torch.linspace(-1, 1, h, device=device, dtype=dtype)
    xs = torch.linspace(-1, 1, w, device=device, dtype=dtype)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([gx, gy], dim=-1)


def random_warp_params(batch: int, gen: torch.Generator, sigma_affine: float,
                       sigma_tps: float) -> dict[str, torch.Tensor]:
    """Parameters of one random affine + thin-plate-spline warp per sample:
    ``theta (B, 2, 3)`` and ``tps (B, P², 2)``; zero sigmas give the identity."""
    theta = torch.randn(batch, 2, 3, generator=gen) * sigma_affine
    theta[:, :, :2] += torch.eye(2)
    tps = torch.randn(batch, TPS_POINTS**2, 2, generator=gen) * sigma_tps
    return {"warp_theta": theta, "warp_tps": tps}


def _controls(device: torch.device) -> torch.Tensor:
    return coordinate_grid(TPS_POINTS, TPS_POINTS, device).view(-1, 2)  # (P², 2)


def warp_points(theta: torch.Tensor, tps: torch.Tensor, pts: torch.Tensor) -> torch.Tensor:
    """Map points ``(B, N, 2)`` through the warp: ``A p + t + Σ_k w_k U(|p − c_k|)`` with the
    thin-plate kernel ``U(r) = r² log r``."""
    aff = pts @ theta[:, :, :2].transpose(1, 2) + theta[:, None, :, 2]
    d2 = ((pts[:, :, None] - _controls(pts.device)[None, None]) ** 2).sum(-1)  # (B, N, P²)
    u = 0.5 * d2 * torch.log(d2 + 1e-9)
    return aff + u @ tps


def warp_jacobian(theta: torch.Tensor, tps: torch.Tensor, pts: torch.Tensor) -> torch.Tensor:
    """The warp's Jacobian at points ``(B, N, 2)`` → ``(B, N, 2, 2)``, in closed form
    (∇U = (2 log r + 1)(p − c)), which is exact and needs no double backward pass."""
    diff = pts[:, :, None] - _controls(pts.device)[None, None]  # (B, N, P², 2)
    d2 = (diff**2).sum(-1, keepdim=True)
    grad_u = (torch.log(d2 + 1e-9) + 1) * diff  # (B, N, P², 2): ∂U_k/∂p
    tps_part = torch.einsum("bkd,bnke->bnde", tps, grad_u)  # row d: Σ_k w_kd ∇U_k
    return theta[:, None, :, :2] + tps_part


def warp_image(theta: torch.Tensor, tps: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """``(B, C, H, W)`` → the warped image: pixel ``z`` of the output shows ``warp(z)``."""
    b, _, h, w = image.shape
    grid = coordinate_grid(h, w, image.device).view(1, -1, 2).expand(b, -1, -1)
    src = warp_points(theta, tps, grid).view(b, h, w, 2)
    return F.grid_sample(image, src.to(image.dtype), padding_mode="reflection",
                         align_corners=True)
