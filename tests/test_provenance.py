"""Provenance: payload and BCH limits, watermark robustness basics, C2PA manifests, the CLI."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import typer
from PIL import Image as PILImage
from rich.console import Console
from typer.testing import CliRunner, Result

from twoface.cli import app
from twoface.errors import TwofaceError
from twoface.media import read_image, write_image, write_video
from twoface.provenance import (
    NO_MARK_WARNING,
    MarkedVideoWriter,
    Provenance,
    WatermarkPayload,
    bch,
    get_scheme,
    init_keys,
    load_keys,
    mark_file,
    mark_image,
    read_manifest,
    scheme_names,
    verify_file,
    warn_no_mark,
    write_marked_image,
)
from twoface.provenance.keys import default_home
from twoface.provenance.manifest import sidecar_path
from twoface.provenance.payload import decode_payload, encode_payload
from twoface.provenance.watermark import _chase_decode, false_positive_rate

PAYLOAD = WatermarkPayload.make("swap", "c0ffee42", dt.datetime(2025, 3, 14, tzinfo=dt.UTC),
                                content=0xABCDEF1)


def natural(h: int, w: int, seed: int) -> np.ndarray:
    """A natural-ish RGB image: smooth shapes at several scales plus fine texture."""
    rng = np.random.default_rng(seed)
    img = np.zeros((h, w, 3), np.float32)
    for sigma, amp in ((40, 60), (12, 30), (3, 12), (0.7, 5)):
        noise = rng.standard_normal((h, w, 3)).astype(np.float32)
        layer = cv2.GaussianBlur(noise, (0, 0), sigma)
        img += amp * layer / (layer.std() + 1e-6)
    return np.clip(img + 120, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("twoface_home")
    init_keys(folder)
    return folder


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return natural(288, 384, seed=1)


@pytest.fixture(scope="module")
def bound(photo: np.ndarray) -> WatermarkPayload:
    """A payload bound to ``photo`` (its own content hash)."""
    from twoface.provenance.content import content_hash

    return WatermarkPayload.make("swap", "c0ffee42", dt.datetime(2025, 3, 14, tzinfo=dt.UTC),
                                 content=content_hash(photo))


@pytest.fixture(scope="module")
def marked(photo: np.ndarray, bound: WatermarkPayload) -> np.ndarray:
    return get_scheme().embed(photo, bound)


# ---- payload and error correction --------------------------------------------------------------

def test_payload_round_trip() -> None:
    bits = encode_payload(PAYLOAD)
    assert bits.shape == (127,)
    decoded, errors = decode_payload(bits)
    assert decoded == PAYLOAD and errors == 0
    assert WatermarkPayload.from_message(PAYLOAD.to_message()) == PAYLOAD
    assert PAYLOAD.method_name == "swap" and PAYLOAD.model == 0xC0
    assert PAYLOAD.date == dt.date(2025, 3, 14) and PAYLOAD.content == 0xABCDEF1
    assert PAYLOAD.to_dict()["tool"] == "twoface"
    assert PAYLOAD.to_dict()["content_hash"] == "abcdef1"
    with pytest.raises(ValueError):
        WatermarkPayload(model=1 << 24)
    with pytest.raises(ValueError):  # a content hash needs layout 2
        WatermarkPayload(content=5)


def test_layout_1_marks_still_read() -> None:
    """Media marked before the content-bound layout decode as before (no content hash)."""
    old = WatermarkPayload.make("swap", "c0ffee42", dt.datetime(2025, 3, 14, tzinfo=dt.UTC))
    decoded, _ = decode_payload(encode_payload(old))
    assert decoded == old and decoded.content is None and decoded.model == 0xC0FFEE
    message = old.to_message()
    message[50] ^= 1  # one bit of its CRC-16
    assert WatermarkPayload.from_message(message) is None


@pytest.mark.parametrize("flips", [1, 5, bch.T])
def test_bch_corrects_up_to_t(flips: int) -> None:
    rng = np.random.default_rng(flips)
    bits = encode_payload(PAYLOAD)
    for _ in range(20):
        noisy = bits.copy()
        noisy[rng.choice(127, flips, replace=False)] ^= 1
        decoded, errors = decode_payload(noisy)
        assert decoded == PAYLOAD and errors == flips


def test_more_than_t_errors_is_not_detected_rather_than_wrong() -> None:
    rng = np.random.default_rng(0)
    bits = encode_payload(PAYLOAD)
    for flips in range(bch.T + 1, 40):
        for _ in range(10):
            noisy = bits.copy()
            noisy[rng.choice(127, flips, replace=False)] ^= 1
            assert decode_payload(noisy) is None


def test_chase_decoding_reaches_past_t_only_through_unreliable_bits() -> None:
    """Two errors beyond the BCH radius are corrected when they sit on the least reliable
    read-outs; the same count on confident read-outs is refused, never guessed."""
    rng = np.random.default_rng(3)
    bits = encode_payload(PAYLOAD)
    sign = 2.0 * bits - 1.0
    for _ in range(5):
        soft = sign * rng.uniform(1.0, 2.0, 127)
        wrong = rng.choice(127, bch.T + 2, replace=False)
        soft[wrong[:bch.T]] *= -1  # confident errors
        soft[wrong[bch.T:]] *= -0.05  # errors the reader was unsure of
        assert decode_payload((soft > 0).astype(np.uint8)) is None
        result = _chase_decode(soft)
        assert result is not None and result[0] == PAYLOAD and result[1] == bch.T + 2
        confident = soft.copy()
        confident[wrong[bch.T:]] *= 30  # the same errors, now read with confidence
        assert _chase_decode(confident) is None


def test_threshold_false_positive_rate() -> None:
    # Derivation: 2^64 spheres of radius 10 in 2^127 words, times the 4-bit tool field and
    # that layout's CRC (16 bits for layout 1, 8 for layout 2), times the 48 words tried per
    # image (3 sync candidates × 2 read-outs × 8 Chase patterns).
    assert false_positive_rate() < 1e-6
    assert bch.false_decode_probability() == pytest.approx(3.78e-10, rel=0.01)
    rng = np.random.default_rng(1)
    accepted = sum(decode_payload(rng.integers(0, 2, 127).astype(np.uint8)) is not None
                   for _ in range(3000))
    assert accepted == 0


# ---- watermark ---------------------------------------------------------------------------------

def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255**2 / np.mean((a.astype(float) - b.astype(float)) ** 2)))


@pytest.mark.parametrize("name", scheme_names())
def test_every_scheme_round_trips(name: str, photo: np.ndarray) -> None:
    scheme = get_scheme(name)
    out = scheme.embed(photo, PAYLOAD)
    assert out.shape == photo.shape and out.dtype == np.uint8
    # tiled: 38.6 dB on average, most of it in texture (see the flat-area test below)
    assert psnr(photo, out) >= 38.0
    found = scheme.detect(out)
    assert found.detected and found.payload == PAYLOAD and found.confidence > 0.5
    with pytest.raises(KeyError):
        get_scheme("no-such-scheme")


def test_mark_hides_in_texture_not_on_flat_areas() -> None:
    """Half the picture flat (skin, a wall), half textured: the mark is weaker on the flat half,
    where a pattern of its size would show as a mottle."""
    rng = np.random.default_rng(3)
    img = np.full((256, 256, 3), 170, np.uint8)
    texture = cv2.GaussianBlur(rng.normal(0, 40, (256, 128)), (0, 0), 1.5)
    img[:, 128:] = np.clip(120 + texture, 0, 255).astype(np.uint8)[..., None]
    change = get_scheme().embed(img, PAYLOAD).astype(float) - img
    flat = np.sqrt(np.mean(change[16:-16, 16:112] ** 2))
    busy = np.sqrt(np.mean(change[16:-16, 144:-16] ** 2))
    assert flat < 0.6 * busy, (flat, busy)
    assert flat < 2.0  # grey levels RMS


def _jpeg(img: np.ndarray, q: int) -> np.ndarray:
    buf = io.BytesIO()
    PILImage.fromarray(img).save(buf, "JPEG", quality=q)
    return np.asarray(PILImage.open(buf).convert("RGB"))


@pytest.mark.parametrize("attack", ["jpeg50", "crop80", "half", "chain", "darker"])
def test_watermark_survives(attack: str, marked: np.ndarray, bound: WatermarkPayload) -> None:
    """The mark decodes after each attack, and still counts as this picture's."""
    from twoface.provenance.verify import bind, copied

    h, w = marked.shape[:2]
    if attack == "jpeg50":
        img = _jpeg(marked, 50)
    elif attack == "crop80":
        img = marked[int(h * 0.1):int(h * 0.9), int(w * 0.1):int(w * 0.9)]
    elif attack == "half":
        img = cv2.resize(marked, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    elif attack == "chain":
        img = _jpeg(cv2.resize(marked[15:-15, 20:-20], None, fx=0.7, fy=0.7,
                               interpolation=cv2.INTER_AREA), 75)
    else:
        img = np.clip(marked * 0.8, 0, 255).astype(np.uint8)
    img = np.ascontiguousarray(img)
    found = bind(get_scheme().detect(img), img)
    assert found.detected and found.payload == bound
    assert not copied(found), found.extra["content_distance"]


def test_unmarked_images_are_not_detected() -> None:
    scheme = get_scheme()
    for seed in range(12):
        img = natural(160 + 16 * seed, 200 + 8 * seed, seed=100 + seed)
        assert not scheme.detect(img).detected


def test_video_vote_across_frames(photo: np.ndarray) -> None:
    scheme = get_scheme()
    state: dict = {}
    frames = [scheme.embed(np.roll(photo, 3 * i, axis=1), PAYLOAD, state) for i in range(4)]
    # Frames too damaged to decode alone still vote the payload through together.
    noisy = [np.clip(f + np.random.default_rng(i).normal(0, 14, f.shape), 0, 255)
             .astype(np.uint8) for i, f in enumerate(frames)]
    found = scheme.detect_frames(noisy)
    assert found.detected and found.payload == PAYLOAD and found.frames == 4


# ---- keys and manifests ------------------------------------------------------------------------

def test_keys_home_and_refusal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWOFACE_HOME", str(tmp_path / "env"))
    assert default_home() == tmp_path / "env"
    assert default_home(tmp_path / "arg") == tmp_path / "arg"
    with pytest.raises(TwofaceError, match="keys init"):
        load_keys()
    keys = init_keys()
    assert (tmp_path / "env" / "keys" / "signer.key").stat().st_mode & 0o777 == 0o600
    assert b"BEGIN CERTIFICATE" in keys.chain_pem
    with pytest.raises(TwofaceError, match="already exist"):
        init_keys()
    init_keys(force=True)


def _prov(tmp_path: Path) -> Provenance:
    consent = tmp_path / "consent.txt"
    consent.write_text("I agree to be swapped.\n")
    src = tmp_path / "source.png"
    write_image(src, natural(64, 64, 9))
    return Provenance.from_files("swap", [src], consent=consent, label="AI")


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".mp4", ".bmp"])
def test_manifest_round_trip(suffix: str, tmp_path: Path, home: Path, photo: np.ndarray) -> None:
    prov = _prov(tmp_path)
    path = tmp_path / f"out{suffix}"
    if suffix == ".mp4":
        write_video(path, [photo] * 3, fps=10)
    else:
        write_image(path, mark_image(photo, prov))
    holder = mark_file(path, prov, load_keys(home))
    assert holder == (path.with_name("out.bmp.c2pa") if suffix == ".bmp" else path)
    report = read_manifest(path, anchors=load_keys(home).root_pem)
    assert report.state == "trusted", report.reason
    assert report.claims["method"] == "swap"
    assert report.claims["consent_sha256"] == prov.consent_sha256
    assert report.claims["inputs"][0]["sha256"] == prov.inputs["source.png"]
    assert read_manifest(path).state == "valid"  # intact, but no anchor given


def test_marked_video_writer(tmp_path: Path, home: Path, photo: np.ndarray) -> None:
    path = tmp_path / "gen.mp4"
    prov = Provenance(method="animate", model_fingerprint="ab" * 32)
    with MarkedVideoWriter(path, 10, prov, keys=load_keys(home)) as writer:
        for i in range(6):
            writer.write(np.roll(photo, 2 * i, axis=0))
    report = verify_file(path, home=home)
    assert report["manifest"]["state"] == "trusted"
    assert report["watermark"]["detected"]
    assert report["watermark"]["payload"]["method"] == "animate"
    assert report["watermark"]["payload"]["model"] == "ab"  # layout 2 keeps 8 bits of it
    assert report["watermark"]["bound"] and report["watermark"]["content_distance"] <= 4


# ---- the commands ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cli() -> typer.Typer:
    return app


def run(cli: typer.Typer, home: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env={"TWOFACE_HOME": str(home)})


def test_mark_then_verify(cli: typer.Typer, home: Path, tmp_path: Path, photo: np.ndarray
                          ) -> None:
    src, out = tmp_path / "real.png", tmp_path / "marked.jpg"
    write_image(src, photo)
    consent = tmp_path / "consent.txt"
    consent.write_text("yes")
    res = run(cli, home, "mark", str(src), "-o", str(out), "--method", "gan",
              "--consent", str(consent), "--label", "synthetic", "-q")
    assert res.exit_code == 0, res.output
    res = run(cli, home, "verify", "--json", str(out), str(src))
    assert res.exit_code == 1, res.output  # the highest code: the real one carries nothing
    marked_r, real_r = (json.loads(line) for line in res.stdout.strip().splitlines())
    assert marked_r["manifest"]["state"] == "trusted"
    assert marked_r["manifest"]["claims"]["consent_sha256"] == \
        "8a798890fe93817163b10b5f7bd2ca4d25d84c52739a645a889c173eee7d9d3d"
    assert marked_r["watermark"]["detected"] and marked_r["watermark"]["payload"]["method"] == "gan"
    assert marked_r["verdict"].startswith("synthetic: made by twoface")
    assert marked_r["status"] == "twoface" and marked_r["exit_code"] == 0
    assert marked_r["manifest"]["signer"]["key"] == "this install"
    assert marked_r["manifest"]["signer"]["fingerprint"] == load_keys(home).fingerprint
    assert real_r["manifest"]["state"] == "absent" and not real_r["watermark"]["detected"]
    assert real_r["verdict"].startswith("no provenance")
    res = run(cli, home, "verify", str(out))
    assert res.exit_code == 0
    assert "trusted" in res.stdout and "consent record" in res.stdout
    assert load_keys(home).fingerprint in res.stdout


def test_verify_tampered_and_stripped(cli: typer.Typer, home: Path, tmp_path: Path,
                                      marked: np.ndarray) -> None:
    prov = Provenance(method="swap")
    path = tmp_path / "m.jpg"
    write_image(path, marked)
    mark_file(path, prov, load_keys(home))
    # Change one byte of the compressed pixels after signing: the hash binding must break.
    data = bytearray(path.read_bytes())
    at = next(i for i in range(len(data) - 400, 0, -1) if data[i] not in (0xFF, 0xFE))
    data[at] ^= 0x01
    tampered = tmp_path / "t.jpg"
    tampered.write_bytes(bytes(data))
    stripped = tmp_path / "s.jpg"
    write_image(stripped, _jpeg(read_image(path), 70))  # re-encoded: manifest gone
    res = run(cli, home, "verify", "--json", str(tampered), str(stripped))
    assert res.exit_code == 3, res.output
    t, s = (json.loads(line) for line in res.stdout.strip().splitlines())
    assert t["manifest"]["state"] == "invalid" and t["verdict"].startswith("tampered")
    assert s["manifest"]["state"] == "absent" and s["watermark"]["detected"]
    assert (t["status"], t["exit_code"], s["status"], s["exit_code"]) == \
        ("tampered", 3, "watermark", 0)


def test_verify_bad_input(cli: typer.Typer, home: Path, tmp_path: Path, photo: np.ndarray
                          ) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not media")
    good = tmp_path / "good.jpg"
    write_image(good, photo)
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(good.read_bytes()[:2000])
    res = run(cli, home, "verify", str(text), str(good))
    assert res.exit_code == 2 and "notes.txt" in res.stderr
    res = run(cli, home, "verify", str(truncated))
    assert res.exit_code == 2 and "truncated" in res.stderr
    res = run(cli, home, "verify", str(tmp_path / "missing.png"))
    assert res.exit_code == 2
    # A corrupt manifest is read fine: the file is reported, the manifest is invalid.
    signed = tmp_path / "signed.jpg"
    write_image(signed, photo)
    mark_file(signed, Provenance(method="swap"), load_keys(home))
    data = bytearray(signed.read_bytes())
    at = data.find(b"c2pa.claim")
    data[at + 40:at + 80] = bytes(40)
    signed.write_bytes(bytes(data))
    res = run(cli, home, "verify", "--json", str(signed))
    assert res.exit_code == 3, res.output  # tampered or damaged
    assert json.loads(res.stdout)["manifest"]["state"] == "invalid"


def test_keys_init_command(cli: typer.Typer, tmp_path: Path) -> None:
    res = run(cli, tmp_path, "keys", "init")
    assert res.exit_code == 0 and (tmp_path / "keys" / "root.pem").is_file()
    assert (tmp_path / "keys" / "signer.key").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "keys").stat().st_mode & 0o777 == 0o700
    res = run(cli, tmp_path, "keys", "init")
    assert isinstance(res.exception, TwofaceError)


def test_no_mark_warning(capsys: pytest.CaptureFixture[str]) -> None:
    buf = io.StringIO()
    warn_no_mark(Console(file=buf, width=300))
    assert NO_MARK_WARNING in buf.getvalue()
    warn_no_mark()
    assert "--no-mark" in capsys.readouterr().err


def test_marked_writers_sign_before_the_file_appears(tmp_path: Path, home: Path,
                                                     photo: np.ndarray,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Generated files take their place already signed (one rename), so a process killed
    between watermarking and signing never leaves a marked but unsigned file behind."""
    import c2pa

    import twoface.provenance.mark as mark_mod

    keys = load_keys(home)
    prov = Provenance(method="gan", model_fingerprint="cd" * 32)
    signed: list[tuple[Path, bool]] = []
    sign = mark_mod.mark_file

    def spy(path: Path, *args: object, **kw: object) -> Path:
        signed.append((Path(path), target.exists()))
        return sign(path, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(mark_mod, "mark_file", spy)
    # MP4 and PNG embed the manifest; MKV and BMP get a sidecar, written before the rename.
    for target in (tmp_path / "walk.mp4", tmp_path / "face.png", tmp_path / "walk.mkv",
                   tmp_path / "face.bmp"):
        holder = target if target.suffix in (".mp4", ".png") else sidecar_path(target)
        if target.suffix in (".mp4", ".mkv"):
            with MarkedVideoWriter(target, 10, prov, keys=keys) as writer:
                for i in range(4):
                    writer.write(np.roll(photo, 3 * i, axis=1))
            assert writer.manifest_path == holder
        else:
            assert write_marked_image(target, photo, prov, keys=keys) == holder
        where, existed = signed[-1]
        assert where != target and where.parent == target.parent and not existed
        assert verify_file(target, home=home)["manifest"]["state"] == "trusted"
        if holder != target:
            continue
        # The manifest names the file as it is called, not the temporary it was signed as.
        reader = c2pa.Reader.try_create(str(target))
        store = json.loads(reader.json())
        assert store["manifests"][store["active_manifest"]]["title"] == target.name
    assert not list(tmp_path.glob(".*.tmp*"))

    def refuse(*args: object, **kw: object) -> Path:
        raise TwofaceError(None, "cannot sign")

    monkeypatch.setattr(mark_mod, "mark_file", refuse)
    for bad in (tmp_path / "bad.mp4", tmp_path / "bad.png", tmp_path / "bad.mkv",
                tmp_path / "bad.bmp"):
        with pytest.raises(TwofaceError, match="cannot sign"):
            if bad.suffix in (".mp4", ".mkv"):
                with MarkedVideoWriter(bad, 10, prov, keys=keys) as writer:
                    writer.write(photo)
            else:
                write_marked_image(bad, photo, prov, keys=keys)
        assert not bad.exists() and not sidecar_path(bad).exists()
    assert not list(tmp_path.glob(".*.tmp*"))
