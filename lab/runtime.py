"""Starting and stopping the lab's background processes. Each process has a pid file and a log in
the state folder, so ``lab down`` and ``lab status`` work from any shell."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from lab.config import ENV_PREFIX, LabConfig

# How often a start that is waited for is checked (a check is one local request or less).
POLL_SECONDS = 0.02


class LabError(RuntimeError):
    """Something the user can fix; the CLI prints it without a traceback."""


def die_with_parent(signal_name: str) -> list[str]:
    """A command prefix (util-linux's ``setpriv --pdeathsig``) by which the kernel sends the
    child ``signal_name`` when its parent dies, even by SIGKILL: a browser in its own session
    would outlive a killed worker, a worker a killed notebook kernel. No ``preexec_fn``: the
    callers have threads. Empty where setpriv is missing."""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", signal_name, "--"] if setpriv else []


def lab_command() -> list[str]:
    """The ``lab`` of this environment, for a child process (the venv's script, or the module
    when run from a checkout without one)."""
    script = Path(sys.executable).with_name("lab")
    return [str(script)] if script.exists() else [sys.executable, "-m", "lab"]


def child_env(config: LabConfig) -> dict[str, str]:
    """This process's environment with exactly ``config``'s ``LAB_*`` settings: a child (a
    worker the TUI or a checker starts) joins this lab, whatever its parent's variables say."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
    return {**env, **config.to_env()}


def pid_file(config: LabConfig, name: str) -> Path:
    return config.state_dir / "run" / f"{name}.pid"


def running_pid(config: LabConfig, name: str) -> int | None:
    path = pid_file(config, name)
    try:
        pid = int(path.read_text().strip())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None
    except PermissionError:
        return int(path.read_text().strip())
    return pid


def spawn(config: LabConfig, name: str, argv: list[str], env: dict[str, str] | None = None) -> int:
    """Start ``argv`` in the background in its own session, logging to ``logs/NAME.log``.
    ``env`` replaces the child's environment (default: this process's)."""
    config.log_dir.mkdir(parents=True, exist_ok=True)
    pid_file(config, name).parent.mkdir(parents=True, exist_ok=True)
    log = open(config.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen(
        argv,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        env=dict(os.environ) if env is None else env,
    )
    log.close()
    pid_file(config, name).write_text(str(proc.pid))
    return proc.pid


def start_and_wait(
    config: LabConfig,
    name: str,
    argv: list[str],
    ready: Callable[[], bool],
    *,
    what: str,
    wait: float,
    log: Path | None = None,
    env: dict[str, str] | None = None,
) -> int:
    """Start a background process and wait until ``ready()``; if it exits or ``wait`` seconds
    pass first, stop it and raise a ``LabError`` with the tail of its log (``log``, default
    ``logs/NAME.log``), so the user sees why it did not start."""
    pid = spawn(config, name, argv, env)
    wait_started(config, name, pid, ready, what=what, wait=wait, log=log)
    return pid


def wait_started(
    config: LabConfig,
    name: str,
    pid: int,
    ready: Callable[[], bool],
    *,
    what: str,
    wait: float,
    log: Path | None = None,
) -> None:
    """The waiting half of ``start_and_wait``, for a process ``spawn`` started."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if ready():
            return
        if running_pid(config, name) != pid or not alive(pid):
            break
        time.sleep(POLL_SECONDS)
    log = log or config.log_dir / f"{name}.log"
    try:
        tail = log.read_text(errors="replace").splitlines()[-15:]
    except OSError:
        tail = []
    stop(config, name)
    lines = "\n".join(tail) if tail else "(its log is empty)"
    raise LabError(f"{what} did not start; last lines of {log}:\n{lines}")


def stop(config: LabConfig, name: str, timeout: float = 10.0) -> bool:
    """SIGTERM, then SIGKILL after ``timeout``. True if something was running."""
    pid = running_pid(config, name)
    if pid is None:
        pid_file(config, name).unlink(missing_ok=True)
        return False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            break
        time.sleep(0.05)
    else:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    pid_file(config, name).unlink(missing_ok=True)
    return True


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie does not; a child of ours is reaped)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def emulator_health(config: LabConfig, timeout: float = 1.0) -> dict | None:
    try:
        with urllib.request.urlopen(f"{config.endpoint}/_lab/health", timeout=timeout) as resp:
            return json.loads(resp.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None


def emulator_ready(health: dict | None) -> bool:
    """Whether every service of the emulator runs: it answers ``/_lab/health`` as soon as it
    listens, while moto's services still say ``starting``."""
    if not health:
        return False
    return all(state == "running" for state in health.get("services", {}).values())


def launch_emulator(config: LabConfig) -> int | None:
    """Start the emulator unless it already answers, without waiting for it: the pid of the
    process started, or None. Its settings go on its command line; ``LAB_*`` variables are not
    passed down, so what it runs with is exactly this configuration."""
    if emulator_health(config) is not None:
        return None
    argv = [sys.executable, "-m", "emulator", *config.emulator_settings().to_argv()]
    env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
    return spawn(config, "emulator", argv, env)


def wait_for_emulator(config: LabConfig, pid: int | None, wait: float = 30.0) -> dict:
    """Until every service of the emulator runs (``pid``: the process ``launch_emulator``
    started, whose log says why when it does not); its health document."""
    health: dict | None = None

    def ready() -> bool:
        nonlocal health
        health = emulator_health(config, timeout=0.5)
        return emulator_ready(health)

    if pid is not None:
        wait_started(config, "emulator", pid, ready, what="the emulator", wait=wait)
    else:
        deadline = time.monotonic() + wait
        while not ready() and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
    if health is None:
        raise LabError("the emulator started but does not answer at " + config.endpoint)
    return health


def start_emulator(config: LabConfig, wait: float = 30.0) -> dict:
    """Start the emulator unless it already answers, and wait until it runs; its health
    document."""
    return wait_for_emulator(config, launch_emulator(config), wait)


def reset_state(config: LabConfig) -> None:
    if config.state_dir.exists():
        shutil.rmtree(config.state_dir)
