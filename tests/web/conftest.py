"""Fixtures of the web app's tests: an app on a fresh workspace, a client, a job waiter."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")


def wait_job(client: Any, job: dict[str, Any], timeout: float = 240.0) -> dict[str, Any]:
    """Poll a job until it has left ``queued``/``running`` (fails after ``timeout`` s)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        row = client.get(f"/api/jobs/{job['id']}").json()
        if row["status"] not in ("queued", "running"):
            return row
        time.sleep(0.2)
    raise AssertionError(f"job {job['id']} ({job['kind']}) still not finished after {timeout} s")


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
