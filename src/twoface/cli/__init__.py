"""The ``twoface`` command line: one Typer app, one module per command group.

``app`` and ``main`` (the console entry point) are assembled in :mod:`twoface.cli.app`; each
command is a plain function in its group's module (:mod:`~twoface.cli.faces`,
:mod:`~twoface.cli.swap`, :mod:`~twoface.cli.motion`, :mod:`~twoface.cli.gan`,
:mod:`~twoface.cli.detect`, :mod:`~twoface.cli.judge`, :mod:`~twoface.cli.forensics`,
:mod:`~twoface.cli.provenance`, :mod:`~twoface.cli.demo`), importable and callable without
Typer. The app names each command by module and function and imports a module only when one
of its commands runs (or ``--help`` lists it). Choices and defaults are read from the library:
those that need the model registry (and so torch) in :mod:`~twoface.cli.options`, the rest in
:mod:`~twoface.cli.common`; every ``train`` command runs through :mod:`~twoface.cli.training`.
"""

from twoface.cli.app import app, main

__all__ = ["app", "main"]
