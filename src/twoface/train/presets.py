"""Training recipes with a time budget: ``twoface train swap|motion --preset cpu|gpu``.

A preset fixes what a user would otherwise have to find by trial: the model, its size, the
batch, the learning rate and its schedule, EMA weights for conversion, the extra losses, and
how long to train. It also states the quality it aims at, which :func:`goal_report` measures
when training stops, so the summary says how far the model still is from it.

The quality is measured on faces of both facesets drawn by the model (the faces it trained
on: a model that cannot draw those cannot draw new ones either): *identity distance* is
dlib's distance of each A→B swap to B's mean embedding (below 0.6 reads as the same person,
the lower the better), *margin* how much closer the swap is to B's mean than to A's (two
synthetic look-alikes can sit within 0.5 of each other, so distance alone would pass an
unchanged source), *sharpness* the gradient energy of the swap inside the face over that
of the source face at the model's size (1.0 = as sharp). ``twoface eval swap`` measures the
finished video against real people; these are the fast in-training proxies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

PresetName = Literal["cpu", "gpu"]


@dataclass(frozen=True)
class Goal:
    """The quality a preset aims at (see the module doc for the measures)."""

    identity_distance: float  # A→B swaps to B's mean dlib embedding, at most
    sharpness: float  # swap over source inside the face, at least
    margin: float = 0.1  # how much closer to B than to A the swaps must be, at least (an
    #                      unchanged source can sit within ``identity_distance`` of a look-alike)


@dataclass(frozen=True)
class SwapPreset:
    name: str
    about: str
    model: str
    size: int
    batch: int
    minutes: float
    overrides: dict[str, Any] = field(default_factory=dict)
    schedule: str = "cosine"
    warmup: int = 200
    goal: Goal = Goal(0.5, 0.7)


SWAP_PRESETS: dict[str, SwapPreset] = {
    "cpu": SwapPreset(
        name="cpu",
        about="the best swap in about an hour on 2 CPU cores: light model at 128 px (a 64 px "
              "face is soft by construction once pasted into a large face), EMA weights, "
              "cosine learning rate over the hour",
        model="light", size=128, batch=8, minutes=60.0,
        overrides={"lr": 3e-4, "ema_decay": 0.998}),
    "gpu": SwapPreset(
        name="gpu",
        about="about 10 minutes on one H100/H200: the full model at 128 px, batch 32, EMA "
              "weights, cosine learning rate, the identity loss through dlib's network",
        model="full", size=128, batch=32, minutes=10.0, warmup=300,
        overrides={"lr": 2e-4, "ema_decay": 0.999, "identity": 0.1}),
}


@dataclass(frozen=True)
class MotionPreset:
    """A motion-model recipe: the general model that ``reenact`` and the one-shot swap reuse
    for any face, trained once on many talking heads."""

    name: str
    about: str
    model: str
    size: int
    batch: int
    minutes: float
    overrides: dict[str, Any] = field(default_factory=dict)
    schedule: str = "cosine"
    warmup: int = 200


MOTION_PRESETS: dict[str, MotionPreset] = {
    "cpu": MotionPreset(
        name="cpu",
        about="about an hour on 2 CPU cores: the small model at 128 px (64 px faces are "
              "soft once pasted into a video), cosine learning rate, the identity loss "
              "through dlib's network so the animated face keeps who it is",
        model="small", size=128, batch=8, minutes=60.0,
        overrides={"lr": 2e-4, "identity": 0.1}),
    "gpu": MotionPreset(
        name="gpu",
        about="about 10 minutes on one H100/H200: the paper-sized model at 128 px, batch "
              "32, cosine learning rate, identity loss and a PatchGAN for detail",
        model="fomm", size=128, batch=32, minutes=10.0, warmup=300,
        overrides={"lr": 2e-4, "identity": 0.1, "gan": True}),
}


def motion_preset(name: str) -> MotionPreset:
    try:
        return MOTION_PRESETS[name]
    except KeyError:
        raise ValueError(f"no motion preset {name!r}; choose from {sorted(MOTION_PRESETS)}"
                         ) from None


def swap_preset(name: str) -> SwapPreset:
    try:
        return SWAP_PRESETS[name]
    except KeyError:
        raise ValueError(f"no swap preset {name!r}; choose from {sorted(SWAP_PRESETS)}"
                         ) from None


def goal_report(net: Any, a_faces: Any, b_faces: Any, goal: Goal, n: int = 24
                ) -> dict[str, Any]:
    """Measure ``net`` (a swap model) against ``goal`` on up to ``n`` faces a side.

    ``a_faces`` / ``b_faces`` are ``(N, 5, S, S)`` uint8 stacks (RGB, face mask, feature
    mask) as the swap batcher holds them. Returns the measures, the goal and what is left.
    """
    import numpy as np
    import torch

    from twoface.faces.nets.embedder import load_embedder
    from twoface.metrics.image import sharpness_ratio
    from twoface.nn.losses import face_embeddings

    device = next(net.parameters()).device
    pick = np.linspace(0, len(a_faces) - 1, min(n, len(a_faces))).round().astype(int)
    pick_b = np.linspace(0, len(b_faces) - 1, min(n, len(b_faces))).round().astype(int)
    a = torch.as_tensor(a_faces)[torch.as_tensor(pick)].to(device)
    b = torch.as_tensor(b_faces)[torch.as_tensor(pick_b)].to(device)
    a_img, a_mask = a[:, :3].float() / 255, a[:, 3].float() / 255
    b_img = b[:, :3].float() / 255
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            swapped = net(a_img, "b")[0].float()
            emb = load_embedder().to(device)
            coverage = net.config.coverage
            target = face_embeddings(emb, b_img, coverage)[0].mean(0)
            source = face_embeddings(emb, a_img, coverage)[0].mean(0)
            got = face_embeddings(emb, swapped, coverage)[0]
            dist = (got - target).norm(dim=1)
            margin = (got - source).norm(dim=1) - dist
    finally:
        net.train(was_training)
    sharp = []
    for i in range(len(a_img)):
        src = (a_img[i].permute(1, 2, 0).cpu().numpy() * 255).astype(np.uint8)
        out = (swapped[i].clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255).astype(np.uint8)
        r = sharpness_ratio(out, src, a_mask[i].cpu().numpy())
        if np.isfinite(r):
            sharp.append(r)
    identity, closer = float(dist.median()), float(margin.median())
    sharpness = float(np.median(sharp)) if sharp else float("nan")
    return {
        "identity_distance": round(identity, 4),
        "margin": round(closer, 4),
        "sharpness": round(sharpness, 4),
        "goal": {"identity_distance": goal.identity_distance, "margin": goal.margin,
                 "sharpness": goal.sharpness},
        "to_go": {"identity_distance": round(max(0.0, identity - goal.identity_distance), 4),
                  "margin": round(max(0.0, goal.margin - closer), 4),
                  "sharpness": round(max(0.0, goal.sharpness - sharpness), 4)},
        "reached": bool(identity <= goal.identity_distance and closer >= goal.margin
                        and sharpness >= goal.sharpness),
        "faces": len(a_img),
    }


def goal_line(report: dict[str, Any], preset: str) -> str:
    """One sentence for the training summary."""
    g, to = report["goal"], report["to_go"]
    parts = [f"identity distance {report['identity_distance']:.3f} (goal <= "
             f"{g['identity_distance']:g}"
             + (f", {to['identity_distance']:.3f} to go)" if to["identity_distance"] else ", met)"),
             f"closer to B than to A by {report['margin']:.3f} (goal >= {g['margin']:g}"
             + (f", {to['margin']:.3f} to go)" if to["margin"] else ", met)"),
             f"sharpness {report['sharpness']:.2f} (goal >= {g['sharpness']:g}"
             + (f", {to['sharpness']:.2f} to go)" if to["sharpness"] else ", met)")]
    head = "reached" if report["reached"] else "not yet reached"
    return f"preset {preset} goal {head}: " + "; ".join(parts)
