"""Losses shared by the models: SSIM, masked L1/SSIM, least-squares GAN losses, and the
identity and face-feature losses through dlib's face network (:mod:`twoface.faces.nets`).

Images are ``(B, C, H, W)`` float in [0, 1]; weights/masks are ``(B, 1, H, W)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from twoface.faces.nets.chips import crops_to_chips
from twoface.faces.nets.embedder import FaceEmbedder


def _gauss(size: int, sigma: float, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    x = torch.arange(size, device=device, dtype=torch.float32) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma * sigma))
    return (g / g.sum()).to(dtype)


def _blur(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian blur per channel with reflect padding: ``(B, C, H, W)`` → same."""
    c, k = x.shape[1], g.numel()
    pad = k // 2
    x = F.pad(x, (pad, pad, pad, pad), mode="reflect")
    x = F.conv2d(x, g.view(1, 1, 1, k).expand(c, 1, 1, k), groups=c)
    return F.conv2d(x, g.view(1, 1, k, 1).expand(c, 1, k, 1), groups=c)


def ssim_map(x: torch.Tensor, y: torch.Tensor, *, window: int = 11,
             sigma: float = 1.5) -> torch.Tensor:
    """Per-pixel SSIM of ``x`` and ``y`` (``(B, C, H, W)`` in [0, 1]) → ``(B, C, H, W)``.

    Gaussian window as in Wang et al. 2004; computed in float32 even under autocast because
    the variance terms cancel catastrophically in bf16.
    """
    x, y = x.float(), y.float()
    window = min(window, (min(x.shape[-2:]) // 2) * 2 - 1)  # reflect pad needs pad < side
    g = _gauss(window, sigma, x.device, x.dtype)
    c1, c2 = 0.01**2, 0.03**2
    # float32 inputs are not enough: autocast would run the blurs (convolutions) in bf16.
    # That once made every swap pair but one collapse on an H100 (SSIM loss blind to detail).
    with torch.autocast(x.device.type, enabled=False):
        mx, my = _blur(x, g), _blur(y, g)
        sxx = _blur(x * x, g) - mx * mx
        syy = _blur(y * y, g) - my * my
        sxy = _blur(x * y, g) - mx * my
        return ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1)
                                                        * (sxx + syy + c2))


def ssim(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean SSIM (a scalar) of two ``(B, C, H, W)`` batches in [0, 1]."""
    return ssim_map(x, y).mean()


def weighted_l1_ssim(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor,
                     *, ssim_share: float = 0.5) -> tuple[torch.Tensor, torch.Tensor]:
    """Weighted L1 and weighted DSSIM = (1 − SSIM)/2, each a scalar.

    ``pred, target``: ``(B, 3, H, W)``; ``weight``: ``(B, 1, H, W)`` ≥ 0, large inside the face
    and larger on eyes and mouth, so capacity goes where viewers look. Both terms are
    normalised by the weight sum so their scale does not depend on the face size.
    """
    w = weight.float()
    denom = w.sum() * pred.shape[1] + 1e-6
    l1 = ((pred.float() - target.float()).abs() * w).sum() / denom
    dssim = ((1 - ssim_map(pred, target)) / 2 * w).sum() / denom
    return l1 * (1 - ssim_share) * 2, dssim * ssim_share * 2


def mask_loss(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of the predicted mask ``(B, 1, H, W)`` logits against the
    landmark face mask ``(B, 1, H, W)`` in [0, 1]."""
    return F.binary_cross_entropy_with_logits(logits.float(), mask.float())


def gan_d_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Least-squares GAN critic loss (Mao et al. 2017): real → 1, fake → 0. LSGAN's gradients
    do not vanish for confidently classified samples, which keeps small-data training stable."""
    return ((real.float() - 1) ** 2).mean() + (fake.float() ** 2).mean()


def gan_g_loss(fake: torch.Tensor) -> torch.Tensor:
    """Least-squares GAN generator loss: push the critic's fake scores towards 1."""
    return ((fake.float() - 1) ** 2).mean()


# ------------------------------------------------------- losses through dlib's face network
def face_embeddings(embedder: FaceEmbedder, faces: torch.Tensor, coverage: float
                    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """dlib identity embeddings ``(B, 128)`` and stage activations of aligned crops ``faces``
    ``(B, 3, S, S)`` in [0, 1] whose template spans ``coverage`` (differentiable in ``faces``;
    the embedder itself is frozen)."""
    chips = crops_to_chips(faces.float(), coverage)
    emb, feats = embedder(embedder.normalize(chips), return_features=True)
    return emb, feats


def identity_loss(embedder: FaceEmbedder, faces: torch.Tensor, target: torch.Tensor,
                  coverage: float) -> torch.Tensor:
    """Cosine distance between the identity of ``faces`` (aligned crops, see
    :func:`face_embeddings`) and ``target`` embeddings ``(B, 128)`` or ``(128,)``, averaged:
    0 for the same direction, 1 for orthogonal."""
    emb, _ = face_embeddings(embedder, faces, coverage)
    return (1 - F.cosine_similarity(emb, target.detach().expand_as(emb), dim=1)).mean()


def face_feature_loss(embedder: FaceEmbedder, pred: torch.Tensor, target: torch.Tensor,
                      coverage: float) -> torch.Tensor:
    """L1 between the embedder's stage activations of ``pred`` and ``target`` (aligned crops),
    each stage scaled by the target's mean magnitude so that every stage counts alike: a
    perceptual loss trained on faces, from weights that ship with dlib."""
    _, fp = face_embeddings(embedder, pred, coverage)
    with torch.no_grad():
        _, ft = face_embeddings(embedder, target, coverage)
    terms = [(p - t).abs().mean() / (t.abs().mean() + 1e-6) for p, t in zip(fp, ft, strict=True)]
    return torch.stack(terms).mean()
