"""The local web app (``twoface web``): pages for every job, a JSON API under ``/api/``, a
persistent job table and a worker thread. Importing it loads neither torch nor PyAV; the
jobs load what they need when they run."""

from __future__ import annotations

from twoface.web.app import create_app, needs_token, new_token

__all__ = ["create_app", "needs_token", "new_token"]
