"""dlib's pretrained face models, as shipped by the ``face_recognition_models`` package.

Nothing is downloaded: the files come with the package. Each model loads on first use and
stays with the :class:`DlibModels` instance that loaded it (pass the instance around; there is
no module-level cache). Licences: the HOG detector, mmod CNN detector, 5-point predictor and
ResNet embedding are dlib's (Boost / CC0 per their authors); the 68-point predictor was trained
on iBUG 300-W, whose licence excludes commercial use.
"""

from __future__ import annotations

import importlib.util
from functools import cached_property
from pathlib import Path
from typing import Any

from twoface.errors import TwofaceError


def model_folder() -> Path:
    """The folder holding dlib's ``.dat`` model files."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise TwofaceError("face_recognition_models", "package not installed (run `make install`)")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


class DlibModels:
    """Lazily loaded dlib models; one instance per pipeline."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or model_folder()

    def _path(self, name: str) -> str:
        path = self.folder / name
        if not path.is_file():
            raise TwofaceError(path, "dlib model file missing; reinstall face_recognition_models")
        return str(path)

    @cached_property
    def dlib(self) -> Any:
        import dlib  # heavy native import: only when faces are analysed

        return dlib

    @cached_property
    def hog(self) -> Any:
        return self.dlib.get_frontal_face_detector()

    @cached_property
    def cnn(self) -> Any:
        """dlib's own mmod detector (a reference for tests and benchmarks)."""
        return self.dlib.cnn_face_detection_model_v1(self._path("mmod_human_face_detector.dat"))

    @cached_property
    def encoder(self) -> Any:
        """dlib's own identity ResNet (a reference for tests and benchmarks)."""
        path = self._path("dlib_face_recognition_resnet_model_v1.dat")
        return self.dlib.face_recognition_model_v1(path)

    @cached_property
    def net_detector(self) -> Any:
        """dlib's mmod detector ported to PyTorch (:mod:`twoface.faces.nets`): the same boxes
        as dlib's, 6-8x faster on this CPU, and on the GPU when there is one."""
        from twoface.device import pick_device
        from twoface.faces.nets import load_detector

        return load_detector(pick_device(None), path=self.folder)

    @cached_property
    def net_embedder(self) -> Any:
        """dlib's identity ResNet ported to PyTorch: dlib's descriptors to ~1e-6, batched."""
        from twoface.device import pick_device
        from twoface.faces.nets import load_embedder

        return load_embedder(pick_device(None), path=self.folder)

    @cached_property
    def shape68(self) -> Any:
        return self.dlib.shape_predictor(self._path("shape_predictor_68_face_landmarks.dat"))

    @cached_property
    def shape5(self) -> Any:
        return self.dlib.shape_predictor(self._path("shape_predictor_5_face_landmarks.dat"))

