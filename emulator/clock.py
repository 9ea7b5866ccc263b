"""Injectable time, so timing rules (visibility, delays, retention, health intervals) are tested
without sleeping: the cores take a ``Clock`` and tests pass a ``ManualClock``."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch, as a float."""
        ...

    def real_seconds(self, emulated: float) -> float:
        """How long ``emulated`` seconds of this clock last in real time."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()

    def real_seconds(self, emulated: float) -> float:
        return emulated


class ManualClock:
    """A clock that only moves when told to."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds

    def real_seconds(self, emulated: float) -> float:
        return emulated


class ScaledClock:
    """Emulated time that can run N times faster than real time (``lab clock --speed N``).

    Everything the emulator times reads this clock, so at 20x the book's 120-second visibility
    timeout runs out after 6 real seconds, while clients and workers keep real time. Changing
    the speed re-anchors, so emulated time never jumps; ``offset`` (emulated minus real time)
    lets a restarted emulator carry on from where its clock was instead of going back."""

    def __init__(
        self,
        real: Callable[[], float] = time.time,
        *,
        speed: float = 1.0,
        offset: float = 0.0,
    ) -> None:
        self._real = real
        self._anchor_real = real()
        self._anchor = self._anchor_real + offset
        self._speed = float(speed)

    def now(self) -> float:
        return self._anchor + (self._real() - self._anchor_real) * self._speed

    @property
    def speed(self) -> float:
        return self._speed

    @property
    def offset(self) -> float:
        """Emulated minus real time, now."""
        return self.now() - self._real()

    def set_speed(self, speed: float) -> None:
        now = self.now()
        self._anchor_real = self._real()
        self._anchor = now
        self._speed = float(speed)

    def real_seconds(self, emulated: float) -> float:
        """How long ``emulated`` seconds of this clock last in real time (to sleep that long)."""
        return emulated / self._speed
