"""The URL policy applied to everything a render fetches, the same for every renderer.

Checking only the URL in the message would let a page redirect or embed its way to the metadata
service, so every request a page makes, the document, its redirects and its sub-resources, is
paused (``PausedRequests``, the DevTools protocol's ``Fetch`` domain on the browser's own
session) until a ``PageWatch`` has decided. Both renderers use this same interception. The rules
live here once:

* ``data:``, ``blob:`` and ``about:`` requests pass without a look: they never leave the browser.
* Anything else goes to the URL policy, with the host resolved asynchronously (a page asks for
  the same host dozens of times, and the policy must not block the loop driving the browser).
* A refused request is failed in the browser and recorded as a ``BlockedRequest``. A refused
  sub-resource leaves a hole in the picture; a refused navigation of the main frame (a redirect
  to a refused address) fails the render with ``PolicyError``, as the URL itself would have.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from lab.worker.url_policy import LAB_POLICY, AsyncResolver, PolicyError, UrlPolicy

log = logging.getLogger(__name__)

# Requests the policy need not see: they never leave the browser.
INTERNAL_SCHEMES = ("data", "blob", "about")

RECENT_BLOCKED = 100  # how many refused requests a renderer remembers for the worker and lessons


class CachingResolver:
    """Asynchronous getaddrinfo with a short cache: a page asks for the same host dozens of
    times, and the policy must not block the event loop that also drives the browser."""

    def __init__(self, ttl: float = 30.0) -> None:
        self.ttl = ttl
        self._cache: dict[str, tuple[float, list[str]]] = {}

    async def __call__(self, host: str) -> list[str]:
        now = time.monotonic()
        hit = self._cache.get(host)
        if hit and hit[0] > now:
            return hit[1]
        infos = await asyncio.get_running_loop().getaddrinfo(host, None)
        addresses = sorted({info[4][0] for info in infos})
        self._cache[host] = (now + self.ttl, addresses)
        return addresses


@dataclass
class BlockedRequest:
    url: str
    reason: str
    navigation: bool  # the main frame's document: the render fails rather than leaving a hole


class RequestGuard:
    """One renderer's policy and resolver, and the requests it refused lately (``blocked``,
    newest last, bounded) so the worker can log them and lessons can show them."""

    def __init__(self, policy: UrlPolicy = LAB_POLICY, resolver: AsyncResolver | None = None):
        self.policy = policy
        self.resolver: AsyncResolver = resolver or CachingResolver()
        self.blocked: list[BlockedRequest] = []

    async def check_url(self, url: str) -> None:
        """Raise ``PolicyError`` for a refused URL before any browser work."""
        verdict = await self.policy.check_async(url, self.resolver)
        if not verdict:
            raise PolicyError(url, verdict.reason)

    def watch(self) -> PageWatch:
        """A fresh record for one render: what was refused during it."""
        return PageWatch(self)

    def _record(self, blocked: BlockedRequest) -> None:
        self.blocked = [*self.blocked[-(RECENT_BLOCKED - 1) :], blocked]
        log.warning("blocked request to %s: %s", blocked.url, blocked.reason)


@dataclass
class PageWatch:
    """The guard's view of one render. ``blocked`` holds what it refused during this render."""

    guard: RequestGuard
    blocked: list[BlockedRequest] = field(default_factory=list)

    async def allows(self, url: str, navigation: bool = False) -> bool:
        """Whether the browser may fetch ``url``; ``navigation`` says it is the document of the
        render's main frame, whose refusal fails the render."""
        if urlsplit(url).scheme.lower() in INTERNAL_SCHEMES:
            return True
        verdict = await self.guard.policy.check_async(url, self.guard.resolver)
        if verdict:
            return True
        blocked = BlockedRequest(url, verdict.reason, navigation)
        self.blocked.append(blocked)
        self.guard._record(blocked)
        return False

    def raise_if_navigation_blocked(self) -> None:
        """A page redirected to a refused address fails as a refused URL would."""
        for blocked in self.blocked:
            if blocked.navigation:
                raise PolicyError(blocked.url, "redirected to a refused address: " + blocked.reason)


class CdpSession(Protocol):
    """The two calls both drivers' DevTools connections offer (pyppeteer's ``Connection``,
    Playwright's ``browser.new_browser_cdp_session()``)."""

    def send(self, method: str, params: dict[str, Any] | None = None) -> Awaitable[Any]: ...

    def on(self, event: str, f: Callable[[dict[str, Any]], Any]) -> Any: ...


class PausedRequests:
    """Every request of one browser paused until the guard has decided: continued, or failed
    with ``AccessDenied``.

    Enabled on the browser's own DevTools session, not on each page's: a page's session does
    not see the requests of its cross-site frames (they run in another renderer process), of
    service workers, or, in Playwright's ``route``, of redirects; the browser's sees them all,
    and Chromium pauses each hop of a redirect as a request of its own.

    A render registers its page's main frame with ``watch``; requests of that frame go to the
    render's ``PageWatch``, so a refused main-frame document (a redirect to a refused address)
    fails that render. Requests no render claims (a service worker's, a frame that is gone)
    are refused all the same and recorded in the guard's ``blocked``."""

    def __init__(self, guard: RequestGuard, session: CdpSession) -> None:
        self.guard = guard
        self.session = session
        self._pages: dict[str, PageWatch] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def enable(self) -> None:
        self.session.on("Fetch.requestPaused", self._on_paused)
        await self.session.send("Fetch.enable", {"patterns": [{"urlPattern": "*"}]})

    def watch(self, main_frame_id: str) -> PageWatch:
        """A fresh record for a render in the page whose main frame is ``main_frame_id``."""
        watch = self.guard.watch()
        self._pages[main_frame_id] = watch
        return watch

    def forget(self, main_frame_id: str) -> None:
        """The page is closed or about to be: its requests are nobody's any more."""
        self._pages.pop(main_frame_id, None)

    def cancel(self) -> None:
        """Drop the decisions in flight: the browser is going away."""
        for task in list(self._tasks):
            task.cancel()
        self._pages.clear()

    def _on_paused(self, event: dict[str, Any]) -> None:
        task = asyncio.ensure_future(self._decide(event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _decide(self, event: dict[str, Any]) -> None:
        claimed = self._pages.get(event.get("frameId", ""))
        watch = claimed if claimed is not None else self.guard.watch()
        navigation = claimed is not None and event.get("resourceType") == "Document"
        request_id = event["requestId"]
        url = event["request"]["url"]
        try:
            allowed = await watch.allows(url, navigation)
        except Exception as exc:  # refuse what could not be checked, rather than leave it paused
            log.warning("could not check %s (%s); refused", url, exc)
            allowed = False
        with contextlib.suppress(Exception):  # the page or the browser may be gone by now
            if allowed:
                await self.session.send("Fetch.continueRequest", {"requestId": request_id})
            else:
                await self.session.send(
                    "Fetch.failRequest", {"requestId": request_id, "errorReason": "AccessDenied"}
                )
