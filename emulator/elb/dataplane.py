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
are read whole and sent on with a ``Content-Length``.

Errors the balancer generates follow the ALB: 502 when a target refuses, resets, closes early
or answers garbage; 503 when the group has no registered targets; 504 when a target does not
accept the connection within 10 s or does not answer within the load balancer's
``idle_timeout.timeout_seconds``; 400 for requests that are not HTTP (the listener keeps
serving); 405 for TRACE; 463 for an ``X-Forwarded-For`` with more than 30 addresses.
"""

from __future__ import annotations

import asyncio
import contextlib
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
from aiohttp.http_exceptions import HttpProcessingError
from multidict import CIMultiDict
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
from emulator.elb.rules import Decision, RequestInfo, Rule, compile_rules, evaluate
from emulator.elb.snapshot import ListenerSpec, Snapshot, TargetGroupSpec, read_moto
from emulator.moto_bridge.wsgi import WsgiRunner

log = logging.getLogger("emulator.elb")


class _ClientErrorFilter(logging.Filter):
    """Malformed client requests are the client's problem (they get a 400): one debug line,
    not an ERROR with a traceback. Errors of the balancer itself still log in full."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            log.debug("400 for a malformed request: %s", exc)
            return False
        return True


listener_log = logging.getLogger("emulator.elb.listener")
listener_log.addFilter(_ClientErrorFilter())

PORT_OFFSET_ENV = "LAB_LISTENER_PORT_OFFSET"
LISTENER_HOST_ENV = "LAB_LISTENER_HOST"
TARGET_NETWORKS_ENV = "LAB_ELB_TARGET_NETWORKS"
DEFAULT_PORT_OFFSET = 8000
DEFAULT_TARGET_NETWORKS = "127.0.0.0/8,::1/128"
SYNC_INTERVAL = 0.25
SYNC_INTERVAL_ENV = "LAB_ELB_SYNC_INTERVAL"
CONNECT_TIMEOUT = 10.0
HEALTH_USER_AGENT = "ELB-HealthChecker/2.0"
BIND_RETRY_SECONDS = 5.0
# ALB limits: request line and single header 16 K.
MAX_LINE = 16 * 1024

STATUS_TEXT = {
    301: "301 Moved Permanently",
    302: "302 Found",
    400: "400 Bad Request",
    405: "405 Method Not Allowed",
    463: "463",
    502: "502 Bad Gateway",
    503: "503 Service Temporarily Unavailable",
    504: "504 Gateway Time-out",
}


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


def alb_error(status: int) -> web.Response:
    """An error page the balancer itself generates, shaped like the ALB's."""
    title = STATUS_TEXT.get(status, str(status))
    body = (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n</body>\r\n</html>\r\n"
    )
    return web.Response(
        status=status,
        text=body,
        content_type="text/html",
        headers={"Server": "awselb/2.0"},
    )


@functools.lru_cache(maxsize=64)
def _timeouts(idle_timeout: float) -> aiohttp.ClientTimeout:
    """Connect within 10 s; then the idle timeout between reads (ALB: 504 after it)."""
    return aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT, sock_read=idle_timeout)


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
    server: asyncio.AbstractServer | None = None
    web_server: web.Server | None = None
    error: str | None = None
    retry_at: float = 0.0


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
        self._session: aiohttp.ClientSession | None = None
        self._check_session: aiohttp.ClientSession | None = None

    def port_map(self, listener_port: int) -> int:
        return local_port(listener_port, self.port_offset)

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=30),
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
        )
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
        for session in (self._session, self._check_session):
            if session is not None:
                await session.close()

    def poke(self) -> None:
        """Sync soon (after an API call that may have changed the records)."""
        self._wake_sync.set()

    # -- sync ---------------------------------------------------------------------------------

    @staticmethod
    async def _sleep(event: asyncio.Event, seconds: float) -> None:
        """Sleep until ``event`` is set or ``seconds`` pass, then clear it. Not ``wait_for``:
        on Python 3.11 it can swallow a cancellation that coincides with the event."""
        waiter = asyncio.ensure_future(event.wait())
        try:
            await asyncio.wait({waiter}, timeout=seconds)
        finally:
            waiter.cancel()
        event.clear()

    async def _sync_loop(self) -> None:
        while not self._stopping:
            try:
                await self.sync()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("ELB sync failed; retrying")
            await self._sleep(self._wake_sync, self.sync_interval)

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
                rt = ListenerRuntime(spec, compile_rules(spec.rules), port)
                self.listeners[spec.arn] = rt
            else:
                if spec.rules != rt.spec.rules:
                    rt.rules = compile_rules(spec.rules)
                rt.spec = spec
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
        handler = web.Server(
            functools.partial(self._handle, rt.spec.arn),
            access_log=None,
            logger=listener_log,
            max_line_size=MAX_LINE,
            max_field_size=MAX_LINE,
            keepalive_timeout=rt.spec.idle_timeout,
        )
        try:
            server = await asyncio.get_running_loop().create_server(
                handler, self.listener_host, rt.port, reuse_address=True
            )
        except OSError as exc:
            message = f"cannot bind {self.listener_host}:{rt.port}: {exc.strerror or exc}"
            if rt.error != message:
                log.warning("listener %s (port %s): %s", rt.spec.arn, rt.spec.port, message)
            rt.error = message
            return
        rt.server, rt.web_server, rt.error = server, handler, None
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
        connections are closed in the background, so an API call is not held up by them."""
        server, web_server = rt.server, rt.web_server
        rt.server = rt.web_server = None
        if server is None:
            return
        server.close()
        task = asyncio.create_task(self._finish_close(server, web_server))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)
        if wait:
            await task

    @staticmethod
    async def _finish_close(server: asyncio.AbstractServer, web_server: web.Server | None) -> None:
        if web_server is not None:
            with contextlib.suppress(Exception):
                await web_server.shutdown(1.0)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 2.0)

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
            await self._sleep(self._wake_health, min(0.5, max(0.02, delay)))

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

    async def _handle(self, listener_arn: str, request: web.BaseRequest) -> web.StreamResponse:
        rt = self.listeners.get(listener_arn)
        if rt is None:
            return alb_error(503)
        if request.method == "TRACE":
            return alb_error(405)
        spec = rt.spec
        raw_path = request.raw_path
        path, _, query = raw_path.partition("?")
        info = RequestInfo(
            method=request.method,
            path=path,
            query=query,
            headers=list(request.headers.items()),
            host=request.headers.get("Host", ""),
            source_ip=request.remote or "",
            listener_port=spec.port,
            listener_protocol=spec.protocol,
        )
        decision = evaluate(rt.rules, info, self.rng, self.port_map)
        if decision is None:
            return alb_error(503)
        if decision.kind == "redirect":
            response = alb_error(decision.status)
            response.headers["Location"] = decision.location or "/"
            return response
        if decision.kind == "fixed-response":
            return self._fixed(decision)
        return await self._forward(request, spec, decision)

    @staticmethod
    def _fixed(decision: Decision) -> web.Response:
        content_type = decision.content_type or "text/plain"
        return web.Response(
            status=decision.status,
            body=decision.body.encode(),
            headers={"Server": "awselb/2.0", "Content-Type": f"{content_type}; charset=utf-8"},
        )

    async def _forward(
        self, request: web.BaseRequest, spec: ListenerSpec, decision: Decision
    ) -> web.StreamResponse:
        group = self.groups.get(decision.target_group_arn or "")
        if group is None:
            return alb_error(503)
        healthy, registered = group.health.routing()
        choice = group.balancer.choose(healthy, registered)
        if choice.target is None:
            return alb_error(choice.status)
        key = choice.target
        address = group.addresses.get(key)
        if address is None or not self._allowed(address):
            return alb_error(502)
        group.balancer.begin(key)
        try:
            scheme = "https" if group.spec.protocol == "HTTPS" else "http"
            return await self._proxy(request, spec, scheme, address, key.port)
        finally:
            group.balancer.end(key)

    def _forward_headers(
        self, request: web.BaseRequest, spec: ListenerSpec
    ) -> CIMultiDict[str] | web.Response:
        incoming = request.headers
        drop = set(hdr.HOP_BY_HOP)
        for value in incoming.getall("Connection", ()):
            drop.update(token.strip().lower() for token in value.split(","))
        drop.update(("x-forwarded-for", "x-forwarded-proto", "x-forwarded-port", "expect"))
        drop.add("x-amzn-trace-id")
        out: CIMultiDict[str] = CIMultiDict()
        for name, value in incoming.items():
            if name.lower() not in drop:
                out.add(name, value)
        xff_in = incoming.getall("X-Forwarded-For", ())
        if sum(hdr.count_addresses(v) for v in xff_in) > hdr.MAX_XFF_ADDRESSES:
            return alb_error(463)
        xff = hdr.forwarded_for(xff_in, request.remote or "", spec.xff_mode)
        if xff is not None:
            out["X-Forwarded-For"] = xff
        out["X-Forwarded-Proto"] = spec.protocol.lower()
        out["X-Forwarded-Port"] = str(spec.port)
        trace_in = ";".join(incoming.getall("X-Amzn-Trace-Id", ())) or None
        out["X-Amzn-Trace-Id"] = hdr.amzn_trace_header(trace_in, self.clock.now(), self.rng)
        return out

    async def _proxy(
        self, request: web.BaseRequest, spec: ListenerSpec, scheme: str, address: str, port: int
    ) -> web.StreamResponse:
        """Send the request to one target and relay its answer, or the ALB's error for it.
        HTTPS targets are not verified: ALBs do not check target certificates either."""
        assert self._session is not None
        forward = self._forward_headers(request, spec)
        if isinstance(forward, web.Response):
            return forward
        if request.headers.get("Expect", "").lower() == "100-continue":
            await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        # The body is read whole and sent with a Content-Length: simple backends (Python's
        # http.server among them) cannot read chunked request bodies, and lab bodies are small.
        data = await request.content.read() if request.body_exists else None
        host = f"[{address}]" if ":" in address else address
        url = URL(f"{scheme}://{host}:{port}{request.raw_path}", encoded=True)
        timeout = _timeouts(spec.idle_timeout)
        # A kept-alive connection the target closed meanwhile fails at once on reuse; one
        # retry on a fresh connection is safe for idempotent reads.
        attempts = 2 if request.method in ("GET", "HEAD", "OPTIONS") else 1
        for attempt in range(attempts):
            try:
                async with self._session.request(
                    request.method,
                    url,
                    headers=forward,
                    data=data,
                    allow_redirects=False,
                    timeout=timeout,
                    skip_auto_headers=("User-Agent", "Accept-Encoding", "Accept", "Content-Type"),
                    ssl=False,
                ) as upstream:
                    body = await upstream.read()
                    return self._relay(upstream, body, request.method)
            except TimeoutError:
                return alb_error(504)
            except aiohttp.ServerDisconnectedError:
                if attempt + 1 < attempts:
                    continue
                return alb_error(502)
            except (aiohttp.ClientError, OSError, ValueError):
                return alb_error(502)
        return alb_error(502)  # pragma: no cover - the loop always returns

    @staticmethod
    def _relay(upstream: aiohttp.ClientResponse, body: bytes, method: str) -> web.Response:
        out: CIMultiDict[str] = CIMultiDict()
        # A HEAD answer has no body but tells the length of the GET one: keep the target's.
        bodiless = method == "HEAD" or upstream.status == 304
        drop = set(hdr.HOP_BY_HOP) if bodiless else set(hdr.HOP_BY_HOP) | {"content-length"}
        for value in upstream.headers.getall("Connection", ()):
            drop.update(token.strip().lower() for token in value.split(","))
        for name, value in upstream.headers.items():
            if name.lower() not in drop:
                out.add(name, value)
        return web.Response(
            status=upstream.status,
            reason=upstream.reason,
            body=None if bodiless else body,
            headers=out,
        )

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
