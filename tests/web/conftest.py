"""Fixtures of the web app's tests: an app on a fresh workspace, a client, an upload."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return tmp_path / "ws"


@pytest.fixture
def client(workspace: Path) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from twoface.web import create_app

    with TestClient(create_app(workspace)) as c:
        yield c


@pytest.fixture
def uploaded_video(client: Any, talking_video: Path) -> str:
    r = client.post("/api/uploads?name=talking.mp4", content=talking_video.read_bytes())
    assert r.status_code == 201, r.text
    return str(r.json()["path"])
