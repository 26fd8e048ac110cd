"""The job table (SQLite, in the workspace) and the worker thread that runs one job at a
time.

A job is a row: its kind, its parameters (JSON), its status, progress and result. The
table outlives the server: on start (:meth:`JobStore.recover`), rows left ``running`` by a
server that died become ``interrupted`` and wait for a resume; ``queued`` rows are picked up
again. Cancelling raises :class:`Cancelled` inside the worker thread (a
``KeyboardInterrupt``, so a training loop saves its checkpoint on the way out, exactly as on
Ctrl-C).
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import json
import secrets
import sqlite3
import threading
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from twoface.errors import TwofaceError
from twoface.web.workspace import Missing

STATUSES = ("queued", "running", "done", "failed", "cancelled", "interrupted")
FINISHED = {"done", "failed", "cancelled", "interrupted"}
SCHEMA = """CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, params TEXT NOT NULL, status TEXT NOT NULL,
    created TEXT NOT NULL, started TEXT, finished TEXT, progress REAL NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT '', result TEXT, error TEXT, runs INTEGER NOT NULL DEFAULT 0)"""


class Cancelled(KeyboardInterrupt):
    """Raised in the worker thread when its job is cancelled or the server stops."""


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class JobStore:
    """The ``jobs`` table; every call opens its own connection (thread-safe)."""

    def __init__(self, db: Path) -> None:
        self.db = db
        with self._conn() as c:
            c.execute("PRAGMA journal_mode=WAL")
            c.execute(SCHEMA)

    def recover(self) -> int:
        """Mark the jobs a stopped server left ``running`` as ``interrupted`` (call it while
        holding the workspace, before the worker starts); returns how many."""
        with self._conn() as c:
            cur = c.execute("UPDATE jobs SET status='interrupted', finished=?, message="
                            "'the server stopped while this job ran; resume it' WHERE "
                            "status='running'", (_now(),))
            return cur.rowcount

    @contextlib.contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.db, timeout=30)
        conn.row_factory = sqlite3.Row
        try:
            with conn:
                yield conn
        finally:
            conn.close()

    def add(self, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        job_id = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)
        with self._conn() as c:
            c.execute("INSERT INTO jobs (id, kind, params, status, created) VALUES "
                      "(?, ?, ?, 'queued', ?)", (job_id, kind, json.dumps(params), _now()))
        return self.get(job_id)

    def get(self, job_id: str) -> dict[str, Any]:
        with self._conn() as c:
            row = c.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone()
        if row is None:
            raise Missing(None, f"no job {job_id!r}")
        return _row(row)

    def list(self) -> list[dict[str, Any]]:
        with self._conn() as c:
            rows = c.execute("SELECT * FROM jobs ORDER BY created DESC, id DESC").fetchall()
        return [_row(r) for r in rows]

    def next_queued(self) -> dict[str, Any] | None:
        """Take the oldest queued job: it becomes ``running``."""
        with self._conn() as c:
            row = c.execute("SELECT * FROM jobs WHERE status='queued' ORDER BY created, id "
                            "LIMIT 1").fetchone()
            if row is None:
                return None
            c.execute("UPDATE jobs SET status='running', started=?, finished=NULL, error=NULL, "
                      "progress=0, message='started', runs=runs+1 WHERE id=?",
                      (_now(), row["id"]))
        return self.get(row["id"])

    def update(self, job_id: str, **fields: Any) -> None:
        allowed = {"status", "progress", "message", "result", "error", "finished", "params"}
        if not fields or set(fields) - allowed:
            raise ValueError(f"bad job fields {sorted(fields)}")
        values = [json.dumps(v) if k in ("result", "params") and v is not None else v
                  for k, v in fields.items()]
        with self._conn() as c:
            c.execute(f"UPDATE jobs SET {', '.join(f'{k}=?' for k in fields)} WHERE id=?",
                      [*values, job_id])

    def finish(self, job_id: str, status: str, **fields: Any) -> None:
        self.update(job_id, status=status, finished=_now(), **fields)

    def requeue(self, job_id: str, params: dict[str, Any]) -> None:
        with self._conn() as c:
            c.execute("UPDATE jobs SET status='queued', params=?, message='queued again', "
                      "error=NULL, finished=NULL WHERE id=?", (json.dumps(params), job_id))

    def delete(self, job_id: str) -> None:
        with self._conn() as c:
            c.execute("DELETE FROM jobs WHERE id=?", (job_id,))


def _row(row: sqlite3.Row) -> dict[str, Any]:
    out = dict(row)
    out["params"] = json.loads(out["params"])
    out["result"] = json.loads(out["result"]) if out["result"] else None
    return out


class Context:
    """What a running job gets: its folder, a log, a progress setter, its cancel flag."""

    def __init__(self, store: JobStore, job: dict[str, Any], folder: Path,
                 cancelled: threading.Event) -> None:
        self.store, self.job, self.folder, self.cancelled = store, job, folder, cancelled
        self.folder.mkdir(parents=True, exist_ok=True)

    @property
    def log_path(self) -> Path:
        return self.folder / "log.txt"

    def log(self, line: str) -> None:
        with open(self.log_path, "a", encoding="utf-8") as fh:
            fh.write(f"{_now()} {line.rstrip()}\n")

    def progress(self, fraction: float, message: str | None = None) -> None:
        if self.cancelled.is_set():
            raise Cancelled()
        fields: dict[str, Any] = {"progress": round(min(max(fraction, 0.0), 1.0), 4)}
        if message is not None:
            fields["message"] = message
        self.store.update(self.job["id"], **fields)


Runner = Callable[[Context], dict[str, Any]]


class Worker:
    """One thread, one job at a time, oldest queued first."""

    def __init__(self, store: JobStore, folder_of: Callable[[str], Path],
                 runner_of: Callable[[str], Runner]) -> None:
        self.store, self.folder_of, self.runner_of = store, folder_of, runner_of
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._current: tuple[str, threading.Event] | None = None
        self._thread = threading.Thread(target=self._loop, name="twoface-web-worker",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def poke(self) -> None:
        self._wake.set()

    def running(self) -> str | None:
        with self._lock:
            return self._current[0] if self._current else None

    def cancel(self, job_id: str) -> bool:
        """Stop ``job_id`` if it is the one running (True), else False."""
        with self._lock:
            if self._current is None or self._current[0] != job_id:
                return False
            self._current[1].set()
            self._interrupt()
        return True

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the thread; a job still running is stopped and marked ``interrupted``."""
        self._stop.set()
        with self._lock:
            if self._current is not None:
                self._interrupt()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _interrupt(self) -> None:
        # Raise Cancelled in the worker thread at its next Python instruction: the job
        # unwinds through its own clean-up (atomic writes, the training loop's checkpoint).
        ident = self._thread.ident
        if ident is not None:
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident),
                                                       ctypes.py_object(Cancelled))

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                job = self.store.next_queued()
            except Cancelled:
                continue
            if job is None:
                self._wake.wait(1.0)
                self._wake.clear()
                continue
            self._run(job)

    def _run(self, job: dict[str, Any]) -> None:
        flag = threading.Event()
        ctx = Context(self.store, job, self.folder_of(job["id"]), flag)
        status, fields = "failed", {}
        try:
            with self._lock:
                self._current = (job["id"], flag)
            try:
                ctx.log(f"{job['kind']} started")
                result = self.runner_of(job["kind"])(ctx)
                with self._lock:
                    self._current = None
                status, fields = "done", {"result": result, "progress": 1.0,
                                          "message": "done"}
            finally:
                with self._lock:
                    self._current = None
        except Cancelled:
            stopping = self._stop.is_set() and not flag.is_set()
            status = "interrupted" if stopping else "cancelled"
            fields = {"message": "the server stopped during this job; resume it" if stopping
                      else "cancelled"}
        except TwofaceError as exc:
            fields = {"error": str(exc), "message": "failed"}
        except Exception as exc:  # a bug, not the user's input: keep the trace in the log
            ctx.log(traceback.format_exc())
            fields = {"error": f"{type(exc).__name__}: {exc}", "message": "failed"}
        ctx.log(f"{status}" + (f": {fields['error']}" if "error" in fields else ""))
        self.store.finish(job["id"], status, **fields)
