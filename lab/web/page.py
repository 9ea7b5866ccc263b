"""What a lab web server answers, as pure functions of who it is and how it is told to behave.

Kept apart from the HTTP server so the lessons' behaviours (failing health checks, slowness)
are decided in one place, tested without sockets, and cost the server nothing per request:
replies are built once per behaviour change, not per request.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, replace

# The chapter's target group checks /index.html; /health is the conventional alternative.
HEALTH_PATHS = ("/index.html", "/health")
PAGE_PATHS = ("/", "/index.html")
CONTROL_PATH = "/_lab/control"
# Every reply names the server, so `lab lb hit` need not parse HTML; the page carries the same
# address in an element with this id, for servers (real EC2 instances) that cannot add headers.
IP_HEADER = "X-Lab-Private-Ip"
_IP_IN_PAGE = re.compile(r'id="private-ip">\s*([0-9a-fA-F:.]+)\s*<')
_ANY_IPV4 = re.compile(r"\b(\d{1,3}(?:\.\d{1,3}){3})\b")
MAX_DELAY_MS = 600_000


@dataclass(frozen=True)
class Identity:
    """Who the server says it is: on EC2 the instance's private IP, id and Name tag."""

    private_ip: str
    instance_id: str | None = None
    name: str | None = None
    health_path: str = "/index.html"


@dataclass(frozen=True)
class Behaviour:
    """How a lesson has told the server to misbehave. ``failing`` makes the health-check paths
    answer 503 while ``/`` keeps working (the check fails, the app looks fine: only a balancer
    with active checks notices); ``fail_all`` makes every page answer 503 (the app is broken:
    a passive balancer such as nginx notices too). ``delay_ms`` delays every reply, health
    checks included, so a delay above the check timeout fails the check with a timeout."""

    failing: bool = False
    fail_all: bool = False
    delay_ms: int = 0

    def describe(self) -> str:
        parts = []
        if self.fail_all:
            parts.append("failing every page (503)")
        elif self.failing:
            parts.append("failing its health check (503)")
        if self.delay_ms:
            parts.append(f"slow (+{self.delay_ms} ms)")
        return ", ".join(parts) or "healthy"


@dataclass(frozen=True)
class Reply:
    status: int
    content_type: str
    body: bytes


class ControlError(ValueError):
    """A control command the server cannot follow; the message says why."""


def apply_control(behaviour: Behaviour, command: dict[str, object]) -> Behaviour:
    """The behaviour after a control command (the body of ``POST /_lab/control``):
    ``{"action": "fail", "all": false}``, ``{"action": "heal"}`` (also clears the delay),
    ``{"action": "slow", "ms": 800}`` (0 ends it). ``stop`` is handled by the server."""
    action = command.get("action")
    if action == "fail":
        return replace(behaviour, failing=True, fail_all=bool(command.get("all", False)))
    if action == "heal":
        return Behaviour()
    if action == "slow":
        ms = command.get("ms")
        if isinstance(ms, bool) or not isinstance(ms, int) or not 0 <= ms <= MAX_DELAY_MS:
            raise ControlError(f"'ms' must be a whole number of milliseconds, 0-{MAX_DELAY_MS}")
        return replace(behaviour, delay_ms=ms)
    raise ControlError(f"unknown action {action!r}: use fail, heal, slow or stop")


# Distinct, readable colours; each server takes one by its address, so a screenshot of the
# balancer's page shows at a glance (and to a test, by its pixels) which server answered.
SERVER_COLOURS = ("#d1495b", "#00798c", "#edae49", "#66a182", "#2e4057", "#8d6a9f", "#c2683a")


def server_colour(private_ip: str) -> str:
    """The colour of the band at the top of this server's page: the same for the same address
    on every run (no hashing salt), different for consecutive addresses."""
    return SERVER_COLOURS[sum(private_ip.encode()) % len(SERVER_COLOURS)]


def render_page(identity: Identity) -> str:
    """The chapter's page ("Hello AWS in Action!" and the private IP), plus what a student
    needs to follow the balancer: instance id, name and the path the target group checks."""
    rows = [("Private IP", identity.private_ip, "private-ip")]
    if identity.instance_id:
        rows.append(("Instance ID", identity.instance_id, "instance-id"))
    if identity.name:
        rows.append(("Name", identity.name, "name"))
    rows.append(("Health check path", identity.health_path, "health-path"))
    table = "\n".join(
        f'<tr><th>{label}</th><td id="{key}">{html.escape(value)}</td></tr>'
        for label, value, key in rows
    )
    title = html.escape(identity.name or identity.private_ip)
    return (
        "<!DOCTYPE html>\n"
        f'<html><head><meta charset="utf-8"><title>{title}</title></head>\n'
        f'<body style="margin:0"><div id="server-colour" style="height:48px;'
        f'background:{server_colour(identity.private_ip)}"></div>\n'
        '<div style="margin:8px"><h1>Hello AWS in Action!</h1>\n'
        f"<p>This page was served by the web server with the private IP "
        f"<strong>{html.escape(identity.private_ip)}</strong>.</p>\n"
        f"<table>\n{table}\n</table>\n</div></body></html>\n"
    )


def build_replies(identity: Identity, behaviour: Behaviour) -> dict[str, Reply]:
    """Every path's reply under ``behaviour``; paths not in the map get ``not_found``."""
    page = Reply(200, "text/html", render_page(identity).encode())
    ok = Reply(200, "text/plain", f"OK {identity.private_ip}\n".encode())
    failing = Reply(
        503, "text/plain", f"{identity.private_ip} is failing on purpose (lab web fail)\n".encode()
    )
    replies = {path: page for path in PAGE_PATHS}
    replies["/health"] = ok
    for path in {*HEALTH_PATHS, identity.health_path}:
        if path not in replies:
            replies[path] = ok
        if behaviour.failing or behaviour.fail_all:
            replies[path] = failing
    if behaviour.fail_all:
        replies = {path: failing for path in replies}
    return replies


def not_found(identity: Identity) -> Reply:
    return Reply(404, "text/plain", f"404 Not Found on {identity.private_ip}\n".encode())


def state_document(
    identity: Identity, behaviour: Behaviour, served: int, bound: str
) -> dict[str, object]:
    """What ``GET /_lab/control`` answers: enough for ``lab web list``."""
    return {
        "private_ip": identity.private_ip,
        "instance_id": identity.instance_id,
        "name": identity.name,
        "health_path": identity.health_path,
        "bound": bound,
        "failing": behaviour.failing,
        "fail_all": behaviour.fail_all,
        "delay_ms": behaviour.delay_ms,
        "state": behaviour.describe(),
        "served": served,
    }


def ip_of_reply(headers: dict[str, str], body: str) -> str | None:
    """Which server answered: the header of a lab server, else the page's ``private-ip`` element,
    else the first IPv4 address in the body (the chapter's own page on real EC2)."""
    for name, value in headers.items():
        if name.lower() == IP_HEADER.lower():
            return value.strip()
    match = _IP_IN_PAGE.search(body) or _ANY_IPV4.search(body)
    return match.group(1) if match else None


def parse_control(raw: bytes) -> dict[str, object]:
    try:
        command = json.loads(raw or b"{}")
    except ValueError:
        raise ControlError("the body must be a JSON object") from None
    if not isinstance(command, dict):
        raise ControlError("the body must be a JSON object")
    return command
