"""The ALB data plane: listeners that carry traffic, a proxy to the targets, and health checks.

moto keeps the ELBv2 records (load balancers, listeners, rules, target groups, registrations);
this module makes them real. A sync loop copies moto's records every 0.25 s
(``LAB_ELB_SYNC_INTERVAL``) and reconciles: one HTTP server per listener, rules recompiled when
they change, target groups' health and balancers updated. ELBv2 API calls that change records
also sync before they answer (see ``api``), so a change made through the API already carries
traffic when the call returns; changes made behind the API (CloudFormation inside moto) within
the sync interval. Nothing needs a restart.

Listener ports
--------------
A listener on port ``P`` is served on ``127.0.0.1`` at a local port:

- ``P + LAB_LISTENER_PORT_OFFSET`` when ``P < 1024`` (ports an unprivileged user cannot bind),
  so with the default offset of 8000 the usual ``80`` listener is ``http://127.0.0.1:8080/``;
- ``P`` itself otherwise (a listener on 8888 is served on 8888).

``LAB_LISTENER_PORT_OFFSET`` (environment, default ``8000``) changes the offset;
``LAB_LISTENER_HOST`` (default ``127.0.0.1``) the bind address. Two load balancers with a listener
on the same port map to the same local port; the second one cannot bind and is reported (with
the error) by ``GET /_lab/elb`` on the emulator, which lists every listener and its local URL.
HTTPS listeners are not served (the emulator terminates no TLS).

Targets
-------
An ``ip`` target is reached at its Id; an ``instance`` target at the private IP of the EC2
instance in moto. Traffic and health checks go only to addresses inside
``LAB_ELB_TARGET_NETWORKS`` (default ``127.0.0.0/8,::1/128``); other targets fail their checks
(``Target.FailedHealthChecks``) and answer 502, so the lab never sends traffic off the machine.

Requests are forwarded with ``X-Forwarded-For`` (appended), ``X-Forwarded-Proto``,
``X-Forwarded-Port`` (the listener's port, not the local one) and ``X-Amzn-Trace-Id``; bodies
are read whole and sent on with a ``Content-Length``. The listeners' HTTP handling (parsing,
upstream connection pools, relaying, timeouts) is ``proxy``; this module decides, per request,
with the pure cores, what the proxy does.

Errors the balancer generates follow the ALB: 502 when a target refuses, resets, closes early
or answers garbage; 503 when the group has no registered targets; 504 when a target does not
accept the connection within 10 s or does not answer within the load balancer's
``idle_timeout.timeout_seconds``; 400 for requests that are not HTTP (the listener keeps
serving); 405 for TRACE; 463 for an ``X-Forwarded-For`` with more than 30 addresses.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import ipaddress
import logging
import os
import random
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from yarl import URL

from emulator.clock import Clock, SystemClock
from emulator.config import EmulatorSettings
from emulator.elb import headers as hdr
from emulator.elb.balancer import TargetGroupBalancer
from emulator.elb.health import (
    CheckResult,
    DueCheck,
    HealthRegistry,
    TargetGroupHealth,
    TargetKey,
)
from emulator.elb.proxy import (
    ERROR_HEADERS,
    ClientConnection,
    Listener,
    ProxyRuntime,
    Request,
    error_body,
)
from emulator.elb.rules import Decision, RequestInfo, Rule, compile_rules, decide, evaluate
from emulator.elb.snapshot import ListenerSpec, Snapshot, TargetGroupSpec, read_moto
from emulator.moto_bridge.wsgi import WsgiRunner
from emulator.waiting import sleep_or_wake, sync_forever

log = logging.getLogger("emulator.elb")


PORT_OFFSET_ENV = "LAB_LISTENER_PORT_OFFSET"
LISTENER_HOST_ENV = "LAB_LISTENER_HOST"
TARGET_NETWORKS_ENV = "LAB_ELB_TARGET_NETWORKS"
DEFAULT_PORT_OFFSET = 8000
DEFAULT_TARGET_NETWORKS = "127.0.0.0/8,::1/128"
SYNC_INTERVAL = 0.25
SYNC_INTERVAL_ENV = "LAB_ELB_SYNC_INTERVAL"
HEALTH_USER_AGENT = "ELB-HealthChecker/2.0"
BIND_RETRY_SECONDS = 5.0


def local_port(listener_port: int, offset: int = DEFAULT_PORT_OFFSET) -> int:
    """The local port serving a listener port (see the module docstring)."""
    return listener_port + offset if listener_port < 1024 else listener_port


def port_offset_from_env() -> int:
    try:
        return int(os.environ.get(PORT_OFFSET_ENV, DEFAULT_PORT_OFFSET))
    except ValueError:
        log.warning("ignoring %s=%r: not a number", PORT_OFFSET_ENV, os.environ[PORT_OFFSET_ENV])
        return DEFAULT_PORT_OFFSET


def target_networks_from_env() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    text = os.environ.get(TARGET_NETWORKS_ENV, DEFAULT_TARGET_NETWORKS)
    return [ipaddress.ip_network(p.strip(), strict=False) for p in text.split(",") if p.strip()]


# Request headers the balancer replaces or that are about one connection only.
FORWARD_DROP = frozenset(
    {name.encode() for name in hdr.HOP_BY_HOP}
    | {
        b"x-forwarded-for",
        b"x-forwarded-proto",
        b"x-forwarded-port",
        b"x-amzn-trace-id",
        b"expect",
        b"content-length",
    }
)


def _header_value(text: str) -> bytes:
    """A header value for the wire: latin-1 round-trips what clients sent; no line breaks."""
    text = text.replace("\r", "").replace("\n", "")
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


# Stands in for the request when the deciding rule reads nothing of it (see ``unconditional``).
_ANY_REQUEST = RequestInfo(method="GET", path="/")


def _origin_form(target: str) -> str:
    """The path and query of an absolute-form request target (``http://host/p?q``)."""
    scheme, sep, rest = target.partition("://")
    if not sep or "/" in scheme:
        return target
    slash = rest.find("/")
    query = rest.find("?")
    if slash < 0 or (0 <= query < slash):
        return "/" + rest[query:] if query >= 0 else "/"
    return rest[slash:]


@dataclass
class GroupRuntime:
    """A target group as the data plane serves it."""

    spec: TargetGroupSpec
    health: TargetGroupHealth
    balancer: TargetGroupBalancer[TargetKey] = field(default_factory=TargetGroupBalancer)
    addresses: dict[TargetKey, str | None] = field(default_factory=dict)


@dataclass
class ListenerRuntime:
    """One listener and the local server that carries its traffic."""

    spec: ListenerSpec
    rules: list[Rule]
    port: int
    server: Listener | None = None
    error: str | None = None
    retry_at: float = 0.0
    # X-Forwarded-Proto and X-Forwarded-Port lines, encoded once per spec
    forwarded_lines: bytes = b""
    # The first rule when it matches every request and its action reads nothing of it
    # (forward, fixed-response): such a listener decides without building a RequestInfo.
    unconditional: Rule | None = None

    def set_rules(self, rules: list[Rule]) -> None:
        self.rules = rules
        first = rules[0] if rules else None
        if first is not None and not first.conditions and first.action.type != "redirect":
            self.unconditional = first
        else:
            self.unconditional = None

    def set_spec(self, spec: ListenerSpec) -> None:
        self.spec = spec
        self.forwarded_lines = b"X-Forwarded-Proto: %s\r\nX-Forwarded-Port: %d\r\n" % (
            spec.protocol.lower().encode(),
            spec.port,
        )
        if self.server is not None:
            self.server.idle_timeout = spec.idle_timeout


class DataPlane:
    """Serves the load balancers moto holds. One per emulator process."""

    def __init__(
        self,
        runner: WsgiRunner,
        settings: EmulatorSettings,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        port_offset: int | None = None,
        listener_host: str | None = None,
        sync_interval: float | None = None,
    ) -> None:
        self.runner = runner
        self.settings = settings
        self.clock = clock or SystemClock()
        self.rng = rng or random.Random()
        self.port_offset = port_offset_from_env() if port_offset is None else port_offset
        self.listener_host = listener_host or os.environ.get(LISTENER_HOST_ENV, "127.0.0.1")
        self.target_networks = target_networks_from_env()
        self._allowed_cache: dict[str, bool] = {}
        if sync_interval is None:
            try:
                sync_interval = float(os.environ.get(SYNC_INTERVAL_ENV, SYNC_INTERVAL))
            except ValueError:
                sync_interval = SYNC_INTERVAL
        self.sync_interval = sync_interval
        self.health = HealthRegistry(self.clock)
        self.groups: dict[str, GroupRuntime] = {}
        self.listeners: dict[str, ListenerRuntime] = {}
        self._snapshot: Snapshot | None = None
        self._sync_lock = asyncio.Lock()
        self._wake_sync = asyncio.Event()
        self._wake_health = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._checks: set[asyncio.Task[None]] = set()
        self._closing: set[asyncio.Task[None]] = set()
        self._proxy: ProxyRuntime | None = None
        self._check_session: aiohttp.ClientSession | None = None

    def port_map(self, listener_port: int) -> int:
        return local_port(listener_port, self.port_offset)

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        self._proxy = ProxyRuntime()
        self._check_session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, force_close=True),
            cookie_jar=aiohttp.DummyCookieJar(),
            headers={"User-Agent": HEALTH_USER_AGENT},
        )
        self._tasks = [
            asyncio.create_task(self._sync_loop(), name="elb-sync"),
            asyncio.create_task(self._health_loop(), name="elb-health"),
        ]

    async def stop(self) -> None:
        self._stopping = True
        tasks = [*self._tasks, *self._checks]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=2.0)
        for rt in list(self.listeners.values()):
            await self._close_listener(rt, wait=True)
        self.listeners.clear()
        if self._closing:
            await asyncio.wait(list(self._closing), timeout=2.0)
        if self._proxy is not None:
            await self._proxy.close()
        if self._check_session is not None:
            await self._check_session.close()

    def poke(self) -> None:
        """Sync soon (after an API call that may have changed the records)."""
        self._wake_sync.set()

    # -- sync ---------------------------------------------------------------------------------

    async def _sync_loop(self) -> None:
        await sync_forever(
            self.sync, self._wake_sync, self.sync_interval, lambda: self._stopping, log, "ELB"
        )

    async def sync(self) -> None:
        """Copy moto's records and reconcile the data plane with them."""
        async with self._sync_lock:
            snapshot = await self.runner.run_sync(read_moto, self.settings.account_id)
            if snapshot != self._snapshot:
                self._apply_groups(snapshot)
                self._snapshot = snapshot
                await self._apply_listeners(snapshot)
                # moto and botocore keep hundreds of thousands of long-lived objects; a full
                # collection walks them all (tens of ms, a p99 stall for every request in
                # flight). Freezing them after each change keeps collections to new objects.
                gc.freeze()
            elif any(rt.server is None for rt in self.listeners.values()):
                await self._apply_listeners(snapshot)  # retry a listener that could not bind

    def _apply_groups(self, snapshot: Snapshot) -> None:
        in_use = snapshot.target_groups_in_use()
        seen = set()
        for spec in snapshot.target_groups:
            seen.add(spec.arn)
            group = self.groups.get(spec.arn)
            if group is None:
                group = GroupRuntime(spec, self.health.group(spec.arn))
                self.groups[spec.arn] = group
            group.spec = spec
            group.balancer.algorithm = spec.algorithm
            # Keep addresses of draining targets: requests may still be in flight to them.
            group.addresses.update({t.key: t.address for t in spec.targets})
            group.health.update(
                spec.health,
                [t.key for t in spec.targets],
                in_use=spec.arn in in_use,
                deregistration_delay=spec.deregistration_delay,
                invalid={t.key for t in spec.targets if t.invalid},
            )
            known = {key for key, _ in group.health.descriptions()}
            for key in [k for k in group.addresses if k not in known]:
                del group.addresses[key]
        for arn in [a for a in self.groups if a not in seen]:
            del self.groups[arn]
            self.health.drop(arn)
        self._wake_health.set()

    async def _apply_listeners(self, snapshot: Snapshot) -> None:
        now = time.monotonic()
        seen = set()
        for spec in snapshot.listeners:
            if spec.protocol != "HTTP":
                continue
            seen.add(spec.arn)
            rt = self.listeners.get(spec.arn)
            port = self.port_map(spec.port)
            if rt is None:
                rt = ListenerRuntime(spec, [], port)
                rt.set_rules(compile_rules(spec.rules))
                rt.set_spec(spec)
                self.listeners[spec.arn] = rt
            else:
                if spec.rules != rt.spec.rules:
                    rt.set_rules(compile_rules(spec.rules))
                rt.set_spec(spec)
                if rt.port != port:
                    await self._close_listener(rt)
                    rt.port = port
                    rt.retry_at = 0.0
            if rt.server is None and now >= rt.retry_at:
                await self._open_listener(rt)
                if rt.server is None:
                    rt.retry_at = now + BIND_RETRY_SECONDS
        for arn in [a for a in self.listeners if a not in seen]:
            await self._close_listener(self.listeners.pop(arn))

    async def _open_listener(self, rt: ListenerRuntime) -> None:
        assert self._proxy is not None
        listener = self._proxy.listener(
            functools.partial(self._route, rt), idle_timeout=rt.spec.idle_timeout
        )
        try:
            await listener.start(self.listener_host, rt.port)
        except OSError as exc:
            await listener.wait_closed(0)
            message = f"cannot bind {self.listener_host}:{rt.port}: {exc.strerror or exc}"
            if rt.error != message:
                log.warning("listener %s (port %s): %s", rt.spec.arn, rt.spec.port, message)
            rt.error = message
            return
        rt.server, rt.error = listener, None
        log.info(
            "listener %s:%s of %s serves http://%s:%s/",
            rt.spec.protocol,
            rt.spec.port,
            rt.spec.load_balancer_name,
            self.listener_host,
            rt.port,
        )

    async def _close_listener(self, rt: ListenerRuntime, wait: bool = False) -> None:
        """Stop accepting at once (the port is free again right away); kept-alive client
        connections close after the answer in progress, in the background, so an API call is
        not held up by them."""
        listener = rt.server
        rt.server = None
        if listener is None:
            return
        listener.close()
        task = asyncio.create_task(listener.wait_closed(1.0))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)
        if wait:
            await task

    # -- health checks ------------------------------------------------------------------------

    def _allowed(self, address: str) -> bool:
        allowed = self._allowed_cache.get(address)
        if allowed is None:
            try:
                ip = ipaddress.ip_address(address)
            except ValueError:
                allowed = False
            else:
                allowed = any(ip.version == n.version and ip in n for n in self.target_networks)
            if len(self._allowed_cache) > 4096:
                self._allowed_cache.clear()
            self._allowed_cache[address] = allowed
        return allowed

    async def _health_loop(self) -> None:
        while not self._stopping:
            for check in self.health.due():
                group = self.groups.get(check.group_arn)
                address = group.addresses.get(check.target) if group else None
                task = asyncio.create_task(self._run_check(check, address))
                self._checks.add(task)
                task.add_done_callback(self._checks.discard)
            next_due = self.health.next_due()
            delay = 0.5 if next_due is None else next_due - self.clock.now()
            await sleep_or_wake(self._wake_health, min(0.5, max(0.02, delay)))

    async def _run_check(self, check: DueCheck, address: str | None) -> None:
        result = await self._check(check, address)
        self.health.record(check, result)

    async def _check(self, check: DueCheck, address: str | None) -> CheckResult:
        """One health-check GET. The connection is closed after each check, as at AWS."""
        if address is None or not self._allowed(address) or self._check_session is None:
            return CheckResult.failed()
        scheme = "https" if check.protocol == "HTTPS" else "http"
        path, _, query = check.path.partition("?")
        url = URL.build(scheme=scheme, host=address, port=check.port, path=path, query_string=query)
        try:
            async with self._check_session.get(
                url,
                timeout=aiohttp.ClientTimeout(total=check.timeout),
                allow_redirects=False,
                ssl=False,
            ) as response:
                return CheckResult.code(response.status)
        except TimeoutError:
            return CheckResult.timed_out()
        except (aiohttp.ClientError, OSError, ValueError):
            return CheckResult.failed()

    # -- requests -----------------------------------------------------------------------------

    def _route(self, rt: ListenerRuntime, conn: ClientConnection, request: Request) -> None:
        """Decide what happens to one request (the proxy calls this for each): answer it here,
        or forward it to a target chosen by the rules and the group's balancer."""
        if rt.server is None or self.listeners.get(rt.spec.arn) is not rt:
            conn.respond(503, ERROR_HEADERS, error_body(503))
            return
        method = request.method
        if method == "TRACE" or method == "CONNECT":
            conn.respond(405, ERROR_HEADERS, error_body(405))
            return
        unconditional = rt.unconditional
        if unconditional is not None:
            decision: Decision | None = decide(unconditional, _ANY_REQUEST, self.rng)
        else:
            decision = evaluate(
                rt.rules, self._request_info(rt, conn, request), self.rng, self.port_map
            )
        if decision is None:
            conn.respond(503, ERROR_HEADERS, error_body(503))
        elif decision.kind == "forward":
            self._forward(rt, conn, request, decision)
        elif decision.kind == "redirect":
            location = _header_value(decision.location or "/")
            conn.respond(
                decision.status,
                ERROR_HEADERS + b"Location: " + location + b"\r\n",
                error_body(decision.status),
            )
        else:
            self._fixed(conn, decision)

    @staticmethod
    def _request_info(rt: ListenerRuntime, conn: ClientConnection, request: Request) -> RequestInfo:
        """What the rules may look at, decoded from the parsed request."""
        target = request.target.decode("latin-1")
        if not target.startswith("/"):
            target = _origin_form(target)
        path, _, query = target.partition("?")
        headers = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in request.headers]
        host = ""
        for name, value in headers:
            if len(name) == 4 and name.lower() == "host":
                host = value
                break
        return RequestInfo(
            method=request.method,
            path=path,
            query=query,
            headers=headers,
            host=host,
            source_ip=conn.peer,
            listener_port=rt.spec.port,
            listener_protocol=rt.spec.protocol,
        )

    @staticmethod
    def _fixed(conn: ClientConnection, decision: Decision) -> None:
        content_type = _header_value(decision.content_type or "text/plain")
        conn.respond(
            decision.status,
            b"Server: awselb/2.0\r\nContent-Type: " + content_type + b"; charset=utf-8\r\n",
            decision.body.encode(),
        )

    def _forward(
        self, rt: ListenerRuntime, conn: ClientConnection, request: Request, decision: Decision
    ) -> None:
        group = self.groups.get(decision.target_group_arn or "")
        if group is None:
            conn.respond(503, ERROR_HEADERS, error_body(503))
            return
        healthy, registered = group.health.routing()
        choice = group.balancer.choose(healthy, registered)
        if choice.target is None:
            conn.respond(choice.status, ERROR_HEADERS, error_body(choice.status))
            return
        key = choice.target
        address = group.addresses.get(key)
        if address is None or not self._allowed(address):
            conn.respond(502, ERROR_HEADERS, error_body(502))
            return
        payload = self._payload(rt, conn, request, address, key.port)
        if payload is None:
            conn.respond(463, ERROR_HEADERS, error_body(463))
            return
        # HTTPS targets are not verified: ALBs do not check target certificates either.
        tls = group.spec.protocol == "HTTPS"
        group.balancer.begin(key)
        conn.forward(
            (address, key.port, tls),
            payload,
            idle_timeout=rt.spec.idle_timeout,
            done=functools.partial(group.balancer.end, key),
        )

    def _payload(
        self,
        rt: ListenerRuntime,
        conn: ClientConnection,
        request: Request,
        address: str,
        port: int,
    ) -> bytes | None:
        """The request as the target gets it (head and body, one write), or None for a 463
        (more than 30 addresses in X-Forwarded-For)."""
        drop = FORWARD_DROP
        while True:
            parts = [request.method.encode(), b" ", request.target, b" HTTP/1.1\r\n"]
            xff_in: list[str] = []
            trace_in: list[str] = []
            tokens: set[bytes] = set()
            has_host = False
            for name, value in request.headers:
                lower = name.lower()
                if lower in drop:
                    if lower == b"x-forwarded-for":
                        xff_in.append(value.decode("latin-1"))
                    elif lower == b"x-amzn-trace-id":
                        trace_in.append(value.decode("latin-1"))
                    elif lower == b"connection":
                        tokens.update(t.strip().lower() for t in value.split(b","))
                    continue
                if lower == b"host":
                    has_host = True
                parts += (name, b": ", value, b"\r\n")
            tokens -= drop
            tokens.discard(b"")
            tokens.discard(b"close")
            if not tokens:
                break
            drop = drop | tokens  # headers the Connection header names are hop-by-hop too
        if xff_in and sum(hdr.count_addresses(v) for v in xff_in) > hdr.MAX_XFF_ADDRESSES:
            return None
        if not has_host:
            host = f"[{address}]" if ":" in address else address
            parts.append(b"Host: %s:%d\r\n" % (host.encode(), port))
        # (both made of header values as parsed, latin-1, which hold no line breaks)
        xff = hdr.forwarded_for(xff_in, conn.peer, rt.spec.xff_mode)
        if xff is not None:
            parts += (b"X-Forwarded-For: ", xff.encode("latin-1"), b"\r\n")
        parts.append(rt.forwarded_lines)
        trace = hdr.amzn_trace_header(";".join(trace_in) or None, self.clock.now(), self.rng)
        parts += (b"X-Amzn-Trace-Id: ", trace.encode("latin-1"), b"\r\n")
        body = request.body
        if body is not None:
            parts.append(b"Content-Length: %d\r\n\r\n" % len(body))
            parts.append(body)
        else:
            parts.append(b"\r\n")
        return b"".join(parts)

    # -- reporting ----------------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """Listeners with their local URLs and target health, for ``lab`` and people."""
        listeners = []
        for rt in self.listeners.values():
            listeners.append(
                {
                    "listener_arn": rt.spec.arn,
                    "load_balancer_arn": rt.spec.load_balancer_arn,
                    "load_balancer_name": rt.spec.load_balancer_name,
                    "dns_name": rt.spec.dns_name,
                    "protocol": rt.spec.protocol,
                    "port": rt.spec.port,
                    "local_port": rt.port,
                    "url": f"http://{self.listener_host}:{rt.port}/",
                    "serving": rt.server is not None,
                    "error": rt.error,
                }
            )
        groups = []
        for group in self.groups.values():
            targets = []
            for key, health in group.health.descriptions():
                targets.append(
                    {
                        "id": key.id,
                        "port": key.port,
                        "address": group.addresses.get(key),
                        "state": health.state,
                        "reason": health.reason,
                        "description": health.description,
                        "in_flight": group.balancer.outstanding(key),
                    }
                )
            groups.append(
                {
                    "arn": group.spec.arn,
                    "name": group.spec.name,
                    "algorithm": group.spec.algorithm,
                    "targets": targets,
                }
            )
        return {
            "port_offset": self.port_offset,
            "listener_host": self.listener_host,
            "listeners": listeners,
            "target_groups": groups,
        }

    async def describe_route(self, request: web.Request) -> web.Response:
        await self.sync()
        return web.json_response(self.describe())
