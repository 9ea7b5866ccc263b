"""Writes docs/events.md from the event types themselves (their docstrings, fields and
publishers) and from the HTTP adapter's limits, so the reference cannot drift from the code (a
test fails when docs/events.md is stale).

    python -m emulator.events.reference > docs/events.md
"""

from __future__ import annotations

import dataclasses
import inspect
import json

from emulator.clock import ManualClock
from emulator.config import EmulatorSettings
from emulator.events import catalog
from emulator.events import http as events_http
from emulator.events import worker as worker_events
from emulator.events.log import DEFAULT_LIMIT, EventLog
from emulator.events.model import SCHEMA, Event
from emulator.events.sqs import SqsReceive, SqsSend

ENVELOPE = (
    ("schema", "integer", f"version of these shapes, now {SCHEMA}; raised when a field is "
     "removed, renamed or changes its meaning (new types and new fields come without a new "
     "version, so skip what you do not know)"),
    ("stream", "string", "random id of this run of the emulator: a new one at every start, when "
     "ids begin again at 1"),
    ("id", "integer", "increases by one with every event of the stream, from 1: your cursor"),
    ("type", "string", "what happened, `service.what` (the headings below)"),
    ("at", "number", "when, in seconds since the epoch, by the emulator's clock (the one its "
     "SQS times visibility timeouts, delays and retention with)"),
)  # fmt: skip

QUERY = (
    ("after", "0", "an event id: the reply holds events with larger ids (`next_after` of the "
     "previous reply)"),
    ("limit", f"{DEFAULT_LIMIT:,}", f"at most this many events, 1 to {events_http.MAX_LIMIT:,}"),
    ("type", "(all)", "only events whose type starts with this: `sqs.`, `sqs.receive`, `ec2.`"),
    ("wait", "0", f"when nothing matches yet, wait up to this many seconds (at most "
     f"{events_http.MAX_WAIT:g}) for something that does: a long poll"),
)  # fmt: skip

REPLY = (
    ("schema", "integer", "as in every event"),
    ("stream", "string", "as in every event: compare it with the one your cursor came from"),
    ("first_id", "integer", "the oldest id the ring still holds (`last_id` + 1 while it is empty)"),
    ("last_id", "integer", "the newest id published (0 before the first event)"),
    ("missed", "integer", "events after your `after` that the ring dropped before you asked, of "
     "any type: you fell behind by that many (0 when you did not)"),
    ("next_after", "integer", "pass it as `after` next time; past every event this read looked at, "
     "also those a `type` filter skipped"),
    ("events", "array of events", "the events, oldest first"),
)  # fmt: skip


JSON_TYPES = {
    "str": "string",
    "int": "integer",
    "float": "number",
    "bool": "boolean",
    "None": "null",
    "dict[str, int]": "object of integers",
    "dict[str, Any]": "object",
}


def _bad_query_example() -> str:
    """The endpoint's own answer to a bad query."""
    try:
        events_http.parse_query({"limit": "0"})
    except events_http.BadQuery as exc:
        return json.dumps({"error": str(exc)})
    raise AssertionError("limit=0 is refused")


def _bad_report_example() -> str:
    """The endpoint's own answer to a report with a misspelt field."""
    try:
        worker_events.parse_reports({"events": [{"type": "worker.deleted", "job": "x"}]})
    except worker_events.BadReport as exc:
        return json.dumps({"error": str(exc)})
    raise AssertionError("an unknown field is refused")


def _report_example() -> str:
    """A real report body, and what a log with a manual clock answers it."""
    body = {
        "events": [
            {
                "type": "worker.received",
                "worker": "laptop:4242",
                "queue": "url2png",
                "message_id": "0b9f5f7e-4a4c-4c5e",
                "receipt": "3f1a9c0d5e7b2a64",
                "receive_count": 1,
                "job_id": "c2f4e6a8",
                "seq": 7,
                "producer": "9d1e2f3a",
            }
        ]
    }
    log = EventLog(ManualClock(1_700_000_000.75), capacity=100, stream="5f1c0e9a7b3d2c41")
    entries = [log.publish(event) for event in worker_events.parse_reports(body)]
    reply = {"published": len(entries), "first_id": entries[0].id, "last_id": log.last_id}
    return (
        f"```json\n{json.dumps(body, indent=2)}\n```\n\nThe reply:\n\n"
        f"```json\n{json.dumps(reply)}\n```\n\nand the event readers then get:\n\n"
        f"```json\n{json.dumps(entries[0].as_dict(), indent=2)}\n```\n"
    )


def _capacity() -> int:
    """The ring's default size, as the emulator's settings declare it."""
    return next(
        f.default for f in dataclasses.fields(EmulatorSettings) if f.name == "events_capacity"
    )


def _md(text: str) -> str:
    """A docstring as Markdown: reST's double backticks become Markdown's single ones."""
    return inspect.cleandoc(text).replace("``", "`")


def _table(head: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(lines) + "\n"


def _json_type(annotation: object) -> str:
    """``str | None`` as a reader of the JSON sees it: ``string or null``."""
    names = [part.strip() for part in str(annotation).split("|")]
    return " or ".join(JSON_TYPES.get(name, name) for name in names)


def _fields(kind: type[Event]) -> str:
    rows = [
        (f"`{f.name}`", _json_type(f.type), f.metadata["doc"]) for f in dataclasses.fields(kind)
    ]
    return _table(("field", "type", "meaning"), rows)


def _example() -> str:
    """A real reply of a log with a fixed stream id and a manual clock."""
    clock = ManualClock(1_700_000_000.25)
    log = EventLog(clock, capacity=100, stream="5f1c0e9a7b3d2c41")
    log.publish(SqsSend(queue="url2png", message_id="0b9f5f7e-4a4c-4c5e", seq=7, delay=0))
    clock.advance(0.5)
    log.publish(
        SqsReceive(
            queue="url2png",
            message_id="0b9f5f7e-4a4c-4c5e",
            seq=7,
            receive_count=1,
            visibility_timeout=120,
        )
    )
    return json.dumps(json.loads(log.after(0).to_json()), indent=2)


def reference() -> str:
    types = catalog.by_type()  # also checks every type is well formed
    parts = [
        "# Event stream reference\n",
        "Generated from the event types in `emulator/events/` by "
        "`python -m emulator.events.reference > docs/events.md`; do not edit by hand.\n",
        "The emulator publishes what it decides (a message sent, delivered, deleted, a "
        "visibility timeout running out, an instance's process started) to one stream, kept "
        f"in a ring of the last `LAB_EVENTS_CAPACITY` events (default {_capacity():,}). Read it "
        "with "
        "`lab events` (`--follow` to keep reading), from Python with `lab.events.fetch` and "
        "`lab.events.follow`, or over HTTP with `GET /_lab/events`.\n",
        "## The envelope\n",
        "Every event is one flat JSON object: these fields, then the fields of its type.\n",
        _table(("field", "type", "meaning"), [(f"`{n}`", t, m) for n, t, m in ENVELOPE]),
        f"## `GET {events_http.PATH}`\n",
        "Query parameters, all optional:\n",
        _table(("parameter", "default", "meaning"), [(f"`{n}`", d, m) for n, d, m in QUERY]),
        "A value out of range or not a number, or a parameter not in this table, is answered "
        f"400 with the reason in one sentence: `{_bad_query_example()}`. Methods other than "
        "GET, HEAD and POST (below) get 405.\n",
        "The reply is a JSON object:\n",
        _table(("field", "type", "meaning"), [(f"`{n}`", t, m) for n, t, m in REPLY]),
        "To follow the stream, ask again with `after` set to `next_after` (and `wait` up to "
        f"{events_http.MAX_WAIT:g}, so an idle stream costs one request per wait). Two things "
        "to watch for, which `lab.events.follow` handles:\n",
        "- **Overflow.** `missed` above 0 means the ring dropped that many events you had not "
        "read; `first_id` is where the ring starts now. Nothing is dropped silently.\n"
        "- **A restart.** A `stream` other than the one your cursor came from means the "
        "emulator started again and ids began again at 1: read the new stream from `after=0`.\n",
        "An example reply (`after=0`, two events):\n",
        f"```json\n{_example()}\n```\n",
        f"## `POST {events_http.PATH}`\n",
        "How the lab's workers report their steps (the `worker.*` types below): they run "
        "outside the emulator and reach it only through AWS APIs and this endpoint, and skip "
        "it against an endpoint that lacks it (answering 404 or 405: LocalStack, AWS).\n",
        'The body is a JSON object `{"events": [...]}` of at most '
        f"{worker_events.MAX_REPORTS:,} events (and {events_http.MAX_BODY // 1024:,} KiB). "
        "Each event is one flat object: `type`, then the fields of that type, by the tables "
        "below. Only `worker.*` types are accepted. Every field is required, except that one "
        "which may be null may also be left out; the envelope (`schema`, `stream`, `id`, "
        "`at`) is the emulator's to stamp and may not be sent. Strings are at most "
        f"{worker_events.MAX_TEXT:,} characters.\n",
        "An unknown type, an unknown or missing field, a value of the wrong type or a body "
        "that is not that object is answered 400 with the reason in one sentence, naming the "
        f"event by its place in the list: `{_bad_report_example()}`. Nothing of a refused "
        "request is published.\n",
        "Accepted events are published in the order of the list, with no other event between "
        "them, stamped with the emulator's clock when they arrive (so the stream keeps the "
        "emulator's order: a worker's step comes after the SQS event it follows). The reply "
        "says which ids they got. An example:\n",
        _report_example(),
        "## Event types\n",
        _table(
            ("type", "class", "published by"),
            [(f"`{t}`", f"`{k.__name__}`", f"`{k.publisher}`") for t, k in types.items()],
        ),
    ]
    for family in catalog.FAMILIES:
        parts.append(f"## {family.title} (`{family.module}`)\n")
        parts.append(_md(family.about) + "\n")
        for kind in family.types:
            parts.append(f"### `{kind.type}`\n")
            parts.append(_md(kind.__doc__ or "") + "\n")
            parts.append(f"Class `{kind.__name__}`, published by `{kind.publisher}`.\n")
            parts.append(_fields(kind))
    return "\n".join(parts)


if __name__ == "__main__":
    print(reference(), end="")
