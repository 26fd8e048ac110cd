"""Training the face swap: the model from the registry, batches from two facesets, the loop."""

from __future__ import annotations

import os
from pathlib import Path

from twoface.device import pick_device
from twoface.train.checkpoint import new_or_resumed
from twoface.train.loop import TrainOptions, TrainResult, fit


def train_swap(a: str | Path, b: str | Path, run_dir: str | Path, *, model: str | None = None,
               size: int | None = None, batch: int = 16, gan: bool = False, seed: int = 0,
               overrides: dict | None = None, options: TrainOptions | None = None
               ) -> TrainResult:
    """Train (or with ``options.resume``, continue) swap model ``model`` from faceset ``a`` to
    faceset ``b`` in ``run_dir``. On resume the saved config wins; asking for a different
    model name or size is an error rather than a silent choice."""
    from twoface.data.swap_batches import SwapBatches

    opts = options or TrainOptions()
    run_dir = Path(run_dir)
    cfg = dict(overrides or {})
    if size is not None:
        cfg["size"] = size
    if gan:
        cfg["gan"] = True
    net = new_or_resumed("swap", run_dir, model=model, default="light", config=cfg,
                         resume=opts.resume)
    c = net.config
    rank = int(os.environ.get("RANK", "0"))  # torchrun's; fit() starts the process group
    data = SwapBatches.from_facesets(a, b, c.size, c.coverage, batch,
                                     device=pick_device(opts.device), seed=seed, rank=rank,
                                     face_weight=c.face_weight, feature_weight=c.feature_weight)
    return fit(net, data.batch, run_dir, opts)
