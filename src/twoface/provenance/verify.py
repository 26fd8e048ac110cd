"""``twoface verify``'s engine: manifest state, watermark, and a one-line verdict per file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from twoface.errors import MediaError, TwofaceError
from twoface.provenance.keys import trust_anchor
from twoface.provenance.manifest import ManifestReport, read_manifest
from twoface.provenance.watermark import Detection, get_scheme, scheme_names

VIDEO_FRAMES = 24  # frames sampled evenly across a video for the vote


def detect_file(path: str | Path, *, scheme: str = "tiled", frames: int = VIDEO_FRAMES
                ) -> Detection:
    """Decode the watermark of an image, or of a video by a vote over ``frames`` frames
    spread across it (raises MediaError when the pixels cannot be read)."""
    from twoface.media import iter_frames, media_kind, probe, read_image

    path = Path(path)
    wm = get_scheme(scheme)
    if media_kind(path) == "image":
        return wm.detect(read_image(path))
    info = probe(path)
    every = max(1, (info.frame_count or frames) // frames)
    images: list[np.ndarray] = []
    for frame in iter_frames(path, every=every):
        images.append(frame.image)
        if len(images) >= frames:
            break
    if not images:
        raise MediaError(path, "no frames could be decoded")
    return wm.detect_frames(images)


def verdict(manifest: ManifestReport, mark: Detection) -> str:
    """One line a person can act on."""
    what = ""
    if mark.detected and mark.payload is not None:
        p = mark.payload
        what = f"{p.method_name}, model {p.model:06x}, made {p.date.isoformat()}"
    if manifest.state in ("trusted", "valid"):
        signer = "a trusted signer" if manifest.state == "trusted" else "an untrusted signer"
        method = manifest.claims.get("method", "?")
        tail = "watermark agrees" if mark.detected else "no watermark found"
        return f"synthetic: signed by {signer} as made by twoface ({method}); {tail}"
    if manifest.state == "invalid":
        if mark.detected:
            return (f"tampered: manifest does not match the file ({manifest.reason}); "
                    f"watermark says made by twoface ({what})")
        return f"tampered or damaged: manifest invalid ({manifest.reason}); no watermark found"
    if mark.detected:
        return f"synthetic: twoface watermark ({what}); no manifest (stripped or re-encoded)"
    return "no provenance found: no manifest, no twoface watermark (this does not prove it real)"


def verify_file(path: str | Path, *, home: str | Path | None = None,
                anchors: bytes | None = None, scheme: str = "tiled",
                frames: int = VIDEO_FRAMES) -> dict[str, Any]:
    """The report ``twoface verify --json`` prints for one file.

    Trust anchors: ``anchors`` (PEM) plus the local root under ``home``. Raises
    :class:`TwofaceError` when the file cannot be read as media at all.
    """
    path = Path(path)
    if not path.is_file():
        raise MediaError(path, "does not exist" if not path.exists() else "is not a file")
    if scheme not in scheme_names():
        raise TwofaceError(None, f"unknown watermark scheme {scheme!r}")
    from twoface.media import media_kind

    media_kind(path)  # not an image or video: say so before anything else
    roots = b"".join(x for x in (anchors, trust_anchor(home)) if x) or None
    manifest = read_manifest(path, anchors=roots)
    mark = detect_file(path, scheme=scheme, frames=frames)
    wm: dict[str, Any] = {"detected": mark.detected,
                          "payload": mark.payload.to_dict() if mark.payload else None,
                          "confidence": round(mark.confidence, 3)}
    wm.update({k: v for k, v in mark.to_dict().items() if k in ("bit_errors", "sync", "frames")})
    return {"file": str(path), "manifest": manifest.to_dict(), "watermark": wm,
            "verdict": verdict(manifest, mark)}
