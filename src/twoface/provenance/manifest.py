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
# Whose key signed it: one chaining to this install's root (``twoface keys init`` here), one
# chaining to a root passed with ``--trust`` (another twoface install you trust), or neither.
SignerKey = Literal["this install", "trusted", "untrusted"]


@dataclass
class ManifestReport:
    """What :func:`read_manifest` found.

    ``claims`` holds twoface's own assertion and nothing else (empty when the manifest carries
    none); what the manifest says of itself (generator, signer, digital source type) is kept
    apart so that no field of a foreign manifest can pass for one of twoface's.
    """

    state: ManifestState
    reason: str
    claims: dict[str, Any] = field(default_factory=dict)
    sidecar: Path | None = None
    twoface: bool = False  # carries twoface's assertion (a claim, proof only when trusted)
    generator: str = ""
    source_type: str | None = None
    signer: dict[str, Any] = field(default_factory=dict)

    @property
    def made_by_twoface(self) -> bool:
        """Twoface's assertion, intact, signed by a key that chains to a trusted root."""
        return self.twoface and self.state == "trusted"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"state": self.state, "reason": self.reason,
                               "twoface": self.twoface, "made_by_twoface": self.made_by_twoface,
                               "claims": self.claims, "generator": self.generator,
                               "source_type": self.source_type, "signer": self.signer}
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


def read_manifest(path: str | Path, *, anchors: bytes | None = None,
                  local: bytes | None = None) -> ManifestReport:
    """Validate the manifest embedded in ``path`` or in its sidecar ``FILE.c2pa``.

    ``local`` is this install's root certificate (PEM), ``anchors`` further roots to trust
    (``--trust``); a signer chaining to either makes the state *trusted*, and the report says
    which (``signer["key"]``).
    """
    path = Path(path)
    roots = b"".join(x for x in (local, anchors) if x) or None
    report = _read(path, roots)
    if report.state == "trusted":
        key: SignerKey = "this install" if local and (
            not anchors or _read(path, local).state == "trusted") else "trusted"
        report.signer["key"] = key
    elif report.signer:
        report.signer["key"] = "untrusted"
    return report


def _read(path: Path, roots: bytes | None) -> ManifestReport:
    import c2pa

    settings: dict[str, Any] = {"verify": {"verify_trust": roots is not None}}
    if roots is not None:
        settings["trust"] = {"user_anchors": roots.decode("ascii", "replace")}
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
        held = side if side.is_file() else None
        return _report(reader, held, held or path)
    except c2pa.C2paError as exc:
        return ManifestReport("invalid", f"manifest cannot be read: {_short(exc)}")
    finally:
        if reader is not None:
            reader.close()
        context.close()


def _short(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) < 200 else text[:197] + "..."


def _report(reader: Any, sidecar: Path | None, holder: Path) -> ManifestReport:
    store = json.loads(reader.json())
    state = (store.get("validation_state") or "").lower()
    active = store.get("manifests", {}).get(store.get("active_manifest"), {})
    failures = [f for f in (store.get("validation_results", {}).get("activeManifest", {})
                            .get("failure", [])) if f.get("code") != _UNTRUSTED]
    claims: dict[str, Any] = {}
    twoface, source = False, None  # type: bool, str | None
    for assertion in active.get("assertions", []):
        label, data = assertion.get("label"), assertion.get("data")
        if label == ASSERTION and isinstance(data, dict):
            twoface = True
            claims.update(data)
        elif str(label).startswith("c2pa.actions") and isinstance(data, dict):
            for action in data.get("actions") or []:
                if isinstance(action, dict) and action.get("digitalSourceType"):
                    source = str(action["digitalSourceType"])
    sig = active.get("signature_info") or {}
    signer: dict[str, Any] = {k: str(sig[k]) for k in ("issuer", "common_name", "time", "alg")
                              if k in sig}
    serial = sig.get("cert_serial_number")
    if serial is not None:
        signer["serial"] = str(serial)
        signer["fingerprint"] = signer_fingerprint(holder, str(serial))
    gen = (active.get("claim_generator_info") or [{}])[0]
    generator = (f"{gen.get('name', '?')} {gen.get('version', '')}".strip()
                 if isinstance(gen, dict) else str(active.get("claim_generator", "?")))
    extra: dict[str, Any] = {"twoface": twoface, "generator": generator,
                             "source_type": source, "signer": signer}
    if state == "trusted" and not failures:
        return ManifestReport("trusted", "signature valid, signer chains to a trusted root",
                              claims, sidecar, **extra)
    if state in ("valid", "trusted") and not failures:
        return ManifestReport("valid", "signature valid; signer not in the trust anchors",
                              claims, sidecar, **extra)
    reason = "; ".join(f"{f.get('code')}: {f.get('explanation', '')}".strip(": ")
                       for f in failures) or f"validation state {state or 'unknown'}"
    return ManifestReport("invalid", reason, claims, sidecar, **extra)


def signer_fingerprint(holder: Path, serial: str, most: int = 16) -> str | None:
    """SHA-256 (hex) of the signing certificate with this serial number, found in the bytes
    that hold the manifest (the file or its sidecar); ``None`` unless exactly one certificate
    with that serial is there. The C2PA reader validates the chain but does not hand out the
    certificate, so it is looked up by its serial in the stored x5chain."""
    import hashlib
    import mmap

    from cryptography import x509

    try:
        number = int(serial)
        raw = number.to_bytes(max(1, (number.bit_length() + 7) // 8), "big")
    except (ValueError, OverflowError):
        return None
    found: set[str] = set()
    try:
        with open(holder, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as m:
            at = m.find(raw)
            while at >= 0 and most > 0:
                most -= 1
                # A certificate is SEQUENCE { SEQUENCE (tbs) { [0] version, INTEGER serial
                # ... } ... }: its start is a few bytes before the serial.
                for back in range(8, 24):
                    start = at - back
                    if start < 0 or m[start:start + 2] != b"\x30\x82":
                        continue
                    size = 4 + int.from_bytes(m[start + 2:start + 4], "big")
                    try:
                        cert = x509.load_der_x509_certificate(bytes(m[start:start + size]))
                    except ValueError:
                        continue
                    if cert.serial_number == number:
                        found.add(hashlib.sha256(bytes(m[start:start + size])).hexdigest())
                at = m.find(raw, at + 1)
    except (OSError, ValueError):
        return None
    return found.pop() if len(found) == 1 else None
