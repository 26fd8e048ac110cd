"""Web app benchmark: page load time and verdict latency (upload → verdict) for a 10 s 720p
video, through the real server (uvicorn in a thread, the default detector).

Usage: ``python bench/web.py [--runs N]``. Writes the "Web app" section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import httpx
import numpy as np
import uvicorn

from twoface.media import write_video
from twoface.synth import Identity, render_sequence
from twoface.web import create_app

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine, write_section

PAGES = ("detect", "verify", "inspect", "make", "jobs")


def video_720p(path: Path, seconds: float = 10.0, fps: int = 25) -> Path:
    """A synthetic person talking, rendered square and placed in a 1280×720 frame."""
    renders = render_sequence(Identity.random(11), round(seconds * fps), fps=fps, size=360,
                              seed=11)
    frames = []
    for r in renders:
        face = cv2.resize(r.image, (720, 720), interpolation=cv2.INTER_CUBIC)
        canvas = np.empty((720, 1280, 3), np.uint8)
        canvas[:] = face[:, :1].mean(axis=(0, 1)).astype(np.uint8)  # the backdrop's colour
        canvas[:, 280:1000] = face
        frames.append(canvas)
    return write_video(path, frames, fps=fps, crf=23)


def serve(workspace: Path) -> tuple[uvicorn.Server, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(create_app(workspace), host="127.0.0.1", port=port,
                                        log_level="warning"))
    threading.Thread(target=srv.run, daemon=True).start()
    while not srv.started:
        time.sleep(0.05)
    return srv, f"http://127.0.0.1:{port}"


def page_times(base: str, n: int = 20) -> dict[str, float]:
    """Median ms of ``n`` GETs of each page plus its two scripts and stylesheet."""
    out = {}
    with httpx.Client(base_url=base) as client:
        for page in PAGES:
            times = []
            for _ in range(n):
                t0 = time.perf_counter()
                for url in (f"/{page}", "/static/style.css", "/static/app.js",
                            "/static/pages.js"):
                    client.get(url).raise_for_status()
                times.append((time.perf_counter() - t0) * 1000)
            out[page] = statistics.median(times)
    return out


def browser_times(base: str, n: int = 5) -> dict[str, float] | None:
    """Median ms from navigation start to the load event in headless Chromium."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
            options.add_argument(arg)
        driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")),
                                  options=options)
    except Exception as exc:  # no browser here: the HTTP numbers stand alone
        print(f"no browser timing: {exc}")
        return None
    out = {}
    try:
        for page in PAGES:
            times = []
            for _ in range(n):
                driver.get(f"{base}/{page}")
                times.append(driver.execute_script(
                    "const t = performance.getEntriesByType('navigation')[0];"
                    "return t.loadEventEnd - t.startTime;"))
            out[page] = statistics.median(times)
    finally:
        driver.quit()
    return out


def verdict_latency(base: str, video: Path, runs: int) -> list[dict[str, float]]:
    """Seconds from the upload's first byte to the finished detect job, per run."""
    rows = []
    with httpx.Client(base_url=base, timeout=600) as client:
        data = video.read_bytes()
        for _ in range(runs):
            t0 = time.perf_counter()
            up = client.post("/api/uploads?name=clip720.mp4", content=data).json()
            t_up = time.perf_counter() - t0
            job = client.post("/api/jobs", json={"kind": "detect",
                                                 "params": {"file": up["path"]}}).json()
            while job["status"] in ("queued", "running"):
                time.sleep(0.1)
                job = client.get(f"/api/jobs/{job['id']}").json()
            total = time.perf_counter() - t0
            assert job["status"] == "done", job
            rows.append({"upload": t_up, "total": total, "scan": job["result"]["seconds"],
                         "verdict": job["result"]["verdict"],
                         "p": job["result"]["probability_fake"]})
            print(f"verdict {rows[-1]['verdict']} in {total:.1f} s (upload {t_up:.2f} s)")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        video = video_720p(Path(tmp) / "clip720.mp4")
        size_mb = video.stat().st_size / 1e6
        srv, base = serve(Path(tmp) / "ws")
        try:
            http = page_times(base)
            chrome = browser_times(base)
            runs = verdict_latency(base, video, args.runs)
        finally:
            srv.should_exit = True
    lines = ["`python bench/web.py`: the app served by uvicorn in a thread on 127.0.0.1, "
             f"measured from the same machine: {machine()}. The machine's 2 cores were shared "
             "with a long training job while this ran, so every number is an upper bound.", "",
             "| page | HTTP: page + CSS + 2 scripts, median of 20 (ms) | headless Chromium: "
             "navigation to load event, median of 5 (ms) |", "|---|---|---|"]
    for page in PAGES:
        lines.append(f"| {page} | {http[page]:.1f} | "
                     + (f"{chrome[page]:.0f} |" if chrome else "n/a |"))
    lines += ["", f"Verdict latency for a 10 s 1280×720 25 fps synthetic video ({size_mb:.1f} MB,"
              " H.264): upload through the API, the detect job (the shipped default detector, "
              "`twoface detect`'s defaults: 32 frames + 16 more near high scores), until the "
              "job row says done.", "",
              "| run | upload (s) | scan, as the report says (s) | upload → verdict (s) | "
              "verdict |", "|---|---|---|---|---|"]
    for i, r in enumerate(runs, 1):
        lines.append(f"| {i}{' (first: loads torch and the models)' if i == 1 else ''} | "
                     f"{r['upload']:.2f} | {r['scan']:.1f} | {r['total']:.1f} | "
                     f"{r['verdict']} (p = {r['p']:.2f}) |")
    body = "\n".join(lines)
    print(body)
    write_section("Web app", body)


if __name__ == "__main__":
    main()
