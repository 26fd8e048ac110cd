"""Timing full training steps the way ``twoface.train.loop.fit`` runs them, for benches."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

from twoface.train.loop import count_examples


def sync(device: torch.device) -> None:
    """Wait for queued GPU work, so that a clock read means what it says."""
    if device.type == "cuda":
        torch.cuda.synchronize()


def train_rate(model: torch.nn.Module, batch_fn: Callable[[int], dict[str, torch.Tensor]],
               device: torch.device, steps: int, warmup: int = 1) -> float:
    """Examples per second of full training steps: batch, forward, every loss, backward, the
    optimizers (AdamW as the loop builds them) and ``after_step``; bf16 autocast and
    channels_last on CUDA as in the loop. The first ``warmup`` steps are not timed
    (allocations, cuDNN autotuning)."""
    model.to(device).train()
    cuda = device.type == "cuda"
    if cuda:
        model.to(memory_format=torch.channels_last)
    optims = {k: torch.optim.AdamW(p, lr=lr, betas=(0.5, 0.999))
              for k, (p, lr) in model.optim_groups().items()}
    amp = torch.autocast("cuda", torch.bfloat16, enabled=cuda)
    seen, t0 = 0, 0.0
    for i in range(warmup + steps):
        if i == warmup:
            sync(device)
            t0 = time.perf_counter()
        batch = batch_fn(i)
        with amp:
            losses = model.training_step(batch)
        for key, opt in optims.items():
            opt.zero_grad(set_to_none=True)
            losses[key].backward()
            opt.step()
        if hasattr(model, "after_step"):
            model.after_step(i + 1)
        if i >= warmup:
            seen += count_examples(batch)
    sync(device)
    return seen / (time.perf_counter() - t0)
