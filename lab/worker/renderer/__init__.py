"""Turning a URL into a PNG with a real browser: the package the worker loop and ``lab worker``
import from.

* ``contract``: the ``Renderer`` protocol, its errors and defaults, and ``find_browser``;
* ``chromium``: Chromium's process life (start, DevTools endpoint, stop with its whole group);
* ``guard``: the URL policy applied to every request a page makes, shared by both renderers;
* ``pyppeteer``: the default renderer, pyppeteer connected to a Chromium started here;
* ``playwright``: the optional second renderer (``pip install 'decoupling-lab[playwright]'``).
"""

from __future__ import annotations

from typing import Any

from lab.runtime import LabError
from lab.worker.renderer.chromium import CHROMIUM_FLAGS, BrowserStartError, ChromiumProcess
from lab.worker.renderer.contract import (
    CANDIDATES,
    DEFAULT_HEIGHT,
    DEFAULT_TIMEOUT,
    DEFAULT_WIDTH,
    BrowserNotFound,
    Renderer,
    RenderError,
    RenderTimeout,
    find_browser,
)
from lab.worker.renderer.guard import BlockedRequest, CachingResolver, RequestGuard
from lab.worker.renderer.playwright import PlaywrightRenderer
from lab.worker.renderer.pyppeteer import PyppeteerRenderer

__all__ = [
    "CANDIDATES",
    "CHROMIUM_FLAGS",
    "DEFAULT_HEIGHT",
    "DEFAULT_TIMEOUT",
    "DEFAULT_WIDTH",
    "RENDERERS",
    "BlockedRequest",
    "BrowserNotFound",
    "BrowserStartError",
    "CachingResolver",
    "ChromiumProcess",
    "PlaywrightRenderer",
    "PyppeteerRenderer",
    "RenderError",
    "RenderTimeout",
    "Renderer",
    "RequestGuard",
    "find_browser",
    "make_renderer",
]

RENDERERS = ("pyppeteer", "playwright")


def make_renderer(kind: str = "pyppeteer", **options: Any) -> Renderer:
    """The renderer ``lab worker --renderer KIND`` asks for; ``options`` go to its constructor
    (``executable``, ``parallel``, ``policy``, ``resolver``)."""
    if kind == "pyppeteer":
        return PyppeteerRenderer(**options)
    if kind == "playwright":
        return PlaywrightRenderer(**options)
    raise LabError(f"unknown renderer {kind!r}; choose one of {', '.join(RENDERERS)}")
