"""Models, one file each, registered by kind and name (see :mod:`twoface.models.registry`).

Importing this package imports every model file, explicitly, so that ``create`` knows them.
"""

from twoface.models import swap_ae  # noqa: F401  (registers swap/light and swap/full)
from twoface.models.registry import create, from_pretrained, names, register, save_pretrained

__all__ = ["create", "from_pretrained", "names", "register", "save_pretrained"]
