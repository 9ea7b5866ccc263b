"""Fixtures for the worker tests: the sample-page server on a thread, and one event loop with
warm renderers per module, so each test pays for a render and not for a browser start."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
from aiohttp import web

from lab.pages.server import BackgroundPageServer, PageServer
from lab.worker.renderer import RENDERERS, Renderer, make_renderer

T = TypeVar("T")


@pytest.fixture(scope="session")
def pages() -> Iterator[PageServer]:
    with BackgroundPageServer() as server:
        yield server


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    # pyppeteer leaves navigation watchers behind when a render is abandoned; end them quietly
    pending = asyncio.all_tasks(loop)
    for task in pending:
        task.cancel()
    if pending:  # gather() of nothing would make a future on another loop
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.close()


@pytest.fixture(scope="module")
def run(loop: asyncio.AbstractEventLoop) -> Callable[[Awaitable[T]], T]:
    def run(coro: Awaitable[T]) -> T:
        return loop.run_until_complete(coro)

    return run


async def _resolver(host: str) -> list[str]:
    """Tests resolve ``localhost`` to the page server and ``*.linklocal.test`` to the metadata
    range, so blocked requests would otherwise reach a real server we can watch."""
    if host.endswith("linklocal.test"):
        return ["169.254.169.254"]
    if host == "mixed.test":
        return ["127.0.0.1", "169.254.10.10"]
    return ["127.0.0.1"]


@pytest.fixture(scope="module", params=RENDERERS)
def renderer(request: pytest.FixtureRequest, run: Callable[[Any], Any]) -> Iterator[Renderer]:
    """Each contract test runs on both renderers the worker offers."""
    r = make_renderer(request.param, parallel=3)
    yield r
    run(r.close())


TRICKY_HOST = "tricky.test"


@pytest.fixture(scope="module", params=RENDERERS)
def tricky_renderer(request: pytest.FixtureRequest, run: Callable[[Any], Any]) -> Iterator[Any]:
    """Believes ``tricky.test`` is link-local while Chromium maps it to the page server
    (``--host-resolver-rules``), so a request the guard lets through would show up in the
    server's hit counter. On both renderers: they share the guard, not the way they feed it."""

    async def resolver(host: str) -> list[str]:
        return ["169.254.1.1"] if host == TRICKY_HOST else await _resolver(host)

    r = make_renderer(
        request.param,
        parallel=2,
        resolver=resolver,
        extra_args=[f"--host-resolver-rules=MAP {TRICKY_HOST} 127.0.0.1"],
    )
    yield r
    run(r.close())


class SideDoors:
    """Pages whose requests to ``tricky.test`` leave from places a page's own DevTools session
    does not see: a cross-site frame (another renderer process), a dedicated worker and a
    service worker. ``hits`` counts the requests that got through, by door."""

    DOORS = ("frame", "worker", "service-worker")

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.port = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def probe(self, door: str) -> str:
        return f"http://{TRICKY_HOST}:{self.port}/probe?door={door}"

    def app(self) -> web.Application:
        def html(text: str) -> web.Response:
            return web.Response(text=f"<!doctype html><body>{text}", content_type="text/html")

        def script(text: str) -> web.Response:
            return web.Response(text=text, content_type="application/javascript")

        async def probe(request: web.Request) -> web.Response:
            self.hits[request.query.get("door", "?")] += 1
            return web.Response(text="")

        # localhost and 127.0.0.1 are different sites, so the frame gets a process of its own
        routes = {
            "/frame": lambda r: html(f'<iframe src="http://localhost:{self.port}/inner"></iframe>'),
            "/inner": lambda r: html(f'<img src="{self.probe("frame")}">'),
            "/worker": lambda r: html('<script>new Worker("/worker.js")</script>'),
            "/worker.js": lambda r: script(f'fetch("{self.probe("worker")}")'),
            "/service-worker": lambda r: html(
                '<script>navigator.serviceWorker.register("/sw.js")</script>'
            ),
            "/sw.js": lambda r: script(f'fetch("{self.probe("service-worker")}")'),
        }
        app = web.Application()
        for path, page in routes.items():

            async def handler(request: web.Request, page: Any = page) -> web.Response:
                return page(request)

            app.router.add_get(path, handler)
        app.router.add_get("/probe", probe)
        return app


@pytest.fixture(scope="module")
def side_doors(run: Callable[[Any], Any]) -> Iterator[SideDoors]:
    """Served on the tests' own event loop: it answers while a render runs there."""
    doors = SideDoors()
    runner = web.AppRunner(doors.app())
    run(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    run(site.start())
    doors.port = runner.addresses[0][1]
    yield doors
    run(runner.cleanup())
