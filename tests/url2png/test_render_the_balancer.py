"""Section 15.1 meets 15.2: the URL2PNG workers render the load balancer's URL, and each picture
shows which web server answered (its private IP, and the colour band each server's page has)."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest

from lab import aws
from lab.config import LabConfig
from lab.web.page import server_colour
from tests.support.lab import LAB, isolated_env, lab_down, run_lab
from tests.support.png import decode
from tests.web.conftest import IPS

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs chromium"),
]  # real Chromium rendering the balancer's pages


def rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def lab(env: dict[str, str], *args: str) -> str:
    return run_lab(env, *args, timeout=180).stdout


def test_worker_pictures_of_the_balancer_show_which_server_answered(tmp_path: Path):
    env = isolated_env(tmp_path)
    worker = None
    try:
        lab(env, "up")
        deadline = time.monotonic() + 20
        while "initial" in lab(env, "lb", "health") and time.monotonic() < deadline:
            time.sleep(0.5)
        url = lab(env, "lb", "url").strip()
        worker = subprocess.Popen(
            [LAB, "worker", "--parallel", "1", "--no-gallery"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        out = lab(env, "url2png", "submit", "--wait", "--timeout", "90", *[url] * 6)
        ids = re.findall(r"PNG will be soon available at \S+/([0-9a-f-]+)\.png", out)
        assert len(ids) == 6, out
        config = LabConfig.from_env(env)
        s3 = aws.client("s3", config)
        bands = []
        for job in ids:
            data = s3.get_object(Bucket=config.url2png_bucket, Key=f"{job}.png")["Body"].read()
            bands.append(decode(data).pixel(100, 20))
        servers = {rgb(server_colour(ip)): ip for ip in IPS}
        seen = [servers.get(band) for band in bands]
        assert None not in seen, f"a picture whose band is no server's colour: {bands}"
        assert len(set(seen)) >= 2, f"every picture came from one server: {seen}"
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(30)
        lab_down(env)
