"""A tiny web server for the lab's sample pages, so rendering never needs the internet.

Besides the static pages it serves the misbehaving pages the lessons are about: ``/hang``
accepts the connection and never answers (the case where pyppeteer's own navigation timeout
never fires), ``/slow?ms=N`` answers late (a render longer than the visibility timeout gives the
duplicate deliveries of section 15.2.6), and ``/redirect`` and ``/embed`` let tests check that
the URL policy also covers redirects and sub-requests. Every request is counted, so a test can
prove that a blocked request never reached the server.

``lab up`` runs it (``lab.pages.service``); alone: ``python -m lab.pages.server --port 7081``.
"""

from __future__ import annotations

import argparse
import asyncio
import colorsys
import html
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

PAGES_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class SamplePage:
    """Where the colours are, so tests and the bench can check real pixels."""

    path: str
    title: str
    band: tuple[int, int, int]  # x 0-1279, y 0-199
    block: tuple[int, int, int]  # x 640-1279, y 400-799


SAMPLE_PAGES = {
    "sunrise": SamplePage("/sunrise.html", "Sunrise", (0xFF, 0x7F, 0x00), (0x7F, 0x00, 0xFF)),
    "forest": SamplePage("/forest.html", "Forest", (0x1F, 0x8F, 0x3A), (0xFF, 0xD7, 0x00)),
    "ocean": SamplePage("/ocean.html", "Ocean", (0x10, 0x60, 0xC0), (0xE0, 0x10, 0x3A)),
}
PAGE_BACKGROUND = (0xFF, 0xFF, 0xFF)
PROBE_COLOUR = (0xE0, 0x00, 0x00)  # what /probe.css paints the body; white means it was blocked


def generated_colours(n: int) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """Band and block colours of ``/sample/N``: distinct hues so every bench page differs."""
    hue = (n * 0.61803398875) % 1.0
    band = colorsys.hsv_to_rgb(hue, 0.85, 0.85)
    block = colorsys.hsv_to_rgb((hue + 0.5) % 1.0, 0.85, 0.85)
    return (
        tuple(round(c * 255) for c in band),  # type: ignore[return-value]
        tuple(round(c * 255) for c in block),
    )


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def _generated_page(n: int) -> str:
    band, block = generated_colours(n)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sample {n}</title>
<link rel="stylesheet" href="/style.css">
<style>.band {{ background: {_hex(band)}; }} .block {{ background: {_hex(block)}; }}</style>
</head><body>
<div class="band"><h1>Sample page {n}</h1></div>
<p class="text">Generated page number {n} of the local page server.</p>
<div class="block"></div>
</body></html>"""


class PageServer:
    """The aiohttp app plus the bookkeeping tests read, per path: ``hits``, and the most requests
    it was serving at once (``peak_in_flight``), which shows whether a client works in parallel
    without timing it."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.hits: Counter[str] = Counter()
        self.in_flight: Counter[str] = Counter()
        self.peak_in_flight: Counter[str] = Counter()
        self._runner: web.AppRunner | None = None
        self._hanging: set[asyncio.Future[None]] = set()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._count])
        app.router.add_get("/", self._index)
        app.router.add_get("/hang", self._hang)
        app.router.add_get("/slow", self._slow)
        app.router.add_get("/redirect", self._redirect)
        app.router.add_get("/embed", self._embed)
        app.router.add_get("/probe.css", self._probe)
        app.router.add_get("/sample/{n:\\d+}", self._sample)
        app.router.add_get("/_hits", self._hits)
        app.router.add_static("/", PAGES_DIR, show_index=False)
        return app

    async def start(self) -> PageServer:
        self._runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        assert server is not None and server.sockets
        self.port = server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        for waiter in self._hanging:
            waiter.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- handlers --------------------------------------------------------------------------

    @web.middleware
    async def _count(self, request: web.Request, handler):  # type: ignore[no-untyped-def]
        self.hits[request.path] += 1
        path = request.path
        self.in_flight[path] += 1
        self.peak_in_flight[path] = max(self.peak_in_flight[path], self.in_flight[path])
        try:
            return await handler(request)
        finally:
            self.in_flight[path] -= 1

    async def _index(self, request: web.Request) -> web.Response:
        links = "".join(
            f'<li><a href="{p.path}">{html.escape(p.title)}</a></li>' for p in SAMPLE_PAGES.values()
        )
        body = (
            "<!doctype html><title>Decoupling Lab sample pages</title>"
            f"<h1>Sample pages</h1><ul>{links}"
            '<li><a href="/sample/1">generated page 1</a> (any number works)</li>'
            '<li><a href="/slow?ms=3000">a page that takes 3 s</a></li>'
            '<li><a href="/hang">a page that never answers</a></li></ul>'
        )
        return web.Response(text=body, content_type="text/html")

    async def _hang(self, request: web.Request) -> web.Response:
        """Accept, read the request, never answer: the trap for navigation timeouts."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._hanging.add(waiter)
        try:
            await waiter
        finally:
            self._hanging.discard(waiter)
        raise web.HTTPServiceUnavailable()

    async def _slow(self, request: web.Request) -> web.Response:
        ms = min(int(request.query.get("ms", "2000")), 600_000)
        await asyncio.sleep(ms / 1000)
        return web.Response(text=_generated_page(ms), content_type="text/html")

    async def _redirect(self, request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query["to"])

    async def _embed(self, request: web.Request) -> web.Response:
        """A white page that loads a stylesheet from ``css``: if the stylesheet arrives, the
        page turns red, so a screenshot shows whether the sub-request was let through."""
        css = html.escape(request.query["css"], quote=True)
        body = (
            '<!doctype html><html><head><meta charset="utf-8"><title>embed</title>'
            f'<link rel="stylesheet" href="{css}"></head>'
            '<body style="margin:0;background:#ffffff"><p>embed</p></body></html>'
        )
        return web.Response(text=body, content_type="text/html")

    async def _probe(self, request: web.Request) -> web.Response:
        return web.Response(
            text=f"html, body {{ background: {_hex(PROBE_COLOUR)} !important; }}",
            content_type="text/css",
        )

    async def _sample(self, request: web.Request) -> web.Response:
        return web.Response(
            text=_generated_page(int(request.match_info["n"])), content_type="text/html"
        )

    async def _hits(self, request: web.Request) -> web.Response:
        return web.json_response(dict(self.hits))


class BackgroundPageServer:
    """The page server on its own thread and event loop, for synchronous callers (tests, the
    bench, a notebook): the renderer's loop stays free to hang on ``/hang``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.server = PageServer(host, port)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    async def _shutdown(self) -> None:
        """Stop serving, then end the requests still held open (``/hang``) before the loop
        closes, so none is left pending."""
        await self.server.stop()
        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    def __enter__(self) -> PageServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self._loop).result(10)
        return self.server

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7081)
    args = parser.parse_args(argv)
    server = PageServer(args.host, args.port)
    print(f"sample pages at http://{args.host}:{args.port}/", flush=True)
    web.run_app(server.app(), host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
