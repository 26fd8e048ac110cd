"""Procedural 3-D people with exact ground truth, for tests, demos and training data that
involve no real person.

:mod:`~twoface.synth.identity` says who a person is (:class:`Identity`, :class:`Expression`,
:class:`Light`); :mod:`~twoface.synth.render` ray-casts them (:func:`render`,
:func:`render_sequence`, :func:`write_talking_video`). The head's geometry, skin, outline,
ray caster and motion live in the modules of the same names.
"""

from twoface.synth.identity import Expression, Identity, Light
from twoface.synth.render import (
    Render,
    canonical_landmarks,
    render,
    render_sequence,
    write_talking_video,
)

__all__ = [
    "Expression",
    "Identity",
    "Light",
    "Render",
    "canonical_landmarks",
    "render",
    "render_sequence",
    "write_talking_video",
]
