"""Looking at a page the way a student does: headless Debian Chromium, with the worker's flags."""

from __future__ import annotations

import subprocess
from pathlib import Path

from lab.worker.renderer import CHROMIUM_FLAGS, find_browser


def dump_dom(url: str, profile: Path | str) -> str:
    """The DOM after the page ran, as Chromium's ``--dump-dom`` prints it."""
    argv = [find_browser(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", url]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout
