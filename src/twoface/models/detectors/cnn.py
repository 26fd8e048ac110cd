"""A small Xception/EfficientNet-like CNN on aligned face crops, trained from scratch.

Depthwise-separable 3×3 convolutions (Xception's idea: filter space and channels apart, a
fraction of the multiply-adds of a full convolution) in residual stages that halve the map,
batch norm and SiLU (EfficientNet's activation), then global average pooling and one linear
layer to a logit. Sizes come from the config; ``cnn_tiny`` trains on a laptop CPU in minutes.

The same network is registered twice more under ``selfblend`` names: the architecture is the
same, what differs is the training data (real faces only, with on-the-fly self-blended images
as the fake class; see :mod:`twoface.data.selfblend` and :mod:`twoface.train.detector`).

Pretrained ImageNet weights (what FaceForensics++ and DeepfakeBench start from) would give a
far better starting point on real faces: generic edge/texture filters learnt on a million
images, so fewer face videos are needed and cross-dataset AUC is usually higher. twoface
downloads none; the one pretrained start it has is dlib's face recognition ResNet, whose
weights ship with ``face_recognition_models``: ``backbone="dlib_resnet"`` (registered as
``cnn_dlib`` and ``selfblend_dlib``) replaces the separable stages by its stem and first
levels (:mod:`twoface.models.detectors.dlib_trunk`), initialised from dlib's weights when the
model is created and fine-tuned from there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from twoface.models.base import OptimGroups
from twoface.models.detectors.base import Detector
from twoface.models.detectors.dlib_trunk import MAX_LEVELS, DlibTrunk, trunk_channels
from twoface.models.registry import register

BACKBONES = ("scratch", "dlib_resnet")


@dataclass
class CNNConfig:
    """Knobs of the CNN detector; saved in ``config.json``."""

    size: int = 128  # side of the face crop the network sees (inputs are resized to it)
    coverage: float = 0.625  # how tight the aligned crops it was trained on are
    widths: tuple[int, ...] = (24, 48, 96, 160)  # channels per stage; each stage halves
    blocks: int = 2  # separable residual blocks per stage (the first one strides)
    dropout: float = 0.2
    lr: float = 1e-3
    # Self-blend training only (data/selfblend.py; ignored by supervised training): the
    # strongest resampling and blur of the blended copy; whether each real face is
    # augmented, shown beside its own blend and JPEG-compressed (the paper's pairing; the
    # default since it lifted every unseen method on real video, see BENCHMARKS.md) or, as
    # first built, drawn independently of the faces that are blended; and the chance that
    # the blended copy is locally misshaped, with its largest displacement (share of the side).
    blend_min_scale: float = 0.5
    blend_max_blur: float = 1.2
    blend_pairs: bool = True
    blend_warp: float = 0.5
    blend_warp_max: float = 0.03
    # Self-blend only, the re-rendered fakes (models/rerender.py): the chance that a fake is
    # the face partly or wholly replaced by its own re-rendering through a small autoencoder
    # trained on the same reals (0: self-blends only, the recipe before 2026-11-26's third),
    # the chance that it covers the whole crop, the autoencoder's training steps (batches of
    # the detector's size), and the chance that a real face is first softened through
    # 0.3-0.5x its size (so that softness, which every re-rendering has, is in both classes).
    rerender: float = 0.5
    rerender_whole: float = 0.33
    rerender_steps: int = 3000
    soft_reals: float = 0.15
    # Configs saved before these fields existed describe models trained without them.
    LEGACY: ClassVar[dict[str, object]] = {"augment": False, "rerender": 0.0, "soft_reals": 0.0}
    # Supervised training only: augment each face of either class as self-blend training
    # augments its reals (pose, colour, noise, softness, resolution), then a JPEG round trip,
    # so that the network cannot lean on one look of the fakes it was shown (the default: it
    # lifted every unseen method on real video, see BENCHMARKS.md; false for the first recipe).
    augment: bool = True
    # The feature extractor: "scratch" (the separable stages above, randomly initialised) or
    # "dlib_resnet" (the stem and the first ``backbone_levels`` levels of dlib's face
    # recognition ResNet, from dlib's weights when the model is created; ``widths`` and
    # ``blocks`` are then unused). Configs saved before this field describe scratch models.
    backbone: str = "scratch"
    backbone_levels: int = 3
    # dlib's trunk learns at lr × this: its fixed affine layers (dlib's frozen batch norm)
    # cannot re-centre activations, and at the head's full rate its ReLUs died within 30
    # steps (loss stuck at ln 2; at 0.1× it learnt).
    backbone_lr_scale: float = 0.1

    def __post_init__(self) -> None:
        self.widths = tuple(int(w) for w in self.widths)  # JSON gives a list back
        if self.backbone not in BACKBONES:
            raise ValueError(f"backbone must be one of {BACKBONES}, got {self.backbone!r}")
        if not 1 <= self.backbone_levels <= MAX_LEVELS:
            raise ValueError(f"backbone_levels must be from 1 to {MAX_LEVELS}, "
                             f"got {self.backbone_levels}")
        if not 32 <= self.size <= 1024 or self.size % 16:
            raise ValueError(f"size must be a multiple of 16 from 32 to 1024, got {self.size}")
        if not 0.2 <= self.coverage <= 2.0:
            raise ValueError(f"coverage must be from 0.2 to 2, got {self.coverage}")
        if not self.widths or min(self.widths) < 4 or self.blocks < 1:
            raise ValueError("widths must be positive channel counts and blocks >= 1")
        for name in ("rerender", "rerender_whole", "soft_reals"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} is a chance: give a value from 0 to 1")
        if self.rerender > 0 and self.rerender_steps < 1:
            raise ValueError("rerender_steps must be at least 1 (or set rerender=0)")


class SeparableBlock(nn.Module):
    """``(B, cin, H, W)`` → ``(B, cout, H/stride, W/stride)``: depthwise 3×3, pointwise 1×1,
    each batch-normed, SiLU; a residual skip (1×1 strided conv when the shape changes)."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False), nn.BatchNorm2d(cin),
            nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.SiLU(),
            nn.Conv2d(cout, cout, 3, 1, 1, groups=cout, bias=False), nn.BatchNorm2d(cout),
            nn.Conv2d(cout, cout, 1, bias=False), nn.BatchNorm2d(cout))
        self.skip = (nn.Identity() if cin == cout and stride == 1 else
                     nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                   nn.BatchNorm2d(cout)))
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.skip(x))


class CNNDetector(Detector):
    """Stem (3×3, stride 2) → stages of separable blocks → pool → logit; or, with the
    ``dlib_resnet`` backbone, dlib's chip → its stem and first levels → pool → logit."""

    trunk: DlibTrunk | None

    def __init__(self, config: CNNConfig) -> None:
        super().__init__()
        self.config = cfg = config
        if cfg.backbone == "dlib_resnet":
            self.trunk = DlibTrunk(cfg.backbone_levels, cfg.coverage)
            cin = trunk_channels(cfg.backbone_levels)
        else:
            self.trunk = None
            w0 = cfg.widths[0]
            self.stem = nn.Sequential(nn.Conv2d(3, w0, 3, 2, 1, bias=False),
                                      nn.BatchNorm2d(w0), nn.SiLU())
            stages: list[nn.Module] = []
            cin = w0
            for w in cfg.widths:
                stages.append(SeparableBlock(cin, w, 2))
                stages += [SeparableBlock(w, w, 1) for _ in range(cfg.blocks - 1)]
                cin = w
            self.features = nn.Sequential(*stages)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(cfg.dropout),
                                  nn.Linear(cin, 1))
        self._init_calibration()

    def optim_groups(self) -> OptimGroups:
        if self.trunk is None:
            return super().optim_groups()
        lr = self.config.lr
        trunk = list(self.trunk.parameters())
        ids = {id(p) for p in trunk}
        rest = [p for p in self.parameters() if id(p) not in ids]
        return {"loss": ([{"params": trunk, "lr": lr * self.config.backbone_lr_scale},
                          {"params": rest}], lr)}

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """The last stage's ``(B, C, h, w)`` map (for explanations)."""
        if self.trunk is not None:
            return self.trunk(x)
        return self.features(self.stem(x * 2 - 1))

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.feature_map(x)).squeeze(1)


_TINY = {"size": 64, "widths": (16, 32, 64), "blocks": 1}


@register("detector", "cnn")
def cnn(**cfg: Any) -> CNNDetector:
    """The CNN detector (about 0.2 M parameters at the default widths)."""
    return CNNDetector(CNNConfig(**cfg))


@register("detector", "cnn_tiny")
def cnn_tiny(**cfg: Any) -> CNNDetector:
    """A tiny CPU variant: 64 px crops, three one-block stages."""
    return CNNDetector(CNNConfig(**{**_TINY, **cfg}))


@register("detector", "selfblend")
def selfblend(**cfg: Any) -> CNNDetector:
    """The CNN trained by the self-blended-images recipe (real faces only)."""
    return CNNDetector(CNNConfig(**cfg))


@register("detector", "selfblend_tiny")
def selfblend_tiny(**cfg: Any) -> CNNDetector:
    """``selfblend`` at the tiny size."""
    return CNNDetector(CNNConfig(**{**_TINY, **cfg}))


_DLIB = {"size": 128, "backbone": "dlib_resnet", "lr": 3e-4}


@register("detector", "cnn_dlib")
def cnn_dlib(**cfg: Any) -> CNNDetector:
    """The CNN detector on dlib's face ResNet trunk (stem and 3 levels by default, about
    1.2 M parameters), initialised from dlib's weights; needs ``face_recognition_models``."""
    return CNNDetector(CNNConfig(**{**_DLIB, **cfg}))


@register("detector", "selfblend_dlib")
def selfblend_dlib(**cfg: Any) -> CNNDetector:
    """``cnn_dlib`` trained by the self-blended-images recipe (real faces only)."""
    return CNNDetector(CNNConfig(**{**_DLIB, **cfg}))
