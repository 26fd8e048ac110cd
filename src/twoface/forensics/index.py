"""Near-duplicate video search: trace a relabelled clip back to the video it was cut from.

``add_videos`` samples each video a few times a second, hashes every sample with a 256-bit
perceptual hash (:mod:`twoface.forensics._phash`) and stores the hashes in a SQLite index.
``search`` hashes a query clip the same way (and its mirror image), finds stored frames with
nearby hashes through 16 bands of 16 bits (multi-index hashing), and then, per candidate
video, fits ``source_time = speed · query_time + offset`` to the matched frame pairs with a
Hough vote, so that a segment that was cut out, sped up, mirrored, cropped or re-encoded
still lines up with its original. The score is the share of query samples on that line.

Tables: ``videos`` (one row per file, keyed by its resolved path, with size and mtime so a
changed file is indexed again), ``frames`` (sample time and 32-byte hash) and ``bands``
(band number, band value, frame id; the lookup table, a clustered primary key).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from twoface.errors import MediaError, TwofaceError
from twoface.forensics._phash import (
    BANDS,
    HASH_BYTES,
    HASHERS,
    Hasher,
    band_neighbours,
    bands,
    centre_crop,
    frame_hashes,
    hamming,
)

SAMPLE_FPS = 5.0
# A 256-bit DCT hash does not survive zooming: a 15 % centre crop flips ~45 % of the bits,
# a 3 % one still ~13 %. So each source sample is also stored as if it had been cropped to
# these shares of its side; a query cropped anywhere from ~75 % to 100 % then lies within
# ~3.5 % of one stored framing. Costs 4× the rows, but keeps the query to one hash (+mirror).
ZOOMS = (1.0, 0.93, 0.86, 0.79)
# Bits (of 256) within which two frame hashes count as the same picture. Measured on the
# synthetic clips of tests/test_index.py: a cut sped up 1.25×, mirrored, cropped to 85 % and
# re-encoded at CRF 35 stays within 42 bits of its source samples (2-4 for a plain cut, 10-14
# re-encoded), while different talking heads from the same renderer come as close as 50
# (median 65) and noise clips ~110. So 48, below PDQ's customary 64-90.
MATCH_BITS = 48
# Speeds tried by the vote, nearest 1 first so that a tie keeps the plainest explanation.
_SPEEDS = sorted(np.round(np.arange(0.5, 2.0001, 0.025), 3), key=lambda v: abs(v - 1.0))
_OFFSET_TOL = 0.6 / SAMPLE_FPS  # seconds off the fitted line still counted as aligned
_PER_FRAME = 6  # best source frames kept per query frame and video (static shots repeat)
MIN_SCORE = 0.3
_SCHEMA = 1
# Real PDQ for new indexes: it found every query that twoface's own hash found on the index
# benchmark (66/66 each), searched 30-50 % faster, and is the hash other teams share.
# Indexes built before keep (and are searched with) the hash they were built with.
DEFAULT_HASHER: Hasher = "pdq"
ENV_VAR = "TWOFACE_INDEX"


def default_index_path() -> Path:
    """``$TWOFACE_INDEX`` if set, else ``index.sqlite`` in the user's twoface data folder."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    from platformdirs import user_data_dir

    return Path(user_data_dir("twoface")) / "index.sqlite"


@dataclass
class AddReport:
    """What ``add_videos`` did: files indexed, skipped as already there, frames stored."""

    added: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    frames: int = 0


@dataclass
class Match:
    """One source video that the query was probably cut from, and how it lines up."""

    file: str
    score: float  # share of query samples aligned as inliers, 0..1
    query_start: float
    query_end: float
    source_start: float
    source_end: float
    speed: float  # source seconds per query second (1.25: the query plays 1.25× fast)
    mirrored: bool  # whether the query matches the source flipped left-right

    def to_dict(self) -> dict[str, Any]:
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in asdict(self).items()}


def sample_hashes(path: Path, fps: float = SAMPLE_FPS, zooms: tuple[float, ...] = (1.0,),
                  hasher: Hasher = "pdq") -> Iterator[tuple[float, np.ndarray, np.ndarray]]:
    """``(time, hashes, mirror_hashes)`` of the frames shown every ``1/fps`` s: one ``(32,)``
    hash per framing in ``zooms`` (``(Z, 32)`` each); flat frames are skipped.

    Sampling by time, not by frame count, keeps the index independent of the frame rate, so a
    clip re-timed to another rate still lines up. Raises MediaError for a bad video.
    """
    from twoface.media import iter_frames

    next_time = -1.0
    for frame in iter_frames(path):
        if frame.time + 1e-6 < next_time:
            continue
        next_time = frame.time + 1.0 / fps
        hashes = [frame_hashes(centre_crop(frame.image, z), hasher) for z in zooms]
        found = [h for h in hashes if h is not None]
        if len(found) == len(hashes):
            yield (frame.time, np.stack([h[0] for h in found]), np.stack([h[1] for h in found]))


def connect(index: Path, *, create: bool, hasher: Hasher | None = None) -> sqlite3.Connection:
    """Open (or with ``create``, make) the index; a missing or foreign file is a TwofaceError.

    ``hasher``: the frame hash a new index uses (default :data:`DEFAULT_HASHER`); an
    existing index keeps the one it was built with, and asking for another is a TwofaceError.
    """
    index = Path(index)
    if index.is_dir():
        raise TwofaceError(index, "is a folder; give the index file's path (e.g. "
                           f"{index / 'index.sqlite'})")
    if not create and not index.is_file():
        raise TwofaceError(index, "no index here; build one with `twoface index add VIDEO...`")
    try:
        index.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(index)
    except (OSError, sqlite3.Error) as exc:
        raise TwofaceError(index, f"cannot open the index ({exc})") from None
    try:
        db.execute("PRAGMA foreign_keys = ON")
        known = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
        if known and "meta" not in known:
            # Never add tables to some other program's database, to search it or to fill it.
            raise TwofaceError(index, "not a twoface index (another program's SQLite "
                               "database: it has tables but no twoface meta table)")
        if not create and "meta" not in known:
            raise TwofaceError(index, "not a twoface index (no meta table)")
        db.executescript(f"""
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
            INSERT OR IGNORE INTO meta VALUES ('schema', '{_SCHEMA}');
            CREATE TABLE IF NOT EXISTS videos (
                id INTEGER PRIMARY KEY, path TEXT UNIQUE NOT NULL, size INTEGER NOT NULL,
                mtime_ns INTEGER NOT NULL, duration REAL, fps REAL);
            CREATE TABLE IF NOT EXISTS frames (
                id INTEGER PRIMARY KEY,
                video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
                time REAL NOT NULL, hash BLOB NOT NULL);
            CREATE INDEX IF NOT EXISTS frames_video ON frames(video_id);
            CREATE TABLE IF NOT EXISTS bands (
                band_no INTEGER NOT NULL, band_value INTEGER NOT NULL,
                frame_id INTEGER NOT NULL REFERENCES frames(id) ON DELETE CASCADE,
                PRIMARY KEY (band_no, band_value, frame_id)) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS bands_frame ON bands(frame_id);
        """)
        schema = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if schema is None or schema[0] != str(_SCHEMA):
            raise TwofaceError(index, f"index schema {schema and schema[0]} is not {_SCHEMA}")
        # Indexes from before the choice existed have no 'hash' entry: they hold own hashes.
        fresh = not db.execute("SELECT 1 FROM videos LIMIT 1").fetchone()
        with db:
            db.execute("INSERT OR IGNORE INTO meta VALUES ('hash', ?)",
                       ("own" if not fresh else hasher or DEFAULT_HASHER,))
        used = index_hasher(db)
        if hasher is not None and hasher != used:
            raise TwofaceError(index, f"this index holds {used} hashes; it cannot take "
                               f"{hasher} ones (use another index file)")
    except sqlite3.DatabaseError as exc:
        db.close()
        raise TwofaceError(index, f"not a twoface index or corrupt ({exc})") from exc
    except TwofaceError:
        db.close()
        raise
    return db


def index_hasher(db: sqlite3.Connection) -> Hasher:
    """The frame hash an open index holds."""
    row = db.execute("SELECT value FROM meta WHERE key = 'hash'").fetchone()
    for name in HASHERS:
        if row is not None and row[0] == name:
            return name
    raise TwofaceError(None, f"the index names an unknown frame hash {row and row[0]!r}")


def add_videos(paths: Iterable[str | Path], index: Path, *, progress: Any = None,
               hasher: Hasher | None = None) -> AddReport:
    """Index each video in ``paths`` into ``index``; files already there unchanged are skipped.

    Each video goes in as one transaction, so a kill or a broken file never leaves half a
    video in the index. ``progress`` is a rich Progress (or None). Raises MediaError for a
    file that is not a readable video, TwofaceError for an unusable index.
    """
    from twoface.media import probe

    files = [Path(p) for p in paths]
    report = AddReport()
    db = connect(index, create=True, hasher=hasher)
    used = index_hasher(db)
    task = None if progress is None else progress.add_task("indexing", total=len(files),
                                                           unit="video")
    try:
        for path in files:
            if progress is not None:
                progress.update(task, description=f"indexing {path.name}")
            report_one = _add_one(db, path, probe, used)
            (report.added if report_one else report.skipped).append(str(path))
            report.frames += report_one
            if progress is not None:
                progress.advance(task)
    except sqlite3.DatabaseError as exc:
        raise TwofaceError(index, f"index write failed ({exc})") from exc
    finally:
        db.close()
    return report


def _add_one(db: sqlite3.Connection, path: Path, probe: Any, hasher: Hasher) -> int:
    """Index one file; the number of frames stored, 0 when it was already indexed."""
    if not path.is_file():
        raise MediaError(path, "does not exist" if not path.exists() else "is not a file")
    key, stat = str(path.resolve()), path.stat()
    row = db.execute("SELECT size, mtime_ns FROM videos WHERE path = ?", (key,)).fetchone()
    if row is not None and tuple(row) == (stat.st_size, stat.st_mtime_ns):
        return 0
    info = probe(path)
    # Hash before opening the transaction: decoding is the slow part, the writes are quick.
    samples = [(t, digests) for t, digests, _mirrors in sample_hashes(path, zooms=ZOOMS,
                                                                     hasher=hasher)]
    insert_video(db, key, stat.st_size, stat.st_mtime_ns, info.duration, info.fps, samples)
    return max(len(samples), 1)


def insert_video(db: sqlite3.Connection, key: str, size: int, mtime_ns: int,
                 duration: float, fps: float, samples: list[tuple[float, np.ndarray]]) -> None:
    """Store one video's ``(time, (Z, 32) hashes)`` samples under ``key``, replacing any
    earlier version, in one transaction (the old version out and the new one in, or nothing).

    Split from hashing so that the scale benchmark can fill an index with prepared hashes.
    """
    times = [t for t, digests in samples for _ in digests]
    flat = [d for _t, digests in samples for d in digests]
    with db:
        db.execute("DELETE FROM videos WHERE path = ?", (key,))
        video_id = db.execute(
            "INSERT INTO videos (path, size, mtime_ns, duration, fps) VALUES (?, ?, ?, ?, ?)",
            (key, size, mtime_ns, duration, fps)).lastrowid
        if not flat:
            return
        # Explicit ids (inside this transaction nobody else writes) let both tables go in
        # with one executemany each, ~20x faster than a round trip per frame.
        first = db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM frames").fetchone()[0]
        db.executemany("INSERT INTO frames (id, video_id, time, hash) VALUES (?, ?, ?, ?)",
                       [(first + i, video_id, t, d.tobytes())
                        for i, (t, d) in enumerate(zip(times, flat, strict=True))])
        values = bands(np.stack(flat))  # (F, BANDS)
        db.executemany("INSERT OR IGNORE INTO bands VALUES (?, ?, ?)",
                       [(b, int(v), first + i) for i, row in enumerate(values.tolist())
                        for b, v in enumerate(row)])


def search(video: str | Path, index: Path, *, top: int = 5, min_score: float = MIN_SCORE
           ) -> list[Match]:
    """The indexed videos that ``video`` was most likely cut from, best first.

    Only matches whose score reaches ``min_score`` are returned. Raises MediaError for a bad
    query video, TwofaceError for a missing or corrupt index.
    """
    video = Path(video)
    db = connect(index, create=False)
    try:
        # The query is sampled twice as densely as the index: its samples then fall at all
        # phases between stored ones, and the fitted speed averages out that rounding.
        samples = list(sample_hashes(video, fps=2 * SAMPLE_FPS, hasher=index_hasher(db)))
        if not samples:
            raise MediaError(video, "no frames with any picture content to search for")
        q_times = np.array([s[0] for s in samples])
        q_hashes = np.stack([np.stack([s[1][0], s[2][0]]) for s in samples])  # (Q, 2, 32)
        pairs = _candidates(db, q_hashes)
        paths = dict(db.execute("SELECT id, path FROM videos"))
    except sqlite3.DatabaseError as exc:
        raise TwofaceError(index, f"not a twoface index or corrupt ({exc})") from exc
    finally:
        db.close()
    matches = []
    for video_id, (qi, s_times, dist, flipped) in pairs.items():
        match = _align(q_times, qi, s_times, dist, flipped, paths[video_id])
        if match is not None and match.score >= min_score:
            matches.append(match)
    matches.sort(key=lambda m: m.score, reverse=True)
    return matches[:top]


def _candidates(db: sqlite3.Connection, q_hashes: np.ndarray
                ) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Stored frames near any query hash, per video: (query index, source time, bits, flipped).

    Bands are probed within one bit (see ``band_neighbours``); every candidate is then checked
    on its full 256 bits, against both the query frame and its mirror image.
    """
    n_query = len(q_hashes)
    flat = q_hashes.reshape(-1, HASH_BYTES)
    probes = band_neighbours(bands(flat))  # (2Q, 16, 17)
    db.execute("CREATE TEMP TABLE IF NOT EXISTS probe (band_no INTEGER, band_value INTEGER)")
    db.execute("DELETE FROM probe")
    band_no = np.broadcast_to(np.arange(BANDS)[None, :, None], probes.shape)
    db.executemany("INSERT INTO probe VALUES (?, ?)",
                   set(zip(band_no.ravel().tolist(), probes.ravel().tolist(), strict=True)))
    rows = db.execute("""
        SELECT f.video_id, f.time, f.hash FROM frames f WHERE f.id IN (
            SELECT b.frame_id FROM probe p JOIN bands b
            ON b.band_no = p.band_no AND b.band_value = p.band_value)""").fetchall()
    if not rows:
        return {}
    vids = np.array([r[0] for r in rows])
    times = np.array([r[1] for r in rows])
    stored = np.frombuffer(b"".join(r[2] for r in rows), np.uint8).reshape(len(rows), -1)
    # In chunks of stored frames: the XOR array is Q·2·F·32 bytes, too big for a big index.
    dist = np.concatenate([hamming(q_hashes[:, :, None, :], stored[None, None, i:i + 2048])
                           for i in range(0, len(stored), 2048)], axis=2)  # (Q, 2, F)
    flipped = dist[:, 1] < dist[:, 0]
    best = dist.min(axis=1)  # (Q, F)
    out = {}
    for vid in np.unique(vids):
        cols = np.flatnonzero(vids == vid)
        # One column per source sample time: its stored framings (ZOOMS) count as one frame,
        # at the distance of the closest framing.
        v_times, inverse = np.unique(times[cols], return_inverse=True)
        d = np.full((n_query, len(v_times)), np.iinfo(np.int32).max, np.int32)
        np.minimum.at(d.T, inverse, best[:, cols].T)
        flip = np.zeros((n_query, len(v_times)), bool)
        at_min = best[:, cols] == d[:, inverse]
        rows_q, rows_c = np.nonzero(at_min)
        flip[rows_q, inverse[rows_c]] = flipped[:, cols][rows_q, rows_c]
        # Keep only each query frame's few nearest frames of this video: a still shot makes
        # every frame of it match, and those pairs would vote for any line through them.
        keep = np.argsort(d, axis=1, kind="stable")[:, :_PER_FRAME]
        qi = np.repeat(np.arange(n_query), keep.shape[1])
        fi = keep.ravel()
        dd = d[qi, fi]
        ok = dd <= MATCH_BITS
        if ok.any():
            out[int(vid)] = (qi[ok], v_times[fi[ok]], dd[ok], flip[qi, fi][ok])
    return out


def _align(q_times: np.ndarray, qi: np.ndarray, s_times: np.ndarray, dist: np.ndarray,
           flipped: np.ndarray, path: str) -> Match | None:
    """Fit ``source = speed · query + offset`` to matched pairs by a Hough vote, then refine.

    Each (speed, offset) line gets, per query frame, the best similarity ``1 - bits/49`` of
    its pairs within ``_OFFSET_TOL`` of the line; summing over query frames makes a frame
    count once however many near-identical source frames it matches.
    """
    n_query = len(q_times)
    qt = q_times[qi]
    weight = 1.0 - dist / (MATCH_BITS + 1)
    best: tuple[float, float, float] | None = None  # (vote, speed, offset)
    for speed in _SPEEDS:
        offsets = s_times - speed * qt
        # Candidate lines pass through each pair; vote with all pairs near that offset.
        near = np.abs(offsets[:, None] - offsets[None, :]) <= _OFFSET_TOL  # (P, P)
        per_frame = np.zeros((len(offsets), n_query))
        line, pair = np.nonzero(near)
        np.maximum.at(per_frame, (line, qi[pair]), weight[pair])
        votes = per_frame.sum(axis=1)
        i = int(np.argmax(votes))
        if best is None or votes[i] > best[0] + 1e-9:
            best = (float(votes[i]), float(speed), float(offsets[i]))
    assert best is not None
    _, speed, offset = best
    inliers = np.abs(s_times - (speed * qt + offset)) <= _OFFSET_TOL
    # Least squares refines the grid's speed and offset, on each query frame's closest
    # inlier only: its other inliers are neighbouring source samples, off by a frame or two.
    # Weighting by similarity trusts the query frames that fall right on a stored sample
    # over those between two, whose nearest sample is up to half a period off.
    order = np.lexsort((dist, qi))
    order = order[inliers[order]]
    first = order[np.unique(qi[order], return_index=True)[1]]
    if len(first) >= 3 and np.ptp(qt[first]) >= 2.0 / SAMPLE_FPS:
        speed_fit, offset_fit = np.polyfit(qt[first], s_times[first], 1, w=weight[first])
        if 0.45 <= speed_fit <= 2.1:
            speed, offset = float(speed_fit), float(offset_fit)
            inliers = np.abs(s_times - (speed * qt + offset)) <= _OFFSET_TOL
    if not inliers.any():
        return None
    aligned = np.unique(qi[inliers])
    q_start, q_end = float(q_times[aligned].min()), float(q_times[aligned].max())
    return Match(file=path, score=len(aligned) / n_query, query_start=q_start, query_end=q_end,
                 source_start=speed * q_start + offset, source_end=speed * q_end + offset,
                 speed=speed, mirrored=bool(flipped[inliers].mean() > 0.5))
