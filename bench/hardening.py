"""Bounded inputs: writes the ``## Hardening: oversized frames`` and ``## Hardening:
extraction memory`` sections of BENCHMARKS.md.

Two measurements, each in fresh child processes (peak memory is the child's ``ru_maxrss``
from ``wait4``, so nothing of this script's own memory is counted):

The parent stays small (it imports neither numpy nor torch before the children have run, and
makes its test videos in children too): Linux keeps a forked child's ``ru_maxrss`` at least
at the parent's resident size at the fork.

* **Oversized frames.** A small H.264 file of 5 frames at 8000 × 8000 (about 64 MP a frame,
  four times the default pixel cap) is given to ``twoface verify``, ``detect``, ``mark`` and
  ``inspect`` through the installed CLI, 5 runs each: wall time of the whole command
  (interpreter start-up included), peak memory, exit code and the one-line error.
* **Extraction memory against video length.** d13 (720 × 1280, real, read from ``../shared``)
  looped to 60 s and to 10 min at 30 fps, each extracted into a fresh faceset by
  :func:`twoface.data.extract.extract` with the default options (every frame, HOG every 5
  frames, tracking, smoothing, 256 px crops). ``--videos A B`` reuses prepared loops.

    .venv/bin/python bench/hardening.py [--part cli|extract|all] [--videos 60s.mp4 600s.mp4]

The extraction part takes about 15 minutes on 2 cores; the CLI part about a minute.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import SHARED, machine, write_section

ROOT = Path(__file__).resolve().parents[1]
TWOFACE = Path(sys.executable).with_name("twoface")
COMMANDS = ("verify", "detect", "mark", "inspect")
RUNS = 5
SOURCE = SHARED / "liveportrait" / "driving" / "d13.mp4"


def run_child(argv: list[str], cwd: Path) -> tuple[float, float, int, str]:
    """Wall seconds, peak MB, exit code and last stderr line of one child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read().decode("utf-8", "replace")
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    return (time.perf_counter() - t0, usage.ru_maxrss / 1024, proc.returncode,
            lines[-1] if lines else "")


def huge_video(path: Path, side: int = 8000, frames: int = 5) -> None:
    import av
    import numpy as np

    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width = stream.height = side
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "40"}
        ramp = np.linspace(0, 255, side, dtype=np.float32).astype(np.uint8)
        for i in range(frames):
            img = np.empty((side, side, 3), np.uint8)
            img[...] = ramp[None, :, None]
            img[:, :, 1] = (ramp[:, None] + 7 * i).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def cli_part(tmp: Path) -> str:
    huge = tmp / "huge8000.mp4"
    make("huge", str(huge))
    rows = []
    for cmd in COMMANDS:
        argv = [str(TWOFACE), cmd, str(huge)]
        if cmd == "mark":
            argv += ["-o", str(tmp / "marked.mp4"), "--home", str(tmp / "home")]
        if cmd == "verify":
            argv += ["--home", str(tmp / "home")]
        runs = [run_child(argv, ROOT) for _ in range(RUNS)]
        secs = [r[0] for r in runs]
        print(f"{cmd}: {secs} s, {max(r[1] for r in runs):.0f} MB, exit {runs[0][2]}",
              flush=True)
        rows.append(f"| `{cmd}` | {statistics.median(secs):.2f} s ({min(secs):.2f}–"
                    f"{max(secs):.2f}) | {max(r[1] for r in runs):.0f} MB | {runs[0][2]} | "
                    f"{runs[0][3].replace('|', '/').replace(str(tmp) + '/', '')} |")
    return (f"A {huge.stat().st_size / 1024:.0f} KB H.264 file of 5 frames at 8000 × 8000, "
            f"{RUNS} runs of each command (whole CLI, interpreter start-up included):\n\n"
            "| command | wall time, median (min–max) | peak memory | exit | message |\n"
            "|---|---|---|---|---|\n" + "\n".join(rows) + "\n")


def loop_video(src: Path, dst: Path, seconds: int) -> None:
    """``src`` played forwards and backwards until ``seconds`` at 30 fps (no jump cuts)."""
    import av

    from twoface.media import iter_frames

    frames = [f.image for f in iter_frames(src)]
    cycle = frames + frames[-2:0:-1]
    with av.open(str(dst), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "20"}
        for i in range(seconds * 30):
            frame = av.VideoFrame.from_ndarray(cycle[i % len(cycle)], format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def make(*what: str) -> None:
    """Make a test video in a child process (see the module docstring for why)."""
    subprocess.run([sys.executable, __file__, "--make", *what], check=True)


EXTRACT_CHILD = """
import sys, time
from twoface.data.extract import extract
t = time.perf_counter()
report = extract([sys.argv[1]], sys.argv[2])
print(report.frames, report.faces, round(time.perf_counter() - t, 1), file=sys.stderr)
"""


def extract_part(tmp: Path, videos: list[Path] | None) -> str:
    if videos is None:
        videos = []
        for seconds in (60, 600):
            path = tmp / f"d13_loop_{seconds}s.mp4"
            make("loop", str(SOURCE), str(path), str(seconds))
            videos.append(path)
    rows, peaks = [], []
    for video in videos:
        out = tmp / f"faces_{video.stem}"
        secs, peak, code, last = run_child(
            [sys.executable, "-c", EXTRACT_CHILD, str(video), str(out)], ROOT)
        if code != 0:
            raise SystemExit(f"extraction of {video} failed: {last}")
        frames, faces, _ = last.split()
        peaks.append(peak)
        print(f"{video.name}: {frames} frames, {faces} faces, {secs:.0f} s, peak {peak:.0f} MB",
              flush=True)
        rows.append(f"| {int(frames) / 30:.0f} s | {frames} | {faces} | {secs / 60:.1f} min | "
                    f"{peak:.0f} MB |")
    growth = (peaks[-1] / peaks[0] - 1) * 100
    return ("Extraction memory against video length: d13 (720 × 1280, real) looped forwards "
            "and backwards at 30 fps, default options (every frame, HOG every 5 frames, "
            "tracking, zero-phase smoothing, 256 px crops), one child process each:\n\n"
            "| length | frames | faces written | time | peak memory |\n|---|---|---|---|---|\n"
            + "\n".join(rows) + f"\n\n10 min against 60 s: **{growth:+.1f} %** peak memory "
            "(goal: within 20 %).\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--part", choices=("cli", "extract", "all"), default="all")
    ap.add_argument("--videos", nargs=2, type=Path, help="prepared 60 s and 10 min loops")
    ap.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md")
    ap.add_argument("--make", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.make:
        if args.make[0] == "huge":
            huge_video(Path(args.make[1]))
        else:
            loop_video(Path(args.make[1]), Path(args.make[2]), int(args.make[3]))
        return
    if args.part != "cli" and args.videos is None and not SOURCE.is_file():
        sys.exit(f"shared data not found at {SOURCE}")
    load = os.getloadavg()[0]
    done = []
    with tempfile.TemporaryDirectory() as tmp:
        for part, title, run in (
                ("cli", "Hardening: oversized frames", lambda: cli_part(Path(tmp))),
                ("extract", "Hardening: extraction memory",
                 lambda: extract_part(Path(tmp), args.videos))):
            if args.part in (part, "all"):
                t0 = time.time()
                done.append((part, title, run(), (time.time() - t0) / 60))
    where = machine()  # imports torch: only once every child has run
    for part, title, result, minutes in done:
        body = (f"`python bench/hardening.py --part {part}` on {where}; {minutes:.1f} min, "
                f"load average {load:.1f} at the start (other jobs on the cores lengthen "
                "times, not memory).\n\n" + result)
        print(body)
        if not args.no_write:
            write_section(title, body)

if __name__ == "__main__":
    main()
