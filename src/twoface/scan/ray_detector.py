"""Ray: the detector as a shared service, so CPU workers decode and find faces while a
GPU worker scores the faces of all of them in batches.

Face finding (dlib, decoding) is CPU work and the detector is a small network: one GPU serves
many CPU workers if their requests are gathered into batches. :class:`DetectorService` is an
async Ray actor: each request (a frame's faces, or a heat map's 65 occluded crops) waits up to
:data:`WAIT_S` for others, then all run through the detector as one batch.
:class:`RemoteDetector` stands in for the detector inside a worker's
:class:`~twoface.forensics.detect.Scanner`: same name, config and
``calibrated_logits``, the arithmetic done by the service.
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np

WAIT_S = 0.005  # how long a request waits for company before its batch runs
MAX_BATCH = 512  # crops per batch (128 px fp32: ~100 MB of input)


class DetectorService:
    """A Ray actor holding the detector; :meth:`score` batches concurrent requests."""

    def __init__(self, folder: str | None, device: str) -> None:
        import torch

        from twoface.models.detectors import load_detector

        torch.set_num_threads(1)
        self.detector = load_detector(folder, device)
        self.device = device
        self.pending: list[tuple[np.ndarray, asyncio.Future[np.ndarray]]] = []
        self.flusher: asyncio.Task[None] | None = None

    async def score(self, crops: np.ndarray) -> np.ndarray:
        """Calibrated fake logits of ``crops`` ``(N, 3, H, W)`` float32 in 0..1 → ``(N,)``."""
        done: asyncio.Future[np.ndarray] = asyncio.get_running_loop().create_future()
        self.pending.append((crops, done))
        if self.flusher is None or self.flusher.done():
            self.flusher = asyncio.create_task(self._flush_soon())
        return await done

    async def _flush_soon(self) -> None:
        await asyncio.sleep(WAIT_S)
        while self.pending:
            batch: list[tuple[np.ndarray, asyncio.Future[np.ndarray]]] = []
            size = 0
            while self.pending and (not batch or size + len(self.pending[0][0]) <= MAX_BATCH):
                batch.append(self.pending.pop(0))
                size += len(batch[-1][0])
            try:
                logits = self._run(np.concatenate([c for c, _ in batch]))
            except Exception as exc:  # every waiting caller hears of it, none hangs
                for _, fut in batch:
                    fut.set_exception(exc)
                continue
            at = 0
            for crops, fut in batch:
                fut.set_result(logits[at:at + len(crops)])
                at += len(crops)

    def _run(self, x: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            t = torch.from_numpy(x).to(self.device)
            return self.detector.calibrated_logits(t).float().cpu().numpy()


class RemoteDetector:
    """The detector as a worker's Scanner sees it, scored by a :class:`DetectorService`."""

    def __init__(self, service: Any, local: Any) -> None:
        import torch

        # The local copy (on CPU) gives the name, config and card; its weights stay unused.
        self.service = service
        self.name = local.name
        self.config = local.config
        self._torch = torch

    def eval(self) -> RemoteDetector:
        return self

    def parameters(self) -> Any:
        return iter(())  # inputs stay on the CPU: the service moves them

    def calibrated_logits(self, x: Any) -> Any:
        import ray

        crops = x.detach().cpu().float().numpy()
        return self._torch.from_numpy(ray.get(self.service.score.remote(crops)))
