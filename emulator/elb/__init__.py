"""The Application Load Balancer data plane: ELBv2 records kept by moto carry real traffic.

Pure cores decide: ``rules`` (which action), ``balancer`` (which target), ``health`` (target
states), ``headers`` and ``forwarding`` (what a target gets), ``networks`` (where traffic may
go). Adapters do the I/O: ``dataplane`` runs it all, with ``reconcile`` (applying moto's
records), ``router`` (each request), ``checks`` (health-check GETs) and the proxy (``proxy``,
``client``, ``upstream``, ``answers``); ``api`` answers DescribeTargetHealth; ``snapshot``
reads moto. ``install`` builds them from what they use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from emulator.clock import Clock
    from emulator.component import Component
    from emulator.config import EmulatorSettings
    from emulator.elb.snapshot import InstanceResolver
    from emulator.events.model import Event
    from emulator.moto_bridge import MotoBridge


def install(
    settings: EmulatorSettings,
    moto: MotoBridge,
    *,
    resolve_instance: InstanceResolver,
    clock: Clock | None = None,
    publish: Callable[[Event], None] | None = None,
) -> Component:
    """Serve the load balancers: the ``elasticloadbalancing`` API (all but DescribeTargetHealth
    passed to moto), ``GET /_lab/elb``, and the data plane, run with the emulator.
    ``resolve_instance`` tells where an instance target runs; ``clock`` drives the health
    checks and trace ids (the system clock when None); ``publish`` gets the ``elb.*`` events
    (request events only with ``settings.elb_request_events``)."""
    # (imported here, so that importing a pure core, ``emulator.elb.rules`` say, loads no
    # server, aiohttp or httptools)
    from emulator.clock import SystemClock
    from emulator.component import Component
    from emulator.elb.api import ElbApi
    from emulator.elb.dataplane import DataPlane

    plane = DataPlane(
        moto.run_sync,
        resolve_instance,
        account_id=settings.account_id,
        listener_host=settings.listener_host,
        port_offset=settings.listener_port_offset,
        target_networks=settings.elb_target_networks,
        sync_interval=settings.elb_sync_interval,
        clock=clock or SystemClock(),
        publish=publish,
        request_events=settings.elb_request_events,
    )
    return Component(
        "elb",
        handlers={"elasticloadbalancing": ElbApi(plane, moto.handle).handle},
        control_routes={"/_lab/elb": plane.describe_route},
        start=[plane.start],
        stop=[plane.stop],
    )
