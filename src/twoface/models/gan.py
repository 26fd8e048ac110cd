"""Unconditional face GANs: a FastGAN-like model for small data, and the textbook DCGAN.

A generator ``G`` draws faces from noise; a discriminator ``D`` learns to tell them from real
aligned faces; each learns from the other's mistakes until G's faces pass. One class holds
both networks and, for the modern model, an exponential moving average of G's weights
(``g_ema``), which is what inference uses: averaged weights draw visibly cleaner faces than
the last optimizer step.

``fastgan`` follows the ideas of FastGAN (Liu et al. 2021) that matter on a few hundred to a few
thousand faces: gated (GLU) upsampling blocks, skip-layer excitation (low-resolution features
modulate high-resolution channels, a cheap long-range path), noise injection, and a
discriminator that must also reconstruct the real image from its 8×8 features (so it learns
a description of faces rather than a lookup table of the training set). Added from the
StyleGAN2-ADA line: differentiable augmentation of everything D sees, R1 gradient penalty on
reals (lazy, every ``r1_every`` steps), and a small mapping MLP whose running mean ``w_avg``
makes truncation ("draw closer to the average face") meaningful. G normalises with batch
norm as FastGAN does (``g_norm="pixel"``, ProGAN's pixel norm, is the batch-free option; on
the CPU runs it collapsed to one face), and inference re-estimates the batch-norm statistics
of the final generator (:func:`recalibrate_bn`) so a face never depends on its batch-mates.

``dcgan`` is Radford et al. 2015 as published: transposed convolutions, batch norm, the
logistic loss, no augmentation, no penalty, no EMA. It is the baseline, not a recommendation.

Images are ``(B, 3, S, S)`` in [-1, 1]; latents ``(B, z_dim)``; ``S = config.size``. The
networks are in :mod:`twoface.models._gan_parts` (fastgan) and :mod:`twoface.models.gan_dcgan`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from twoface.models._gan_parts import FastDiscriminator, FastGenerator
from twoface.models.base import OptimGroups, TrainableModel
from twoface.models.gan_dcgan import DCDiscriminator, DCGenerator, has_bn, recalibrate_bn
from twoface.models.registry import register
from twoface.nn.diffaug import blur_down, check_policy, diff_augment

SIZES = (32, 64, 128, 256)  # 32 exists for tests; faces want 64 and up
ARCHS = ("fastgan", "dcgan")


@dataclass
class GanConfig:
    """Every knob of both architectures; saved as ``config.json`` beside the weights."""

    arch: str = "fastgan"  # fastgan or dcgan
    size: int = 128  # side of the generated face: 32 (tests), 64, 128 or 256
    z_dim: int = 128
    w_layers: int = 2  # mapping MLP depth (fastgan); 0: truncate in z space instead
    g_channels: int = 32  # G width at the output resolution; doubles per halving …
    d_channels: int = 32  # … and the same for D
    max_channels: int = 512  # … up to this
    g_norm: str = "pixel"  # fastgan G normalisation: "batch" (FastGAN) or "pixel" (ProGAN)
    diffaug: str = "color,translation,cutout"  # DiffAugment policy; "" turns it off
    r1_gamma: float = 0.1  # R1 penalty weight on real images; 0 turns it off
    r1_every: int = 4  # lazy regularisation: the penalty every N steps, scaled by N
    recon: float = 1.0  # weight of D's self-supervised reconstruction loss (fastgan)
    ema_decay: float = 0.999  # EMA of G's weights (ramped up early); 0: no EMA
    lr_g: float = 2e-4
    lr_d: float = 2e-4

    def __post_init__(self) -> None:
        if self.size not in SIZES:
            raise ValueError(f"size must be one of {SIZES}, got {self.size}")
        if self.arch not in ARCHS:
            raise ValueError(f"arch must be one of {ARCHS}, got {self.arch!r}")
        check_policy(self.diffaug)
        if self.g_norm not in ("batch", "pixel"):
            raise ValueError(f"g_norm must be batch or pixel, got {self.g_norm!r}")
        if self.r1_every < 1 or not 0 <= self.ema_decay < 1:
            raise ValueError("r1_every must be ≥ 1 and ema_decay in [0, 1)")


# --------------------------------------------------------------------------- the model
class GAN(TrainableModel):
    """G, D and (with ``ema_decay > 0``) ``g_ema``; the losses of both players per step."""

    config: GanConfig
    steps_done: torch.Tensor

    def __init__(self, config: GanConfig) -> None:
        super().__init__()
        self.config = cfg = config
        fast = cfg.arch == "fastgan"
        self.g = FastGenerator(cfg) if fast else DCGenerator(cfg)
        self.d = FastDiscriminator(cfg) if fast else DCDiscriminator(cfg)
        self.g_ema = (copy.deepcopy(self.g).requires_grad_(False).eval()
                      if cfg.ema_decay > 0 else None)
        # Steps done, kept in the weights so that lazy R1 falls on the same steps on resume.
        self.register_buffer("steps_done", torch.zeros((), dtype=torch.long))

    @property
    def generator(self) -> nn.Module:
        """What inference draws with: the averaged weights when there are any."""
        return self.g_ema if self.g_ema is not None else self.g

    def latents(self, n: int, seed: int, device: torch.device | str = "cpu") -> torch.Tensor:
        """``n`` latents from ``seed`` alone (drawn on the CPU: same seed, same faces on any
        device)."""
        gen = torch.Generator().manual_seed(seed)
        return torch.randn(n, self.config.z_dim, generator=gen).to(device)

    def forward(self, z: torch.Tensor, truncation: float = 1.0) -> torch.Tensor:
        """``(B, z_dim)`` → ``(B, 3, S, S)`` faces in [-1, 1] from the inference generator."""
        return self.generator(z, truncation)

    # ------------------------------------------------------------------ training
    def optim_groups(self) -> OptimGroups:
        """G first: its loss backpropagates through D, which must not have stepped yet."""
        return {"loss": (list(self.g.parameters()), self.config.lr_g),
                "loss_d": (list(self.d.parameters()), self.config.lr_d)}

    def training_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Losses for one batch ``{"real": (B, 3, S, S) in [-1, 1]}``: ``loss`` (G's
        non-saturating logistic loss) and ``loss_d`` (D's logistic loss + lazy R1 + recon)."""
        cfg = self.config
        real = batch["real"]
        z = torch.randn(len(real), cfg.z_dim, device=real.device)
        fake = self.g(z)

        def aug(x: torch.Tensor) -> torch.Tensor:
            return diff_augment(x, cfg.diffaug)

        g_loss = F.softplus(-self.d(aug(fake))[0]).mean()
        real_in = aug(real).detach()
        do_r1 = cfg.r1_gamma > 0 and int(self.steps_done) % cfg.r1_every == 0
        real_in.requires_grad_(do_r1)
        want_rec = cfg.recon > 0 and cfg.arch == "fastgan"
        logit_real, rec = self.d(real_in, recon=want_rec)
        logit_fake = self.d(aug(fake.detach()))[0]
        out = {"d_real": logit_real.detach().mean(), "d_fake": logit_fake.detach().mean()}
        d_loss = F.softplus(-logit_real).mean() + F.softplus(logit_fake).mean()
        out["d_adv"] = d_loss.detach()
        if do_r1:
            (grad,) = torch.autograd.grad(logit_real.sum(), real_in, create_graph=True)
            r1 = grad.square().sum(dim=(1, 2, 3)).mean()
            d_loss = d_loss + 0.5 * cfg.r1_gamma * cfg.r1_every * r1
            self._last_r1 = float(r1.detach())
        if cfg.r1_gamma > 0:  # logged every step (the last value) so log.csv keeps its columns
            out["r1"] = torch.tensor(getattr(self, "_last_r1", 0.0))
        if rec is not None:
            out["recon"] = F.l1_loss(rec, blur_down(real_in.detach(), rec.shape[-1]))
            d_loss = d_loss + cfg.recon * out["recon"]
        out["loss"], out["loss_d"] = g_loss, d_loss
        return out

    @torch.no_grad()
    def after_step(self, step: int) -> None:
        """Called by the loop after the optimizers stepped: count the step, update the EMA.

        The decay ramps up as ``(1 + step) / (10 + step)`` so that early samples follow the
        young, fast-changing generator instead of averaging in its random init.
        """
        self.steps_done.fill_(step)
        if self.g_ema is None:
            return
        decay = min(self.config.ema_decay, (1 + step) / (10 + step))
        for p_ema, p in zip(self.g_ema.parameters(), self.g.parameters(), strict=True):
            p_ema.lerp_(p.detach(), 1 - decay)
        for b_ema, b in zip(self.g_ema.buffers(), self.g.buffers(), strict=True):
            b_ema.copy_(b)

    def recalibrate(self, samples: int = 512, seed: int = 0) -> None:
        """Re-estimate the batch-norm statistics of the inference generator (DCGAN only; see
        :func:`recalibrate_bn`)."""
        recalibrate_bn(self.generator, self.config.z_dim, samples=samples, seed=seed)

    @torch.no_grad()
    def preview(self, batch: dict[str, torch.Tensor], rows: int = 4) -> torch.Tensor:
        """A ``(3, rows·S, rows·S)`` grid in [0, 1] from fixed latents (seed 0), so the
        previews saved over a run show the same faces forming."""
        device = batch["real"].device
        gen = self.generator
        if has_bn(gen):  # recalibrate a copy: the training state (and resume) stays untouched
            gen = copy.deepcopy(gen)
            recalibrate_bn(gen, self.config.z_dim, samples=128)
        was = gen.training
        gen.eval()
        faces = (gen(self.latents(rows * rows, 0, device)).float() + 1) / 2
        gen.train(was)
        return image_grid(faces.clamp(0, 1), rows)


def image_grid(images: torch.Tensor, columns: int) -> torch.Tensor:
    """``(N, C, H, W)`` → ``(C, rows·H, columns·W)``, missing cells black."""
    n, c, h, w = images.shape
    rows = -(-n // columns)
    pad = images.new_zeros(rows * columns - n, c, h, w)
    full = torch.cat([images, pad]).view(rows, columns, c, h, w)
    return full.permute(2, 0, 3, 1, 4).reshape(c, rows * h, columns * w)


def _make(defaults: dict, cfg: dict) -> GAN:
    return GAN(GanConfig(**{**defaults, **cfg}))


FASTGAN = {"arch": "fastgan", "size": 256, "g_channels": 32, "d_channels": 32,
           "max_channels": 512, "z_dim": 256, "r1_gamma": 0.5, "g_norm": "batch"}
SMALL = {"arch": "fastgan", "size": 64, "g_channels": 16, "d_channels": 16,
         "max_channels": 256, "z_dim": 128, "r1_gamma": 0.1, "g_norm": "batch"}
DCGAN = {"arch": "dcgan", "size": 64, "g_channels": 64, "d_channels": 64,
         "max_channels": 512, "z_dim": 100, "w_layers": 0, "diffaug": "", "r1_gamma": 0.0,
         "recon": 0.0, "ema_decay": 0.0}


@register("gan", "fastgan")
def fastgan(**cfg: object) -> GAN:
    """For a GPU: 256 px by default (``size=128`` or ``64`` from the same config)."""
    return _make(FASTGAN, cfg)


@register("gan", "fastgan-small")
def fastgan_small(**cfg: object) -> GAN:
    """The same architecture, narrow and at 64 px: what trains in under an hour on a CPU."""
    return _make(SMALL, cfg)


@register("gan", "dcgan")
def dcgan(**cfg: object) -> GAN:
    """The textbook baseline (64 px, ngf = ndf = 64, as in the paper's code)."""
    return _make(DCGAN, cfg)
