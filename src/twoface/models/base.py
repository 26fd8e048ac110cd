"""The written contract between a model and the one training loop (:mod:`twoface.train.loop`).

Every registered model is a :class:`TrainableModel`: it names its optimisers and their
parameters (:meth:`~TrainableModel.optim_groups`) and returns its own losses for a batch
(:meth:`~TrainableModel.training_step`, FOMM's "the model returns its losses"). The hooks with
defaults here are what a model may add: Adam's betas, an update after the optimisers
(:meth:`~TrainableModel.after_step`, e.g. a GAN's EMA of its generator) and a preview image.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import torch
from torch import nn

OptimGroups = dict[str, tuple[list[Any], float]]  # parameters, or parameter-group dicts
"""Loss key → (the parameters that key's optimiser steps, its learning rate). The parameters
may also be torch parameter groups (``{"params": [...], "lr": ...}``) for parts of a model
that learn at another rate, e.g. a pretrained trunk."""


class TrainableModel(nn.Module, ABC):
    """A model the loop can train; ``create`` sets ``kind`` and ``name``, the model its
    ``config`` (a dataclass: saved as ``config.json`` beside the weights)."""

    kind: str
    name: str
    config: Any
    # β1 = 0.5 suits adversarial training (every GAN here); a plain reconstruction may ask
    # for the usual (0.9, 0.999).
    adam_betas: tuple[float, float] = (0.5, 0.999)

    @abstractmethod
    def optim_groups(self) -> OptimGroups:
        """One AdamW per key, stepped in this order, each on ``losses[key]``."""

    @abstractmethod
    def training_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The losses of one batch: one per :meth:`optim_groups` key (``loss`` first), plus any
        others worth logging (detached)."""

    def after_step(self, step: int) -> None:
        """Called after the optimisers of step ``step`` (1-based) have stepped."""

    def preview(self, batch: dict[str, torch.Tensor]) -> torch.Tensor | None:
        """A ``(3, H, W)`` image in [0, 1] showing what the model does with ``batch``, or
        ``None`` for no preview."""
        return None
