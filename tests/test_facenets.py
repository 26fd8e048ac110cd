"""dlib's face networks ported to PyTorch (``twoface.faces.nets``), checked against dlib itself:
the ``.dat`` reader and its errors, the 128-d embedder (to 1e-3, in practice ~1e-6), the
mmod detector (same boxes), and the parts that must work without dlib."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import numpy as np
import pytest
import torch

from twoface.errors import TwofaceError

pytestmark = pytest.mark.skipif(importlib.util.find_spec("face_recognition_models") is None,
                                reason="face_recognition_models (dlib's weights) not installed")

EMBEDDER = "dlib_face_recognition_resnet_model_v1.dat"
DETECTOR = "mmod_human_face_detector.dat"


@pytest.fixture(scope="module")
def nets():
    from twoface.faces import nets

    return nets


@pytest.fixture(scope="module")
def embedder(nets):
    return nets.load_embedder()


@pytest.fixture(scope="module")
def detector(nets):
    return nets.load_detector()


def _chip(image: np.ndarray, models) -> np.ndarray | None:
    dets = models.hog(image, 1)
    if not dets:
        return None
    return models.dlib.get_face_chip(image, models.shape5(image, dets[0]), 150, 0.25)


@pytest.fixture(scope="module")
def chips(models) -> np.ndarray:
    """Face chips made the dlib way from synthetic renders, plus one chip of pure noise."""
    from twoface.synth import Identity, render
    from twoface.types import Pose

    out = []
    for seed, yaw in enumerate((-12.0, -4.0, 3.0, 10.0)):
        r = render(Identity.random(40 + seed), Pose(yaw, -3.0, 2.0), size=256, seed=seed)
        chip = _chip(r.image, models)
        if chip is not None:
            out.append(chip)
    assert len(out) >= 3, "HOG should find the synthetic faces"
    out.append(np.random.default_rng(0).integers(0, 256, (150, 150, 3), dtype=np.uint8))
    return np.stack(out)


def _dlib_boxes(models, image: np.ndarray, upsample: int) -> list[tuple]:
    return [(d.rect.left(), d.rect.top(), d.rect.right(), d.rect.bottom(), d.confidence)
            for d in models.cnn(image, upsample)]


def _iou(a, b) -> float:
    iw = min(a[2], b[2]) - max(a[0], b[0]) + 1
    ih = min(a[3], b[3]) - max(a[1], b[1]) + 1
    inter = max(iw, 0) * max(ih, 0)
    area = lambda r: (r[2] - r[0] + 1) * (r[3] - r[1] + 1)  # noqa: E731
    return inter / (area(a) + area(b) - inter)


def _assert_same_boxes(ours: list[tuple], theirs: list[tuple]) -> None:
    assert len(ours) == len(theirs), (ours, theirs)
    for o, t in zip(ours, theirs, strict=True):
        assert _iou(o, t) >= 0.9, (o, t)
        assert o[:4] == t[:4] and abs(o[4] - t[4]) < 1e-3, (o, t)


# --- the reader ------------------------------------------------------------------------------

def test_reader_reads_both_networks(nets):
    net = nets.read_dat(nets.weights_path(EMBEDDER))
    assert net.input_options["nr"] == 150 and net.loss == "loss_metric"
    assert sum(layer.kind == "con" for layer in net.layers) == 29
    assert net.layers[-1].arrays["weight"].shape == (256, 128)
    mmod = nets.read_dat(nets.weights_path(DETECTOR))
    assert mmod.loss_options["windows"] == [(80, 80)]
    assert 0.3 < mmod.loss_options["nms_iou"] < 0.4
    assert [layer.arrays["weight"].shape[0] for layer in mmod.layers if layer.kind == "con"] \
        == [16, 32, 32, 45, 45, 45, 1]


@pytest.mark.parametrize("keep", [0, 3, 40, 700, 300_000, -3])
def test_truncated_file_is_a_one_line_error(nets, tmp_path, keep):
    data = nets.weights_path(DETECTOR).read_bytes()
    path = tmp_path / "cut.dat"
    path.write_bytes(data[:keep] if keep >= 0 else data[:len(data) + keep])
    with pytest.raises(TwofaceError) as err:
        nets.load_detector(path=path)
    msg = str(err.value)
    assert "\n" not in msg and str(path) in msg and "truncated" in msg, msg


def test_truncated_embedder_names_the_layer(nets, tmp_path):
    path = tmp_path / "cut.dat"
    path.write_bytes(nets.weights_path(EMBEDDER).read_bytes()[:2_000_000])
    with pytest.raises(TwofaceError, match=r"truncated .* while reading layer \d+ of 108"):
        nets.load_embedder(path=path)


@pytest.mark.parametrize("content", [b"\x89PNG\r\n\x1a\n" + bytes(200), b"hello, world\n" * 20,
                                     "shape_predictor_5_face_landmarks.dat"])
def test_foreign_file_is_a_one_line_error(nets, tmp_path, content):
    path = tmp_path / "foreign.dat"
    if isinstance(content, str):  # a real dlib file that is not a network
        content = nets.weights_path(content).read_bytes()[:100_000]
    path.write_bytes(content)
    with pytest.raises(TwofaceError) as err:
        nets.load_embedder(path=path)
    msg = str(err.value)
    assert "\n" not in msg and str(path) in msg and "not a dlib network" in msg, msg


def test_the_wrong_network_is_named(nets):
    with pytest.raises(TwofaceError, match="not the face recognition ResNet"):
        nets.load_embedder(path=nets.weights_path(DETECTOR))
    with pytest.raises(TwofaceError, match="not the mmod face detector"):
        nets.load_detector(path=nets.weights_path(EMBEDDER))
    with pytest.raises(TwofaceError, match="cannot read"):
        nets.load_detector(path="/nonexistent/mmod.dat")


# --- the embedder ----------------------------------------------------------------------------

def test_embeddings_match_dlib(nets, embedder, chips, models):
    ours = nets.embed_chips(chips, embedder=embedder)
    theirs = np.stack([np.asarray(models.encoder.compute_face_descriptor(c)) for c in chips])
    assert ours.shape == (len(chips), 128) and ours.dtype == np.float32
    assert np.abs(ours - theirs).max() <= 1e-3
    # dlib's descriptor is not L2-normalised, and neither is ours.
    assert np.abs(np.linalg.norm(theirs, axis=1) - 1).max() > 0.05
    assert nets.embed_chips(chips[0], embedder=embedder).shape == (1, 128)


def test_bfloat16_runs_close(nets, embedder, chips):
    ref = nets.embed_chips(chips, embedder=embedder)
    auto = nets.embed_chips(chips, embedder=embedder, dtype=torch.bfloat16)
    assert np.abs(auto - ref).max() < 0.03
    half = nets.load_embedder().to(torch.bfloat16)
    assert np.abs(nets.embed_chips(chips, embedder=half) - ref).max() < 0.1


def test_features_and_a_differentiable_path(embedder, chips):
    x01 = torch.from_numpy(chips[:2]).permute(0, 3, 1, 2).float().div(255).requires_grad_()
    emb, feats = embedder(embedder.normalize(x01), return_features=True)
    assert [tuple(f.shape[1:]) for f in feats] == [(32, 35, 35), (32, 35, 35), (64, 17, 17),
                                                   (128, 8, 8), (256, 4, 4), (256, 2, 2)]
    direct = embedder(embedder.chips_to_input(torch.from_numpy(chips[:2])))
    assert torch.allclose(emb, direct, atol=1e-4)
    (emb[0] - emb[1]).square().sum().backward()
    assert x01.grad is not None and torch.isfinite(x01.grad).all() and x01.grad.abs().sum() > 0
    assert all(p.grad is None for p in embedder.parameters())


def test_torch_compile_captures_one_graph(embedder, detector, chips):
    x = embedder.chips_to_input(torch.from_numpy(chips))
    compiled = torch.compile(embedder, fullgraph=True, backend="eager")
    assert torch.allclose(compiled(x), embedder(x), atol=1e-5)
    tiled, _ = detector.prepare(torch.from_numpy(chips[:2]))
    scores = torch.compile(detector, fullgraph=True, backend="eager")(tiled)
    assert torch.allclose(scores, detector(tiled), atol=1e-5)


# --- the detector ----------------------------------------------------------------------------

def test_detector_matches_dlib_on_a_synthetic_face(nets, detector, face_image, models):
    ours = nets.detect_faces(face_image, detector=detector)
    assert ours, "dlib's CNN finds the synthetic face"
    _assert_same_boxes(ours, _dlib_boxes(models, face_image, 0))


def test_detector_upsample_matches_dlib(nets, detector, synthetic_face, models):
    small = np.ascontiguousarray(synthetic_face.image[::2, ::2])
    ours = nets.detect_faces(small, upsample=1, detector=detector)
    assert ours
    _assert_same_boxes(ours, _dlib_boxes(models, small, 1))
    # below threshold 0 dlib's adjust_threshold gives more (overlapping) candidates
    assert len(nets.detect_faces(small, 1, detector=detector, adjust_threshold=-1.5)) >= len(ours)


def test_batch_equals_one_by_one(nets, detector, face_image):
    frames = [face_image, np.ascontiguousarray(face_image[:, ::-1]), np.zeros_like(face_image)]
    batch = nets.detect_faces_batch(frames, detector=detector, batch_size=2)
    assert batch == [nets.detect_faces(f, detector=detector) for f in frames]
    assert batch[2] == []


def test_pyramid_up_is_dlibs_bit_for_bit(nets, face_image, models):
    for image in (face_image, np.ascontiguousarray(face_image[3:, 5:200])):
        up = nets.pyramid_up(image)
        assert up.shape == (2 * image.shape[0] + 1, 2 * image.shape[1] + 2, 3)
        assert np.array_equal(up, models.dlib.resize_image(image, *up.shape[:2]))


@pytest.mark.shared
def test_real_faces_match_dlib(nets, embedder, detector, shared_faces, models):
    from PIL import Image

    paths = [*sorted((shared_faces / "utkface_adults").glob("*.jpg"))[:2],
             shared_faces / "gan_vs_real" / "crops" / "real" / "ffhq_256_0.png",
             shared_faces / "digiface1m" / "crops" / "id1_r0c0.jpg"]
    found = 0
    for path in paths:
        image = np.asarray(Image.open(path).convert("RGB"))
        theirs = _dlib_boxes(models, image, 0)
        _assert_same_boxes(nets.detect_faces(image, detector=detector), theirs)
        found += bool(theirs)
        chip = _chip(image, models)
        if chip is not None:
            ref = np.asarray(models.encoder.compute_face_descriptor(chip))
            assert np.abs(nets.embed_chips(chip, embedder=embedder)[0] - ref).max() <= 1e-3
    assert found >= 3


def test_runs_without_dlib():
    """The port needs neither dlib nor an import of face_recognition_models (only its path)."""
    code = ("import sys; sys.modules['dlib'] = None\n"
            "import numpy as np\n"
            "from twoface.faces import nets\n"
            "e = nets.embed_chips(np.zeros((1, 150, 150, 3), np.uint8))\n"
            "d = nets.detect_faces(np.zeros((120, 160, 3), np.uint8))\n"
            "assert e.shape == (1, 128) and d == [], (e.shape, d)\n"
            "assert 'face_recognition_models' not in sys.modules\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
