"""The ALB data plane: listeners that carry traffic, a proxy to the targets, and health checks.

moto keeps the ELBv2 records (load balancers, listeners, rules, target groups, registrations);
the data plane makes them real. A sync loop copies moto's records every ``sync_interval``
seconds and applies them (``reconcile``): one local server per listener, rules recompiled when
they change, target groups' health and balancers updated. ELBv2 API calls that change records
also sync before they answer (see ``api``), so a change made through the API already carries
traffic when the call returns; changes made behind the API (CloudFormation inside moto) within
the sync interval. Nothing needs a restart.

Its settings are the emulator's (``EmulatorSettings``: ``listener_host``,
``listener_port_offset``, ``elb_target_networks``, ``elb_sync_interval``; ``lab up`` passes the
lab's ``LAB_*`` settings of those names, and docs/configuration.md lists them with their
defaults), handed in by ``install``:

- the listeners bind ``listener_host``; a listener port below 1024 is served at that port plus
  ``port_offset`` (see ``reconcile``). ``GET /_lab/elb`` on the emulator lists every listener
  with its local URL, and the error of one that could not bind. HTTPS listeners are not served
  (the emulator terminates no TLS).
- traffic and health checks go only to addresses inside ``target_networks`` (``networks``);
  other targets fail their checks (``Target.FailedHealthChecks``) and answer 502, so the lab
  never sends traffic off the machine.

An ``ip`` target is reached at its Id; an ``instance`` target where the instance runner runs it
(``resolve_instance``), else at the EC2 instance's private IP in moto.

Per request (``router``): the rules decide, the balancer picks a target, and the request is
forwarded (``forwarding``) with ``X-Forwarded-For`` (appended), ``X-Forwarded-Proto``,
``X-Forwarded-Port`` (the listener's port, not the local one) and ``X-Amzn-Trace-Id``; bodies
are read whole and sent on with a ``Content-Length``. The HTTP handling (parsing, upstream
connection pools, relaying, timeouts) is the proxy's (``proxy``, ``client``, ``upstream``).

Events (``emulator.events.elb``, when given the event log's ``publish``): ``elb.request`` for
every answer a listener sends (off with ``elb_request_events``), ``elb.health_check`` for every
check's result, ``elb.target_state`` for every change of a target's state. Health checks count
in the injected clock's emulated time and wait in real time (``checks``), so a faster clock
(``lab clock --speed``) speeds up intervals, thresholds and deregistration delays; the proxy's
idle timeouts and the sync interval stay real, as clients keep real time.

Errors the balancer generates follow the ALB (docs/aws-behaviour.md section 5.9): 502 when a
target refuses, resets, closes early or answers garbage; 503 when the group has no registered
targets; 504 when a target does not accept the connection within 10 s or does not answer within
the load balancer's ``idle_timeout.timeout_seconds``; 400 for requests that are not HTTP (the
listener keeps serving); 405 for TRACE; 463 for an ``X-Forwarded-For`` with more than 30
addresses.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from emulator.clock import Clock
from emulator.elb.checks import HealthChecker
from emulator.elb.health import HealthRegistry, TargetKey
from emulator.elb.networks import TargetNetworks
from emulator.elb.reconcile import GroupRuntime, ListenerRuntime, Reconciler, local_port
from emulator.elb.router import Router
from emulator.elb.snapshot import InstanceResolver, Snapshot, read_moto
from emulator.events.elb import ElbTargetState
from emulator.events.model import Event
from emulator.waiting import sync_forever

log = logging.getLogger("emulator.elb")

# Runs a function on moto's thread and awaits its result (``MotoBridge.run_sync``).
RunSync = Callable[..., Awaitable[Any]]
EventSink = Callable[[Event], None]  # the event log's publish


class DataPlane:
    """Serves the load balancers moto holds. One per emulator process."""

    def __init__(
        self,
        run_sync: RunSync,
        resolve_instance: InstanceResolver,
        *,
        account_id: str,
        listener_host: str,
        port_offset: int,
        target_networks: str,
        sync_interval: float,
        clock: Clock,
        rng: random.Random | None = None,
        publish: EventSink | None = None,
        request_events: bool = True,
    ) -> None:
        self.run_sync = run_sync
        self.resolve_instance = resolve_instance
        self.account_id = account_id
        self.listener_host = listener_host
        self.port_offset = port_offset
        self.target_networks = TargetNetworks(target_networks)
        self.sync_interval = sync_interval
        self.clock = clock
        self.rng = rng or random.Random()
        self.publish = publish
        self.health = HealthRegistry(clock, self._target_state if publish else None)
        # The served state: written by the reconciler, read by the router and the checks.
        self.groups: dict[str, GroupRuntime] = {}
        self.listeners: dict[str, ListenerRuntime] = {}
        self.router = Router(
            self.listeners,
            self.groups,
            allows=self.target_networks.allows,
            port_map=self.port_map,
            clock=clock,
            rng=self.rng,
            publish=publish if request_events else None,
        )
        self.reconciler = Reconciler(
            self.groups,
            self.listeners,
            self.health,
            listener_host=listener_host,
            port_map=self.port_map,
            route=self.router.route,
            answered=self.router.answered if self.router.publish else None,
        )
        self.checks = HealthChecker(
            self.health,
            self.reconciler.address_of,
            self.target_networks.allows,
            clock,
            publish=publish,
            name_of=self.reconciler.group_name,
        )
        self._snapshot: Snapshot | None = None
        self._sync_lock = asyncio.Lock()
        self._wake_sync = asyncio.Event()
        self._sync_task: asyncio.Task[None] | None = None
        self._stopping = False

    def _target_state(
        self, group_arn: str, key: TargetKey, previous: str | None, state: str, reason: str | None
    ) -> None:
        """The health registry saw a target change state: publish it."""
        assert self.publish is not None
        self.publish(
            ElbTargetState(
                target_group=self.reconciler.group_name(group_arn),
                target_id=key.id,
                port=key.port,
                previous=previous,
                state=state,
                reason=reason,
            )
        )

    def port_map(self, listener_port: int) -> int:
        """The local port serving a listener port."""
        return local_port(listener_port, self.port_offset)

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        await self.reconciler.start()
        await self.checks.start()
        self._sync_task = asyncio.create_task(self._sync_loop(), name="elb-sync")

    async def stop(self) -> None:
        self._stopping = True
        if self._sync_task is not None:
            self._sync_task.cancel()
        await self.checks.stop()
        if self._sync_task is not None:
            await asyncio.wait([self._sync_task], timeout=2.0)
        await self.reconciler.close()

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
            snapshot = await self.run_sync(read_moto, self.account_id, self.resolve_instance)
            if snapshot != self._snapshot:
                self.reconciler.apply_groups(snapshot)
                self.checks.poke()
                self._snapshot = snapshot
                await self.reconciler.apply_listeners(snapshot)
                # moto and botocore keep hundreds of thousands of long-lived objects; a full
                # collection walks them all (tens of ms, a p99 stall for every request in
                # flight). Freezing them after each change keeps collections to new objects.
                gc.freeze()
            elif self.reconciler.unbound():
                await self.reconciler.apply_listeners(snapshot)  # retry a listener's bind

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
