"""Demo stages that check media: provenance on everything made, and detection."""

from __future__ import annotations

import html

from twoface.demo._common import DemoContext, link


def stage_verify(ctx: DemoContext) -> None:
    """Check the marks on everything the demo made, and that the watermark survives a
    re-encode that strips the manifest (what an upload platform does)."""
    from twoface.media import VideoWriter, iter_frames, probe
    from twoface.provenance import verify_file

    stripped = ctx.root / "videos" / "alice_as_bob_reuploaded.mp4"
    source = ctx.fakes["swap"]
    with VideoWriter(stripped, probe(source).fps, crf=28) as writer:
        for frame in iter_frames(source):
            writer.write(frame.image)  # plain H.264 at CRF 28: no manifest survives
    rows = []
    for path in [*ctx.generated, stripped]:
        rep = verify_file(path)
        wm = rep["watermark"]
        payload = wm.get("payload") or {}
        rows.append(
            f"<tr><td>{link(ctx, path)}</td><td>{html.escape(rep['manifest']['state'])}</td>"
            f"<td>{'yes' if wm['detected'] else 'no'} ({wm['confidence']:.2f})</td>"
            f"<td>{html.escape(str(payload.get('method', '')))}</td>"
            f"<td>{html.escape(str(rep['verdict']))}</td></tr>")
    ctx.sections.append(
        "<h2>7. Provenance</h2><p>Every file the demo generated carries an invisible watermark "
        "and a signed C2PA manifest (<code>twoface verify</code>). The last row is the swapped "
        "video re-encoded at CRF 28 by a plain writer, as an upload platform would: the "
        "manifest is gone, the watermark is still read.</p><table><tr><th>file</th>"
        "<th>manifest</th><th>watermark (confidence)</th><th>method</th><th>verdict</th></tr>"
        + "".join(rows) + "</table>")


def stage_detect(ctx: DemoContext) -> None:
    """Run ``twoface detect`` on the demo's real (synthetic) people and on its fakes, each
    twice: as made (the marks decide, with certainty) and with the provenance check off (the
    shipped detector alone decides, as it must for media that carry no marks)."""
    from twoface.forensics.detect import DetectOptions, Scanner
    from twoface.forensics.detect_report import write_report

    media = {**{f"{name} (real person, synthetic)": ctx.videos[name] for name in ctx.videos},
             **{f"{method} fake": path for method, path in ctx.fakes.items()
                if path.suffix == ".mp4"}}
    marked = Scanner.from_pretrained(None, DetectOptions(frames=12, extra=4))
    blind = Scanner.from_pretrained(None, DetectOptions(frames=12, extra=4, provenance=False))
    rows = []
    for label, path in media.items():
        with_marks = marked.scan(path)
        alone = blind.scan(path)
        page = write_report(alone, ctx.root / "detect" / path.stem)

        def cell(rep: dict) -> str:
            p = rep["probability_fake"]
            return html.escape(f"{rep['verdict']}" + (f" (p = {p:.2f})" if p is not None else "")
                               + (", certain" if rep["certain"] else ""))

        rows.append(f"<tr><td>{html.escape(label)}</td><td>{cell(with_marks)}</td>"
                    f"<td>{cell(alone)}</td><td>{link(ctx, page)}</td></tr>")
    ctx.sections.append(
        "<h2>8. Detection</h2><p><code>twoface detect</code> checks provenance first: a valid "
        "twoface manifest or watermark makes the verdict certain. Without marks the shipped "
        "default detector decides, and its verdict is an estimate, never proof: each report "
        "shows what it was trained on, how often it called unseen real videos fake, and its "
        "blind spots. It is calibrated not to call real people's videos fake, so many of its "
        "verdicts are <i>uncertain</i>.</p><table><tr>"
        "<th>media</th><th>with its marks</th><th>detector alone</th><th>report</th></tr>"
        + "".join(rows) + "</table>")
