"""The event log: one bounded ring of everything the emulator's parts publish, read with a
cursor by the TUI, notebooks and checkers (through ``GET /_lab/events``, see ``http``).

Why it looks the way it does:

- Ids increase by one from 1, so a reader's cursor is the last id it saw, and the ring finds
  the next event by arithmetic: reading is as cheap at the millionth event as at the first.
- The ring drops the oldest events when it is full, and says so: a reply carries ``first_id``
  (the oldest id still held) and ``missed`` (how many events after the reader's cursor were
  dropped before it asked). Overflow is never silent.
- Each log has a random stream id, new at every emulator start: ids start again at 1 after a
  restart, and a reader that compares stream ids notices instead of waiting for ids it will
  never see.
- The time (``at``) comes from the injected clock, the same one the services time their rules
  with, so a test with a ``ManualClock`` knows every stamp.
- Each event is turned into JSON once, when it is published. A reply joins those fragments, so
  a follower reading 10,000 events costs a string join, not 10,000 encodings. A type published
  on a hot path (``elb.request``, one per request the balancer answers) says
  ``json_when_read = True``: its JSON is made the first time a reader asks for it instead, the
  same text, so publishing costs the balancer a few hundred nanoseconds and events no reader
  asks for before the ring drops them are never encoded. (Such a type's fields must be plain
  JSON values, which its publisher guarantees: a value that does not encode would fail the
  read, not the publish.)

Pure: no HTTP, no threads. ``publish`` and the waits run on the event loop's thread (where every
publisher runs); waiting uses asyncio only so long polls can sleep until the next publish.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import cast

from emulator.clock import Clock
from emulator.events.model import SCHEMA, Event, field_names, omitted_when_empty

DEFAULT_LIMIT = 1000


class Entry:
    """One published event as the log keeps it: its envelope, the typed event, and the JSON
    object readers get (envelope and fields together; made at the first read when ``render``
    is given instead of ``text``)."""

    __slots__ = ("id", "at", "type", "event", "_json", "_render")

    def __init__(
        self,
        event_id: int,
        at: float,
        event: Event,
        text: str | None,
        render: Callable[[Entry], str] | None = None,
    ) -> None:
        self.id = event_id
        self.at = at
        self.type = event.type
        self.event = event
        self._json = text
        self._render = render

    @property
    def json(self) -> str:
        text = self._json
        if text is None:
            assert self._render is not None
            text = self._json = self._render(self)
            self._render = None
        return text

    def as_dict(self) -> dict[str, object]:
        """The event as a reader over HTTP sees it."""
        return json.loads(self.json)

    def __repr__(self) -> str:
        return f"Entry({self.id}, {self.at!r}, {self.event!r})"


@dataclass(frozen=True)
class Page:
    """What one read returns: the events after the reader's cursor, and where the ring stands.

    ``missed``: events after the cursor that the ring dropped before this read (of any type:
    the ring no longer knows theirs). ``next_after``: the cursor for the next read; past the
    events scanned even when a type prefix matched none of them, so a filtered follower does
    not scan the same events again."""

    stream: str
    first_id: int  # the oldest id the ring holds (last_id + 1 while it is empty)
    last_id: int  # the newest id published (0 before the first)
    missed: int
    next_after: int
    entries: list[Entry]

    def to_json(self) -> str:
        """The reply of ``GET /_lab/events``, joined from the fragments made at publish."""
        return (
            f'{{"schema":{SCHEMA},"stream":{json.dumps(self.stream)},'
            f'"first_id":{self.first_id},"last_id":{self.last_id},"missed":{self.missed},'
            f'"next_after":{self.next_after},"events":['
            + ",".join([entry.json for entry in self.entries])
            + "]}"
        )


class EventLog:
    """A ring of the last ``capacity`` events, stamped by ``clock``."""

    def __init__(self, clock: Clock, capacity: int = 100_000, *, stream: str | None = None) -> None:
        if capacity < 1:
            raise ValueError(f"an event log holds at least 1 event, not {capacity}")
        self.clock = clock
        self.capacity = capacity
        self.stream = stream or secrets.token_hex(8)
        self.last_id = 0
        self._ring: list[Entry | None] = [None] * capacity
        self._fields: dict[type[Event], tuple[str, ...]] = {}
        self._omit: dict[type[Event], frozenset[str]] = {}  # fields left out while ""
        self._when_read: set[type[Event]] = set()  # types encoded at the first read
        self._render_later = self._render  # (bound once: each lazy entry shares it)
        self._encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
        self._wakeup: asyncio.Future[None] | None = None
        self._closed = False

    @property
    def first_id(self) -> int:
        return max(1, self.last_id - self.capacity + 1)

    def publish(self, event: Event) -> Entry:
        """Stamp ``event`` with the next id and the clock's time, keep it, wake long polls."""
        kind = type(event)
        names = self._fields.get(kind)
        if names is None:
            names = self._fields[kind] = field_names(kind)
            self._omit[kind] = omitted_when_empty(kind)
            if getattr(kind, "json_when_read", False):
                self._when_read.add(kind)
        at = self.clock.now()
        event_id = self.last_id + 1
        if kind in self._when_read:
            entry = Entry(event_id, at, event, None, self._render_later)
        else:
            entry = Entry(event_id, at, event, self._json(event_id, at, event, names))
        self._ring[(event_id - 1) % self.capacity] = entry
        self.last_id = event_id
        waiter = self._wakeup
        if waiter is not None:
            self._wakeup = None
            if not waiter.done():
                waiter.set_result(None)
        return entry

    def _json(self, event_id: int, at: float, event: Event, names: tuple[str, ...]) -> str:
        """The JSON object of one event: the envelope, then its fields in declaration order."""
        body: dict[str, object] = {
            "schema": SCHEMA,
            "stream": self.stream,
            "id": event_id,
            "type": event.type,
            "at": at,
        }
        omit = self._omit[type(event)]
        for name in names:
            value = getattr(event, name)
            if value == "" and name in omit:
                continue
            body[name] = value
        return self._encode(body)

    def _render(self, entry: Entry) -> str:
        """An entry's JSON made when first read (a ``json_when_read`` type): the same text as
        at publish, since an event and its envelope never change."""
        return self._json(entry.id, entry.at, entry.event, self._fields[type(entry.event)])

    def after(self, after: int = 0, limit: int = DEFAULT_LIMIT, prefix: str = "") -> Page:
        """Up to ``limit`` events with ids above ``after`` whose type starts with ``prefix``,
        oldest first."""
        if after < 0:
            raise ValueError(f"after is an event id, 0 or more, not {after}")
        if limit < 1:
            raise ValueError(f"limit must be 1 or more, not {limit}")
        last, first, capacity, ring = self.last_id, self.first_id, self.capacity, self._ring
        start = max(after + 1, first)
        missed = max(0, first - 1 - after)
        entries: list[Entry]
        if not prefix:
            count = min(last, start + limit - 1) - start + 1
            begin = (start - 1) % capacity
            wrap = begin + count - capacity
            found = ring[begin : begin + count] if wrap <= 0 else ring[begin:] + ring[:wrap]
            entries = cast(list[Entry], found) if count > 0 else []  # from first_id on: filled
        else:
            entries = []
            for event_id in range(start, last + 1):
                entry = ring[(event_id - 1) % capacity]
                if entry is not None and entry.type.startswith(prefix):
                    entries.append(entry)
                    if len(entries) >= limit:
                        break
        full = len(entries) >= limit
        next_after = entries[-1].id if full else max(after, last)
        return Page(self.stream, first, last, missed, next_after, entries)

    def close(self) -> None:
        """End every long poll now and answer later ones at once: the server is shutting down,
        and should not wait for readers' timeouts. Publishing still works."""
        self._closed = True
        waiter, self._wakeup = self._wakeup, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self, after: int, timeout: float) -> bool:
        """Sleep until an event with an id above ``after`` is published, or ``timeout`` seconds
        (real time) pass, or the log is closed. True if there is such an event."""
        if self.last_id > after:
            return True
        if timeout <= 0 or self._closed:
            return False
        loop = asyncio.get_running_loop()
        waiter = self._wakeup
        # One future for every sleeping reader, resolved by the next publish: publishing costs
        # the same whether one reader waits or a hundred.
        if waiter is None or waiter.done() or waiter.get_loop() is not loop:
            waiter = self._wakeup = loop.create_future()
        await asyncio.wait((waiter,), timeout=timeout)
        return self.last_id > after

    async def read(
        self, after: int = 0, limit: int = DEFAULT_LIMIT, prefix: str = "", wait: float = 0.0
    ) -> Page:
        """``after``, but when nothing matches, wait up to ``wait`` seconds for something that
        does (a long poll). ``missed`` adds up what the ring dropped while the reader waited."""
        page = self.after(after, limit, prefix)
        if page.entries or wait <= 0:
            return page
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        missed = page.missed
        while not page.entries:
            remaining = deadline - loop.time()
            if remaining <= 0 or not await self.wait(page.next_after, remaining):
                break
            page = self.after(page.next_after, limit, prefix)
            missed += page.missed
        return page if missed == page.missed else replace(page, missed=missed)
