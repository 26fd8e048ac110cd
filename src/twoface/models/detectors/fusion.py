"""Fusion of several detectors with calibrated probabilities.

Each member's raw logit is first calibrated on its own (Platt scaling ``a·z + b``, which also
covers temperature scaling), then the calibrated logits are stacked by a logistic regression
(weights ``w``, bias ``c``): ``p = sigmoid(Σ w_m (a_m z_m + b_m) + c)``. Both stages are fitted
on held-out faces the members never trained on (:meth:`FusionDetector.fit_stack`, closed form
by Newton's method), so a member that is confident and wrong on that data is down-weighted.
The same parameters can also be trained by the generic loop (``training_step``), members
frozen.

The members are ordinary detectors stored inside the fusion folder (one ``model.safetensors``
holds them all under ``members.<label>.``), so a fusion model loads like any other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from twoface.models.detectors.base import Detector, fit_logistic, fit_platt
from twoface.models.registry import create, register


def _default_members() -> dict[str, dict[str, Any]]:
    return {"cnn": {"name": "cnn", "config": {}},
            "selfblend": {"name": "selfblend", "config": {}},
            "spectral": {"name": "spectral", "config": {}}}


@dataclass
class FusionConfig:
    """``members``: label → ``{"name": registered detector, "config": its fields}``."""

    members: dict[str, dict[str, Any]] = field(default_factory=_default_members)
    size: int = 0  # 0: the largest member size (crops are handed to members at this side)
    coverage: float = 0.625
    lr: float = 1e-2

    def __post_init__(self) -> None:
        if not self.members:
            raise ValueError("a fusion needs at least one member")
        if not 0 <= self.size <= 1024 or not 0.2 <= self.coverage <= 2.0:
            raise ValueError(f"size must be from 0 to 1024 and coverage from 0.2 to 2, got "
                             f"{self.size} and {self.coverage}")
        for label, spec in self.members.items():
            if not isinstance(label, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", label):
                raise ValueError(f"member label {label!r}: letters, digits, _ and - only")
            if not isinstance(spec, dict) or "name" not in spec:
                raise ValueError(f"member {label!r} needs a 'name'")
            if spec["name"] == "fusion":
                raise ValueError("a fusion cannot contain a fusion")


class FusionDetector(Detector):
    """Members, a per-member Platt calibration and a logistic stacking layer."""

    def __init__(self, config: FusionConfig) -> None:
        super().__init__()
        self.config = cfg = config
        built = {label: create("detector", spec["name"], **dict(spec.get("config", {})))
                 for label, spec in cfg.members.items()}
        self.members = nn.ModuleDict(built)
        for label, m in built.items():
            if abs(m.config.coverage - cfg.coverage) > 1e-6:
                raise ValueError(f"member {label!r} expects crops of coverage "
                                 f"{m.config.coverage}, the fusion {cfg.coverage}")
        if cfg.size == 0:
            cfg.size = max(m.config.size for m in built.values())
        k = len(self.members)
        self.platt = nn.Parameter(torch.tensor([[1.0, 0.0]] * k))
        self.stack_w = nn.Parameter(torch.full((k,), 1.0 / k))
        self.stack_b = nn.Parameter(torch.zeros(1))
        self._init_calibration()

    @property
    def labels(self) -> list[str]:
        return list(self.members)

    def member_logits(self, faces: torch.Tensor) -> torch.Tensor:
        """Raw logits of every member, ``(N, M)`` (members always in eval mode: the fusion
        never changes their batch-norm statistics)."""
        outs = []
        for m in self.members.values():
            m.eval()
            outs.append(m(faces))
        return torch.stack(outs, dim=1)

    def combine(self, raw: torch.Tensor) -> torch.Tensor:
        """``(N, M)`` member logits → fused logit ``(N,)``."""
        z = raw * self.platt[:, 0] + self.platt[:, 1]
        return z @ self.stack_w + self.stack_b

    def forward(self, faces: torch.Tensor) -> torch.Tensor:
        return self.combine(self.member_logits(self.prepare(faces)))

    def optim_groups(self) -> dict[str, tuple[list[nn.Parameter], float]]:
        return {"loss": ([self.platt, self.stack_w, self.stack_b], self.config.lr)}

    def training_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """BCE of the fused logit; members frozen (their outputs carry no gradient)."""
        with torch.no_grad():
            raw = self.member_logits(self.prepare(batch["faces"]))
        z = self.combine(raw)
        y = batch["labels"].float()
        return {"loss": F.binary_cross_entropy_with_logits(z, y),
                "acc": ((z > 0).float() == y).float().mean().detach()}

    def fit_stack(self, raw: np.ndarray, labels: np.ndarray, l2: float = 1e-2
                  ) -> dict[str, Any]:
        """Fit the Platt pairs, then the stacking weights, on held-out ``(N, M)`` raw member
        logits; returns the fitted numbers for the record."""
        raw = np.asarray(raw, np.float64)
        pairs = [fit_platt(raw[:, j], labels) for j in range(raw.shape[1])]
        z = np.stack([a * raw[:, j] + b for j, (a, b) in enumerate(pairs)], axis=1)
        w, c = fit_logistic(z, labels, l2=l2)
        with torch.no_grad():
            self.platt.copy_(torch.tensor(pairs, dtype=torch.float32))
            self.stack_w.copy_(torch.tensor(w, dtype=torch.float32))
            self.stack_b.fill_(c)
        return {"platt": dict(zip(self.labels, [list(p) for p in pairs], strict=True)),
                "weights": dict(zip(self.labels, [float(v) for v in w], strict=True)),
                "bias": c,
                # Slope of the fused logit on each member's raw logit: what each one counts.
                "effective": dict(zip(self.labels, [float(wj * a) for wj, (a, _b) in
                                                    zip(w, pairs, strict=True)], strict=True))}


@register("detector", "fusion")
def fusion(**cfg: Any) -> FusionDetector:
    """A calibrated stack of detectors (default members: cnn, selfblend, spectral)."""
    return FusionDetector(FusionConfig(**cfg))
