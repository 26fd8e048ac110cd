"""Provenance: an invisible watermark in the pixels, a signed C2PA manifest on the file.

The API generators use (see :mod:`twoface.provenance.mark`)::

    from twoface.provenance import Provenance, write_marked_image, MarkedVideoWriter
    prov = Provenance.from_files("swap", [source, target], model=run_dir, consent=consent)
    write_marked_image(out, img, prov)   # watermark, write, sign before it takes out's place

and what ``twoface verify`` uses: :func:`verify_file`, :func:`detect_file`.
"""

from twoface.provenance.keys import SigningKeys, default_home, ensure_keys, init_keys, load_keys
from twoface.provenance.manifest import ManifestReport, read_manifest, sign_file
from twoface.provenance.mark import (
    NO_MARK_WARNING,
    MarkedVideoWriter,
    Provenance,
    burn_label,
    mark_file,
    mark_image,
    mark_video_file,
    sha256_file,
    signing_keys,
    warn_no_mark,
    write_marked_image,
)
from twoface.provenance.payload import WatermarkPayload
from twoface.provenance.scheme import Detection
from twoface.provenance.verify import detect_file, verify_file
from twoface.provenance.watermark import get_scheme, scheme_names

__all__ = [
    "NO_MARK_WARNING",
    "Detection",
    "ManifestReport",
    "MarkedVideoWriter",
    "Provenance",
    "SigningKeys",
    "WatermarkPayload",
    "burn_label",
    "default_home",
    "detect_file",
    "ensure_keys",
    "get_scheme",
    "init_keys",
    "load_keys",
    "mark_file",
    "mark_image",
    "mark_video_file",
    "read_manifest",
    "scheme_names",
    "sha256_file",
    "sign_file",
    "signing_keys",
    "verify_file",
    "warn_no_mark",
    "write_marked_image",
]
