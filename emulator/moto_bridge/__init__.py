"""moto answers the AWS control planes the lab does not implement itself (S3, ELBv2, EC2, Auto
Scaling, CloudFormation, IAM, STS). It runs inside the emulator process, on one thread of its own,
because moto's backends are plain objects that are not safe to touch from two threads at once.

Its state is saved to the state folder (see ``persistence``), so buckets, objects, load balancers
and stacks survive ``lab down`` / ``lab up``."""

from __future__ import annotations

from aiohttp import web

from emulator.moto_bridge.app import create_moto_app
from emulator.moto_bridge.persistence import MotoPersistence, is_read_only
from emulator.moto_bridge.wsgi import WsgiRunner
from emulator.server import Emulator

_PERSISTENCE: dict[int, MotoPersistence] = {}


def install(emulator: Emulator) -> WsgiRunner:
    settings = emulator.settings
    runner = WsgiRunner(create_moto_app(settings), settings.public_host, settings.port)
    persistence = MotoPersistence(runner.run_sync, settings.state_dir)
    _PERSISTENCE[id(runner)] = persistence

    async def handle(request: web.Request) -> web.StreamResponse:
        body = await request.read()  # aiohttp keeps it; runner.handle reads the same bytes
        try:
            return await runner.handle(request)
        finally:
            # Also after a failure or a client that hung up: moto may have changed anyway.
            if not is_read_only(request.method, request.query, request.headers, body):
                persistence.changed()

    emulator.default_handler = handle
    emulator.startup.append(persistence.restore)
    emulator.shutdown.append(persistence.close)
    return runner


def moto_changed(runner: WsgiRunner) -> None:
    """For services that change moto's objects directly through ``runner.run_sync`` (not via a
    moto request): schedules a snapshot, as a mutating request would."""
    persistence = _PERSISTENCE.get(id(runner))
    if persistence is not None:
        persistence.changed()
