"""``twoface scan``: rows, resume, a kill -9, a corrupt file, Ray, PDQ/vPDQ and hash lists.

The media are tiny (one short synthetic clip, a few stills) and the detector looks at few
frames without heat maps, so that the whole file stays within a minute on a busy laptop.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from twoface.scan import RUN_FIELDS, ScanConfig, read_rows, run_scan

FAST = {"frames": 4, "extra": 0, "reports": False}


@pytest.fixture(scope="module")
def collection(tmp_path_factory, talking_video: Path, face_image: np.ndarray) -> Path:
    """A clip, two stills (one repeated under another name), a corrupt video, a text file."""
    from twoface.media import write_image

    folder = tmp_path_factory.mktemp("collection")
    shutil.copy(talking_video, folder / "clip.mp4")
    write_image(folder / "face.png", face_image)
    write_image(folder / "sub" / "flipped.png", face_image[:, ::-1].copy())
    shutil.copy(folder / "face.png", folder / "sub" / "same_as_face.png")
    (folder / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    (folder / "notes.md").write_text("not media: folders only yield media files")
    return folder


def _finished(results: Path) -> int:
    """Row files written (a killed write's hidden temporary file is not one)."""
    return sum(not p.name.startswith(".") for p in (results / "parts").glob("*.parquet"))


def _comparable(table) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in RUN_FIELDS} for r in table.to_pylist()]


@pytest.fixture(scope="module")
def local_scan(tmp_path_factory, collection: Path) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("scan") / "results"
    summary = run_scan([collection], ScanConfig(results=str(out), **FAST))
    return out, summary


def test_a_local_scan_writes_one_row_per_content(local_scan, collection: Path) -> None:
    out, summary = local_scan
    rows = {Path(r["path"]).name: r for r in read_rows(out).to_pylist()}
    assert set(rows) == {"clip.mp4", "face.png", "flipped.png", "broken.mp4"}
    assert summary["run"]["duplicates"][0]["path"].endswith("same_as_face.png")
    clip, face, broken = rows["clip.mp4"], rows["face.png"], rows["broken.mp4"]
    assert clip["sha256"] == hashlib.sha256((collection / "clip.mp4").read_bytes()).hexdigest()
    assert clip["kind"] == "video" and clip["duration"] == pytest.approx(1.6, abs=0.1)
    assert clip["error"] is None and clip["verdict"] in ("fake", "real", "uncertain")
    assert clip["provenance"] == "none" and clip["findings"] is not None
    assert len(clip["vpdq"]) == 2 and clip["pdq"] is None  # one hash a second
    assert face["kind"] == "image" and len(face["pdq"]) == 64 and face["faces"] == 1
    # The corrupt file is a row with its error, not a crash.
    assert broken["error"] and broken["verdict"] is None and broken["sha256"]
    assert summary["verdicts"]["error"] == 1 and summary["rows"] == 4
    assert (out / "summary.html").read_text().count("<tr>") >= 3


def test_rerun_skips_every_done_file(local_scan, collection: Path) -> None:
    out, _ = local_scan
    before = sorted(p.name for p in (out / "parts").iterdir())
    summary = run_scan([collection], ScanConfig(results=str(out), **FAST))
    # The repeated still counts as done too: its content has a row.
    assert summary["run"]["checked"] == 0 and summary["run"]["skipped_done"] == 5
    assert sorted(p.name for p in (out / "parts").iterdir()) == before


def test_a_list_file_and_an_unreadable_entry(tmp_path: Path, collection: Path) -> None:
    listing = tmp_path / "files.csv"
    listing.write_text(f"path,note\n{collection / 'face.png'},x\nmissing.png,gone\n")
    summary = run_scan([listing], ScanConfig(results=str(tmp_path / "r"),
                                             checks=("provenance",), **FAST))
    rows = {Path(r["path"]).name: r for r in read_rows(tmp_path / "r").to_pylist()}
    assert rows["missing.png"]["error"] == "does not exist"
    assert rows["face.png"]["provenance"] == "none" and rows["face.png"]["verdict"] is None
    assert summary["rows"] == 2


KILL_SCRIPT = """
import sys
from twoface.scan import ScanConfig, run_scan
run_scan([{folder!r}], ScanConfig(results={out!r}, checks=("detect",), explain=1))
"""


def test_kill_9_then_resume_gives_every_file_exactly_once(tmp_path: Path,
                                                          face_image: np.ndarray) -> None:
    from twoface.media import write_image

    folder, out = tmp_path / "stills", tmp_path / "results"
    rng = np.random.default_rng(0)
    # Distinct content (a little noise on each); a heat map per file (explain=1) gives each
    # file enough work that the kill lands mid-scan.
    for i in range(10):
        noisy = np.clip(face_image + rng.integers(-3, 4, face_image.shape), 0, 255)
        write_image(folder / f"{i:02d}.png", noisy.astype(np.uint8))
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT.format(folder=str(folder),
                                                                      out=str(out))],
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        deadline = time.time() + 90
        while _finished(out) < 2 and time.time() < deadline:
            assert proc.poll() is None, "the scan ended before it could be killed"
            time.sleep(0.02)
        proc.kill()  # SIGKILL: no handler runs, a write may be half done
    finally:
        proc.wait()
    done = _finished(out)
    assert 2 <= done < 10
    summary = run_scan([folder], ScanConfig(results=str(out), checks=("detect",), explain=1))
    assert summary["run"]["skipped_done"] == done and summary["run"]["checked"] == 10 - done
    rows = read_rows(out).to_pylist()
    want = {hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}
    assert len(rows) == 10 and {r["sha256"] for r in rows} == want
    assert all(r["error"] is None and r["faces"] == 1 for r in rows)
    assert not list((out / "parts").glob(".*"))  # the killed write's leftover is gone


def test_ray_gives_the_same_rows(tmp_path: Path, collection: Path, local_scan) -> None:
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'twoface[ray]')")
    # One local instance on the loopback address for both engines' layouts.
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             configure_logging=False, _node_ip_address="127.0.0.1")
    try:
        want = _comparable(read_rows(local_scan[0]))
        # Workers that each run the whole check ...
        summary = run_scan([collection], ScanConfig(results=str(tmp_path / "a"), **FAST),
                           workers=2, ray="local")
        assert summary["run"]["engine"] == "ray" and summary["run"]["checked"] == 4
        assert _comparable(read_rows(tmp_path / "a")) == want
        # ... and workers that find faces while a shared service scores them (the GPU
        # layout, here on the CPU).
        run_scan([collection], ScanConfig(results=str(tmp_path / "b"), **FAST), workers=2,
                 ray="local", ray_service=True)
        assert _comparable(read_rows(tmp_path / "b")) == want
    finally:
        ray.shutdown()


def test_a_process_pool_gives_the_same_rows(tmp_path: Path, collection: Path,
                                            local_scan) -> None:
    out = tmp_path / "pool"
    summary = run_scan([collection], ScanConfig(results=str(out), **FAST), workers=2)
    assert summary["run"]["engine"] == "local"
    assert _comparable(read_rows(out)) == _comparable(read_rows(local_scan[0]))


def test_pdq_and_a_hash_list_match_after_reencode_and_crop(tmp_path: Path,
                                                           talking_video: Path) -> None:
    pdqhash = pytest.importorskip("pdqhash")
    from twoface.media import iter_frames, write_video
    from twoface.scan.hashes import HashList, distance, pdq, vpdq

    frames = [f.image for f in iter_frames(talking_video)]
    bits, quality = pdqhash.compute(frames[0])
    assert pdq(frames[0]) == (np.packbits(bits.astype(np.uint8)).tobytes().hex(), quality)
    listed = tmp_path / "list.txt"
    listed.write_text("# shared list\n" + "".join(f"{f.hash},case-7\n"
                                                for f in vpdq(talking_video)))
    # PDQ is not made for crops (each 1 % off a side costs ~10 bits, see BENCHMARKS.md):
    # a 1 % border trim, as when black edges are cut, and a lossy re-encode still match.
    crop = [np.ascontiguousarray(f[2:-2, 2:-2]) for f in frames]
    copy = write_video(tmp_path / "copy.mp4", crop, fps=25, crf=28)
    hashes = [f.hash for f in vpdq(copy)]
    assert HashList.read(listed).best(hashes)[0] == "case-7"
    assert distance(hashes[0], hashes[0]) == 0
    other = HashList.read(listed)
    assert other.best([format(0, "064x")]) is None


def test_the_command_line(tmp_path: Path, collection: Path, local_scan,
                          capsys: pytest.CaptureFixture[str]) -> None:
    from test_cli import _main

    code, out, err = _main(capsys, "scan", "/nonexistent", "-o", str(tmp_path / "r"))
    assert code == 2 and out == "" and err == "error: /nonexistent: does not exist\n"
    code, _, err = _main(capsys, "scan", str(collection), "-o", str(tmp_path / "r"),
                         "--checks", "detect,magic")
    assert code == 2 and "--checks takes some of" in err and "Traceback" not in err
    bad = tmp_path / "list.txt"
    bad.write_text("not-a-hash label\n")
    code, _, err = _main(capsys, "scan", str(collection), "-o", str(tmp_path / "r"),
                         "--match", str(bad))
    assert code == 2 and err.startswith(f"error: {bad}: line 1: expected a 64-digit hex")
    code, _, err = _main(capsys, "scan", str(collection), "-o", str(tmp_path / "r"),
                         "--index", str(bad))
    assert code == 2 and err.startswith(f"error: {bad}: not a twoface index")
    assert err.count("\n") == 1  # one line, no traceback
    # Into the finished results of the local scan: every file is already done.
    code, out, _ = _main(capsys, "scan", str(collection), "-o", str(local_scan[0]), "--checks",
                         "provenance,detect,inspect", "--frames", "4", "--workers", "1")
    assert code == 0 and "checked 0" in out and "skipped 5 done" in out


def test_inspect_with_an_index_measures_each_video_against_its_source(
        tmp_path: Path, talking_video: Path) -> None:
    import json

    from twoface.forensics.index import add_videos
    from twoface.media import iter_frames, probe, write_video

    index = tmp_path / "index.sqlite"
    add_videos([talking_video], index)
    folder = tmp_path / "found"
    frames = [f.image for f in iter_frames(talking_video)]
    write_video(folder / "reposted.mp4", frames, probe(talking_video).fps, crf=30)
    out = tmp_path / "r"
    run_scan([folder], ScanConfig(results=str(out), checks=("inspect",), index=str(index),
                                  **FAST))
    (row,) = read_rows(out).to_pylist()
    findings = json.loads(row["findings"])
    kinds = {f["kind"]: f for f in findings}
    # The match is context: it never flags the file (findings_max is over edits only).
    assert row["findings_max"] == max((f["confidence"] for f in findings if not f["context"]),
                                      default=0.0)
    assert kinds["source_match"]["evidence"]["source"] == str(talking_video)
    assert kinds["source_match"]["confidence"] >= 0.5  # lined up with the indexed video
