"""Shared test fixtures: paths to the shared test media, small synthetic media made on the fly."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "faces"


@pytest.fixture(scope="session", autouse=True)
def _private_keys_home(tmp_path_factory) -> None:
    """Signing keys made by tests go to a temporary folder, never the user's config folder.

    Set in the environment so that CLI subprocesses see it too."""
    os.environ["TWOFACE_HOME"] = str(tmp_path_factory.mktemp("twoface_home"))


@pytest.fixture(scope="session")
def shared_faces() -> Path:
    """The shared face media folder; tests that need it skip when it is absent."""
    if not SHARED.is_dir():
        pytest.skip(f"shared test media not found at {SHARED} (it sits beside the checkout)")
    return SHARED


@pytest.fixture(scope="session")
def models():
    from twoface.faces.dlib_models import DlibModels

    return DlibModels()


@pytest.fixture(scope="session")
def synthetic_face():
    """One frontal synthetic render (image + exact landmarks)."""
    from twoface.synth import Identity, render
    from twoface.types import Pose

    return render(Identity.random(3), Pose(5.0, -3.0, 2.0), size=256, seed=3)


@pytest.fixture(scope="session")
def face_image(synthetic_face):
    return synthetic_face.image


@pytest.fixture(scope="session")
def talking_video(tmp_path_factory) -> Path:
    """A 1.6 s synthetic video of one person talking and turning the head."""
    from twoface.synth import Identity, write_talking_video

    path = tmp_path_factory.mktemp("video") / "talking.mp4"
    write_talking_video(path, Identity.random(4), seconds=1.6, fps=25, size=192, seed=4)
    return path


@pytest.fixture(scope="session")
def rotated_talking_video(tmp_path_factory) -> Path:
    """The same kind of video stored sideways with rotation metadata (as phones do)."""
    import av
    import numpy as np

    from twoface.synth import Identity, render_sequence

    renders = render_sequence(Identity.random(6), 30, fps=25, size=192, seed=6)
    path = tmp_path_factory.mktemp("video") / "rotated.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 192, 192, "yuv420p"
        stream.set_display_rotation(90)  # degrees counter-clockwise, as phones write it
        for i, r in enumerate(renders):
            # Store the picture turned clockwise; the metadata says to turn it back.
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(np.rot90(r.image, -1)),
                                               format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path
