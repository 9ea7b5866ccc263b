"""The lab's own SQS: a pure queue engine (``engine``) with adapters for storage and both wire
protocols around it."""

from __future__ import annotations

from emulator.server import Emulator


def install(emulator: Emulator) -> None:
    pass
