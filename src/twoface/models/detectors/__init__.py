"""Face-forgery detectors, registered as kind ``detector``.

The detector files (listed in :func:`twoface.models.registry.model_files`):
``cnn``/``cnn_tiny`` (supervised CNN), ``selfblend``/``selfblend_tiny`` (the same CNN
trained on self-blended reals), ``spectral`` (frequency statistics + MLP) and ``fusion``
(calibrated stack of the others).
"""

from pathlib import Path

from twoface.models.detectors.base import Detector, fit_logistic, fit_platt

DEFAULT_DIR = Path(__file__).resolve().parent / "default"
"""The small detector twoface ships (see the README, ``make detector``)."""


def load_detector(folder: str | Path | None = None, device: str = "cpu") -> Detector:
    """A trained detector from ``folder`` (default: the shipped one), in eval mode."""
    from twoface.errors import TwofaceError
    from twoface.models.registry import from_pretrained

    path = Path(folder) if folder is not None else DEFAULT_DIR
    if folder is None and not (path / "model.safetensors").is_file():
        raise TwofaceError(path, "no default detector is installed; train one with "
                           "`make detector` or pass -m MODEL_DIR")
    model = from_pretrained(path, "detector", device=device)
    assert isinstance(model, Detector)  # every registered detector is one
    return model.eval()


__all__ = ["DEFAULT_DIR", "Detector", "fit_logistic", "fit_platt", "load_detector"]
