"""What every inference pipeline shares: a trained model folder loaded onto a device."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Self, TypeVar, cast

import numpy as np
import torch

if TYPE_CHECKING:
    from twoface.models.base import TrainableModel
    from twoface.models.motion import MotionModel

T = TypeVar("T")


class Pipeline:
    """A model of registry kind :attr:`kind`, in eval mode on ``device``; subclasses add the
    tools they need in ``__init__`` and write their loop out in ``__call__`` (and may narrow
    the type of :attr:`model` to their kind's class)."""

    kind: ClassVar[str]
    model: TrainableModel

    def __init__(self, model: TrainableModel, folder: Path, device: torch.device) -> None:
        self.model, self.folder, self.device = model.eval(), folder, device

    @classmethod
    def from_pretrained(cls, folder: str | Path, device: str | None = None) -> Self:
        """The model saved in ``folder`` (``config.json`` + ``model.safetensors``) on
        ``device`` (default: CUDA when present). A folder of another kind is refused."""
        from twoface.device import pick_device
        from twoface.models import from_pretrained  # importing the package registers every model

        dev = pick_device(device)
        return cls(from_pretrained(folder, cls.kind, device=dev), Path(folder), dev)


class FaceMotionPipeline(Pipeline):
    """A motion model, or none (the landmark-warp engines need no model), plus dlib's face
    tools (:attr:`faces`): the base of reenactment and the one-shot swap."""

    kind = "motion"
    model: MotionModel

    def __init__(self, model: TrainableModel | None, folder: Path | None,
                 device: torch.device) -> None:
        from twoface.faces.dlib_models import DlibModels

        if model is not None:
            super().__init__(model, cast(Path, folder), device)
        else:
            self.folder, self.device = None, device  # type: ignore[assignment]
        self.faces = DlibModels()

    @classmethod
    def warp_only(cls) -> Self:
        """The pipeline without a model: only ``engine="warp"`` works."""
        return cls(None, None, torch.device("cpu"))

    def _tensor(self, crops: list[np.ndarray]) -> torch.Tensor:
        """Crops (``H×W×3`` uint8) as a ``(B, 3, H, W)`` batch in [0, 1] on the device."""
        x = torch.from_numpy(np.stack(crops)).to(self.device)
        return x.permute(0, 3, 1, 2).float() / 255


def chunks(items: Iterable[T], n: int) -> Iterator[list[T]]:
    """``items`` in lists of ``n`` (the last one shorter): frames go through a model in
    batches without holding a whole video in memory."""
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == n:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
