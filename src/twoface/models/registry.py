"""Models registered by kind and name; saving and loading model folders.

A model folder holds ``config.json`` (``{"kind", "name", "config": {dataclass fields}}``) and
``model.safetensors`` (the weights). Nothing is pickled: a folder from an untrusted source can
at worst fail to load.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, fields
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
from torch import nn

from twoface.errors import TwofaceError
from twoface.fileio import atomic_path, atomic_write_json
from twoface.models.base import TrainableModel

Factory = Callable[..., TrainableModel]
# Filled once, when model_files() first imports the model files, by their @register
# decorators (timm's habit); read-only afterwards.
_FACTORIES: dict[tuple[str, str], Factory] = {}


def register(kind: str, name: str) -> Callable[[Factory], Factory]:
    """Register a factory ``(**config_fields) -> TrainableModel`` as model ``name`` of
    ``kind``."""

    def wrap(fn: Factory) -> Factory:
        if (kind, name) in _FACTORIES:
            raise ValueError(f"model {kind}/{name} registered twice")
        _FACTORIES[(kind, name)] = fn
        return fn

    return wrap


def model_files() -> tuple[ModuleType, ...]:
    """Every model file, imported: each registers its models as it loads, so :func:`names`
    and :func:`create` call this first (an explicit list: no plugin loading by name)."""
    from twoface.models import gan, motion, rerender, swap_ae
    from twoface.models.detectors import cnn, fusion, spectral

    return (cnn, fusion, gan, motion, rerender, spectral, swap_ae)


def names(kind: str) -> list[str]:
    """The registered model names of one kind, sorted."""
    model_files()
    return sorted(n for k, n in _FACTORIES if k == kind)


def kinds() -> list[str]:
    """Every kind some model is registered as, sorted."""
    model_files()
    return sorted({k for k, _ in _FACTORIES})


def create(kind: str, name: str, **cfg: Any) -> TrainableModel:
    """A new model ``kind/name``; ``cfg`` overrides fields of its config dataclass.

    The returned module has ``.config`` (a dataclass), ``.kind`` and ``.name``.
    """
    model_files()
    if (kind, name) not in _FACTORIES:
        raise TwofaceError(None, f"unknown {kind} model {name!r}; choose one of "
                           f"{', '.join(names(kind)) or '(none)'}")
    try:
        model = _FACTORIES[(kind, name)](**cfg)
    except NotImplementedError:  # building on the meta device what only real tensors allow
        raise
    except (TypeError, ValueError, AttributeError, KeyError, IndexError, OverflowError,
            ZeroDivisionError, RuntimeError) as exc:  # unknown field, wrong type, out of range
        raise TwofaceError(None, f"bad config for {kind} model {name!r}: "
                           f"{' '.join(str(exc).split())[:200]}") from None
    model.kind, model.name = kind, name
    return model


def config_dict(model: TrainableModel) -> dict[str, Any]:
    return {"kind": model.kind, "name": model.name, "config": asdict(model.config)}


def save_pretrained(model: TrainableModel, folder: str | Path) -> None:
    """Write ``config.json`` and ``model.safetensors`` into ``folder``, each atomically."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_json(folder / "config.json", config_dict(model))
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    with atomic_path(folder / "model.safetensors") as tmp:
        save_file(state, str(tmp), metadata={"kind": model.kind, "name": model.name})


def read_config(folder: str | Path, kind: str) -> dict[str, Any]:
    """The parsed ``config.json`` of a model folder, checked to be a ``kind`` model."""
    path = Path(folder) / "config.json"
    if not path.is_file():
        raise TwofaceError(folder, "not a model folder (no config.json)")
    try:
        doc = json.loads(path.read_text("utf-8"))
        found_kind, name, cfg = doc["kind"], doc["name"], dict(doc["config"])
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError,
            ValueError, RecursionError):
        raise TwofaceError(path, "unreadable model config") from None
    if not isinstance(name, str) or not all(isinstance(k, str) for k in cfg):
        raise TwofaceError(path, "unreadable model config (name and fields must be text)")
    bad = _odd_value(cfg)
    if bad:
        raise TwofaceError(path, f"bad model config: {bad}")
    if found_kind != kind:
        raise TwofaceError(folder, f"holds a {found_kind!r} model, not a {kind!r} model")
    return {"kind": found_kind, "name": name, "config": cfg}


def load_tensors(path: str | Path, device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """All tensors of a safetensors file; a damaged file is a one-line TwofaceError."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise TwofaceError(path, "missing")
    try:
        return load_file(str(path), device=str(device))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise TwofaceError(path, f"corrupt or truncated safetensors file ({exc})") from None


def trained_config(model: TrainableModel, saved: dict[str, Any]) -> dict[str, Any]:
    """The ``saved`` config of ``model``, plus the fields its config class gained after it was
    written, at the values in the class's ``LEGACY`` (how such a model was really trained)."""
    legacy = getattr(type(model.config), "LEGACY", {})
    return {**{k: v for k, v in legacy.items() if k not in saved}, **saved}


def with_legacy(model: TrainableModel, saved: dict[str, Any]) -> TrainableModel:
    """``model`` rebuilt from a ``saved`` config, with :func:`trained_config`'s legacy values
    rather than today's defaults, so that resuming it keeps its recipe."""
    for key, value in trained_config(model, saved).items():
        if key not in saved:
            setattr(model.config, key, value)
    return model


def from_pretrained(folder: str | Path, kind: str, *,
                    device: str | torch.device = "cpu") -> TrainableModel:
    """Rebuild the model saved in ``folder`` (which must hold a ``kind`` model)."""
    doc = read_config(folder, kind)
    weights = Path(folder) / "model.safetensors"
    shapes = tensor_shapes(weights)
    try:
        check_fits(kind, doc["name"], doc["config"], shapes, weights)
        model = with_legacy(create(kind, doc["name"], **doc["config"]), doc["config"])
    except TwofaceError as exc:
        raise TwofaceError(Path(folder) / "config.json", exc.problem) from None
    load_weights(model, load_tensors(weights, device), weights)
    return model.to(device)


def _odd_value(value: Any, depth: int = 0) -> str | None:
    """What no config field of twoface's holds: deep nesting, non-finite or huge numbers,
    very long text or lists."""
    if depth > 8:
        return "values nested too deep"
    if isinstance(value, float) and not math.isfinite(value):
        return "a number that is not finite"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**9:
        return f"the number {value} is out of range"
    if isinstance(value, str) and len(value) > 4096:
        return "a text value longer than 4096 characters"
    if isinstance(value, list | tuple):
        if len(value) > 4096:
            return "a list longer than 4096 items"
        return next((m for v in value if (m := _odd_value(v, depth + 1))), None)
    if isinstance(value, dict):
        return next((m for v in value.values() if (m := _odd_value(v, depth + 1))), None)
    return None


MAX_HEADER = 64 << 20  # a safetensors header larger than this is not a model of ours


def tensor_shapes(path: str | Path) -> dict[str, tuple[int, ...]]:
    """Each tensor's shape from a safetensors file's header alone (nothing allocated), with
    every offset checked to lie inside the file."""
    path = Path(path)
    if not path.is_file():
        raise TwofaceError(path, "missing")
    size = path.stat().st_size
    try:
        with open(path, "rb") as fh:
            n = int.from_bytes(fh.read(8), "little")
            if size < 8 or n <= 1 or n > min(MAX_HEADER, size - 8):
                raise ValueError(f"header length {n} does not fit a {size}-byte file")
            header = json.loads(fh.read(n))
        shapes: dict[str, tuple[int, ...]] = {}
        if not isinstance(header, dict):
            raise ValueError("header is not a JSON object")
        for key, info in header.items():
            if key == "__metadata__":
                continue
            shape = tuple(int(d) for d in info["shape"])
            start, end = (int(x) for x in info["data_offsets"])
            if any(d < 0 for d in shape) or not 0 <= start <= end <= size - 8 - n:
                raise ValueError(f"tensor {key!r} lies outside the file")
            shapes[key] = shape
        return shapes
    except (OSError, ValueError, TypeError, KeyError, RecursionError) as exc:
        raise TwofaceError(path, f"corrupt or truncated safetensors file ({exc})") from None


def check_fits(kind: str, name: str, cfg: dict[str, Any], shapes: dict[str, tuple[int, ...]],
               path: Path) -> None:
    """Build the model on PyTorch's meta device (shapes only, no memory) and refuse the
    config before anything is allocated when its tensors differ from the file's: a config
    that asks for a huge model cannot cost more than its weights file holds. Models that copy
    fixed pretrained parts while they are built cannot be built on meta; the strict load
    checks them afterwards."""
    try:
        with torch.device("meta"):
            probe = create(kind, name, **cfg)
    except NotImplementedError:
        return
    _compare({k: tuple(v.shape) for k, v in probe.state_dict().items()}, shapes, path)


def _compare(own: dict[str, tuple[int, ...]], state: dict[str, tuple[int, ...]],
             path: Path) -> None:
    missing = sorted(set(own) - set(state))
    extra = sorted(set(state) - set(own))
    shape = sorted(k for k in set(own) & set(state) if tuple(own[k]) != tuple(state[k]))
    if missing or extra or shape:
        what = "; ".join(f"{n} {len(ks)} (e.g. {ks[0]})" for n, ks in
                         (("missing", missing), ("unexpected", extra), ("wrong shape", shape))
                         if ks)
        raise TwofaceError(path, f"weights do not fit the model config: {what}")


def load_weights(model: nn.Module, state: dict[str, torch.Tensor], path: Path) -> None:
    """Load ``state`` into ``model`` strictly, as a TwofaceError when it does not fit."""
    _compare({k: tuple(v.shape) for k, v in model.state_dict().items()},
             {k: tuple(v.shape) for k, v in state.items()}, path)
    model.load_state_dict(state, strict=True)


def config_fields(cls: type) -> set[str]:
    return {f.name for f in fields(cls)}
