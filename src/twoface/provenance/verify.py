"""``twoface verify``'s engine: manifest state, watermark, and a one-line verdict per file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from twoface.errors import MediaError, TwofaceError
from twoface.provenance.content import MATCH_DISTANCE, content_hash, hash_distance
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
        image = read_image(path)
        return bind(wm.detect(image), image)
    info = probe(path)
    every = max(1, (info.frame_count or frames) // frames)
    images: list[np.ndarray] = []
    for frame in iter_frames(path, every=every):
        images.append(frame.image)
        if len(images) >= frames:
            break
    if not images:
        raise MediaError(path, "no frames could be decoded")
    return bind(wm.detect_frames(images), images[0])  # a video's mark is bound to frame 0


def bind(found: Detection, picture: np.ndarray) -> Detection:
    """Note in ``found.extra`` how far the content hash in its payload is from ``picture``'s
    (``content_distance``; absent for layout-1 marks, which carry no hash)."""
    if found.detected and found.payload is not None and found.payload.content is not None:
        here = content_hash(picture, found.scale)
        found.extra["content_distance"] = hash_distance(here, found.payload.content)
    return found


def copied(mark: Detection) -> bool:
    """A decoded mark whose content hash names another picture."""
    return mark.extra.get("content_distance", 0) > MATCH_DISTANCE


# What a file's provenance amounts to, and ``twoface verify``'s exit code for it.
STATUS_CODES: dict[str, int] = {
    "twoface": 0,  # twoface's assertion, signed by a trusted key (this install's or --trust)
    "watermark": 0,  # twoface's watermark, no manifest (stripped or re-encoded)
    "none": 1,  # no manifest, no watermark
    "foreign": 1,  # another tool's valid manifest: reported as what it says, not twoface's
    "unverified": 1,  # claims twoface, but signed by a key not trusted here
    "tampered": 3,  # manifest invalid: the file or the manifest changed after signing
    "copied": 3,  # twoface's watermark, but bound to another picture: lifted onto this one
}
SOURCE_TYPES = {"trainedAlgorithmicMedia": "AI-generated", "digitalCapture": "camera capture",
                "compositeWithTrainedAlgorithmicMedia": "edited with AI",
                "algorithmicMedia": "computer-generated", "minorHumanEdits": "lightly edited",
                "compositeCapture": "composite of captures"}


def plain(value: Any, limit: int = 120) -> str:
    """A manifest's text as one safe line: control and invisible characters shown as
    ``\\uXXXX``, cut to ``limit`` characters (no newline can forge a line of output)."""
    text = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in str(value))
    return text if len(text) <= limit else text[:limit - 1] + "…"


def signer_text(signer: dict[str, Any]) -> str:
    """``'CN' (key, sha256 ab12…)`` for a verdict line."""
    fp = signer.get("fingerprint")
    key = {"this install": "this install's key", "trusted": "a key you trust (--trust)",
           "untrusted": "a key not trusted here"}.get(signer.get("key", ""), "unknown key")
    return (f"{plain(signer.get('common_name', '?'), 60)!r}, {key}, "
            f"{'sha256 ' + fp[:16] if fp else 'fingerprint not found'}")


def status(manifest: ManifestReport, mark: Detection) -> str:
    """One of :data:`STATUS_CODES`."""
    if manifest.state == "invalid":
        return "tampered"
    if manifest.made_by_twoface:
        return "twoface"
    if manifest.state == "valid" and manifest.twoface:
        return "unverified"
    if mark.detected:
        return "copied" if copied(mark) else "watermark"
    return "foreign" if manifest.state in ("trusted", "valid") else "none"


def verdict(manifest: ManifestReport, mark: Detection) -> str:
    """One line a person can act on; every string taken from the file is made :func:`plain`."""
    what = ""
    if mark.detected and mark.payload is not None:
        p = mark.payload
        what = f"{p.method_name}, model {p.model_hex}, made {p.date.isoformat()}"
        if copied(mark):
            what += (f"; its content hash is {mark.extra['content_distance']} bits from this "
                     "picture's: copied from other media")
        elif p.content is None:
            what += "; older mark, not bound to its picture"
    tail = f"twoface watermark found ({what})" if mark.detected else "no twoface watermark"
    kind = status(manifest, mark)
    if kind == "copied":
        return (f"copied watermark: a twoface mark lifted from another picture ({what}); "
                "it says nothing about this one")
    if kind == "twoface":
        method = plain(manifest.claims.get("method", "?"), 40)
        return (f"synthetic: made by twoface ({method}), signed by "
                f"{signer_text(manifest.signer)}; "
                f"{'watermark agrees' if mark.detected else 'no watermark found'}")
    if kind == "tampered":
        if mark.detected:
            return (f"tampered: manifest does not match the file ({plain(manifest.reason)}); "
                    f"{tail}")
        return (f"tampered or damaged: manifest invalid ({plain(manifest.reason)}); "
                "no watermark found")
    if kind == "unverified":
        return (f"unverified: the manifest claims twoface made it, but its signer "
                f"{signer_text(manifest.signer)} is not trusted here, so it is not counted as "
                f"twoface's (pass that install's root.pem with --trust if you know it); {tail}")
    if manifest.state in ("trusted", "valid"):  # a valid manifest without twoface's assertion
        src = manifest.source_type or ""
        says = SOURCE_TYPES.get(src.rsplit("/", 1)[-1], plain(src, 80) or "no source type")
        return (f"foreign manifest (not twoface's): made with {plain(manifest.generator, 60)!r}, "
                f"says {says}, signed by {signer_text(manifest.signer)}; {tail}")
    if kind == "watermark":
        return f"synthetic: twoface watermark ({what}); no manifest (stripped or re-encoded)"
    return "no provenance found: no manifest, no twoface watermark (this does not prove it real)"


def verify_file(path: str | Path, *, home: str | Path | None = None,
                anchors: bytes | None = None, scheme: str = "tiled",
                frames: int = VIDEO_FRAMES) -> dict[str, Any]:
    """The report ``twoface verify --json`` prints for one file.

    Trust: this install's root under ``home`` and ``anchors`` (PEM, ``--trust``). ``status``
    is one of :data:`STATUS_CODES`. Raises :class:`TwofaceError` when the file cannot be read
    as media at all.
    """
    path = Path(path)
    if not path.is_file():
        raise MediaError(path, "does not exist" if not path.exists() else "is not a file")
    if scheme not in scheme_names():
        raise TwofaceError(None, f"unknown watermark scheme {scheme!r}")
    from twoface.media import media_kind

    media_kind(path)  # not an image or video: say so before anything else
    manifest = read_manifest(path, anchors=anchors, local=trust_anchor(home))
    mark = detect_file(path, scheme=scheme, frames=frames)
    wm: dict[str, Any] = {"detected": mark.detected,
                          "payload": mark.payload.to_dict() if mark.payload else None,
                          "confidence": round(mark.confidence, 3)}
    wm.update({k: v for k, v in mark.to_dict().items() if k in ("bit_errors", "sync", "frames")})
    if "content_distance" in mark.extra:
        wm["content_distance"] = mark.extra["content_distance"]
        wm["bound"] = not copied(mark)
    kind = status(manifest, mark)
    return {"file": str(path), "manifest": manifest.to_dict(), "watermark": wm,
            "status": kind, "exit_code": STATUS_CODES[kind],
            "verdict": verdict(manifest, mark)}
