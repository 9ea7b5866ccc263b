"""Fixtures for the worker tests: the sample-page server on a thread, and one event loop with a
warm renderer per module, so each test pays for a render and not for a browser start."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest

from lab.pages.server import BackgroundPageServer, PageServer
from lab.worker.renderer import RENDERERS, PyppeteerRenderer, Renderer, make_renderer

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


@pytest.fixture
def tricky_renderer(run: Callable[[Any], Any]) -> Iterator[PyppeteerRenderer]:
    """Believes ``tricky.test`` is link-local while Chromium maps it to the page server
    (``--host-resolver-rules``), so a request the guard lets through would show up in the
    server's hit counter."""

    async def resolver(host: str) -> list[str]:
        return ["169.254.1.1"] if host == TRICKY_HOST else await _resolver(host)

    r = PyppeteerRenderer(
        parallel=2,
        resolver=resolver,
        extra_args=[f"--host-resolver-rules=MAP {TRICKY_HOST} 127.0.0.1"],
    )
    yield r
    run(r.close())
