"""The identity and face-feature losses through dlib's embedder (``twoface.nn.losses``) and
the fixed frame change from twoface's aligned crops to dlib's chip that they rest on."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

pytestmark = pytest.mark.skipif(importlib.util.find_spec("face_recognition_models") is None,
                                reason="face_recognition_models (dlib's weights) not installed")


@pytest.fixture(scope="module")
def embedder():
    from twoface.faces.nets import load_embedder

    return load_embedder()


def _crop(seed: int, yaw: float, size: int = 128, coverage: float = 0.75) -> torch.Tensor:
    from twoface.faces.align import align_face
    from twoface.synth import Identity, render
    from twoface.types import Pose

    r = render(Identity.random(seed), Pose(yaw, -2.0, 1.0), size=256, seed=seed)
    crop = align_face(r.image, r.landmarks, size, coverage).image
    return torch.from_numpy(crop).permute(2, 0, 1)[None].float() / 255


def test_crop_chips_embed_like_dlibs_chips(embedder, models, synthetic_face) -> None:
    """The chip drawn from an aligned crop sits where dlib's own chip does: its embedding
    is far closer to dlib's than another person's is."""
    from twoface.faces.align import align_face
    from twoface.faces.nets import embed_chips
    from twoface.faces.nets.chips import crops_to_chips

    img, marks = synthetic_face.image, synthetic_face.landmarks
    det = models.dlib.full_object_detection(
        models.dlib.rectangle(*(int(v) for v in (*marks.min(0), *marks.max(0)))),
        [models.dlib.point(round(x), round(y)) for x, y in marks])
    ref = embed_chips(models.dlib.get_face_chip(img, det, 150, 0.25)[None], embedder=embedder)[0]
    crop = align_face(img, marks, 128, 0.75).image
    x = torch.from_numpy(crop).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        ours = embedder(embedder.normalize(crops_to_chips(x, 0.75)))[0].numpy()
        other = embedder(embedder.normalize(crops_to_chips(_crop(77, 0.0), 0.75)))[0].numpy()
    assert np.linalg.norm(ours - ref) < 0.25 < np.linalg.norm(other - ref)


def test_identity_loss_knows_people_and_has_gradients(embedder) -> None:
    from twoface.nn.losses import face_embeddings, identity_loss

    a_front, a_turned, b = _crop(11, -5.0), _crop(11, 12.0), _crop(12, 0.0)
    with torch.no_grad():
        target_a, _ = face_embeddings(embedder, a_front, 0.75)
    x = a_turned.clone().requires_grad_(True)
    same = identity_loss(embedder, x, target_a, 0.75)
    same.backward()
    other = identity_loss(embedder, b, target_a, 0.75)
    assert float(same.detach()) < float(other)
    assert x.grad is not None and float(x.grad.abs().sum()) > 0
    assert all(p.grad is None for p in embedder.parameters())  # the network stays frozen


def test_face_feature_loss_is_zero_on_itself_and_grows_with_blur(embedder) -> None:
    import torch.nn.functional as F

    from twoface.nn.losses import face_feature_loss

    x = _crop(13, 4.0)
    soft = F.avg_pool2d(F.pad(x, (2, 2, 2, 2), mode="replicate"), 5, 1)
    assert float(face_feature_loss(embedder, x, x, 0.75)) < 1e-6
    mild = F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, 1)
    assert 0 < float(face_feature_loss(embedder, mild, x, 0.75)) < float(
        face_feature_loss(embedder, soft, x, 0.75))


# ------------------------------------------- the losses switched on in the swap and motion models
def _saved_keys(model, folder) -> list[str]:
    from safetensors import safe_open

    from twoface.models import save_pretrained

    save_pretrained(model, folder)
    with safe_open(str(folder / "model.safetensors"), "pt") as f:
        return list(f.keys())


def test_swap_model_trains_with_identity_and_face_feature_losses(tmp_path) -> None:
    from test_model_contract import _swap_batch
    from twoface.models import create

    torch.manual_seed(0)
    model = create("swap", "light", size=64, enc_channels=8, max_channels=16, latent=16,
                   dec_channels=16, identity=0.5, face_features=0.5)
    model.train()
    losses = model.training_step(_swap_batch())
    for key in ("id_ab", "id_ba", "feat_a", "feat_b"):
        assert losses[key].dim() == 0 and bool(torch.isfinite(losses[key])), key
    losses["loss"].backward()
    assert any(p.grad is not None for p in model.decoder_b.parameters())
    assert all(p.grad is None for p in model._face_net.parameters())
    keys = _saved_keys(model, tmp_path / "swap")
    assert keys and not any("stem_conv" in k for k in keys)


def test_motion_model_trains_with_identity_and_face_feature_losses(tmp_path) -> None:
    from test_model_contract import RECIPES, _motion_batch
    from twoface.models import create

    torch.manual_seed(0)
    model = create("motion", "small", **RECIPES["motion"][0], identity=0.5, face_features=0.5)
    model.train()
    losses = model.training_step(_motion_batch())
    for key in ("id", "feat"):
        assert losses[key].dim() == 0 and bool(torch.isfinite(losses[key])), key
    losses["loss"].backward()
    assert any(p.grad is not None for p in model.generator.parameters())
    keys = _saved_keys(model, tmp_path / "motion")
    assert keys and not any("stem_conv" in k for k in keys)
