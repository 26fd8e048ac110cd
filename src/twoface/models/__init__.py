"""Models, one file each, registered by kind and name (see :mod:`twoface.models.registry`).

Importing this package imports every model file, explicitly, so that ``create`` knows them.
"""

from twoface.models import (
    detectors,  # noqa: F401  (registers the detector kinds)
    gan,  # noqa: F401  (registers gan/fastgan and gan/dcgan)
    motion,  # noqa: F401  (registers motion/small and motion/fomm)
    swap_ae,  # noqa: F401  (registers swap/light and swap/full)
)
from twoface.models.registry import create, from_pretrained, names, register, save_pretrained

__all__ = ["create", "from_pretrained", "names", "register", "save_pretrained"]
