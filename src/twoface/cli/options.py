"""Every choice and default the command line offers, read from the module that defines it.

Typer turns a ``Literal`` annotation into a choice (checked, and shown as ``<a|b>`` in
``--help``). The choices here are built from the model registry, the ``Literal`` names in
:mod:`twoface.types` and the models' own ``SIZES``, so a model or a size added there is
offered by the command line without an edit here. Defaults come from the library's option
dataclasses and function signatures for the same reason: one place states each.

Importing this loads torch and the model files (the registry needs them), never dlib or PyAV;
the options that need neither are in :mod:`twoface.cli.common`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from twoface.apply.animate import AnimateOptions
from twoface.apply.reenact import ReenactOptions
from twoface.apply.swap import SwapOptions
from twoface.cli.common import one_of
from twoface.data.detect_dataset import DatasetOptions
from twoface.models import gan, motion, swap_ae
from twoface.models.registry import names
from twoface.train.loop import TrainOptions

# Mypy cannot follow a Literal built at run time: it sees the plain type the values have.
if TYPE_CHECKING:
    SwapModel = str
    GanModel = str
    MotionModel = str
    DetectorModel = str
    SwapSize = int
    GanSize = int
    MotionSize = int
else:
    SwapModel = one_of(names("swap"))
    GanModel = one_of(names("gan"))
    MotionModel = one_of(names("motion"))
    DetectorModel = one_of(names("detector"))
    SwapSize = one_of(swap_ae.SIZES)
    GanSize = one_of(gan.SIZES)
    MotionSize = one_of(motion.SIZES)

# The defaults of the option dataclasses, read as attributes (``SWAP.blend``).
SWAP = SwapOptions()
ANIMATE = AnimateOptions()
REENACT = ReenactOptions()
DATASET = DatasetOptions()
TRAIN = TrainOptions()


def model_help(thing: str) -> str:
    """``--model`` of a ``train`` command: the trainer picks the default (a small model for a
    CPU), a resumed run keeps its saved one; the choices are in the option's type column."""
    return f"The {thing} to train (default: the small CPU one; with --resume, the saved one)."


SIZE_HELP = "Side of the faces the model sees, in pixels (default: the model's)."
