"""One marking API for every generator: watermark the pixels, sign the file.

Writers of generated media call one of::

    img = mark_image(img, prov)                    # pixels: watermark (+ visible label)
    mark_file(path, prov)                          # file on disk: signed manifest or sidecar
    write_marked_image(path, img, prov)            # image: watermarked, signed, then in place
    with MarkedVideoWriter(path, fps, prov) as w:  # video: every frame marked, then signed
        w.write(frame)
    mark_video_file(src, dst, prov)                # an existing video, re-encoded marked

The writers sign the finished temporary file before it takes the target's place: where the
format embeds a manifest (PNG, JPEG, MP4, MOV …) into that file, otherwise (BMP, MKV, AVI)
into a sidecar ``FILE.c2pa`` written beside the target first. So a generated file never
appears on disk watermarked but unsigned, even if the process is killed.

Marking is on by default; a command that lets the user opt out takes an explicit ``--no-mark``
and calls :func:`warn_no_mark`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import cv2
import numpy as np
from rich.console import Console

from twoface import __version__
from twoface.errors import TwofaceError
from twoface.provenance.content import content_hash
from twoface.provenance.keys import SigningKeys, ensure_keys
from twoface.provenance.manifest import sign_file
from twoface.provenance.payload import WatermarkPayload
from twoface.provenance.watermark import TARGET_RMS, TiledScheme, get_scheme
from twoface.types import Image

STRONGER = (1.5, 2.0)  # watermark strengths tried, in turn, when a picture hides the mark
NO_MARK_WARNING = ("warning: --no-mark: this output carries NO watermark and NO signed "
                   "manifest; nothing will show it is synthetic. Label it yourself before "
                   "sharing it.")


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class Provenance:
    """Where a piece of generated media came from; fills both the watermark and the manifest.

    ``model_fingerprint`` is a hex digest of the model's weights (:func:`sha256_file` of
    ``model.safetensors``); ``inputs`` maps each input's file name to its SHA-256;
    ``consent_sha256`` is the hash of a consent record, when one was given.
    """

    method: str
    model_fingerprint: str = ""
    inputs: dict[str, str] = field(default_factory=dict)
    consent_sha256: str | None = None
    label: str | None = None
    created: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    scheme: str = "tiled"

    @staticmethod
    def from_files(method: str, inputs: Iterable[str | Path] = (), *,
                   model: str | Path | None = None, consent: str | Path | None = None,
                   label: str | None = None) -> Provenance:
        """Hash the input files, the model weights (a file, or a folder's
        ``model.safetensors``) and the consent record into a :class:`Provenance`."""
        fingerprint = ""
        if model is not None:
            model = Path(model)
            weights = model / "model.safetensors" if model.is_dir() else model
            if not weights.is_file():
                raise TwofaceError(weights, "model weights not found (give a model folder or a "
                                   "weights file)")
            fingerprint = sha256_file(weights)
        return Provenance(method=method, model_fingerprint=fingerprint,
                          inputs={Path(p).name: sha256_file(p) for p in inputs},
                          consent_sha256=None if consent is None else sha256_file(consent),
                          label=label)

    def payload(self, content: int | None = None) -> WatermarkPayload:
        """The watermark payload; ``content`` is the marked picture's hash
        (:func:`twoface.provenance.content.content_hash`): writers always give it, so marks
        are bound to their picture (layout 2)."""
        return WatermarkPayload.make(self.method, self.model_fingerprint, self.created,
                                     content=content)

    def claims(self) -> dict[str, Any]:
        """The ``org.twoface.provenance`` assertion."""
        out: dict[str, Any] = {
            "twoface_version": __version__,
            "method": self.method,
            "model_fingerprint": self.model_fingerprint or None,
            "inputs": [{"name": n, "sha256": h} for n, h in sorted(self.inputs.items())],
            "created": self.created.astimezone(dt.UTC).isoformat(timespec="seconds"),
            "watermark": {"scheme": self.scheme, "bound_to_content": True,
                          "payload": {k: v for k, v in self.payload(0).to_dict().items()
                                      if k != "content_hash"}},
        }
        if self.consent_sha256:
            out["consent_sha256"] = self.consent_sha256
        if self.label:
            out["label"] = self.label
        return out


def burn_label(img: Image, text: str) -> Image:
    """Write ``text`` in the bottom-right corner on a dark box (visible disclosure)."""
    out = img.copy()
    h, w = out.shape[:2]
    scale = max(0.35, min(h, w) / 900)
    thick = max(1, round(scale * 2))
    font = cv2.FONT_HERSHEY_SIMPLEX
    (tw, th), base = cv2.getTextSize(text, font, scale, thick)
    pad = max(3, round(6 * scale))
    x1, y1 = w - pad, h - pad
    x0, y0 = max(0, x1 - tw - 2 * pad), max(0, y1 - th - base - 2 * pad)
    box = out[y0:y1, x0:x1].astype(np.float32)
    out[y0:y1, x0:x1] = (box * 0.35).astype(np.uint8)  # darken so the text reads anywhere
    cv2.putText(out, text, (x0 + pad, y1 - pad - base), font, scale, (255, 255, 255), thick,
                cv2.LINE_AA)
    return out


def mark_image(img: Image, prov: Provenance, *, visible: bool | None = None) -> Image:
    """Embed the invisible watermark; burn ``prov.label`` into a corner first when given
    (``visible=False`` skips the label even then)."""
    if prov.label and visible is not False:
        img = burn_label(img, prov.label)
    payload = prov.payload(content_hash(img))
    out = get_scheme(prov.scheme).embed(img, payload)
    if prov.scheme != "tiled":
        return out
    # Check the mark reads back; a rare picture hides it at the usual strength (1 in 35 of
    # the shared stills did): embed again stronger, and fail loudly rather than ship media
    # that claims to be marked and is not.
    for gain in STRONGER:
        found = get_scheme(prov.scheme).detect(out)
        if found.detected and found.payload == payload:
            return out
        out = TiledScheme(target_rms=TARGET_RMS * gain).embed(img, payload)
    found = get_scheme(prov.scheme).detect(out)
    if found.detected and found.payload == payload:
        return out
    raise TwofaceError(None, "the watermark does not read back from this picture even at "
                       f"{STRONGER[-1]:g}× strength; nothing was written")


def signing_keys(keys: SigningKeys | None = None, home: str | Path | None = None,
                 console: Console | None = None) -> SigningKeys:
    """``keys``, else the keys in ``home`` (default home), made on first use with one line
    saying so. Load them once before marking many files."""
    if keys is not None:
        return keys
    keys, created = ensure_keys(home)
    if created:
        (console or Console(stderr=True)).print(
            f"created signing keys in {keys.folder} (first use)", highlight=False)
    return keys


def mark_file(path: str | Path, prov: Provenance, keys: SigningKeys | None = None, *,
              home: str | Path | None = None, sidecar: bool | None = None,
              final: str | Path | None = None) -> Path:
    """Sign ``path`` with a C2PA manifest for ``prov``: embedded when the format allows it,
    else a sidecar ``FILE.c2pa``. ``final``: the name a temporary ``path`` is about to take
    (see :func:`twoface.provenance.manifest.sign_file`). Returns the file holding the
    manifest."""
    return sign_file(path, prov.claims(), signing_keys(keys, home), version=__version__,
                     sidecar=sidecar, final=final)


def write_marked_image(path: str | Path, image: Image, prov: Provenance, *,
                       keys: SigningKeys | None = None, home: str | Path | None = None,
                       quality: int = 95) -> Path:
    """Watermark ``image``, write it to ``path`` and sign it; returns the file holding the
    manifest. The temporary file is signed (or its sidecar written) before it replaces
    ``path``."""
    from twoface.media import write_image

    path, signer = Path(path), signing_keys(keys, home)
    holder: list[Path] = []
    write_image(path, mark_image(image, prov), quality=quality,
                finish=lambda tmp: holder.append(mark_file(tmp, prov, signer, final=path)))
    return holder[0]


class MarkedVideoWriter:
    """A :class:`twoface.media.VideoWriter` that watermarks every frame and signs the result.

    Same arguments as ``VideoWriter`` plus the provenance; ``keys=None`` uses (or creates) the
    keys in the default home.
    """

    def __init__(self, path: str | Path, fps: float, prov: Provenance, *,
                 keys: SigningKeys | None = None, home: str | Path | None = None,
                 crf: int = 18, audio_from: str | Path | None = None) -> None:
        from twoface.media import VideoWriter

        self.path, self.prov = Path(path), prov
        self._keys = signing_keys(keys, home)
        # The finished temporary file is signed (or its sidecar written) before the rename.
        self._writer = VideoWriter(self.path, fps, crf=crf, audio_from=audio_from,
                                   finish=self._sign_tmp)
        self._scheme = get_scheme(prov.scheme)
        self._state: dict = {}
        self._payload: WatermarkPayload | None = None  # bound to the first frame's content
        self._holder: Path | None = None  # set when the temporary file is signed
        self.manifest_path: Path | None = None  # set by close(): the file or its sidecar

    def write(self, img: Image, time: float | None = None) -> None:
        if self.prov.label:
            img = burn_label(img, self.prov.label)
        if self._payload is None:
            self._payload = self.prov.payload(content_hash(img))
        self._writer.write(self._scheme.embed(img, self._payload, self._state), time)

    def close(self) -> Path | None:
        """Finish the video and sign it; returns the file holding the manifest (None when
        an earlier failure already aborted the writing)."""
        if self.manifest_path is None:
            self._writer.close()  # signs the finished temporary file (_sign_tmp) first
            self.manifest_path = self._holder
        return self.manifest_path

    def _sign_tmp(self, tmp: Path) -> None:
        self._holder = mark_file(tmp, self.prov, self._keys, final=self.path)

    def __enter__(self) -> MarkedVideoWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc is None:
            self.close()
        else:
            self._writer.__exit__(exc_type, exc, tb)


def mark_video_file(src: str | Path, dst: str | Path, prov: Provenance, *,
                    keys: SigningKeys | None = None, home: str | Path | None = None,
                    crf: int = 18, progress: bool = True) -> Path:
    """Re-encode the video ``src`` to ``dst`` with every frame watermarked and audio kept,
    then sign ``dst``; returns the file holding the manifest (``dst`` or its sidecar)."""
    from twoface.media import iter_frames, probe
    from twoface.progress import progress_bar

    info = probe(src)
    with progress_bar(enabled=progress) as bar:
        task = bar.add_task(f"marking {Path(src).name}", total=info.frame_count or None,
                            unit="frames")
        with MarkedVideoWriter(dst, info.fps or 25, prov, keys=keys, home=home, crf=crf,
                               audio_from=src if info.has_audio else None) as writer:
            for frame in iter_frames(src):
                writer.write(frame.image, frame.time)
                bar.advance(task)
    assert writer.manifest_path is not None
    return writer.manifest_path


def warn_no_mark(console: Console | None = None) -> None:
    """Print the warning every ``--no-mark`` run must show (on stderr)."""
    (console or Console(stderr=True)).print(f"[bold yellow]{NO_MARK_WARNING}[/]",
                                            highlight=False)
