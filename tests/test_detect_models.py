"""Detector models (every registered name), calibration, fusion and self-blended images."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

from twoface.errors import TwofaceError
from twoface.models.detectors.base import fit_logistic, fit_platt
from twoface.models.registry import create, from_pretrained, names, save_pretrained

torch.set_num_threads(1)
SMALL = {"cnn": {"widths": [8, 16], "blocks": 1, "size": 32},
         "selfblend": {"widths": [8, 16], "blocks": 1, "size": 32},
         "cnn_tiny": {"size": 32}, "selfblend_tiny": {"size": 32},
         "cnn_dlib": {"size": 32, "backbone_levels": 1},
         "selfblend_dlib": {"size": 32, "backbone_levels": 1},
         "spectral": {"size": 32, "bins": 8, "hidden": 8},
         "fusion": {"members": {"a": {"name": "cnn_tiny", "config": {"size": 32}},
                                "b": {"name": "spectral", "config": {"size": 32, "bins": 8}}}}}


@pytest.mark.parametrize("name", names("detector"))
def test_every_detector_trains_predicts_and_round_trips(name: str, tmp_path) -> None:
    if name.endswith("_dlib") and importlib.util.find_spec("face_recognition_models") is None:
        pytest.skip("face_recognition_models (dlib's weights) not installed")
    torch.manual_seed(0)
    model = create("detector", name, **SMALL[name])
    faces = torch.rand(6, 3, 48, 48)  # any crop size: models resize to their own
    labels = torch.tensor([0, 1, 0, 1, 0, 1])
    losses = model.training_step({"faces": faces, "labels": labels})
    assert set(losses) >= {"loss"} and losses["loss"].dim() == 0
    losses["loss"].backward()
    assert any(p.grad is not None for p in model.parameters())
    p = model.predict(faces)
    assert p.shape == (6,) and bool(((p >= 0) & (p <= 1)).all())
    save_pretrained(model, tmp_path / "m")
    again = from_pretrained(tmp_path / "m", "detector")
    torch.testing.assert_close(again.predict(faces), p)


def test_cnn_learns_a_simple_cue() -> None:
    """Fakes carry a faint high-frequency checkerboard: a few steps must separate them."""
    torch.manual_seed(0)
    model = create("detector", "cnn_tiny", size=32)
    opt = torch.optim.Adam(model.parameters(), 3e-3)
    checker = (torch.arange(32)[:, None] + torch.arange(32)[None]) % 2 * 0.15
    for _ in range(60):
        x = torch.rand(16, 3, 32, 32) * 0.5 + 0.2
        y = torch.tensor([0, 1] * 8)
        x[y == 1] += checker
        loss = model.training_step({"faces": x, "labels": y})["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    x = torch.rand(20, 3, 32, 32) * 0.5 + 0.2
    y = torch.tensor([0, 1] * 10)
    x[y == 1] += checker
    p = model.predict(x)
    assert float(p[y == 1].min()) > float(p[y == 0].max())


def test_spectral_features_see_upsampling() -> None:
    """A 2× nearest-upsampled noise image has a collapsed top-frequency ring."""
    from twoface.models.detectors.spectral import SpectralConfig, SpectralDetector

    m = SpectralDetector(SpectralConfig(size=64, bins=16))
    noise = torch.rand(1, 3, 64, 64)
    up = torch.nn.functional.interpolate(torch.rand(1, 3, 32, 32), scale_factor=2)
    f_noise, f_up = m.features(noise)[0], m.features(up)[0]
    assert f_up[10] < f_noise[10] - 1.0  # ring 10 of 16: beyond the half-band


def test_platt_and_logistic_fit_known_parameters() -> None:
    rng = np.random.default_rng(0)
    z = rng.normal(0, 2, 20000)
    y = (rng.random(20000) < 1 / (1 + np.exp(-(0.5 * z - 1.0)))).astype(int)
    a, b = fit_platt(z, y)
    assert a == pytest.approx(0.5, abs=0.05) and b == pytest.approx(-1.0, abs=0.08)
    w, _c = fit_logistic(np.stack([z, rng.normal(size=20000)], 1), y)
    assert abs(w[1]) < 0.05  # a useless feature gets ~0 weight


def test_fusion_stacking_prefers_the_informative_member() -> None:
    fusion = create("detector", "fusion", **SMALL["fusion"])
    rng = np.random.default_rng(1)
    y = np.repeat([0, 1], 200)
    raw = np.stack([y * 3.0 + rng.normal(0, 1, 400), rng.normal(0, 1, 400)], 1)
    fitted = fusion.fit_stack(raw, y)
    assert fitted["effective"]["a"] > 20 * abs(fitted["effective"]["b"])
    p = torch.sigmoid(fusion.combine(torch.tensor(raw, dtype=torch.float32))).detach().numpy()
    # Calibrated: the mean predicted probability matches the base rate.
    assert abs(p.mean() - 0.5) < 0.02


def test_bad_configs_are_one_line_errors() -> None:
    with pytest.raises(TwofaceError, match="size"):
        create("detector", "cnn", size=30)
    with pytest.raises(TwofaceError, match="unknown"):
        create("detector", "nope")
    with pytest.raises(TwofaceError, match="fusion"):
        create("detector", "fusion", members={"x": {"name": "fusion"}})


# ------------------------------------------------------------------ self-blended images
@pytest.fixture(scope="module")
def aligned(synthetic_face):
    from twoface.faces.align import align_face, transform_points

    a = align_face(synthetic_face.image, synthetic_face.landmarks, 128)
    return a.image, transform_points(synthetic_face.landmarks, a.matrix)


def test_self_blend_changes_only_inside_its_mask(aligned) -> None:
    from twoface.data.selfblend import self_blend

    image, marks = aligned
    for seed in range(8):
        fake, mask = self_blend(image, marks, np.random.default_rng(seed))
        assert fake.shape == image.shape and fake.dtype == np.uint8
        assert mask.min() >= 0 and mask.max() <= 1 and mask.max() > 0.3
        np.testing.assert_array_equal(fake[mask == 0], image[mask == 0])
        inside = mask > 0.5
        assert np.abs(fake[inside].astype(int) - image[inside]).mean() > 1.0
        # The mask sits on the face: the image centre in, the corners out.
        assert mask[64, 64] > 0 and mask[0, 0] == 0 and mask[-1, -1] == 0


def test_self_blend_is_deterministic_in_the_seed(aligned) -> None:
    from twoface.data.selfblend import self_blend, self_blend_batch

    image, marks = aligned
    a, ma = self_blend(image, marks, np.random.default_rng(5))
    b, mb = self_blend(image, marks, np.random.default_rng(5))
    c, _ = self_blend(image, marks, np.random.default_rng(6))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ma, mb)
    assert not np.array_equal(a, c)
    batch, masks = self_blend_batch(np.stack([image, image]), np.stack([marks, marks]),
                                    np.random.default_rng(0))
    assert batch.shape == (2, 128, 128, 3) and masks.shape == (2, 128, 128)
    with pytest.raises(ValueError):
        self_blend(image, marks[:5], np.random.default_rng(0))


def test_self_blend_frequency_range_widens_to_low_resolution_blur(aligned) -> None:
    from twoface.data.selfblend import jitter_source

    image, _ = aligned

    def sharpness(x: np.ndarray) -> float:
        return float(np.abs(np.diff(x.mean(axis=2), axis=1)).mean())

    # The defaults are the historical recipe; a wider range draws from the same random
    # stream but can blur and downsample much harder (a 64 px decoder inside a large face).
    a = jitter_source(image, np.random.default_rng(3))
    b = jitter_source(image, np.random.default_rng(3), min_scale=0.5, max_blur=1.2)
    np.testing.assert_array_equal(a, b)
    soft = [sharpness(jitter_source(image, np.random.default_rng(s))) for s in range(40)]
    wide = [sharpness(jitter_source(image, np.random.default_rng(s), min_scale=0.2,
                                    max_blur=3.0)) for s in range(40)]
    assert min(wide) < 0.8 * min(soft)


def test_augment_face_moves_the_landmarks_with_the_face(aligned) -> None:
    import cv2

    from twoface.data.selfblend import augment_face, jpeg

    image, marks = aligned
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)

    def corr(a: np.ndarray, b: np.ndarray) -> float:
        c = slice(24, 104)  # the face, away from the reflected borders
        return float(np.corrcoef(a[c, c].ravel(), b[c, c].ravel())[0, 1])

    for seed in range(6):
        out, moved = augment_face(image, marks, np.random.default_rng(seed))
        assert out.shape == image.shape and out.dtype == np.uint8
        assert moved.shape == (68, 2) and not np.allclose(moved, marks)
        # The warp that takes the old landmarks to the new ones also takes the old image to
        # the new one (up to exposure and resolution): the landmarks followed the face.
        m, _ = cv2.estimateAffine2D(marks, moved)
        warped = cv2.warpAffine(grey, m, (128, 128), borderMode=cv2.BORDER_REFLECT101)
        new = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY).astype(np.float32)
        assert corr(warped, new) > 0.95 and corr(warped, new) > corr(grey, new) + 0.01
    q = jpeg(image, np.random.default_rng(0), chance=1.0, quality=(30, 31))
    assert q.shape == image.shape and 0 < np.abs(q.astype(int) - image).mean() < 10
    np.testing.assert_array_equal(jpeg(image, np.random.default_rng(0), chance=0.0), image)


def test_misshape_moves_features_by_a_bounded_amount() -> None:
    from twoface.data.selfblend import misshape

    # A horizontal ramp: a pixel's value is its column, so a value change is the x shift.
    ramp = np.tile(np.arange(128, dtype=np.float32), (128, 1))[:, :, None].repeat(3, axis=2)
    inner = slice(16, 112)
    for seed in range(6):
        out = misshape(ramp, np.random.default_rng(seed), most=0.03)
        shift = np.abs(out - ramp)[inner, inner]
        assert shift.max() <= 0.03 * 128 + 1e-3  # never more than the largest displacement
        assert shift.max() >= 0.25 * 0.03 * 128 * 0.5  # and clearly something moved
    np.testing.assert_array_equal(misshape(ramp, np.random.default_rng(3)),
                                  misshape(ramp, np.random.default_rng(3)))


def test_rerenderer_trains_and_round_trips(tmp_path) -> None:

    assert names("rerender") == ["ae"]
    torch.manual_seed(0)
    net = create("rerender", "ae", size=16, widths=[4, 8, 8], latent=2)
    x = torch.rand(3, 3, 16, 16)
    with torch.no_grad():
        y = net(x)
    assert y.shape == x.shape and float(y.min()) >= 0 and float(y.max()) <= 1
    losses = net.training_step({"faces": x})
    losses["loss"].backward()
    assert losses["loss"].dim() == 0 and all(p.grad is not None for p in net.parameters())
    assert net.preview({"faces": x}).shape == (3, 32, 48)
    save_pretrained(net.eval(), tmp_path / "r")
    torch.testing.assert_close(from_pretrained(tmp_path / "r", "rerender").eval()(x),
                               net(x))
    with pytest.raises(TwofaceError, match="multiple of 8"):
        create("rerender", "ae", size=20)
    with pytest.raises(TwofaceError, match="rerender is a chance"):
        create("detector", "selfblend", rerender=1.5)
    with pytest.raises(TwofaceError, match="rerender_steps must be at least 1"):
        create("detector", "selfblend", rerender_steps=0)


def test_rerender_blend_and_soften(aligned) -> None:
    from twoface.data.selfblend import rerender_blend, soften

    face, marks = aligned
    source = np.full(face.shape, 100.0, np.float32)
    whole = rerender_blend(face, marks, source, np.random.default_rng(1), whole=1.0)
    assert whole.dtype == np.uint8 and (whole == 100).all()  # the re-rendering, entire
    for seed in range(6):  # masked: the face centre replaced, the corners kept exactly
        part = rerender_blend(face, marks, source, np.random.default_rng(seed), whole=0.0)
        assert (part[64, 64] != face[64, 64]).any() or (face[64, 64] == 100).all()
        assert abs(float(part[56:72, 56:72].mean()) - 100) < abs(
            float(face[56:72, 56:72].mean()) - 100)
        np.testing.assert_array_equal(part[:4, :4], face[:4, :4])
    rng = np.random.default_rng(0)
    face = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)  # all detail
    soft = soften(face, np.random.default_rng(2))
    assert soft.shape == face.shape and soft.dtype == np.uint8
    # Through a third of the size and back: most of the pixel-to-pixel detail is gone.
    assert np.abs(np.diff(soft.astype(float), axis=1)).mean() < 0.5 * np.abs(
        np.diff(face.astype(float), axis=1)).mean()
