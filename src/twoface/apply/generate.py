"""Drawing faces of people who do not exist with a trained GAN; every output marked.

    pipe = GanPipeline.from_pretrained("runs/gan/small")
    report = pipe("out/", n=64, seed=1, truncation=0.7, grid="out/grid.png")
    pipe.interpolate("out/walk.mp4", seed=1, keyframes=6)

Images are PNG (lossless: the watermark and the faces stay as drawn) with the invisible
watermark in the pixels and a signed C2PA manifest embedded in the file; the latent walk is
an H.264 video marked frame by frame and signed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from twoface.apply._pipeline import Pipeline
from twoface.errors import TwofaceError

if TYPE_CHECKING:
    from twoface.models.base import TrainableModel
    from twoface.models.gan import GAN
    from twoface.provenance import Provenance

VIDEO_SIDE = 256  # latent walks are drawn up to this side: video codecs smear 64 px frames
MARK_SIDE = 64  # the watermark needs about this many pixels: smaller faces are written upscaled


@dataclass
class GenerateReport:
    files: list[Path] = field(default_factory=list)
    grid: Path | None = None
    seconds: float = 0.0


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation between latents ``(B, D)``: Gaussian latents live near a
    sphere, and a straight line between two of them passes through unlikely, washed-out
    middle points."""
    an, bn = a / a.norm(dim=1, keepdim=True), b / b.norm(dim=1, keepdim=True)
    omega = torch.acos((an * bn).sum(1, keepdim=True).clamp(-1 + 1e-7, 1 - 1e-7))
    so = torch.sin(omega)
    return (torch.sin((1 - t) * omega) / so) * a + (torch.sin(t * omega) / so) * b


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """``(B, 3, H, W)`` in [-1, 1] → ``(B, H, W, 3)`` uint8 RGB."""
    x = ((images.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).cpu().numpy()


class GanPipeline(Pipeline):
    """A trained ``gan`` model folder, ready to draw."""

    kind = "gan"
    model: GAN

    def __init__(self, model: TrainableModel, folder: Path, device: torch.device) -> None:
        super().__init__(model, folder, device)
        self.model.recalibrate()  # batch-norm statistics of the final generator (DCGAN); else no-op

    @property
    def size(self) -> int:
        return int(self.model.config.size)

    @torch.no_grad()
    def draw(self, latents: torch.Tensor, truncation: float = 1.0, batch: int = 64
             ) -> np.ndarray:
        """Latents ``(N, z_dim)`` → faces ``(N, S, S, 3)`` uint8."""
        if not 0 <= truncation <= 1.5:
            raise TwofaceError(None, f"--truncation must be in [0, 1.5], got {truncation}")
        out = [to_uint8(self.model(latents[i:i + batch].to(self.device), truncation))
               for i in range(0, len(latents), batch)]
        return np.concatenate(out) if out else np.zeros((0, self.size, self.size, 3), np.uint8)

    def faces(self, n: int, *, seed: int = 0, truncation: float = 1.0) -> np.ndarray:
        """``n`` faces ``(n, S, S, 3)`` uint8; the same seed always draws the same faces."""
        if n < 1:
            raise TwofaceError(None, f"-n must be at least 1, got {n}")
        return self.draw(self.model.latents(n, seed), truncation)

    def _provenance(self, label: str | None = None, consent: str | Path | None = None
                    ) -> Provenance:
        from twoface.provenance import Provenance

        return Provenance.from_files("gan", [], model=self.folder, label=label, consent=consent)

    def __call__(self, output: str | Path, n: int = 64, *, seed: int = 0,
                 truncation: float = 1.0, grid: str | Path | None = None, mark: bool = True,
                 progress: bool = True, consent: str | Path | None = None) -> GenerateReport:
        """Write ``n`` faces as ``OUTPUT/gan_s{seed}_{i:05d}.png`` (and a grid of them);
        ``consent``: a consent record whose SHA-256 goes into every manifest."""
        import time

        import cv2

        from twoface.media import write_image
        from twoface.progress import progress_bar
        from twoface.provenance import signing_keys, write_marked_image

        t0 = time.perf_counter()
        output = Path(output)
        if output.exists() and not output.is_dir():
            raise TwofaceError(output, "exists and is not a folder")
        if grid is not None and Path(grid).suffix.lower() != ".png":
            raise TwofaceError(grid, "the grid is written as PNG; give a .png name")
        faces = self.faces(n, seed=seed, truncation=truncation)
        output.mkdir(parents=True, exist_ok=True)
        prov = self._provenance(consent=consent) if mark else None
        keys = signing_keys() if prov else None  # read once, not once per face
        s = self.size
        if prov and s < MARK_SIDE:
            s = MARK_SIDE
            faces = np.stack([cv2.resize(f, (s, s), interpolation=cv2.INTER_CUBIC)
                              for f in faces])
        report = GenerateReport()
        with progress_bar(enabled=progress) as bar:
            task = bar.add_task("writing faces", total=n, unit="faces")
            for i, face in enumerate(faces):
                path = output / f"gan_s{seed}_{i:05d}.png"
                if prov:
                    write_marked_image(path, face, prov, keys=keys)
                else:
                    write_image(path, face)
                report.files.append(path)
                bar.advance(task)
        if grid is not None:
            cols = math.ceil(math.sqrt(n))
            rows = -(-n // cols)
            sheet = np.full((rows * s, cols * s, 3), 128, np.uint8)  # grey: marks hold on it
            for i, face in enumerate(faces):
                sheet[(i // cols) * s:(i // cols + 1) * s, (i % cols) * s:(i % cols + 1) * s] = face
            report.grid = Path(grid)
            if prov:
                write_marked_image(grid, sheet, prov, keys=keys)
            else:
                write_image(grid, sheet)
        report.seconds = time.perf_counter() - t0
        return report

    def interpolate(self, output: str | Path, *, seed: int = 0, keyframes: int = 4,
                    frames_between: int = 24, truncation: float = 1.0, fps: float = 24,
                    mark: bool = True, progress: bool = True) -> Path:
        """A looping latent walk through ``keyframes`` faces (slerp between neighbours),
        drawn at least :data:`VIDEO_SIDE` px; returns the video path."""
        import cv2

        from twoface.media import VideoWriter
        from twoface.progress import progress_bar
        from twoface.provenance import MarkedVideoWriter

        if keyframes < 2 or frames_between < 1:
            raise TwofaceError(None, "--interpolate needs at least 2 keyframes and 1 frame "
                               "between them")
        keys = self.model.latents(keyframes, seed)
        side = max(self.size, VIDEO_SIDE)
        writer = (MarkedVideoWriter(output, fps, self._provenance()) if mark
                  else VideoWriter(output, fps))
        total = keyframes * frames_between
        with writer, progress_bar(enabled=progress) as bar:
            task = bar.add_task("latent walk", total=total, unit="frames")
            for k in range(keyframes):
                a, b = keys[k:k + 1], keys[(k + 1) % keyframes:(k + 1) % keyframes + 1]
                steps = torch.cat([slerp(a, b, j / frames_between)
                                   for j in range(frames_between)])
                for face in self.draw(steps, truncation):
                    if side != self.size:
                        face = cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC)
                    writer.write(face)
                    bar.advance(task)
        return Path(output)
