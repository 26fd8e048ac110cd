"""The first-order motion model: shapes, warps, equivariance, learning, exact resume."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from twoface.data.clips import ClipBatches, stable_box
from twoface.errors import TwofaceError
from twoface.models import create, registry
from twoface.nn import warp
from twoface.train.loop import TrainOptions, fit
from twoface.train.motion import TINY

torch.set_num_threads(1)


def batches(seed: int = 0, batch: int = 2) -> ClipBatches:
    """Pairs from two clips of smooth random images (the loop does not care about faces)."""
    gen = torch.Generator().manual_seed(seed)
    clips = []
    for _ in range(2):
        low = torch.rand(6, 3, 8, 8, generator=gen)
        clips.append((torch.nn.functional.interpolate(low, size=64, mode="bilinear") * 255)
                     .to(torch.uint8))
    return ClipBatches(clips, batch, seed=seed)


def test_registry_lists_both_variants() -> None:
    assert registry.names("motion") == ["fomm", "small"]
    with pytest.raises(TwofaceError, match="size must be one of"):
        create("motion", "small", size=96)


@pytest.mark.parametrize("name", ["small", "fomm"])
def test_forward_shapes(name: str) -> None:
    torch.manual_seed(0)
    model = create("motion", name, **TINY).eval()
    src, drv = torch.rand(3, 3, 64, 64), torch.rand(3, 3, 64, 64)
    with torch.no_grad():
        out = model(src, drv)
    assert out["prediction"].shape == (3, 3, 64, 64)
    assert out["kp_driving"].shape == (3, 5, 2) and out["kp_driving"].abs().max() <= 1
    assert out["jac_driving"].shape == (3, 5, 2, 2)
    assert out["deformation"].shape == (3, 32, 32, 2)
    occ = out["occlusion"]
    assert occ.shape == (3, 1, 32, 32) and float(occ.min()) > 0 and float(occ.max()) < 1
    assert torch.allclose(out["mask"].sum(1), torch.ones(3, 32, 32), atol=1e-5)
    # One source broadcasts over a batch of driving keypoints (how animation calls it).
    kp_s, kp_d = model.keypoints(src[:1]), model.keypoints(drv)
    pred = model.animate(src[:1], model.encode(src[:1]), kp_s, kp_d)["prediction"]
    assert pred.shape == (3, 3, 64, 64)
    assert torch.allclose(pred[0], out["prediction"][0], atol=1e-5)


@pytest.mark.parametrize("size", [64, 128, 256])
def test_sizes_from_one_config(size: int) -> None:
    cfg = {**TINY, "size": size, "motion_side": 64}
    model = create("motion", "small", **cfg)
    assert model.config.size == size
    assert model(torch.rand(1, 3, size, size), torch.rand(1, 3, size, size))[
        "prediction"].shape == (1, 3, size, size)


def test_keypoints_start_rigid_and_follow_a_shift() -> None:
    torch.manual_seed(0)
    model = create("motion", "small", **TINY).eval()
    kp = model.keypoints(torch.rand(2, 3, 64, 64))
    # Jacobians start at the identity: every part moves rigidly until trained otherwise.
    assert torch.allclose(kp["jacobian"], torch.eye(2).expand(2, 5, 2, 2), atol=1e-5)


def test_warp_jacobian_matches_autograd_and_identity_is_identity() -> None:
    gen = torch.Generator().manual_seed(1)
    w = warp.random_warp_params(2, gen, 0.1, 0.01)
    pts = torch.rand(2, 4, 2) * 2 - 1
    exact = warp.warp_jacobian(w["warp_theta"], w["warp_tps"], pts)
    auto = torch.autograd.functional.jacobian(
        lambda q: warp.warp_points(w["warp_theta"], w["warp_tps"], q), pts)
    auto = torch.stack([torch.stack([auto[b, n, :, b, n, :] for n in range(4)])
                        for b in range(2)])
    assert torch.allclose(exact, auto, atol=1e-5)
    ident = warp.random_warp_params(2, gen, 0.0, 0.0)
    img = torch.rand(2, 3, 16, 16)
    assert torch.allclose(warp.warp_image(ident["warp_theta"], ident["warp_tps"], img), img,
                          atol=1e-5)


def test_equivariance_loss_is_zero_for_the_identity_warp() -> None:
    torch.manual_seed(0)
    model = create("motion", "small", **TINY).eval()
    x = torch.rand(2, 3, 64, 64)
    gen = torch.Generator().manual_seed(0)
    ident = warp.random_warp_params(2, gen, 0.0, 0.0)
    moving = warp.random_warp_params(2, gen, 0.1, 0.01)
    with torch.no_grad():
        kp = model.keypoints(x)
        same = model.equivariance_losses(x, kp, ident["warp_theta"], ident["warp_tps"])
        moved = model.equivariance_losses(x, kp, moving["warp_theta"], moving["warp_tps"])
    assert float(same[0]) < 1e-5 and float(same[1]) < 1e-5
    assert float(moved[0]) > 1e-3  # an untrained detector is not equivariant


def test_a_few_steps_lower_the_loss_on_a_fixed_batch() -> None:
    torch.manual_seed(0)
    model = create("motion", "small", **TINY)
    batch = batches().batch(0)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    first = None
    for _ in range(12):
        loss = model.training_step(batch)["loss"]
        first = float(loss.detach()) if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(model.training_step(batch)["loss"].detach()) < 0.8 * first


def test_batches_are_a_function_of_the_step() -> None:
    one, two = batches().batch(5), batches().batch(5)
    assert set(one) == {"source", "driving", "warp_theta", "warp_tps"}
    assert all(torch.equal(one[k], two[k]) for k in one)
    assert not torch.equal(one["source"], batches().batch(6)["source"])
    assert one["source"].shape == (2, 3, 64, 64) and float(one["source"].min()) >= 0


def _run(folder: Path, steps: int, resume: bool = False) -> torch.nn.Module:
    torch.manual_seed(0)
    model = create("motion", "small", **TINY, gan=True)
    fit(model, batches().batch, folder, TrainOptions(steps=steps, save_every=2, log_every=1,
                                                     preview_every=2, progress=False,
                                                     resume=resume))
    return model


def test_resume_continues_exactly(tmp_path: Path) -> None:
    straight = _run(tmp_path / "straight", 4)
    _run(tmp_path / "split", 2)
    resumed = _run(tmp_path / "split", 4, resume=True)
    for (k, v), w in zip(straight.state_dict().items(), resumed.state_dict().values(),
                         strict=True):
        assert torch.equal(v, w), k
    assert (tmp_path / "split" / "samples" / "latest.png").is_file()


def test_relative_transfer_keeps_the_source_at_the_reference_pose() -> None:
    from twoface.apply.animate import transfer

    gen = torch.Generator().manual_seed(0)
    kp_s = {"value": torch.rand(1, 5, 2, generator=gen),
            "jacobian": torch.eye(2) + 0.1 * torch.rand(1, 5, 2, 2, generator=gen)}
    kp_ref = {"value": torch.rand(1, 5, 2, generator=gen),
              "jacobian": torch.eye(2) + 0.1 * torch.rand(1, 5, 2, 2, generator=gen)}
    same = transfer(kp_s, kp_ref, kp_ref, relative=True)
    assert torch.allclose(same["value"], kp_s["value"])
    assert torch.allclose(same["jacobian"], kp_s["jacobian"], atol=1e-6)
    moved = {"value": kp_ref["value"] + 0.1, "jacobian": kp_ref["jacobian"]}
    assert torch.allclose(transfer(kp_s, moved, kp_ref)["value"], kp_s["value"] + 0.1)
    # adapt_scale: a source twice the driver's size moves twice as far.
    big = {"value": kp_ref["value"] * 2, "jacobian": kp_ref["jacobian"]}
    out = transfer(big, moved, kp_ref, adapt_scale=True)
    assert torch.allclose(out["value"], big["value"] + 0.2, atol=1e-5)
    assert transfer(kp_s, moved, kp_ref, relative=False) is moved


def test_stable_box_is_square_inside_the_frame_and_covers_the_faces() -> None:
    import numpy as np

    boxes = np.array([[100, 80, 180, 170], [110, 85, 190, 175], [95, 78, 175, 168]], float)
    x0, y0, side = stable_box(boxes, 640, 360)
    assert x0 >= 0 and y0 >= 0 and x0 + side <= 640 and y0 + side <= 360
    assert x0 <= boxes[:, 0].min() and x0 + side >= boxes[:, 2].max()
    # A face larger than the frame allows: the crop is the frame's short side, shifted in.
    x0, y0, side = stable_box(np.array([[10, 10, 300, 300]], float), 320, 320)
    assert (x0, y0, side) == (0, 0, 320)
