"""``/_lab/chaos``: the delivery model's control endpoint, behind ``lab chaos``.

``GET`` answers the model's state: on or off, the seed, the settings for every queue and per
queue, the presets, and what is in force on each existing queue (FIFO queues: nothing, always).

``POST`` takes one JSON object:

- ``{"enabled": true, "preset": "classroom", "seed": 7}``: on for every standard queue;
- ``{"enabled": true, "queue": "url2png", "duplicate": 0.3, "delay": "0-2"}``: on for one
  queue (fields as ``emulator.sqs.delivery.Chaos``: ``duplicate``, ``duplicate_after``,
  ``reorder``, ``reorder_window``, ``delay``, ``sampling``; a preset first, then the fields);
- ``{"enabled": false}``: off everywhere; with ``"queue"``, that queue's own settings go.

A queue that does not exist, a FIFO queue, a probability outside 0 to 1, an unknown preset or
field, or a body that is not JSON: 400 with the reason in one sentence, and nothing changes.
Settings are kept in ``STATE_DIR/chaos.json``, so they survive ``lab down`` / ``lab up``; a
new setting starts every queue's random draws again from the seed."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from emulator.control import ControlError, json_object, load_json, not_allowed, refuse, save_json
from emulator.events.control import ChaosSettings
from emulator.events.model import Event
from emulator.sqs.delivery import PRESETS, Chaos, ChaosError, DeliveryModel, Settings
from emulator.sqs.engine import SqsEngine

PATH = "/_lab/chaos"
FIFO_NOTE = (
    "FIFO queues (names ending in .fifo) get no injected effects: they stay exactly-once and "
    "in order within each message group, the chapter's answer to ordering."
)
_CONTROL = {"enabled", "queue", "preset", "seed"}
log = logging.getLogger("emulator.sqs.chaos")


def load_settings(state_dir: Path) -> Settings:
    saved = load_json(state_dir / "chaos.json")
    if not isinstance(saved, dict):
        return Settings()
    try:
        return Settings.from_dict(saved)
    except (ChaosError, TypeError, ValueError) as exc:
        log.warning("ignoring %s: %s", state_dir / "chaos.json", exc)
        return Settings()


def change(settings: Settings, body: dict[str, Any], engine: SqsEngine) -> Settings:
    """The settings after one POST; ``ControlError`` (and no change) for anything wrong."""
    enabled = body.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ControlError(f"enabled must be true or false, not {enabled!r}.")
    queue = body.get("queue")
    if queue is not None:
        if not isinstance(queue, str) or queue not in engine.queues:
            raise ControlError(f"there is no queue named {queue!r}.")
        if engine.queues[queue].fifo:
            raise ControlError(f"{queue} is a FIFO queue. {FIFO_NOTE}")
    seed = body.get("seed", settings.seed)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ControlError(f"seed must be a whole number, not {seed!r}.")
    fields = {k: v for k, v in body.items() if k not in _CONTROL}
    if not enabled:
        if fields or "preset" in body:
            raise ControlError("turning the model off takes no settings.")
        if queue is None:
            return Settings(enabled=False, seed=seed, default=settings.default, queues=())
        kept = tuple((name, chaos) for name, chaos in settings.queues if name != queue)
        return Settings(settings.enabled, seed, settings.default, kept)
    base = None
    preset = body.get("preset")
    if preset is not None:
        if preset not in PRESETS:
            raise ControlError(
                f"there is no preset {preset!r}; presets: {', '.join(sorted(PRESETS))}."
            )
        base = PRESETS[preset]
    elif not fields:
        base = PRESETS["classroom"]
    try:
        chaos = Chaos.from_dict(fields, base)
    except ChaosError as exc:
        raise ControlError(f"{exc}.") from None
    if queue is None:
        return Settings(True, seed, chaos, settings.queues)
    others = tuple((name, c) for name, c in settings.queues if name != queue)
    return Settings(True, seed, settings.default, tuple(sorted((*others, (queue, chaos)))))


class ChaosControl:
    def __init__(
        self,
        model: DeliveryModel,
        engine: SqsEngine,
        state_dir: Path,
        publish: Callable[[Event], None],
    ) -> None:
        self.model = model
        self.publish = publish
        self.engine = engine
        self.path = state_dir / "chaos.json"

    def state(self) -> dict[str, Any]:
        settings = self.model.settings
        in_force = {}
        for name, queue in sorted(self.engine.queues.items()):
            chaos = self.model.chaos(name, queue.fifo)
            in_force[name] = chaos.as_dict() if chaos is not None else None
        return {
            **settings.as_dict(),
            "in_force": in_force,
            "presets": {name: chaos.as_dict() for name, chaos in sorted(PRESETS.items())},
            "fifo": FIFO_NOTE,
        }

    async def handle(self, request: web.Request) -> web.Response:
        if request.method == "POST":
            try:
                body = await json_object(request)
                settings = change(self.model.settings, body, self.engine)
            except ControlError as exc:
                return refuse(str(exc), exc.status)
            self.model.configure(settings)
            save_json(self.path, settings.as_dict())
            data = settings.as_dict()
            self.publish(
                ChaosSettings(
                    enabled=settings.enabled,
                    seed=settings.seed,
                    default=data["default"],
                    queues=data["queues"],
                )
            )
        elif request.method not in ("GET", "HEAD"):
            return not_allowed(PATH, request, "GET, POST")
        return web.json_response(self.state(), headers={"Cache-Control": "no-store"})
