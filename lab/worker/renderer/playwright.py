"""The optional second renderer: the same contract on Playwright, which is maintained (pyppeteer
is not), driving the same Debian Chromium through ``executable_path``: no ``playwright install``.

Playwright launches and stops Chromium itself, and its ``goto`` timeout does fire on a server
that never answers; the render is still bounded by ``asyncio.wait_for`` so both renderers fail
the same way. Each render gets a fresh browser context. Requests are paused on the browser's
DevTools session (``guard.PausedRequests``), as with pyppeteer, and not with Playwright's
``route``: a route is never called for redirects, so a page could redirect the browser to the
metadata service unchecked.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from typing import Any

from lab.runtime import LabError
from lab.worker.renderer.chromium import CHROMIUM_FLAGS
from lab.worker.renderer.contract import (
    DEFAULT_HEIGHT,
    DEFAULT_TIMEOUT,
    DEFAULT_WIDTH,
    RenderError,
    RenderTimeout,
    find_browser,
    short_reason,
)
from lab.worker.renderer.guard import BlockedRequest, PausedRequests, RequestGuard
from lab.worker.url_policy import LAB_POLICY, AsyncResolver, UrlPolicy


class PlaywrightRenderer:
    """One warm Chromium launched by Playwright, ``parallel`` pages at a time. ``blocked`` as
    in ``PyppeteerRenderer``."""

    def __init__(
        self,
        executable: str | None = None,
        parallel: int = 4,
        policy: UrlPolicy = LAB_POLICY,
        resolver: AsyncResolver | None = None,
        extra_args: Iterable[str] = (),
    ) -> None:
        try:
            import playwright.async_api  # noqa: F401
        except ImportError:
            raise LabError(
                "the Playwright renderer is an extra: pip install 'decoupling-lab[playwright]'"
                " (it drives the system Chromium; no `playwright install` needed)"
            ) from None
        self.executable = find_browser(executable)
        self.parallel = parallel
        self.guard = RequestGuard(policy, resolver)
        self.extra_args = tuple(extra_args)
        self.launches = 0
        self._slots = asyncio.Semaphore(parallel)
        self._lock = asyncio.Lock()
        self._pw: Any = None
        self._browser: Any = None
        self._requests: PausedRequests | None = None

    @property
    def blocked(self) -> list[BlockedRequest]:
        return self.guard.blocked

    async def start(self) -> None:
        """Start the browser now, so a worker that cannot start one says so at once."""
        await self._ensure_browser()

    async def render(
        self,
        url: str,
        width: int = DEFAULT_WIDTH,
        height: int = DEFAULT_HEIGHT,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> bytes:
        """As ``PyppeteerRenderer.render``."""
        await self.guard.check_url(url)
        async with self._slots:
            browser, requests = await self._ensure_browser()
            context = await browser.new_context(viewport={"width": width, "height": height})
            frame_id = ""
            try:
                page = await context.new_page()
                frame_id = await _main_frame_id(context, page)
                watch = requests.watch(frame_id)
                try:
                    await asyncio.wait_for(
                        page.goto(url, wait_until="load", timeout=timeout * 1000), timeout
                    )
                except TimeoutError:
                    raise RenderTimeout(url, f"no page after {timeout:g} s") from None
                except Exception as exc:
                    watch.raise_if_navigation_blocked()
                    if "Timeout" in type(exc).__name__:
                        raise RenderTimeout(url, f"no page after {timeout:g} s") from None
                    raise RenderError(url, short_reason(exc)) from exc
                watch.raise_if_navigation_blocked()
                return await page.screenshot(type="png")
            finally:
                requests.forget(frame_id)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(context.close(), 3)

    async def close(self) -> None:
        """Close the browser and stop Playwright's driver. Safe to call twice."""
        async with self._lock:
            with contextlib.suppress(Exception):
                if self._browser is not None:
                    await asyncio.wait_for(self._browser.close(), 5)
            with contextlib.suppress(Exception):
                if self._pw is not None:
                    await self._pw.stop()
            if self._requests is not None:
                self._requests.cancel()
            self._browser = self._pw = self._requests = None

    async def _ensure_browser(self) -> tuple[Any, PausedRequests]:
        async with self._lock:
            if self._browser is not None and self._browser.is_connected():
                assert self._requests is not None
                return self._browser, self._requests
            from playwright.async_api import async_playwright

            if self._pw is None:
                self._pw = await async_playwright().start()
            self._browser = await self._pw.chromium.launch(
                executable_path=self.executable,
                # headless=True says it; Playwright adds its own --headless spelling
                args=[*(f for f in CHROMIUM_FLAGS if f != "--headless"), *self.extra_args],
                headless=True,
            )
            self.launches += 1
            if self._requests is not None:
                self._requests.cancel()
            session = await self._browser.new_browser_cdp_session()
            self._requests = PausedRequests(self.guard, session)
            await self._requests.enable()
            return self._browser, self._requests


async def _main_frame_id(context: Any, page: Any) -> str:
    """The DevTools id of the page's main frame, which the guard's requests carry."""
    session = await context.new_cdp_session(page)
    try:
        tree = await session.send("Page.getFrameTree")
    finally:
        with contextlib.suppress(Exception):
            await session.detach()
    return str(tree["frameTree"]["frame"]["id"])
