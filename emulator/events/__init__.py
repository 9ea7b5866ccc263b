"""One stream of what happens in the emulator, typed and documented (``docs/events.md``).

- ``model``: what an event type is (a frozen dataclass naming its ``type`` and publisher);
- ``sqs``, ``ec2``: the event types, one module per publisher; ``catalog`` lists them all;
- ``log``: the ``EventLog`` ring that stamps, numbers and keeps them;
- ``http``: ``GET /_lab/events``, the thin adapter readers use (the only part with aiohttp);
- ``reference``: writes docs/events.md from the types.

The lab reads the stream over HTTP only (``lab.events``)."""

from __future__ import annotations

from emulator.events.log import Entry, EventLog, Page
from emulator.events.model import SCHEMA, Event

__all__ = ["SCHEMA", "Entry", "Event", "EventLog", "Page"]
