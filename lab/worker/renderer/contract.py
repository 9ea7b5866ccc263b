"""What the worker loop may rely on from any renderer, and where the browser comes from.

The loop knows renderers only through this module: the ``Renderer`` protocol, the two errors a
render may end with besides ``PolicyError`` (``RenderError``, ``RenderTimeout``), and the
defaults of a render. ``find_browser`` is here because both renderers drive the same Chromium.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from typing import Protocol

from lab.runtime import LabError

DEFAULT_WIDTH = 1280
DEFAULT_HEIGHT = 800
DEFAULT_TIMEOUT = 30.0

# Debian's package first: it is what the lab installs and what the tests were measured with.
CANDIDATES = (
    "/usr/bin/chromium",
    "chromium",
    "chromium-browser",
    "google-chrome-stable",
    "google-chrome",
)

INSTALL_HINT = "install Debian's Chromium with `apt-get install chromium`"


class RenderError(RuntimeError):
    """The page could not be rendered. ``reason`` is short enough for a job's failed status."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"could not render {url!r}: {reason}")
        self.url = url
        self.reason = reason


class RenderTimeout(RenderError):
    """No page within the render's timeout; the renderer stays usable for the next render."""


class BrowserNotFound(LabError):
    """No Chromium on this machine. Subclasses ``LabError`` so ``lab worker`` prints one line."""


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
    ) -> bytes:
        """PNG bytes of ``url``. Raises ``PolicyError`` for a URL (or a redirect of the page)
        the policy refuses, ``RenderTimeout`` after ``timeout`` seconds, ``RenderError`` for a
        page that does not load."""
        ...

    async def start(self) -> None:
        """Start the browser now, so a worker that cannot start one says so at once."""
        ...

    async def close(self) -> None:
        """Stop the browser and everything it started. Safe to call twice."""
        ...


def find_browser(executable: str | None = None, candidates: Sequence[str] = CANDIDATES) -> str:
    """The Chromium to drive: ``executable`` (a path or a name on ``PATH``), else the first of
    ``candidates`` found. The caller says which browser it wants (``lab worker`` passes
    ``LabConfig.chromium``, set by ``LAB_CHROMIUM``); this function reads no environment, so
    one setting decides for every part of the lab."""
    if executable:
        found = shutil.which(executable)
        if found:
            return found
        raise BrowserNotFound(
            f"no browser at {executable!r}; set LAB_CHROMIUM to a Chromium/Chrome executable,"
            f" or unset it and {INSTALL_HINT}"
        )
    for name in candidates:
        found = shutil.which(name)
        if found:
            return found
    raise BrowserNotFound(
        f"no Chromium found (looked for {', '.join(candidates)}); {INSTALL_HINT}"
        " (or set LAB_CHROMIUM to a Chromium executable)"
    )


def short_reason(exc: BaseException) -> str:
    """The first line of an error, bounded: a browser's errors can carry pages of call log, and
    the reason ends up in a job's status and in the worker's one-line log entries."""
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]
