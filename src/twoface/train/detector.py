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

from pathlib import Path
from typing import Any

import numpy as np
import torch

from twoface.errors import TwofaceError
from twoface.fileio import atomic_write_json
from twoface.train.loop import TrainOptions, fit, pick_device, refuse_finished


def is_selfblend(name: str) -> bool:
    return name.startswith("selfblend")


class FakeRecipe:
    """How the self-blend detector's fakes are made from real faces: a self-blend with the
    ``blend`` settings or, ``rerender`` of the time, the face replaced (``whole`` of those over
    the whole crop) by its re-rendering through ``renderer``; ``soft`` of the real faces are
    first softened, so that both classes hold soft faces."""

    def __init__(self, blend: dict[str, float], renderer: torch.nn.Module | None = None,
                 rerender: float = 0.0, whole: float = 0.33, soft: float = 0.0) -> None:
        self.blend, self.renderer = blend, renderer
        self.rerender = rerender if renderer is not None else 0.0
        self.whole, self.soft = whole, soft

    def redraw(self, faces: list[np.ndarray]) -> list[np.ndarray]:
        """``faces`` (uint8 ``(S, S, 3)``) re-drawn by the renderer at its own size and
        resized back: float32 ``(S, S, 3)`` 0..255."""
        import cv2

        if not faces:
            return []
        assert self.renderer is not None
        side, s = self.renderer.config.size, faces[0].shape[0]
        small = np.stack([cv2.resize(f, (side, side), interpolation=cv2.INTER_AREA)
                          for f in faces])
        device = next(self.renderer.parameters()).device
        self.renderer.eval()
        with torch.no_grad():
            out = self.renderer(torch.from_numpy(small).to(device).permute(0, 3, 1, 2)
                                .float().div(255)).float().mul(255)
        return [cv2.resize(r, (s, s), interpolation=cv2.INTER_LINEAR)
                for r in out.permute(0, 2, 3, 1).cpu().numpy()]

    def fakes(self, bases: list[tuple[np.ndarray, np.ndarray]], rng: np.random.Generator,
              compress: bool = False) -> list[np.ndarray]:
        """One fake per ``(face, landmarks)``; ``compress``: each through :func:`jpeg`."""
        from twoface.data.selfblend import jpeg, rerender_blend, self_blend

        # No draw when off, so that the paper's recipe alone keeps its exact batches.
        redo = (rng.random(len(bases)) < self.rerender if self.rerender > 0
                else np.zeros(len(bases), bool))
        drawn = iter(self.redraw([im for (im, _), r in zip(bases, redo, strict=True) if r]))
        out = []
        for (im, lm), r in zip(bases, redo, strict=True):
            fake = (rerender_blend(im, lm, next(drawn), rng, self.whole) if r
                    else self_blend(im, lm, rng, **self.blend)[0])
            out.append(jpeg(fake, rng) if compress else fake)
        return out

    def pairs(self, bases: list[tuple[np.ndarray, np.ndarray]], rng: np.random.Generator
              ) -> tuple[np.ndarray, np.ndarray]:
        """Training pairs: each face (softened ``soft`` of the time) and its own fake, both
        through :func:`jpeg`. Returns ``(reals, fakes)`` uint8 ``(N, S, S, 3)``."""
        from twoface.data.selfblend import jpeg, soften

        bases = [(soften(im, rng), lm) if self.soft > 0 and rng.random() < self.soft
                 else (im, lm) for im, lm in bases]
        reals = [jpeg(im, rng) for im, _ in bases]
        return np.stack(reals), np.stack(self.fakes(bases, rng, compress=True))


class DetectorBatches:
    """Class-balanced, augmented batches from crops held in memory as one uint8 tensor."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, marks: np.ndarray | None,
                 batch: int, seed: int, device: torch.device, selfblend: bool,
                 blend: dict[str, float] | None = None, pairs: bool = False,
                 augment: bool = False, fakes: FakeRecipe | None = None) -> None:
        self.images, self.labels, self.marks = images, labels, marks
        self.blend, self.pairs, self.augment = blend or {}, pairs, augment
        self.recipe = fakes or FakeRecipe(self.blend)
        self.batch, self.seed, self.device, self.selfblend = batch, seed, device, selfblend
        self.real = np.nonzero(labels == 0)[0]
        self.fake = np.nonzero(labels == 1)[0]
        if len(self.real) == 0 or (not selfblend and len(self.fake) == 0):
            raise TwofaceError(None, "the train split needs real faces"
                               + ("" if selfblend else " and fake faces"))

    def batch_at(self, step: int) -> dict[str, torch.Tensor]:
        from twoface.data.selfblend import augment_face, jpeg, self_blend

        rng = np.random.default_rng([self.seed, step])
        half = self.batch // 2
        blend = self.blend
        if self.selfblend and self.pairs:
            # Each real face (augmented) beside its own fake, both JPEG-compressed.
            assert self.marks is not None
            bases = [augment_face(self.images[i], self.marks[i], rng)
                     for i in rng.choice(self.real, half)]
            reals, fakes = self.recipe.pairs(bases, rng)
        elif self.selfblend:
            assert self.marks is not None
            reals = self.images[rng.choice(self.real, half)]
            idx = rng.choice(self.real, self.batch - half)
            fakes = np.stack([self_blend(self.images[i], self.marks[i], rng, **blend)[0]
                              for i in idx])
        else:
            reals = self.images[rng.choice(self.real, half)]
            fakes = self.images[rng.choice(self.fake, self.batch - half)]
            if self.augment:  # both classes alike: pose, colour, camera look, then JPEG
                none = np.zeros((68, 2), np.float32)
                reals, fakes = (np.stack([jpeg(augment_face(im, none, rng)[0], rng)
                                          for im in group]) for group in (reals, fakes))
        x = torch.from_numpy(np.concatenate([reals, fakes])).permute(0, 3, 1, 2).float() / 255
        n = len(x)
        y = torch.tensor([0.0] * len(reals) + [1.0] * len(fakes))
        flip = torch.from_numpy(rng.random(n) < 0.5)
        x[flip] = x[flip].flip(-1)
        gain = torch.from_numpy(rng.uniform(0.9, 1.1, (n, 1, 1, 1)).astype(np.float32))
        x = (x * gain).clamp(0, 1)  # exposure jitter, the same for both classes
        return {"faces": x.to(self.device), "labels": y.to(self.device)}


def _load_split(manifest: Any, split: str, size: int, selfblend: bool,
                exclude: tuple[str, ...] = ()
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    rows = [r for r in manifest.select(split=split, label=0 if selfblend else None)
            if r["method"] not in exclude]
    if not rows:
        return np.zeros((0, size, size, 3), np.uint8), np.zeros(0, int), None
    import cv2

    images = manifest.images(rows, size)
    # Landmarks are stored in the crops' own pixels; the crops may be resized to the model.
    first = cv2.imread(str(manifest.root / rows[0]["path"]))
    scale = size / first.shape[0] if first is not None else 1.0
    marks = manifest.landmarks(rows, scale) if selfblend else None
    return images, np.array([int(r["label"]) for r in rows]), marks


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
    images, labels, marks = _load_split(manifest, "val", size, selfblend, exclude)
    if selfblend and len(images):
        rng = np.random.default_rng([seed, 99])
        assert marks is not None
        made = (recipe or FakeRecipe({})).fakes(list(zip(images, marks, strict=True)), rng)
        fakes = np.stack(made)
        images = np.concatenate([images, fakes])
        labels = np.r_[labels, np.ones(len(fakes), int)]
    return images, labels


def calibrate(model: torch.nn.Module, manifest: Any, device: torch.device, seed: int,
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
                   members: list[str | Path] | None = None, exclude: list[str] | None = None,
                   options: TrainOptions | None = None) -> dict[str, Any]:
    """Train detector ``model`` on ``dataset`` into ``run_dir`` and calibrate it.

    ``exclude``: manipulation methods left out of training and calibration entirely (for
    leave-one-method-out tables). Returns a summary (also in ``run_dir/calibration.json``)."""
    import twoface.models.detectors  # noqa: F401  (registers the detectors)
    from twoface.data.detect_dataset import Manifest
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
    sb = is_selfblend(net.name)
    skip = tuple(exclude or ())
    images, labels, marks = _load_split(manifest, "train", net.config.size, sb, skip)
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
                     seed: int, opts: TrainOptions) -> torch.nn.Module:
    """The re-rendering autoencoder (:mod:`twoface.models.rerender`) trained on the augmented
    real crops ``images`` at ``size`` px for ``steps`` steps in ``folder``; a finished one
    there is reused and an interrupted one resumed (so one may also be put there on purpose,
    to share it between runs). ``opts.minutes`` does not apply: the detector needs it whole.
    Returned in eval mode on its device."""
    from dataclasses import replace

    import cv2

    import twoface.models.rerender  # noqa: F401  (registers it)
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
                  overrides: dict | None, members: list[str | Path] | None,
                  exclude: tuple[str, ...], opts: TrainOptions) -> dict[str, Any]:
    """Members (given folders, or cnn + selfblend + spectral trained into ``members/``), then
    the stack fitted on the val split."""
    from dataclasses import asdict, replace

    from twoface.models.registry import create, from_pretrained, save_pretrained

    if (run_dir / "model.safetensors").exists():
        raise TwofaceError(run_dir, "already holds a model; choose another folder")
    if not members:
        members = []
        for name in ("cnn", "selfblend", "spectral"):
            sub = run_dir / "members" / name
            train_detector(manifest.root, sub, model=name, batch=batch, seed=seed,
                           overrides=member_overrides(overrides, name), exclude=list(exclude),
                           options=replace(opts, description=name))
            members.append(sub)
    loaded = {Path(m).name: from_pretrained(m, "detector") for m in members}
    if len(set(loaded)) != len(members):
        raise TwofaceError(None, "member folders must have different names")
    spec = {label: {"name": m.name, "config": asdict(m.config)} for label, m in loaded.items()}
    fusion = create("detector", "fusion", members=spec, coverage=coverage)
    for label, m in loaded.items():
        fusion.members[label].load_state_dict(m.state_dict())
    device = pick_device(opts.device)
    fusion.to(device)
    images, labels, _ = _load_split(manifest, "val", fusion.config.size, False, exclude)
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
    summary = {"model": "fusion", "members": {k: str(p) for k, p in zip(loaded, members,
                                                                          strict=True)},
               "val_faces": len(labels), "stack": fitted}
    atomic_write_json(run_dir / "calibration.json", summary)
    return summary
