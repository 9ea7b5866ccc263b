"""The Application Load Balancer data plane: ELBv2 records kept by moto carry real traffic.

Pure cores (``rules``, ``balancer``, ``health``, ``headers``) decide; adapters (``dataplane``
for listeners, proxying and health-check GETs; ``api`` for DescribeTargetHealth; ``snapshot``
for reading moto) do the I/O. ``install`` wires them into the emulator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from emulator.moto_bridge.wsgi import WsgiRunner
from emulator.server import Emulator

if TYPE_CHECKING:
    from emulator.elb.dataplane import DataPlane


def install(emulator: Emulator, runner: WsgiRunner) -> DataPlane:
    """Serve the load balancers: take the ``elasticloadbalancing`` API (passing all but
    DescribeTargetHealth to moto), add ``GET /_lab/elb``, and run the data plane with the
    emulator."""
    from emulator.elb.api import ElbApi
    from emulator.elb.dataplane import DataPlane

    plane = DataPlane(runner, emulator.settings)

    async def to_moto(request: web.Request) -> web.StreamResponse:
        # Looked up per call: the moto bridge's default handler also records changes for
        # persistence, and must see the ELBv2 calls this handler passes on.
        handler = emulator.default_handler or runner.handle
        return await handler(request)

    emulator.handlers["elasticloadbalancing"] = ElbApi(plane, to_moto).handle
    emulator.control_routes["/_lab/elb"] = plane.describe_route
    emulator.startup.append(plane.start)
    emulator.shutdown.append(plane.stop)
    return plane
