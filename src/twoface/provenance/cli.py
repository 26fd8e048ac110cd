"""The provenance commands as plain functions over parsed arguments (Typer glue lives in
``twoface.cli_provenance``): ``keys init``, ``verify`` and ``mark``."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from twoface.errors import TwofaceError
from twoface.provenance.keys import default_home, init_keys
from twoface.provenance.mark import Provenance, mark_video_file, write_marked_image
from twoface.provenance.verify import VIDEO_FRAMES, verify_file


def keys_init(home: Path | None = None, *, force: bool = False,
              console: Console | None = None) -> Path:
    """Create the root CA and signing certificate; returns their folder."""
    keys = init_keys(home, force=force)
    (console or Console()).print(
        f"signing keys written to [bold]{escape(str(keys.folder))}[/]\n"
        f"  signer: {escape(keys.signer_subject)} (ES256)\n"
        f"  share root.pem with whoever should see your marks as trusted", highlight=False)
    return keys.folder


def verify(files: list[Path], *, as_json: bool = False, home: Path | None = None,
           trust: Path | None = None, frames: int = VIDEO_FRAMES,
           console: Console | None = None, err: Console | None = None) -> int:
    """Report on each file; the exit code is 0 when every file was read, else 2."""
    console = console or Console()
    err = err or Console(stderr=True)
    anchors = None
    if trust is not None:
        if not trust.is_file():
            raise TwofaceError(trust, "trust anchor file does not exist")
        anchors = trust.read_bytes()
    code = 0
    for path in files:
        try:
            report = verify_file(path, home=home, anchors=anchors, frames=frames)
        except TwofaceError as exc:
            code = 2
            err.print(f"[red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
            if as_json:
                console.out(json.dumps({"file": str(path), "error": exc.problem}),
                            highlight=False)
            continue
        if as_json:
            # One object per line (JSON Lines): plain print, no Rich wrapping of long lines.
            console.out(json.dumps(report, ensure_ascii=False), highlight=False)
        else:
            _print_report(console, report)
    return code


def _print_report(console: Console, report: dict) -> None:
    m, w = report["manifest"], report["watermark"]
    claims = m.get("claims", {})
    console.print(f"[bold]{escape(report['file'])}[/]", highlight=False)
    style = {"trusted": "green", "valid": "cyan", "invalid": "red"}.get(m["state"], "dim")
    line = f"  manifest : [{style}]{m['state']}[/] — {escape(m['reason'])}"
    if claims.get("method"):
        line += (f"\n             method {escape(str(claims['method']))}, "
                 f"made {claims.get('created')}")
        if claims.get("inputs"):
            line += f", {len(claims['inputs'])} input(s) hashed"
    if claims.get("consent_sha256"):
        line += f"\n             consent record sha256 {claims['consent_sha256']}"
    if claims.get("label"):
        line += f"\n             label {escape(str(claims['label']))!r}"
    console.print(line, highlight=False, soft_wrap=True)
    if w["detected"]:
        p = w["payload"]
        console.print(f"  watermark: [green]present[/] — {p['tool']} {p['method']}, model "
                      f"{p['model']}, {p['date']} (confidence {w['confidence']:.2f}, "
                      f"{w.get('frames', 1)} frame(s))", highlight=False)
    else:
        console.print("  watermark: [dim]absent[/]", highlight=False)
    console.print(f"  verdict  : {escape(report['verdict'])}", highlight=False, soft_wrap=True)


def mark(src: Path, dst: Path, *, method: str = "mark", consent: Path | None = None,
         label: str | None = None, home: Path | None = None, model: Path | None = None,
         progress: bool = True, console: Console | None = None) -> Path:
    """Watermark and sign media made elsewhere: ``src`` → ``dst`` (format by suffix)."""
    from twoface.media import IMAGE_SUFFIXES, VIDEO_SUFFIXES, media_kind, read_image

    console = console or Console()
    kind = media_kind(src)
    out_suffixes = IMAGE_SUFFIXES if kind == "image" else VIDEO_SUFFIXES
    if dst.suffix.lower() not in out_suffixes:
        raise TwofaceError(dst, f"output must be {'an' if kind == 'image' else 'a'} {kind} "
                           f"like the input {src.name}")
    if consent is not None and not consent.is_file():
        raise TwofaceError(consent, "consent record does not exist")
    prov = Provenance.from_files(method, [src], model=model, consent=consent, label=label)
    home = default_home(home)
    if kind == "image":
        holder = write_marked_image(dst, read_image(src), prov, home=home)
    else:
        holder = mark_video_file(src, dst, prov, home=home, progress=progress)
    where = "embedded" if holder == dst else f"in sidecar {holder.name}"
    console.print(f"marked {escape(str(dst))} (watermark + signed manifest {where})",
                  highlight=False)
    return dst
