"""The detectors' data: class-balanced batches of crops held in memory, and the recipe by
which the self-blend detector makes its fakes from real faces (self-blends and re-renderings).

Every batch is a pure function of (seed, step), so a resumed run sees the batches an unbroken
one would have.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

import numpy as np
import torch

from twoface.errors import TwofaceError


class Renderer(Protocol):
    """What a :class:`FakeRecipe` uses of its re-renderer (a model of kind ``rerender``):
    ``(N, 3, S, S)`` faces in [0, 1] in, the same out, at ``config.size``."""

    config: Any

    def parameters(self, recurse: bool = True) -> Iterator[torch.nn.Parameter]: ...

    def eval(self) -> Any: ...

    def __call__(self, faces: torch.Tensor) -> torch.Tensor: ...


def is_selfblend(name: str) -> bool:
    return name.startswith("selfblend")


class FakeRecipe:
    """How the self-blend detector's fakes are made from real faces: a self-blend with the
    ``blend`` settings or, ``rerender`` of the time, the face replaced (``whole`` of those over
    the whole crop) by its re-rendering through ``renderer``; ``soft`` of the real faces are
    first softened, so that both classes hold soft faces."""

    def __init__(self, blend: dict[str, float], renderer: Renderer | None = None,
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


def load_split(manifest: Any, split: str, size: int, selfblend: bool,
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
