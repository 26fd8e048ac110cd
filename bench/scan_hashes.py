"""``twoface scan`` hashes: PDQ and vPDQ against the reference bindings, the index on PDQ.

- twoface's PDQ and vPDQ against ``pdqhash`` and ``vpdq`` on the shared real videos;
- index recall@1 with PDQ against twoface's own hash on the "Shallowfake forensics" index
  protocol (bench/shallowfake.py: the first 6 s of the 11 LivePortrait driving clips and 50
  distractors, the same queries searched in both indexes);
- a shared hash list matched after a re-encode and a crop.

Run through ``python bench/scan.py hashes`` (it writes the BENCHMARKS.md section).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import SHARED, machine


def hash_section(quick: bool) -> str:
    import pdqhash

    from twoface.media import iter_frames
    from twoface.scan.hashes import distance, pdq
    from twoface.scan.hashes import vpdq as our_vpdq

    videos = sorted([*SHARED.rglob("*.mp4"), *SHARED.rglob("*.avi")])
    same = total = 0
    for v in videos:
        for fr in iter_frames(v, every=15):
            bits, q = pdqhash.compute(fr.image)
            total += 1
            same += pdq(fr.image) == (np.packbits(bits.astype(np.uint8)).tobytes().hex(), q)
    pdq_line = (f"PDQ: {same}/{total} frames (every 15th frame of the {len(videos)} shared "
                "videos) give the same hash and quality as `pdqhash.compute` (twoface calls "
                "that binding; the check guards the bit order of the hex form).")
    try:
        import vpdq as ref_vpdq
    except ImportError:
        vpdq_lines = ["vPDQ: the `vpdq` binding is not installed (it needs FFmpeg's "
                      "development libraries); not compared."]
    else:
        frames_same = n_feat = 0
        dists: list[int] = []
        per_video = []
        for v in videos:
            ref = ref_vpdq.computeHash(str(v), seconds_per_hash=1)
            ours = our_vpdq(v)
            n_feat += len(ref)
            pairs = list(zip(ref, ours, strict=False))
            frames_same += sum(a.frame_number == b.frame and a.quality == b.quality
                               and abs(a.timestamp - b.timestamp) < 2e-3 for a, b in pairs)
            d = [distance(a.hex, b.hash) for a, b in pairs]
            dists += d
            per_video.append(f"{v.parent.name}/{v.name} {max(d, default=0)}")
        exact = sum(d == 0 for d in dists)
        vpdq_lines = [
            f"vPDQ: {len(videos)} shared videos, {n_feat} features from the `vpdq` binding "
            f"(1 hash/s). Same frame number, quality and timestamp: {frames_same}/{n_feat}. "
            f"Hash bit-identical: {exact}/{len(dists)}; otherwise {statistics.median(dists):.0f} "
            f"bits median, {max(dists)} max (of 256; matching allows 31).",
            "Where they differ the video is BT.709 HD-style material: PyAV's and the binding's "
            "FFmpeg convert YUV to RGB slightly differently; the frames and PDQ itself agree "
            "(max bits per video: " + ", ".join(per_video) + ")."]
    index_table = index_recall(quick)
    match_table = list_matches()
    return f"""Machine: {machine()}

{pdq_line}

{chr(10).join(vpdq_lines)}

Index recall@1, PDQ against twoface's own PDQ-like hash, on the protocol of "Shallowfake
forensics" above (first 6 s of the 11 LivePortrait driving clips + 50 distractors; the same
query clips searched in both indexes; `twoface index add --hash pdq`):

{index_table}

PDQ finds as many sources as twoface's own hash (recall@1 equal on every query kind) and
searches faster, so `twoface index add` builds new indexes on PDQ; the own hash measures no
better and stays only to fill and search indexes that were built with it.

Hash list (`twoface scan --match LIST`): the list holds the vPDQ hashes of the first 6 s of
each of the 11 driving clips (≤ 360 px, CRF 23); each query is that clip re-encoded at CRF 28
after a centre crop (resized back). A file matches when any of its frames is within 31 bits
of a listed hash (PDQ's usual threshold):

{match_table}

PDQ is built for re-encodes, resizes and small edits, not crops: every 1 % cut off each side
costs ~10 bits, so a hash list catches trims of black edges, not reframed copies. The index
stores zoomed framings of each sample for that reason (its ZOOMS), which is why it finds
85 % crops with either hash.
"""


def _driving() -> dict[str, tuple[list[np.ndarray], float]]:
    from shallowfake import load

    return {p.stem: load(p) for p in sorted((SHARED / "liveportrait" / "driving").glob("*.mp4"))}


def index_recall(quick: bool) -> str:
    from shallowfake import CLIP_S, CRF, crop, load, middle, mirror, retime, splice
    from twoface.forensics.index import add_videos, search
    from twoface.media import probe, write_video
    from twoface.synth import Identity, render_sequence

    data = _driving()
    names = list(data)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        originals = {n: write_video(tmp / f"orig_{n}.mp4", f, r, crf=CRF)
                     for n, (f, r) in data.items()}
        library = list(originals.values())
        for c in sorted((SHARED / "liveportrait" / "driving").glob("*.mp4")):
            s = CLIP_S
            while probe(c).duration - s >= 3.0:
                frames, fps = load(c, s, s + CLIP_S)
                if len(frames) >= 2:
                    library.append(write_video(tmp / f"dis_{c.stem}_{int(s)}.mp4", frames, fps,
                                               crf=CRF))
                s += CLIP_S
        for pattern in ("liveportrait/source/*.mp4", "facesynthetics/*.mp4",
                        "opencv_megamind/*"):
            for c in sorted(SHARED.glob(pattern)):
                frames, fps = load(c)
                library.append(write_video(tmp / f"dis_{c.parent.name}_{c.stem}.mp4", frames,
                                           fps, crf=CRF))
        seed = 0
        while len(library) < len(originals) + 50:
            seq = render_sequence(Identity.random(seed), 25 if quick else 40, size=128,
                                  seed=seed)
            library.append(write_video(tmp / f"dis_synth_{seed}.mp4", [r.image for r in seq],
                                       25, crf=CRF))
            seed += 1
        queries = {
            "segment cut (3 s from the middle)": lambda f, r: middle(f, r),
            "speed 1.25×": lambda f, r: middle(retime(f, 1.25), r),
            "mirror": lambda f, r: middle(mirror(f), r),
            "crop 85% + resize": lambda f, r: crop(f, 0.85),
            "re-encode CRF 35": lambda f, r: f,
        }
        qpaths: dict[str, list[tuple[str, Path]]] = {}
        for k, (label, make) in enumerate(queries.items()):
            qpaths[label] = [(n, write_video(tmp / f"q{k}_{i}.mp4", make(*data[n]), data[n][1],
                                             crf=35 if "CRF 35" in label else CRF))
                             for i, n in enumerate(names)]
        qpaths["cut-and-splice"] = [
            (n, write_video(tmp / f"qs_{i}.mp4", splice(data[n][0],
                                                         data[names[(i + 1) % len(names)]][0]),
                            data[n][1], crf=CRF)) for i, n in enumerate(names)]
        results: dict[str, dict[str, tuple[int, float]]] = {}
        add_s = {}
        for hasher in ("own", "pdq"):
            db = tmp / f"{hasher}.sqlite"
            t0 = time.perf_counter()
            add_videos(library, db, hasher=hasher)  # type: ignore[arg-type]
            add_s[hasher] = time.perf_counter() - t0
            for label, items in qpaths.items():
                ok, times = 0, []
                for i, (n, path) in enumerate(items):
                    right = {str(originals[n].resolve())}
                    if label == "cut-and-splice":
                        right.add(str(originals[names[(i + 1) % len(names)]].resolve()))
                    t0 = time.perf_counter()
                    found = search(path, db, top=1, min_score=0.0)
                    times.append(time.perf_counter() - t0)
                    ok += bool(found) and str(Path(found[0].file).resolve()) in right
                results.setdefault(label, {})[hasher] = (ok, statistics.median(times))
            print(f"index {hasher} done", flush=True)
    rows = ["| query | recall@1 own | recall@1 PDQ | median search own / PDQ |",
            "|---|---|---|---|"]
    tot = {"own": 0, "pdq": 0}
    for label, r in results.items():
        tot["own"] += r["own"][0]
        tot["pdq"] += r["pdq"][0]
        rows.append(f"| {label} | {r['own'][0]}/{len(names)} | {r['pdq'][0]}/{len(names)} | "
                    f"{r['own'][1]:.2f} / {r['pdq'][1]:.2f} s |")
    m = len(names) * len(results)
    rows.append(f"| **all** | **{tot['own']}/{m}** | **{tot['pdq']}/{m}** | |")
    rows.append(f"\nIndexing {len(library)} videos: own {add_s['own']:.0f} s, PDQ "
                f"{add_s['pdq']:.0f} s.")
    return "\n".join(rows)


def list_matches() -> str:
    from shallowfake import CRF, crop
    from twoface.media import write_video
    from twoface.scan.hashes import MIN_QUALITY, HashList, distance, vpdq

    data = _driving()
    shares = (1.0, 0.98, 0.96, 0.92, 0.85)
    rows = ["| crop (share of each side kept) | matched at ≤ 31 bits | median best distance |",
            "|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        lines, refs = [], {}
        for n, (frames, fps) in data.items():
            orig = write_video(tmp / f"{n}.mp4", frames, fps, crf=CRF)
            refs[n] = [f.hash for f in vpdq(orig) if f.quality >= MIN_QUALITY]
            lines += [f"{h},{n}" for h in refs[n]]
        (tmp / "list.txt").write_text("\n".join(lines) + "\n")
        hl = HashList.read(tmp / "list.txt")
        for share in shares:
            ok, best = 0, []
            for n, (frames, fps) in data.items():
                q = write_video(tmp / f"q_{n}.mp4", crop(frames, share) if share < 1 else frames,
                                fps, crf=28)
                hashes = [f.hash for f in vpdq(q) if f.quality >= MIN_QUALITY]
                found = hl.best(hashes)
                ok += found is not None and found[0] == n
                best.append(min(distance(a, b) for a in hashes for b in refs[n]))
            rows.append(f"| {share:.0%} | {ok}/{len(data)} | {statistics.median(best):.0f} |")
    return "\n".join(rows)
