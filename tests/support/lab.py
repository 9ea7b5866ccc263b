"""A whole lab of a test's own (`lab up` and the other commands as subprocesses): its state
folder, emulator port, web-server port and listener ports chosen free, so nothing collides
with a lab someone is running, and no AWS_ or LAB_ variable of the caller leaks in."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.ports import free_port

LAB = str(Path(sys.executable).parent / "lab")
WEB_IPS = ("127.0.0.11", "127.0.0.12", "127.0.0.13")


def isolated_env(tmp_path: Path, balancer: bool = True) -> dict[str, str]:
    """The environment of a lab in ``tmp_path``; ``balancer``: with ports of its own for the
    web servers, the listeners (80 -> a free local port) and nginx, and 5-second health
    checks, so targets turn healthy quickly."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LAB_"))}
    env.update(
        LAB_STATE_DIR=str(tmp_path / "state"),
        LAB_PORT=str(free_port()),
        LAB_PAGES_PORT=str(free_port()),  # the sample pages `lab up` serves
    )
    if balancer:
        env.update(
            LAB_WEB_PORT=str(free_port(WEB_IPS)),
            LAB_LISTENER_PORT_OFFSET=str(free_port() - 80),
            LAB_HEALTH_CHECK_INTERVAL="5",
            LAB_NGINX_PORT=str(free_port()),
        )
    return env


def run_lab(
    env: dict[str, str],
    *args: str,
    check: bool = True,
    timeout: float = 120,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """``lab ARGS`` (in ``cwd``); with ``check``, its failure fails the test with what it
    printed."""
    done = subprocess.run(
        [LAB, *args], env=env, capture_output=True, text=True, timeout=timeout, cwd=cwd
    )
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def lab_down(env: dict[str, str]) -> None:
    subprocess.run([LAB, "down"], env=env, capture_output=True, timeout=60)
