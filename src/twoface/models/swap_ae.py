"""The autoencoder face swap: one shared encoder, one decoder per identity, a mask head.

Trained to reconstruct faces of A with decoder A and faces of B with decoder B from randomly
*warped* inputs, the shared encoder learns an identity-free code of pose, expression and light;
feeding a face of A to decoder B then draws B with A's pose and expression (the swap).

Shapes: images ``(B, 3, S, S)`` in [0, 1], masks ``(B, 1, S, S)``, ``S = config.size``.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
from torch import nn

from twoface.faces.nets.embedder import FaceEmbedder, load_embedder
from twoface.models.base import OptimGroups, TrainableModel
from twoface.models.registry import register
from twoface.nn.blocks import Down, PatchDiscriminator, Residual, Up
from twoface.nn.losses import (
    face_embeddings,
    face_feature_loss,
    gan_d_loss,
    gan_g_loss,
    identity_loss,
    mask_loss,
    weighted_l1_ssim,
)
from twoface.nn.perceptual import VGGFeatures, load_vgg, perceptual_loss

SIZES = (64, 128, 256)


@dataclass
class SwapConfig:
    """Every knob of the swap model; saved as ``config.json`` beside the weights."""

    size: int = 128  # side of the aligned face the model sees and draws: 64, 128 or 256
    coverage: float = 0.75  # share of the crop the landmark template spans (tighter than
    #                         extraction's 0.625: the model's pixels go to the face)
    enc_channels: int = 32  # first encoder level; doubles per level up to max_channels
    max_channels: int = 256
    latent: int = 256  # the bottleneck vector: small enough that identity detail cannot
    #                    pass through it and must come from the decoder
    dec_channels: int = 256  # decoder width at 8×8; halves per upscale, not below 32
    residual: int = 0  # residual blocks after each decoder upscale (sharper, slower)
    face_weight: float = 3.0  # extra loss weight inside the face mask …
    feature_weight: float = 3.0  # … and again on eyes and mouth
    ssim_share: float = 0.5  # L1 vs DSSIM balance
    mask_weight: float = 0.5
    perceptual: float = 0.1  # VGG feature loss weight, used only if VGG16 weights are on disk
    gan: bool = False  # PatchGAN adversarial loss, to sharpen
    gan_weight: float = 0.1
    disc_channels: int = 64
    lr: float = 2e-4
    # Losses through dlib's face recognition ResNet (twoface.faces.nets; off by default, and
    # the network is only loaded when one is on). ``identity``: the swapped faces A→B are
    # pulled (cosine) toward the mean dlib embedding of the batch's B targets and B→A toward
    # A's: identity detail the small bottleneck cannot carry must then come from the decoder,
    # and it is checked on the swap itself, which no reconstruction loss ever sees.
    # ``face_features``: L1 between dlib's stage activations of each reconstruction and its
    # target, a perceptual loss trained on faces from weights that ship with dlib (VGG's must
    # be fetched separately).
    identity: float = 0.0
    face_features: float = 0.0
    # Exponential moving average of the encoder and decoders (decay ramped up over the first
    # steps), kept beside the trained weights; conversion and previews draw with it. 0: none.
    ema_decay: float = 0.0

    def __post_init__(self) -> None:
        if self.size not in SIZES:
            raise ValueError(f"size must be one of {SIZES}, got {self.size}")
        if self.identity < 0 or self.face_features < 0:
            raise ValueError("identity and face_features are loss weights: give values >= 0")
        if not 0 <= self.ema_decay < 1:
            raise ValueError("ema_decay must be in [0, 1)")


class SwapAE(TrainableModel):
    """Shared encoder, decoders ``a`` and ``b`` (each RGB + mask logit), optional critic."""

    config: SwapConfig
    _vgg: VGGFeatures | None  # in __dict__: neither a submodule nor saved
    _face_net: FaceEmbedder | None  # dlib's embedder (frozen), likewise in __dict__

    def __init__(self, config: SwapConfig) -> None:
        super().__init__()
        self.config = cfg = config
        levels = int(math.log2(cfg.size // 4))  # down to a 4×4 map
        chans = [min(cfg.enc_channels * 2**i, cfg.max_channels) for i in range(levels)]
        downs = [Down(cin, cout) for cin, cout in zip([3, *chans[:-1]], chans, strict=True)]
        self.encoder = nn.Sequential(*downs, nn.Flatten(), nn.Linear(chans[-1] * 16, cfg.latent),
                                     nn.Linear(cfg.latent, cfg.dec_channels * 16),
                                     nn.Unflatten(1, (cfg.dec_channels, 4, 4)),
                                     Up(cfg.dec_channels, cfg.dec_channels))  # → 8×8 code
        self.decoder_a = self._decoder()
        self.decoder_b = self._decoder()
        self.critic = PatchDiscriminator(cfg.disc_channels) if cfg.gan else None
        self.ema = (nn.ModuleDict({k: copy.deepcopy(getattr(self, k)) for k in _AVERAGED})
                    .requires_grad_(False) if cfg.ema_decay > 0 else None)
        # Kept out of the module tree: it is not part of the model's weights or state.
        self.__dict__["_vgg"] = load_vgg() if cfg.perceptual > 0 else None
        use_face_net = cfg.identity > 0 or cfg.face_features > 0
        self.__dict__["_face_net"] = load_embedder() if use_face_net else None

    def _decoder(self) -> nn.Sequential:
        cfg = self.config
        mods: list[nn.Module] = []
        c = cfg.dec_channels
        for _ in range(int(math.log2(cfg.size // 8))):
            nxt = max(32, c // 2)
            mods.append(Up(c, nxt))
            mods += [Residual(nxt) for _ in range(cfg.residual)]
            c = nxt
        mods.append(nn.Conv2d(c, 4, 5, padding=2))  # 3 colour channels + the mask head
        return nn.Sequential(*mods)

    # ----------------------------------------------------------------- inference
    def _net(self, name: str) -> nn.Module:
        """The averaged copy of a part outside training (when kept), else the trained one."""
        if self.ema is not None and not self.training:
            return self.ema[name]
        return getattr(self, name)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 3, S, S)`` → the shared ``(B, dec_channels, 8, 8)`` code."""
        return self._net("encoder")(x)

    def decode(self, code: torch.Tensor, who: str) -> tuple[torch.Tensor, torch.Tensor]:
        """Code → ``who``'s face ``(B, 3, S, S)`` in [0, 1] and mask logits ``(B, 1, S, S)``."""
        out = self._net("decoder_a" if who == "a" else "decoder_b")(code)
        return torch.sigmoid(out[:, :3].float()), out[:, 3:].float()

    def forward(self, x: torch.Tensor, who: str = "b") -> tuple[torch.Tensor, torch.Tensor]:
        """Draw the faces in ``x`` as identity ``who``: ``(B, 3, S, S)`` → (face, mask logits)."""
        return self.decode(self.encode(x), who)

    # ------------------------------------------------------------------ training
    def optim_groups(self) -> OptimGroups:
        """Loss key → (parameters that key's backward pass steps, learning rate)."""
        gen = [p for n, p in self.named_parameters()
               if not n.startswith(("critic.", "ema."))]
        groups = {"loss": (gen, self.config.lr)}
        if self.critic is not None:
            groups["loss_d"] = (list(self.critic.parameters()), self.config.lr)
        return groups

    def training_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Losses for one batch from :class:`twoface.data.swap_batches.SwapBatches`.

        ``batch`` holds, per side ``s`` in ``a, b``: ``s_in`` (warped input), ``s_target``
        (clean target), ``s_mask`` and ``s_weight``. Returns scalars; ``loss`` is the
        generator's total and ``loss_d`` the critic's (when ``gan``).
        """
        cfg = self.config
        out: dict[str, torch.Tensor] = {}
        total = torch.zeros((), device=batch["a_in"].device)
        fakes, reals = [], []
        for s in ("a", "b"):
            face, logits = self(batch[f"{s}_in"], s)
            target = batch[f"{s}_target"]
            l1, dssim = weighted_l1_ssim(face, target, batch[f"{s}_weight"],
                                         ssim_share=cfg.ssim_share)
            m = mask_loss(logits, batch[f"{s}_mask"])
            out[f"l1_{s}"], out[f"dssim_{s}"], out[f"mask_{s}"] = l1, dssim, m
            total = total + l1 + dssim + cfg.mask_weight * m
            if self._vgg is not None:
                vgg = self._vgg.to(face.device)
                out[f"vgg_{s}"] = perceptual_loss(vgg, face.float(), target.float())
                total = total + cfg.perceptual * out[f"vgg_{s}"]
            if self._face_net is not None and cfg.face_features > 0:
                net = self._face_net.to(face.device)
                out[f"feat_{s}"] = face_feature_loss(net, face, target, cfg.coverage)
                total = total + cfg.face_features * out[f"feat_{s}"]
            fakes.append(face)
            reals.append(target)
        if self._face_net is not None and cfg.identity > 0:
            net = self._face_net.to(total.device)
            for src, dst in (("a", "b"), ("b", "a")):
                with torch.no_grad():  # the identity to reach: the mean of dst's targets
                    goal = face_embeddings(net, batch[f"{dst}_target"], cfg.coverage)[0].mean(0)
                swapped, _ = self.decode(self.encode(batch[f"{src}_target"]), dst)
                out[f"id_{src}{dst}"] = identity_loss(net, swapped, goal, cfg.coverage)
                total = total + cfg.identity * out[f"id_{src}{dst}"]
        if self.critic is not None:
            fake, real = torch.cat(fakes), torch.cat(reals)
            g = gan_g_loss(self.critic(fake))
            out["gan_g"] = g
            total = total + cfg.gan_weight * g
            # The critic sees detached fakes: its loss must not move the generator.
            out["loss_d"] = gan_d_loss(self.critic(real), self.critic(fake.detach()))
        out["loss"] = total
        return out

    @torch.no_grad()
    def after_step(self, step: int) -> None:
        """Move the averaged copies toward the trained weights (decay ramped up early, so the
        first steps' random weights are soon forgotten)."""
        if self.ema is None:
            return
        decay = min(self.config.ema_decay, (1 + step) / (10 + step))
        for name in _AVERAGED:
            live, avg = getattr(self, name), self.ema[name]
            for p_avg, p in zip(avg.parameters(), live.parameters(), strict=True):
                p_avg.lerp_(p.detach(), 1 - decay)
            for b_avg, b in zip(avg.buffers(), live.buffers(), strict=True):
                b_avg.copy_(b)

    @torch.no_grad()
    def preview(self, batch: dict[str, torch.Tensor], rows: int = 4) -> torch.Tensor:
        """A ``(3, rows·S, 6·S)`` grid: A, A→A, A→B, B, B→B, B→A from the clean targets."""
        a, b = batch["a_target"][:rows].float(), batch["b_target"][:rows].float()
        n = min(len(a), len(b))
        a, b = a[:n], b[:n]
        za, zb = self.encode(a), self.encode(b)
        cols = [a, self.decode(za, "a")[0], self.decode(za, "b")[0],
                b, self.decode(zb, "b")[0], self.decode(zb, "a")[0]]
        grid = torch.cat([c.clamp(0, 1).float() for c in cols], dim=3)  # (n, 3, S, 6S)
        return torch.cat(list(grid), dim=1)


_AVERAGED = ("encoder", "decoder_a", "decoder_b")  # the parts an EMA keeps copies of


def _make(defaults: dict, cfg: dict) -> SwapAE:
    return SwapAE(SwapConfig(**{**defaults, **cfg}))


LIGHT = {"size": 64, "enc_channels": 32, "max_channels": 256, "latent": 256,
         "dec_channels": 128, "residual": 0}
FULL = {"size": 128, "enc_channels": 64, "max_channels": 512, "latent": 512,
        "dec_channels": 512, "residual": 1, "disc_channels": 64}


@register("swap", "light")
def light(**cfg: object) -> SwapAE:
    """Trains usefully on a laptop CPU: 64 px, narrow decoders, no residual blocks
    (~4 M parameters; the decoder width dominates the cost)."""
    return _make(LIGHT, cfg)


@register("swap", "full")
def full(**cfg: object) -> SwapAE:
    """For a GPU: twice the width, residual decoder blocks, 128 px by default."""
    return _make(FULL, cfg)
