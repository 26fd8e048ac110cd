"""Models, one file each, registered by kind and name (see :mod:`twoface.models.registry`):
``swap`` (:mod:`~twoface.models.swap_ae`), ``gan`` (:mod:`~twoface.models.gan`), ``motion``
(:mod:`~twoface.models.motion`), ``detector`` (:mod:`~twoface.models.detectors`) and
``rerender`` (:mod:`~twoface.models.rerender`). Every one is a
:class:`~twoface.models.base.TrainableModel`; ``create`` and ``names`` load the model files.
"""

from twoface.models.base import TrainableModel
from twoface.models.registry import create, from_pretrained, kinds, names, register, save_pretrained

__all__ = ["TrainableModel", "create", "from_pretrained", "kinds", "names", "register",
           "save_pretrained"]
