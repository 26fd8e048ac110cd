"""The JSON API with FastAPI's test client: pages, uploads, every read-only job on a small
synthetic video, the make chain (extract → train GAN → generate with a consent record →
verify), job management and the live event stream."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from webtools import wait_job


def run(client: Any, kind: str, params: dict[str, Any], timeout: float = 240.0
        ) -> dict[str, Any]:
    r = client.post("/api/jobs", json={"kind": kind, "params": params})
    assert r.status_code == 201, r.text
    job = wait_job(client, r.json(), timeout)
    assert job["status"] == "done", job
    return job


def test_every_page_and_asset_loads(client: Any) -> None:
    for page in ("detect", "verify", "inspect", "make", "jobs"):
        r = client.get(f"/{page}")
        assert r.status_code == 200 and "<nav>" in r.text, page
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/style.css").headers["content-type"].startswith("text/css")
    assert client.get("/static/nope.js").status_code == 404
    assert client.get("/", follow_redirects=False).headers["location"] == "/detect"
    assert client.get("/api/health").json()["ok"] is True


def test_importing_the_web_app_loads_no_torch() -> None:
    code = ("import sys, twoface.web, twoface.cli.web\n"
            "heavy = [m for m in ('torch', 'av', 'dlib') if m in sys.modules]\n"
            "assert not heavy, heavy\n")
    run_ = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run_.returncode == 0, run_.stderr[-2000:]


def test_detect_job_gives_verdict_timeline_faces_provenance_caveats(
        client: Any, uploaded_video: str) -> None:
    job = run(client, "detect", {"file": uploaded_video, "frames": 8, "extra": 2})
    r = job["result"]
    assert r["verdict"] in ("fake", "real", "uncertain")
    assert 0.0 <= r["probability_fake"] <= 1.0
    assert r["file"] == uploaded_video  # workspace paths, not the server's
    assert r["tracks"] and r["tracks"][0]["timeline"]
    assert r["provenance"]["status"] and r["provenance"]["manifest"]["state"] == "absent"
    assert r["caveats"] and "estimate" in r["caveats"][0]
    assert r["top_faces"]
    for face in r["top_faces"]:
        for key in ("crop", "heat"):
            img = client.get("/api/file", params={"path": face[key]})
            assert img.status_code == 200 and img.content[:4] == b"\x89PNG"
    page = client.get("/api/file", params={"path": r["report_html"]})
    assert page.status_code == 200 and "twoface detect" in page.text
    dl = client.get("/api/file", params={"path": r["report_json"], "download": 1})
    assert "attachment" in dl.headers["content-disposition"]
    assert client.get(f"/api/jobs/{job['id']}/log").text.count("detect") >= 1


def test_verify_and_inspect_jobs(client: Any, uploaded_video: str) -> None:
    v = run(client, "verify", {"file": uploaded_video})["result"]
    assert v["manifest"]["state"] == "absent" and v["watermark"]["detected"] is False
    assert v["exit_code"] == 1
    i = run(client, "inspect", {"file": uploaded_video})["result"]
    assert i["frames"] == 40 and isinstance(i["findings"], list)
    assert client.get("/api/file", params={"path": i["report_html"]}).status_code == 200


def test_inspect_job_compares_with_the_source_when_given(
        client: Any, uploaded_video: str, talking_video: Path, tmp_path: Path) -> None:
    import cv2

    from twoface.media import iter_frames, probe, write_video

    # The clip mirrored and re-encoded: against its source, a measured edit.
    frames = [f.image[:, ::-1].copy() for f in iter_frames(talking_video)]
    flipped = write_video(tmp_path / "flipped.mp4", frames, probe(talking_video).fps)
    up = client.post("/api/uploads?name=flipped.mp4", content=flipped.read_bytes()).json()
    i = run(client, "inspect", {"file": up["path"], "against": uploaded_video})["result"]
    assert i["against"] == uploaded_video
    kinds = {f["kind"]: f for f in i["findings"]}
    assert "source_match" in kinds and kinds["source_match"]["context"] is True
    assert kinds["source_match"]["evidence"]["source"] == uploaded_video  # no server path
    blind = run(client, "inspect", {"file": up["path"]})["result"]
    assert "against" not in blind and all(f["kind"] != "source_match"
                                          for f in blind["findings"])
    # A source that is not in the workspace is refused before a job is queued.
    r = client.post("/api/jobs", json={"kind": "inspect", "params": {
        "file": up["path"], "against": "../outside.mp4"}})
    assert r.status_code == 400 and "outside" in r.text
    # A still cannot be compared with a source: the job fails with one line.
    _ok, png = cv2.imencode(".png", frames[0])
    still = client.post("/api/uploads?name=still.png", content=png.tobytes()).json()["path"]
    r = client.post("/api/jobs", json={"kind": "inspect", "params": {
        "file": still, "against": uploaded_video}})
    job = wait_job(client, r.json(), 120)
    assert job["status"] == "failed" and "videos" in job["error"]


def test_inspect_job_on_a_still_runs_the_checks_for_stills(client: Any) -> None:
    import cv2
    import numpy as np

    still = np.full((96, 128, 3), 120, np.uint8)
    cv2.circle(still, (64, 48), 30, (40, 90, 200), -1)
    _ok, jpeg = cv2.imencode(".jpg", still, [cv2.IMWRITE_JPEG_QUALITY, 90])
    up = client.post("/api/uploads?name=still.jpg", content=jpeg.tobytes())
    assert up.status_code == 201, up.text
    i = run(client, "inspect", {"file": up.json()["path"]})["result"]
    assert i["media"] == "image" and "frames" not in i
    assert client.get("/api/file", params={"path": i["report_html"]}).status_code == 200


def test_make_chain_records_the_consent_in_the_manifest(client: Any,
                                                        uploaded_video: str) -> None:
    consent = client.post("/api/uploads?name=consent.txt&purpose=consent",
                          content=b"Alice agrees to appear in this test.\n").json()["path"]
    fs = run(client, "extract", {"files": [uploaded_video], "size": 64})["result"]
    assert fs["faces"] > 0
    gan = run(client, "train_gan", {"facesets": [fs["faceset"]], "steps": 4, "size": 32,
                                    "batch": 4})
    loss = client.get(f"/api/jobs/{gan['id']}/loss").json()
    assert loss["step"][-1] == 4 and loss["preview"].endswith("latest.png")
    choices = client.get("/api/choices").json()
    assert choices["gan_models"] == [gan["result"]["model"]]
    assert choices["facesets"] == [fs["faceset"]] and choices["consent"] == [consent]
    made = run(client, "generate", {"model": gan["result"]["model"], "n": 1,
                                    "consent": consent})["result"]
    v = run(client, "verify", {"file": made["files"][0]})["result"]
    import hashlib

    want = hashlib.sha256(b"Alice agrees to appear in this test.\n").hexdigest()
    assert v["manifest"]["claims"]["consent_sha256"] == want
    assert v["watermark"]["detected"] and v["exit_code"] == 0


def test_bad_job_requests_are_refused_with_one_line(client: Any, uploaded_video: str) -> None:
    cases = [({"kind": "mine", "params": {}}, "unknown job kind"),
             ({"kind": "detect", "params": {}}, "give 'file'"),
             ({"kind": "detect", "params": {"file": uploaded_video, "frames": 0}}, "frames"),
             ({"kind": "detect", "params": {"file": uploaded_video, "no_mark": True}},
              "unknown parameter"),
             ({"kind": "swap", "params": {"file": uploaded_video, "model": uploaded_video,
                                          "direction": "up"}}, "direction")]
    for body, words in cases:
        r = client.post("/api/jobs", json=body)
        assert r.status_code == 400 and words in r.json()["error"], (body, r.text)
        assert "\n" not in r.json()["error"]
    assert client.post("/api/jobs", content=b"not json").status_code == 400
    assert client.get("/api/jobs/20260101-000000-abcdef").status_code == 404
    assert client.get("/api/jobs/nonsense").status_code == 404


def test_jobs_cancel_resume_delete_and_events(client: Any, uploaded_video: str,
                                              workspace: Path) -> None:
    job = run(client, "verify", {"file": uploaded_video})
    events = client.get(f"/api/jobs/{job['id']}/events").text
    assert "event: job" in events and '"status": "done"' in events and "event: log" in events
    assert [j["id"] for j in client.get("/api/jobs").json()["jobs"]] == [job["id"]]
    r = client.post(f"/api/jobs/{job['id']}/cancel")
    assert r.status_code == 400 and "nothing to cancel" in r.json()["error"]
    r = client.post(f"/api/jobs/{job['id']}/resume")
    assert r.status_code == 400 and "only an interrupted" in r.json()["error"]
    assert (workspace / "jobs" / job["id"]).is_dir()
    assert client.delete(f"/api/jobs/{job['id']}").json() == {"deleted": job["id"]}
    assert not (workspace / "jobs" / job["id"]).exists()
    assert client.get("/api/jobs").json()["jobs"] == []


def test_swap_and_animate_jobs_mark_their_output_with_the_consent(
        client: Any, uploaded_video: str, face_image: Any) -> None:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(face_image).save(buf, format="PNG")
    still = client.post("/api/uploads?name=still.png", content=buf.getvalue()).json()["path"]
    consent = client.post("/api/uploads?name=ok.md&purpose=consent",
                          content=b"# consent\nyes\n").json()["path"]
    fs = run(client, "extract", {"files": [uploaded_video], "size": 64})["result"]["faceset"]
    swap_model = run(client, "train_swap", {"a": fs, "b": fs, "steps": 2, "size": 64,
                                            "batch": 2})["result"]["model"]
    swapped = run(client, "swap", {"file": uploaded_video, "model": swap_model,
                                   "direction": "b2a", "consent": consent})["result"]
    assert swapped["frames"] == 40 and swapped["output"].endswith(".mp4")
    motion = run(client, "train_motion", {"videos": [uploaded_video], "steps": 2,
                                          "size": 64, "batch": 2})["result"]["model"]
    animated = run(client, "animate", {"source": still, "driving": uploaded_video,
                                       "model": motion, "consent": consent})["result"]
    reenacted = run(client, "reenact", {"target": uploaded_video, "driver": uploaded_video,
                                        "model": motion, "expression_only": 1,
                                        "consent": consent})["result"]
    assert reenacted["frames"] == 40
    oneshot = run(client, "swap_oneshot", {"target": uploaded_video, "faces": [still],
                                           "model": motion, "consent": consent})["result"]
    assert list(oneshot["photo_frames"].values()) == [oneshot["swapped_frames"]]
    warped = run(client, "swap_oneshot", {"target": uploaded_video, "faces": [still],
                                          "engine": "warp"})["result"]  # no model needed
    assert warped["swapped_frames"] == oneshot["swapped_frames"]
    bad = client.post("/api/jobs", json={"kind": "reenact", "params": {
        "target": uploaded_video, "driver": uploaded_video}})
    assert bad.status_code == 400 and "model" in bad.json()["error"]
    for made, method in ((swapped, "swap"), (animated, "animate"), (reenacted, "reenact"),
                         (oneshot, "swap_oneshot")):
        v = run(client, "verify", {"file": made["output"]})["result"]
        assert v["manifest"]["claims"]["method"] == method
        assert v["manifest"]["claims"]["consent_sha256"]
        assert v["watermark"]["detected"]
    dl = client.get("/api/file", params={"path": animated["output"], "download": 1})
    assert dl.status_code == 200 and dl.headers["content-type"] == "video/mp4"
