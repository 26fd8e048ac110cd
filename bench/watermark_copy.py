"""The watermark copy attack: writes ``## Watermark: the copy attack`` in BENCHMARKS.md.

An attacker marks a picture with twoface (or takes any twoface output and its source),
subtracts the original from the marked copy and adds the difference to unrelated real media.
The watermark is additive, so the lifted mark still decodes there. Layout-2 marks carry a hash
of the picture they were made on (:mod:`twoface.provenance.content`); ``verify`` must report
each forged file as *copied*, never as twoface's, and ``detect`` must not be certain.

* Donor: the first public-domain portrait, marked with ``mark_image`` (what ``twoface mark``
  and every generator do).
* Targets: 69 real stills (the 12 LivePortrait source stills, the other public-domain
  portrait and the first 56 ``utkface_adults`` faces: benchmark only),
  the lifted difference resized to each target; and d12 (a real LivePortrait video) with a
  lifted mark added to every frame.
* Before: the same attack with a layout-1 mark (no content hash), as every mark was made
  until now.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import SHARED, machine, write_section


def lift(marked: np.ndarray, original: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    diff = marked.astype(np.float32) - original.astype(np.float32)
    return cv2.resize(diff, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)


def paste(target: np.ndarray, diff: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(target.astype(np.float32) + diff), 0, 255).astype(np.uint8)


def main() -> None:
    import tempfile

    from twoface.forensics.detect import DetectOptions, Scanner
    from twoface.media import VideoWriter, iter_frames, probe, read_image, write_image
    from twoface.provenance import Provenance, get_scheme, mark_image, verify_file
    from twoface.provenance.payload import WatermarkPayload

    t0 = time.time()
    pd = SHARED / "public_domain_portraits"
    donors = {p.name: read_image(p) for p in sorted(pd.iterdir())[:1]}
    stills = sorted(p for p in (SHARED / "liveportrait" / "source").glob("*.jpg"))
    utk = sorted((SHARED / "utkface_adults").glob("*.jpg"))[:56]
    scheme = get_scheme()
    rows: dict[str, dict[str, int]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for layout in ("layout 1 (before)", "layout 2 (content-bound)"):
            counts = {"targets": 0, "mark decodes": 0, "made by twoface": 0, "copied": 0}
            for dname, donor in donors.items():
                if layout.startswith("layout 1"):
                    marked = scheme.embed(donor, WatermarkPayload.make("swap"))
                else:
                    marked = mark_image(donor, Provenance(method="swap"))
                others = [p for p in pd.iterdir() if p.name != dname]
                targets = [*stills, *others, *utk]
                for path in targets:
                    target = read_image(path)
                    forged = Path(tmp) / f"{path.stem}.png"
                    write_image(forged, paste(target, lift(marked, donor, target.shape)))
                    rep = verify_file(forged)
                    counts["targets"] += 1
                    counts["mark decodes"] += rep["watermark"]["detected"]
                    counts["made by twoface"] += rep["status"] in ("twoface", "watermark")
                    counts["copied"] += rep["status"] == "copied"
            rows[layout] = counts
            print(layout, counts, flush=True)

        # d12 with a mark lifted from the first portrait added to every frame.
        d12 = SHARED / "liveportrait" / "driving" / "d12.mp4"
        donor = next(iter(donors.values()))
        marked = mark_image(donor, Provenance(method="swap"))
        info = probe(d12)
        diff = lift(marked, donor, (info.height, info.width))
        forged = Path(tmp) / "d12_forged.mp4"
        with VideoWriter(forged, info.fps, crf=18) as writer:
            for frame in iter_frames(d12):
                writer.write(paste(frame.image, diff), frame.time)
        rep = verify_file(forged)
        scan = Scanner.from_pretrained(None, DetectOptions()).scan(forged)
        video = (f"d12 with a lifted mark on every frame: the mark decodes "
                 f"({rep['watermark']['detected']}), content hash "
                 f"{rep['watermark'].get('content_distance')} bits away → `verify` status "
                 f"**{rep['status']}** (exit {rep['exit_code']}); `detect`: {scan['verdict']}, "
                 f"p = {scan['probability_fake']:.2f}, certain = {scan['certain']}, decided by "
                 f"{scan['decided_by']}.")
        print(video, flush=True)
    lines = [f"`python bench/watermark_copy.py` on {machine()}; {(time.time() - t0) / 60:.1f} "
             "min. A twoface mark is lifted (marked minus original) from a public-domain "
             "portrait and added to 69 real stills (12 LivePortrait source stills, the other "
             "portrait, 56 `utkface_adults` faces, benchmark only). *Made by twoface* counts "
             "`verify` statuses `twoface` or `watermark`; *copied*: the mark decodes but its "
             "content hash names another picture (exit code 3).", "",
             "| mark | targets | lifted mark decodes | reported as made by twoface | "
             "reported as copied |", "|---|---|---|---|---|"]
    for layout, c in rows.items():
        lines.append(f"| {layout} | {c['targets']} | {c['mark decodes']} | "
                     f"{c['made by twoface']} | {c['copied']} |")
    lines += ["", video, ""]
    section = "\n".join(lines)
    print(section)
    if "--no-write" not in sys.argv:
        write_section("Watermark: the copy attack", section)


if __name__ == "__main__":
    main()
