"""Training a face GAN: every face of one or more facesets, the registry's model, the loop.

The faces are held as one uint8 tensor at the model's size (a few thousand 64–256 px faces
are tens to hundreds of MB), so a batch is an index and a flip: no loader to starve the step.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from twoface.errors import TwofaceError
from twoface.models import gan as _gan  # noqa: F401  (registers the gan models)
from twoface.train.checkpoint import new_or_resumed
from twoface.train.loop import TrainOptions, TrainResult, fit, pick_device

MIN_FACES = 16
"""Below this a GAN can only memorise; a few hundred faces is where DiffAugment starts to
give varied faces, a few thousand is comfortable."""


DEMO_CONFIG = {"size": 32, "g_channels": 8, "d_channels": 8, "max_channels": 64, "z_dim": 32}
"""A fastgan-small narrow and small enough for the demo: :data:`DEMO_STEPS` steps of batch 8
take ~20 s on one idle core (measured: 120 steps in 5.8 s on this 2-core EPYC). It shows the
pipeline and the first face-like blobs, not convincing faces; outputs are written at 64 px
(upscaled) so that the watermark holds."""
DEMO_STEPS = 400


def load_faces(facesets: Sequence[str | Path], size: int, *, progress: bool = False
               ) -> torch.Tensor:
    """Every crop of every faceset, resized to ``size``: ``(N, 3, size, size)`` uint8.

    The crops are used as extracted (aligned by the eyes and mouth at the faceset's coverage),
    so generated faces share that framing; shrinking uses area averaging to avoid aliasing.
    """
    import cv2

    from twoface.data.faceset import Faceset
    from twoface.progress import progress_bar

    if not facesets:
        raise TwofaceError(None, "give at least one faceset")
    sets = [Faceset.load(f) for f in facesets]
    total = sum(len(fs.faces) for fs in sets)
    if total < MIN_FACES:
        raise TwofaceError(facesets[0], f"the facesets hold {total} faces together; a GAN "
                           f"needs at least {MIN_FACES} (a few hundred for varied faces)")
    out = np.empty((total, 3, size, size), np.uint8)
    i = 0
    with progress_bar(enabled=progress) as bar:
        task = bar.add_task("loading faces", total=total, unit="faces")
        for fs in sets:
            for face in fs.faces:
                img = fs.image(face)
                if img.shape[0] != size:
                    interp = cv2.INTER_AREA if img.shape[0] > size else cv2.INTER_CUBIC
                    img = cv2.resize(img, (size, size), interpolation=interp)
                out[i] = img.transpose(2, 0, 1)
                i += 1
                bar.advance(task)
    return torch.from_numpy(out)


class GanBatches:
    """``batch(step)`` → ``{"real": (B, 3, S, S)}`` in [-1, 1], random faces, random mirror.

    A pure function of ``(seed, step)``: a resumed run sees the batches an unbroken run would.
    """

    def __init__(self, faces: torch.Tensor, batch_size: int, *,
                 device: torch.device | str = "cpu", seed: int = 0) -> None:
        self.device = torch.device(device)
        self.faces = faces.to(self.device)
        self.batch_size, self.seed = batch_size, seed

    def batch(self, step: int) -> dict[str, torch.Tensor]:
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + step)
        idx = torch.randint(len(self.faces), (self.batch_size,), generator=gen)
        flip = torch.rand(self.batch_size, generator=gen) < 0.5
        x = self.faces[idx.to(self.device)].float() / 127.5 - 1
        # Faces are left-right symmetric enough that mirroring doubles the data for free.
        x = torch.where(flip.to(self.device)[:, None, None, None], x.flip(3), x)
        return {"real": x}


def build_model(run_dir: str | Path, *, model: str | None, size: int | None,
                overrides: dict | None, resume: bool) -> torch.nn.Module:
    """A new ``gan`` model, or on resume the saved one; a resume that asks for another model
    or config is refused rather than silently ignored."""
    run_dir = Path(run_dir)
    cfg = dict(overrides or {})
    if size is not None:
        cfg["size"] = size
    return new_or_resumed("gan", run_dir, model=model, default="fastgan-small", config=cfg,
                          resume=resume)


def train_gan(facesets: Sequence[str | Path], run_dir: str | Path, *, model: str | None = None,
              size: int | None = None, batch: int = 16, seed: int = 0,
              overrides: dict | None = None, options: TrainOptions | None = None
              ) -> TrainResult:
    """Train (or with ``options.resume``, continue) GAN ``model`` on all faces of
    ``facesets`` in ``run_dir``; previews (fixed latents) land in ``run_dir/samples``."""
    opts = options or TrainOptions(description="train gan")
    for fs in facesets:
        if not Path(fs).is_dir():
            raise TwofaceError(fs, "not a faceset folder")
    # The init, latents and augmentations of a fresh run follow the seed (resume restores the
    # RNG state from the checkpoint instead).
    torch.manual_seed(seed)
    net = build_model(run_dir, model=model, size=size, overrides=overrides, resume=opts.resume)
    faces = load_faces(facesets, net.config.size, progress=opts.progress)
    data = GanBatches(faces, batch, device=pick_device(opts.device), seed=seed)
    return fit(net, data.batch, run_dir, opts)
