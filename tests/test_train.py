"""The generic training loop: checkpoints, exact resume, Ctrl-C, kill -9, refusals."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from twoface.errors import TwofaceError
from twoface.models import create, from_pretrained
from twoface.train.checkpoint import checkpoint_step
from twoface.train.loop import TrainOptions, _budget_total, fit

TINY = {"size": 64, "enc_channels": 8, "max_channels": 16, "latent": 16, "dec_channels": 16,
        "disc_channels": 8}


def tiny_batches(batch: int = 2, seed: int = 0):  # type: ignore[no-untyped-def]
    """Batches from random face stacks: the loop does not care what the faces look like."""
    from twoface.data.swap_batches import SwapBatches

    gen = torch.Generator().manual_seed(seed)
    a = torch.randint(0, 256, (6, 5, 64, 64), generator=gen, dtype=torch.uint8)
    b = torch.randint(0, 256, (6, 5, 64, 64), generator=gen, dtype=torch.uint8)
    return SwapBatches(a, b, batch, seed=seed)


def opts(steps: int, **kw: object) -> TrainOptions:
    return TrainOptions(steps=steps, save_every=kw.pop("save_every", 2), preview_every=0,
                        log_every=1, progress=False, **kw)  # type: ignore[arg-type]


def run(folder: Path, steps: int, *, resume: bool = False, gan: bool = True) -> torch.nn.Module:
    torch.manual_seed(0)
    model = create("swap", "light", **TINY, gan=gan)
    fit(model, tiny_batches().batch, folder, opts(steps, resume=resume))
    return model


def test_resume_is_exact(tmp_path: Path) -> None:
    straight = run(tmp_path / "straight", 5)
    run(tmp_path / "split", 2)
    resumed = run(tmp_path / "split", 5, resume=True)
    for (k, v), w in zip(straight.state_dict().items(), resumed.state_dict().values(),
                         strict=True):
        assert torch.equal(v, w), k
    log = (tmp_path / "split" / "log.csv").read_text().splitlines()
    assert [int(r.split(",")[0]) for r in log[1:]] == [1, 2, 3, 4, 5]
    assert (tmp_path / "split" / "samples").exists() is False  # preview_every=0


def test_minutes_stops_and_saves(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = create("swap", "light", **TINY, gan=False)
    result = fit(model, tiny_batches().batch, tmp_path / "m", opts(1000, minutes=1e-6))
    assert result.step == 1 and checkpoint_step(tmp_path / "m") == 1


def test_a_preview_is_written_whenever_training_stops(tmp_path: Path) -> None:
    """End, --minutes and Ctrl-C each leave a preview of the step reached."""
    def options(**kw: object) -> TrainOptions:
        return TrainOptions(save_every=1000, preview_every=1000, log_every=1, progress=False,
                            **kw)  # type: ignore[arg-type]

    torch.manual_seed(0)
    fit(create("swap", "light", **TINY, gan=False), tiny_batches().batch, tmp_path / "end",
        options(steps=3))
    fit(create("swap", "light", **TINY, gan=False), tiny_batches().batch, tmp_path / "budget",
        options(steps=1000, minutes=1e-6))
    data = tiny_batches()

    def batches(step: int) -> dict[str, torch.Tensor]:
        if step == 2:
            raise KeyboardInterrupt
        return data.batch(step)

    with pytest.raises(KeyboardInterrupt):
        fit(create("swap", "light", **TINY, gan=False), batches, tmp_path / "ctrl_c",
            options(steps=10))
    for run_name, step in (("end", 3), ("budget", 1), ("ctrl_c", 2)):
        samples = tmp_path / run_name / "samples"
        assert (samples / f"step_{step:07d}.png").is_file(), run_name
        assert (samples / "latest.png").is_file(), run_name


def test_progress_total_follows_the_time_budget() -> None:
    budget = TrainOptions(steps=100_000, minutes=1.0)
    # 10 steps in 1 s: the remaining 59 s reach step 600, long before step 100,000.
    assert _budget_total(budget, 0, 10, 1.0) == 600
    assert _budget_total(budget, 100, 110, 2.0) == 110 + 290  # a resumed run counts its own
    assert _budget_total(TrainOptions(steps=50, minutes=10.0), 0, 10, 1.0) == 50
    assert _budget_total(budget, 0, 10, 61.0) == 11  # over time: the next step ends it


def test_refuses_to_overwrite_and_keyboard_interrupt_saves(tmp_path: Path) -> None:
    run(tmp_path / "m", 2, gan=False)
    before = (tmp_path / "m" / "model.safetensors").read_bytes()
    with pytest.raises(TwofaceError, match="--resume"):
        run(tmp_path / "m", 4, gan=False)
    assert (tmp_path / "m" / "model.safetensors").read_bytes() == before
    data = tiny_batches()

    def batches(step: int) -> dict[str, torch.Tensor]:
        if step == 3:
            raise KeyboardInterrupt
        return data.batch(step)

    model = create("swap", "light", **TINY)
    with pytest.raises(KeyboardInterrupt):
        fit(model, batches, tmp_path / "m", opts(10, resume=True))
    assert checkpoint_step(tmp_path / "m") == 3


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path: Path) -> None:
    data = tiny_batches()

    def batches(step: int) -> dict[str, torch.Tensor]:
        batch = data.batch(step)
        if step == 3:
            batch["a_in"] = batch["a_in"] * float("nan")
        return batch

    with pytest.raises(TwofaceError, match="loss became"):
        fit(create("swap", "light", **TINY), batches, tmp_path / "m", opts(10))
    assert checkpoint_step(tmp_path / "m") == 2
    model = from_pretrained(tmp_path / "m", "swap")
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_gan_state_is_required_to_resume_with_gan(tmp_path: Path) -> None:
    run(tmp_path / "m", 1, gan=False)
    with pytest.raises(TwofaceError, match=r"missing .* critic"):
        run(tmp_path / "m", 2, resume=True, gan=True)


KILL_SCRIPT = """
import sys, torch
sys.path.insert(0, {tests!r})
from test_train import TINY, tiny_batches, opts
from twoface.models import create
from twoface.train.loop import fit
torch.manual_seed(0)
fit(create("swap", "light", **TINY), tiny_batches().batch, {folder!r},
    opts(100000, save_every=1, resume=True))
"""


def test_kill_9_then_resume(tmp_path: Path) -> None:
    folder = tmp_path / "killed"
    script = KILL_SCRIPT.format(tests=str(Path(__file__).parent), folder=str(folder))
    proc = subprocess.Popen([sys.executable, "-c", script], env={**os.environ,
                            "OMP_NUM_THREADS": "1"})
    try:
        deadline = time.time() + 60
        while not (folder / "state.safetensors").exists() and time.time() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, "training died on its own"
        time.sleep(random.uniform(0.05, 1.0))  # land somewhere inside a step or a save
        proc.kill()  # SIGKILL: no handler runs
    finally:
        proc.wait()
    step = checkpoint_step(folder)
    assert step is not None and step >= 1
    from_pretrained(folder, "swap")  # the weights file is whole too
    model = create("swap", "light", **TINY)
    result = fit(model, tiny_batches().batch, folder, opts(step + 2, resume=True))
    assert (result.start_step, result.step) == (step, step + 2)
    assert not list(folder.glob(".*.tmp*"))  # leftovers of the killed write are cleared


DDP_SCRIPT = """
import os, sys, torch
sys.path.insert(0, {tests!r})
from test_train import TINY, tiny_batches, opts
from twoface.data.swap_batches import SwapBatches
from twoface.models import create
from twoface.train.loop import fit
rank = int(os.environ["RANK"])
torch.manual_seed(rank)  # different initial weights: fit must broadcast rank 0's
data = tiny_batches()
data.rank = rank  # and different batches per process
model = create("swap", "light", **TINY)
fit(model, data.batch, {folder!r}, opts(3))
total = sum(float(p.double().sum()) for p in model.parameters())
open({folder!r} + f"/rank{{rank}}.txt", "w").write(repr(total))
"""


@pytest.mark.slow
def test_torchrun_two_gloo_processes_stay_in_sync(tmp_path: Path) -> None:
    script = tmp_path / "ddp.py"
    folder = tmp_path / "ddp"
    script.write_text(DDP_SCRIPT.format(tests=str(Path(__file__).parent), folder=str(folder)))
    torchrun = Path(sys.executable).with_name("torchrun")
    with socket.socket() as sock:  # a free port, so parallel or repeated runs never collide
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    subprocess.run([str(torchrun), "--nproc_per_node=2", f"--master_port={port}", str(script)],
                   check=True, capture_output=True, timeout=120)
    assert (folder / "rank0.txt").read_text() == (folder / "rank1.txt").read_text()
    assert checkpoint_step(folder) == 3


def test_gradient_all_reduce_with_one_gloo_process() -> None:
    import torch.distributed as dist

    from twoface.train.loop import _all_reduce_grads

    dist.init_process_group("gloo", init_method="tcp://127.0.0.1:29533", rank=0, world_size=1)
    try:
        p = torch.nn.Parameter(torch.ones(3))
        p.grad = torch.tensor([1.0, 2.0, 3.0])
        _all_reduce_grads([p], 1)
        assert torch.equal(p.grad, torch.tensor([1.0, 2.0, 3.0]))
    finally:
        dist.destroy_process_group()


def test_models_and_train_import_without_dlib_and_av() -> None:
    # What a bare GPU image lacks: dlib, PyAV and platformdirs (the swap model looks for its
    # optional VGG weights through it; a missing platformdirs once stopped a GPU run there).
    code = ("import sys\n"
            "for m in ('dlib', 'av', 'platformdirs'): sys.modules[m] = None\n"
            "import twoface.models, twoface.train.loop, twoface.train.swap\n"
            "import twoface.data.swap_batches, twoface.nn.perceptual\n"
            "twoface.models.create('swap', 'light', size=64, gan=True)\n"
            "twoface.models.create('motion', 'small', size=64)\n"
            "assert 'dlib' not in [m for m in sys.modules if sys.modules[m] is not None]")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_ssim_is_computed_in_float32_under_bf16_autocast() -> None:
    # Under autocast the blurs would run in bf16, where SSIM's variance terms cancel: the loss
    # went blind to detail and swap training on a GPU collapsed to flat faces.
    from twoface.nn.losses import ssim

    gen = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 64, 64, generator=gen) * 0.3 + 0.5
    y = (x + 0.02 * torch.randn(x.shape, generator=gen)).clamp(0, 1)
    exact = ssim(x, y).item()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert abs(ssim(x, y).item() - exact) < 1e-5


def test_swap_ema_is_trained_saved_and_used_for_conversion(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = create("swap", "light", **TINY, gan=False, ema_decay=0.9)
    assert model.ema is not None
    init = {k: v.clone() for k, v in model.ema.state_dict().items()}
    trained = {id(p) for p in model.optim_groups()["loss"][0]}
    assert not any(id(p) in trained for p in model.ema.parameters())  # never stepped by Adam
    fit(model, tiny_batches().batch, tmp_path / "m", opts(4))
    live = model.encoder.state_dict()
    avg = model.ema["encoder"].state_dict()
    moved = [k for k, v in avg.items() if v.is_floating_point() and not torch.equal(v, init[
        f"encoder.{k}"])]
    assert moved, "the average did not move"
    assert any(not torch.equal(avg[k], live[k]) for k in moved), "the average is the live copy"
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        model.eval()
        assert torch.equal(model.encode(x), model.ema["encoder"](x))
        converted = model(x, "b")[0]
        model.train()
        assert torch.equal(model.encode(x), model.encoder(x))
    loaded = from_pretrained(tmp_path / "m", "swap").eval()
    with torch.no_grad():
        assert torch.equal(loaded(x, "b")[0], converted)
    assert not any(k.startswith("ema.") for k in
                   create("swap", "light", **TINY).state_dict())  # off by default


def test_cosine_schedule_warms_up_then_decays_to_the_floor_by_steps_or_clock() -> None:
    from twoface.train.loop import lr_factor

    o = TrainOptions(steps=100, schedule="cosine", warmup=10, lr_floor=0.1)
    assert lr_factor(o, 0, 0.0) == pytest.approx(0.1)  # first warm-up step
    assert 0.95 < lr_factor(o, 9, 0.0) < 1.0  # warmed up; the cosine has barely begun
    assert lr_factor(o, 50, 0.0) == pytest.approx(0.55)  # half way: half way to the floor
    assert lr_factor(o, 100, 0.0) == pytest.approx(0.1)
    timed = TrainOptions(steps=10**6, minutes=1.0, schedule="cosine")
    assert lr_factor(timed, 5, 30.0) == pytest.approx(0.55)  # half the minute spent
    assert lr_factor(timed, 5, 90.0) == pytest.approx(0.1)  # over budget: the floor
    assert lr_factor(TrainOptions(), 5, 0.0) == 1.0
    with pytest.raises(ValueError):
        lr_factor(TrainOptions(schedule="step"), 0, 0.0)


def test_the_loop_applies_the_schedule_to_every_optimizer(tmp_path: Path) -> None:
    seen: list[float] = []
    model = create("swap", "light", **TINY, gan=True, lr=1e-3)
    step_fn = model.training_step

    def spy(batch):  # type: ignore[no-untyped-def]
        seen.append(model._spy_opt.param_groups[0]["lr"])  # type: ignore[attr-defined]
        return step_fn(batch)

    import torch.optim

    real_adamw = torch.optim.AdamW
    made: list[torch.optim.Optimizer] = []

    def adamw(*a, **kw):  # type: ignore[no-untyped-def]
        made.append(real_adamw(*a, **kw))
        model.__dict__["_spy_opt"] = made[0]
        return made[-1]

    model.training_step = spy  # type: ignore[method-assign]
    torch.optim.AdamW = adamw  # type: ignore[misc]
    try:
        fit(model, tiny_batches().batch, tmp_path / "m",
            opts(6, schedule="cosine", warmup=2, lr_floor=0.2))
    finally:
        torch.optim.AdamW = real_adamw  # type: ignore[misc]
    assert len(made) == 2  # generator and critic
    assert seen[0] < seen[1] <= 1e-3 and seen[0] == pytest.approx(5e-4)  # warm-up: 1/2
    assert seen == sorted(seen[:2]) + sorted(seen[2:], reverse=True)  # up, then down
    assert made[1].param_groups[0]["lr"] == pytest.approx(made[0].param_groups[0]["lr"])
