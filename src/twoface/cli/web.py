"""``twoface web``: the local web app (:mod:`twoface.web`) served by uvicorn."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from twoface.cli.console import err, out


def web(
    host: Annotated[str, typer.Option(
        help="Address to listen on; any but 127.0.0.1/localhost/::1 requires a token.")
                    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port.")] = 8000,
    workspace: Annotated[Path, typer.Option(
        help="Folder for uploads, job outputs and the job table (the only files served).")
                         ] = Path("twoface_web"),
    token: Annotated[str | None, typer.Option(
        envvar="TWOFACE_WEB_TOKEN", help="Token for a non-local address (default: a new "
        "random one, printed once).")] = None,
    max_upload_mb: Annotated[int, typer.Option(min=1, help="Largest upload (MB).")] = 512,
) -> None:
    """Serve the web UI: detect, verify, inspect, make and the job list."""
    import uvicorn

    from twoface.web import create_app, needs_token, new_token

    if needs_token(host):
        token = token or new_token()
    elif token:
        err.print("note: a token is only needed off 127.0.0.1; it is required anyway")
    app = create_app(workspace, token, max_upload=max_upload_mb * 1024 * 1024)
    where = f"http://{'[' + host + ']' if ':' in host else host}:{port}/"
    out.print(f"twoface web on [bold]{escape(where)}[/], workspace "
              f"{escape(str(workspace.resolve()))}", highlight=False)
    if token:
        out.print(f"token (needed by every request): {escape(token)}\n"
                  f"open {escape(where)}detect?token={escape(token)}", highlight=False)
    uvicorn.run(app, host=host, port=port, log_level="warning")
