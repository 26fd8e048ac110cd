"""Blind crop check: how often the resampling trace is there, in cropped and untouched clips.

Usage: ``python bench/resample_trace.py [--crf 18 28]``. For every real clip of
``../shared`` (read in place, as ``bench/shallowfake.py`` loads them: long side ≤ 360 px) and
two 6 s segments where the clip is long enough (0-6 s, the segment ``shallowfake.py`` tunes
on, and 6-12 s, held out), each centre crop (70-95 %, resized back with bilinear
interpolation) and the untouched frames are written at each CRF and run through
``inspect_video``. Counted: clip-variants with a ``crop`` finding at any confidence (the
check caps video findings below 0.5), and of those, findings whose ``kept_share_if_cropped``
is the crop's share within ±0.02. Writes ``## Shallowfake forensics: blind resampling
traces`` in BENCHMARKS.md. Nothing made here is kept.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from twoface.forensics.shallow import inspect_video
from twoface.media import probe, write_video

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine, write_section
from _shallow_grid import crop
from shallowfake import driving_clips, load, other_clips

SHARES = (1.0, 0.95, 0.9, 0.8, 0.7)
SEGMENTS = ((0.0, 6.0), (6.0, 12.0))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--crf", type=int, nargs="+", default=[18, 28])
    args = ap.parse_args()
    t0 = time.perf_counter()
    # (share, crf, segment) -> [variants, with a crop finding, whose share matches]
    counts: dict[tuple[float, int, int], list[int]] = {}
    fired_untouched: list[str] = []
    with tempfile.TemporaryDirectory(prefix="resample-") as tmp_name:
        tmp = Path(tmp_name) / "clip.mp4"
        for clip in driving_clips() + other_clips():
            duration = probe(clip).duration or SEGMENTS[0][1]  # unknown: first only
            for seg, (a, b) in enumerate(SEGMENTS):
                if seg and duration < b - 3.0:
                    continue  # no held-out segment of at least 3 s
                frames, fps = load(clip, a, min(b, duration))
                for crf in args.crf:
                    for share in SHARES:
                        edited = frames if share == 1.0 else crop(frames, share)
                        write_video(tmp, edited, fps, crf=crf)
                        found = [f for f in inspect_video(tmp).findings if f.kind == "crop"]
                        row = counts.setdefault((share, crf, seg), [0, 0, 0])
                        row[0] += 1
                        row[1] += bool(found)
                        row[2] += any(abs(f.evidence.get("kept_share_if_cropped", 0) - share)
                                      <= 0.02 for f in found)
                        if found and share == 1.0:
                            fired_untouched.append(f"{clip.stem} {a:.0f}-{b:.0f} s CRF {crf}")
                print(f"{clip.stem} segment {seg} ({time.perf_counter() - t0:.0f} s)",
                      flush=True)

    lines = [
        f"`python bench/resample_trace.py` on {machine()}; {time.perf_counter() - t0:.0f} s. "
        "The real clips of `../shared` as `bench/shallowfake.py` loads them (long side ≤ "
        "360 px), segment 0-6 s (the one the shallowfake grid uses) and 6-12 s where a clip "
        "has at least 3 s there; each centre crop resized back to the frame size (bilinear), "
        "written with libx264 at each CRF and run through `inspect_video`. \"Finding\": a "
        "`crop` finding at any confidence (video findings stay below 0.5 by design); "
        "\"share right\": its `kept_share_if_cropped` within ±0.02 of the crop's share "
        "(for untouched clips a finding is a false alarm, whatever it measures).",
        "",
        "| edit | CRF | segment | clips | finding | share right |",
        "|---|---|---|---|---|---|",
    ]
    for (share, crf, seg), (n, fired, right) in sorted(
            counts.items(), key=lambda kv: (-kv[0][0], kv[0][1], kv[0][2])):
        label = "untouched" if share == 1.0 else f"crop {share:.0%} + resize"
        span = f"{SEGMENTS[seg][0]:.0f}-{SEGMENTS[seg][1]:.0f} s"
        lines.append(f"| {label} | {crf} | {span} | {n} | {fired} | "
                     f"{'—' if share == 1.0 else right} |")
    lines += ["", "Untouched clip-variants with a `crop` finding: "
              + (", ".join(fired_untouched) or "none") + "."]
    write_section("Shallowfake forensics: blind resampling traces", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
