"""The GAN's data: every face of some facesets held as one uint8 tensor, and batches of them.

The faces are held as one uint8 tensor at the model's size (a few thousand 64–256 px faces
are tens to hundreds of MB), so a batch is an index and a flip: no loader to starve the step.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from twoface.errors import TwofaceError

MIN_FACES = 16
"""Below this a GAN can only memorise; a few hundred faces is where DiffAugment starts to
give varied faces, a few thousand is comfortable."""



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
