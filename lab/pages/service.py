"""The sample pages as part of the lab: ``lab up`` starts their server in the background (a
``lab.pages.server`` process with its pid file and log in the state folder, as the web servers
have) and ``lab down`` stops it, so a student can render a page right after ``lab up``, with no
internet and no terminal kept busy."""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

from lab import runtime
from lab.config import LabConfig
from lab.endpoints import opener
from lab.pages.server import SAMPLE_PAGES

NAME = "pages"
STARTED, RUNNING, SHARED = "started", "already running", "shared with another lab"


def answers(config: LabConfig) -> bool:
    try:
        with opener().open(config.pages_url + "/sunrise.html", timeout=1.0) as reply:
            return reply.status == 200
    except (urllib.error.URLError, OSError):
        return False


def start(config: LabConfig) -> str:
    """Start the page server unless it runs; ``STARTED`` or ``RUNNING``."""
    if answers(config):  # this lab's, or another lab's on this machine: the same pages
        return RUNNING if runtime.running_pid(config, NAME) else SHARED
    argv = [sys.executable, "-m", "lab.pages.server", "--host", "127.0.0.1"]
    runtime.start_and_wait(
        config,
        NAME,
        [*argv, "--port", str(config.pages_port)],
        lambda: answers(config),
        what="the sample pages",
        wait=15.0,
    )
    return STARTED


def stop(config: LabConfig) -> bool:
    return runtime.stop(config, NAME)


def urls(config: LabConfig) -> list[str]:
    """The sample pages, and the misbehaving ones the lessons use."""
    pages = [config.pages_url + page.path for page in SAMPLE_PAGES.values()]
    return [*pages, config.pages_url + "/slow?ms=5000", config.pages_url + "/sample/1"]
