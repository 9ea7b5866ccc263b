"""The ``Renderer`` contract without a browser, for tests whose subject is the queue and not
the page (the worker loop, the trace of a worker's reports): it answers at once, or after the
delay a test asks for, with a real PNG, or fails as a renderer does."""

from __future__ import annotations

import asyncio
import zlib
from collections import Counter
from urllib.parse import urlsplit

from lab.worker.renderer import (
    DEFAULT_HEIGHT,
    DEFAULT_TIMEOUT,
    DEFAULT_WIDTH,
    RenderError,
    RenderTimeout,
    RequestGuard,
)
from tests.support.png import solid

# Nothing listens here and nothing is fetched: the fake renderer reads the path as its cue.
SITE = "http://127.0.0.1:9"


def picture_colour(url: str) -> tuple[int, int, int]:
    """The colour the fake paints ``url`` in, so each PNG shows which job it belongs to."""
    crc = zlib.crc32(url.encode())
    return (crc >> 16) & 255, (crc >> 8) & 255, crc & 255


class FakeRenderer:
    """The ``Renderer`` contract without a browser. The URL's path is the cue:

    * ``/slow/SECONDS``: a page that takes that long, then renders;
    * ``/fail``: a page that does not load (``RenderError``);
    * ``/hang``: a page that never answers (``RenderTimeout``, at once rather than after the
      timeout: the loop only sees the error);
    * ``/redirect-to-metadata``: a page that redirects to the metadata service, refused by the
      real request guard (``PolicyError``), as a real renderer refuses it;
    * anything else: a PNG of the requested size in ``picture_colour(url)``.

    Like the real renderers, the URL itself goes through the real ``RequestGuard`` first, so
    refused URLs are refused for the lab policy's own reasons."""

    launches = 1

    def __init__(self) -> None:
        self.guard = RequestGuard()
        self.calls: Counter[str] = Counter()
        self.sizes: list[tuple[int, int, float]] = []
        self.in_flight = 0
        self.peak_in_flight = 0

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def render(
        self,
        url: str,
        width: int = DEFAULT_WIDTH,
        height: int = DEFAULT_HEIGHT,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> bytes:
        await self.guard.check_url(url)
        self.calls[url] += 1
        self.sizes.append((width, height, timeout))
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            path = urlsplit(url).path
            if path.startswith("/slow/"):
                await asyncio.sleep(float(path.rsplit("/", 1)[1]))
            elif path == "/fail":
                raise RenderError(url, "net::ERR_CONNECTION_REFUSED")
            elif path == "/hang":
                raise RenderTimeout(url, f"no page after {timeout:g} s")
            elif path == "/redirect-to-metadata":
                watch = self.guard.watch()
                await watch.allows("http://169.254.169.254/latest/meta-data/", navigation=True)
                watch.raise_if_navigation_blocked()
            return solid(width, height, picture_colour(url))
        finally:
            self.in_flight -= 1
