"""`lab up` as a student runs it: the emulator, three web servers and an ALB made through the
ELBv2 API; `lab lb hit` cycles through the three private IPs. Needs the emulator's ALB data
plane (emulator/elb/dataplane.py)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from tests.support.lab import isolated_env, lab_down, run_lab


@pytest.fixture
def lab_env(tmp_path: Path):
    env = isolated_env(tmp_path)
    yield env
    lab_down(env)


def lab(env: dict[str, str], *args: str) -> str:
    return run_lab(env, *args).stdout


def counts(output: str) -> dict[str, int]:
    return {ip: int(n) for ip, n in re.findall(r"^\s+(127\.0\.0\.\d+)\s+(\d+)\s", output, re.M)}


def test_lab_up_then_hit_cycles_through_the_three_servers(lab_env):
    out = lab(lab_env, "up")
    offset = int(lab_env["LAB_LISTENER_PORT_OFFSET"])
    assert f"load balancer URL: http://127.0.0.1:{80 + offset}/" in out
    assert "created" in out and "listener on port 80" in out

    deadline = time.monotonic() + 15  # a new target is healthy after one passing check
    while "initial" in (health := lab(lab_env, "lb", "health")) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert health.count("healthy") == 3, health

    hit = lab(lab_env, "lb", "hit", "-n", "12")
    assert counts(hit) == {"127.0.0.11": 4, "127.0.0.12": 4, "127.0.0.13": 4}, hit
    ips = re.findall(r"^\s+\d+\s+200\s+(127\.0\.0\.\d+)", hit, re.M)
    assert all(len(set(ips[i : i + 3])) == 3 for i in range(0, 12, 3))  # one of each per turn

    again = lab(lab_env, "up")
    assert "(reused)" in again and "already running" in again

    # nginx from the same target group, on its own port
    lab(lab_env, "lb", "nginx", "start")
    hit = lab(lab_env, "lb", "hit", "-n", "12", "--engine", "nginx")
    assert counts(hit) == {"127.0.0.11": 4, "127.0.0.12": 4, "127.0.0.13": 4}, hit

    down = lab(lab_env, "down")
    assert "web servers stopped: 127.0.0.11, 127.0.0.12, 127.0.0.13" in down
    assert "nginx stopped" in down and "local cloud stopped" in down
