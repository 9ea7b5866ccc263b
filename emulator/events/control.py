"""Control events: someone changed how the emulator behaves (``lab clock``, ``lab chaos``).

Published by the control endpoints (``/_lab/clock`` in ``emulator/speed.py``, ``/_lab/chaos``
in ``emulator/sqs/chaos.py``) when a change is accepted, so a reader of the stream (the TUI, a
recording, the checker) knows from which moment the clock ran faster or the delivery model
injected effects."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from emulator.events.model import Event, described


@dataclass(frozen=True, slots=True)
class ClockSpeed(Event):
    """The emulator's clock changed speed (``POST /_lab/clock``): from now on everything it
    times (visibility timeouts, delays, long polls, health checks) runs ``speed`` times faster
    than real time. Event times (``at``) are this clock's."""

    type: ClassVar[str] = "control.clock_speed"
    publisher: ClassVar[str] = "emulator/speed.py"
    speed: float = described("times faster than real time, 1 to 100")
    previous: float = described("the speed before")


@dataclass(frozen=True, slots=True)
class ChaosSettings(Event):
    """The delivery model's settings changed (``POST /_lab/chaos``): what it injects from now
    on, on which queues, from which seed."""

    type: ClassVar[str] = "control.chaos"
    publisher: ClassVar[str] = "emulator/sqs/chaos.py"
    enabled: bool = described("whether the model injects anything")
    seed: int = described("the seed every queue's draws start from")
    default: dict[str, Any] | None = described(
        "settings for every standard queue without its own (null: none)"
    )
    queues: dict[str, Any] = described("settings of single queues, by queue name")


TYPES: tuple[type[Event], ...] = (ClockSpeed, ChaosSettings)
