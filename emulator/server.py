"""The emulator's HTTP front door: one aiohttp server that routes each request to the service it
names (see ``routing``) and keeps serving whatever a handler does.

It knows no service: ``emulator.app`` builds the services and hands their ``Component``s in."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterable

from aiohttp import web

from emulator import routing
from emulator.component import Component, Handler, Hook, Interceptor
from emulator.config import EmulatorSettings

log = logging.getLogger("emulator")

# S3 uploads of rendered pages and SQS batches of 1 MiB messages both exceed aiohttp's default.
MAX_REQUEST_BYTES = 256 * 1024 * 1024


class Emulator:
    """Holds the running services and hands each request to the right one."""

    def __init__(self, settings: EmulatorSettings, components: Iterable[Component]) -> None:
        self.settings = settings
        self.components = list(components)
        self.handlers: dict[str, Handler] = {}
        self.control_routes: dict[str, Handler] = {"/_lab/health": self.health}
        self.interceptors: list[Interceptor] = []
        self.fallback: Handler | None = None
        self._startup: list[Hook] = []
        self._closing: list[Hook] = []
        self._shutdown: list[Hook] = []
        names: set[str] = set()
        for component in self.components:
            for table, extra in (
                (self.handlers, component.handlers),
                (self.control_routes, component.control_routes),
            ):
                taken = set(table) & set(extra)
                if taken:
                    raise ValueError(f"{component.name} takes {sorted(taken)} a second time")
                table.update(extra)
            if component.fallback is not None:
                if self.fallback is not None:
                    raise ValueError(f"{component.name} is a second fallback handler")
                self.fallback = component.fallback
            names.update(component.handlers, component.serves)
            self.interceptors += component.interceptors
            self._startup += component.start
            self._closing += component.closing
            self._shutdown += component.stop
        self._services = dict.fromkeys(sorted(names), "running")
        self._states = [
            ((*c.handlers, *c.serves), c.state) for c in self.components if c.state is not None
        ]
        self._reports = [c.report for c in self.components if c.report is not None]

    def services(self) -> dict[str, str]:
        """Each service's state: "running", or "starting" while it still loads (the front door
        opens before moto is loaded; requests for it wait until it is)."""
        services = dict(self._services)
        for names, state in self._states:
            now = state()
            if now != "running":
                services.update(dict.fromkeys(names, now))
        return services

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
        handler = self.handlers.get(service, self.fallback)
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
        document = {
            "status": "running",
            "endpoint": self.settings.endpoint,
            "region": self.settings.region,
            "account_id": self.settings.account_id,
            "state_dir": str(self.settings.state_dir),
            "services": self.services(),
        }
        for report in self._reports:
            document.update(report())
        return web.json_response(document)

    def application(self) -> web.Application:
        app = web.Application(client_max_size=MAX_REQUEST_BYTES)
        app.router.add_route("*", "/{tail:.*}", self.dispatch)

        async def on_startup(_app: web.Application) -> None:
            for hook in self._startup:
                await hook()

        async def on_shutdown(_app: web.Application) -> None:
            for hook in self._closing:
                await hook()

        async def on_cleanup(_app: web.Application) -> None:
            for hook in reversed(self._shutdown):
                await hook()

        app.on_startup.append(on_startup)
        app.on_shutdown.append(on_shutdown)
        app.on_cleanup.append(on_cleanup)
        return app
