"""Training a face GAN: every face of one or more facesets, the registry's model, the loop.

The faces are held as one uint8 tensor at the model's size (a few thousand 64–256 px faces
are tens to hundreds of MB), so a batch is an index and a flip: no loader to starve the step.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from twoface.data.gan_batches import GanBatches, load_faces
from twoface.device import pick_device
from twoface.errors import TwofaceError
from twoface.models.base import TrainableModel
from twoface.train.checkpoint import new_or_resumed
from twoface.train.loop import TrainOptions, TrainResult, fit

DEMO_CONFIG = {"size": 32, "g_channels": 8, "d_channels": 8, "max_channels": 64, "z_dim": 32}
"""A fastgan-small narrow and small enough for the demo: :data:`DEMO_STEPS` steps of batch 8
take ~20 s on one idle core (measured: 120 steps in 5.8 s on this 2-core EPYC). It shows the
pipeline and the first face-like blobs, not convincing faces; outputs are written at 64 px
(upscaled) so that the watermark holds."""
DEMO_STEPS = 400


def build_model(run_dir: str | Path, *, model: str | None, size: int | None,
                overrides: dict | None, resume: bool) -> TrainableModel:
    """A new ``gan`` model, or on resume the saved one; a resume that asks for another model
    or config is refused rather than silently ignored."""
    run_dir = Path(run_dir)
    cfg = dict(overrides or {})
    if size is not None:
        cfg["size"] = size
    return new_or_resumed("gan", run_dir, model=model, default="fastgan-small", config=cfg,
                          resume=resume)


def train_gan(facesets: Sequence[str | Path], run_dir: str | Path, *, model: str | None = None,
              size: int | None = None, batch: int = 16, seed: int = 0,
              overrides: dict | None = None, options: TrainOptions | None = None
              ) -> TrainResult:
    """Train (or with ``options.resume``, continue) GAN ``model`` on all faces of
    ``facesets`` in ``run_dir``; previews (fixed latents) land in ``run_dir/samples``."""
    opts = options or TrainOptions(description="train gan")
    for fs in facesets:
        if not Path(fs).is_dir():
            raise TwofaceError(fs, "not a faceset folder")
    # The init, latents and augmentations of a fresh run follow the seed (resume restores the
    # RNG state from the checkpoint instead).
    torch.manual_seed(seed)
    net = build_model(run_dir, model=model, size=size, overrides=overrides, resume=opts.resume)
    faces = load_faces(facesets, net.config.size, progress=opts.progress)
    data = GanBatches(faces, batch, device=pick_device(opts.device), seed=seed)
    return fit(net, data.batch, run_dir, opts)
