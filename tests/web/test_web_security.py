"""Every refusal the web app owes: path traversal in every file parameter (``..``, encoded
``%2e%2e``, absolute paths, symbolic links out of the workspace), an oversized upload, a
non-media upload, a request without the token on a non-local bind. Each is refused with a
clear one-line message, and nothing is written outside the workspace."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from twoface.web.tasks import SPEC

SECRET = "the contents of a file outside the workspace\n"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A file beside the workspace, and a link to it planted inside the workspace."""
    path = tmp_path / "outside" / "secret.mp4"
    path.parent.mkdir()
    path.write_text(SECRET)
    return path


def _snapshot(folder: Path, skip: Path) -> dict[str, float]:
    """Every path under ``folder`` but those under ``skip`` (the live workspace, whose
    SQLite files come and go), with its modification time."""
    seen = {}
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if Path(root, d) != skip]
        for name in [*dirs, *files]:
            path = Path(root, name)
            seen[str(path)] = path.lstat().st_mtime
    return seen


@pytest.fixture
def untouched(tmp_path: Path, workspace: Path) -> Iterator[None]:
    """Fails the test if anything outside the workspace changed under ``tmp_path``."""
    before = _snapshot(tmp_path, workspace)
    yield
    assert _snapshot(tmp_path, workspace) == before, "something was written outside the workspace"


def _bad_paths(client: Any, workspace: Path, outside: Path) -> dict[str, str]:
    link = workspace / "uploads" / "link.mp4"
    link.symlink_to(outside)
    (workspace / "uploads" / "dirlink").symlink_to(outside.parent, target_is_directory=True)
    return {"../outside/secret.mp4": "'..' is refused",
            "uploads/../../outside/secret.mp4": "'..' is refused",
            "%2e%2e/outside/secret.mp4": "no such file",  # JSON is not URL-decoded
            str(outside): "absolute paths are refused",
            "/etc/passwd": "absolute paths are refused",
            "~/secret.mp4": "absolute paths are refused",
            "uploads/link.mp4": "leads outside the workspace",
            "uploads/dirlink/secret.mp4": "leads outside the workspace"}


def test_traversal_in_every_file_parameter_of_every_job(
        client: Any, workspace: Path, outside: Path, untouched: None) -> None:
    bad = _bad_paths(client, workspace, outside)
    good = client.post("/api/uploads?name=a.png", content=_png()).json()["path"]
    tried = 0
    for kind, (files, lists, _) in SPEC.items():
        params = {name: good for name in files} | {name: [good] for name in lists}
        names = [*files, *lists] + (["consent"] if kind in ("swap", "animate", "generate")
                                    else [])
        for name in names:
            for value, words in bad.items():
                body = params | {name: [value] if name in lists else value}
                r = client.post("/api/jobs", json={"kind": kind, "params": body})
                assert r.status_code in (400, 404), (kind, name, value, r.text)
                assert words in r.json()["error"], (kind, name, value, r.json())
                assert "\n" not in r.json()["error"]
                tried += 1
    assert tried >= 8 * 15
    assert client.get("/api/jobs").json()["jobs"] == []  # nothing was queued


def test_traversal_in_downloads_and_listings(client: Any, workspace: Path, outside: Path,
                                             untouched: None) -> None:
    bad = _bad_paths(client, workspace, outside)
    for value, words in bad.items():
        r = client.get("/api/file", params={"path": value})
        assert r.status_code in (400, 404) and words in r.json()["error"], (value, r.text)
        assert SECRET not in r.text
    # URL-encoded dots arrive decoded: %2e%2e%2f is ../
    r = client.get("/api/file?path=%2e%2e%2foutside%2fsecret.mp4")
    assert r.status_code == 400 and "'..' is refused" in r.json()["error"]
    r = client.get("/api/file?path=uploads%2f%2e%2e%2f%2e%2e%2foutside%2fsecret.mp4")
    assert r.status_code == 400 and "'..' is refused" in r.json()["error"]
    for folder in ("..", "/etc", "uploads/dirlink"):
        r = client.get("/api/files", params={"folder": folder})
        assert r.status_code == 400, folder
    listed = [f["path"] for f in client.get("/api/files").json()["files"]]
    assert "uploads/link.mp4" not in listed  # links out are not even listed
    r = client.get("/api/file", params={"path": "jobs.sqlite"})
    assert r.status_code == 400 and "not a file the app serves" in r.json()["error"]
    assert client.get("/static/..%2fapp.py").status_code == 404


def test_upload_names_cannot_leave_the_uploads_folder(client: Any, workspace: Path,
                                                      untouched: None) -> None:
    for name in ("../../evil.png", "/tmp/evil.png", "..%2f..%2fevil.png", ".hidden.png"):
        r = client.post("/api/uploads", params={"name": name}, content=_png())
        assert r.status_code == 201, r.text
        path = r.json()["path"]
        assert path.startswith("uploads/") and "/" not in path[len("uploads/"):]
        assert (workspace / path).resolve().parent == (workspace / "uploads").resolve()


def test_oversized_upload_is_refused_and_nothing_kept(tmp_path: Path, talking_video: Path,
                                                      untouched: None) -> None:
    from fastapi.testclient import TestClient

    from twoface.web import create_app

    ws = tmp_path / "ws"
    with TestClient(create_app(ws, max_upload=10_000)) as client:
        data = talking_video.read_bytes()
        assert len(data) > 10_000
        r = client.post("/api/uploads?name=big.mp4", content=data)
        assert r.status_code == 413 and "over the 10000 byte limit" in r.json()["error"]

        def chunks() -> Iterator[bytes]:  # no Content-Length: cut off while streaming
            for i in range(0, len(data), 4096):
                yield data[i:i + 4096]

        r = client.post("/api/uploads?name=big.mp4", content=chunks())
        assert r.status_code == 413 and "over the 10000 byte limit" in r.json()["error"]
        assert list((ws / "uploads").iterdir()) == []  # no partial file left


def test_non_media_upload_is_refused_and_nothing_kept(client: Any, workspace: Path,
                                                      untouched: None) -> None:
    r = client.post("/api/uploads?name=notes.txt", content=b"hello")
    assert r.status_code == 400 and "not a media file" in r.json()["error"]
    r = client.post("/api/uploads?name=clip.mp4", content=b"this is not a video at all" * 50)
    assert r.status_code == 400 and r.json()["error"].startswith("clip.mp4: ")
    r = client.post("/api/uploads?name=photo.png", content=b"GIF89a not really" * 10)
    assert r.status_code == 400 and "not an image" in r.json()["error"]
    r = client.post("/api/uploads?name=empty.png", content=b"")
    assert r.status_code == 400 and "empty" in r.json()["error"]
    r = client.post("/api/uploads?name=run.sh&purpose=consent", content=b"rm -rf /")
    assert r.status_code == 400 and "consent record must be" in r.json()["error"]
    assert list((workspace / "uploads").rglob("*.*")) == []


def test_upload_over_the_pixel_cap_is_refused_from_its_header(
        client: Any, workspace: Path, monkeypatch: pytest.MonkeyPatch, untouched: None) -> None:
    monkeypatch.setenv("TWOFACE_MAX_PIXELS", "1000")  # the 64×48 test picture is 3072 px
    r = client.post("/api/uploads?name=big.png", content=_png())
    assert r.status_code == 400 and "over the" in r.json()["error"]
    assert "TWOFACE_MAX_PIXELS" in r.json()["error"]
    assert list((workspace / "uploads").rglob("*.*")) == []


def test_token_required_off_localhost(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      untouched: None) -> None:
    from fastapi.testclient import TestClient

    from twoface.web import create_app, needs_token

    assert not needs_token("127.0.0.1") and not needs_token("localhost")
    assert not needs_token("::1") and needs_token("0.0.0.0") and needs_token("192.168.1.5")
    with TestClient(create_app(tmp_path / "ws", token="s3cret")) as client:
        for path in ("/api/jobs", "/detect", "/static/app.js", "/api/file?path=jobs.sqlite"):
            r = client.get(path)
            assert r.status_code == 401 and "needs its token" in r.json()["error"], path
        r = client.post("/api/uploads?name=a.png", content=_png())
        assert r.status_code == 401 and not list((tmp_path / "ws" / "uploads").iterdir())
        bad = client.get("/api/jobs", headers={"Authorization": "Bearer wrong"})
        assert bad.status_code == 401
        ok = client.get("/api/jobs", headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200
        page = client.get("/detect?token=s3cret")  # a page opened with the token sets a cookie
        assert page.status_code == 200 and client.cookies.get("twoface_token") == "s3cret"
        assert client.get("/api/jobs").status_code == 200


def test_web_command_makes_and_prints_a_token_off_localhost(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
        ) -> None:
    import uvicorn

    from twoface.cli.web import web

    served: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.append((app, kw)))
    monkeypatch.delenv("TWOFACE_WEB_TOKEN", raising=False)
    web(host="0.0.0.0", port=8123, workspace=tmp_path / "ws", token=None, max_upload_mb=1)
    text = capsys.readouterr().out
    assert "token (needed by every request):" in text and served[0][1]["host"] == "0.0.0.0"
    web(host="127.0.0.1", port=8124, workspace=tmp_path / "ws", token=None, max_upload_mb=1)
    assert "token" not in capsys.readouterr().out


def _png() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 90, 60)).save(buf, format="PNG")
    return buf.getvalue()

