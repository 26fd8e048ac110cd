"""Typer commands for provenance: ``keys init``, ``verify``, ``mark``.

``twoface.cli`` calls :func:`register` on its app; the work is done by the plain functions in
:mod:`twoface.provenance.cli`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

HomeOption = Annotated[Path | None, typer.Option(
    "--home", envvar="TWOFACE_HOME",
    help="twoface's folder for keys (default: the user config folder).")]


def register(app: typer.Typer) -> None:
    """Add the provenance commands to ``app``."""
    keys_app = typer.Typer(help="Signing keys for C2PA manifests.", no_args_is_help=True)

    @keys_app.command("init")
    def keys_init(
        home: HomeOption = None,
        force: Annotated[bool, typer.Option("--force", help="Replace existing keys.")] = False,
    ) -> None:
        """Create a local root CA and an ES256 signing certificate."""
        from twoface.provenance.cli import keys_init as run

        run(home, force=force)

    app.add_typer(keys_app, name="keys")

    @app.command()
    def verify(
        files: Annotated[list[Path], typer.Argument(help="Images or videos to check.")],
        as_json: Annotated[bool, typer.Option("--json", help="One JSON object per file.")
                           ] = False,
        home: HomeOption = None,
        trust: Annotated[Path | None, typer.Option(
            help="Extra trusted root certificates (PEM).")] = None,
        frames: Annotated[int, typer.Option(min=1, help="Video frames sampled for the vote.")
                          ] = 24,
    ) -> None:
        """Check each file's signed manifest and invisible watermark; print a verdict.

        Exit code 0 when every file was read (whatever the verdict), 2 when one was not.
        """
        from twoface.provenance.cli import verify as run

        code = run(files, as_json=as_json, home=home, trust=trust, frames=frames)
        raise typer.Exit(code)

    @app.command()
    def mark(
        src: Annotated[Path, typer.Argument(metavar="INPUT", help="Image or video.")],
        output: Annotated[Path, typer.Option("-o", "--output", help="Marked copy.")],
        method: Annotated[str, typer.Option(help="What made the media (swap, gan, animate, "
                                            "or any name).")] = "mark",
        consent: Annotated[Path | None, typer.Option(
            help="Consent record; its SHA-256 goes into the manifest.")] = None,
        label: Annotated[str | None, typer.Option(
            help="Visible text burned into a corner, also kept in the manifest.")] = None,
        model: Annotated[Path | None, typer.Option(
            help="Model folder or weights file to fingerprint.")] = None,
        home: HomeOption = None,
        quiet: Annotated[bool, typer.Option("-q", "--quiet")] = False,
    ) -> None:
        """Watermark and sign media made elsewhere."""
        from twoface.provenance.cli import mark as run

        run(src, output, method=method, consent=consent, label=label, home=home, model=model,
            progress=not quiet)
