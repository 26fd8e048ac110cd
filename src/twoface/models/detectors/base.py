"""What every face-forgery detector shares: input handling, calibration, the loss, ``predict``.

A detector maps aligned face crops ``(N, 3, H, W)`` in [0, 1] to one raw logit each (higher:
more likely fake). Raw logits of a network trained on balanced batches are not probabilities
one can act on, so each detector also carries a Platt calibration ``(a, b)`` fitted on held-out
faces after training: ``p = sigmoid(a · logit + b)``. ``predict`` returns that calibrated
probability; the identity calibration ``(1, 0)`` is what an uncalibrated model has.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from twoface.models.base import OptimGroups, TrainableModel


class Detector(TrainableModel):
    """Base class; subclasses set ``self.config`` (with ``size`` and ``lr``) and ``logits``."""

    calibration: torch.Tensor

    def _init_calibration(self) -> None:
        self.register_buffer("calibration", torch.tensor([1.0, 0.0]))

    def prepare(self, faces: torch.Tensor) -> torch.Tensor:
        """Resize ``(N, 3, H, W)`` crops to the model's side (area-like, antialiased)."""
        size = self.config.size
        faces = faces.float()
        if faces.shape[-1] != size or faces.shape[-2] != size:
            faces = F.interpolate(faces, size=(size, size), mode="bilinear",
                                  align_corners=False, antialias=True)
        return faces

    def logits(self, faces: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, faces: torch.Tensor) -> torch.Tensor:
        """Raw logits ``(N,)``."""
        return self.logits(self.prepare(faces))

    def calibrated_logits(self, faces: torch.Tensor) -> torch.Tensor:
        a, b = self.calibration
        return a * self(faces) + b

    @torch.no_grad()
    def predict(self, faces: torch.Tensor, batch: int = 64) -> torch.Tensor:
        """Calibrated probability of being fake, ``(N,)``, in eval mode and in chunks."""
        was = self.training
        self.eval()
        dev = self.calibration.device
        out = [torch.sigmoid(self.calibrated_logits(faces[i:i + batch].to(dev))).cpu()
               for i in range(0, len(faces), batch)]
        self.train(was)
        return torch.cat(out) if out else torch.zeros(0)

    def optim_groups(self) -> OptimGroups:
        return {"loss": (list(self.parameters()), self.config.lr)}

    def training_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """``batch``: ``faces`` ``(B, 3, H, W)`` in [0, 1], ``labels`` ``(B,)`` (1 fake).
        Returns ``loss`` (binary cross-entropy on the raw logits) and ``acc`` (logged)."""
        z = self(batch["faces"])
        y = batch["labels"].float()
        loss = F.binary_cross_entropy_with_logits(z.float(), y)
        acc = ((z > 0).float() == y).float().mean()
        return {"loss": loss, "acc": acc.detach()}

    def preview(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The first and last 4 faces of a batch (balanced batches put reals first, fakes
        last) side by side, fakes framed red and reals green: a look at what the model is
        taught, e.g. the self-blends."""
        n = len(batch["faces"])
        pick = torch.tensor(sorted({*range(min(4, n)), *range(max(0, n - 4), n)}))
        faces = self.prepare(batch["faces"][pick]).clamp(0, 1).clone()
        y = batch["labels"][pick]
        for i in range(len(faces)):
            colour = torch.tensor([1.0, 0, 0] if y[i] > 0.5 else [0, 1.0, 0], device=faces.device)
            faces[i, :, :2, :] = faces[i, :, -2:, :] = colour[:, None, None]
            faces[i, :, :, :2] = faces[i, :, :, -2:] = colour[:, None, None]
        return torch.cat(list(faces), dim=2)


def fit_logistic(x: np.ndarray, y: np.ndarray, *, l2: float = 1e-3, iters: int = 50
                 ) -> tuple[np.ndarray, float]:
    """Logistic regression ``p = sigmoid(x @ w + b)`` by Newton's method with a small ridge on
    ``w`` (which keeps a perfectly separable calibration set from running off to infinity).

    ``x``: ``(N, D)``, ``y``: ``(N,)`` in {0, 1}. Returns ``(w (D,), b)``.
    """
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    n, d = x.shape
    xa = np.hstack([x, np.ones((n, 1))])
    theta = np.zeros(d + 1)
    ridge = np.full(d + 1, l2 * n)
    ridge[-1] = 1e-9 * n
    for _ in range(iters):
        p = 1 / (1 + np.exp(-np.clip(xa @ theta, -40, 40)))
        grad = xa.T @ (p - y) + ridge * theta
        hess = (xa * (p * (1 - p))[:, None]).T @ xa + np.diag(ridge)
        step = np.linalg.solve(hess, grad)
        theta -= step
        if np.abs(step).max() < 1e-8:
            break
    return theta[:-1], float(theta[-1])


def fit_platt(logits: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Platt scaling ``(a, b)`` for one detector's raw logits on held-out faces."""
    w, b = fit_logistic(np.asarray(logits, np.float64)[:, None], labels)
    return float(w[0]), b
