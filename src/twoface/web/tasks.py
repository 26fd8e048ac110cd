"""The jobs the web app runs: each calls the same library functions as its ``twoface``
command, with the same defaults, and writes into its own folder ``jobs/<id>/``.

:func:`check` validates a request's parameters (every file a workspace path, resolved by
:class:`~twoface.web.workspace.Workspace`) before a job is queued; :data:`RUNNERS` maps a
kind to the function the worker calls. Heavy imports (torch, dlib, PyAV) happen inside the
runners, so importing this module stays light. Everything a job makes is watermarked.
"""

from __future__ import annotations

import csv
import threading
from pathlib import Path
from typing import Any, cast

from twoface.errors import TwofaceError
from twoface.web.jobs import Context, Runner
from twoface.web.workspace import Workspace

# kind -> (file parameters, list-of-files parameters, numbers with their (min, max, default))
SPEC: dict[str, tuple[tuple[str, ...], tuple[str, ...], dict[str, tuple[float, float, float]]]]
SPEC = {
    "detect": (("file",), (), {"frames": (1, 256, 32), "extra": (0, 64, 16)}),
    "verify": (("file",), (), {}),
    "inspect": (("file",), (), {"max_frames": (0, 100000, 0)}),
    "extract": ((), ("files",), {"size": (32, 512, 256), "every": (1, 100, 1)}),
    "train_swap": (("a", "b"), (), {"steps": (1, 1000000, 200), "minutes": (0, 10000, 0),
                                    "size": (0, 256, 64), "batch": (1, 64, 4)}),
    "train_motion": ((), ("videos",), {"steps": (1, 1000000, 200), "minutes": (0, 10000, 0),
                                       "size": (0, 256, 64), "batch": (1, 64, 4)}),
    "train_gan": ((), ("facesets",), {"steps": (1, 1000000, 200), "minutes": (0, 10000, 0),
                                      "size": (0, 256, 32), "batch": (2, 64, 8)}),
    "swap": (("file", "model"), (), {}),
    "animate": (("source", "driving", "model"), (), {}),
    "reenact": (("target", "driver", "model"), (), {"expression_only": (0, 1, 0)}),
    "swap_oneshot": (("target", "model"), ("faces",), {}),
    "generate": (("model",), (), {"n": (1, 256, 8), "seed": (0, 2**31 - 1, 0)}),
}
MAKES_MEDIA = {"swap", "animate", "generate", "reenact", "swap_oneshot"}  # these take an
#                                                  optional consent record
OPTIONAL_FILES = {"inspect": ("against",)}  # kind -> workspace files it may be given
CHOICES = {"direction": ("a2b", "b2a"), "engine": ("motion", "warp")}
WITH_ENGINE = {"reenact", "swap_oneshot"}  # the warp engine needs no model
TRAINING = {"train_swap", "train_motion", "train_gan"}


def check(workspace: Workspace, kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` with defaults filled in, every file checked inside the workspace; a
    TwofaceError naming the first problem otherwise."""
    if kind not in SPEC:
        raise TwofaceError(None, f"unknown job kind {kind!r} (one of {', '.join(SPEC)})")
    files, lists, numbers = SPEC[kind]
    optional = OPTIONAL_FILES.get(kind, ()) + (("consent",) if kind in MAKES_MEDIA else ())
    extra = set(optional) | ({"direction", "engine"} if kind in MAKES_MEDIA else set())
    unknown = set(params) - set(files) - set(lists) - set(numbers) - extra
    if unknown:
        raise TwofaceError(None, f"{kind}: unknown parameter(s) {', '.join(sorted(unknown))}")
    out: dict[str, Any] = {}
    if kind in WITH_ENGINE:
        out["engine"] = params.get("engine", "motion")
        if out["engine"] not in CHOICES["engine"]:
            raise TwofaceError(None, f"{kind}: engine is motion or warp")
        if out["engine"] == "warp":  # no model needed
            files = tuple(f for f in files if f != "model")
            if params.get("model"):
                workspace.resolve(params["model"])
                out["model"] = params["model"]
    for name in files:
        if not isinstance(params.get(name), str):
            raise TwofaceError(None, f"{kind}: give {name!r}, a file in the workspace")
        workspace.resolve(params[name])
        out[name] = params[name]
    for name in lists:
        value = params.get(name)
        if not isinstance(value, list) or not value or not all(isinstance(v, str)
                                                               for v in value):
            raise TwofaceError(None, f"{kind}: give {name!r}, a list of workspace files")
        for v in value:
            workspace.resolve(v)
        out[name] = list(value)
    for name, (lo, hi, default) in numbers.items():
        value = params.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
            raise TwofaceError(None, f"{kind}: {name} must be a number in [{lo}, {hi}]")
        out[name] = value
    for name in optional:
        if params.get(name):
            workspace.resolve(str(params[name]))
            out[name] = params[name]
    if kind == "swap":
        direction = params.get("direction", "a2b")
        if direction not in CHOICES["direction"]:
            raise TwofaceError(None, "swap: direction is a2b or b2a")
        out["direction"] = direction
    return out


class JobProgress:
    """What the library's ``progress=`` arguments expect of a Rich progress bar (add_task,
    advance, update), turned into the job's progress; every call checks for a cancel."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.tasks: dict[int, list[Any]] = {}  # id -> [description, total, completed]

    def add_task(self, description: str, total: float | None = None, **fields: Any) -> int:
        task = len(self.tasks)
        self.tasks[task] = [description, total, float(fields.get("completed", 0))]
        self.ctx.log(description)
        self._report(task)
        return task

    def advance(self, task: int, advance: float = 1) -> None:
        self.tasks[task][2] += advance
        self._report(task)

    def update(self, task: int, **fields: Any) -> None:
        if "total" in fields:
            self.tasks[task][1] = fields["total"]
        if "completed" in fields:
            self.tasks[task][2] = float(fields["completed"])
        if "description" in fields:
            self.tasks[task][0] = fields["description"]
        self._report(task)

    def _report(self, task: int) -> None:
        description, total, done = self.tasks[task]
        fraction = done / total if total else 0.0
        self.ctx.progress(fraction, f"{description}: {int(done)}/{int(total or 0)}")


def _ws(ctx: Context) -> Workspace:
    return Workspace(ctx.folder.parents[1])


def _file(ctx: Context, name: str) -> Path:
    return _ws(ctx).resolve(ctx.job["params"][name])


def _rel(ctx: Context, path: Path) -> str:
    return _ws(ctx).relative(path)


def caveat(card: dict[str, Any]) -> str:
    """One line on what a detector-only verdict is worth, from the detector's card."""
    if not card.get("card"):
        return str(card.get("note", "this detector has no model card"))
    m = card.get("measured", {})
    fpr = m.get("video_fpr")
    said = (f"it called {fpr:.0%} of {m.get('video_reals', '?')} held-out real videos fake"
            if fpr is not None else "its false-positive rate was not measured")
    return f"detector verdicts are estimates, not proof ({said})"


def run_detect(ctx: Context) -> dict[str, Any]:
    from twoface.forensics.detect import DetectOptions, scan_files
    from twoface.forensics.detect_report import heat_overlay, public, write_report
    from twoface.media import write_image

    p = ctx.job["params"]
    opts = DetectOptions(frames=int(p["frames"]), extra=int(p["extra"]))
    ctx.progress(0.0, "loading the detector")
    rep = scan_files([_file(ctx, "file")], None, opts, progress=JobProgress(ctx))[0]
    page = write_report(rep, ctx.folder)
    faces = []
    for i, f in enumerate(rep.get("top_faces", [])):
        crop = ctx.folder / "faces" / f"face{i}.png"
        heat = ctx.folder / "faces" / f"heat{i}.png"
        write_image(crop, f["crop"])  # analysis pictures of the input, not generated media
        write_image(heat, heat_overlay(f["crop"], f["heat"]))
        faces.append({"frame": f["frame"], "time": f["time"], "track": f["track"],
                      "probability_fake": f["probability_fake"], "crop": _rel(ctx, crop),
                      "heat": _rel(ctx, heat)})
    card = rep["detector"]["card"]
    out = public(rep)
    out.update(file=ctx.job["params"]["file"], top_faces=faces, report_html=_rel(ctx, page),
               report_json=_rel(ctx, ctx.folder / "report.json"),
               caveats=[caveat(card), *card.get("blind_spots", [])] if not rep["certain"]
               else [])
    return out


def run_verify(ctx: Context) -> dict[str, Any]:
    from twoface.provenance.verify import verify_file

    ctx.progress(0.1, "reading the manifest and the watermark")
    return verify_file(_file(ctx, "file")) | {"file": ctx.job["params"]["file"]}


def run_inspect(ctx: Context) -> dict[str, Any]:
    from twoface.fileio import atomic_write_json
    from twoface.forensics.shallow import inspect
    from twoface.forensics.shallow_report import write_html

    p = ctx.job["params"]
    # With its source the clip is lined up with it (crop, mirror, speed, cuts, overlays).
    against = _file(ctx, "against") if p.get("against") else None
    ctx.progress(0.1, "decoding the file" + (" and its source" if against else ""))
    limit = int(p["max_frames"]) or None
    report = inspect(_file(ctx, "file"), max_frames=limit, against=against)
    data = report.to_dict() | {"file": p["file"]}
    if against:  # workspace paths in what the browser sees, not the server's
        data["against"] = p["against"]
        for f in data["findings"]:
            if f["evidence"].get("source") == str(against):
                f["evidence"]["source"] = p["against"]
    atomic_write_json(ctx.folder / "report.json", data)
    page = write_html(report, ctx.folder)
    return data | {"report_html": _rel(ctx, page)}


def run_extract(ctx: Context) -> dict[str, Any]:
    from twoface.data.extract import ExtractOptions, extract

    p = ctx.job["params"]
    out = ctx.folder / "faceset"
    opts = ExtractOptions(size=int(p["size"]), every=int(p["every"]))
    report = extract([_ws(ctx).resolve(f) for f in p["files"]], out, opts,
                     progress=cast(Any, JobProgress(ctx)))
    return {"faceset": _rel(ctx, out), "frames": report.frames, "faces": report.faces,
            "tracks": report.tracks, "warnings": list(report.warnings)}


def _sync_training(ctx: Context, model_dir: Path, steps: int) -> None:
    """Copy the loop's last logged step (from ``log.csv``) into the job's progress."""
    curve = read_loss(model_dir)
    if curve["step"]:
        step = int(curve["step"][-1])
        ctx.store.update(ctx.job["id"], progress=max(round(min(step / steps, 1.0), 4), 1e-4),
                         message=f"step {step}/{steps}, loss {curve['loss'][-1]:.4f}")


def _watch_training(ctx: Context, model_dir: Path, steps: int, done: threading.Event) -> None:
    """Sync the job's progress every second while the loop runs."""
    while not done.wait(1.0):
        _sync_training(ctx, model_dir, steps)


def read_loss(model_dir: Path) -> dict[str, list[float]]:
    """``{"step": [...], "loss": [...]}`` from a model folder's ``log.csv`` (empty lists
    while there is none)."""
    steps: list[float] = []
    losses: list[float] = []
    log = model_dir / "log.csv"
    if log.is_file():
        with open(log, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                try:
                    steps.append(int(row["step"]))
                    losses.append(float(row["loss"]))
                except (KeyError, TypeError, ValueError):
                    continue  # a line being written
    return {"step": steps, "loss": losses}


def _train(ctx: Context, job: Any) -> dict[str, Any]:
    from twoface.train.loop import TrainOptions, TrainResult

    p = ctx.job["params"]
    model_dir = ctx.folder / "model"
    steps = int(p["steps"])
    resume = (model_dir / "state.safetensors").is_file()  # a resumed job goes on from there
    opts = TrainOptions(steps=steps, minutes=float(p["minutes"]) or None, progress=False,
                        preview_every=max(1, min(50, steps // 4)), save_every=max(1, steps // 4),
                        log_every=max(1, min(10, steps // 40)),  # enough points for a curve
                        resume=resume, description=ctx.job["kind"])
    ctx.log(("resuming" if resume else "training") + f" towards step {steps}")
    done = threading.Event()
    watcher = threading.Thread(target=_watch_training, args=(ctx, model_dir, steps, done),
                               daemon=True)
    watcher.start()
    try:
        result = job(model_dir, opts, int(p["size"]) or None, int(p["batch"]))
    finally:
        done.set()
        watcher.join()
        _sync_training(ctx, model_dir, steps)  # a stop between two polls still shows its step
    out: dict[str, Any] = {"model": _rel(ctx, model_dir)}
    if isinstance(result, TrainResult):
        out.update(step=result.step, seconds=round(result.seconds, 1),
                   loss=result.last.get("loss"))
    return out


def run_train_swap(ctx: Context) -> dict[str, Any]:
    from twoface.train.swap import train_swap

    a, b = _file(ctx, "a"), _file(ctx, "b")
    return _train(ctx, lambda out, opts, size, batch: train_swap(
        a, b, out, size=size, batch=batch, options=opts))


def run_train_motion(ctx: Context) -> dict[str, Any]:
    from twoface.data.clips import make_clips
    from twoface.train.motion import train_motion

    ctx.progress(0.0, "cutting face clips")
    clips = ctx.folder / "clips"
    made = make_clips([_ws(ctx).resolve(v) for v in ctx.job["params"]["videos"]], clips,
                      progress=JobProgress(ctx))
    if not any(doc is not None for _, doc, _ in made):
        raise TwofaceError(None, "no clip made: no face found in any video")
    return _train(ctx, lambda out, opts, size, batch: train_motion(
        [clips], out, size=size, batch=batch, options=opts))


def run_train_gan(ctx: Context) -> dict[str, Any]:
    from twoface.train.gan import train_gan

    sets = [_ws(ctx).resolve(f) for f in ctx.job["params"]["facesets"]]
    return _train(ctx, lambda out, opts, size, batch: train_gan(
        sets, out, size=size, batch=batch, options=opts))


def _consent(ctx: Context) -> Path | None:
    value = ctx.job["params"].get("consent")
    return _ws(ctx).resolve(value) if value else None


def run_swap(ctx: Context) -> dict[str, Any]:
    from twoface.apply.swap import SwapOptions, SwapPipeline

    source = _file(ctx, "file")
    ctx.progress(0.0, "loading the swap model")
    pipe = SwapPipeline.from_pretrained(_file(ctx, "model"))
    output = ctx.folder / f"swapped{source.suffix.lower()}"
    ctx.progress(0.1, "swapping faces")
    report = pipe(source, output, SwapOptions(direction=ctx.job["params"]["direction"],
                                              consent=_consent(ctx)))
    return {"output": _rel(ctx, report.output), "frames": report.frames, "faces": report.faces,
            "consent": ctx.job["params"].get("consent")}


def run_animate(ctx: Context) -> dict[str, Any]:
    from twoface.apply.animate import AnimateOptions, AnimatePipeline

    ctx.progress(0.0, "loading the motion model")
    pipe = AnimatePipeline.from_pretrained(_file(ctx, "model"))
    ctx.progress(0.1, "animating")
    report = pipe(_file(ctx, "source"), _file(ctx, "driving"), ctx.folder / "animated.mp4",
                  AnimateOptions(consent=_consent(ctx)))
    return {"output": _rel(ctx, report.output), "frames": report.frames,
            "notes": list(report.notes), "consent": ctx.job["params"].get("consent")}


def run_reenact(ctx: Context) -> dict[str, Any]:
    from twoface.apply.reenact import ReenactOptions, ReenactPipeline

    p = ctx.job["params"]
    ctx.progress(0.0, "loading the motion model")
    pipe = (ReenactPipeline.warp_only() if p["engine"] == "warp"
            else ReenactPipeline.from_pretrained(_file(ctx, "model")))
    ctx.progress(0.1, "reenacting")
    opts = ReenactOptions(engine=p["engine"], expression_only=bool(p["expression_only"]),
                          consent=_consent(ctx))
    report = pipe(_file(ctx, "target"), _file(ctx, "driver"), ctx.folder / "reenacted.mp4",
                  opts)
    return {"output": _rel(ctx, report.output), "frames": report.frames,
            "reenacted_frames": report.reenacted_frames, "notes": list(report.notes),
            "consent": ctx.job["params"].get("consent")}


def run_swap_oneshot(ctx: Context) -> dict[str, Any]:
    from twoface.apply.oneshot import OneShotOptions, OneShotSwapPipeline

    p = ctx.job["params"]
    ctx.progress(0.0, "loading the motion model")
    pipe = (OneShotSwapPipeline.warp_only() if p["engine"] == "warp"
            else OneShotSwapPipeline.from_pretrained(_file(ctx, "model")))
    ctx.progress(0.1, "swapping from photos")
    photos = [_ws(ctx).resolve(f) for f in p["faces"]]
    report = pipe(_file(ctx, "target"), photos, ctx.folder / "swapped.mp4",
                  OneShotOptions(engine=p["engine"], consent=_consent(ctx)))
    return {"output": _rel(ctx, report.output), "frames": report.frames,
            "swapped_frames": report.swapped_frames, "photo_frames": report.photo_frames,
            "consent": ctx.job["params"].get("consent")}


def run_generate(ctx: Context) -> dict[str, Any]:
    from twoface.apply.generate import GanPipeline

    p = ctx.job["params"]
    ctx.progress(0.0, "loading the GAN")
    pipe = GanPipeline.from_pretrained(_file(ctx, "model"))
    ctx.progress(0.1, "drawing faces")
    out = ctx.folder / "faces"
    report = pipe(out, int(p["n"]), seed=int(p["seed"]), grid=ctx.folder / "grid.png",
                  progress=False, consent=_consent(ctx))
    return {"files": [_rel(ctx, f) for f in report.files],
            "grid": _rel(ctx, report.grid) if report.grid else None,
            "consent": p.get("consent")}


RUNNERS: dict[str, Runner] = {
    "detect": run_detect, "verify": run_verify, "inspect": run_inspect,
    "extract": run_extract, "train_swap": run_train_swap, "train_motion": run_train_motion,
    "train_gan": run_train_gan, "swap": run_swap, "animate": run_animate,
    "reenact": run_reenact, "swap_oneshot": run_swap_oneshot,
    "generate": run_generate}
