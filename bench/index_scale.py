"""How the near-duplicate index behaves as it grows to 10,000 clips.

Real part: the first 6 s of each LivePortrait driving clip are indexed for real (decoded and
hashed), and each query is a 3 s middle segment of one of them, sped up 1.25× and cropped to
90 %, re-encoded. Growth part: distractor clips made of *prepared* hashes, inserted through
the same ``insert_video`` the real indexer uses. Random hashes would never collide and so
flatter the search, so each distractor is a real clip's hash sequence with a fixed 18 % of its
bits flipped (≈46 bits: as close as two different talking heads come, see MATCH_BITS) plus
2 % per-frame noise. That floods the band lookup with near misses, a harder case than a
library of unrelated footage.

Usage: python bench/index_scale.py [--sizes 100,1000,3000,10000] [--quick]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from twoface.forensics.index import (
    DEFAULT_HASHER,
    ZOOMS,
    add_videos,
    connect,
    insert_video,
    sample_hashes,
    search,
)
from twoface.media import write_video

sys.path.insert(0, str(Path(__file__).parent))
from _report import SHARED, machine, write_section
from shallowfake import crop, load, middle, retime

DISTRACTOR_S = 6.0  # seconds of video each distractor clip stands for
SAMPLES_PER_S = 5  # the index's SAMPLE_FPS
CLIP_FLIP = 0.18
FRAME_FLIP = 0.02


def distractor(rng: np.random.Generator, pool: list[np.ndarray]) -> list[tuple[float, np.ndarray]]:
    """One fake clip: a random stretch of a real clip's (T, Z, 32) hashes, perturbed."""
    base = pool[rng.integers(len(pool))]
    n = int(DISTRACTOR_S * SAMPLES_PER_S)
    start = rng.integers(0, max(1, len(base) - n))
    seq = base[start:start + n]
    bits = np.unpackbits(seq, axis=-1)
    clip_mask = rng.random(bits.shape[-1]) < CLIP_FLIP
    frame_mask = rng.random(bits.shape) < FRAME_FLIP
    flipped = np.packbits(bits ^ clip_mask ^ frame_mask, axis=-1)
    return [(i / SAMPLES_PER_S, flipped[i]) for i in range(len(flipped))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="100,1000,3000,10000")
    ap.add_argument("--quick", action="store_true", help="sizes 50,200 (a smoke run)")
    args = ap.parse_args()
    sizes = [50, 200] if args.quick else [int(s) for s in args.sizes.split(",")]
    driving = sorted((SHARED / "liveportrait" / "driving").glob("*.mp4"))
    if not driving:
        sys.exit(f"{SHARED}: no driving clips (../shared is needed)")
    rng = np.random.default_rng(0)
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        index = tmp / "index.sqlite"
        originals, queries, pool = {}, {}, []
        for i, path in enumerate(driving):
            frames, fps = load(path)
            originals[i] = write_video(tmp / f"o{i}.mp4", frames, fps, crf=23)
            queries[i] = write_video(tmp / f"q{i}.mp4", crop(retime(middle(frames, fps),
                                                                      1.25), 0.9), fps, crf=23)
            pool.append(np.stack([h for _t, h, _m in sample_hashes(originals[i], zooms=ZOOMS,
                                                                   hasher=DEFAULT_HASHER)]))
        t0 = time.perf_counter()
        add_videos(list(originals.values()), index)
        real_s = sum(len(p) for p in pool) / SAMPLES_PER_S
        per_hour_decode = (time.perf_counter() - t0) / real_s * 3600
        print(f"real clips indexed ({time.perf_counter() - t_start:.0f} s)", flush=True)

        rows = ["| clips in index | hours of video | insert s per hour of video | index size "
                "| median search time | p90 search time | recall@1 |",
                "|---|---|---|---|---|---|---|"]
        have = 0
        for size in sizes:
            db = connect(index, create=True)
            t0 = time.perf_counter()
            for k in range(have, size):
                insert_video(db, f"synthetic://{k}", 0, 0, DISTRACTOR_S, 25.0,
                             distractor(rng, pool))
            t_insert = time.perf_counter() - t0
            db.close()
            added_h = (size - have) * DISTRACTOR_S / 3600
            have = size
            times, ok = [], 0
            for i, q in queries.items():
                t0 = time.perf_counter()
                found = search(q, index, top=1, min_score=0.0)
                times.append(time.perf_counter() - t0)
                ok += bool(found) and Path(found[0].file).resolve() == originals[i].resolve()
            hours = (size * DISTRACTOR_S + real_s) / 3600
            mb = os.path.getsize(index) / 2**20
            p90 = float(np.percentile(times, 90))
            rows.append(f"| {size + len(originals):,} | {hours:.1f} | "
                        f"{t_insert / max(added_h, 1e-9):.0f} | {mb:,.0f} MB | "
                        f"{statistics.median(times):.2f} s | {p90:.2f} s | "
                        f"{ok / len(queries):.2f} ({ok}/{len(queries)}) |")
            print(rows[-1], f"({time.perf_counter() - t_start:.0f} s)", flush=True)

    body = f"""Machine: {machine()}{" (--quick)" if args.quick else ""}

The {len(originals)} LivePortrait driving clips (first 6 s, ≤ 360 px) are indexed for real
(decode + hash: {per_hour_decode / 60:.1f} min per hour of video at this resolution). The
rest of the index is distractor clips of {DISTRACTOR_S:.0f} s built from prepared hashes
(`bench/index_scale.py`: a real clip's hash sequence with {CLIP_FLIP:.0%} of its bits
flipped per clip and {FRAME_FLIP:.0%} per frame, i.e. about as close as two different
talking heads, so the band lookup meets many near misses), inserted through the indexer's
own `insert_video`. Queries: the middle 3 s of each real clip, sped up 1.25×, cropped to 90 %
and re-encoded; recall@1 counts the top hit being its original.
"Insert s per hour of video" is the database write alone (hashing real video costs the
decode figure above on top).

{chr(10).join(rows)}

Past one machine: the `bands` table is a key-value map from (band number, 16-bit value) to
frame ids, so it shards by key (e.g. band value modulo N) onto any distributed KV or
wide-column store; `frames` (id → video, time, 32-byte hash) shards by video. A query probes
its ~16 k band keys in parallel on every shard, merges the candidate frame ids, fetches their
hashes, and runs the per-video alignment (independent per candidate video) where the
candidates live. Adding video is append-only and needs no global lock.
"""
    write_section("Near-duplicate index at scale", body)
    print(body)
    print(f"total {time.perf_counter() - t_start:.0f} s")


if __name__ == "__main__":
    main()
