"""Training the motion model: the model from the registry, pairs of frames from face clips,
the generic loop."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from twoface.device import pick_device
from twoface.train.checkpoint import new_or_resumed
from twoface.train.loop import TrainOptions, TrainResult, fit

TINY = {"size": 64, "keypoints": 5, "motion_side": 32, "kp_width": 8, "kp_max": 32,
        "kp_blocks": 3, "dense_width": 8, "dense_max": 32, "dense_blocks": 3, "gen_width": 8,
        "gen_max": 32, "gen_downs": 2, "gen_res": 1, "perceptual": 0.0, "lr": 1e-3}
"""A model small enough to train in seconds on a CPU (the tests)."""
DEMO = {**TINY, "gen_width": 16, "gen_max": 64}
"""The demo's model: TINY with a wider generator, which lowers the reconstruction loss after
200 steps by a fifth (0.25 vs 0.32) for ~15 % more time; ~20 s for 200 steps of 4 pairs on
one CPU thread."""


def train_motion(clips: list[str | Path], run_dir: str | Path, *, model: str | None = None,
                 size: int | None = None, batch: int | None = None, gan: bool = False,
                 seed: int = 0,
                 overrides: dict | None = None, options: TrainOptions | None = None,
                 notes: list[str] | None = None, preset: str | None = None) -> TrainResult:
    """Train (or with ``options.resume``, continue) motion model ``model`` on the clips in
    ``clips`` (clip folders or folders of them) in ``run_dir``.

    On resume the saved config wins; asking for another model name or size is an error rather
    than a silent choice. Clips larger than the model are shrunk (said in ``notes``), smaller
    ones refused. ``preset`` (``cpu`` / ``gpu``, :data:`twoface.train.presets.MOTION_PRESETS`)
    fills in the model, size, batch, config, learning-rate schedule and, unless
    ``options.minutes`` is given, the time budget; anything given explicitly wins.
    """
    from twoface.data.clips import ClipBatches, check_sizes, find_clips

    opts = options or TrainOptions()
    run_dir = Path(run_dir)
    cfg = dict(overrides or {})
    if preset is not None:
        from twoface.train.presets import motion_preset

        chosen = motion_preset(preset)
        model = model or chosen.model
        size = size or cfg.get("size") or chosen.size
        batch = batch or chosen.batch
        cfg = {**chosen.overrides, **cfg}
        opts = dataclasses.replace(
            opts, minutes=opts.minutes or chosen.minutes,
            schedule=chosen.schedule if opts.schedule == "constant" else opts.schedule,
            warmup=opts.warmup or chosen.warmup)
    batch = batch or 8
    if size is not None:
        cfg["size"] = size
    if gan:
        cfg["gan"] = True
    found = find_clips(list(clips))  # bad clip folders fail before a model is built
    net = new_or_resumed("motion", run_dir, model=model, default="small", config=cfg,
                         resume=opts.resume)
    c = net.config
    said = check_sizes(found, c.size)
    if notes is not None:
        notes.extend(said)
    rank = int(os.environ.get("RANK", "0"))  # torchrun's; fit() starts the process group
    data = ClipBatches.from_clips(found, c.size, batch, device=pick_device(opts.device),
                                  seed=seed, rank=rank, sigma_affine=c.sigma_affine,
                                  sigma_tps=c.sigma_tps, progress=opts.progress)
    return fit(net, data.batch, run_dir, opts)
