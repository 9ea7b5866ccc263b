"""moto answers the AWS control planes the lab does not implement itself (S3, ELBv2, EC2, Auto
Scaling, CloudFormation, IAM, STS). It runs inside the emulator process, on one thread of its own,
because moto's backends are plain objects that are not safe to touch from two threads at once.

Its state is saved to the state folder (see ``persistence``), so buckets, objects, load balancers
and stacks survive ``lab down`` / ``lab up``. Objects put into and deleted from buckets with
website hosting are published as events (see ``website``).

Loading moto (most of a second of imports) and restoring its state is the first job of that
thread, started with the emulator and not awaited: the front door opens at once, so SQS and the
``/_lab/`` endpoints answer while moto loads, and every request for moto (and every
``run_sync``) queues behind that job, so none sees moto before its state is back. Until then
``/_lab/health`` says moto's services are ``starting``."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
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

log = logging.getLogger("emulator.moto")


class MotoBridge:
    """The one way to moto for every part of the emulator: requests (``handle``), code that
    must run on moto's thread (``run_sync``), and changes made behind a request (``changed``).
    ``publish`` gets the website buckets' ``s3.object_*`` events (none when it is None)."""

    def __init__(
        self, settings: EmulatorSettings, publish: Callable[[Event], None] | None = None
    ) -> None:
        self.settings = settings
        self.runner = WsgiRunner(None, settings.public_host, settings.port)  # app: see start
        self.persistence = MotoPersistence(self.runner.run_sync, settings.state_dir)
        self._state = "starting"
        self._loading: asyncio.Future[None] | None = None
        self.website = (
            WebsiteObjectEvents(self.runner.run_sync, settings.account_id, publish)
            if publish is not None
            else None
        )

    async def start(self) -> None:
        """Start-up hook: load moto and restore its state as the first job of moto's thread,
        without waiting for it (see the module's docstring)."""
        self._loading = self.runner.run_sync(self._load)
        self._loading.add_done_callback(self._loaded)

    def _load(self) -> None:
        """On moto's thread: moto's app, then the saved state."""
        try:
            self.runner.app = create_moto_app(self.settings)
            self.persistence.restore()
        finally:
            # ``python -m emulator`` starts with the garbage collector off: start-up makes about
            # a million objects that live as long as the process (moto's modules and restored
            # state, botocore's service models), and collecting while they were made took a
            # third of the start. They are frozen (never walked again), and collection resumes.
            gc.freeze()
            gc.enable()

    def _loaded(self, loading: asyncio.Future[None]) -> None:
        if loading.cancelled():
            return
        error = loading.exception()
        if error is None:
            self._state = "running"
            log.info("moto loaded: %s", ", ".join(MOTO_SERVICES))
            return
        # Only loading moto itself can fail here (a snapshot that cannot be read starts
        # empty): without moto the emulator is no use, so it stops, as when this was awaited.
        log.critical("moto could not be loaded; the emulator stops", exc_info=error)
        logging.shutdown()
        os._exit(1)

    def state(self) -> str:
        """For ``/_lab/health``: ``starting`` while moto loads, then ``running``."""
        return self._state

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
            start=[self.start],
            stop=[self.persistence.close],
            state=self.state,
        )
