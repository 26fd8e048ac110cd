"""Training detectors: batches from a detection dataset, the generic loop, then calibration.

* ``cnn``/``spectral`` (and their variants) learn from the dataset's real and fake crops of the
  ``train`` split, in class-balanced batches.
* ``selfblend`` sees **real crops only**: each batch holds augmented real crops and, beside
  each, its own fake made on the fly, both JPEG-compressed (:mod:`twoface.data.selfblend`).
  The fake is a self-blend or (``rerender`` of the time) the face partly or wholly replaced
  by its own re-rendering through a small autoencoder that this command first trains on the
  same real crops, into ``RUN/rerender`` (:mod:`twoface.models.rerender`).
  ``blend_pairs=false`` draws the blended crops independently instead, as first built.
* ``fusion`` stacks trained members (given, or trained here first into ``members/``).

After training, each detector is calibrated (Platt scaling) on the ``val`` split, which shares
no identity with ``train``; a self-blend model is calibrated on the val reals as they are and,
from each, a plain self-blend or (as often as in training) its re-rendering, so it never sees
a real manipulation at all. Every batch is a pure function of
(seed, step), so a resumed run sees the batches an unbroken one would have.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from twoface.data.detector_batches import (
    DetectorBatches,
    FakeRecipe,
    is_selfblend,
    load_split,
)
from twoface.device import pick_device
from twoface.errors import TwofaceError
from twoface.fileio import atomic_write_json
from twoface.models.base import TrainableModel
from twoface.models.detectors import Detector
from twoface.train.loop import TrainOptions, fit, refuse_finished


@torch.no_grad()
def raw_logits(model: torch.nn.Module, images: np.ndarray, device: torch.device,
               batch: int = 128) -> np.ndarray:
    """Raw logits (before calibration) of ``(N, S, S, 3)`` uint8 crops, in eval mode."""
    model.eval()
    out = []
    for i in range(0, len(images), batch):
        x = torch.from_numpy(images[i:i + batch]).permute(0, 3, 1, 2).float().div(255)
        out.append(model(x.to(device)).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0)


def _val_set(manifest: Any, size: int, selfblend: bool, seed: int,
             exclude: tuple[str, ...] = (), recipe: FakeRecipe | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
    """Held-out calibration faces: val reals and fakes, or val reals and a fake made from
    each by ``recipe`` (default: a plain self-blend)."""
    images, labels, marks = load_split(manifest, "val", size, selfblend, exclude)
    if selfblend and len(images):
        rng = np.random.default_rng([seed, 99])
        assert marks is not None
        made = (recipe or FakeRecipe({})).fakes(list(zip(images, marks, strict=True)), rng)
        fakes = np.stack(made)
        images = np.concatenate([images, fakes])
        labels = np.r_[labels, np.ones(len(fakes), int)]
    return images, labels


def calibrate(model: Detector, manifest: Any, device: torch.device, seed: int,
              exclude: tuple[str, ...] = (), recipe: FakeRecipe | None = None
              ) -> dict[str, Any]:
    """Fit the model's Platt calibration on the val split (a self-blend model: val reals
    and fakes made from them by ``recipe``); returns what was done."""
    from twoface.metrics.detection import roc_auc
    from twoface.models.detectors import fit_platt

    images, labels = _val_set(manifest, model.config.size, is_selfblend(model.name), seed,
                              exclude, recipe)
    if len(labels) == 0 or labels.min() == labels.max():
        return {"calibrated": False, "why": "the val split lacks real or fake faces"}
    z = raw_logits(model, images, device)
    a, b = fit_platt(z, labels)
    with torch.no_grad():
        model.calibration.copy_(torch.tensor([a, b]))
    return {"calibrated": True, "a": a, "b": b, "val_faces": len(labels),
            "val_auc": round(roc_auc(labels, z), 4)}


def train_detector(dataset: str | Path, run_dir: str | Path, *, model: str = "cnn",
                   batch: int = 32, seed: int = 0, overrides: dict | None = None,
                   members: Sequence[str | Path] | None = None,
                   exclude: Sequence[str] | None = None,
                   options: TrainOptions | None = None) -> dict[str, Any]:
    """Train detector ``model`` on ``dataset`` into ``run_dir`` and calibrate it.

    ``exclude``: manipulation methods left out of training and calibration entirely (for
    leave-one-method-out tables). Returns a summary (also in ``run_dir/calibration.json``)."""
    from twoface.data.detect_manifest import Manifest
    from twoface.models.registry import save_pretrained
    from twoface.train.checkpoint import new_or_resumed

    opts = options or TrainOptions()
    run_dir = Path(run_dir)
    manifest = Manifest.load(dataset)
    coverage = _dataset_coverage(Path(dataset))
    if model == "fusion":
        return _train_fusion(manifest, run_dir, coverage, batch, seed, overrides, members,
                             tuple(exclude or ()), opts)
    scoped = [k for k in overrides or {} if "." in k]
    if scoped:
        raise TwofaceError(None, f"--set {scoped[0]}=…: MEMBER.field settings are for the "
                           "members of a fusion only")
    cfg = {"coverage": coverage, **(overrides or {})}
    # On resume the saved model comes back; another model or config value is refused.
    net = new_or_resumed("detector", run_dir, model=model, default="cnn", config=cfg,
                         resume=opts.resume)
    assert isinstance(net, Detector)  # every registered detector is one
    sb = is_selfblend(net.name)
    skip = tuple(exclude or ())
    images, labels, marks = load_split(manifest, "train", net.config.size, sb, skip)
    if len(images) == 0:
        raise TwofaceError(dataset, "the train split holds no usable faces")
    device = pick_device(opts.device)
    c = net.config
    blend = ({"min_scale": c.blend_min_scale, "max_blur": c.blend_max_blur,
              "warp": c.blend_warp, "warp_max": c.blend_warp_max} if sb else None)
    if sb and c.rerender > 0:
        refuse_finished(run_dir, opts.resume)  # before minutes of re-renderer training
    renderer = (train_rerenderer(images, run_dir / "rerender", c.size // 2,
                                 c.rerender_steps, batch, seed, opts)
                if sb and c.rerender > 0 and c.blend_pairs else None)  # paired recipe only
    recipe = (FakeRecipe(blend or {}, renderer, c.rerender, c.rerender_whole, c.soft_reals)
              if sb else None)
    data = DetectorBatches(images, labels, marks, batch, seed, device, sb, blend,
                           pairs=sb and c.blend_pairs, augment=getattr(c, "augment", False),
                           fakes=recipe)
    result = fit(net, data.batch_at, run_dir, opts)
    # Calibration fakes: the plain self-blend as before, and re-renderings as in training.
    check = FakeRecipe({}, renderer, c.rerender, c.rerender_whole) if renderer else None
    summary = {"model": net.name, "steps": result.step, "train_faces": len(images),
               "excluded_methods": list(skip),
               "train_fakes": int(labels.sum()), "seconds": round(result.seconds, 1),
               "last_loss": result.last.get("loss"),
               "calibration": calibrate(net, manifest, device, seed, skip, check)}
    save_pretrained(net, run_dir)
    atomic_write_json(run_dir / "calibration.json", summary)
    return summary


def train_rerenderer(images: np.ndarray, folder: Path, size: int, steps: int, batch: int,
                     seed: int, opts: TrainOptions) -> TrainableModel:
    """The re-rendering autoencoder (:mod:`twoface.models.rerender`) trained on the augmented
    real crops ``images`` at ``size`` px for ``steps`` steps in ``folder``; a finished one
    there is reused and an interrupted one resumed (so one may also be put there on purpose,
    to share it between runs). ``opts.minutes`` does not apply: the detector needs it whole.
    Returned in eval mode on its device."""
    from dataclasses import replace

    import cv2

    from twoface.data.selfblend import augment_face
    from twoface.models.registry import from_pretrained, save_pretrained
    from twoface.train.checkpoint import checkpoint_step, new_or_resumed

    device = pick_device(opts.device)
    done = checkpoint_step(folder) or 0
    if done >= steps:
        net = from_pretrained(folder, "rerender", device=str(device))
        if net.config.size != size:
            raise TwofaceError(folder, f"holds a re-renderer trained at {net.config.size} px; "
                               f"this detector needs {size} px (choose another folder)")
        return net.eval()
    net = new_or_resumed("rerender", folder, model="ae", default="ae", config={"size": size},
                         resume=done > 0)
    none = np.zeros((68, 2), np.float32)

    def batch_at(step: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([seed, step, 7])
        faces = np.stack([cv2.resize(augment_face(images[i], none, rng)[0], (size, size),
                                     interpolation=cv2.INTER_AREA)
                          for i in rng.choice(len(images), batch)])
        x = torch.from_numpy(faces).permute(0, 3, 1, 2).float().div(255)
        return {"faces": x.to(device)}

    # No time limit here: a half-trained renderer would change under a resumed detector.
    fit(net, batch_at, folder, replace(opts, steps=steps, resume=done > 0, minutes=None,
                                       description="rerender"))
    save_pretrained(net, folder)
    return net.to(device).eval()


def member_overrides(overrides: dict | None, member: str | None) -> dict:
    """The config overrides that apply to one model: plain keys apply to every model, keys
    ``MEMBER.field`` (``spectral.bins``) only to that member of a fusion (``member=None``:
    a model trained on its own, which takes the plain keys only)."""
    out = {k: v for k, v in (overrides or {}).items() if "." not in k}
    if member is not None:
        out |= {k.split(".", 1)[1]: v for k, v in (overrides or {}).items()
                if k.startswith(f"{member}.")}
    return out


def _dataset_coverage(root: Path) -> float:
    import json

    try:
        return float(json.loads((root / "dataset.json").read_text("utf-8"))["options"]
                     ["coverage"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0.625


def _train_fusion(manifest: Any, run_dir: Path, coverage: float, batch: int, seed: int,
                  overrides: dict | None, members: Sequence[str | Path] | None,
                  exclude: tuple[str, ...], opts: TrainOptions) -> dict[str, Any]:
    """Members (given folders, or cnn + selfblend + spectral trained into ``members/``), then
    the stack fitted on the val split."""
    from dataclasses import asdict, replace

    from twoface.models.detectors.fusion import FusionDetector
    from twoface.models.registry import create, from_pretrained, save_pretrained

    if (run_dir / "model.safetensors").exists():
        raise TwofaceError(run_dir, "already holds a model; choose another folder")
    folders = list(members or ())
    if not folders:
        for name in ("cnn", "selfblend", "spectral"):
            sub = run_dir / "members" / name
            train_detector(manifest.root, sub, model=name, batch=batch, seed=seed,
                           overrides=member_overrides(overrides, name), exclude=list(exclude),
                           options=replace(opts, description=name))
            folders.append(sub)
    loaded = {Path(m).name: from_pretrained(m, "detector") for m in folders}
    if len(set(loaded)) != len(folders):
        raise TwofaceError(None, "member folders must have different names")
    spec = {label: {"name": m.name, "config": asdict(m.config)} for label, m in loaded.items()}
    fusion = create("detector", "fusion", members=spec, coverage=coverage)
    assert isinstance(fusion, FusionDetector)
    for label, m in loaded.items():
        fusion.members[label].load_state_dict(m.state_dict())
    device = pick_device(opts.device)
    fusion.to(device)
    images, labels, _ = load_split(manifest, "val", fusion.config.size, False, exclude)
    if len(labels) == 0 or labels.min() == labels.max():
        raise TwofaceError(manifest.root, "a fusion is fitted on the val split, which needs "
                           "real and fake faces")
    with torch.no_grad():
        raw = np.concatenate([
            fusion.member_logits(fusion.prepare(
                torch.from_numpy(images[i:i + 128]).permute(0, 3, 1, 2).float().div(255)
                .to(device))).cpu().numpy()
            for i in range(0, len(images), 128)])
    fitted = fusion.fit_stack(raw, labels)
    save_pretrained(fusion, run_dir)
    summary = {"model": "fusion", "members": {k: str(p) for k, p in zip(loaded, folders,
                                                                          strict=True)},
               "val_faces": len(labels), "stack": fitted}
    atomic_write_json(run_dir / "calibration.json", summary)
    return summary
