"""GAN faces, the parts without dlib: models, DiffAugment, EMA, resume, the metric maths."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from twoface.data.gan_batches import GanBatches
from twoface.errors import TwofaceError
from twoface.evaluate.gan import frechet_distance, kid, nearest
from twoface.models import create, from_pretrained, names, save_pretrained
from twoface.nn.diffaug import OPS, cutout, diff_augment, translation
from twoface.train.loop import TrainOptions, fit

TINY = {"size": 32, "g_channels": 4, "d_channels": 4, "max_channels": 16, "z_dim": 16}


def faces(n: int = 24, size: int = 32, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, size, size), generator=gen, dtype=torch.uint8)


# ------------------------------------------------------------------------------ models
def test_registry_and_bad_configs() -> None:
    assert {"fastgan", "fastgan-small", "dcgan"} <= set(names("gan"))
    for bad, words in (({"size": 100}, "size must be one of"), ({"arch": "vae"}, "arch"),
                       ({"diffaug": "color,zoom"}, "zoom"), ({"g_norm": "layer"}, "g_norm"),
                       ({"latnet": 3}, "unexpected")):
        with pytest.raises(TwofaceError, match=words):
            create("gan", "fastgan-small", **bad)


@pytest.mark.parametrize("size", [32, 64, 128, 256])
@pytest.mark.parametrize("name", names("gan"))
def test_shapes_for_every_model_and_size(name: str, size: int) -> None:
    torch.manual_seed(0)
    model = create("gan", name, size=size).eval()
    with torch.no_grad():
        img = model(model.latents(2, 0))
        logits, _ = model.d(img)
    assert img.shape == (2, 3, size, size) and logits.shape == (2,)
    assert float(img.abs().max()) <= 1


@pytest.mark.parametrize("name", names("gan"))
def test_training_step_moves_both_players(name: str) -> None:
    torch.manual_seed(0)
    model = create("gan", name, **TINY)
    batch = GanBatches(faces(), 4).batch(0)
    losses = model.training_step(batch)
    assert all(torch.isfinite(v) for v in losses.values())
    assert list(model.optim_groups()) == ["loss", "loss_d"]  # G steps before D is touched
    losses["loss"].backward(retain_graph=True)
    assert all(p.grad is not None for p in model.g.parameters())
    model.zero_grad(set_to_none=True)
    losses["loss_d"].backward()
    assert all(p.grad is None for p in model.g.parameters())  # D's loss never moves G
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.d.parameters())
    assert ("r1" in losses) == (model.config.r1_gamma > 0)
    assert model.preview(batch).shape == (3, 4 * 32, 4 * 32)


@pytest.mark.parametrize("g_norm", ["batch", "pixel"])
def test_truncation_pulls_towards_the_average(g_norm: str) -> None:
    torch.manual_seed(0)
    model = create("gan", "fastgan-small", **TINY, g_norm=g_norm).eval()
    model.g_ema.w_avg.normal_()
    z = model.latents(8, 1)
    with torch.no_grad():
        zero = model(z, truncation=0.0)
        full, half = model(z, 1.0), model(z, 0.5)
    assert torch.allclose(zero, zero[:1].expand_as(zero), atol=1e-5)  # all the average face
    assert (half - zero).abs().mean() < (full - zero).abs().mean()


def test_dcgan_batch_norm_recalibration_matches_batch_statistics() -> None:
    from twoface.models.gan_dcgan import recalibrate_bn

    torch.manual_seed(0)
    model = create("gan", "dcgan", size=32)
    z = torch.randn(64, model.config.z_dim, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        live = model.g.train()(z)  # what training-mode sampling draws for this batch
        stale = model.g.eval()(z)  # init running statistics: far off
        recalibrate_bn(model.g, model.config.z_dim, samples=64, batch=64, seed=4)
        fixed = model.g(z)
    assert not model.g.training
    # Equal up to running_var's unbiased (n / (n − 1)) estimate.
    assert (fixed - live).abs().max() < 0.05 < (stale - live).abs().max()


def test_save_load_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = create("gan", "fastgan-small", **TINY).eval()
    save_pretrained(model, tmp_path)
    back = from_pretrained(tmp_path, "gan").eval()
    z = model.latents(3, 5)
    with torch.no_grad():
        assert torch.equal(model(z), back(z))


# --------------------------------------------------------------------------- DiffAugment
def test_diffaugment_is_differentiable_and_keeps_shape() -> None:
    torch.manual_seed(0)
    x = (torch.rand(4, 3, 16, 16) * 2 - 1).requires_grad_(True)
    y = diff_augment(x, ",".join(OPS))
    assert y.shape == x.shape
    y.square().sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    assert diff_augment(x, "") is x


def test_translation_and_cutout_move_and_blank_pixels() -> None:
    torch.manual_seed(1)
    x = torch.arange(1, 2 * 16 * 16 + 1, dtype=torch.float32).view(2, 1, 16, 16)
    x.requires_grad_(True)
    y = translation(x, 0.25)
    kept = y != 0
    # Every kept output pixel is some input pixel, unchanged; the gradient is 1 on those.
    assert torch.isin(y[kept], x.detach()).all()
    y.sum().backward()
    assert set(x.grad.unique().tolist()) <= {0.0, 1.0}
    holes = (cutout(torch.ones(64, 1, 16, 16), 0.5) == 0).flatten(1).sum(1)
    assert holes.max() <= 64 and (holes > 0).all()  # at most an 8×8 square, always some


# --------------------------------------------------------------------------------- EMA
def test_ema_changes_and_follows_the_weights() -> None:
    torch.manual_seed(0)
    model = create("gan", "fastgan-small", **TINY, ema_decay=0.9)
    before = [p.clone() for p in model.g_ema.parameters()]
    with torch.no_grad():
        for p in model.g.parameters():
            p.add_(1.0)
    model.after_step(1)  # ramped: decay (1+1)/(10+1)
    d = 2 / 11
    for b, e, g in zip(before, model.g_ema.parameters(), model.g.parameters(), strict=True):
        assert torch.allclose(e, d * b + (1 - d) * g, atol=1e-6)
    gap = [sum(float((e - g).detach().abs().sum()) for e, g in
               zip(model.g_ema.parameters(), model.g.parameters(), strict=True))]
    for step in range(2, 60):
        model.after_step(step)
        gap.append(sum(float((e - g).detach().abs().sum()) for e, g in
                       zip(model.g_ema.parameters(), model.g.parameters(), strict=True)))
    assert all(b <= a for a, b in itertools.pairwise(gap)) and gap[-1] < 1e-2 * gap[0]
    assert int(model.steps_done) == 59
    assert create("gan", "dcgan", size=32).g_ema is None  # the textbook baseline has none


# ------------------------------------------------------------------------------ resume
def _run(folder: Path, steps: int, resume: bool = False) -> torch.nn.Module:
    torch.manual_seed(0)
    model = create("gan", "fastgan-small", **TINY, r1_every=2)
    data = GanBatches(faces(), 4, seed=3)
    fit(model, data.batch, folder, TrainOptions(steps=steps, save_every=2, preview_every=0,
                                                log_every=1, progress=False, resume=resume))
    return model


def test_resume_continues_exactly(tmp_path: Path) -> None:
    straight = _run(tmp_path / "straight", 5)
    _run(tmp_path / "split", 3)
    resumed = _run(tmp_path / "split", 5, resume=True)
    for (k, v), w in zip(straight.state_dict().items(), resumed.state_dict().values(),
                         strict=True):
        assert torch.equal(v, w), k
    log = (tmp_path / "split" / "log.csv").read_text().splitlines()
    assert [int(r.split(",")[0]) for r in log[1:]] == [1, 2, 3, 4, 5]


def test_batches_are_a_function_of_the_step() -> None:
    data = GanBatches(faces(), 6, seed=1)
    a, b, c = data.batch(7)["real"], data.batch(7)["real"], data.batch(8)["real"]
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.shape == (6, 3, 32, 32) and float(a.min()) >= -1 and float(a.max()) <= 1


# ------------------------------------------------------------------------------ metrics
def _whitened(n: int, d: int, seed: int) -> np.ndarray:
    """Samples whose sample mean is exactly 0 and sample covariance exactly I."""
    x = np.random.default_rng(seed).normal(size=(n, d))
    x -= x.mean(0)
    w, v = np.linalg.eigh(np.cov(x, rowvar=False))
    return x @ v @ np.diag(w**-0.5) @ v.T


def test_frechet_distance_matches_the_closed_form() -> None:
    a = _whitened(400, 6, 0)
    assert abs(frechet_distance(a, a)) < 1e-8
    sa, sb = np.array([1.0, 2, 0.5, 1, 3, 1]), np.array([2.0, 1, 0.5, 1, 1, 0.2])
    ma, mb = np.arange(6.0), np.arange(6.0) + 0.5
    x, y = _whitened(400, 6, 1) * sa + ma, _whitened(500, 6, 2) * sb + mb
    # Diagonal covariances: |Δμ|² + Σ (σa − σb)².
    expect = float(((ma - mb) ** 2).sum() + ((sa - sb) ** 2).sum())
    assert frechet_distance(x, y) == pytest.approx(expect, rel=1e-8)
    # A pure shift of the same samples costs exactly |shift|².
    assert frechet_distance(x, x + 0.3) == pytest.approx(6 * 0.09, rel=1e-8)


def test_kid_is_unbiased() -> None:
    rng = np.random.default_rng(0)
    same = [kid(rng.normal(size=(300, 16)), rng.normal(size=(300, 16)), subsets=20,
                subset_size=200, seed=s)[0] for s in range(5)]
    assert abs(np.mean(same)) < 0.01
    shifted, _ = kid(rng.normal(size=(300, 16)), rng.normal(0.5, 1, size=(300, 16)),
                     subsets=20, subset_size=200)
    assert shifted > 10 * abs(np.mean(same)) and shifted > 0.05


def test_nearest_neighbours() -> None:
    bank = np.array([[0.0, 0], [1, 0], [0, 3]])
    dist, idx = nearest(np.array([[0.9, 0.1], [0, 2]]), bank)
    assert idx.tolist() == [1, 2] and dist == pytest.approx([0.1414214, 1.0], rel=1e-5)
    dist, idx = nearest(bank, bank, exclude_self=True)
    assert idx.tolist() == [1, 0, 0] and dist == pytest.approx([1, 1, 3])


def test_models_and_train_import_without_dlib_and_av() -> None:
    code = ("import sys; sys.modules['dlib'] = None; sys.modules['av'] = None\n"
            "import twoface.models.gan, twoface.train.gan, twoface.nn.diffaug\n"
            "import twoface.evaluate.gan, twoface.apply.generate")
    subprocess.run([sys.executable, "-c", code], check=True)
