"""End to end in headless Chromium (Debian's ``chromium`` + ``chromium-driver``, driven by
Selenium): each page used as a person would, its result checked, a screenshot saved to
``runs/web_screens/`` (git-ignored). Skipped, saying why, without the browser or driver
(``make test`` tries ``apt-get install chromium chromium-driver`` first)."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from webtools import wait_job

SCREENS = Path(__file__).resolve().parents[2] / "runs" / "web_screens"
BROWSERS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The app served by uvicorn in a thread on a free local port."""
    import uvicorn

    from twoface.web import create_app

    ws = tmp_path_factory.mktemp("web") / "ws"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(create_app(ws), host="127.0.0.1", port=port,
                                        log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    end = time.monotonic() + 30
    while not srv.started and time.monotonic() < end:
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}", ws
    srv.should_exit = True
    thread.join(30)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    binary = next((b for b in BROWSERS if Path(b).is_file()), None)
    driver_path = shutil.which("chromedriver") or (
        "/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").is_file() else None)
    if binary is None or driver_path is None:
        pytest.skip("headless browser tests need Debian's chromium and chromium-driver "
                    f"(browser: {binary or 'missing'}, chromedriver: "
                    f"{driver_path or 'missing'}); `make test` tries to apt-get them")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,900"):
        options.add_argument(arg)
    try:
        driver = webdriver.Chrome(service=Service(driver_path), options=options)
    except Exception as exc:  # a browser that cannot start here (sandbox, versions)
        pytest.skip(f"chromium did not start: {str(exc).splitlines()[0]}")
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _wait(driver: Any, css: str, timeout: float = 240.0) -> Any:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    def found(d: Any) -> Any:
        errors = d.find_elements(By.CSS_SELECTOR, "#job-error, #job-status .error")
        if errors:
            raise AssertionError(f"the page shows an error: {errors[0].text}")
        return ec.visibility_of_element_located((By.CSS_SELECTOR, css))(d)

    return WebDriverWait(driver, timeout, poll_frequency=0.3).until(found)


def _shoot(driver: Any, name: str) -> Path:
    """A full-page screenshot (the window grown to the page's height)."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, min(max(int(height) + 140, 700), 4000))
    time.sleep(0.6)  # let the resize and the progress bar's transition settle
    path = SCREENS / f"{name}.png"
    driver.save_screenshot(str(path))
    driver.set_window_size(1280, 900)
    assert path.stat().st_size > 10_000
    return path


def _drop(driver: Any, base: str, page: str, file: Path) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{base}/{page}")
    driver.find_element(By.ID, "file").send_keys(str(file))


def test_detect_page_shows_verdict_timeline_faces_provenance_caveats(
        server: tuple[str, Path], browser: Any, talking_video: Path) -> None:
    from selenium.webdriver.common.by import By

    base, _ = server
    _drop(browser, base, "detect", talking_video)
    verdict = _wait(browser, "#verdict").text
    assert verdict.split(" ")[0] in ("FAKE", "REAL", "UNCERTAIN") and "p(fake) =" in verdict
    assert "estimate, not proof" in verdict
    assert browser.find_elements(By.CSS_SELECTOR, "#timeline svg path")
    images = browser.find_elements(By.CSS_SELECTOR, "#faces img")
    assert len(images) >= 2
    time.sleep(0.5)
    assert all(browser.execute_script("return arguments[0].naturalWidth", i) > 0
               for i in images)
    assert "absent" in browser.find_element(By.ID, "provenance").text
    assert "estimates, not proof" in browser.find_element(By.ID, "caveats").text
    _shoot(browser, "detect")


def test_verify_page_shows_manifest_watermark_and_consent(
        server: tuple[str, Path], browser: Any, face_image: Any, tmp_path: Path) -> None:
    import hashlib

    from selenium.webdriver.common.by import By

    from twoface.provenance.mark import Provenance, write_marked_image

    consent = tmp_path / "consent.txt"
    consent.write_text("The person shown agreed to this test.\n")
    marked = tmp_path / "marked.png"
    write_marked_image(marked, face_image, Provenance.from_files(
        "swap", [], consent=consent))
    base, _ = server
    _drop(browser, base, "verify", marked)
    assert "made by twoface" in _wait(browser, "#verdict").text
    text = browser.find_element(By.TAG_NAME, "main").text
    assert hashlib.sha256(consent.read_bytes()).hexdigest() in text
    assert "payload twoface swap" in text  # the watermark's payload
    _shoot(browser, "verify")


def test_inspect_page_shows_findings_on_a_timeline(
        server: tuple[str, Path], browser: Any, talking_video: Path) -> None:
    from selenium.webdriver.common.by import By

    base, _ = server
    _drop(browser, base, "inspect", talking_video)
    assert "40 frames" in _wait(browser, "#summary").text
    assert browser.find_elements(By.CSS_SELECTOR, "#findings-timeline rect")
    assert "reencode" in browser.find_element(By.TAG_NAME, "table").text
    # Red is for confident edits only: the re-encode of a synthetic clip is not one.
    fills = [r.get_attribute("fill") for r in browser.find_elements(
        By.CSS_SELECTOR, "#findings-timeline rect")]
    assert "none" not in fills and all(f.startswith("rgba(") for f in fills)
    _shoot(browser, "inspect")


def test_inspect_page_compares_with_a_dropped_source(
        server: tuple[str, Path], browser: Any, talking_video: Path) -> None:
    from selenium.webdriver.common.by import By

    base, _ = server
    browser.get(f"{base}/inspect")
    browser.find_element(By.ID, "file-source").send_keys(str(talking_video))
    _wait(browser, "#source-clear")
    assert "Source: " in browser.find_element(By.ID, "source-status").text
    browser.find_element(By.ID, "file").send_keys(str(talking_video))
    assert "Compared with its source" in _wait(browser, "#source-match").text
    context = [r for r in browser.find_elements(By.CSS_SELECTOR, "#findings-timeline rect")
               if r.get_attribute("fill").startswith("rgba(189,195,199")]
    assert context  # the source match is context: a grey lane, never red
    _shoot(browser, "inspect_against")


def test_make_page_trains_with_live_loss_curve_and_preview(
        server: tuple[str, Path], browser: Any, talking_video: Path) -> None:
    import httpx
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    base, _ = server
    with httpx.Client(base_url=base, timeout=60) as client:
        path = client.post("/api/uploads?name=person.mp4",
                           content=talking_video.read_bytes()).json()["path"]
        job = client.post("/api/jobs", json={"kind": "extract", "params": {
            "files": [path], "size": 64}}).json()
        faceset = wait_job(client, job)["result"]["faceset"]
    browser.get(f"{base}/make")
    _wait(browser, "#run-extract")
    browser.find_element(By.CSS_SELECTOR, "details[data-kind=train_gan] summary").click()
    Select(browser.find_element(By.ID, "train_gan-facesets")).select_by_value(faceset)
    for name, value in (("steps", "20"), ("size", "32"), ("batch", "4")):
        box = browser.find_element(By.ID, f"train_gan-{name}")
        box.clear()
        box.send_keys(value)
    browser.find_element(By.ID, "run-train_gan").click()
    _wait(browser, "#training svg path")  # the loss curve, drawn while it trains
    _wait(browser, "#made")  # finished
    assert "done" in browser.find_element(By.ID, "job-status").text
    preview = _wait(browser, "#preview")
    time.sleep(0.5)
    assert browser.execute_script("return arguments[0].naturalWidth", preview) > 0
    _shoot(browser, "make")


def _click_in_row(driver: Any, job_id: str, label: str, then: str,
                  timeout: float = 120.0) -> None:
    """Click ``label`` in the job's row (the table redraws every few seconds, so look the
    button up afresh each try), until the row's status reads ``then``."""
    script = ("const row = document.querySelector(`tr[data-id='${arguments[0]}']`);"
              "if (!row) return null;"
              "const b = [...row.querySelectorAll('button')].find(x => x.textContent === "
              "arguments[1]); if (b && arguments[2]) b.click();"
              "return row.children[2].textContent;")
    clicked = False
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        status = driver.execute_script(script, job_id, label, not clicked)
        clicked = clicked or status is not None
        if status == then:
            return
        time.sleep(0.5)
    raise AssertionError(f"{label} on {job_id}: the row never read {then}")


def test_jobs_page_lists_cancels_and_resumes(server: tuple[str, Path], browser: Any) -> None:
    import httpx
    from selenium.webdriver.common.by import By

    base, _ = server
    with httpx.Client(base_url=base, timeout=60) as client:
        faceset = client.get("/api/choices").json()["facesets"][0]
        job = client.post("/api/jobs", json={"kind": "train_gan", "params": {
            "facesets": [faceset], "steps": 100000, "size": 32, "batch": 2}}).json()
    browser.get(f"{base}/jobs")
    _click_in_row(browser, job["id"], "cancel", "cancelled")  # cancel while it runs
    _click_in_row(browser, job["id"], "resume", "running")  # resume: it goes on
    _click_in_row(browser, job["id"], "cancel", "cancelled")
    browser.refresh()
    table = _wait(browser, "#jobs-table")
    rows = table.find_elements(By.CSS_SELECTOR, "tr[data-id]")
    kinds = {r.find_elements(By.TAG_NAME, "td")[1].text for r in rows}
    assert {"detect", "verify", "inspect", "extract", "train_gan"} <= kinds
    assert "done" in table.text and "cancelled" in table.text
    row = table.find_element(By.CSS_SELECTOR, f"tr[data-id='{job['id']}']")
    assert "resume" in row.text and "delete" in row.text
    _shoot(browser, "jobs")
