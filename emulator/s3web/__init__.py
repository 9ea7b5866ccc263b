"""S3 static website hosting, which moto stores but does not serve."""

from __future__ import annotations

from emulator.moto_bridge.wsgi import WsgiRunner
from emulator.server import Emulator


def install(emulator: Emulator, runner: WsgiRunner) -> None:
    pass
