"""dlib's two public-domain face networks, read from their ``.dat`` files into PyTorch.

- :func:`load_embedder` / :func:`embed_chips`: the face recognition ResNet
  (``dlib_face_recognition_resnet_model_v1``): 150x150 RGB chips -> 128-d descriptors, equal
  to dlib's ``compute_face_descriptor`` to ~1e-6; differentiable, batched, ``torch.compile``-able.
- :func:`load_detector` / :func:`detect_faces` / :func:`detect_faces_batch`: the CNN face
  detector (``mmod_human_face_detector``), the same boxes and scores as
  ``dlib.cnn_face_detection_model_v1``, batched over video frames.

Only numpy and torch are needed: the weights are parsed by :mod:`.dat` (no dlib, no pickle),
found in the ``face_recognition_models`` package or at a ``path=`` you give. Nothing is
downloaded and nothing is cached at module level: keep the module a loader returns.
"""

from twoface.faces.nets.dat import DlibLayer, DlibNet, read_dat, weights_path
from twoface.faces.nets.embedder import FaceEmbedder, embed_chips, load_embedder
from twoface.faces.nets.mmod import (
    MMODDetector,
    detect_faces,
    detect_faces_batch,
    load_detector,
    pyramid_up,
)

__all__ = [
    "DlibLayer",
    "DlibNet",
    "FaceEmbedder",
    "MMODDetector",
    "detect_faces",
    "detect_faces_batch",
    "embed_chips",
    "load_detector",
    "load_embedder",
    "pyramid_up",
    "read_dat",
    "weights_path",
]
