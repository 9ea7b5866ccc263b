"""The default renderer: one warm Chromium driven by pyppeteer, several pages at once.

The book's worker used node-webshot, which started PhantomJS once per message; starting a
browser costs far more than rendering a small page (about 20 times here, see
``bench/render_throughput.py``). So a worker keeps one Chromium and renders several pages in it
at once, and this module exists to keep that one browser healthy for hours:

* pyppeteer's ``goto`` timeout never fires when a server accepts the connection and never
  answers (its timer starts only once Chromium answers ``Page.navigate``), so each render is
  bounded by ``asyncio.wait_for`` and a stalled tab is thrown away.
* Chromium is started by ``chromium.ChromiumProcess`` and pyppeteer only connects to it, because
  pyppeteer's own launcher can block, race for a port and leave the browser running.
* If Chromium crashes, the render in flight fails and the next render starts a new one.
* Every request of the browser is paused (``guard.PausedRequests``) until the shared
  ``RequestGuard`` has looked at it.

No browser, no image: a missing Chromium is an error that names the package, never a
placeholder PNG that would look like success.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from lab.worker.renderer.chromium import ChromiumProcess
from lab.worker.renderer.contract import (
    DEFAULT_HEIGHT,
    DEFAULT_TIMEOUT,
    DEFAULT_WIDTH,
    RenderError,
    RenderTimeout,
    find_browser,
    short_reason,
)
from lab.worker.renderer.guard import BlockedRequest, PageWatch, PausedRequests, RequestGuard
from lab.worker.url_policy import LAB_POLICY, AsyncResolver, PolicyError, UrlPolicy

log = logging.getLogger(__name__)


@dataclass
class _Tab:
    """A page kept open between renders, with the guard's record of the current render."""

    page: Any
    frame_id: str  # its main frame's, which is how the guard tells this page's requests
    size: tuple[int, int]
    watch: PageWatch


@dataclass
class _Session:
    """A Chromium process, pyppeteer's connection to it, and the guard's hold on its requests."""

    process: ChromiumProcess
    browser: Any = None
    requests: PausedRequests | None = None

    def alive(self) -> bool:
        if not self.process.running() or self.browser is None:
            return False
        return bool(self.browser._connection._connected)

    async def stop(self) -> None:
        if self.requests is not None:
            self.requests.cancel()

        async def goodbye() -> None:
            if self.browser is None:
                return
            connection = self.browser._connection
            if self.process.running():
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(connection.send("Browser.close"), 3)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.dispose(), 3)

        await self.process.stop(goodbye)


class PyppeteerRenderer:
    """One warm Chromium driven by pyppeteer, ``parallel`` pages at a time.

    ``blocked`` keeps the requests the policy refused during the last renders (newest last,
    bounded), so the worker can log them and lessons can show them."""

    def __init__(
        self,
        executable: str | None = None,
        parallel: int = 4,
        policy: UrlPolicy = LAB_POLICY,
        resolver: AsyncResolver | None = None,
        launch_timeout: float = 30.0,
        extra_args: Iterable[str] = (),
    ) -> None:
        self.executable = find_browser(executable)
        self.parallel = parallel
        self.guard = RequestGuard(policy, resolver)
        self.launch_timeout = launch_timeout
        self.extra_args = tuple(extra_args)
        self.launches = 0
        self._session: _Session | None = None
        self._launch_lock = asyncio.Lock()
        self._slots = asyncio.Semaphore(parallel)
        self._idle: list[_Tab] = []

    # --- public ------------------------------------------------------------------------------

    @property
    def blocked(self) -> list[BlockedRequest]:
        return self.guard.blocked

    @property
    def process(self) -> ChromiumProcess | None:
        """Chromium's process, for tests that crash it on purpose or check it is gone."""
        return self._session.process if self._session else None

    @property
    def pid(self) -> int | None:
        return self._session.process.pid if self._session else None

    async def start(self) -> None:
        """Start the browser now rather than at the first message: a worker that cannot start
        Chromium should say so when it starts, not fail every job."""
        await self._ensure_browser()

    async def render(
        self,
        url: str,
        width: int = DEFAULT_WIDTH,
        height: int = DEFAULT_HEIGHT,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> bytes:
        """PNG bytes of ``url`` at ``width`` x ``height``. Raises ``PolicyError`` before any
        browser work for a refused URL, ``RenderTimeout`` after ``timeout`` seconds (the browser
        stays usable), ``RenderError`` for pages that fail to load."""
        await self.guard.check_url(url)
        async with self._slots:
            session = await self._ensure_browser()
            tab = await self._take_tab(session, width, height)
            try:
                png = await asyncio.wait_for(self._navigate_and_shoot(tab, url, timeout), timeout)
            except TimeoutError:
                await self._discard(session, tab)
                raise RenderTimeout(url, f"no page after {timeout:g} s") from None
            except PolicyError:
                await self._discard(session, tab)
                raise
            except Exception as exc:
                await self._discard(session, tab)
                if not session.alive():
                    reason = "the browser crashed; it restarts on the next render"
                    raise RenderError(url, reason) from exc
                raise RenderError(url, short_reason(exc)) from exc
            self._idle.append(tab)
            return png

    async def close(self) -> None:
        """Close the browser and wait for it; kill it if it does not go. Safe to call twice."""
        async with self._launch_lock:
            session, self._session = self._session, None
            self._idle.clear()
            if session is not None:
                await session.stop()

    async def __aenter__(self) -> PyppeteerRenderer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- browser lifecycle -------------------------------------------------------------------

    async def _ensure_browser(self) -> _Session:
        async with self._launch_lock:
            if self._session is not None and self._session.alive():
                return self._session
            if self._session is not None:
                old, self._session = self._session, None
                log.warning("Chromium (pid %s) is gone; starting a new one", old.process.pid)
                self._idle.clear()
                await old.stop()
            self._session = await self._connect()
            self.launches += 1
            return self._session

    async def _connect(self) -> _Session:
        import pyppeteer

        process = await ChromiumProcess.launch(
            self.executable, self.extra_args, self.launch_timeout
        )
        session = _Session(process)
        try:
            session.browser = await asyncio.wait_for(
                pyppeteer.connect(
                    browserWSEndpoint=process.endpoint,
                    defaultViewport={"width": DEFAULT_WIDTH, "height": DEFAULT_HEIGHT},
                ),
                self.launch_timeout,
            )
            session.requests = PausedRequests(self.guard, session.browser._connection)
            await session.requests.enable()
        except BaseException:
            await session.stop()
            raise
        log.info("Chromium started (pid %s)", process.pid)
        return session

    # --- tabs --------------------------------------------------------------------------------

    async def _take_tab(self, session: _Session, width: int, height: int) -> _Tab:
        """An idle tab if one is left open, else a new one; with a fresh record of what the
        guard refuses during this render."""
        assert session.requests is not None
        tab = None
        while self._idle and tab is None:
            idle = self._idle.pop()
            if not idle.page.isClosed():
                tab = idle
        if tab is None:
            page = await session.browser.newPage()
            frame_id = page.mainFrame._id
            tab = _Tab(page, frame_id, (DEFAULT_WIDTH, DEFAULT_HEIGHT), PageWatch(self.guard))
        tab.watch = session.requests.watch(tab.frame_id)
        if tab.size != (width, height):
            await tab.page.setViewport({"width": width, "height": height})
            tab.size = (width, height)
        return tab

    async def _navigate_and_shoot(self, tab: _Tab, url: str, timeout: float) -> bytes:
        page = tab.page
        try:
            response = await page.goto(url, {"waitUntil": "load", "timeout": timeout * 1000})
        except Exception:
            tab.watch.raise_if_navigation_blocked()
            raise
        tab.watch.raise_if_navigation_blocked()
        if response is None:
            raise RenderError(url, "no response")
        result = await page._client.send("Page.captureScreenshot", {"format": "png"})
        return base64.b64decode(result["data"])

    async def _discard(self, session: _Session, tab: _Tab) -> None:
        """Close a tab that stalled or failed. A stalled tab cannot simply be reused: going back
        to the same URL fails with net::ERR_ABORTED, so it is closed and a fresh one is made on
        the next render. Bounded, because a hung browser must not hang the worker."""
        if session.requests is not None:
            session.requests.forget(tab.frame_id)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(tab.page.close(), 3)
