"""What a service adds to the emulator's front door, as plain data.

A service is built by ``emulator.app`` from the collaborators it needs (settings, clock, event
log, the moto bridge) and hands back a ``Component``: the handlers it answers for, its
``/_lab/...`` control routes, requests it takes before service routing, and what to run at
start and stop. No service sees the server object, so each can be built and tested alone."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Sees a request before the service routing; answers it, or returns None to pass it on.
Interceptor = Callable[[web.Request], Awaitable[web.StreamResponse | None]]
Hook = Callable[[], Awaitable[None]]


@dataclass
class Component:
    name: str
    # AWS signing name (``sqs``, ``elasticloadbalancing``, ``s3web`` ...) -> handler
    handlers: dict[str, Handler] = field(default_factory=dict)
    # Service names this component answers for besides its handlers (moto's, for the health
    # document), and whether it takes every request no other handler claims.
    serves: tuple[str, ...] = ()
    fallback: Handler | None = None
    control_routes: dict[str, Handler] = field(default_factory=dict)  # "/_lab/elb" -> handler
    interceptors: list[Interceptor] = field(default_factory=list)
    start: list[Hook] = field(default_factory=list)
    # run when shutdown begins, before open requests are waited for (end long polls)
    closing: list[Hook] = field(default_factory=list)
    stop: list[Hook] = field(default_factory=list)
    # what it adds to GET /_lab/health (the clock's speed, the delivery model's state)
    report: Callable[[], dict[str, Any]] | None = None
    # how its services are, for GET /_lab/health: "running", or "starting" while what they
    # answer from still loads in the background (None: always "running")
    state: Callable[[], str] | None = None
