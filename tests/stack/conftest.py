"""Fixtures for the chapter's CloudFormation stack: an emulator of the test's own whose
instances run on a loopback network no other test uses, and whose listener 80 is served on a
free local port (``--listener-port-offset``)."""

from __future__ import annotations

import json
import os
import random
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lab.stack import chapter
from tests.support.emulator import EmulatorProcess
from tests.support.ports import connects, free_port

OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
# Short health checks (5 s is the API's minimum interval) and a short drain.
FAST = chapter.parameters(health_check_interval=5, deregistration_delay=1, healthy_threshold=2)


class StackEmulator(EmulatorProcess):
    """An emulator with its own instance network, instance port and listener port offset."""

    def __init__(self, state_dir: Path) -> None:
        super().__init__(state_dir)
        self.listener_port = free_port()
        self.network = f"127.{random.randint(64, 250)}.{random.randint(0, 255)}.0/24"
        # Root may bind 80 (the template's port); anyone else uses a free high port.
        self.instance_port = 80 if os.geteuid() == 0 else free_port()
        self.extra = {
            "LAB_LISTENER_PORT_OFFSET": str(self.listener_port - 80),
            "LAB_INSTANCE_NETWORK": self.network,
            "LAB_INSTANCE_PORT": str(self.instance_port),
        }

    def options(self) -> list[str]:
        return [
            *super().options(),
            "--listener-port-offset",
            self.extra["LAB_LISTENER_PORT_OFFSET"],
            "--instance-network",
            self.network,
            "--instance-port",
            str(self.instance_port),
        ]

    @property
    def lb_url(self) -> str:
        return f"http://127.0.0.1:{self.listener_port}/"

    def params(self, **more: int) -> list[dict[str, str]]:
        extra = chapter.parameters(
            instances=more.get("instances"),
            web_server_port=self.instance_port,
        )
        return FAST + extra

    def lab_env(self, tmp: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LAB_"))}
        env.update(self.env())
        env.update(self.extra)
        env.update(
            LAB_PORT=str(self.port),
            LAB_STATE_DIR=str(tmp / "lab-state"),
            LAB_HEALTH_CHECK_INTERVAL="5",
        )
        return env

    def ec2_state(self) -> dict[str, Any]:
        with OPENER.open(self.endpoint + "/_lab/ec2", timeout=10) as resp:
            return json.loads(resp.read())

    def serving(self) -> dict[str, dict[str, Any]]:
        """Running instances whose web server accepts connections, by instance id."""
        return {
            i["instance_id"]: i
            for i in self.ec2_state()["instances"]
            if i["state"] == "running"
            and i["address"]
            and connects(i["address"], self.instance_port)
        }


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[StackEmulator]:
    proc = StackEmulator(tmp_path / "state").start()
    yield proc
    proc.stop()


def get(
    url: str, headers: dict[str, str] | None = None, method: str = "GET", source: str | None = None
):
    """(status, headers, body) of one request; ``source`` binds the client to that address."""
    if source is not None:
        import http.client
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        conn = http.client.HTTPConnection(
            parts.hostname, parts.port, timeout=10, source_address=(source, 0)
        )
        try:
            conn.request(method, parts.path or "/", headers=headers or {})
            reply = conn.getresponse()
            return reply.status, dict(reply.headers), reply.read().decode()
        finally:
            conn.close()
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with OPENER.open(request, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode()


def health(elbv2: Any, tg: str) -> dict[str, str]:
    return {
        d["Target"]["Id"]: d["TargetHealth"]["State"]
        for d in elbv2.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]
    }


def all_healthy(elbv2: Any, tg: str, ids: set[str]):
    states = health(elbv2, tg)
    active = {k: v for k, v in states.items() if v != "draining"}
    return set(active) == ids and all(v == "healthy" for v in active.values()) and states
