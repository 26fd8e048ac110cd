"""Atomic checkpoints in safetensors: resume exactly, never unpickle.

A run folder holds::

    config.json         kind, name and config of the model
    model.safetensors   the weights alone (what inference loads)
    state.safetensors   weights + every optimizer's state + step + RNG states (what resume loads)

``state.safetensors`` is self-contained and written first, so a kill between the two files
still leaves a consistent checkpoint to resume from; each file is replaced atomically.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from twoface.errors import TwofaceError
from twoface.fileio import atomic_path
from twoface.models.base import TrainableModel
from twoface.models.registry import load_tensors, load_weights, save_pretrained

STATE = "state.safetensors"


def save_checkpoint(folder: str | Path, model: TrainableModel,
                    optimizers: Mapping[str, torch.optim.Optimizer], step: int) -> None:
    """Write ``state.safetensors`` then ``model.safetensors`` and ``config.json``."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, torch.Tensor] = {
        f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    groups: dict[str, list] = {}
    for name, opt in optimizers.items():
        sd = opt.state_dict()
        groups[name] = sd["param_groups"]
        for idx, st in sd["state"].items():
            for key, val in st.items():
                t = val if torch.is_tensor(val) else torch.tensor(val)
                tensors[f"optim.{name}.{idx}.{key}"] = t.detach().cpu().contiguous()
    tensors["rng.torch"] = torch.get_rng_state()
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = s
    meta = {"step": str(step), "param_groups": json.dumps(groups)}
    with atomic_path(folder / STATE) as tmp:
        save_file(tensors, str(tmp), metadata=meta)
    save_pretrained(model, folder)


def load_checkpoint(folder: str | Path, model: nn.Module,
                    optimizers: Mapping[str, torch.optim.Optimizer]) -> int:
    """Restore weights, optimizer states and RNG states from ``folder``; returns the step."""
    from safetensors import safe_open

    path = Path(folder) / STATE
    tensors = load_tensors(path)
    try:
        with safe_open(str(path), "pt") as fh:
            meta = fh.metadata() or {}
        step = int(meta["step"])
        groups = json.loads(meta["param_groups"])
    except (KeyError, ValueError, json.JSONDecodeError):
        raise TwofaceError(path, "not a twoface training state (metadata missing)") from None
    load_weights(model, {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}, path)
    device = next(model.parameters()).device
    for name, opt in optimizers.items():
        if name not in groups:
            raise TwofaceError(path, f"has no state for optimizer {name!r} (trained with "
                               "other options, e.g. without --gan?)")
        state: dict[int, dict[str, torch.Tensor]] = {}
        prefix = f"optim.{name}."
        for k, v in tensors.items():
            if k.startswith(prefix):
                idx, key = k[len(prefix):].split(".", 1)
                # Adam's step counter stays on the CPU; moments live with the parameters.
                state.setdefault(int(idx), {})[key] = v if key == "step" else v.to(device)
        try:
            opt.load_state_dict({"state": state, "param_groups": groups[name]})
        except (ValueError, KeyError) as exc:
            raise TwofaceError(path, f"optimizer state does not fit: {exc}") from None
    torch.set_rng_state(tensors["rng.torch"])
    cuda = [tensors[k] for k in sorted(tensors) if k.startswith("rng.cuda.")]
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)
    return step


def checkpoint_step(folder: str | Path) -> int | None:
    """The step of the checkpoint in ``folder``, or None when there is none."""
    from safetensors import SafetensorError, safe_open

    path = Path(folder) / STATE
    if not path.is_file():
        return None
    try:
        with safe_open(str(path), "pt") as fh:
            return int((fh.metadata() or {})["step"])
    except (SafetensorError, OSError, KeyError, ValueError):
        raise TwofaceError(path, "corrupt or truncated training state") from None


def new_or_resumed(kind: str, run_dir: str | Path, *, model: str | None, default: str,
                   config: dict[str, Any], resume: bool) -> TrainableModel:
    """The model a training command should train: on ``resume`` with a checkpoint in
    ``run_dir``, the saved model rebuilt from its ``config.json``; otherwise a new ``model``
    (or ``default``) of ``kind`` with ``config``.

    A resume that asks for another model or another value of a config field is refused
    rather than silently ignored: the checkpoint's weights only fit the saved shapes.
    """
    from twoface.models.registry import create, read_config, trained_config, with_legacy

    run_dir = Path(run_dir)
    if not (resume and (run_dir / STATE).is_file()):
        return create(kind, model or default, **config)
    saved = read_config(run_dir, kind)
    if model is not None and model != saved["name"]:
        raise TwofaceError(run_dir, f"holds a {saved['name']!r} model; cannot resume it "
                           f"as {model!r}")
    net = with_legacy(create(kind, saved["name"], **saved["config"]), saved["config"])
    trained = trained_config(net, saved["config"])  # fields it predates: their legacy values
    for k, v in config.items():
        if trained.get(k) != v:
            raise TwofaceError(run_dir, f"was trained with {k}={trained.get(k)}; "
                               f"cannot resume with {k}={v}")
    return net
