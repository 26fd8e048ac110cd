"""Signed C2PA manifests (via ``c2pa-python``): embed into JPEG, PNG and MP4, or a sidecar.

A manifest states *what made the file* (a ``c2pa.actions`` "created" action with the IPTC
digital source type for AI-generated media) and twoface's own assertion ``org.twoface.provenance``
(version, method, model fingerprint, input hashes, consent hash, label, time, watermark payload).

Formats C2PA can embed into (JPEG, PNG, MP4/MOV, WebP, TIFF, …) get the manifest inside; any
other file gets a signed sidecar ``FILE.c2pa`` whose hash binding covers the file's bytes.

Reading gives one of four states: ``trusted`` (valid and chained to a trust anchor, by default
the local root from ``twoface keys init``), ``valid`` (intact, signer not trusted here),
``invalid`` (the file or the manifest was changed after signing, or the manifest is corrupt) and
``absent``.
"""

from __future__ import annotations

import io
import json
import mimetypes
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from twoface.errors import TwofaceError
from twoface.fileio import atomic_path, atomic_write_bytes
from twoface.provenance.keys import SigningKeys

ASSERTION = "org.twoface.provenance"
AI_SOURCE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
EMBED_SUFFIXES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png",
                  ".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime",
                  ".webp": "image/webp", ".tif": "image/tiff", ".tiff": "image/tiff"}
# The signer's certificate is not in the public C2PA trust list by design; that it is not
# trusted *there* says nothing about the file, so this code never counts as a failure.
_UNTRUSTED = "signingCredential.untrusted"

ManifestState = Literal["trusted", "valid", "invalid", "absent"]


@dataclass
class ManifestReport:
    """What :func:`read_manifest` found."""

    state: ManifestState
    reason: str
    claims: dict[str, Any] = field(default_factory=dict)
    sidecar: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"state": self.state, "reason": self.reason, "claims": self.claims}
        if self.sidecar is not None:
            out["sidecar"] = str(self.sidecar)
        return out


def sidecar_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(path.name + ".c2pa")


def _mime(path: Path) -> str:
    return EMBED_SUFFIXES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] \
        or "application/octet-stream"


def build_manifest(claims: dict[str, Any], title: str, version: str) -> dict[str, Any]:
    """The manifest definition ``c2pa.Builder`` signs."""
    return {
        "claim_generator_info": [{"name": "twoface", "version": version}],
        "title": title,
        "assertions": [
            {"label": "c2pa.actions", "data": {"actions": [{
                "action": "c2pa.created", "digitalSourceType": AI_SOURCE,
                "softwareAgent": {"name": "twoface", "version": version},
                "when": claims.get("created"),
            }]}},
            {"label": ASSERTION, "data": claims},
        ],
    }


def _signer_and_context(keys: SigningKeys) -> tuple[Any, Any]:
    import c2pa

    info = c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, keys.chain_pem, keys.key_pem, None)
    signer = c2pa.Signer.from_info(info)
    # No thumbnail: it would put a preview of possibly sensitive media into every manifest
    # and multiply a small image's size.
    context = c2pa.Context.from_dict({"builder": {"thumbnail": {"enabled": False}}})
    return signer, context


def sign_file(path: str | Path, claims: dict[str, Any], keys: SigningKeys, *,
              version: str, sidecar: bool | None = None, final: str | Path | None = None
              ) -> Path:
    """Sign ``path`` in place (embedded manifest, atomic) or write ``FILE.c2pa`` beside it.

    ``sidecar=None`` embeds when the format allows it. ``final``: where ``path``, a writer's
    finished temporary file, is about to be renamed to. The manifest then names ``final``
    and a sidecar is written beside ``final`` at once, so that the file never appears there
    unsigned. Returns the file that holds the manifest once ``path`` is where it is going:
    ``final`` (or ``path``) when embedded, else the sidecar.
    """
    import c2pa

    path = Path(path)
    target = Path(final) if final is not None else path
    if not path.is_file():
        raise TwofaceError(path, "does not exist")
    mime = _mime(target)
    embed = mime in EMBED_SUFFIXES.values() if sidecar is None else not sidecar
    signer, context = _signer_and_context(keys)
    builder = c2pa.Builder(build_manifest(claims, target.name, version), context=context)
    try:
        if embed:
            with atomic_path(path) as tmp, open(path, "rb") as src, open(tmp, "w+b") as dst:
                builder.sign(signer, mime, src, dst)
            sidecar_path(target).unlink(missing_ok=True)  # a stale sidecar would contradict it
            return target
        builder.set_no_embed()
        with open(path, "rb") as src:
            manifest = builder.sign(signer, mime, src, io.BytesIO())
        atomic_write_bytes(sidecar_path(target), manifest)
        return sidecar_path(target)
    except c2pa.C2paError as exc:
        raise TwofaceError(path, f"cannot sign a C2PA manifest: {exc}") from exc
    finally:
        signer.close()
        context.close()


def copy_and_sign(src: str | Path, dst: str | Path, claims: dict[str, Any],
                  keys: SigningKeys, *, version: str) -> Path:
    """Copy ``src`` to ``dst`` then sign ``dst`` (keeps ``src`` untouched)."""
    dst = Path(dst)
    with atomic_path(dst) as tmp:
        shutil.copyfile(src, tmp)
    return sign_file(dst, claims, keys, version=version)


def read_manifest(path: str | Path, *, anchors: bytes | None = None) -> ManifestReport:
    """Validate the manifest embedded in ``path`` or in its sidecar ``FILE.c2pa``.

    ``anchors`` are PEM root certificates whose chains count as *trusted*.
    """
    import c2pa

    path = Path(path)
    settings: dict[str, Any] = {"verify": {"verify_trust": anchors is not None}}
    if anchors is not None:
        settings["trust"] = {"user_anchors": anchors.decode("ascii")}
    context = c2pa.Context.from_dict(settings)
    reader = None
    side = sidecar_path(path)
    try:
        try:
            reader = c2pa.Reader.try_create(str(path), context=context)
        except c2pa.C2paError.NotSupported:
            reader = None  # not a container C2PA knows: only a sidecar can speak for it
        if reader is None and side.is_file():
            with open(path, "rb") as stream:
                reader = c2pa.Reader(_mime(path), stream, side.read_bytes(), context=context)
        if reader is None:
            return ManifestReport("absent", "no C2PA manifest in the file and no sidecar")
        return _report(reader, side if side.is_file() else None)
    except c2pa.C2paError as exc:
        return ManifestReport("invalid", f"manifest cannot be read: {_short(exc)}")
    finally:
        if reader is not None:
            reader.close()
        context.close()


def _short(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) < 200 else text[:197] + "..."


def _report(reader: Any, sidecar: Path | None) -> ManifestReport:
    store = json.loads(reader.json())
    state = (store.get("validation_state") or "").lower()
    active = store.get("manifests", {}).get(store.get("active_manifest"), {})
    failures = [f for f in (store.get("validation_results", {}).get("activeManifest", {})
                            .get("failure", [])) if f.get("code") != _UNTRUSTED]
    claims: dict[str, Any] = {}
    for assertion in active.get("assertions", []):
        if assertion.get("label") == ASSERTION:
            claims.update(assertion.get("data", {}))
    sig = active.get("signature_info", {})
    claims["signer"] = {k: sig[k] for k in ("issuer", "common_name", "time", "alg") if k in sig}
    generator = active.get("claim_generator_info") or [{}]
    claims.setdefault("generator", f"{generator[0].get('name', '?')} "
                                   f"{generator[0].get('version', '')}".strip())
    if state == "trusted" and not failures:
        return ManifestReport("trusted", "signature valid, signer chains to a trusted root",
                              claims, sidecar)
    if state in ("valid", "trusted") and not failures:
        return ManifestReport("valid", "signature valid; signer not in the trust anchors",
                              claims, sidecar)
    reason = "; ".join(f"{f.get('code')}: {f.get('explanation', '')}".strip(": ")
                       for f in failures) or f"validation state {state or 'unknown'}"
    return ManifestReport("invalid", reason, claims, sidecar)
