"""What the data plane serves, kept in step with a snapshot of moto's ELBv2 records: one local
server per HTTP listener (rules recompiled when they change) and, per target group, its health
and balancer updated. Nothing needs a restart: a change is applied where it lands.

Listener ports: a listener on port ``P`` is served at ``P + listener_port_offset`` when
``P < 1024`` (ports an unprivileged user cannot bind; with an offset of 8000 the usual ``80``
listener is port 8080), at ``P`` itself otherwise. Two load balancers with a listener on
the same port map to the same local port: the second cannot bind, is retried every
``BIND_RETRY_SECONDS``, and reports the error (``GET /_lab/elb``).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from emulator.elb.balancer import TargetGroupBalancer
from emulator.elb.client import ClientConnection, Request
from emulator.elb.forwarding import listener_lines
from emulator.elb.health import HealthRegistry, TargetGroupHealth, TargetKey
from emulator.elb.proxy import Listener, ProxyRuntime
from emulator.elb.rules import Rule, compile_rules
from emulator.elb.snapshot import ListenerSpec, Snapshot, TargetGroupSpec

log = logging.getLogger("emulator.elb")

BIND_RETRY_SECONDS = 5.0


def local_port(listener_port: int, offset: int) -> int:
    """The local port serving a listener port (see the module docstring)."""
    return listener_port + offset if listener_port < 1024 else listener_port


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
        self.forwarded_lines = listener_lines(spec.protocol, spec.port)
        if self.server is not None:
            self.server.idle_timeout = spec.idle_timeout


# What a listener does with each request it reads (``Router.route``).
Route = Callable[[ListenerRuntime, ClientConnection, Request], None]
# What a listener tells of each answer it sends (``Router.answered``; see ``client.Answered``).
AnsweredOn = Callable[[ListenerRuntime, ClientConnection, Request | None, int, bool], None]


class Reconciler:
    """Applies snapshots to what is served. ``groups`` and ``listeners`` are the served state,
    shared with the router and the health checks, which read them per request and per check."""

    def __init__(
        self,
        groups: dict[str, GroupRuntime],
        listeners: dict[str, ListenerRuntime],
        health: HealthRegistry,
        *,
        listener_host: str,
        port_map: Callable[[int], int],
        route: Route,
        answered: AnsweredOn | None = None,
    ) -> None:
        self.groups = groups
        self.listeners = listeners
        self.health = health
        self.listener_host = listener_host
        self.port_map = port_map
        self.route = route
        self.answered = answered
        self.proxy: ProxyRuntime | None = None
        self._closing: set[asyncio.Task[None]] = set()

    def address_of(self, group_arn: str, target: TargetKey) -> str | None:
        """Where a target of a group is reached (None: unknown, or no address)."""
        group = self.groups.get(group_arn)
        return group.addresses.get(target) if group else None

    def group_name(self, group_arn: str) -> str:
        """A target group's name (its ARN's name part once the group is gone)."""
        group = self.groups.get(group_arn)
        if group is not None:
            return group.spec.name
        parts = group_arn.rsplit("/", 2)  # arn:...:targetgroup/NAME/ID
        return parts[1] if len(parts) == 3 else group_arn

    def unbound(self) -> bool:
        """Whether a listener could not bind (its port was taken) and waits for a retry."""
        return any(rt.server is None for rt in self.listeners.values())

    # -- target groups ------------------------------------------------------------------------

    def apply_groups(self, snapshot: Snapshot) -> None:
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

    # -- listeners ----------------------------------------------------------------------------

    async def start(self) -> None:
        self.proxy = ProxyRuntime()

    async def apply_listeners(self, snapshot: Snapshot) -> None:
        now = time.monotonic()
        seen = set()
        for spec in snapshot.listeners:
            if spec.protocol != "HTTP":
                continue  # the emulator terminates no TLS
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
        assert self.proxy is not None
        listener = self.proxy.listener(
            functools.partial(self.route, rt),
            idle_timeout=rt.spec.idle_timeout,
            answered=functools.partial(self.answered, rt) if self.answered else None,
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

    async def close(self) -> None:
        """Close every listener and the proxy (the emulator is stopping)."""
        for rt in list(self.listeners.values()):
            await self._close_listener(rt, wait=True)
        self.listeners.clear()
        if self._closing:
            await asyncio.wait(list(self._closing), timeout=2.0)
        if self.proxy is not None:
            await self.proxy.close()
