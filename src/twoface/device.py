"""Which torch device a job runs on: the one asked for, else CUDA when present, else the CPU."""

from __future__ import annotations

import torch

from twoface.errors import TwofaceError


def pick_device(name: str | None) -> torch.device:
    """The device called ``name`` (``cpu``, ``cuda``, ``cuda:1``), else CUDA when present."""
    if not name:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise TwofaceError(None, f"--device {name!r}: not a device name (cpu, cuda, cuda:N)"
                           ) from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise TwofaceError(None, f"--device {name!r}: this torch build sees no CUDA GPU")
    return device
