"""Helpers for the ALB data plane tests: tiny backend web servers on loopback aliases
(127.0.0.11-13, which Linux routes without setup) and an ALB built with plain boto3."""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import urllib3

from tests.support.ports import connects, free_port
from tests.support.waiting import wait_until

BACKEND_IPS = ("127.0.0.11", "127.0.0.12", "127.0.0.13")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _BackendServer

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _reset(self) -> None:
        """Close with RST (SO_LINGER 0), as a crashing server would."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.close()

    def handle_one_request(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            super().handle_one_request()

    def do_GET(self) -> None:
        backend = self.server.backend
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if url.path.startswith(backend.health_path):
            backend.health_checks.append((time.monotonic(), dict(self.headers)))
            mode = backend.health_modes.get(url.path, backend.health)
            if mode == "hang":
                backend.stopping.wait(30)
                return self._reset()
            if mode == "reset":
                return self._reset()
            return self._send(int(mode), b"health")
        backend.requests.append((time.monotonic(), url.path))
        if url.path == "/reset":
            return self._reset()
        if url.path == "/garbage":
            self.wfile.write(b"THIS IS NOT HTTP\r\n\r\n")
            self.close_connection = True
            return None
        if url.path == "/hang":
            backend.stopping.wait(30)
            return self._reset()
        if url.path == "/slow":
            seconds = float(parse_qs(url.query).get("s", ["0.5"])[0])
            backend.in_flight += 1
            try:
                time.sleep(seconds)
            finally:
                backend.in_flight -= 1
        payload = {
            "ip": backend.ip,
            "port": backend.port,
            "method": self.command,
            "path": self.path,
            "headers": dict(self.headers),
            "body": body.decode("latin-1"),
        }
        return self._send(200, json.dumps(payload).encode(), "application/json")

    do_POST = do_PUT = do_DELETE = do_HEAD = do_GET


class _BackendServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    backend: Backend

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class Backend:
    """A web server that answers its own IP. ``health`` is the answer to paths starting with
    the health path: a status code, ``"hang"`` (never answers) or ``"reset"``;
    ``health_modes`` overrides it per exact path (one backend, several target groups)."""

    def __init__(self, ip: str, port: int, health_path: str = "/health") -> None:
        self.ip, self.port, self.health_path = ip, port, health_path
        self.health: int | str = 200
        self.health_modes: dict[str, int | str] = {}
        self.requests: list[tuple[float, str]] = []
        self.health_checks: list[tuple[float, dict[str, str]]] = []
        self.in_flight = 0
        self.stopping = threading.Event()
        self.server = _BackendServer((ip, port), _Handler)
        self.server.backend = self
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()


class Alb:
    """An ALB made through the ELBv2 API of the emulator, torn down after the test."""

    def __init__(self, emulator: Any) -> None:
        self.emulator = emulator
        self.ec2 = emulator.client("ec2")
        self.elb = emulator.client("elbv2")
        self.tag = uuid.uuid4().hex[:8]
        self.http = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(10, read=20))
        vpc = self.ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnets = [
            self.ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=az)[
                "Subnet"
            ]["SubnetId"]
            for i, az in ((1, "us-east-1a"), (2, "us-east-1b"))
        ]
        self.vpc, self.subnets = vpc, subnets
        self.lb = self.elb.create_load_balancer(Name=f"lb-{self.tag}", Subnets=subnets)[
            "LoadBalancers"
        ][0]
        self.arn = self.lb["LoadBalancerArn"]
        self.target_groups: list[str] = []
        self.listeners: list[str] = []
        self.port: int | None = None

    def target_group(self, port: int, name: str = "tg", **kw: Any) -> str:
        kw.setdefault("HealthCheckPath", "/health")
        kw.setdefault("HealthCheckIntervalSeconds", 5)
        kw.setdefault("HealthCheckTimeoutSeconds", 2)
        kw.setdefault("HealthyThresholdCount", 2)
        kw.setdefault("UnhealthyThresholdCount", 2)
        arn = self.elb.create_target_group(
            Name=f"{name}-{self.tag}",
            Protocol="HTTP",
            Port=port,
            VpcId=self.vpc,
            TargetType=kw.pop("TargetType", "ip"),
            **kw,
        )["TargetGroups"][0]["TargetGroupArn"]
        self.target_groups.append(arn)
        return arn

    def listen(self, default_tg: str | None = None, port: int | None = None, **kw: Any) -> str:
        """Add an HTTP listener (on a free high port, served as itself); wait until it serves."""
        self.port = local = port or free_port()
        actions = kw.pop("DefaultActions", None) or [
            {"Type": "forward", "TargetGroupArn": default_tg}
        ]
        arn = self.elb.create_listener(
            LoadBalancerArn=self.arn, Protocol="HTTP", Port=self.port, DefaultActions=actions, **kw
        )["Listeners"][0]["ListenerArn"]
        self.listeners.append(arn)
        wait_until(lambda: connects("127.0.0.1", local), 1.0, 0.05)
        return arn

    def register(self, tg: str, ips: tuple[str, ...] | list[str], port: int | None = None) -> None:
        targets = [{"Id": ip, **({"Port": port} if port else {})} for ip in ips]
        self.elb.register_targets(TargetGroupArn=tg, Targets=targets)

    def deregister(self, tg: str, ips: tuple[str, ...] | list[str]) -> None:
        self.elb.deregister_targets(TargetGroupArn=tg, Targets=[{"Id": ip} for ip in ips])

    def health(self, tg: str) -> dict[str, tuple[str, str | None, str | None]]:
        """Target id -> (state, reason, description), as DescribeTargetHealth says."""
        out = {}
        for d in self.elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]:
            h = d["TargetHealth"]
            out[d["Target"]["Id"]] = (h["State"], h.get("Reason"), h.get("Description"))
        return out

    def states(self, tg: str) -> dict[str, str]:
        return {k: v[0] for k, v in self.health(tg).items()}

    def wait_states(self, tg: str, expected: dict[str, str], timeout: float = 15) -> None:
        wait_until(lambda: self.states(tg) == expected, timeout, 0.2)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str = "/", **kw: Any) -> urllib3.BaseHTTPResponse:
        kw.setdefault("redirect", False)
        return self.http.request(kw.pop("method", "GET"), self.url + path, **kw)

    def ip(self, path: str = "/") -> str:
        response = self.get(path)
        assert response.status == 200, (response.status, response.data[:200])
        return json.loads(response.data)["ip"]

    def ips(self, n: int, path: str = "/") -> list[str]:
        return [self.ip(path) for _ in range(n)]

    def close(self) -> None:
        for arn in self.listeners:
            with contextlib.suppress(Exception):
                self.elb.delete_listener(ListenerArn=arn)
        with contextlib.suppress(Exception):
            self.elb.delete_load_balancer(LoadBalancerArn=self.arn)
        for arn in self.target_groups:
            with contextlib.suppress(Exception):
                self.elb.delete_target_group(TargetGroupArn=arn)
        self.http.clear()


def counts(ips: list[str]) -> Counter[str]:
    return Counter(ips)
