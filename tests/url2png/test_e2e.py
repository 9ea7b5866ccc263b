"""Section 15.2 end to end, as a student runs it: `lab worker` in one process, `lab url2png
submit --wait` in another, the PNG read back from the website endpoint with the page's real
pixels, the status, and the gallery in headless Chromium."""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import time
from urllib.parse import urlsplit

from lab.pages.server import SAMPLE_PAGES
from tests.support.browser import dump_dom
from tests.support.png import close_to, decode
from tests.url2png.conftest import LAB, LabCloud, chromium_children_of, needs_chromium

pytestmark = needs_chromium


def website_get(url: str, port: int) -> tuple[int, str, bytes]:
    """GET as a browser would, Host header and all; Python may not resolve *.localhost."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", parts.path or "/", headers={"Host": parts.netloc})
        reply = conn.getresponse()
        return reply.status, reply.headers.get("Content-Type", ""), reply.read()
    finally:
        conn.close()


def submitted(output: str) -> list[tuple[str, str]]:
    """(job id, PNG URL) from the producer's "PNG will be soon available at ..." lines."""
    urls = re.findall(r"PNG will be soon available at (\S+)", output)
    return [(u.rsplit("/", 1)[1].removesuffix(".png"), u) for u in urls]


def test_submit_render_status_and_gallery(cloud: LabCloud, pages, workers) -> None:
    worker = cloud.worker("--wait-time", "1", "--render-timeout", "10")
    workers.append(worker)
    worker.wait_ready()
    sunrise, ocean = SAMPLE_PAGES["sunrise"], SAMPLE_PAGES["ocean"]

    first = cloud.lab("url2png", "submit", "--wait", "--timeout", "60", pages.url(sunrise.path))
    assert first.returncode == 0, first.stdout + first.stderr
    [(job_id, png_url)] = submitted(first.stdout)
    assert (
        png_url
        == f"http://{cloud.resources.bucket}.s3-website.localhost:{cloud.config.port}/{job_id}.png"
    )
    assert f"{job_id}  done: {png_url}" in first.stdout

    # the PNG on the website endpoint, with the page's real pixels
    status, content_type, body = website_get(png_url, cloud.config.port)
    assert (status, content_type) == (200, "image/png")
    image = decode(body)
    assert (image.width, image.height) == (1280, 800)
    assert close_to(image.pixel(1200, 20), sunrise.band)
    assert close_to(image.pixel(1000, 700), sunrise.block)

    # status, from the bucket, for humans and for notebooks
    said = cloud.lab("url2png", "status", job_id)
    assert said.returncode == 0 and said.stdout.strip() == f"done: {png_url}"
    data = json.loads(cloud.lab("url2png", "status", "--json", job_id).stdout)
    assert data["state"] == "done" and data["png_url"] == png_url and data["seq"] == 1
    assert data["url"] == pages.url(sunrise.path) and data["duplicates"] == 0
    assert cloud.lab("url2png", "status", "no-such-job").returncode == 2

    second = cloud.lab("url2png", "submit", "--wait", "--timeout", "60", pages.url(ocean.path))
    assert second.returncode == 0, second.stdout + second.stderr
    [(second_id, _)] = submitted(second.stdout)

    # the gallery, in a real browser, from the website endpoint: newest first, images loaded
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        index = cloud.s3.get_object(Bucket=cloud.resources.bucket, Key="index.html")
        if f"{second_id}.png".encode() in index["Body"].read():
            break
        time.sleep(0.3)
    dom = dump_dom(cloud.resources.website + "/", str(cloud.tmp / "profile"))
    shots = re.findall(r'<li class="shot" id="job-([^"]+)">.*?data-state="(\w+)"', dom)
    assert shots == [(second_id, "loaded"), (job_id, "loaded")], dom[:3000]
    assert dom.index(pages.url(ocean.path)) < dom.index(pages.url(sunrise.path))

    # a clean stop: jobs finished, browser gone
    assert worker.stop() == 0
    assert "stopped: worker w handled done 2" in worker.text()
    assert chromium_children_of(worker.pid) == []


def test_submit_refuses_what_no_worker_renders_unless_told(cloud: LabCloud) -> None:
    refused = cloud.lab("url2png", "submit", "file:///etc/passwd")
    assert refused.returncode == 1 and "only http and https" in refused.stderr
    forced = cloud.lab("url2png", "submit", "--no-check", "file:///etc/passwd")
    assert forced.returncode == 0
    [(job_id, _)] = submitted(forced.stdout)
    assert cloud.lab("url2png", "status", job_id).stdout.startswith("queued")


def test_worker_without_a_browser_or_queue_says_why(cloud: LabCloud) -> None:
    env = {**cloud.env, "LAB_CHROMIUM": "/nonexistent/chromium"}
    run = subprocess.run([LAB, "worker"], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and "apt-get install chromium" in run.stderr
    env = {**cloud.env, "LAB_URL2PNG_QUEUE": "never-made"}
    run = subprocess.run([LAB, "worker"], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and "lab up" in run.stderr
