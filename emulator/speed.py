"""How fast the emulator's clock runs: ``/_lab/clock`` and what keeps it across restarts.

``GET /_lab/clock`` answers ``{"speed": N, "now": <emulated epoch seconds>, "offset": ...}``;
``POST /_lab/clock`` with ``{"speed": N}`` (1 to 100) changes it at once, for everything the
emulator times (visibility timeouts, delays, retention, long polls, health checks, draining).
The speed and the clock's lead over real time are kept in ``STATE_DIR/clock.json``, written at
each change and every few seconds, so an emulator that restarts carries on at the same speed
and never moves its clock back (a message's timestamps stay in its past)."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from emulator.clock import ScaledClock
from emulator.component import Component
from emulator.control import ControlError, json_object, load_json, not_allowed, refuse, save_json
from emulator.events.control import ClockSpeed
from emulator.events.model import Event

PATH = "/_lab/clock"
MIN_SPEED, MAX_SPEED = 1, 100
SAVE_EVERY = 2.0  # seconds (real) between saves while the clock runs fast


def check_speed(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ControlError(
            f"speed must be a number from {MIN_SPEED} to {MAX_SPEED}, not {value!r}."
        )
    if not MIN_SPEED <= value <= MAX_SPEED:
        raise ControlError(f"speed must be from {MIN_SPEED} to {MAX_SPEED}, not {value:g}.")
    return float(value)


def load_clock(state_dir: Path) -> ScaledClock:
    """The clock as the last run left it (speed 1 and real time when there is no record)."""
    saved = load_json(state_dir / "clock.json") or {}
    try:
        speed = check_speed(saved.get("speed", 1))
        offset = float(saved.get("offset", 0.0))
    except (ControlError, TypeError, ValueError):
        speed, offset = 1.0, 0.0
    return ScaledClock(speed=speed, offset=max(0.0, offset))


class ClockControl:
    def __init__(
        self, clock: ScaledClock, state_dir: Path, publish: Callable[[Event], None]
    ) -> None:
        self.clock = clock
        self.publish = publish
        self.path = state_dir / "clock.json"
        self._task: asyncio.Task[None] | None = None

    def state(self) -> dict[str, Any]:
        return {"speed": self.clock.speed, "now": self.clock.now(), "offset": self.clock.offset}

    def save(self) -> None:
        save_json(self.path, {"speed": self.clock.speed, "offset": self.clock.offset})

    async def handle(self, request: web.Request) -> web.Response:
        if request.method == "POST":
            try:
                body = await json_object(request)
                unknown = sorted(set(body) - {"speed"})
                if unknown:
                    raise ControlError(f"{PATH} takes speed; it does not know {unknown[0]!r}.")
                if "speed" not in body:
                    raise ControlError('say how fast: {"speed": N}, N from 1 to 100.')
                speed = check_speed(body["speed"])
            except ControlError as exc:
                return refuse(str(exc), exc.status)
            previous = self.clock.speed
            self.clock.set_speed(speed)
            await asyncio.to_thread(self.save)
            self.publish(ClockSpeed(speed=speed, previous=previous))
        elif request.method not in ("GET", "HEAD"):
            return not_allowed(PATH, request, "GET, POST")
        return web.json_response(self.state(), headers={"Cache-Control": "no-store"})

    async def _keep(self) -> None:
        """While the clock runs ahead of real time, record its lead now and then: after a
        kill -9 the next start loses at most a few seconds of it."""
        while True:
            await asyncio.sleep(SAVE_EVERY)
            if self.clock.speed != 1 or self.clock.offset > 0:
                with contextlib.suppress(OSError):
                    await asyncio.to_thread(self.save)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._keep(), name="clock-keeper")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(OSError):
            self.save()

    def component(self) -> Component:
        return Component(
            "clock",
            control_routes={PATH: self.handle},
            start=[self.start],
            stop=[self.stop],
            report=lambda: {"clock": {"speed": self.clock.speed}},
        )
