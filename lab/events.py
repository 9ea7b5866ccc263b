"""The emulator's event stream from the lab side: what the TUI, notebooks, checkers and
``lab events`` read (docs/events.md describes every event).

The lab reaches the emulator only over HTTP (``GET /_lab/events``), with the standard library,
so this works from any process that can reach the endpoint::

    from lab.config import LabConfig
    from lab import events

    config = LabConfig.from_env()
    batch = events.fetch(config, type_prefix="sqs.")          # one request
    for item in events.follow(config, type_prefix="sqs."):    # until you stop
        if isinstance(item, events.Notice):
            print("note:", item.sentence())
        else:
            print(events.line(item))

``follow`` keeps a cursor and long-polls. It survives the emulator stopping and starting
again: while nothing answers it retries with a growing delay, and when the stream id changes
(ids began again at 1) it says so and reads the new stream from its start. Events the ring
dropped before they were read are reported, never skipped silently. Those reports are
``Notice`` objects in the same iteration as the events (plain dicts), so a reader cannot
overlook them by forgetting a callback."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from lab import endpoints
from lab.config import LabConfig
from lab.endpoints import EmulatorUnreachable

PATH = "/_lab/events"
WHAT = "lab event stream"
MAX_LIMIT = 10_000
MAX_WAIT = 20.0
DEFAULT_LIMIT = 1000
# Names every event has; the rest are the fields of its type.
ENVELOPE = ("schema", "stream", "id", "type", "at")
_REPLY = ("stream", "first_id", "last_id", "missed", "next_after", "events")

Event = dict[str, Any]


@dataclass(frozen=True)
class Batch:
    """One reply of ``GET /_lab/events``."""

    stream: str
    schema: int
    first_id: int
    last_id: int
    missed: int
    next_after: int
    events: list[Event]


class Notice:
    """Something a follower's reader should know besides the events themselves."""

    def sentence(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class Gap(Notice):
    """The ring dropped ``missed`` events after id ``after`` before the follower read them
    (it fell behind by more than the ring holds); reading goes on from ``first_id``."""

    stream: str
    after: int
    missed: int
    first_id: int

    def sentence(self) -> str:
        return (
            f"{self.missed:,} events after #{self.after} were dropped before they were read "
            f"(the emulator keeps the last LAB_EVENTS_CAPACITY); going on from #{self.first_id}"
        )


@dataclass(frozen=True)
class Restarted(Notice):
    """The emulator started again: a new stream whose ids begin at 1 again. The follower reads
    it from its start; events of the old stream that were not read yet are gone."""

    old_stream: str
    new_stream: str

    def sentence(self) -> str:
        return (
            f"the emulator started again (stream {self.old_stream} is now {self.new_stream}); "
            "reading its events from the start"
        )


@dataclass(frozen=True)
class Disconnected(Notice):
    """The emulator stopped answering; the follower keeps trying, with a growing delay."""

    reason: str

    def sentence(self) -> str:
        return f"{self.reason}; waiting for it to come back (Ctrl-C to stop)"


def fetch(
    config: LabConfig,
    after: int = 0,
    type_prefix: str = "",
    limit: int = DEFAULT_LIMIT,
    wait: float = 0.0,
) -> Batch:
    """One read: up to ``limit`` events after id ``after`` whose type starts with
    ``type_prefix``; when none match yet, the emulator waits up to ``wait`` seconds for one.

    Raises ``EmulatorUnreachable`` when nothing answers, and ``LabError`` when the endpoint
    has no event stream (LocalStack, AWS) or refuses the query."""
    query: dict[str, str] = {"after": str(after), "limit": str(limit), "wait": f"{wait:g}"}
    if type_prefix:
        query["type"] = type_prefix
    body = endpoints.call(config, PATH, what=WHAT, query=query, timeout=wait + 10.0)
    return _batch(config, body)


def _batch(config: LabConfig, body: bytes) -> Batch:
    try:
        data = json.loads(body)
        missing = [name for name in _REPLY if name not in data]
    except (ValueError, TypeError):
        missing = ["JSON"]
    if missing:
        raise endpoints.EndpointMissing(config.endpoint, PATH, WHAT)
    return Batch(
        stream=str(data["stream"]),
        schema=int(data.get("schema", 0)),
        first_id=int(data["first_id"]),
        last_id=int(data["last_id"]),
        missed=int(data["missed"]),
        next_after=int(data["next_after"]),
        events=list(data["events"]),
    )


def follow(
    config: LabConfig,
    after: int = 0,
    type_prefix: str = "",
    wait: float = MAX_WAIT,
    *,
    stream: str | None = None,
    limit: int = DEFAULT_LIMIT,
    wait_for_emulator: bool = False,
    max_backoff: float = 2.0,
) -> Iterator[Event | Notice]:
    """Every event after ``after`` whose type starts with ``type_prefix``, as it happens, until
    the caller stops iterating; ``Notice`` objects in between say what else happened.

    ``stream``: the stream ``after`` belongs to, if the caller kept a cursor from an earlier
    run; when the emulator now has another, the follower yields ``Restarted`` and starts at 0.
    ``wait_for_emulator``: also wait for an emulator that does not answer at the first
    request (by default that raises ``EmulatorUnreachable``: the lab is not up)."""
    if not 0 < wait <= MAX_WAIT:
        raise ValueError(f"wait must be more than 0 and at most {MAX_WAIT:g} seconds")
    cursor, known = after, stream
    delay, down, answered = 0.1, False, False
    while True:
        try:
            batch = fetch(config, cursor, type_prefix, limit, wait)
        except EmulatorUnreachable as exc:
            if not (answered or wait_for_emulator):
                raise
            if not down:
                down = True
                yield Disconnected(
                    f"the emulator at {exc.endpoint} is not answering ({exc.reason})"
                )
            time.sleep(delay)
            delay = min(max_backoff, delay * 2)
            continue
        answered, down, delay = True, False, 0.1
        if known is not None and batch.stream != known:
            yield Restarted(known, batch.stream)
            known, cursor = batch.stream, 0
            continue
        known = batch.stream
        if batch.missed:
            yield Gap(batch.stream, cursor, batch.missed, batch.first_id)
        yield from batch.events
        cursor = batch.next_after


def line(event: Event) -> str:
    """One readable line: local time, id, type, then the type's fields as ``name=value``."""
    at = float(event.get("at", 0.0))
    clock = time.strftime("%H:%M:%S", time.localtime(at)) + f".{int(at % 1 * 1000):03d}"
    fields = " ".join(
        f"{name}={_value(value)}" for name, value in event.items() if name not in ENVELOPE
    )
    return f"{clock} {event.get('id', '?'):>7} {event.get('type', '?'):<24} {fields}".rstrip()


def _value(value: object) -> str:
    if isinstance(value, str) and value and not any(c.isspace() for c in value):
        return value
    return json.dumps(value)
