"""One training loop for every model.

The model is a :class:`~twoface.models.base.TrainableModel`: it supplies ``optim_groups()``
(loss key → parameters, learning rate), ``training_step(batch) -> dict[str, Tensor]`` (its
losses, one per optimizer key plus any to log), and may override ``adam_betas``,
``preview(batch) -> (3, H, W)`` in [0, 1] and ``after_step(step)`` (updates that follow the
optimizers, e.g. a GAN's EMA of its generator). The loop supplies devices,
AMP, ``torch.compile``, data parallelism over ``torchrun`` processes, logging, previews and
atomic checkpoints with exact resume.
"""

from __future__ import annotations

import contextlib
import csv
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import numpy as np
import torch
from torch import nn

from twoface.device import pick_device
from twoface.errors import TwofaceError
from twoface.fileio import atomic_path, atomic_write_text, folder_lock
from twoface.models.base import TrainableModel
from twoface.train.checkpoint import checkpoint_step, load_checkpoint, save_checkpoint

if TYPE_CHECKING:
    from _csv import Writer

Batches = Callable[[int], dict[str, torch.Tensor]]


@dataclass
class TrainOptions:
    steps: int = 1000  # train until this step (a resumed run continues towards it)
    minutes: float | None = None  # also stop (and save) after this much wall-clock time
    save_every: int = 500
    preview_every: int = 250
    log_every: int = 10
    device: str | None = None  # None: CUDA when available, else CPU
    amp: bool = True  # bf16 autocast on CUDA (ignored on the CPU, where it is slower)
    compile: bool = False
    resume: bool = False
    progress: bool = True
    description: str = "train"
    # Learning-rate schedule: "constant", or "cosine" from each group's rate down to
    # ``lr_floor`` times it at the end of the budget (``minutes`` when given, else ``steps``);
    # either way a linear warm-up over the first ``warmup`` steps.
    schedule: str = "constant"
    warmup: int = 0
    lr_floor: float = 0.1


@dataclass
class TrainResult:
    start_step: int
    step: int
    seconds: float
    examples_per_s: float
    last: dict[str, float]
    extra: dict = field(default_factory=dict)  # what a trainer adds (e.g. a preset's goal)


def lr_factor(opts: TrainOptions, step: int, elapsed: float) -> float:
    """The share of its base rate every optimizer group runs at for ``step`` (0-based), after
    ``elapsed`` seconds of this run: the warm-up ramp times the schedule. With ``minutes``
    the cosine follows the clock (the budget a run is given), else the steps."""
    ramp = min(1.0, (step + 1) / opts.warmup) if opts.warmup > 0 else 1.0
    if opts.schedule == "constant":
        return ramp
    if opts.schedule != "cosine":
        raise ValueError(f"unknown learning-rate schedule {opts.schedule!r}")
    done = step / max(1, opts.steps)
    if opts.minutes:
        done = max(done, elapsed / (opts.minutes * 60))
    done = min(1.0, done)
    return ramp * (opts.lr_floor + (1 - opts.lr_floor) * 0.5 * (1 + math.cos(math.pi * done)))


def _dist() -> tuple[int, int, bool]:
    """(rank, world size, whether this call started the process group); starts the group when
    run under ``torchrun``."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1, False
    import torch.distributed as dist

    started = not dist.is_initialized()
    if started:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    return dist.get_rank(), world, started


def _all_reduce_grads(params: list[nn.Parameter], world: int) -> None:
    """Average gradients over processes (what DDP does, done by hand so that models with
    several optimizers and methods other than ``forward`` need no wrapper)."""
    import torch.distributed as dist

    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= world
    offset = 0
    for g in grads:
        g.copy_(flat[offset:offset + g.numel()].view_as(g))
        offset += g.numel()


def _out_of_time(t0: float, minutes: float, world: int, device: torch.device) -> bool:
    """Whether the time budget is spent; with several processes, rank 0's clock decides for
    all of them (so every rank stops at the same step and no collective is left waiting)."""
    over = time.perf_counter() - t0 >= minutes * 60
    if world == 1:
        return over
    import torch.distributed as dist

    flag = torch.tensor([float(over)], device=device)
    dist.broadcast(flag, 0)
    return bool(flag.item())


def refuse_finished(run_dir: str | Path, resume: bool) -> int | None:
    """The step of the checkpoint in ``run_dir`` (None: none); one there without ``resume``
    is an error, so that nothing is overwritten."""
    existing = checkpoint_step(run_dir)
    if existing is not None and not resume:
        raise TwofaceError(run_dir, f"already holds a model trained {existing} steps; pass "
                           "--resume to continue it or choose another folder")
    return existing


def fit(model: TrainableModel, batches: Batches, run_dir: str | Path,
        opts: TrainOptions) -> TrainResult:
    """Train ``model`` in ``run_dir`` with ``batches(step)`` until ``opts.steps``.

    Without ``resume`` a folder that already holds a checkpoint is refused (nothing is
    overwritten); with it, training continues from that checkpoint's exact state. Ctrl-C
    saves a checkpoint and re-raises ``KeyboardInterrupt``. One run at a time writes a
    folder: a second one is refused while the first holds its lock.
    """
    run_dir = Path(run_dir)
    if _dist_rank() != 0:
        return _fit(model, batches, run_dir, opts)
    with folder_lock(run_dir, "training run"):
        return _fit(model, batches, run_dir, opts)


def _dist_rank() -> int:
    return int(os.environ.get("RANK", "0") or 0)


def _fit(model: TrainableModel, batches: Batches, run_dir: Path,
         opts: TrainOptions) -> TrainResult:
    rank, world, started_group = _dist()
    device = pick_device(opts.device)
    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", torch.cuda.current_device())
    existing = refuse_finished(run_dir, opts.resume)
    model.to(device)
    cuda = device.type == "cuda"
    if cuda:
        # torch's stubs leave out Module.to's memory_format keyword, which it takes.
        model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        torch.backends.cudnn.benchmark = True
    groups = model.optim_groups()
    optims = {key: torch.optim.AdamW(params, lr=lr, betas=model.adam_betas, weight_decay=0.0)
              for key, (params, lr) in groups.items()}
    start = load_checkpoint(run_dir, model, optims) if existing is not None else 0
    # The schedule scales the model's own rates (a checkpoint holds the rate it stopped at).
    base_lr = {key: lr for key, (_, lr) in groups.items()}
    if world > 1:  # every process starts from rank 0's weights (fresh inits differ)
        import torch.distributed as dist

        for t in model.state_dict().values():
            dist.broadcast(t, 0)
    if rank == 0:
        run_dir.mkdir(parents=True, exist_ok=True)
        _trim_log(run_dir / "log.csv", start)
        for junk in run_dir.glob(".*.tmp*"):  # half-written files of a killed run
            junk.unlink(missing_ok=True)
    step_fn = model.training_step
    if opts.compile:
        model.compile()  # compiles forward(); training_step calls it for the heavy part
    amp = (torch.autocast("cuda", dtype=torch.bfloat16) if cuda and opts.amp
           else contextlib.nullcontext())
    from twoface.progress import progress_bar

    step, t0, seen, last = start, time.perf_counter(), 0, {}
    batch: dict[str, torch.Tensor] | None = None
    previewed = start  # the step of the last preview written
    log_fh = open(run_dir / "log.csv", "a", newline="") if rank == 0 else None  # noqa: SIM115
    writer: Writer | None = None
    try:
        with progress_bar(enabled=opts.progress and rank == 0) as bar:
            task = bar.add_task(opts.description, total=opts.steps, completed=start,
                                unit="steps")
            while step < opts.steps:
                batch = batches(step)
                if cuda:
                    batch = {k: v.contiguous(memory_format=torch.channels_last)
                             if v.dim() == 4 else v for k, v in batch.items()}
                model.train()
                if opts.schedule != "constant" or opts.warmup:
                    factor = lr_factor(opts, step, time.perf_counter() - t0)
                    for key, opt in optims.items():
                        for g in opt.param_groups:
                            g["lr"] = base_lr[key] * factor
                with amp:
                    losses = step_fn(batch)
                for key, opt in optims.items():
                    opt.zero_grad(set_to_none=True)
                    losses[key].backward()
                    if world > 1:
                        _all_reduce_grads([p for g in opt.param_groups for p in g["params"]],
                                          world)
                    opt.step()
                step += 1
                model.after_step(step)  # model-owned updates, e.g. a GAN's EMA of G
                seen += count_examples(batch) * world
                last = {k: float(v.detach()) for k, v in losses.items()}
                if not all(math.isfinite(v) for v in last.values()):
                    raise TwofaceError(run_dir, f"loss became {last} at step {step}; the last "
                                       "checkpoint is kept (try a lower lr)")
                elapsed = max(time.perf_counter() - t0, 1e-9)
                rate = seen / elapsed
                # With a time budget, the bar (and its ETA) runs to the step the budget will
                # reach at the present speed, not to ``steps``.
                total = (_budget_total(opts, start, step, elapsed) if opts.minutes
                         else opts.steps)
                bar.update(task, completed=step, total=total, description=f"{opts.description}"
                           f" loss {last['loss']:.4f} {rate:6.1f} ex/s")
                if opts.minutes and step % opts.log_every == 0 and _out_of_time(
                        t0, opts.minutes, world, device):
                    break
                if rank != 0:
                    continue
                if step % opts.log_every == 0 or step == opts.steps:
                    assert log_fh is not None  # rank 0 opened it
                    writer = _log(log_fh, writer, step, rate, last)
                if opts.preview_every and (step % opts.preview_every == 0 or step == opts.steps):
                    _preview(model, batch, run_dir, step)
                    previewed = step
                if step % opts.save_every == 0 and step < opts.steps:
                    save_checkpoint(run_dir, model, optims, step)
    except KeyboardInterrupt:
        if rank == 0 and step > start:
            save_checkpoint(run_dir, model, optims, step)  # Ctrl-C keeps the work done
            if opts.preview_every and batch is not None and previewed != step:
                _preview(model, batch, run_dir, step)  # a stopped run shows where it got to
        raise
    finally:
        if log_fh:
            log_fh.close()
    # Other errors (a NaN loss, out of memory) leave the last periodic checkpoint alone:
    # the weights in memory may be what went wrong.
    if rank == 0 and step > start:
        save_checkpoint(run_dir, model, optims, step)
        if opts.preview_every and batch is not None and previewed != step:
            _preview(model, batch, run_dir, step)  # stopped by --minutes, or between previews
    if started_group:
        # Close the group we opened: a gloo group left to the interpreter's exit can abort the
        # process ("terminate called without an active exception") after training succeeded.
        import torch.distributed as dist

        dist.barrier()
        dist.destroy_process_group()
    seconds = time.perf_counter() - t0
    return TrainResult(start, step, seconds, seen / max(seconds, 1e-9), last)


def _budget_total(opts: TrainOptions, start: int, step: int, elapsed: float) -> int:
    """The step a ``--minutes`` run will stop at, from its speed so far (at most ``steps``)."""
    assert opts.minutes
    per_s = (step - start) / elapsed
    left = max(0.0, opts.minutes * 60 - elapsed)
    return min(opts.steps, step + max(1, round(per_s * left)))


def count_examples(batch: dict[str, torch.Tensor]) -> int:
    """Faces per step: the batch sizes of every ``*_target`` (or the first tensor)."""
    n = sum(v.shape[0] for k, v in batch.items() if k.endswith("_target"))
    return n or next(iter(batch.values())).shape[0]


def _log(fh: TextIO, writer: Writer | None, step: int, rate: float,
         losses: dict[str, float]) -> Writer:
    if writer is None:
        writer = csv.writer(fh)
        if fh.tell() == 0:
            writer.writerow(["step", "time", "examples_per_s", *sorted(losses)])
    writer.writerow([step, f"{time.time():.1f}", f"{rate:.2f}",
                     *(f"{losses[k]:.6f}" for k in sorted(losses))])
    fh.flush()
    return writer


def _trim_log(path: Path, step: int) -> None:
    """Drop log rows after ``step`` (and a line cut by a kill) so a resumed run's log reads
    as one run."""
    if not path.exists():
        return
    lines = path.read_text("utf-8").splitlines(keepends=True)
    keep = lines[:1]
    for ln in lines[1:]:
        head = ln.split(",", 1)[0]
        if ln.endswith("\n") and head.isdigit() and int(head) <= step:
            keep.append(ln)
    atomic_write_text(path, "".join(keep))


def _preview(model: TrainableModel, batch: dict[str, torch.Tensor], run_dir: Path,
             step: int) -> None:
    import cv2

    model.eval()
    with torch.no_grad():
        shown = model.preview(batch)
    if shown is None:
        return
    grid = shown.float().clamp(0, 1)
    img = (grid.permute(1, 2, 0).cpu().numpy() * 255).round().astype(np.uint8)
    for name in (f"step_{step:07d}.png", "latest.png"):
        with atomic_path(run_dir / "samples" / name) as tmp:
            if not cv2.imwrite(str(tmp), cv2.cvtColor(img, cv2.COLOR_RGB2BGR)):
                raise TwofaceError(run_dir / "samples" / name, "could not write the preview")
