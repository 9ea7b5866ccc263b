"""``GET /_lab/events``: the event log over HTTP, a thin layer over ``EventLog.read``.

Query parameters (all optional):

- ``after``: an event id; the reply holds events with larger ids (default 0: from the start);
- ``limit``: at most this many events, 1 to 10,000 (default 1,000);
- ``type``: only events whose type starts with this (``sqs.``, ``sqs.receive``, ``ec2.``);
- ``wait``: when nothing matches yet, wait up to this many seconds (0 to 20, default 0) for
  something that does: a long poll, as SQS's WaitTimeSeconds.

A value out of range or not a number, or a parameter it does not know, gets 400 with the reason
in one sentence (``{"error": ...}``): a typo in a checker should fail loudly, not read
everything.

``POST /_lab/events``: the lab's workers report their steps (``emulator.events.worker``), as
``{"events": [{"type": "worker.received", ...fields}, ...]}``, at most ``MAX_REPORTS`` per
request. Only ``worker.*`` types are accepted, each checked against its type; one bad event
refuses the whole request (400, one sentence, nothing published). Accepted events are published
in the order given, stamped by the emulator's clock like any other, and the reply says which
ids they got: ``{"published": N, "first_id": ..., "last_id": ...}``."""

from __future__ import annotations

import math

from aiohttp import web

from emulator.component import Component, Handler
from emulator.control import ControlError, json_body, refuse
from emulator.events.log import DEFAULT_LIMIT, EventLog
from emulator.events.worker import BadReport, parse_reports

PATH = "/_lab/events"
MAX_LIMIT = 10_000
MAX_WAIT = 20.0
PARAMETERS = ("after", "limit", "type", "wait")
# 1,000 reports of a few hundred bytes each fit with room to spare; more is not a worker.
MAX_BODY = 2 * 1024 * 1024
METHODS = "GET, HEAD, POST"


class BadQuery(ValueError):
    """A query value the endpoint refuses; the message is the reply's one sentence."""


def _whole(query: dict[str, str], name: str, default: int, lo: int, hi: int | None) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadQuery(f"{name} must be a whole number, not {raw!r}.") from None
    if value < lo or (hi is not None and value > hi):
        span = f"from {lo} to {hi:,}" if hi is not None else f"{lo} or more"
        raise BadQuery(f"{name} must be {span}, not {value}.")
    return value


def _seconds(query: dict[str, str], name: str, hi: float) -> float:
    raw = query.get(name)
    if raw is None:
        return 0.0
    try:
        value = float(raw)
    except ValueError:
        raise BadQuery(f"{name} must be a number of seconds, not {raw!r}.") from None
    if not math.isfinite(value) or not 0 <= value <= hi:
        raise BadQuery(f"{name} must be from 0 to {hi:g} seconds, not {raw}.")
    return value


def parse_query(query: dict[str, str]) -> tuple[int, int, str, float]:
    """``after``, ``limit``, ``type`` and ``wait`` from a query, or ``BadQuery``."""
    unknown = sorted(set(query) - set(PARAMETERS))
    if unknown:
        raise BadQuery(
            f"{PATH} takes {', '.join(PARAMETERS)}; it does not know {', '.join(unknown)}."
        )
    after = _whole(query, "after", 0, 0, None)
    limit = _whole(query, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    wait = _seconds(query, "wait", MAX_WAIT)
    return after, limit, query.get("type", ""), wait


def handler(log: EventLog) -> Handler:
    """The request handler reading ``log``."""

    async def handle(request: web.Request) -> web.StreamResponse:
        if request.method == "POST":
            return await report(log, request)
        if request.method not in ("GET", "HEAD"):
            return web.json_response(
                {
                    "error": f"{PATH} is read with GET and takes workers' reports with POST; "
                    f"{request.method} is not allowed."
                },
                status=405,
                headers={"Allow": METHODS},
            )
        try:
            after, limit, prefix, wait = parse_query(dict(request.query))
        except BadQuery as exc:
            return web.json_response({"error": str(exc)}, status=400)
        page = await log.read(after, limit, prefix, wait)
        return web.Response(
            text=page.to_json(),
            content_type="application/json",
            headers={"Cache-Control": "no-store"},
        )

    return handle


async def report(log: EventLog, request: web.Request) -> web.Response:
    """``POST``: check every reported event, then publish them all, in order, or none."""
    try:
        body = await json_body(request, MAX_BODY, hint='; send {"events": [...]}.')
        events = parse_reports(body)
    except ControlError as exc:
        return refuse(str(exc), exc.status)
    except BadReport as exc:
        return refuse(str(exc))
    entries = [log.publish(event) for event in events]  # no await in between: one run of them
    first = entries[0].id if entries else log.last_id + 1
    return web.json_response(
        {"published": len(entries), "first_id": first, "last_id": log.last_id},
        headers={"Cache-Control": "no-store"},
    )


def component(log: EventLog) -> Component:
    """What the event log adds to the emulator's front door."""

    async def close() -> None:
        log.close()

    return Component("events", control_routes={PATH: handler(log)}, closing=[close])
