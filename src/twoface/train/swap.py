"""Training the face swap: the model from the registry, batches from two facesets, the loop;
with a preset (:mod:`twoface.train.presets`), its recipe and, when training stops, how far
the model is from the quality the preset aims at."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from twoface.device import pick_device
from twoface.train.checkpoint import new_or_resumed
from twoface.train.loop import TrainOptions, TrainResult, fit


def train_swap(a: str | Path, b: str | Path, run_dir: str | Path, *, model: str | None = None,
               size: int | None = None, batch: int | None = None, gan: bool = False,
               seed: int = 0, overrides: dict | None = None,
               options: TrainOptions | None = None, preset: str | None = None) -> TrainResult:
    """Train (or with ``options.resume``, continue) swap model ``model`` from faceset ``a`` to
    faceset ``b`` in ``run_dir``. On resume the saved config wins; asking for a different
    model name or size is an error rather than a silent choice.

    ``preset`` (``cpu`` / ``gpu``) fills in the model, size, batch, config, learning-rate
    schedule and, unless ``options.minutes`` is given, the time budget; anything given
    explicitly wins. With a preset the result's ``extra["goal"]`` holds
    :func:`twoface.train.presets.goal_report`.
    """
    from twoface.data.swap_batches import SwapBatches

    opts = options or TrainOptions()
    run_dir = Path(run_dir)
    cfg = dict(overrides or {})
    chosen = None
    if preset is not None:
        from twoface.train.presets import swap_preset

        chosen = swap_preset(preset)
        model = model or chosen.model
        size = size or cfg.get("size") or chosen.size
        batch = batch or chosen.batch
        cfg = {**chosen.overrides, **cfg}
        opts = dataclasses.replace(
            opts, minutes=opts.minutes or chosen.minutes,
            schedule=chosen.schedule if opts.schedule == "constant" else opts.schedule,
            warmup=opts.warmup or chosen.warmup)
    if size is not None:
        cfg["size"] = size
    if gan:
        cfg["gan"] = True
    net = new_or_resumed("swap", run_dir, model=model, default="light", config=cfg,
                         resume=opts.resume)
    c = net.config
    rank = int(os.environ.get("RANK", "0"))  # torchrun's; fit() starts the process group
    data = SwapBatches.from_facesets(a, b, c.size, c.coverage, batch or 16,
                                     device=pick_device(opts.device), seed=seed, rank=rank,
                                     face_weight=c.face_weight, feature_weight=c.feature_weight)
    result = fit(net, data.batch, run_dir, opts)
    if chosen is not None and rank == 0:
        from twoface.fileio import atomic_write_json
        from twoface.train.presets import goal_report

        report = goal_report(net, data.a, data.b, chosen.goal)
        report["preset"] = chosen.name
        report["step"] = result.step
        atomic_write_json(run_dir / "goal.json", report)
        result.extra["goal"] = report
    return result
