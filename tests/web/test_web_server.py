"""A real web server process: it reports its IP, and the lesson controls work from the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest

from lab.config import LabConfig
from lab.web import fleet
from lab.web.page import IP_HEADER

LAB = str(Path(sys.executable).parent / "lab")
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with OPENER.open(request, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode()


def lab(config: LabConfig, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LAB_"))}
    env.update(LAB_STATE_DIR=str(config.state_dir), LAB_WEB_PORT=str(config.web_port))
    run = subprocess.run([LAB, *args], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    return run


@pytest.fixture
def one_server(lab_config):
    spec = fleet.ServerSpec("127.0.0.12", lab_config.web_port)
    fleet.start(lab_config, spec)
    yield spec
    fleet.stop(lab_config, spec)


def test_server_reports_its_loopback_ip(one_server):
    status, headers, body = get(one_server.url)
    assert status == 200
    assert headers[IP_HEADER] == "127.0.0.12"
    assert '<td id="private-ip">127.0.0.12</td>' in body
    assert get(one_server.url + "index.html")[0] == 200
    assert get(one_server.url + "health")[0] == 200
    assert get(one_server.url + "nope")[0] == 404


def test_server_reports_another_private_ip_and_instance(lab_config):
    spec = fleet.ServerSpec("127.0.0.13", lab_config.web_port, "10.0.1.23", "i-0abc", "web-a")
    fleet.start(lab_config, spec)
    try:
        status, headers, body = get(spec.url)
        assert headers[IP_HEADER] == "10.0.1.23"
        assert "i-0abc" in body and "web-a" in body
    finally:
        fleet.stop(lab_config, spec)


def test_fail_heal_slow_from_the_cli(lab_config, one_server):
    url = one_server.url
    lab(lab_config, "web", "fail", "127.0.0.12")
    assert get(url + "index.html")[0] == 503
    assert get(url + "health")[0] == 503
    assert get(url)[0] == 200  # the app still answers: only the health check fails
    lab(lab_config, "web", "fail", "127.0.0.12", "--all-pages")
    assert get(url)[0] == 503
    lab(lab_config, "web", "heal", "127.0.0.12")
    assert get(url + "index.html")[0] == 200 and get(url)[0] == 200
    lab(lab_config, "web", "slow", "127.0.0.12", "--ms", "300")
    start = time.perf_counter()
    assert get(url + "index.html")[0] == 200
    assert time.perf_counter() - start >= 0.3
    listing = lab(lab_config, "web", "list").stdout
    assert "127.0.0.12" in listing and "slow (+300 ms)" in listing
    lab(lab_config, "web", "slow", "127.0.0.12", "--ms", "0")
    start = time.perf_counter()
    get(url)
    assert time.perf_counter() - start < 0.2


def test_stop_refuses_connections_and_start_brings_it_back(lab_config, one_server):
    assert "stopped" in lab(lab_config, "web", "stop", "127.0.0.12").stdout
    with pytest.raises(urllib.error.URLError):
        OPENER.open(one_server.url, timeout=2)
    assert "stopped" in lab(lab_config, "web", "list").stdout
    assert "started" in lab(lab_config, "web", "start", "127.0.0.12").stdout
    assert "already running" in lab(lab_config, "web", "start", "127.0.0.12").stdout
    assert get(one_server.url)[1][IP_HEADER] == "127.0.0.12"


def test_control_refuses_requests_relayed_by_a_balancer(one_server):
    status, _, body = get(
        f"http://{one_server.ip}:{one_server.port}/_lab/control",
        {"X-Forwarded-For": "203.0.113.7"},
    )
    assert status == 403 and "loopback" in body


def test_server_binds_loopback_only(lab_config):
    with pytest.raises(ValueError):
        fleet.start(lab_config, fleet.ServerSpec("10.0.1.23", lab_config.web_port))


def test_a_server_whose_pid_file_is_gone_is_adopted(lab_config, one_server):
    """`lab reset` empties the state folder while servers run; `lab up` must not fail."""
    pid = fleet.control(one_server)["pid"]
    (lab_config.state_dir / "run" / f"{one_server.process_name}.pid").unlink()
    assert fleet.start(lab_config, one_server) == fleet.RUNNING
    assert fleet.stop(lab_config, one_server) is True
    with pytest.raises(ProcessLookupError):
        for _ in range(100):
            os.kill(pid, 0)
            time.sleep(0.05)


def test_a_server_of_another_lab_is_shared_not_taken(lab_config, one_server, tmp_path):
    other = replace(lab_config, state_dir=tmp_path / "other-lab")
    assert fleet.start(other, one_server) == fleet.SHARED
    assert fleet.stop(other, one_server) is False  # not the other lab's to stop
    assert fleet.control(one_server)["private_ip"] == "127.0.0.12"
