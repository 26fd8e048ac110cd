"""Shared test fixtures: paths to the shared test media, small synthetic media made on the fly."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "faces"


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
