"""Chromium's process life, for a renderer that connects to it over the DevTools protocol.

pyppeteer's own launcher polls for the DevTools port with a blocking sleep (up to 30 s, even when
Chromium has already died), races for a free port, and leaves Chromium running when it fails.
So the process is started here instead:

* ``--remote-debugging-port=0``: Chromium picks a free port itself and writes it, with the
  browser's WebSocket path, to ``DevToolsActivePort`` in its profile once it listens; the
  launcher polls that file without blocking the event loop and notices an early exit at once.
* Its own session, so stopping it kills the whole process group (renderers, zygotes, the GPU
  process), not only the browser process: a browser left behind by a worker would hold memory
  until the machine is rebooted.
* ``setpriv --pdeathsig KILL``, so the kernel kills it when the worker dies, even by SIGKILL.
* A throw-away profile whose name carries the worker's pid, so the profiles of workers that died
  without cleaning up are recognised and removed at the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from lab.runtime import LabError, die_with_parent

# Headless without a display or GPU; as root in a container, where Chromium's sandbox does not
# start; with shared memory in /tmp rather than /dev/shm, which containers often make tiny.
# Without the network flags Chromium opens connections of its own (component updates, sync,
# safe browsing, translation and media-router look-ups) that a worker has no business making
# and that a machine without Internet access refuses. The rest keep first-run dialogs, crash
# reporting, extensions, scrollbars and sound out of the screenshots and the logs.
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

PROFILE_PREFIX = "lab-chromium-"


class BrowserStartError(LabError):
    """Chromium exited at start or did not open DevTools in time; the message has its log's
    tail, which usually names the cause."""


@dataclass
class ChromiumProcess:
    """One running Chromium, its profile folder and the DevTools endpoint it listens on."""

    proc: subprocess.Popen[bytes]
    profile: Path
    endpoint: str = ""

    @classmethod
    async def launch(
        cls, executable: str, extra_args: Iterable[str] = (), timeout: float = 30.0
    ) -> ChromiumProcess:
        """Start Chromium on ``about:blank`` and return once its DevTools endpoint is known.
        Raises ``BrowserStartError`` (with the process gone) if it exits or stays silent."""
        remove_stale_profiles()
        profile = Path(tempfile.mkdtemp(prefix=f"{PROFILE_PREFIX}{os.getpid()}-"))
        argv = [
            *die_with_parent("KILL"),
            executable,
            *CHROMIUM_FLAGS,
            *extra_args,
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
                start_new_session=True,  # so stop() can kill renderers and zygotes too
            )
        chromium = cls(proc, profile)
        try:
            chromium.endpoint = await chromium._devtools_endpoint(executable, timeout)
        except BaseException:
            await chromium.stop()
            raise
        return chromium

    @property
    def pid(self) -> int:
        return self.proc.pid

    def running(self) -> bool:
        return self.proc.poll() is None

    async def stop(
        self, goodbye: Callable[[], Awaitable[None]] | None = None, grace: float = 3.0
    ) -> None:
        """Run ``goodbye`` (the driver's polite close), wait up to ``grace`` seconds for the
        process, then kill its whole process group and remove the profile. The kill happens
        even if the wait is cancelled."""
        try:
            if goodbye is not None:
                await goodbye()
            deadline = time.monotonic() + grace
            while self.running() and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
        finally:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            with contextlib.suppress(Exception):
                self.proc.wait(5)
            shutil.rmtree(self.profile, ignore_errors=True)

    async def _devtools_endpoint(self, executable: str, timeout: float) -> str:
        """Chromium writes its DevTools port and path to the profile once it listens."""
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                tail = _tail(self.profile / "chromium.log")
                raise BrowserStartError(
                    f"{executable} exited with status {self.proc.returncode} at start"
                    + (f":\n{tail}" if tail else "")
                )
            with contextlib.suppress(FileNotFoundError, ValueError):
                lines = port_file.read_text().split("\n")
                if len(lines) >= 2 and lines[0].strip() and lines[1].strip():
                    return f"ws://127.0.0.1:{int(lines[0])}{lines[1].strip()}"
            await asyncio.sleep(0.02)
        raise BrowserStartError(f"{executable} did not open DevTools in {timeout} s")


def remove_stale_profiles() -> None:
    """Profiles of workers that died without closing their browser (the pid is in the name)."""
    for path in Path(tempfile.gettempdir()).glob(f"{PROFILE_PREFIX}*-*"):
        pid = path.name[len(PROFILE_PREFIX) :].split("-", 1)[0]
        if not pid.isdigit() or Path(f"/proc/{pid}").exists():
            continue
        shutil.rmtree(path, ignore_errors=True)


def _tail(path: Path, lines: int = 8) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
