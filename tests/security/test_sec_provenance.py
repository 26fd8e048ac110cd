"""Provenance that cannot be turned against real people (issue 21, breaks 1, 3 and 5).

Each case is an attack that once worked: a foreign manifest passing as twoface's, a twoface
claim from a key nobody trusts, a claim that forges a line of `verify`'s output, a private key
readable for a moment, a watermark alone making `detect` certain.
"""

from __future__ import annotations

import io
import json
import os
import stat
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner, Result

from twoface.cli import app
from twoface.media import write_image
from twoface.provenance import SigningKeys, get_scheme, init_keys, load_keys
from twoface.provenance.manifest import ASSERTION, _signer_and_context
from twoface.provenance.payload import WatermarkPayload

CAMERA = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"
AI = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"


def photo(seed: int = 5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.standard_normal((240, 320, 3)).astype(np.float32), (0, 0), 6)
    return np.clip(img / (img.std() + 1e-6) * 40 + 120, 0, 255).astype(np.uint8)


def sign_as(path: Path, keys: SigningKeys, *, generator: str, source: str,
            extra: list[dict[str, Any]] | None = None) -> None:
    """Sign ``path`` in place with any manifest: what a camera, another tool or an attacker
    holding their own certificate can do."""
    import c2pa

    definition = {"claim_generator_info": [{"name": generator, "version": "1.0"}],
                  "title": path.name,
                  "assertions": [{"label": "c2pa.actions", "data": {"actions": [
                      {"action": "c2pa.created", "digitalSourceType": source}]}},
                      *(extra or [])]}
    signer, context = _signer_and_context(keys)
    try:
        builder = c2pa.Builder(definition, context=context)
        src = io.BytesIO(path.read_bytes())
        dst = io.BytesIO()
        builder.sign(signer, "image/jpeg", src, dst)
        path.write_bytes(dst.getvalue())
    finally:
        signer.close()
        context.close()


@pytest.fixture(scope="module")
def homes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """This install's home and an outsider's (their own root and signer)."""
    mine, theirs = tmp_path_factory.mktemp("mine"), tmp_path_factory.mktemp("theirs")
    init_keys(mine)
    init_keys(theirs)
    return mine, theirs


def verify(home: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["verify", *args], env={"TWOFACE_HOME": str(home)})


def test_camera_manifest_is_foreign_not_twoface(homes: tuple[Path, Path], tmp_path: Path
                                                ) -> None:
    mine, theirs = homes
    path = tmp_path / "camera.jpg"
    write_image(path, photo())
    sign_as(path, load_keys(theirs), generator="Camera Co. X100", source=CAMERA)
    res = verify(mine, "--json", str(path))
    rep = json.loads(res.stdout)
    assert res.exit_code == 1, res.output  # no twoface provenance
    assert rep["status"] == "foreign" and not rep["manifest"]["made_by_twoface"]
    assert rep["verdict"].startswith("foreign manifest (not twoface's)")
    assert "camera capture" in rep["verdict"] and "Camera Co. X100" in rep["verdict"]
    assert rep["manifest"]["signer"]["key"] == "untrusted"
    assert rep["manifest"]["signer"]["fingerprint"] == load_keys(theirs).fingerprint
    # Even when its signer is trusted here, a manifest without twoface's assertion is not ours.
    res = verify(mine, "--json", "--trust", str(theirs / "keys" / "root.pem"), str(path))
    rep = json.loads(res.stdout)
    assert rep["status"] == "foreign" and rep["manifest"]["signer"]["key"] == "trusted"
    from twoface.forensics.detect import DetectOptions, Scanner

    scan = Scanner.from_pretrained(None, DetectOptions(frames=1, extra=0)).scan(path)
    assert scan["certain"] is False and scan["provenance"]["status"] == "foreign"


def test_twoface_claim_from_untrusted_key_is_not_twoface(homes: tuple[Path, Path],
                                                         tmp_path: Path) -> None:
    mine, theirs = homes
    path = tmp_path / "claims.jpg"
    write_image(path, photo(6))
    sign_as(path, load_keys(theirs), generator="twoface", source=AI,
            extra=[{"label": ASSERTION, "data": {"method": "swap", "generator": "twoface 9"}}])
    rep = json.loads(verify(mine, "--json", str(path)).stdout)
    assert rep["status"] == "unverified" and rep["exit_code"] == 1
    assert rep["verdict"].startswith("unverified")
    # Another twoface install whose root you pass: its key, named as such, counts.
    res = verify(mine, "--json", "--trust", str(theirs / "keys" / "root.pem"), str(path))
    rep = json.loads(res.stdout)
    assert res.exit_code == 0 and rep["status"] == "twoface"
    assert rep["manifest"]["signer"]["key"] == "trusted"
    assert "a key you trust" in rep["verdict"]
    # The assertion's own "generator" key is a claim, never the manifest's generator.
    assert rep["manifest"]["generator"] == "twoface 1.0"


def test_claims_cannot_forge_output_lines(homes: tuple[Path, Path], tmp_path: Path) -> None:
    mine, _ = homes
    path = tmp_path / "forged.jpg"
    write_image(path, photo(7))
    evil = "swap\n  verdict  : real [bold red]REAL[/]\x1b[2J"
    sign_as(path, load_keys(mine), generator="twoface\nverdict : real", source=AI,
            extra=[{"label": ASSERTION, "data": {"method": evil, "label": "[link=x]y[/]\r"}}])
    res = verify(mine, str(path))
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert sum(line.lstrip().startswith("verdict") for line in lines) == 1
    assert "\x1b" not in res.stdout and "\r" not in res.stdout
    assert "[bold red]" in res.stdout  # shown as text, not rendered
    assert "\\u000a" in res.stdout  # the newline is shown, escaped


def test_keys_private_from_creation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every private key file exists only with mode 0600: the chmods seen while writing are
    recorded, and none would have let another user read it."""
    seen: list[tuple[str, int]] = []
    real_replace = os.replace

    def spy(src: str | os.PathLike, dst: str | os.PathLike) -> None:
        seen.append((Path(dst).name, stat.S_IMODE(os.stat(src).st_mode)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    init_keys(tmp_path)
    modes = dict(seen)
    assert modes["root.key"] == 0o600 and modes["signer.key"] == 0o600
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    a, b = load_keys(tmp_path), init_keys(tmp_path / "other")
    assert a.signer_subject != b.signer_subject  # every install has its own names
    assert a.fingerprint != b.fingerprint


def test_watermark_alone_never_makes_detect_certain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                    ) -> None:
    """A watermark can be lifted from marked media onto a real photo; without a trusted
    twoface manifest the detector decides and the report says why."""
    from twoface.forensics.detect import DetectOptions, Scanner

    monkeypatch.setenv("TWOFACE_HOME", str(tmp_path / "home"))
    host = photo(8)
    wm = get_scheme()
    donor = photo(9)
    lifted = wm.embed(donor, WatermarkPayload.make("swap")).astype(np.int16) - donor
    forged = np.clip(host.astype(np.int16) + lifted, 0, 255).astype(np.uint8)
    path = tmp_path / "forged.png"
    write_image(path, forged)
    rep = Scanner.from_pretrained(None, DetectOptions(frames=1, extra=0)).scan(path)
    assert rep["certain"] is False and rep["decided_by"] == "detector"
    assert rep["provenance"]["status"] == "watermark"  # the lifted mark does read
    assert any("copied" in n for n in rep["notes"])


def test_lifted_watermark_is_reported_as_copied(tmp_path: Path, homes: tuple[Path, Path]
                                               ) -> None:
    """The copy attack: marked minus original, added to other pictures. The mark still
    decodes, but its content hash names the donor: `verify` says copied (exit 3), never
    twoface's, and `detect` is not certain."""
    from twoface.forensics.detect import DetectOptions, Scanner
    from twoface.provenance import Provenance, mark_image

    mine, _ = homes
    donor = photo(10)
    marked = mark_image(donor, Provenance(method="swap"))
    lifted = marked.astype(np.int16) - donor
    copied_to = []
    for seed in range(11, 17):
        forged = np.clip(photo(seed).astype(np.int16) + lifted, 0, 255).astype(np.uint8)
        path = tmp_path / f"forged{seed}.png"
        write_image(path, forged)
        copied_to.append(path)
    genuine = tmp_path / "genuine.png"
    write_image(genuine, marked)
    res = verify(mine, "--json", str(genuine), *map(str, copied_to))
    reports = [json.loads(line) for line in res.stdout.splitlines()]
    assert res.exit_code == 3
    assert reports[0]["status"] == "watermark" and reports[0]["watermark"]["bound"]
    for rep in reports[1:]:
        assert rep["watermark"]["detected"], rep["file"]  # the lifted mark does decode …
        assert rep["status"] == "copied" and rep["exit_code"] == 3  # … and is caught
        assert rep["verdict"].startswith("copied watermark")
    scan = Scanner.from_pretrained(None, DetectOptions(frames=1, extra=0)).scan(copied_to[0])
    assert scan["certain"] is False and scan["provenance"]["status"] == "copied"
    assert any("another picture" in n for n in scan["notes"])
