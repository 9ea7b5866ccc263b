"""The emulator's HTTP front door: one aiohttp server that routes each request to the service it
names (see ``routing``) and keeps serving whatever a handler does."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable

from aiohttp import web

from emulator import routing
from emulator.config import EmulatorSettings
from emulator.events import EventBus

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Sees a request before the service routing; answers it, or returns None to pass it on.
Interceptor = Callable[[web.Request], Awaitable[web.StreamResponse | None]]
log = logging.getLogger("emulator")

# S3 uploads of rendered pages and SQS batches of 1 MiB messages both exceed aiohttp's default.
MAX_REQUEST_BYTES = 256 * 1024 * 1024


class Emulator:
    """Holds the running services and hands each request to the right one."""

    def __init__(self, settings: EmulatorSettings) -> None:
        self.settings = settings
        self.handlers: dict[str, Handler] = {}
        self.default_handler: Handler | None = None
        self.startup: list[Callable[[], Awaitable[None]]] = []
        self.shutdown: list[Callable[[], Awaitable[None]]] = []
        self.control_routes: dict[str, Handler] = {}
        self.interceptors: list[Interceptor] = []  # e.g. the instance metadata service
        self.events = EventBus()

    def services(self) -> dict[str, str]:
        names = dict.fromkeys(self.handlers, "running")
        if self.default_handler is not None:
            from emulator.moto_bridge.app import MOTO_SERVICES

            names.update(dict.fromkeys(MOTO_SERVICES, "running"))
        return dict(sorted(names.items()))

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path.startswith("/_lab/"):
            handler = self.control_routes.get(path)
            if handler is None:
                return web.json_response({"error": f"no control endpoint {path}"}, status=404)
            return await handler(request)
        for intercept in self.interceptors:
            answer = await intercept(request)
            if answer is not None:
                return answer
        service = routing.service_of(request.headers, path, request.query)
        handler = self.handlers.get(service, self.default_handler)
        if handler is None:
            return web.json_response({"error": f"service {service} is not emulated"}, status=400)
        try:
            return await handler(request)
        except (asyncio.CancelledError, ConnectionResetError):
            raise
        except web.HTTPException:
            raise
        except Exception:
            request_id = str(uuid.uuid4())
            log.exception("internal error in %s (request %s)", service, request_id)
            return web.Response(
                status=500,
                content_type="application/xml",
                text=(
                    "<ErrorResponse><Error><Type>Receiver</Type><Code>InternalFailure</Code>"
                    "<Message>The emulator failed on this request; it keeps serving.</Message>"
                    f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
                ),
            )

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "status": "running",
                "endpoint": self.settings.endpoint,
                "region": self.settings.region,
                "account_id": self.settings.account_id,
                "state_dir": str(self.settings.state_dir),
                "services": self.services(),
            }
        )

    def application(self) -> web.Application:
        app = web.Application(client_max_size=MAX_REQUEST_BYTES)
        self.control_routes["/_lab/health"] = self.health
        self.control_routes["/_lab/events"] = self.events.handle
        app.router.add_route("*", "/{tail:.*}", self.dispatch)

        async def on_startup(_app: web.Application) -> None:
            for hook in self.startup:
                await hook()

        async def on_cleanup(_app: web.Application) -> None:
            for hook in reversed(self.shutdown):
                await hook()

        app.on_startup.append(on_startup)
        app.on_cleanup.append(on_cleanup)
        return app
