"""``twoface detect``: is the face in this video or image real, fake, or can we not tell?

Per file, top to bottom:

1. **Provenance first.** Twoface's own manifest, intact and signed by a trusted twoface key
   (this install's or one passed with ``--trust``), is proof the file was made by twoface: the
   verdict is ``fake`` with probability 1 and ``certain: true``, and no detector is needed
   (``provenance=False`` skips this step, for measuring detectors). Anything less (a
   watermark without a manifest, which could have been copied; a twoface claim from an
   untrusted key; another tool's manifest; a tampered one) is noted and the detector decides.
2. **Sample frames**: ``frames`` (32) spread evenly over a video; a still is one frame.
3. **Find and align faces** in each sampled frame (dlib HOG + 68 landmarks, the same canonical
   alignment the training crops had) and link them into tracks by identity embedding (the
   frames are far apart, so box overlap alone would break tracks at every head turn).
4. **Score every face** with the detector: a calibrated probability of being fake.
5. **Look again where it matters**: the frames halfway between the highest-scoring samples and
   their neighbours are decoded and scored too (``extra``, 16), so a manipulation confined to a
   few seconds is seen by more than one or two samples.
6. **Aggregate** (the rule is written into every report): a track's logit is the mean of the
   highest half of its faces' calibrated logits. Only a track seen in at least
   ``min_track_faces`` sampled frames may decide a video: the video's logit is the highest
   such track's (a fake face next to a real one makes the video fake). When no track is that
   long, the highest track's logit is reported but the verdict can be no more than
   ``uncertain``: one or two faces are not evidence enough to call a person's video fake.
7. **Calibrate at video level**: the detector's ``card.json`` (see
   :mod:`twoface.forensics.detector_card`) maps the video logit to a probability fitted on
   held-out real and fake *videos*; without a card, p is the sigmoid of the aggregate of
   per-face probabilities and the report says that it is not calibrated per video.
8. **Verdict**: ``fake`` when p ≥ ``fake_threshold``, ``real`` when p ≤ ``real_threshold``,
   else ``uncertain``; ``no-face`` when no face was found (then p is null). The thresholds
   default to the card's, chosen there for a stated video-level false-positive rate. A
   detector's verdict is an estimate (``certain: false``, ``basis: "detector estimate"``);
   only provenance makes a verdict certain.
9. **Explain** the most suspicious faces with occlusion heat maps: each cell of a grid over the
   crop is blurred out in turn and the drop in the fake logit is the cell's heat (red: the
   region that made the face look fake).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from twoface.errors import MediaError, TwofaceError

if TYPE_CHECKING:
    from twoface.models.detectors import Detector

RULE = ("track logit = mean of the top half of its faces' calibrated logits; video logit = "
        "max over tracks with >= min_track_faces faces (if none: max over all tracks, and the "
        "verdict is at most uncertain); p = sigmoid(a * video logit + b), a and b fitted on "
        "held-out videos (the card's video calibration; a=1, b=0 without one)")


# What the detector says beside its verdict when provenance was found but is not proof.
PROVENANCE_NOTES = {
    "watermark": "a twoface watermark was read but no signed manifest backs it; a watermark "
                 "alone can be copied onto other media, so it is not proof and the detector "
                 "decides (`twoface verify` shows the payload)",
    "unverified": "the file's manifest claims twoface made it, but its signer is not trusted "
                  "here: not counted as proof (`twoface verify --trust ROOT.pem`)",
    "foreign": "the file carries another tool's signed manifest (see `twoface verify`); it is "
               "not twoface's and does not decide the verdict",
    "tampered": "the file's manifest does not match it (changed after signing); the detector "
                "decides",
    "copied": "a twoface watermark was read, but it belongs to another picture (its content "
              "hash does not match): lifted onto this file, it says nothing about it",
}


@dataclass
class DetectOptions:
    frames: int = 32  # evenly spread samples per video
    extra: int = 16  # further frames near the highest scores
    fake_threshold: float | None = None  # None: the detector card's (else 0.7)
    real_threshold: float | None = None  # None: the card's (else 0.3)
    min_face: int = 40  # px; smaller faces are not judged
    min_track_faces: int | None = None  # None: the card's (else 3)
    same_person: float = 0.6  # embedding distance that links faces into one track
    explain: int = 4  # most suspicious faces shown with a heat map
    grid: int = 8  # occlusion cells per side
    provenance: bool = True


@dataclass
class FaceScore:
    frame: int
    time: float
    track: int
    logit: float
    probability: float
    box: list[float]
    crop: np.ndarray = field(repr=False)
    embedding: np.ndarray | None = field(default=None, repr=False)


class Scanner:
    """A detector plus the face tools; :meth:`scan` judges one file."""

    def __init__(self, detector: Detector, options: DetectOptions | None = None,
                 *, detector_path: str | Path | None = None, models: Any = None) -> None:
        from twoface.faces.dlib_models import DlibModels
        from twoface.forensics.detector_card import DetectorCard, load_card

        self.detector = detector.eval()
        self.detector_path = None if detector_path is None else str(detector_path)
        self.card = (load_card(detector_path, detector.name) if detector_path is not None
                     else DetectorCard(name=detector.name))
        self.options = _resolved(options or DetectOptions(), self.card)
        self.models = models or DlibModels()  # share one across scanners: loading costs ~1 s
        self.size = int(detector.config.size)
        self.coverage = float(detector.config.coverage)

    @classmethod
    def from_pretrained(cls, folder: str | Path | None = None,
                        options: DetectOptions | None = None, *, models: Any = None,
                        device: str = "cpu") -> Scanner:
        """The detector in ``folder`` (default: the one twoface ships), on ``device``."""
        from twoface.models.detectors import DEFAULT_DIR, load_detector

        return cls(load_detector(folder, device), options, models=models,
                   detector_path=folder if folder is not None else DEFAULT_DIR)

    # ------------------------------------------------------------------ the job
    def scan(self, path: str | Path, progress: Any = None) -> dict[str, Any]:
        """The report for one file (see :mod:`twoface.forensics.detect`)."""
        from twoface.media import media_kind, probe, read_image

        opts, path, t0 = self.options, Path(path), time.perf_counter()
        # Per file: each track's embedding sum and face count (their ratio is its mean).
        self._tracks: list[list[Any]] = []
        kind = media_kind(path)
        info = probe(path) if kind == "video" else None  # a corrupt file stops here
        still = read_image(path) if kind == "image" else None
        report: dict[str, Any] = {
            "file": str(path), "kind": kind, "verdict": None, "probability_fake": None,
            "certain": False, "decided_by": "detector", "provenance": None,
            "basis": "detector estimate",
            "detector": {"name": self.detector.name, "folder": self.detector_path,
                         "size": self.size, "coverage": self.coverage,
                         "card": self.card.summary()},
            "settings": asdict(opts), "rule": RULE, "frames_scored": 0, "faces": 0,
            "tracks": [], "notes": [], "top_faces": []}
        if opts.provenance:
            from twoface.provenance import verify_file

            prov = verify_file(path)
            report["provenance"] = prov
            if prov["status"] == "twoface":  # signed by a trusted twoface key: proof
                report.update(verdict="fake", probability_fake=1.0, certain=True,
                              decided_by="provenance", basis="provenance (proof)")
                report["seconds"] = round(time.perf_counter() - t0, 2)
                return report
            if prov["status"] in PROVENANCE_NOTES:
                report["notes"].append(PROVENANCE_NOTES[prov["status"]])
        if still is not None:
            faces = self._faces_in(still, 0, 0.0, upsample=max(still.shape[:2]) < 640)
            self._assign_tracks(faces)
            report["frames_scored"] = 1
        else:
            assert info is not None
            n = max(1, info.frame_count)
            first = sorted({round(v) for v in np.linspace(0, n - 1, min(opts.frames, n))})
            faces = self._scan_frames(path, first, progress, "detect")
            more = self._extra_frames(first, faces, n)
            if more:
                faces += self._scan_frames(path, more, progress, "look again")
            faces.sort(key=lambda f: (f.frame, f.track))
            report["frames_scored"] = len(first) + len(more)
        report["faces"] = len(faces)
        if not faces:
            report["verdict"] = "no-face"
        else:
            self._aggregate(faces, report, still=still is not None)
            report["top_faces"] = self._explain(faces)
        report["seconds"] = round(time.perf_counter() - t0, 2)
        return report

    # ---------------------------------------------------------------- the parts
    def _scan_frames(self, path: Path, wanted: list[int], progress: Any, what: str
                     ) -> list[FaceScore]:
        """Decode the video once, score the faces of the ``wanted`` frame indices."""
        from twoface.media import iter_frames

        todo, last, faces = set(wanted), max(wanted), []
        task = (progress.add_task(f"{what} {path.name}", total=len(todo), unit="frames")
                if progress is not None else None)
        for fr in iter_frames(path):
            if fr.index in todo:
                faces += self._faces_in(fr.image, fr.index, fr.time)
                if task is not None:
                    progress.advance(task)
            if fr.index >= last:
                break
        self._assign_tracks(faces)
        return faces

    def _faces_in(self, image: np.ndarray, index: int, t: float, *, upsample: bool = False
                  ) -> list[FaceScore]:
        from twoface.faces.align import align_face
        from twoface.faces.detect import detect, embedding, landmarks

        found = detect(image, self.models, upsample=int(upsample))
        out: list[FaceScore] = []
        crops, found_ok = [], []
        for box, _score in found:
            if min(box.width, box.height) < self.options.min_face:
                continue
            marks = landmarks(image, box, self.models)
            crops.append(align_face(image, marks, self.size, self.coverage).image)
            found_ok.append((box, embedding(image, marks, self.models)))
        if not crops:
            return out
        import torch

        x = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float().div(255)
        with torch.no_grad():
            z = self.detector.calibrated_logits(x.to(_device_of(self.detector))
                                                ).float().cpu().numpy()
        for crop, (box, emb), zi in zip(crops, found_ok, z, strict=True):
            out.append(FaceScore(index, round(float(t), 4), -1, float(zi), _sigmoid(float(zi)),
                                 [round(v, 1) for v in box.as_list()], crop, emb))
        return out

    def _assign_tracks(self, faces: list[FaceScore]) -> None:
        """Greedy identity linking: a face joins the nearest known person within
        ``same_person``, else starts a new track."""
        for f in faces:
            emb = np.asarray(f.embedding, np.float64)
            dists = [float(np.linalg.norm(emb - total / n)) for total, n in self._tracks]
            if dists and min(dists) <= self.options.same_person:
                f.track = int(np.argmin(dists))
                self._tracks[f.track][0] = self._tracks[f.track][0] + emb
                self._tracks[f.track][1] += 1
            else:
                self._tracks.append([emb, 1])
                f.track = len(self._tracks) - 1

    def _extra_frames(self, first: list[int], faces: list[FaceScore], n: int) -> list[int]:
        """Midpoints between the most suspicious sampled frames and their neighbours."""
        if not self.options.extra or not faces:
            return []
        best: dict[int, float] = {}
        for f in faces:
            best[f.frame] = max(best.get(f.frame, 0.0), f.probability)
        ranked = [fr for fr, p in sorted(best.items(), key=lambda kv: -kv[1])
                  if p >= (self.options.real_threshold or 0.0)]
        taken = set(first)
        more: list[int] = []
        for fr in ranked:
            i = first.index(fr)
            for j in (i - 1, i + 1):
                if 0 <= j < len(first):
                    mid = (fr + first[j]) // 2
                    if mid not in taken and 0 <= mid < n:
                        taken.add(mid)
                        more.append(mid)
            if len(more) >= self.options.extra:
                break
        return sorted(more[:self.options.extra])

    def _aggregate(self, faces: list[FaceScore], report: dict[str, Any], *, still: bool
                   ) -> None:
        opts, card = self.options, self.card
        assert opts.min_track_faces is not None and opts.fake_threshold is not None
        assert opts.real_threshold is not None  # resolved from the card in __init__
        tracks: dict[int, list[FaceScore]] = {}
        for f in faces:
            tracks.setdefault(f.track, []).append(f)
        rows: list[dict[str, Any]] = []
        logits: dict[int, float] = {}
        for tid, fs in sorted(tracks.items()):
            z = np.sort([f.logit for f in fs])[::-1]
            logits[tid] = float(z[:max(1, (len(z) + 1) // 2)].mean())
            rows.append({"track": tid, "faces": len(fs),
                         "decides": still or len(fs) >= opts.min_track_faces,
                         "agreement": round(float(np.mean(z > 0)), 3),
                         "logit": round(logits[tid], 4),
                         "probability_fake": round(self._video_p(logits[tid]), 4),
                         "timeline": [{"frame": f.frame, "time": f.time,
                                       "p": round(self._video_p(f.logit), 4), "box": f.box}
                                      for f in fs]})
        deciding = [r["track"] for r in rows if r["decides"]]
        z_video = max(logits[t] for t in deciding or list(tracks))
        p = self._video_p(z_video)
        verdict = ("fake" if p >= opts.fake_threshold else
                   "real" if p <= opts.real_threshold else "uncertain")
        if not deciding:
            report["notes"].append(
                f"no face was seen in {opts.min_track_faces} or more sampled frames: too "
                "little to call this video fake or real")
            verdict = "uncertain"
        if not card.video_calibrated:
            report["notes"].append("this detector's probability is calibrated per face, not "
                                   "per video")
        report["tracks"] = rows
        report["logit"] = round(z_video, 4)  # before the video calibration
        report["probability_fake"] = round(p, 4)
        report["verdict"] = verdict

    def _video_p(self, z: float) -> float:
        return _sigmoid(self.card.video_a * z + self.card.video_b)

    def _explain(self, faces: list[FaceScore]) -> list[dict[str, Any]]:
        top = sorted(faces, key=lambda f: -f.logit)[:self.options.explain]
        out = []
        for f in top:
            heat = occlusion_map(self.detector, f.crop, self.options.grid)
            out.append({"frame": f.frame, "time": f.time, "track": f.track,
                        "probability_fake": round(self._video_p(f.logit), 4), "crop": f.crop,
                        "heat": heat})
        return out


def _resolved(opts: DetectOptions, card: Any) -> DetectOptions:
    """``opts`` with the thresholds it leaves open taken from the detector's card."""
    from dataclasses import replace

    thr = card.thresholds
    done = replace(opts, fake_threshold=thr.fake if opts.fake_threshold is None
                   else opts.fake_threshold,
                   real_threshold=thr.real if opts.real_threshold is None
                   else opts.real_threshold,
                   min_track_faces=thr.min_track_faces if opts.min_track_faces is None
                   else opts.min_track_faces)
    assert done.real_threshold is not None and done.fake_threshold is not None
    if done.real_threshold > done.fake_threshold:
        raise TwofaceError(None, f"the real threshold ({done.real_threshold}) must not exceed "
                         f"the fake threshold ({done.fake_threshold})")
    return done


def _sigmoid(z: float) -> float:
    return float(1 / (1 + np.exp(-np.clip(z, -60, 60))))


def occlusion_map(detector: Detector, crop: np.ndarray, grid: int = 8) -> np.ndarray:
    """``(grid, grid)`` drop of the fake logit when each cell of ``crop`` is blurred out.

    Blurring (not greying) a cell removes its fine detail, which is where blending seams and
    upsampling traces are, while keeping its colour, so the map points at evidence rather than
    at whatever region a grey square makes look odd. Positive: the cell supports "fake"."""
    import cv2
    import torch

    h, w = crop.shape[:2]
    soft = cv2.GaussianBlur(crop, (0, 0), sigmaX=max(1.0, w / 32))
    ys = np.linspace(0, h, grid + 1).round().astype(int)
    xs = np.linspace(0, w, grid + 1).round().astype(int)
    batch = [crop]
    for i in range(grid):
        for j in range(grid):
            x = crop.copy()
            x[ys[i]:ys[i + 1], xs[j]:xs[j + 1]] = soft[ys[i]:ys[i + 1], xs[j]:xs[j + 1]]
            batch.append(x)
    t = torch.from_numpy(np.stack(batch)).permute(0, 3, 1, 2).float().div(255)
    t = t.to(_device_of(detector))
    with torch.no_grad():
        z = torch.cat([detector.calibrated_logits(t[k:k + 65]) for k in range(0, len(t), 65)])
    return (z[0] - z[1:]).reshape(grid, grid).float().cpu().numpy()


def _device_of(detector: Detector) -> Any:
    """Where the detector's weights are: its inputs go there (cuda when asked for)."""
    import torch

    weight = next(detector.parameters(), None)
    return weight.device if weight is not None else torch.device("cpu")


def scan_files(paths: list[str | Path], detector: str | Path | None = None,
               options: DetectOptions | None = None, *, progress: Any = None
               ) -> list[dict[str, Any]]:
    """Check every file first (one bad file stops everything before any work), then scan.
    Folders are expanded to the media files in them."""
    from twoface.media import check_media, collect_media

    if not paths:
        raise MediaError(None, "no media files given")
    paths = list(collect_media(paths))
    for p in paths:
        check_media(p)  # headers only: torch and the models load after every file passed
    scanner = Scanner.from_pretrained(detector, options)
    reports = []
    for p in paths:
        reports.append(scanner.scan(p, progress))
    return reports
