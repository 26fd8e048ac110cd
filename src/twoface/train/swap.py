"""Training the face swap: the model from the registry, batches from two facesets, the loop."""

from __future__ import annotations

import os
from pathlib import Path

from twoface.errors import TwofaceError
from twoface.models import create
from twoface.models.registry import read_config
from twoface.train.checkpoint import STATE
from twoface.train.loop import TrainOptions, TrainResult, fit, pick_device


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
    if opts.resume and (run_dir / STATE).is_file():
        saved = read_config(run_dir, "swap")
        if model is not None and model != saved["name"]:
            raise TwofaceError(run_dir, f"holds a {saved['name']!r} model; cannot resume it "
                               f"as {model!r}")
        for k, v in cfg.items():
            if saved["config"].get(k) != v:
                raise TwofaceError(run_dir, f"was trained with {k}={saved['config'].get(k)}; "
                                   f"cannot resume with {k}={v}")
        net = create("swap", saved["name"], **saved["config"])
    else:
        net = create("swap", model or "light", **cfg)
    c = net.config
    rank = int(os.environ.get("RANK", "0"))  # torchrun's; fit() starts the process group
    data = SwapBatches.from_facesets(a, b, c.size, c.coverage, batch,
                                     device=pick_device(opts.device), seed=seed, rank=rank,
                                     face_weight=c.face_weight, feature_weight=c.feature_weight)
    return fit(net, data.batch, run_dir, opts)
