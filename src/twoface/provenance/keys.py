"""Signing keys for C2PA manifests: a local root CA and an ES256 signing certificate.

C2PA refuses self-signed end-entity certificates, so ``twoface keys init`` makes two: a root CA
(kept beside the keys, used by ``twoface verify`` as a trust anchor) and a signing certificate
it issues, with the key usages C2PA asks for. Files, under ``<home>/keys/``::

    root.pem    root CA certificate (share it with whoever should *trust* your marks)
    root.key    root CA private key (0600)
    signer.pem  signing certificate followed by the root: the chain embedded in manifests
    signer.key  signing private key, PKCS#8 (0600)

``<home>`` is, in order: the ``home`` argument, ``$TWOFACE_HOME``, or the user's config folder
(platformdirs). Nothing else is global: every function takes ``home``.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from twoface.errors import TwofaceError
from twoface.fileio import atomic_write_bytes

ENV_HOME = "TWOFACE_HOME"
ROOT_YEARS = 10
SIGNER_YEARS = 2


def default_home(home: str | Path | None = None) -> Path:
    """Where twoface keeps its keys: ``home``, else ``$TWOFACE_HOME``, else the config folder."""
    if home is not None:
        return Path(home)
    if os.environ.get(ENV_HOME):
        return Path(os.environ[ENV_HOME])
    import platformdirs

    return Path(platformdirs.user_config_dir("twoface"))


@dataclass(frozen=True)
class SigningKeys:
    """PEM bytes of the signing chain, its private key and the root that anchors it."""

    folder: Path
    chain_pem: bytes
    key_pem: bytes
    root_pem: bytes

    @property
    def signer_subject(self) -> str:
        cert = x509.load_pem_x509_certificate(self.chain_pem)
        return cert.subject.rfc4514_string()

    @property
    def fingerprint(self) -> str:
        """SHA-256 (hex) of the signing certificate, as ``twoface verify`` shows it."""
        return cert_fingerprint(self.chain_pem)


def cert_fingerprint(pem: bytes) -> str:
    """SHA-256 (hex) of the first certificate in ``pem`` (DER bytes)."""
    import hashlib

    cert = x509.load_pem_x509_certificate(pem)
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def _names(home: Path) -> dict[str, Path]:
    folder = home / "keys"
    return {n: folder / n for n in ("root.pem", "root.key", "signer.pem", "signer.key")}


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _usage(*, sign: bool, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=sign, content_commitment=False,
                         key_encipherment=False, data_encipherment=False, key_agreement=False,
                         key_cert_sign=ca, crl_sign=ca, encipher_only=False, decipher_only=False)


def init_keys(home: str | Path | None = None, *, force: bool = False,
              organization: str | None = None, now: dt.datetime | None = None
              ) -> SigningKeys:
    """Create a root CA and an ES256 (P-256) signing certificate under ``<home>/keys``.

    Refuses to overwrite existing keys unless ``force``: marks signed with the old key would
    stop verifying as *trusted* here. Each install's names carry a random id (default
    organisation ``twoface local <id>``), and private keys are 0600 from the moment they
    exist, in a 0700 folder.
    """
    import secrets

    home = default_home(home)
    organization = organization or f"twoface local {secrets.token_hex(4)}"
    files = _names(home)
    if files["signer.key"].exists() and not force:
        raise TwofaceError(files["signer.key"], "signing keys already exist (use --force to "
                           "replace them; media signed with the old keys stop being trusted)")
    now = now or dt.datetime.now(dt.UTC)
    start = now - dt.timedelta(minutes=5)  # tolerate a little clock skew between machines

    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
                           x509.NameAttribute(NameOID.COMMON_NAME, "twoface local root CA")])
    root = (x509.CertificateBuilder()
            .subject_name(root_name).issuer_name(root_name)
            .public_key(root_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(now + dt.timedelta(days=365 * ROOT_YEARS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_usage(sign=False, ca=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()),
                           critical=False)
            .sign(root_key, hashes.SHA256()))

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
                      x509.NameAttribute(NameOID.COMMON_NAME, "twoface signer")])
    signer = (x509.CertificateBuilder()
              .subject_name(name).issuer_name(root_name)
              .public_key(key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(start)
              .not_valid_after(now + dt.timedelta(days=365 * SIGNER_YEARS))
              .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
              .add_extension(_usage(sign=True, ca=False), critical=True)
              # C2PA accepts e-mail protection (among a few) as the signer's extended usage.
              .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]),
                             critical=False)
              .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                             critical=False)
              .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                  root_key.public_key()), critical=False)
              .sign(root_key, hashes.SHA256()))

    keys = SigningKeys(files["signer.key"].parent, _pem(signer) + _pem(root), _key_pem(key),
                       _pem(root))
    folder = files["signer.key"].parent
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(folder, 0o700)
    for fname, data, private in (("root.key", _key_pem(root_key), True),
                                 ("root.pem", keys.root_pem, False),
                                 ("signer.key", keys.key_pem, True),
                                 ("signer.pem", keys.chain_pem, False)):
        atomic_write_bytes(files[fname], data, mode=0o600 if private else 0o644)
    return keys


def load_keys(home: str | Path | None = None) -> SigningKeys:
    """The signing keys under ``<home>/keys``; a clear error when there are none."""
    home = default_home(home)
    files = _names(home)
    missing = [p.name for p in (files["signer.pem"], files["signer.key"], files["root.pem"])
               if not p.is_file()]
    if missing:
        raise TwofaceError(files["signer.key"].parent, f"no signing keys ({', '.join(missing)} "
                           "missing): run `twoface keys init`")
    return SigningKeys(files["signer.key"].parent, files["signer.pem"].read_bytes(),
                       files["signer.key"].read_bytes(), files["root.pem"].read_bytes())


def ensure_keys(home: str | Path | None = None) -> tuple[SigningKeys, bool]:
    """Load the keys, creating them on first use; returns ``(keys, created)`` so that the
    caller can say so (generated media is signed by default, so a first run must not fail)."""
    try:
        return load_keys(home), False
    except TwofaceError:
        return init_keys(home), True


def trust_anchor(home: str | Path | None = None) -> bytes | None:
    """The local root certificate, if keys were ever made here: what *trusted* means."""
    path = _names(default_home(home))["root.pem"]
    return path.read_bytes() if path.is_file() else None
