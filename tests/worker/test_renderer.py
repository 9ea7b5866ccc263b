"""The renderers' contract against Debian's Chromium and the local sample pages: real pixels,
timeouts, crashes, the process group, and the request guard inside a real browser."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest

from lab.pages.server import PAGE_BACKGROUND, PROBE_COLOUR, SAMPLE_PAGES, generated_colours
from lab.runtime import LabError
from lab.worker import renderer as renderer_module
from lab.worker.renderer import (
    BrowserNotFound,
    BrowserStartError,
    PyppeteerRenderer,
    RenderError,
    RenderTimeout,
    RequestGuard,
    find_browser,
    make_renderer,
)
from lab.worker.renderer.guard import RECENT_BLOCKED
from lab.worker.url_policy import PolicyError, UrlPolicy
from tests.support.png import close_to, decode, header
from tests.support.ports import free_port
from tests.support.waiting import wait_until, wait_until_async
from tests.worker.conftest import TRICKY_HOST, SideDoors

pytestmark = pytest.mark.skipif(
    not any(os.path.exists(p) for p in ("/usr/bin/chromium",)), reason="needs Debian's chromium"
)


def test_renders_the_sample_page_with_its_real_pixels(renderer, run, pages) -> None:
    page = SAMPLE_PAGES["sunrise"]
    data = run(renderer.render(pages.url(page.path)))
    assert header(data) == (1280, 800)
    image = decode(data)
    assert close_to(image.pixel(1200, 20), page.band)
    assert close_to(image.pixel(640, 400), page.block)  # the block's top-left corner
    assert close_to(image.pixel(1279, 799), page.block)
    assert close_to(image.pixel(639, 600), PAGE_BACKGROUND)  # just left of the block
    assert close_to(image.pixel(1000, 399), PAGE_BACKGROUND)  # just above it


def test_viewport_size_is_honoured(renderer, run, pages) -> None:
    data = run(renderer.render(pages.url(SAMPLE_PAGES["ocean"].path), width=800, height=600))
    assert header(data) == (800, 600)
    image = decode(data)
    assert close_to(image.pixel(10, 10), SAMPLE_PAGES["ocean"].band)
    assert close_to(image.pixel(700, 500), SAMPLE_PAGES["ocean"].block)


def test_hanging_page_gives_up_on_time_and_the_browser_stays_usable(renderer, run, pages) -> None:
    start = time.monotonic()
    with pytest.raises(RenderTimeout) as info:
        run(renderer.render(pages.url("/hang"), timeout=1.5))
    elapsed = time.monotonic() - start
    assert 1.4 < elapsed < 1.5 + 2.0, elapsed
    assert "1.5 s" in info.value.reason
    launches = renderer.launches
    image = decode(run(renderer.render(pages.url(SAMPLE_PAGES["forest"].path), timeout=10)))
    assert close_to(image.pixel(1200, 20), SAMPLE_PAGES["forest"].band)
    assert renderer.launches == launches  # same browser


def test_slow_page_within_the_timeout_renders(renderer, run, pages) -> None:
    data = run(renderer.render(pages.url("/slow?ms=700"), timeout=5))
    band, _ = generated_colours(700)
    assert close_to(decode(data).pixel(1200, 20), band)


def test_parallel_renders_share_one_browser(renderer, run, pages) -> None:
    async def many() -> tuple[list[bytes], float]:
        start = time.monotonic()
        # distinct URLs: Chromium's cache lock queues identical GETs behind each other
        slow = [renderer.render(pages.url(f"/slow?ms={1000 + i}"), timeout=10) for i in range(3)]
        shots = await asyncio.gather(*slow)
        elapsed = time.monotonic() - start
        fast = [renderer.render(pages.url(f"/sample/{n}"), timeout=10) for n in range(1, 7)]
        return [*shots, *await asyncio.gather(*fast)], elapsed

    run(renderer.render(pages.url("/sample/0")))  # warm
    launches = renderer.launches
    pages.peak_in_flight["/slow"] = 0
    shots, _ = run(many())
    assert pages.peak_in_flight["/slow"] == 3, "the 3 slow pages were never served at once"
    for n, data in enumerate(shots[3:], start=1):
        band, block = generated_colours(n)
        image = decode(data)
        assert close_to(image.pixel(1200, 20), band), n
        assert close_to(image.pixel(1000, 700), block), n
    assert renderer.launches == launches


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://127.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://metadata.linklocal.test/latest/meta-data/",
    ],
)
def test_refused_urls_never_reach_the_browser(run, pages, url: str) -> None:
    r = PyppeteerRenderer(resolver=_link_local_resolver)
    try:
        with pytest.raises(PolicyError) as info:
            run(r.render(url))
        assert info.value.reason
        assert r.launches == 0 and r.pid is None  # no browser, so certainly no navigation
    finally:
        run(r.close())


def live_group_members(pgid: int) -> list[int]:
    """Processes still running in Chromium's process group (zombies waiting for init do not
    count: they hold no memory)."""
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(entry.name))
    return alive


async def _link_local_resolver(host: str) -> list[str]:
    return ["169.254.169.254"] if host.endswith("linklocal.test") else ["127.0.0.1"]


def test_the_guard_asks_the_policy_about_every_request_but_internal_ones(run) -> None:
    """The rules both renderers share, without a browser: what passes unasked, what is
    recorded, and when a refusal fails the render rather than leaving a hole."""
    guard = RequestGuard(resolver=_link_local_resolver)
    watch = guard.watch()
    for url in ("data:text/css,p{}", "blob:http://127.0.0.1/x", "about:blank", "http://127.0.0.1/"):
        assert run(watch.allows(url, navigation=True)), url
    assert watch.blocked == guard.blocked == []
    refused = "http://metadata.linklocal.test/latest/meta-data/"
    assert not run(watch.allows(refused))
    [blocked] = watch.blocked
    assert (blocked.url, blocked.navigation) == (refused, False) and "metadata" in blocked.reason
    assert guard.blocked == [blocked]
    watch.raise_if_navigation_blocked()  # a refused sub-resource leaves a hole, no error
    assert not run(watch.allows("http://169.254.169.254/latest/", navigation=True))
    with pytest.raises(PolicyError, match="redirected to a refused address: .*metadata"):
        watch.raise_if_navigation_blocked()
    assert guard.watch().blocked == []  # the next render starts clean
    with pytest.raises(PolicyError, match="scheme"):
        run(guard.check_url("file:///etc/passwd"))


def test_the_guard_remembers_only_the_latest_refusals(run) -> None:
    guard = RequestGuard()
    watch = guard.watch()
    for n in range(RECENT_BLOCKED + 20):
        assert not run(watch.allows(f"http://169.254.169.254/{n}"))
    assert len(guard.blocked) == RECENT_BLOCKED
    assert guard.blocked[-1].url.endswith(f"/{RECENT_BLOCKED + 19}")
    assert len(watch.blocked) == RECENT_BLOCKED + 20  # one render's own record is complete


def test_sub_request_to_a_refused_address_is_blocked(tricky_renderer, run, pages) -> None:
    before = pages.hits["/probe.css"]
    # Control: the same stylesheet from an allowed address paints the page.
    allowed = run(tricky_renderer.render(pages.url(f"/embed?css={pages.url('/probe.css')}")))
    assert close_to(decode(allowed).pixel(600, 600), PROBE_COLOUR)
    assert pages.hits["/probe.css"] == before + 1
    # The policy thinks tricky.test is link-local; the browser would reach the page server.
    refused = f"http://{TRICKY_HOST}:{pages.port}/probe.css"
    data = run(tricky_renderer.render(pages.url(f"/embed?css={refused}")))
    assert close_to(decode(data).pixel(600, 600), PAGE_BACKGROUND)
    assert pages.hits["/probe.css"] == before + 1
    assert tricky_renderer.blocked[-1].url == refused
    assert "link-local" in tricky_renderer.blocked[-1].reason
    assert not tricky_renderer.blocked[-1].navigation


def test_redirect_to_a_refused_address_is_blocked(tricky_renderer, run, pages) -> None:
    before = pages.hits["/ocean.html"]
    target = f"http://{TRICKY_HOST}:{pages.port}/ocean.html"
    with pytest.raises(PolicyError) as info:
        run(tricky_renderer.render(pages.url(f"/redirect?to={target}"), timeout=10))
    assert "redirect" in info.value.reason and "link-local" in info.value.reason
    assert pages.hits["/ocean.html"] == before
    # and the renderer carries on
    data = run(tricky_renderer.render(pages.url(SAMPLE_PAGES["ocean"].path)))
    assert close_to(decode(data).pixel(1200, 20), SAMPLE_PAGES["ocean"].band)


@pytest.mark.parametrize("door", SideDoors.DOORS)
def test_requests_from_other_frames_and_workers_are_blocked_too(
    tricky_renderer, run, side_doors: SideDoors, door: str
) -> None:
    """A page's own DevTools session misses these; the guard holds the browser's requests."""
    run(tricky_renderer.render(side_doors.url(f"/{door}"), timeout=10))
    refused = side_doors.probe(door)
    run(wait_until_async(lambda: any(b.url == refused for b in tricky_renderer.blocked), 10))
    assert side_doors.hits[door] == 0


def test_page_that_fails_to_load_is_a_render_error(renderer, run) -> None:
    # Loopback but nobody listens: allowed by the lab policy, fails in the browser.
    port = free_port()
    with pytest.raises(RenderError) as info:
        run(renderer.render(f"http://127.0.0.1:{port}/", timeout=10))
    assert "ERR_CONNECTION_REFUSED" in info.value.reason


def test_strict_policy_refuses_the_local_pages(run, pages) -> None:
    r = PyppeteerRenderer(policy=UrlPolicy())
    try:
        with pytest.raises(PolicyError, match="loopback"):
            run(r.render(pages.url("/sunrise.html")))
    finally:
        run(r.close())


def test_a_crashed_browser_is_replaced_on_the_next_render(run, pages) -> None:
    r = PyppeteerRenderer(parallel=1)
    try:
        run(r.render(pages.url("/sunrise.html")))
        first, chromium = r.pid, r.process
        assert first is not None and chromium is not None
        os.killpg(first, signal.SIGKILL)
        wait_until(lambda: not chromium.running(), 5, 0.02)  # the crash has happened
        data = run(r.render(pages.url("/forest.html")))
        assert close_to(decode(data).pixel(1200, 20), SAMPLE_PAGES["forest"].band)
        assert r.launches == 2 and r.pid != first
    finally:
        run(r.close())


def test_a_crash_during_a_render_fails_that_render_only(run, pages) -> None:
    r = PyppeteerRenderer(parallel=1)

    async def crash_soon(slow_hits: int) -> None:
        # once the page server holds the slow page's request, the render is under way
        await wait_until_async(lambda: pages.hits["/slow"] > slow_hits, 5)
        os.killpg(r.pid, signal.SIGKILL)

    async def main() -> float:
        await r.render(pages.url("/sunrise.html"))
        start = time.monotonic()
        crasher = asyncio.ensure_future(crash_soon(pages.hits["/slow"]))
        with pytest.raises(RenderError):
            await r.render(pages.url("/slow?ms=4000"), timeout=8)
        await crasher
        return time.monotonic() - start

    try:
        elapsed = run(main())
        assert elapsed < 4, elapsed
        data = run(r.render(pages.url("/ocean.html")))
        assert close_to(decode(data).pixel(1200, 20), SAMPLE_PAGES["ocean"].band)
        assert r.launches == 2
    finally:
        run(r.close())


def test_close_stops_chromium_and_removes_its_profile(run, pages) -> None:
    r = PyppeteerRenderer(parallel=1)
    run(r.render(pages.url("/sunrise.html")))
    chromium = r.process
    assert chromium is not None
    run(r.close())
    assert chromium.proc.poll() is not None
    assert not chromium.profile.exists()
    assert live_group_members(chromium.proc.pid) == []
    run(r.close())  # twice is fine


def test_missing_browser_is_a_clear_error() -> None:
    with pytest.raises(BrowserNotFound, match="apt-get install chromium"):
        find_browser(candidates=("no-such-chromium",))
    with pytest.raises(BrowserNotFound, match="apt-get install chromium"):
        PyppeteerRenderer(executable="/nonexistent/chromium")
    with pytest.raises(BrowserNotFound, match="LAB_CHROMIUM"):
        make_renderer("pyppeteer", executable="/nonexistent/chromium")
    assert issubclass(BrowserNotFound, LabError)


def test_the_browser_is_the_callers_choice_not_the_environments(monkeypatch) -> None:
    """``LabConfig`` is the one reader of ``LAB_CHROMIUM``; ``lab worker`` passes its value."""
    monkeypatch.setenv("LAB_CHROMIUM", "/nonexistent/chromium")
    assert find_browser() == "/usr/bin/chromium"
    assert find_browser("chromium").endswith("/chromium")  # a name on PATH will do


def test_browser_that_dies_at_start_is_an_error_not_a_hang(run, tmp_path: Path) -> None:
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\necho 'cannot open display' >&2\nexit 3\n")
    fake.chmod(0o755)
    r = PyppeteerRenderer(executable=str(fake))
    start = time.monotonic()
    with pytest.raises(BrowserStartError, match="status 3") as info:
        run(r.render("http://127.0.0.1:9/"))
    assert "cannot open display" in str(info.value)
    assert time.monotonic() - start < 5


def test_unknown_renderer_is_named() -> None:
    with pytest.raises(LabError, match="unknown renderer"):
        make_renderer("webshot")
    assert renderer_module.RENDERERS == ("pyppeteer", "playwright")
