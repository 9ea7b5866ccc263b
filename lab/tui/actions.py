"""What the TUI's keys do to the lab, apart from the widgets: each returns the sentence the
student sees, or raises ``LabError`` with one. They run on the app's worker threads (they wait
on the network or on processes), and reach the cloud only through AWS APIs and the lab's
documented endpoints (``lab chaos``, ``lab clock``), like the ``lab`` commands they mirror.

Workers started here are ordinary ``lab worker`` processes in the background (their log in
the state folder's ``logs/``), so a SIGKILL from the TUI does to them what it does to any
worker: their message comes back when its visibility timeout runs out. On the compose target
the workers and web servers are containers: the same keys kill a worker container and fail,
slow, heal, stop or start a web container (``lab.targets.compose``).
"""

from __future__ import annotations

import os
import signal
import socket
from dataclasses import dataclass
from pathlib import Path

from lab import aws, runtime
from lab.chaos_cli import set_chaos
from lab.config import LabConfig
from lab.tui.model import WorkerView
from lab.web import fleet

PRESETS = ("classroom", "realistic", "duplicates", "reordering")  # emulator/sqs/delivery.py
SLOW_MS = 3000  # what "slow" does to a web server: longer than the chapter's 2-second check
WORKER_PREFIX = "tui-worker-"


def start_worker(config: LabConfig) -> str:
    """A ``lab worker`` in the background, with this lab's settings."""
    number = next(
        n for n in range(1, 10_000) if runtime.running_pid(config, f"{WORKER_PREFIX}{n}") is None
    )
    name = f"{WORKER_PREFIX}{number}"
    pid = runtime.spawn(config, name, [*runtime.lab_command(), "worker"], runtime.child_env(config))
    return f"started worker {socket.gethostname()}:{pid} (its log: {config.log_dir / name}.log)"


def stop_started_workers(config: LabConfig) -> list[int]:
    """SIGTERM to the workers this TUI's keys started (they finish the jobs they hold)."""
    stopped = []
    for pid_path in sorted((config.state_dir / "run").glob(f"{WORKER_PREFIX}*")):
        pid = runtime.running_pid(config, pid_path.stem)
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            stopped.append(pid)
        pid_path.unlink(missing_ok=True)
    return stopped


def killable(worker: WorkerView) -> bool:
    """A worker this machine can kill: it said its host and pid, the host is this one, and
    the process is a ``lab worker`` that still runs."""
    if worker.pid is None or worker.host != socket.gethostname():
        return False
    return is_lab_worker(worker.pid)


def is_lab_worker(pid: int) -> bool:
    """Whether ``pid`` runs, and is a ``lab worker`` (not a process that took its pid since)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return runtime.alive(pid) and b"worker" in argv and any(b"lab" in part for part in argv)


def alive(workers: list[WorkerView]) -> dict[str, bool]:
    """For workers on this machine that said their pid: whether the process still runs."""
    here = socket.gethostname()
    return {
        w.name: is_lab_worker(w.pid)
        for w in workers
        if w.pid is not None and w.host == here and not w.stopped
    }


def kill_worker(worker: WorkerView) -> str:
    if worker.pid is None or not killable(worker):
        raise runtime.LabError(f"worker {worker.name} is not a running lab worker on this machine")
    os.kill(worker.pid, signal.SIGKILL)
    held = len(worker.busy)
    if not held:
        return f"killed worker {worker.name} (SIGKILL); it held no message"
    return (
        f"killed worker {worker.name} (SIGKILL): the {held} message(s) it held come back when "
        "their visibility timeout runs out"
    )


@dataclass(frozen=True)
class WorkerContainer:
    """A worker container of the compose lab (its worker reports the container's host name)."""

    index: int
    name: str
    state: str

    @property
    def label(self) -> str:
        return f"{self.name}  {self.state}"


def worker_containers(config: LabConfig) -> list[WorkerContainer]:
    """The compose lab's running worker containers."""
    from lab.targets import compose

    return [
        WorkerContainer(c.index, c.name, c.state)
        for c in compose.containers(compose.find_engine(config))
        if c.service == "worker" and c.up
    ]


def kill_worker_container(config: LabConfig, container: WorkerContainer) -> str:
    from lab.targets import compose

    compose.kill(config, "worker", container.index)
    return (
        f"killed container {container.name} (SIGKILL): whatever its worker held comes back when "
        "the visibility timeout runs out"
    )


@dataclass(frozen=True)
class WebServer:
    """A web server: a process of the embedded lab (``spec``), or a compose lab's container
    (``container``: its replica number)."""

    ip: str
    port: int
    state: str
    spec: fleet.ServerSpec | None = None
    container: int | None = None

    @property
    def label(self) -> str:
        return f"{self.ip}:{self.port}  {self.state}"


def web_servers(config: LabConfig) -> list[WebServer]:
    if config.target == "compose":
        from lab.targets import compose

        return [
            WebServer(c.ip or c.name, compose.WEB_PORT, c.health or c.state, container=c.index)
            for c in compose.containers(compose.find_engine(config))
            if c.service == "web"
        ]
    return [
        WebServer(spec.ip, spec.port, str(fleet.status(config, spec).get("state")), spec=spec)
        for spec in fleet.known_specs(config)
    ]


def web_control(config: LabConfig, server: WebServer, action: str) -> str:
    """``fail`` (its health check answers 503), ``slow`` or ``heal``, as ``lab web`` does;
    ``stop`` and ``start`` a server (a process, or a container)."""
    if action in ("stop", "start"):
        return _stop_or_start(config, server, action)
    command: dict[str, object] = {"action": action}
    if action == "slow":
        command["ms"] = SLOW_MS
    if server.container is not None:
        from lab.targets import compose

        state = compose.control(config, server.container, command)
    else:
        assert server.spec is not None
        state = fleet.control(server.spec, command)
    return f"web server {server.ip}: {state.get('state')}"


def _stop_or_start(config: LabConfig, server: WebServer, action: str) -> str:
    if server.container is not None:
        from lab.targets import compose

        change = compose.stop if action == "stop" else compose.start
        after = change(config, "web", server.container)
        if action == "stop":
            return (
                f"stopped web container {after.name} ({server.ip}): nginx sends its requests "
                "to the others"
            )
        return f"started web container {after.name} again, at {after.ip or 'a new address'}"
    assert server.spec is not None
    if action == "stop":
        fleet.stop(config, server.spec)
        return f"stopped web server {server.ip}: its health checks fail, it leaves the rotation"
    outcome = fleet.start(config, server.spec)
    return f"web server {server.ip}: {outcome}"


def queue_names(config: LabConfig) -> list[str]:
    sqs = aws.client("sqs", config)
    urls = sqs.list_queues().get("QueueUrls", [])
    return sorted(url.rstrip("/").rsplit("/", 1)[-1] for url in urls)


def purge(config: LabConfig, queue: str) -> str:
    sqs = aws.client("sqs", config)
    try:
        url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        sqs.purge_queue(QueueUrl=url)
    except sqs.exceptions.ClientError as exc:
        message = exc.response["Error"]["Message"]
        raise runtime.LabError(f"could not purge {queue}: {message}") from None
    return f"purged {queue}: every message in it is gone (SQS allows one purge a minute)"


def set_preset(config: LabConfig, preset: str | None) -> str:
    """A preset of the delivery model (emulator/sqs/delivery.py), or off (``None``)."""
    if preset is None:
        set_chaos(config, enabled=False)
        return "delivery model off: each message once, oldest first"
    set_chaos(config, enabled=True, preset=preset)
    return f"delivery model on: {preset} preset"
