"""The listeners' HTTP/1.1 reverse proxy: listening sockets and what they share.

This is the data plane's hot path, so it is written against ``asyncio.Protocol`` rather than a
web framework. A client connection (``client``) parses requests as bytes arrive and hands each
complete one to a *router* (the data plane's ``Router``, which decides with the pure cores:
rules, balancer, headers); the router answers it from the balancer (``answers``: errors,
redirects, fixed responses) or forwards it to a target over a kept-alive upstream connection
(``upstream``), whose answer is relayed. Per request that is one write upstream (head and body
together) and, for an answer that arrives in one piece, one write back.

Client connections idle for the listener's idle timeout are closed; so are upstream exchanges
that see nothing for that long (504). One sweep, every ``SWEEP_INTERVAL``, watches both
deadlines for every listener, instead of a timer per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from emulator.elb.client import Answered, ClientConnection, Router
from emulator.elb.upstream import UpstreamPool

log = logging.getLogger("emulator.elb.proxy")

SWEEP_INTERVAL = 0.2


class ProxyRuntime:
    """What the listeners share: the upstream pool and the timeout sweep."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.pool = UpstreamPool(self.loop)
        self.listeners: set[Listener] = set()
        self._sweeper = self.loop.create_task(self._sweep(), name="elb-proxy-sweep")

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_INTERVAL)
            now = self.loop.time()
            self.pool.expire(now)
            for listener in list(self.listeners):
                for conn in list(listener.connections):
                    try:
                        conn.timed_out(now)
                    except Exception:
                        log.exception("timeout sweep failed for a connection")

    def listener(
        self, router: Router, idle_timeout: float, answered: Answered | None = None
    ) -> Listener:
        listener = Listener(self, router, idle_timeout, answered)
        self.listeners.add(listener)
        return listener

    async def close(self) -> None:
        self._sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._sweeper
        for listener in list(self.listeners):
            listener.close()
        self.pool.close()


class Listener:
    """One listening socket and its client connections. ``answered`` (optional) is told of
    every answer its connections send whole (see ``client``)."""

    def __init__(
        self,
        runtime: ProxyRuntime,
        router: Router,
        idle_timeout: float,
        answered: Answered | None = None,
    ) -> None:
        self.runtime = runtime
        self.loop = runtime.loop
        self.pool = runtime.pool
        self.router = router
        self.answered = answered
        self.idle_timeout = idle_timeout
        self.connections: set[ClientConnection] = set()
        self.server: asyncio.AbstractServer | None = None

    async def start(self, host: str, port: int) -> None:
        self.server = await self.loop.create_server(
            lambda: ClientConnection(self), host, port, reuse_address=True, backlog=1024
        )

    def close(self) -> None:
        """Stop accepting at once; idle connections close now, busy ones after their answer
        (``wait_closed`` cuts what is left)."""
        if self.server is not None:
            self.server.close()
        for conn in list(self.connections):
            conn.shutdown()

    async def wait_closed(self, timeout: float = 1.0) -> None:
        deadline = self.loop.time() + timeout
        while self.connections and self.loop.time() < deadline:
            await asyncio.sleep(0.05)
        for conn in list(self.connections):
            if conn.transport is not None:
                conn.transport.abort()
        self.runtime.listeners.discard(self)
        if self.server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 2.0)
