"""The lab's web servers as background processes, and the client of their control endpoint.

Each server is a ``lab.web.server`` process named ``web-<ip>`` (pid file and log in the state
folder, through ``lab.runtime``). Its settings are kept in ``<state>/web/<ip>.json`` so that
``lab web start 127.0.0.12`` brings back the same server that ``lab web stop`` ended, from any
shell.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import socket
import sys
import urllib.error
import urllib.request
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from lab import runtime
from lab.config import LabConfig
from lab.endpoints import opener
from lab.web.page import CONTROL_PATH


@dataclass(frozen=True)
class ServerSpec:
    ip: str
    port: int
    private_ip: str | None = None
    instance_id: str | None = None
    name: str | None = None
    health_path: str = "/index.html"

    @property
    def process_name(self) -> str:
        return f"web-{self.ip}"

    @property
    def url(self) -> str:
        return f"http://{self.ip}:{self.port}/"

    def argv(self) -> list[str]:
        argv = [sys.executable, "-m", "lab.web.server", "--ip", self.ip, "--port", str(self.port)]
        for flag, value in (
            ("--private-ip", self.private_ip),
            ("--instance-id", self.instance_id),
            ("--name", self.name),
        ):
            if value:
                argv += [flag, value]
        return [*argv, "--health-path", self.health_path]


def _spec_dir(config: LabConfig) -> Path:
    return config.state_dir / "web"


def save_spec(config: LabConfig, spec: ServerSpec) -> None:
    _spec_dir(config).mkdir(parents=True, exist_ok=True)
    (_spec_dir(config) / f"{spec.ip}.json").write_text(json.dumps(asdict(spec)))


def load_spec(config: LabConfig, ip: str) -> ServerSpec | None:
    try:
        return ServerSpec(**json.loads((_spec_dir(config) / f"{ip}.json").read_text()))
    except (FileNotFoundError, ValueError, TypeError):
        return None


def known_specs(config: LabConfig) -> list[ServerSpec]:
    if not _spec_dir(config).is_dir():
        return []
    specs = [load_spec(config, p.stem) for p in _spec_dir(config).glob("*.json")]
    return sorted(
        (s for s in specs if s), key=lambda s: tuple(int(x) for x in s.ip.split(".") if x.isdigit())
    )


def control(spec: ServerSpec, command: dict | None = None, timeout: float = 2.0) -> dict:
    """GET (``command`` None) or POST the server's control endpoint; its JSON answer."""
    data = None if command is None else json.dumps(command).encode()
    request = urllib.request.Request(
        f"http://{spec.ip}:{spec.port}{CONTROL_PATH}",
        data=data,
        method="GET" if data is None else "POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with opener().open(request, timeout=timeout) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")
        with contextlib.suppress(ValueError, KeyError, TypeError):
            detail = json.loads(detail)["error"]
        raise runtime.LabError(f"{spec.ip}:{spec.port} refused the command: {detail}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise runtime.LabError(
            f"web server {spec.ip}:{spec.port} does not answer ({exc}); start it with: "
            f"lab web start {spec.ip}"
        ) from None


def _port_taken(ip: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((ip, port)) == 0


STARTED, RUNNING, SHARED = "started", "already running", "shared with another lab"


def start(config: LabConfig, spec: ServerSpec, wait: float = 15.0) -> str:
    """Start the server unless it runs already. Returns ``STARTED``, ``RUNNING`` (this lab's
    server, found by its pid file, or by asking it when ``lab reset`` removed the file), or
    ``SHARED``: the address is served by a lab web server of another state folder (a second
    lab on the machine), which this lab then uses as is and never stops."""
    check_loopback(spec.ip)
    save_spec(config, spec)
    if runtime.running_pid(config, spec.process_name):
        return RUNNING
    if _port_taken(spec.ip, spec.port):
        return _claim(config, spec)
    runtime.start_and_wait(
        config,
        spec.process_name,
        [*spec.argv(), "--owner", _owner(config)],
        lambda: _answers(spec),
        what=f"web server {spec.ip}:{spec.port}",
        wait=wait,
    )
    return STARTED


def check_loopback(ip: str) -> None:
    """What the server checks before it binds (``lab.web.server.check_bind_ip``), checked
    here without importing the server's module: it loads aiohttp, a quarter of a second that
    `lab up` spent before it could start the servers."""
    if not ipaddress.ip_address(ip).is_loopback:
        raise ValueError(f"{ip} is not a loopback address (use 127.0.0.x)")


def start_all(config: LabConfig, specs: Iterable[ServerSpec], wait: float = 15.0) -> dict[str, str]:
    """``start`` for each server, all at once (each is a process that takes a moment to
    answer): IP -> outcome. If any fails, the first failure (in ``specs`` order) is raised once
    every start has ended."""
    specs = list(specs)
    if not specs:
        return {}
    with ThreadPoolExecutor(min(len(specs), 16), thread_name_prefix="web-start") as pool:
        started = [pool.submit(start, config, spec, wait) for spec in specs]
    return {spec.ip: future.result() for spec, future in zip(specs, started, strict=True)}


def _answers(spec: ServerSpec) -> bool:
    try:
        control(spec, timeout=0.5)
    except runtime.LabError:
        return False
    return True


def _owner(config: LabConfig) -> str:
    return str(config.state_dir.resolve())


def _claim(config: LabConfig, spec: ServerSpec) -> str:
    """Whose server holds the address: this lab's (pid file lost: adopt it), another lab's
    (share it), or not a lab server at all (the user must free the port)."""
    try:
        state = control(spec, timeout=1.0)
    except runtime.LabError:
        raise runtime.LabError(
            f"{spec.ip}:{spec.port} is taken by a process the lab did not start; stop it or "
            "choose another port (LAB_WEB_PORT)"
        ) from None
    pid = state.get("pid")
    if state.get("owner") != _owner(config) or not isinstance(pid, int):
        return SHARED
    runtime.pid_file(config, spec.process_name).parent.mkdir(parents=True, exist_ok=True)
    runtime.pid_file(config, spec.process_name).write_text(str(pid))
    return RUNNING


def stop(config: LabConfig, spec: ServerSpec) -> bool:
    return runtime.stop(config, spec.process_name)


def lab_specs(config: LabConfig) -> list[ServerSpec]:
    """The servers `lab up` runs: one per ``config.web_ips`` on ``config.web_port``, keeping
    the identities (private IP, instance id, name) a remembered spec has."""
    specs = []
    for ip in config.web_ips:
        known = load_spec(config, ip)
        if known and known.port == config.web_port:
            specs.append(known)
        else:
            specs.append(ServerSpec(ip, config.web_port))
    return specs


def status(config: LabConfig, spec: ServerSpec) -> dict:
    """The server's control document, or a stand-in saying it is stopped."""
    if not runtime.running_pid(config, spec.process_name):
        return {"private_ip": spec.private_ip or spec.ip, "state": "stopped", "served": None}
    try:
        return control(spec, timeout=1.0)
    except runtime.LabError as exc:
        return {"private_ip": spec.private_ip or spec.ip, "state": f"not answering: {exc}"}
