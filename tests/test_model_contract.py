"""Every registered model keeps the contract the training loop relies on
(:class:`twoface.models.base.TrainableModel`), tested by name from the registry so that a new
model is covered without touching this file (a new *kind* needs a tiny recipe below)."""

from __future__ import annotations

import importlib.util
from dataclasses import is_dataclass
from pathlib import Path

import pytest
import torch

from twoface.models import TrainableModel, create, from_pretrained, kinds, names, save_pretrained
from twoface.nn.warp import random_warp_params


def _swap_batch() -> dict[str, torch.Tensor]:
    from twoface.data.swap_batches import SwapBatches

    gen = torch.Generator().manual_seed(0)
    a, b = (torch.randint(0, 256, (6, 5, 64, 64), generator=gen, dtype=torch.uint8)
            for _ in range(2))
    return SwapBatches(a, b, 2, seed=0).batch(0)


def _motion_batch() -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return {"source": torch.rand(2, 3, 64, 64, generator=gen),
            "driving": torch.rand(2, 3, 64, 64, generator=gen),
            **random_warp_params(2, gen, 0.05, 0.005)}


# kind → (a small config for any model of that kind, name-specific extras, a batch)
RECIPES = {
    "swap": ({"size": 64, "enc_channels": 8, "max_channels": 16, "latent": 16,
              "dec_channels": 16}, {}, _swap_batch),
    "gan": ({"size": 32, "g_channels": 4, "d_channels": 4, "max_channels": 16, "z_dim": 16},
            {}, lambda: {"real": torch.rand(4, 3, 32, 32) * 2 - 1}),
    "motion": ({"size": 64, "keypoints": 5, "motion_side": 32, "kp_width": 8, "kp_max": 32,
                "gen_width": 8, "gen_max": 32}, {}, _motion_batch),
    "rerender": ({"size": 16, "latent": 4}, {}, lambda: {"faces": torch.rand(4, 3, 16, 16)}),
    "detector": ({"size": 32},
                 {"cnn": {"widths": [8, 16], "blocks": 1},
                  "selfblend": {"widths": [8, 16], "blocks": 1},
                  "cnn_dlib": {"backbone_levels": 1},
                  "selfblend_dlib": {"backbone_levels": 1},
                  "spectral": {"bins": 8, "hidden": 8},
                  "fusion": {"size": 0, "members": {
                      "a": {"name": "cnn_tiny", "config": {"size": 32}},
                      "b": {"name": "spectral", "config": {"size": 32, "bins": 8}}}}},
                 lambda: {"faces": torch.rand(4, 3, 32, 32),
                          "labels": torch.tensor([0, 1, 0, 1])}),
}
EVERY_MODEL = [(kind, name) for kind in kinds() for name in names(kind)]
# Models built on dlib's weights (the face_recognition_models package) when they are created.
NEEDS_DLIB_WEIGHTS = {("detector", "cnn_dlib"), ("detector", "selfblend_dlib")}


def test_every_kind_has_a_recipe_here() -> None:
    assert set(kinds()) <= set(RECIPES), "add a tiny recipe for the new kind to RECIPES"


@pytest.mark.parametrize(("kind", "name"), EVERY_MODEL, ids=[f"{k}/{n}" for k, n in EVERY_MODEL])
def test_model_keeps_the_training_contract(kind: str, name: str, tmp_path: Path) -> None:
    if ((kind, name) in NEEDS_DLIB_WEIGHTS
            and importlib.util.find_spec("face_recognition_models") is None):
        pytest.skip("face_recognition_models (dlib's weights) not installed")
    small, extras, batch_of = RECIPES[kind]
    torch.manual_seed(0)
    model = create(kind, name, **{**small, **extras.get(name, {})})
    assert isinstance(model, TrainableModel)
    assert (model.kind, model.name) == (kind, name) and is_dataclass(model.config)
    groups = model.optim_groups()
    assert next(iter(groups)) == "loss" and all(lr > 0 for _, lr in groups.values())
    batch = batch_of()
    model.train()
    losses = model.training_step(batch)
    for key in groups:  # one scalar, finite loss per optimiser
        assert losses[key].dim() == 0 and bool(torch.isfinite(losses[key])), key
    losses["loss"].backward()
    params = [q for g in groups["loss"][0]
              for q in (g["params"] if isinstance(g, dict) else [g])]
    assert any(p.grad is not None for p in params)
    model.after_step(1)
    model.eval()
    with torch.no_grad():
        shown = model.preview(batch)
    assert shown is None or (shown.dim() == 3 and shown.shape[0] == 3)
    save_pretrained(model, tmp_path / "m")
    again = from_pretrained(tmp_path / "m", kind)
    assert type(again) is type(model) and again.config == model.config
    mine, theirs = model.state_dict(), again.state_dict()
    assert mine.keys() == theirs.keys()
    for key in mine:
        torch.testing.assert_close(theirs[key], mine[key])


def test_dlib_trunk_learns_slower_than_its_head() -> None:
    """At the head's rate dlib's trunk (fixed affine layers, no batch norm to re-centre)
    lost every ReLU within 30 steps; it gets lr × backbone_lr_scale."""
    if importlib.util.find_spec("face_recognition_models") is None:
        pytest.skip("face_recognition_models (dlib's weights) not installed")
    model = create("detector", "selfblend_dlib", size=64)
    [(groups, lr)] = model.optim_groups().values()
    trunk, rest = groups
    assert trunk["lr"] == pytest.approx(lr * model.config.backbone_lr_scale) and "lr" not in rest
    assert {id(p) for p in trunk["params"]} == {id(p) for p in model.trunk.parameters()}
    every = {id(p) for p in model.parameters()}
    assert {id(p) for p in trunk["params"]} | {id(p) for p in rest["params"]} == every
