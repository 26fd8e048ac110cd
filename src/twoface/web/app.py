"""The FastAPI app: pages, the JSON API under ``/api/``, live job events (server-sent
events), streamed uploads and downloads from the workspace only.

:func:`create_app` builds everything from its arguments (no module-level state): the
workspace, the job table, the worker thread (started and stopped with the app) and, for a
server reachable from other machines, the token every request must carry.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import (
    FileResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)

from twoface.errors import TwofaceError
from twoface.fileio import folder_lock
from twoface.web import tasks
from twoface.web.jobs import FINISHED, JobStore, Worker
from twoface.web.uploads import DEFAULT_MAX_BYTES, TooLarge, save_upload
from twoface.web.workspace import JOBS, Missing, Workspace

PAGES = ("detect", "verify", "inspect", "make", "jobs")
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
COOKIE = "twoface_token"
_JOB_ID = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$")
STATIC = resources.files("twoface.web") / "static"


def needs_token(host: str) -> bool:
    """Every address but the loopback one can be reached by others: it needs a token."""
    return host not in LOCAL_HOSTS


def new_token() -> str:
    return secrets.token_urlsafe(24)


def create_app(workspace: str | Path, token: str | None = None, *,
               max_upload: int = DEFAULT_MAX_BYTES) -> FastAPI:
    """The app serving ``workspace``; with ``token``, every request must carry it
    (``Authorization: Bearer``, ``?token=`` or the cookie a page load with it sets)."""
    ws = Workspace.open(workspace)
    store = JobStore(ws.db)
    worker = Worker(store, ws.job_dir, lambda kind: tasks.RUNNERS[kind])

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # One server per workspace: a second would take the first one's running jobs for
        # leftovers of a crash.
        with folder_lock(ws.root, "twoface web server"):
            store.recover()
            worker.start()
            try:
                yield
            finally:
                await asyncio.to_thread(worker.stop)

    app = FastAPI(title="twoface", lifespan=lifespan, docs_url="/api/docs",
                  openapi_url="/api/openapi.json", redoc_url=None)
    app.state.workspace, app.state.store, app.state.worker = ws, store, worker

    @app.middleware("http")
    async def check_token(request: Request,
                          call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if token is None:
            return await call_next(request)
        given = request.query_params.get("token") or request.cookies.get(COOKIE) or ""
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            given = auth[7:].strip()
        if not secrets.compare_digest(given.encode(), token.encode()):
            return JSONResponse({"error": "this server needs its token: send 'Authorization: "
                                 "Bearer TOKEN' or open a page with ?token=TOKEN (printed "
                                 "when the server started)"}, status_code=401)
        response = await call_next(request)
        if request.query_params.get("token"):
            response.set_cookie(COOKIE, token, httponly=True, samesite="strict")
        return response

    @app.exception_handler(TwofaceError)
    async def refused(_: Request, exc: TwofaceError) -> JSONResponse:
        status = 413 if isinstance(exc, TooLarge) else 404 if isinstance(exc, Missing) else 400
        return JSONResponse({"error": str(exc)}, status_code=status)

    # ------------------------------------------------------------------ pages
    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse("/detect")

    @app.get("/static/{name}", include_in_schema=False)
    async def static(name: str) -> Response:
        entry = STATIC / name
        if "/" in name or name.startswith(".") or not entry.is_file():
            return JSONResponse({"error": f"no static file {name!r}"}, status_code=404)
        kind = {"css": "text/css", "js": "text/javascript"}.get(name.rsplit(".", 1)[-1],
                                                                "application/octet-stream")
        return Response(entry.read_bytes(), media_type=kind,
                        headers={"Cache-Control": "max-age=60"})

    def page(name: str) -> Callable[[], Awaitable[Response]]:
        async def serve() -> Response:
            return Response((STATIC / f"{name}.html").read_bytes(), media_type="text/html")
        return serve

    for name in PAGES:
        app.add_api_route(f"/{name}", page(name), methods=["GET"], include_in_schema=False)

    # -------------------------------------------------------------------- API
    def job_or_404(job_id: str) -> dict[str, Any]:
        if not _JOB_ID.match(job_id):
            raise Missing(None, f"no job {job_id!r}")
        return store.get(job_id)

    @app.get("/api/health")
    async def health() -> dict[str, Any]:
        return {"ok": True, "workspace": str(ws.root), "running": worker.running()}

    @app.get("/api/jobs")
    async def list_jobs() -> dict[str, Any]:
        return {"jobs": store.list()}

    @app.post("/api/jobs", status_code=201)
    async def add_job(request: Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            raise TwofaceError(None, "send a JSON object {\"kind\": ..., \"params\": {...}}"
                               ) from None
        if not isinstance(body, dict) or not isinstance(body.get("params", {}), dict):
            raise TwofaceError(None, "send a JSON object {\"kind\": ..., \"params\": {...}}")
        kind = str(body.get("kind", ""))
        params = tasks.check(ws, kind, body.get("params", {}))
        job = store.add(kind, params)
        worker.poke()
        return job

    @app.get("/api/jobs/{job_id}")
    async def get_job(job_id: str) -> dict[str, Any]:
        return job_or_404(job_id)

    @app.post("/api/jobs/{job_id}/cancel")
    async def cancel_job(job_id: str) -> dict[str, Any]:
        job = job_or_404(job_id)
        if job["status"] == "queued":
            store.finish(job_id, "cancelled", message="cancelled before it started")
        elif job["status"] == "running":
            worker.cancel(job_id)
            for _ in range(100):  # the job unwinds (a training loop saves first)
                if store.get(job_id)["status"] != "running":
                    break
                await asyncio.sleep(0.1)
        else:
            raise TwofaceError(None, f"job {job_id} is {job['status']}: nothing to cancel")
        return store.get(job_id)

    @app.post("/api/jobs/{job_id}/resume")
    async def resume_job(job_id: str) -> dict[str, Any]:
        job = job_or_404(job_id)
        if job["status"] not in ("interrupted", "cancelled", "failed"):
            raise TwofaceError(None, f"job {job_id} is {job['status']}: only an interrupted, "
                               "cancelled or failed job can be resumed")
        store.requeue(job_id, job["params"])
        worker.poke()
        return store.get(job_id)

    @app.delete("/api/jobs/{job_id}")
    async def delete_job(job_id: str) -> dict[str, Any]:
        job = job_or_404(job_id)
        if job["status"] == "running":
            raise TwofaceError(None, f"job {job_id} is running: cancel it first")
        store.delete(job_id)
        await asyncio.to_thread(shutil.rmtree, ws.job_dir(job_id), True)
        return {"deleted": job_id}

    @app.get("/api/jobs/{job_id}/log")
    async def job_log(job_id: str) -> Response:
        job_or_404(job_id)
        log = ws.job_dir(job_id) / "log.txt"
        return Response(log.read_text("utf-8") if log.is_file() else "",
                        media_type="text/plain")

    @app.get("/api/jobs/{job_id}/loss")
    async def job_loss(job_id: str) -> dict[str, Any]:
        job_or_404(job_id)
        folder = ws.job_dir(job_id) / "model"
        preview = folder / "samples" / "latest.png"
        return tasks.read_loss(folder) | {
            "preview": ws.relative(preview) if preview.is_file() else None}

    @app.get("/api/jobs/{job_id}/events")
    async def job_events(job_id: str) -> StreamingResponse:
        job_or_404(job_id)
        return StreamingResponse(_events(store, ws, job_id), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache"})

    @app.post("/api/uploads", status_code=201)
    async def upload(request: Request, name: str, purpose: str = "media") -> dict[str, Any]:
        length = request.headers.get("content-length")
        declared = int(length) if length and length.isdigit() else None
        return await save_upload(ws, name, request.stream(), limit=max_upload,
                                 declared=declared, purpose=purpose)

    @app.get("/api/files")
    async def files(folder: str = "uploads") -> dict[str, Any]:
        return {"files": ws.listing(folder)}

    @app.get("/api/choices")
    async def choices() -> dict[str, Any]:
        """What the Make page can pick: media, consent records, facesets and models."""
        from twoface.media import IMAGE_SUFFIXES, VIDEO_SUFFIXES

        uploads = [str(f["path"]) for f in ws.listing("uploads")]
        media = [m for m in uploads if not m.startswith("uploads/consent/")]
        out: dict[str, list[str]] = {
            "images": [m for m in media if Path(m).suffix.lower() in IMAGE_SUFFIXES],
            "videos": [m for m in media if Path(m).suffix.lower() in VIDEO_SUFFIXES],
            "consent": [m for m in uploads if m.startswith("uploads/consent/")],
            "facesets": [], "swap_models": [], "motion_models": [], "gan_models": []}
        made = {"extract": ("facesets", "faceset"), "train_swap": ("swap_models", "model"),
                "train_motion": ("motion_models", "model"), "train_gan": ("gan_models", "model")}
        for job in store.list():
            if job["kind"] in made and job["status"] == "done" and job["result"]:
                key, field = made[job["kind"]]
                out[key].append(job["result"][field])
        return out

    @app.get("/api/file")
    async def download(path: str, download: bool = False) -> FileResponse:
        target = ws.resolve(path)
        if not target.is_file():
            raise TwofaceError(None, f"{path!r}: not a file")
        if target.name.startswith(".") or target.name == ws.db.name:
            raise TwofaceError(None, f"{path!r}: not a file the app serves")
        return FileResponse(target, filename=target.name if download else None,
                            content_disposition_type="attachment" if download else "inline")

    return app


async def _events(store: JobStore, ws: Workspace, job_id: str) -> AsyncIterator[str]:
    """Server-sent events: ``job`` (the row, when it changes) and ``log`` (new log lines),
    until the job has finished."""
    last, sent = "", 0
    log = ws.root / JOBS / job_id / "log.txt"
    while True:
        try:
            job = await asyncio.to_thread(store.get, job_id)
        except TwofaceError:
            yield "event: gone\ndata: {}\n\n"
            return
        if log.is_file():
            text = log.read_text("utf-8", errors="replace")
            for line in text[sent:].splitlines():
                yield f"event: log\ndata: {json.dumps(line)}\n\n"
            sent = len(text)
        now = json.dumps(job)
        if now != last:
            yield f"event: job\ndata: {now}\n\n"
            last = now
        if job["status"] in FINISHED:
            return
        await asyncio.sleep(0.3)
