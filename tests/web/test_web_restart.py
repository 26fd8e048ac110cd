"""Jobs outlive the server: queued and finished jobs are listed after a restart, a job that
was running is marked interrupted and can be resumed; cancelling stops a running job (a
training job keeps its checkpoint, as on Ctrl-C)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from webtools import wait_job

from twoface.web.jobs import Context, JobStore, Worker
from twoface.web.tasks import read_loss


def test_queued_finished_and_running_jobs_survive_a_restart(tmp_path: Path,
                                                            talking_video: Path) -> None:
    from fastapi.testclient import TestClient

    from twoface.web import create_app

    ws = tmp_path / "ws"
    with TestClient(create_app(ws)) as client:  # first server: one job finishes
        path = client.post("/api/uploads?name=t.mp4", content=talking_video.read_bytes()
                           ).json()["path"]
        done = wait_job(client, client.post("/api/jobs", json={
            "kind": "verify", "params": {"file": path}}).json())
        assert done["status"] == "done"
    # A server whose worker never starts (no lifespan): its jobs stay queued.
    idle = TestClient(create_app(ws))
    queued = idle.post("/api/jobs", json={"kind": "inspect", "params": {"file": path}}).json()
    running = idle.post("/api/jobs", json={"kind": "verify", "params": {"file": path}}).json()
    # The server dies while `running` runs: its row is left 'running'.
    JobStore(ws / "jobs.sqlite").update(running["id"], status="running", progress=0.4)
    with TestClient(create_app(ws)) as client:  # the restarted server
        listed = {j["id"]: j for j in client.get("/api/jobs").json()["jobs"]}
        assert set(listed) == {done["id"], queued["id"], running["id"]}
        assert listed[done["id"]]["status"] == "done" and listed[done["id"]]["result"]
        assert listed[running["id"]]["status"] == "interrupted"
        assert "resume" in listed[running["id"]]["message"]
        assert wait_job(client, queued)["status"] == "done"  # the queued job runs now
        r = client.post(f"/api/jobs/{running['id']}/resume")
        assert r.status_code == 200 and r.json()["status"] in ("queued", "running", "done")
        resumed = wait_job(client, running)
        assert resumed["status"] == "done" and resumed["runs"] == 1
        assert resumed["result"]["manifest"]["state"] == "absent"


def _slow(ctx: Context) -> dict[str, Any]:
    for i in range(400):
        ctx.progress(i / 400, f"step {i}")
        time.sleep(0.05)
    return {"finished": True}


def _worker(tmp_path: Path) -> tuple[JobStore, Worker]:
    store = JobStore(tmp_path / "jobs.sqlite")
    return store, Worker(store, lambda job_id: tmp_path / "jobs" / job_id, lambda kind: _slow)


def _until(store: JobStore, job_id: str, status: str, timeout: float = 20) -> dict[str, Any]:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        row = store.get(job_id)
        if row["status"] == status:
            return row
        time.sleep(0.05)
    raise AssertionError(f"{job_id} never became {status}: {store.get(job_id)}")


def test_cancel_and_server_stop_mid_job(tmp_path: Path) -> None:
    store, worker = _worker(tmp_path)
    worker.start()
    job = store.add("slow", {})
    worker.poke()
    _until(store, job["id"], "running")
    assert worker.cancel(job["id"])
    assert _until(store, job["id"], "cancelled")["message"] == "cancelled"
    second = store.add("slow", {})
    worker.poke()
    _until(store, second["id"], "running")
    worker.stop()  # the server shuts down during a job
    row = store.get(second["id"])
    assert row["status"] == "interrupted" and "resume" in row["message"]
    log = (tmp_path / "jobs" / second["id"] / "log.txt").read_text()
    assert "interrupted" in log


def test_cancelling_training_keeps_its_checkpoint_and_resume_continues(
        tmp_path: Path, talking_video: Path) -> None:
    from fastapi.testclient import TestClient

    from twoface.web import create_app

    with TestClient(create_app(tmp_path / "ws")) as client:
        path = client.post("/api/uploads?name=t.mp4", content=talking_video.read_bytes()
                           ).json()["path"]
        fs = wait_job(client, client.post("/api/jobs", json={
            "kind": "extract", "params": {"files": [path], "size": 64}}).json())
        job = client.post("/api/jobs", json={"kind": "train_gan", "params": {
            "facesets": [fs["result"]["faceset"]], "steps": 100000, "size": 32,
            "batch": 2}}).json()
        model = tmp_path / "ws" / "jobs" / job["id"] / "model"
        end = time.monotonic() + 180
        while not read_loss(model)["step"] and time.monotonic() < end:
            time.sleep(0.2)  # wait for the first logged steps
        assert read_loss(model)["step"]
        row = client.post(f"/api/jobs/{job['id']}/cancel").json()
        assert row["status"] == "cancelled"
        assert (model / "state.safetensors").is_file()  # the loop saved on its way out
        assert (model / "samples" / "latest.png").is_file()
        first_run = client.get(f"/api/jobs/{job['id']}/loss").json()["step"][-1]
        assert row["progress"] > 0
        assert client.post(f"/api/jobs/{job['id']}/resume").json()["status"] in (
            "queued", "running")
        end = time.monotonic() + 180
        while time.monotonic() < end:
            steps = client.get(f"/api/jobs/{job['id']}/loss").json()["step"]
            if steps and steps[-1] > first_run:
                break
            time.sleep(0.3)
        assert steps[-1] > first_run  # it went on from the checkpoint
        assert "resuming" in client.get(f"/api/jobs/{job['id']}/log").text
        client.post(f"/api/jobs/{job['id']}/cancel")
        assert threading.active_count() >= 1


def test_one_server_per_workspace(tmp_path: Path) -> None:
    import pytest
    from fastapi.testclient import TestClient

    from twoface.errors import TwofaceError
    from twoface.web import create_app

    with TestClient(create_app(tmp_path / "ws")), \
            pytest.raises(TwofaceError, match="another twoface web server"), \
            TestClient(create_app(tmp_path / "ws")):
        pass
