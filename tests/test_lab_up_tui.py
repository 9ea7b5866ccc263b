"""`make lab`'s `lab up --tui`: in a terminal, the lab starts and its TUI opens in the same
process; without one (CI, scripts) it only starts, as `lab up` does."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.ports import free_port
from tests.web.conftest import IPS

LAB = str(Path(sys.executable).parent / "lab")


@pytest.fixture
def lab_env(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LAB_"))}
    listener = free_port()
    env.update(
        LAB_STATE_DIR=str(tmp_path / "state"),
        LAB_PORT=str(free_port()),
        LAB_WEB_PORT=str(free_port(IPS)),
        LAB_LISTENER_PORT_OFFSET=str(listener - 80),
        LAB_NGINX_PORT=str(free_port()),
        LAB_PAGES_PORT=str(free_port()),
        LAB_INSTANCE_NETWORK=f"127.{listener >> 8}.{listener & 255}.0/24",
    )
    yield env
    subprocess.run([LAB, "down"], env=env, capture_output=True, timeout=60)


def test_without_a_terminal_it_only_starts(lab_env):
    run = subprocess.run(
        [LAB, "up", "--tui"],
        env=lab_env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith("local cloud running at ")
    assert lines[-1].startswith("load balancer URL: ")
    assert "lab is still running" not in run.stdout  # no TUI was opened
    status = subprocess.run([LAB, "status"], env=lab_env, capture_output=True, text=True)
    assert status.returncode == 0


def test_in_a_terminal_the_tui_opens_on_the_lab_and_q_leaves_it_running(lab_env):
    from bench.lab_start import QUEUE_ROW, Terminal

    term = Terminal()
    proc = term.spawn([LAB, "up", "--tui"], lab_env)
    try:
        deadline = time.monotonic() + 60
        while not term.shows(QUEUE_ROW) and time.monotonic() < deadline:
            assert term.read(0.05), bytes(term.raw[-2000:]).decode(errors="replace")
        assert term.shows(QUEUE_ROW), "\n".join(term.screen.display)
        assert b"load balancer URL: " in term.raw  # lab up's lines came first
        term.type(b"q")
        deadline = time.monotonic() + 20
        while proc.poll() is None and time.monotonic() < deadline:
            term.read(0.05)
        assert proc.returncode == 0
        assert b"the lab is still running at" in term.raw
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        term.close()
    status = subprocess.run([LAB, "status"], env=lab_env, capture_output=True, text=True)
    assert status.returncode == 0, status.stdout
