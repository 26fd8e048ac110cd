"""Provenance: ``keys init``, ``verify``, ``mark``.

The work is done in :mod:`twoface.provenance` (keys, marking, verification); this module
parses and prints.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from twoface.cli.common import Quiet
from twoface.cli.console import error, out
from twoface.errors import TwofaceError
from twoface.provenance.verify import VIDEO_FRAMES

Home = Annotated[Path | None, typer.Option(
    "--home", envvar="TWOFACE_HOME",
    help="twoface's folder for keys (default: the user config folder).")]


def keys_init(
    home: Home = None,
    force: Annotated[bool, typer.Option("--force", help="Replace existing keys.")] = False,
) -> None:
    """Create a local root CA and an ES256 signing certificate."""
    from twoface.provenance.keys import init_keys

    keys = init_keys(home, force=force)
    out.print(f"signing keys written to [bold]{escape(str(keys.folder))}[/]\n"
              f"  signer: {escape(keys.signer_subject)} (ES256)\n"
              f"  fingerprint: sha256 {keys.fingerprint}\n"
              f"  share root.pem with whoever should see your marks as trusted",
              highlight=False)


def verify(
    files: Annotated[list[Path], typer.Argument(help="Images or videos to check.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per file.")
                       ] = False,
    home: Home = None,
    trust: Annotated[Path | None, typer.Option(
        help="Extra trusted root certificates (PEM).")] = None,
    frames: Annotated[int, typer.Option(min=1, help="Video frames sampled for the vote.")
                      ] = VIDEO_FRAMES,
) -> None:
    """Check each file's signed manifest and invisible watermark; print a verdict.

    Exit code (the highest over the files): 0 = twoface's provenance found and valid (a
    trusted twoface manifest, or twoface's watermark), 1 = no twoface provenance (nothing, or
    another tool's manifest, or a twoface claim from a key not trusted here), 3 = tampered:
    a manifest that does not match its file, 2 = a file could not be read.
    """
    from twoface.provenance.verify import verify_file

    anchors = None
    if trust is not None:
        if not trust.is_file():
            raise TwofaceError(trust, "trust anchor file does not exist")
        anchors = trust.read_bytes()
        if b"-----BEGIN CERTIFICATE-----" not in anchors:
            raise TwofaceError(trust, "not a PEM certificate file")
    code = 0
    for path in files:
        try:
            report = verify_file(path, home=home, anchors=anchors, frames=frames)
        except TwofaceError as exc:  # one unreadable file: say so, go on with the others
            code = max(code, 2)
            error(str(exc))
            if as_json:
                print(json.dumps({"file": str(path), "error": exc.problem, "exit_code": 2}))
            continue
        code = max(code, report["exit_code"])
        if as_json:  # one object per line (JSON Lines)
            print(json.dumps(report, ensure_ascii=True))
        else:
            _print_report(report)
    raise typer.Exit(code)


def _print_report(report: dict[str, Any]) -> None:
    """Every string that came from the file is made one plain line and markup-escaped."""
    from twoface.provenance.verify import plain, signer_text

    m, w = report["manifest"], report["watermark"]
    claims = m.get("claims", {})

    def say(value: Any, limit: int = 120) -> str:
        return escape(plain(value, limit))

    out.print(f"[bold]{say(report['file'], 400)}[/]", highlight=False)
    style = {"trusted": "green", "valid": "cyan", "invalid": "red"}.get(m["state"], "dim")
    line = f"  manifest : [{style}]{m['state']}[/] — {say(m['reason'], 300)}"
    if m["state"] != "absent" and m.get("signer"):
        gen = escape(repr(plain(m.get("generator", "?"), 60)))
        line += (f"\n             generator {gen}, signer "
                 f"{escape(signer_text(m['signer']))}")
        if m["signer"].get("fingerprint"):
            line += f"\n             signer sha256 {say(m['signer']['fingerprint'], 64)}"
    if m.get("twoface"):
        whose = "twoface's claims" if m.get("made_by_twoface") else \
            "claims of twoface, NOT verified (signer not trusted)"
        line += f"\n             {whose}: method {say(claims.get('method', '?'), 40)}, " \
                f"made {say(claims.get('created', '?'), 40)}"
        if isinstance(claims.get("inputs"), list) and claims["inputs"]:
            line += f", {len(claims['inputs'])} input(s) hashed"
        if claims.get("consent_sha256"):
            line += f"\n             consent record sha256 {say(claims['consent_sha256'], 64)}"
        if claims.get("label"):
            line += f"\n             label {escape(repr(plain(claims['label'], 80)))}"
    out.print(line, highlight=False)
    if w["detected"]:
        p = w["payload"]
        out.print(f"  watermark: [green]present[/] — {p['tool']} {p['method']}, model "
                  f"{p['model']}, {p['date']} (confidence {w['confidence']:.2f}, "
                  f"{w.get('frames', 1)} frame(s))", highlight=False)
    else:
        out.print("  watermark: [dim]absent[/]", highlight=False)
    out.print(f"  verdict  : {escape(report['verdict'])}", highlight=False)


def mark(
    src: Annotated[Path, typer.Argument(metavar="INPUT", help="Image or video.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Marked copy.")],
    method: Annotated[str, typer.Option(
        help="What made the media (swap, gan, animate, or any name).")] = "mark",
    consent: Annotated[Path | None, typer.Option(
        help="Consent record; its SHA-256 goes into the manifest.")] = None,
    label: Annotated[str | None, typer.Option(
        help="Visible text burned into a corner, also kept in the manifest.")] = None,
    model: Annotated[Path | None, typer.Option(
        help="Model folder or weights file to fingerprint.")] = None,
    home: Home = None,
    quiet: Quiet = False,
) -> None:
    """Watermark and sign media made elsewhere (format by the output's suffix)."""
    from twoface.media import IMAGE_SUFFIXES, VIDEO_SUFFIXES, media_kind, read_image
    from twoface.provenance.keys import default_home
    from twoface.provenance.mark import Provenance, mark_video_file, write_marked_image

    kind = media_kind(src)
    if output.resolve() == src.resolve() or (output.exists() and output.samefile(src)):
        raise TwofaceError(output, "is the input itself; write the marked copy elsewhere "
                           "(the original stays as it was)")
    out_suffixes = IMAGE_SUFFIXES if kind == "image" else VIDEO_SUFFIXES
    if output.suffix.lower() not in out_suffixes:
        raise TwofaceError(output, f"output must be {'an' if kind == 'image' else 'a'} "
                           f"{kind} like the input {src.name}")
    if consent is not None and not consent.is_file():
        raise TwofaceError(consent, "consent record does not exist")
    prov = Provenance.from_files(method, [src], model=model, consent=consent, label=label)
    where = default_home(home)
    if kind == "image":
        holder = write_marked_image(output, read_image(src), prov, home=where)
    else:
        holder = mark_video_file(src, output, prov, home=where, progress=not quiet)
        from twoface.provenance.verify import copied, detect_file

        found = detect_file(output)  # a video's mark is checked once it is written
        expect = prov.payload(0)
        if not (found.detected and found.payload is not None and not copied(found)
                and found.payload.fields()[:4] == expect.fields()[:4]):
            output.unlink(missing_ok=True)
            holder.unlink(missing_ok=True)
            raise TwofaceError(output, "the watermark does not read back from the marked "
                               "video; nothing was kept")
    if not quiet:
        kept = "embedded" if holder == output else f"in sidecar {holder.name}"
        out.print(f"marked {escape(str(output))} (watermark + signed manifest {kept})",
                  highlight=False)
