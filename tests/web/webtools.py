"""Helpers of the web app's tests (a plain module: test files import it by name)."""

from __future__ import annotations

import time
from typing import Any


def wait_job(client: Any, job: dict[str, Any], timeout: float = 240.0) -> dict[str, Any]:
    """Poll a job until it has left ``queued``/``running`` (fails after ``timeout`` s)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        row = client.get(f"/api/jobs/{job['id']}").json()
        if row["status"] not in ("queued", "running"):
            return row
        time.sleep(0.2)
    raise AssertionError(f"job {job['id']} ({job['kind']}) still not finished after {timeout} s")
