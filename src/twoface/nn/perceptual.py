"""Optional perceptual loss on VGG16 features — only with weights already on this machine.

twoface downloads nothing and none of its dependencies ship VGG weights, so this loss is used
only when a safetensors file of VGG16's convolutional layers (torchvision's ``features.*``
names, ImageNet-trained) is found at ``$TWOFACE_VGG16`` or
``<user data dir>/twoface/weights/vgg16_features.safetensors``; the training log says which.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

log = logging.getLogger(__name__)

# VGG16 up to relu3_3: conv widths, "M" = max-pool. Indices match torchvision's ``features``.
_LAYERS = (64, 64, "M", 128, 128, "M", 256, 256, 256)
_TAPS = (3, 8, 15)  # relu1_2, relu2_2, relu3_3
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


def vgg_path() -> Path:
    if os.environ.get("TWOFACE_VGG16"):
        return Path(os.environ["TWOFACE_VGG16"])
    try:
        import platformdirs
    except ImportError:  # a bare training machine (e.g. a GPU image): nothing is installed there
        return Path.home() / ".local" / "share" / "twoface" / "weights" / \
            "vgg16_features.safetensors"
    return Path(platformdirs.user_data_dir("twoface")) / "weights" / "vgg16_features.safetensors"


class VGGFeatures(nn.Module):
    """``(B, 3, H, W)`` in [0, 1] → features at relu1_2, relu2_2, relu3_3 (frozen)."""

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self) -> None:
        super().__init__()
        mods: list[nn.Module] = []
        c = 3
        for v in _LAYERS:
            if v == "M":
                mods.append(nn.MaxPool2d(2))
            else:
                mods += [nn.Conv2d(c, int(v), 3, padding=1), nn.ReLU()]
                c = int(v)
        self.features = nn.Sequential(*mods)
        self.register_buffer("mean", torch.tensor(_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_STD).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = (x - self.mean) / self.std
        out = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in _TAPS:
                out.append(x)
        return out


def load_vgg() -> VGGFeatures | None:
    """The frozen feature extractor, or None (logged once) when no weights are present."""
    from safetensors.torch import load_file

    path = vgg_path()
    if not path.is_file():
        log.info("perceptual loss off: no VGG16 weights at %s", path)
        return None
    from safetensors import SafetensorError

    from twoface.errors import TwofaceError

    net = VGGFeatures()
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError):
        raise TwofaceError(path, "corrupt or unreadable VGG16 weights") from None
    # The file may hold the whole VGG16; take the layers this extractor has, and all of them:
    # silently random features would train against noise.
    want = list(net.state_dict())
    missing = [k for k in want if k not in state]
    if missing:
        raise TwofaceError(path, f"not VGG16 weights in torchvision's layout ({len(missing)} "
                           f"tensors missing, e.g. {missing[0]})")
    net.load_state_dict({k: state[k] for k in want})
    log.info("perceptual loss on: VGG16 weights from %s", path)
    return net.eval()


def perceptual_loss(vgg: VGGFeatures, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean L1 distance of VGG features, ``(B, 3, H, W)`` pairs → scalar."""
    return sum((F.l1_loss(a, b) for a, b in zip(vgg(pred), vgg(target), strict=True)),
               torch.zeros((), device=pred.device))
