"""dlib's face recognition ResNet (``dlib_face_recognition_resnet_model_v1``) in PyTorch.

The network, as dlib's ``dnn_face_recognition_ex.cpp`` declares it (bottom to top)::

    input_rgb_image_sized<150>                      (N,3,150,150), (pixel - avg_rgb)/256
    con 32 7x7 /2, affine, relu, max_pool 3x3 /2    (N,32,35,35)      "stem"
    level4: 3 x ares 32                             (N,32,35,35)
    level3: ares_down 64, 3 x ares 64               (N,64,17,17)
    level2: ares_down 128, 2 x ares 128             (N,128,8,8)
    level1: ares_down 256, 2 x ares 256             (N,256,4,4)
    level0: ares_down 256                           (N,256,2,2)
    avg_pool_everything, fc_no_bias 128             (N,128)

``ares`` is ``relu(add_prev(affine(con 3x3(relu(affine(con 3x3(x)))))), x)`` and ``ares_down``
strides the first conv by 2 and adds ``avg_pool 2x2 /2`` of ``x`` instead of ``x``. dlib's
convolutions pad ``k//2`` only at stride 1 (none at stride 2), and its ``add_prev`` adds tensors
of different shapes by zero-filling both to the larger one at the high end of every dimension:
in level1 the strided branch is 3x3 but the pooled skip 4x4, so the sum is 4x4 with the branch
in its top-left corner. ``loss_metric`` returns the fc output as is: dlib's face descriptor is
*not* L2-normalised (its norm is close to, but not exactly, 1), and neither is ours.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from twoface.errors import TwofaceError
from twoface.faces.nets.dat import DlibLayer, DlibNet, read_dat, weights_path

FILE_NAME = "dlib_face_recognition_resnet_model_v1.dat"
CHIP_SIZE = 150
# (channels, plain blocks, starts with a strided block) from the input up.
_LEVELS = ((32, 3, False), (64, 3, True), (128, 2, True), (256, 2, True), (256, 0, True))


def add_prev(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """dlib's ``add_prev``: (N,Ca,Ha,Wa) + (N,Cb,Hb,Wb) -> (N,max C,max H,max W).

    Each input is zero-filled at the end of every dimension where it is the smaller one. The
    shapes are static for a given input size, so this branch is no data-dependent control flow
    (``torch.compile`` specialises on them).
    """
    if a.shape == b.shape:
        return a + b
    c, h, w = (max(a.shape[i], b.shape[i]) for i in (1, 2, 3))

    def fill(t: torch.Tensor) -> torch.Tensor:
        return F.pad(t, (0, w - t.shape[3], 0, h - t.shape[2], 0, c - t.shape[1]))

    return fill(a) + fill(b)


class Affine(nn.Module):
    """dlib's ``affine`` layer in CONV mode (batchnorm at test time): x·gamma[c] + beta[c].

    (N,C,H,W) -> (N,C,H,W). gamma and beta are buffers: the port is for inference and losses
    through a frozen network, never for training dlib's weights.
    """

    gamma: torch.Tensor
    beta: torch.Tensor

    def __init__(self, gamma: np.ndarray, beta: np.ndarray) -> None:
        super().__init__()
        self.register_buffer("gamma", torch.from_numpy(gamma.copy()).view(1, -1, 1, 1))
        self.register_buffer("beta", torch.from_numpy(beta.copy()).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma + self.beta


def conv_from_dlib(layer: DlibLayer) -> nn.Conv2d:
    """An ``nn.Conv2d`` holding a dlib ``con_`` layer's filters (out, in, kh, kw) and biases."""
    w = torch.from_numpy(layer.arrays["weight"].copy())
    conv = nn.Conv2d(w.shape[1], w.shape[0], (w.shape[2], w.shape[3]),
                     stride=(layer.ints["stride_y"], layer.ints["stride_x"]),
                     padding=(layer.ints["pad_y"], layer.ints["pad_x"]))
    with torch.no_grad():
        conv.weight.copy_(w)
        assert conv.bias is not None
        conv.bias.copy_(torch.from_numpy(layer.arrays["bias"]))
    return conv


class ResBlock(nn.Module):
    """One ``ares``/``ares_down``: (N,Cin,H,W) -> (N,C,H',W') with H' = H, or ⌊H/2⌋ when strided."""

    def __init__(self, layers: list[DlibLayer], down: bool) -> None:
        super().__init__()
        self.conv1, self.aff1 = conv_from_dlib(layers[0]), Affine(**layers[1].arrays)
        self.conv2, self.aff2 = conv_from_dlib(layers[3]), Affine(**layers[4].arrays)
        self.down = down

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.aff2(self.conv2(F.relu(self.aff1(self.conv1(x)))))
        skip = F.avg_pool2d(x, 2, 2) if self.down else x
        return F.relu(add_prev(y, skip))


def _architecture() -> tuple[list[str], list[int]]:
    """The layer kinds (bottom first) and wrapper versions (top first) the file must hold."""
    kinds = ["con", "affine", "relu", "max_pool"]
    wrappers = [2, 2, 2]  # max_pool, relu, affine (the conv sits on the input layer)
    for _channels, plain, down in _LEVELS:
        for is_down in [True] * down + [False] * plain:
            if is_down:
                kinds += ["con", "affine", "relu", "con", "affine", "avg_pool", "add_prev", "relu"]
                # top first: relu add_prev avg_pool skip1 tag2 affine con relu affine con tag1
                wrappers = [2, 2, 2, 1, 1, 2, 2, 2, 2, 2, 1, *wrappers]
            else:
                kinds += ["con", "affine", "relu", "con", "affine", "add_prev", "relu"]
                wrappers = [2, 2, 2, 2, 2, 2, 2, 1, *wrappers]
    return [*kinds, "avg_pool", "fc"], [2, 2, *wrappers]


def check_architecture(net: DlibNet, kinds: list[str], wrappers: list[int], what: str) -> None:
    """Raise a one-line :class:`TwofaceError` unless ``net`` has exactly this layer sequence."""
    found = [layer.kind for layer in net.layers]
    if found != kinds or net.wrappers != wrappers:
        at = next((i for i, (a, b) in enumerate(zip(found, kinds, strict=False)) if a != b),
                  min(len(found), len(kinds)))
        raise TwofaceError(net.path, f"is a dlib network but not {what} ({len(found)} layers, "
                                     f"expected {len(kinds)}; first difference at layer {at})")


class FaceEmbedder(nn.Module):
    """dlib's 128-d face descriptor network.

    ``forward(x)``: x (N,3,150,150) float, already normalised the way dlib's input layer does
    it, ``(rgb_0_255 - avg_rgb)/256`` (see :meth:`normalize` for images in [0,1] and
    :meth:`chips_to_input` for uint8 chips) -> (N,128) descriptors, not L2-normalised. The
    whole path is differentiable, so an identity loss can backpropagate to the image.
    """

    avg_rgb: torch.Tensor
    levels: nn.ModuleList

    def __init__(self, net: DlibNet) -> None:
        super().__init__()
        kinds, wrappers = _architecture()
        if net.loss != "loss_metric" or net.input != "input_rgb_image_sized":
            raise TwofaceError(net.path, f"is a dlib {net.loss} network over {net.input}, "
                                         "not the face recognition ResNet")
        check_architecture(net, kinds, wrappers, "the face recognition ResNet")
        layers = net.layers
        self.register_buffer("avg_rgb", torch.tensor(net.input_options["avg_rgb"],
                                                     dtype=torch.float32).view(1, 3, 1, 1))
        self.stem_conv, self.stem_affine = conv_from_dlib(layers[0]), Affine(**layers[1].arrays)
        i = 4
        self.levels = nn.ModuleList()
        for _channels, plain, down in _LEVELS:
            blocks = nn.ModuleList()
            for is_down in [True] * down + [False] * plain:
                blocks.append(ResBlock(layers[i:i + 8], is_down))
                i += 8 if is_down else 7
            self.levels.append(blocks)
        fc = layers[i + 1].arrays["weight"]  # (num_inputs, num_outputs)
        self.fc = nn.Linear(fc.shape[0], fc.shape[1], bias=False)
        with torch.no_grad():
            self.fc.weight.copy_(torch.from_numpy(fc.T.copy()))

    def normalize(self, x01: torch.Tensor) -> torch.Tensor:
        """(N,3,H,W) RGB in [0,1] -> dlib's input normalisation ``(255·x - avg_rgb)/256``."""
        return (x01 * 255 - self.avg_rgb.to(x01.dtype)) / 256

    def chips_to_input(self, chips: torch.Tensor) -> torch.Tensor:
        """(N,150,150,3) uint8 RGB chips -> (N,3,150,150) float32 network input, as dlib."""
        x = chips.permute(0, 3, 1, 2).to(torch.float32)
        # Same float32 arithmetic as dlib: (uint8 - float avg) / 256 is exact to the last bit.
        return (x - self.avg_rgb) / 256

    def forward(self, x: torch.Tensor, return_features: bool = False
                ) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        """(N,3,150,150) normalised -> (N,128); with ``return_features`` also the stage
        activations [stem (N,32,35,35), level4 (N,32,35,35), level3 (N,64,17,17),
        level2 (N,128,8,8), level1 (N,256,4,4), level0 (N,256,2,2)] for a feature loss."""
        x = F.max_pool2d(F.relu(self.stem_affine(self.stem_conv(x))), 3, 2)
        features = [x]
        for blocks in self.levels:
            assert isinstance(blocks, nn.ModuleList)
            for block in blocks:
                x = block(x)
            features.append(x)
        emb = self.fc(x.mean(dim=(2, 3)))
        return (emb, features) if return_features else emb


def load_embedder(device: str | torch.device = "cpu", path: str | Path | None = None
                  ) -> FaceEmbedder:
    """A fresh, frozen (eval, no parameter gradients) :class:`FaceEmbedder` on ``device``.

    ``path`` is the ``.dat`` file or a folder holding it; by default the file shipped in the
    ``face_recognition_models`` package. Nothing is cached: keep the module you get.
    """
    model = FaceEmbedder(read_dat(weights_path(FILE_NAME, path)))
    return model.eval().requires_grad_(False).to(device)


@torch.no_grad()
def embed_chips(chips: np.ndarray, device: str | torch.device = "cpu",
                embedder: FaceEmbedder | None = None, batch_size: int = 64,
                dtype: torch.dtype = torch.float32) -> np.ndarray:
    """(N,150,150,3) uint8 RGB face chips (as ``dlib.get_face_chip(img, shape, 150, 0.25)``
    makes them) -> (N,128) float32 descriptors, batched; ``dtype=torch.bfloat16`` runs under
    autocast (faster on GPUs, ~1e-2 from dlib)."""
    chips = np.asarray(chips)
    if chips.ndim == 3:
        chips = chips[None]
    if chips.dtype != np.uint8 or chips.shape[1:] != (CHIP_SIZE, CHIP_SIZE, 3):
        raise TwofaceError(None, f"face chips must be N x {CHIP_SIZE} x {CHIP_SIZE} x 3 uint8 "
                                 f"RGB, got shape {chips.shape} of {chips.dtype}")
    model = embedder if embedder is not None else load_embedder(device)
    param = next(model.parameters())
    dev = param.device
    out = np.empty((len(chips), 128), np.float32)
    for start in range(0, len(chips), batch_size):
        batch = torch.from_numpy(chips[start:start + batch_size]).to(dev)
        with torch.autocast(dev.type, dtype, enabled=dtype != torch.float32):
            # A module moved to bfloat16 wholesale gets its input in bfloat16 too.
            emb = model(model.chips_to_input(batch).to(param.dtype))
        out[start:start + len(batch)] = emb.float().cpu().numpy()
    return out
