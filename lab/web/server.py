"""The lab's web server: the backend that sits behind the load balancer (section 15.1).

    python -m lab.web.server --ip 127.0.0.11 --port 8001 [--private-ip 10.0.1.23]
                             [--instance-id i-0abc] [--name web-a] [--health-path /index.html]
                             [--imds http://127.0.0.1:4566]

With ``--imds`` the server asks the instance metadata service at that URL for its private IP
and instance id (IMDSv2: a session token, then ``/latest/meta-data/local-ipv4`` and
``instance-id``), as the chapter's user data does on EC2. The emulator's metadata service knows
an instance by the address its request comes from, so the request leaves from ``--ip``.

Routes: ``/`` and ``/index.html`` (the page with the private IP), ``/health``, and the control
endpoint ``/_lab/control`` (``GET``: state as JSON; ``POST`` a JSON command, see
``lab.web.page.apply_control``, or ``{"action": "stop"}`` to make the process exit). Every
reply carries ``X-Lab-Private-Ip``.

The control endpoint answers only requests from a loopback peer that carry no
``X-Forwarded-For``: the server binds loopback only, and a request relayed by a load balancer
(which adds that header) is refused with 403, so nobody can steer a target through the
balancer's URL.

aiohttp on uvloop, replies prebuilt per behaviour and no access log: the server is a backend
in ``bench/alb_vs_nginx.py`` and must not be what the benchmark measures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import ipaddress
import json
import os
import signal
import sys
import time
from urllib.parse import urlsplit

from aiohttp import web

from lab.web.page import (
    CONTROL_PATH,
    IP_HEADER,
    Behaviour,
    ControlError,
    Identity,
    Reply,
    apply_control,
    build_replies,
    not_found,
    parse_control,
    state_document,
)


class WebServer:
    """One server: an identity, the current behaviour and the prebuilt replies for it."""

    def __init__(
        self, identity: Identity, bind_ip: str, port: int, owner: str | None = None
    ) -> None:
        self.identity = identity
        self.owner = owner  # the state folder of the lab that started it
        self.bind_ip, self.port = bind_ip, port
        self.behaviour = Behaviour()
        self.replies = build_replies(identity, self.behaviour)
        self.missing = not_found(identity)
        self.served = 0
        self.by_path: dict[str, int] = {}  # known paths, the rest under "other"
        self.stopping = asyncio.Event()
        self.headers = {IP_HEADER: identity.private_ip}

    def set_behaviour(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.replies = build_replies(self.identity, behaviour)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path == CONTROL_PATH:
            return await self.control(request)
        self.served += 1
        reply: Reply | None = self.replies.get(path)
        key = path if reply is not None else "other"
        self.by_path[key] = self.by_path.get(key, 0) + 1
        if reply is None:
            reply = self.missing
        if self.behaviour.delay_ms:
            await asyncio.sleep(self.behaviour.delay_ms / 1000)
        return web.Response(
            status=reply.status,
            body=reply.body,
            content_type=reply.content_type,
            headers=self.headers,
        )

    async def control(self, request: web.Request) -> web.StreamResponse:
        peer = request.remote or ""
        try:
            local_peer = ipaddress.ip_address(peer).is_loopback
        except ValueError:
            local_peer = False
        if not local_peer or "X-Forwarded-For" in request.headers:
            return web.json_response(
                {"error": "the control endpoint answers direct loopback requests only"},
                status=403,
                headers=self.headers,
            )
        if request.method == "POST":
            try:
                command = parse_control(await request.read())
                if command.get("action") == "stop":
                    self.stopping.set()
                else:
                    self.set_behaviour(apply_control(self.behaviour, command))
            except ControlError as exc:
                return web.json_response({"error": str(exc)}, status=400, headers=self.headers)
        elif request.method not in ("GET", "HEAD"):
            return web.json_response({"error": "use GET or POST"}, status=405)
        document = state_document(
            self.identity, self.behaviour, self.served, f"{self.bind_ip}:{self.port}"
        )
        document["paths"] = dict(self.by_path)
        document["pid"] = os.getpid()
        document["owner"] = self.owner
        if self.stopping.is_set():
            document["state"] = "stopping"
        return web.json_response(document, headers=self.headers)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    async def serve(self) -> None:
        """Serve until SIGTERM/SIGINT or a ``stop`` command, then close cleanly."""
        runner = web.AppRunner(self.app(), access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.bind_ip, self.port, backlog=1024, reuse_address=True)
        await site.start()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)
        print(
            json.dumps(
                {
                    "serving": f"http://{self.bind_ip}:{self.port}/",
                    "private_ip": self.identity.private_ip,
                    "instance_id": self.identity.instance_id,
                    "name": self.identity.name,
                }
            ),
            flush=True,
        )
        await self.stopping.wait()
        await asyncio.sleep(0.05)  # let the reply to a stop command leave
        await runner.cleanup()


def check_bind_ip(ip: str) -> str:
    """Servers bind loopback addresses only: the lab never listens on the network."""
    if not ipaddress.ip_address(ip).is_loopback:
        raise ValueError(f"{ip} is not a loopback address (use 127.0.0.x)")
    return ip


def ask_imds(imds: str, source_ip: str, timeout: float = 10.0) -> tuple[str, str]:
    """(private IP, instance id) from the metadata service at ``imds``, asked from
    ``source_ip``. Retries until ``timeout`` (the service may not know the instance yet)."""
    url = urlsplit(imds)
    deadline = time.monotonic() + timeout
    while True:
        conn = http.client.HTTPConnection(
            url.hostname or "127.0.0.1", url.port or 80, timeout=2, source_address=(source_ip, 0)
        )
        try:
            conn.request(
                "PUT", "/latest/api/token", headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"}
            )
            reply = conn.getresponse()
            token = reply.read().decode()
            if reply.status == 200:
                values = []
                for item in ("local-ipv4", "instance-id"):
                    conn.request(
                        "GET",
                        f"/latest/meta-data/{item}",
                        headers={"X-aws-ec2-metadata-token": token},
                    )
                    reply = conn.getresponse()
                    values.append(reply.read().decode().strip())
                    if reply.status != 200:
                        break
                else:
                    return values[0], values[1]
            problem = f"HTTP {reply.status}"
        except OSError as exc:
            problem = str(exc)
        finally:
            conn.close()
        if time.monotonic() > deadline:
            raise OSError(f"instance metadata at {imds} did not answer for {source_ip}: {problem}")
        time.sleep(0.2)


def run(
    ip: str,
    port: int,
    private_ip: str | None = None,
    instance_id: str | None = None,
    name: str | None = None,
    health_path: str = "/index.html",
    owner: str | None = None,
    imds: str | None = None,
) -> None:
    if imds and not (private_ip and instance_id):
        asked_ip, asked_id = ask_imds(imds, check_bind_ip(ip))
        private_ip, instance_id = private_ip or asked_ip, instance_id or asked_id
    identity = Identity(private_ip or ip, instance_id, name, health_path)
    server_ = WebServer(identity, check_bind_ip(ip), port, owner)
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    asyncio.run(server_.serve())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.web.server", description=__doc__)
    parser.add_argument("--ip", default="127.0.0.11", help="loopback address to bind")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--private-ip", help="address to report (default: --ip)")
    parser.add_argument("--instance-id")
    parser.add_argument("--name")
    parser.add_argument("--health-path", default="/index.html")
    parser.add_argument("--owner", help="state folder of the lab that starts it (lab.web.fleet)")
    parser.add_argument("--imds", help="instance metadata URL to ask for private IP and id")
    args = parser.parse_args(argv)
    try:
        run(
            args.ip,
            args.port,
            args.private_ip,
            args.instance_id,
            args.name,
            args.health_path,
            args.owner,
            args.imds,
        )
    except (ValueError, OSError) as exc:
        print(f"lab web: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
