"""moto answers the AWS control planes the lab does not implement itself (S3, ELBv2, EC2, Auto
Scaling, CloudFormation, IAM, STS). It runs inside the emulator process, on one thread of its own,
because moto's backends are plain objects that are not safe to touch from two threads at once.

Its state is saved to the state folder (see ``persistence``), so buckets, objects, load balancers
and stacks survive ``lab down`` / ``lab up``. Objects put into and deleted from buckets with
website hosting are published as events (see ``website``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from emulator.actions import is_read_only
from emulator.component import Component
from emulator.config import EmulatorSettings
from emulator.events.model import Event
from emulator.moto_bridge.app import MOTO_SERVICES, create_moto_app
from emulator.moto_bridge.persistence import MotoPersistence
from emulator.moto_bridge.website import WebsiteObjectEvents
from emulator.moto_bridge.wsgi import WsgiRunner


class MotoBridge:
    """The one way to moto for every part of the emulator: requests (``handle``), code that
    must run on moto's thread (``run_sync``), and changes made behind a request (``changed``).
    ``publish`` gets the website buckets' ``s3.object_*`` events (none when it is None)."""

    def __init__(
        self, settings: EmulatorSettings, publish: Callable[[Event], None] | None = None
    ) -> None:
        self.runner = WsgiRunner(create_moto_app(settings), settings.public_host, settings.port)
        self.persistence = MotoPersistence(self.runner.run_sync, settings.state_dir)
        self.website = (
            WebsiteObjectEvents(self.runner.run_sync, settings.account_id, publish)
            if publish is not None
            else None
        )

    def run_sync(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn`` on moto's thread; await the result."""
        return self.runner.run_sync(fn, *args)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Answer a request with moto, and schedule a snapshot when it may have changed
        something (also after a failure or a client that hung up: moto may have changed
        anyway)."""
        body = await request.read()  # aiohttp keeps it; the runner reads the same bytes
        website = self.website
        change = website.change_of(request, body) if website is not None else None
        try:
            before = None
            if website is not None and change is not None:
                before = await website.before(change, body)
            response = await self.runner.handle(request)
        finally:
            if not is_read_only(request.method, request.query, request.headers, body):
                self.persistence.changed()
        if website is not None and change is not None:
            answer = response.body if isinstance(response.body, bytes) else b""
            await website.after(change, response.status, answer, before)
        return response

    def changed(self) -> None:
        """For services that change moto's objects directly through ``run_sync`` (not via a
        moto request): schedules a snapshot, as a mutating request would."""
        self.persistence.changed()
        if self.website is not None:
            self.website.forget()

    def component(self) -> Component:
        return Component(
            "moto",
            serves=MOTO_SERVICES,
            fallback=self.handle,
            start=[self.persistence.restore],
            stop=[self.persistence.close],
        )
