"""Read dlib's serialised networks (the ``.dat`` files of ``face_recognition_models``) with numpy.

dlib writes a network object by object in its own binary format (``dlib/serialize.h``):

- integers: one control byte (low 4 bits: how many value bytes follow, bit 7: negative), then
  the value bytes, least significant first;
- strings: length as an integer, then the bytes;
- ``bool``: the character ``'0'`` or ``'1'``;
- ``float``/``double``: a mantissa (int64) and an exponent (int16), value = mantissa·2^exponent;
- tensors: version 2, then num_samples, k, nr, nc and the values as little-endian float32.

A network ``add_loss_layer<LOSS, add_layer<L_top, ... add_layer<L_bottom, INPUT>>>`` is written
outer object first, but every ``add_layer`` writes its *subnetwork* before its own layer, so
the file holds: loss version, loss layer, then the version numbers of all wrappers from the top
down, the input layer, and then the layers from the bottom (next to the input) up, each
followed by its bookkeeping flags and cached tensors. Tag and skip wrappers (``tag1``,
``skip1``) write only their version: which tag a layer refers to is a C++ template argument and
is not in the file, so the networks in :mod:`.embedder` and :mod:`.mmod` state their
architecture and check the layer sequence read here against it.
"""

from __future__ import annotations

import builtins
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from twoface.errors import TwofaceError


class _Truncated(Exception):
    """Raised inside the reader; turned into a one-line :class:`TwofaceError` at the top."""


class _Foreign(Exception):
    """Raised inside the reader for bytes that are not what dlib would have written."""


@dataclass(frozen=True)
class DlibLayer:
    """One computational layer as read from the file.

    ``kind`` is dlib's layer name without its version suffix (``con``, ``affine``, ``relu``,
    ``max_pool``, ``avg_pool``, ``add_prev``, ``fc``); ``arrays`` hold float32 numpy arrays
    (``weight``, ``bias``, ``gamma``, ``beta``) and ``ints`` the geometry (``stride``, ``pad``,
    ``size`` ...), both in dlib's NCHW convention.
    """

    kind: str
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    ints: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class DlibNet:
    """A whole network: its loss layer, input layer and computational layers, bottom first.

    ``wrappers`` lists the versions of the wrapper objects from the top of the network down,
    without the one over the input layer: 2 is an ``add_layer`` (it owns the next layer in
    ``layers``, counted from the top), 1 a ``tag``/``skip`` wrapper (it owns nothing).
    """

    path: Path
    loss: str
    loss_options: dict[str, Any]
    input: str
    input_options: dict[str, Any]
    layers: list[DlibLayer]
    wrappers: list[int]


class _Reader:
    """A cursor over the file's bytes with dlib's primitive decoders."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise _Truncated
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def int(self) -> int:
        control = self._take(1)[0]
        size = control & 0x0F
        if size > 8 or control & 0x70:
            raise _Foreign(f"bad integer control byte 0x{control:02x} at byte {self.pos - 1}")
        value = int.from_bytes(self._take(size), "little") if size else 0
        return -value if control & 0x80 else value

    def float(self) -> float:
        mantissa, exponent = self.int(), self.int()
        # float_details marks infinities and NaN with these exponents.
        special = {32000: np.inf, 32001: -np.inf, 32002: np.nan}
        return float(special[exponent]) if exponent in special else float(
            np.ldexp(np.float64(mantissa), exponent))

    def string(self, limit: builtins.int = 256) -> str:
        n = self.int()
        if not 0 <= n <= limit:
            raise _Foreign(f"implausible string length {n} at byte {self.pos}")
        raw = self._take(n)
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError as e:
            raise _Foreign(f"non-text name at byte {self.pos - n}") from e

    def bool(self) -> bool:
        ch = self._take(1)
        if ch not in (b"0", b"1"):
            raise _Foreign(f"bad bool byte {ch!r} at byte {self.pos - 1}")
        return ch == b"1"

    def tensor(self) -> np.ndarray:
        """A ``resizable_tensor``: returns float32 of shape (num_samples, k, nr, nc)."""
        version = self.int()
        if version != 2:
            raise _Foreign(f"tensor version {version} (only version 2 is read)")
        shape = tuple(self.int() for _ in range(4))
        count = int(np.prod(shape, dtype=np.int64))
        if min(shape) < 0 or count * 4 > len(self.data):
            raise _Foreign(f"implausible tensor shape {shape}")
        raw = self._take(4 * count)
        return np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(shape)

    def alias(self) -> tuple[builtins.int, builtins.int, builtins.int, builtins.int]:
        """An ``alias_tensor``: only its shape (num_samples, k, nr, nc) is stored."""
        if self.int() != 1:
            raise _Foreign("unexpected alias_tensor version")
        n, k, nr, nc = (self.int() for _ in range(4))
        return n, k, nr, nc

    def peek_string(self, prefix: bytes) -> builtins.bool:
        """True when a string starting with ``prefix`` comes next (without moving)."""
        pos = self.pos
        try:
            n = self.int()
            return 0 < n < 256 and self.data[self.pos:self.pos + len(prefix)] == prefix
        except (_Truncated, _Foreign):
            return False
        finally:
            self.pos = pos


def _layer(r: _Reader) -> DlibLayer:
    """One layer's details: the versioned name, then its fields as that layer writes them."""
    name = r.string()
    if name == "con_4":
        params = r.tensor().reshape(-1)
        num_filters, nr, nc = r.int(), r.int(), r.int()
        stride_y, stride_x, pad_y, pad_x = r.int(), r.int(), r.int(), r.int()
        filt, _bias = r.alias(), r.alias()
        for _ in range(4):  # learning-rate and weight-decay multipliers
            r.float()
        if filt[0] != num_filters or filt[2:] != (nr, nc) or params.size != np.prod(filt) + filt[0]:
            raise _Foreign("con_ parameter sizes do not add up")
        weight = params[:np.prod(filt)].reshape(filt)
        return DlibLayer("con", {"weight": weight, "bias": params[np.prod(filt):].copy()},
                         {"stride_y": stride_y, "stride_x": stride_x, "pad_y": pad_y,
                          "pad_x": pad_x})
    if name == "affine_":
        params = r.tensor().reshape(-1)
        gamma, _beta = r.alias(), r.alias()
        mode = r.int()
        n = int(np.prod(gamma))
        return DlibLayer("affine", {"gamma": params[:n].copy(), "beta": params[n:2 * n].copy()},
                         {"conv_mode": int(mode == 0)})
    if name in ("bn_con2", "bn_fc2"):
        params = r.tensor().reshape(-1)
        gamma_shape, _beta = r.alias(), r.alias()
        _means, _invstds = r.tensor(), r.tensor()
        running_means, running_vars = r.tensor().reshape(-1), r.tensor().reshape(-1)
        r.int(), r.int()  # num_updates, running_stats_window_size
        for _ in range(4):
            r.float()
        eps = np.float32(r.float())
        n = int(np.prod(gamma_shape))
        # dlib's affine_ reads a bn_ layer by folding the running statistics into gamma and
        # beta, in float32 as it does: g = gamma/sqrt(var+eps), b = beta - g*mean.
        g = params[:n] * (np.float32(1) / np.sqrt(running_vars + eps))
        b = params[n:2 * n] - g * running_means
        return DlibLayer("affine", {"gamma": g.astype(np.float32), "beta": b.astype(np.float32)},
                         {"conv_mode": int(name == "bn_con2")})
    if name == "relu_":
        return DlibLayer("relu")
    if name == "add_prev_":
        return DlibLayer("add_prev")
    if name in ("max_pool_2", "avg_pool_2"):
        nr, nc, stride_y, stride_x, pad_y, pad_x = (r.int() for _ in range(6))
        return DlibLayer(name[:-2], {}, {"nr": nr, "nc": nc, "stride_y": stride_y,
                                         "stride_x": stride_x, "pad_y": pad_y, "pad_x": pad_x})
    if name == "fc_2":
        num_outputs, num_inputs = r.int(), r.int()
        params = r.tensor().reshape(-1)
        _weights, _biases = r.alias(), r.alias()
        bias_mode = r.int()
        for _ in range(4):
            r.float()
        n = num_inputs * num_outputs
        # dlib multiplies the input rows by a (num_inputs x num_outputs) matrix.
        arrays = {"weight": params[:n].reshape(num_inputs, num_outputs).copy()}
        if bias_mode == 0:
            arrays["bias"] = params[n:n + num_outputs].copy()
        return DlibLayer("fc", arrays, {"num_outputs": num_outputs})
    raise _Foreign(f"unsupported dlib layer {name!r}")


def _input_layer(r: _Reader) -> tuple[str, dict[str, Any]]:
    name = r.string()
    if not name.startswith("input_rgb_image"):
        raise _Foreign(f"unsupported dlib input layer {name!r}")
    opts: dict[str, Any] = {"avg_rgb": (r.float(), r.float(), r.float())}
    if name == "input_rgb_image_sized":
        opts["nr"], opts["nc"] = r.int(), r.int()
    elif name == "input_rgb_image_pyramid2":
        opts["padding"], opts["outer_padding"] = r.int(), r.int()
        name = "input_rgb_image_pyramid"
    elif name == "input_rgb_image_pyramid":
        # The first version of this layer did not store its padding; dlib then uses these.
        opts["padding"], opts["outer_padding"] = 10, 11
    return name, opts


def _loss_layer(r: _Reader) -> tuple[str, dict[str, Any]]:
    name = r.string()
    if name == "loss_metric_2":
        return "loss_metric", {"margin": r.float(), "distance_threshold": r.float()}
    if name == "loss_mmod_":
        version = r.int()
        if not 1 <= version <= 4:
            raise _Foreign(f"unsupported mmod_options version {version}")
        if version == 1:
            windows = [(r.int(), r.int())]
        else:
            windows = []
            for _ in range(r.int()):
                window_version = r.int()
                windows.append((r.int(), r.int()))
                if window_version >= 2:
                    r.string()  # the window's label
        opts: dict[str, Any] = {"windows": windows}
        for key in ("loss_per_false_alarm", "loss_per_missed_target", "truth_match_iou"):
            opts[key] = r.float()
        opts["nms_iou"], opts["nms_covered"] = r.float(), r.float()
        opts["ignore_iou"], opts["ignore_covered"] = r.float(), r.float()
        if version >= 3:
            r._take(1)  # assume_image_pyramid (a uint8)
        opts["bbr"] = r.bool() if version >= 4 else False
        if version >= 4:
            r.float()
        return "loss_mmod", opts
    raise _Foreign(f"unsupported dlib loss layer {name!r}")


def _skip_layer_bookkeeping(r: _Reader, version: int, over_input: bool) -> None:
    """The flags and cached tensors an ``add_layer`` writes after its layer (unused here)."""
    for _ in range(3):  # setup called, gradient stale, output getters disabled
        r.bool()
    r.tensor(), r.tensor()  # x_grad, cached_output
    if over_input:
        r.tensor()  # grad_final
        if version >= 3:
            r.int()  # sample expansion factor
    elif version >= 2:
        r.tensor()  # params_grad


def read_dat(path: str | Path) -> DlibNet:
    """Parse a dlib network file into numpy arrays.

    Raises :class:`TwofaceError` naming the file when it is missing, truncated, or not a dlib
    network of the kind read here (a loss layer over ``add_layer``/``tag``/``skip`` wrappers
    and an ``input_rgb_image*`` input layer).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise TwofaceError(path, f"cannot read dlib network file ({e.strerror or e})") from e
    r = _Reader(data)
    what = "the loss layer header"
    try:
        if r.int() != 1 or not r.peek_string(b"loss_"):
            raise _Foreign("no dlib loss layer at the start")
        loss, loss_options = _loss_layer(r)
        what = "the layer wrappers"
        wrappers: list[int] = []
        while not r.peek_string(b"input"):
            wrappers.append(r.int())
            if len(wrappers) > 10_000 or wrappers[-1] not in (1, 2, 3):
                raise _Foreign("no input layer after the layer wrappers")
        input_version = wrappers.pop()
        what = "the input layer"
        input_name, input_options = _input_layer(r)
        layers: list[DlibLayer] = []
        n_layers = 1 + sum(v == 2 for v in wrappers)
        for i in range(n_layers):
            what = f"layer {i} of {n_layers}"
            layers.append(_layer(r))
            _skip_layer_bookkeeping(r, input_version if i == 0 else 2, over_input=i == 0)
        if r.pos != len(data):
            raise _Foreign(f"{len(data) - r.pos} unread bytes after the last layer")
    except _Truncated:
        raise TwofaceError(path, f"truncated dlib network file: it ends at byte {len(data)} "
                                 f"while reading {what}") from None
    except _Foreign as e:
        raise TwofaceError(path, f"not a dlib network file this reader knows: {e} "
                                 f"(while reading {what})") from None
    return DlibNet(path, loss, loss_options, input_name, input_options, layers, wrappers)


def weights_path(name: str, path: str | Path | None = None) -> Path:
    """Where a dlib network file is: ``path`` itself, ``path/name`` when ``path`` is a folder,
    or by default ``name`` in the ``face_recognition_models`` package.

    The package is located without being imported: importing it pulls in the deprecated
    ``pkg_resources`` only to compute this same path.
    """
    if path is not None:
        path = Path(path)
        return path / name if path.is_dir() else path
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise TwofaceError("face_recognition_models", "package not installed, so dlib's "
                           f"{name} is not here; pass path= (the file or its folder)")
    return Path(next(iter(spec.submodule_search_locations))) / "models" / name
