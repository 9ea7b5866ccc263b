"""Turning a URL into a PNG with a real browser.

The book's worker used node-webshot, which started PhantomJS once per message; starting a
browser costs far more than rendering a small page (about 20 times here, see
``bench/render_throughput.py``). So a worker keeps one warm Chromium and renders several pages
in it at once, and everything below exists to keep that one browser healthy for hours:

* pyppeteer's ``goto`` timeout never fires when a server accepts the connection and never
  answers, so each render is bounded by ``asyncio.wait_for`` and a stalled tab is thrown away.
* pyppeteer's own launcher polls for the DevTools port with a blocking sleep (up to 30 s, even
  when Chromium has already died), races for a free port, and leaves Chromium running when it
  fails. This module starts Chromium itself (``--remote-debugging-port=0``, its own session and
  throw-away profile), connects pyppeteer to it, and kills the whole process group on close.
* If Chromium crashes, the next render starts a new one.
* Every request the page makes, the document, its redirects and its sub-resources, is paused
  (CDP ``Fetch`` domain) and checked against the URL policy, because checking only the URL in
  the message would let a page redirect or embed its way to the metadata service.

No browser, no image: a missing Chromium is an error that names the package, never a
placeholder PNG that would look like success.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from lab.runtime import LabError
from lab.worker.url_policy import LAB_POLICY, AsyncResolver, PolicyError, UrlPolicy

log = logging.getLogger(__name__)

DEFAULT_WIDTH = 1280
DEFAULT_HEIGHT = 800
DEFAULT_TIMEOUT = 30.0

# From shared/reference/this-machine.md: without the network flags Chromium opens connections
# of its own (updates, sync, safe browsing) that a worker has no business making.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-breakpad",
    "--disable-dev-shm-usage",
    "--disable-features=Translate,MediaRouter,OptimizationHints",
    "--hide-scrollbars",
    "--mute-audio",
    "--password-store=basic",
    "--use-mock-keychain",
)

CANDIDATES = (
    "/usr/bin/chromium",
    "chromium",
    "chromium-browser",
    "google-chrome-stable",
    "google-chrome",
)

# Requests the policy need not see: they never leave the browser.
_INTERNAL_SCHEMES = ("data", "blob", "about")


class RenderError(RuntimeError):
    """The page could not be rendered. ``reason`` is short enough for a job's failed status."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"could not render {url!r}: {reason}")
        self.url = url
        self.reason = reason


class RenderTimeout(RenderError):
    pass


class BrowserNotFound(LabError):
    """No Chromium on this machine. Subclasses ``LabError`` so ``lab worker`` prints one line."""


class BrowserStartError(LabError):
    pass


class Renderer(Protocol):
    """What the worker loop needs from a renderer. Implementations keep their browser between
    calls and allow concurrent ``render`` calls up to their own limit."""

    launches: int  # browsers started so far: a warm renderer keeps this at 1

    async def render(
        self,
        url: str,
        width: int = DEFAULT_WIDTH,
        height: int = DEFAULT_HEIGHT,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> bytes: ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...


def find_browser(executable: str | None = None, candidates: Sequence[str] = CANDIDATES) -> str:
    """The Chromium to drive: ``executable``, else ``$LAB_CHROMIUM``, else Debian's."""
    wanted = executable or os.environ.get("LAB_CHROMIUM")
    if wanted:
        found = shutil.which(wanted)
        if found:
            return found
        raise BrowserNotFound(
            f"no browser at {wanted!r}; install Debian's Chromium with `apt-get install chromium`"
            " (or point LAB_CHROMIUM at a Chromium/Chrome executable)"
        )
    for name in candidates:
        found = shutil.which(name)
        if found:
            return found
    raise BrowserNotFound(
        "no Chromium found (looked for " + ", ".join(candidates) + "); install Debian's package"
        " with `apt-get install chromium` (or set LAB_CHROMIUM to a Chromium executable)"
    )


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
    navigation: bool


@dataclass
class _Tab:
    """A page kept open between renders, with what its request guard saw this render."""

    page: Any
    size: tuple[int, int]
    blocked: list[BlockedRequest] = field(default_factory=list)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)


@dataclass
class _Chromium:
    proc: subprocess.Popen[bytes]
    profile: Path
    browser: Any = None

    def alive(self) -> bool:
        if self.proc.poll() is not None or self.browser is None:
            return False
        return bool(self.browser._connection._connected)


class PyppeteerRenderer:
    """One warm Chromium driven by pyppeteer, ``parallel`` pages at a time.

    ``blocked`` keeps the sub-requests the policy refused during the last renders (newest
    last, bounded), so the worker can log them and lessons can show them."""

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
        self.policy = policy
        self.resolver: AsyncResolver = resolver or CachingResolver()
        self.launch_timeout = launch_timeout
        self.extra_args = tuple(extra_args)
        self.launches = 0
        self.blocked: list[BlockedRequest] = []
        self._chromium: _Chromium | None = None
        self._launch_lock = asyncio.Lock()
        self._slots = asyncio.Semaphore(parallel)
        self._idle: list[_Tab] = []

    # --- public ------------------------------------------------------------------------------

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
        verdict = await self.policy.check_async(url, self.resolver)
        if not verdict:
            raise PolicyError(url, verdict.reason)
        async with self._slots:
            chromium = await self._ensure_browser()
            tab = await self._take_tab(chromium, width, height)
            try:
                png = await asyncio.wait_for(self._navigate_and_shoot(tab, url, timeout), timeout)
            except TimeoutError:
                await self._discard(tab)
                raise RenderTimeout(url, f"no page after {timeout:g} s") from None
            except PolicyError:
                await self._discard(tab)
                raise
            except Exception as exc:
                await self._discard(tab)
                if not chromium.alive():
                    reason = "the browser crashed; it restarts on the next render"
                    raise RenderError(url, reason) from exc
                raise RenderError(url, _short(exc)) from exc
            self._idle.append(tab)
            return png

    async def close(self) -> None:
        """Close the browser and wait for it; kill it if it does not go. Safe to call twice."""
        async with self._launch_lock:
            chromium, self._chromium = self._chromium, None
            self._idle.clear()
            if chromium is not None:
                await _shutdown(chromium)

    async def __aenter__(self) -> PyppeteerRenderer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def pid(self) -> int | None:
        """Chromium's pid, for tests that crash it on purpose."""
        return self._chromium.proc.pid if self._chromium else None

    # --- browser lifecycle -------------------------------------------------------------------

    async def _ensure_browser(self) -> _Chromium:
        async with self._launch_lock:
            if self._chromium is not None and self._chromium.alive():
                return self._chromium
            if self._chromium is not None:
                log.warning(
                    "Chromium (pid %s) is gone; starting a new one", self._chromium.proc.pid
                )
                old, self._chromium = self._chromium, None
                self._idle.clear()
                await _shutdown(old)
            self._chromium = await self._launch()
            self.launches += 1
            return self._chromium

    async def _launch(self) -> _Chromium:
        import pyppeteer

        _remove_stale_profiles()
        profile = Path(tempfile.mkdtemp(prefix=f"{PROFILE_PREFIX}{os.getpid()}-"))
        argv = [
            *_die_with_parent(),
            self.executable,
            *CHROMIUM_FLAGS,
            *self.extra_args,
            f"--user-data-dir={profile}",
            "--remote-debugging-port=0",
            "about:blank",
        ]
        with open(profile / "chromium.log", "wb") as stderr:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,  # so close() can kill renderers and zygotes too
            )
        chromium = _Chromium(proc, profile)
        try:
            endpoint = await self._devtools_endpoint(chromium)
            chromium.browser = await asyncio.wait_for(
                pyppeteer.connect(
                    browserWSEndpoint=endpoint,
                    defaultViewport={"width": DEFAULT_WIDTH, "height": DEFAULT_HEIGHT},
                ),
                self.launch_timeout,
            )
        except BaseException:
            await _shutdown(chromium)
            raise
        log.info("Chromium started (pid %s)", proc.pid)
        return chromium

    async def _devtools_endpoint(self, chromium: _Chromium) -> str:
        """Chromium writes its DevTools port and path to the profile once it listens."""
        port_file = chromium.profile / "DevToolsActivePort"
        deadline = time.monotonic() + self.launch_timeout
        while time.monotonic() < deadline:
            if chromium.proc.poll() is not None:
                tail = _tail(chromium.profile / "chromium.log")
                raise BrowserStartError(
                    f"{self.executable} exited with status {chromium.proc.returncode} at start"
                    + (f":\n{tail}" if tail else "")
                )
            with contextlib.suppress(FileNotFoundError, ValueError):
                lines = port_file.read_text().split("\n")
                if len(lines) >= 2 and lines[0].strip() and lines[1].strip():
                    return f"ws://127.0.0.1:{int(lines[0])}{lines[1].strip()}"
            await asyncio.sleep(0.02)
        raise BrowserStartError(
            f"{self.executable} did not open DevTools in {self.launch_timeout} s"
        )

    # --- tabs --------------------------------------------------------------------------------

    async def _take_tab(self, chromium: _Chromium, width: int, height: int) -> _Tab:
        while self._idle:
            tab = self._idle.pop()
            if not tab.page.isClosed():
                break
        else:
            page = await chromium.browser.newPage()
            tab = _Tab(page, (DEFAULT_WIDTH, DEFAULT_HEIGHT))
            await self._guard(tab)
        tab.blocked = []
        if tab.size != (width, height):
            await tab.page.setViewport({"width": width, "height": height})
            tab.size = (width, height)
        return tab

    async def _guard(self, tab: _Tab) -> None:
        """Pause every request of this tab until the policy has looked at it."""
        client = tab.page._client

        def on_paused(event: dict[str, Any]) -> None:
            task = asyncio.ensure_future(self._decide(client, tab, event))
            tab.tasks.add(task)
            task.add_done_callback(tab.tasks.discard)

        client.on("Fetch.requestPaused", on_paused)
        await client.send("Fetch.enable", {"patterns": [{"urlPattern": "*"}]})

    async def _decide(self, client: Any, tab: _Tab, event: dict[str, Any]) -> None:
        url = event["request"]["url"]
        request_id = event["requestId"]
        scheme = urlsplit(url).scheme.lower()
        if scheme in _INTERNAL_SCHEMES:
            verdict_ok, reason = True, ""
        else:
            verdict = await self.policy.check_async(url, self.resolver)
            verdict_ok, reason = verdict.allowed, verdict.reason
        with contextlib.suppress(Exception):  # the tab may be gone by now
            if verdict_ok:
                await client.send("Fetch.continueRequest", {"requestId": request_id})
                return
            navigation = event.get("resourceType") == "Document" and event.get(
                "frameId"
            ) == _main_frame_id(tab.page)
            blocked = BlockedRequest(url, reason, navigation)
            tab.blocked.append(blocked)
            self.blocked = [*self.blocked[-99:], blocked]
            log.warning("blocked request to %s: %s", url, reason)
            await client.send(
                "Fetch.failRequest", {"requestId": request_id, "errorReason": "AccessDenied"}
            )

    async def _navigate_and_shoot(self, tab: _Tab, url: str, timeout: float) -> bytes:
        page = tab.page
        try:
            response = await page.goto(url, {"waitUntil": "load", "timeout": timeout * 1000})
        except Exception:
            self._raise_if_navigation_blocked(tab)
            raise
        self._raise_if_navigation_blocked(tab)
        if response is None:
            raise RenderError(url, "no response")
        result = await page._client.send("Page.captureScreenshot", {"format": "png"})
        return base64.b64decode(result["data"])

    @staticmethod
    def _raise_if_navigation_blocked(tab: _Tab) -> None:
        for blocked in tab.blocked:
            if blocked.navigation:
                raise PolicyError(blocked.url, "redirected to a refused address: " + blocked.reason)

    async def _discard(self, tab: _Tab) -> None:
        """Close a tab that stalled or failed. A stalled tab cannot simply be reused: going back
        to the same URL fails with net::ERR_ABORTED, so it is closed and a fresh one is made on
        the next render. Bounded, because a hung browser must not hang the worker."""
        for task in list(tab.tasks):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(tab.page.close(), 3)


PROFILE_PREFIX = "lab-chromium-"


def _die_with_parent() -> list[str]:
    """Chromium runs in its own session (so ``close`` can kill its whole group), which also
    means it would outlive a worker killed with SIGKILL, one orphaned browser per crash. With
    util-linux's ``setpriv --pdeathsig`` the kernel kills it when the worker dies (its helper
    processes exit when the browser process goes). No ``preexec_fn``: the worker has threads."""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL", "--"] if setpriv else []


def _remove_stale_profiles() -> None:
    """Profiles of workers that died without closing their browser (the pid is in the name)."""
    for path in Path(tempfile.gettempdir()).glob(f"{PROFILE_PREFIX}*-*"):
        pid = path.name[len(PROFILE_PREFIX) :].split("-", 1)[0]
        if not pid.isdigit() or Path(f"/proc/{pid}").exists():
            continue
        shutil.rmtree(path, ignore_errors=True)


def _main_frame_id(page: Any) -> str | None:
    frame = page.mainFrame
    return frame._id if frame is not None else None


async def _shutdown(chromium: _Chromium, grace: float = 3.0) -> None:
    """Ask the browser to close, wait for the process, then kill its whole process group; a
    browser left behind by a worker would hold memory until the machine is rebooted."""
    try:
        if chromium.browser is not None:
            if chromium.proc.poll() is None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(
                        chromium.browser._connection.send("Browser.close"), grace
                    )
            with contextlib.suppress(Exception):
                await asyncio.wait_for(chromium.browser._connection.dispose(), grace)
        deadline = time.monotonic() + grace
        while chromium.proc.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(chromium.proc.pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            chromium.proc.wait(5)
        shutil.rmtree(chromium.profile, ignore_errors=True)


def _tail(path: Path, lines: int = 8) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


# --- Playwright, the optional second renderer ------------------------------------------------


class PlaywrightRenderer:
    """The same contract on Playwright (maintained, unlike pyppeteer), driving the same Debian
    Chromium: ``executable_path``, never ``playwright install``."""

    def __init__(
        self,
        executable: str | None = None,
        parallel: int = 4,
        policy: UrlPolicy = LAB_POLICY,
        resolver: AsyncResolver | None = None,
    ) -> None:
        try:
            import playwright.async_api  # noqa: F401
        except ImportError:
            raise LabError(
                "the Playwright renderer is an extra: pip install 'decoupling-lab[playwright]'"
                " (it drives the system Chromium; no `playwright install` needed)"
            ) from None
        self.executable = find_browser(executable)
        self.policy = policy
        self.resolver: AsyncResolver = resolver or CachingResolver()
        self.parallel = parallel
        self.blocked: list[BlockedRequest] = []
        self._slots = asyncio.Semaphore(parallel)
        self._lock = asyncio.Lock()
        self._pw: Any = None
        self._browser: Any = None
        self.launches = 0

    async def start(self) -> None:
        await self._ensure_browser()

    async def _ensure_browser(self) -> Any:
        async with self._lock:
            if self._browser is not None and self._browser.is_connected():
                return self._browser
            from playwright.async_api import async_playwright

            if self._pw is None:
                self._pw = await async_playwright().start()
            self._browser = await self._pw.chromium.launch(
                executable_path=self.executable,
                args=[f for f in CHROMIUM_FLAGS if f != "--headless"],
                headless=True,
            )
            self.launches += 1
            return self._browser

    async def render(
        self,
        url: str,
        width: int = DEFAULT_WIDTH,
        height: int = DEFAULT_HEIGHT,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> bytes:
        verdict = await self.policy.check_async(url, self.resolver)
        if not verdict:
            raise PolicyError(url, verdict.reason)
        async with self._slots:
            browser = await self._ensure_browser()
            context = await browser.new_context(viewport={"width": width, "height": height})
            blocked: list[BlockedRequest] = []

            async def guard(route: Any, request: Any) -> None:
                if urlsplit(request.url).scheme.lower() in _INTERNAL_SCHEMES:
                    await route.continue_()
                    return
                verdict = await self.policy.check_async(request.url, self.resolver)
                if verdict:
                    await route.continue_()
                else:
                    nav = request.is_navigation_request() and request.frame.parent_frame is None
                    blocked.append(BlockedRequest(request.url, verdict.reason, nav))
                    self.blocked = [*self.blocked[-99:], blocked[-1]]
                    await route.abort("accessdenied")

            try:
                await context.route("**/*", guard)
                page = await context.new_page()
                try:
                    await asyncio.wait_for(
                        page.goto(url, wait_until="load", timeout=timeout * 1000), timeout
                    )
                except TimeoutError:
                    raise RenderTimeout(url, f"no page after {timeout:g} s") from None
                except Exception as exc:
                    for b in blocked:
                        if b.navigation:
                            reason = "redirected to a refused address: " + b.reason
                            raise PolicyError(b.url, reason) from exc
                    if "Timeout" in type(exc).__name__:
                        raise RenderTimeout(url, f"no page after {timeout:g} s") from None
                    raise RenderError(url, _short(exc)) from exc
                for b in blocked:
                    if b.navigation:
                        raise PolicyError(b.url, "redirected to a refused address: " + b.reason)
                return await page.screenshot(type="png")
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(context.close(), 3)

    async def close(self) -> None:
        async with self._lock:
            with contextlib.suppress(Exception):
                if self._browser is not None:
                    await asyncio.wait_for(self._browser.close(), 5)
            with contextlib.suppress(Exception):
                if self._pw is not None:
                    await self._pw.stop()
            self._browser = self._pw = None


RENDERERS = ("pyppeteer", "playwright")


def make_renderer(kind: str = "pyppeteer", **options: Any) -> Renderer:
    """The renderer ``lab worker --renderer KIND`` asks for."""
    if kind == "pyppeteer":
        return PyppeteerRenderer(**options)
    if kind == "playwright":
        return PlaywrightRenderer(**options)
    raise LabError(f"unknown renderer {kind!r}; choose one of {', '.join(RENDERERS)}")
