"""Worker events: the steps of the lab's URL2PNG workers, as they report them.

Workers run on the lab side and reach the emulator only through AWS APIs and documented
endpoints, so these are the one family the emulator does not decide itself: a worker POSTs
its steps to ``/_lab/events`` (``lab/worker/reporting.py``), the emulator checks each against
its type and publishes it like any other event. The emulator's clock stamps it when it arrives,
so a step appears after the SQS event it follows (``sqs.receive`` before ``worker.received``,
``sqs.delete`` before ``worker.deleted``), a moment after the worker took it. Against an
endpoint without the stream (LocalStack, AWS) workers report nothing.

The per-message events name the delivery they are about by ``receipt``, the same digest of the
receipt handle that ``sqs.receive`` carries, so a reader (``lab trace check``) matches a
worker's steps to the delivery, not just to the message."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from emulator.events.model import ENVELOPE, Event, described

LOOP = "lab/worker/loop.py"
SERVE = "lab/worker/cli.py"
MAX_REPORTS = 1000  # events in one POST
MAX_TEXT = 4096  # characters in one string field (a URL is at most 2,048)


@dataclass(frozen=True, slots=True)
class WorkerEvent(Event):
    """Base of the worker events: each names the worker that reports it."""

    publisher: ClassVar[str] = LOOP
    worker: str = described("the worker's name: `lab worker --name`, by default host:pid")


@dataclass(frozen=True, slots=True)
class WorkerStarted(WorkerEvent):
    """A worker started (`lab worker`) and is about to poll its queue."""

    type: ClassVar[str] = "worker.started"
    publisher: ClassVar[str] = SERVE
    queue: str = described("name of the queue it polls")
    visibility_timeout: int = described("the VisibilityTimeout it receives with, in seconds")
    parallel: int = described("messages it works on at once")
    heartbeat: bool = described("whether it extends the visibility timeout while a job runs")
    renderer: str = described("what renders its pages: pyppeteer, playwright, or a test's fake")
    host: str | None = described(
        "the host it runs on (with ``pid``, what lets the TUI stop it on this machine)", None
    )
    pid: int | None = described("its process id on ``host``", None)


@dataclass(frozen=True, slots=True)
class WorkerPolling(WorkerEvent):
    """A worker is about to call ReceiveMessage: it is alive and has a free slot. An idle
    worker reports this once per poll (every WaitTimeSeconds when long polling)."""

    type: ClassVar[str] = "worker.polling"
    queue: str = described("name of the queue it polls")


@dataclass(frozen=True, slots=True)
class WorkerMessageEvent(WorkerEvent):
    """Base of the events about one delivery of one message."""

    queue: str = described("name of the queue the message came from")
    message_id: str = described("the MessageId of the message")
    receipt: str = described(
        "the first 16 hex digits of the SHA-256 of the delivery's receipt handle, as "
        "`sqs.receive` has it: which delivery this step is about"
    )
    receive_count: int = described("ApproximateReceiveCount of this delivery (1: the first)")
    job_id: str | None = described("the job's id from the body (null when the body has none)")
    seq: int | None = described(
        "the producer's sequence number (message attribute `seq`, or the body's; null if none)"
    )
    producer: str | None = described("the producer's id (message attribute `producer`; or null)")


@dataclass(frozen=True, slots=True)
class WorkerReceived(WorkerMessageEvent):
    """A worker took a message from a ReceiveMessage reply and starts on it."""

    type: ClassVar[str] = "worker.received"


@dataclass(frozen=True, slots=True)
class WorkerRendering(WorkerMessageEvent):
    """No PNG of the job exists yet: the worker starts rendering the page."""

    type: ClassVar[str] = "worker.rendering"
    url: str = described("the page being rendered")


@dataclass(frozen=True, slots=True)
class WorkerUploaded(WorkerMessageEvent):
    """The worker uploaded the job's PNG (the first one: the upload is conditional)."""

    type: ClassVar[str] = "worker.uploaded"
    key: str = described("the object's key in the website bucket (JOB.png)")
    bytes: int = described("size of the PNG")


@dataclass(frozen=True, slots=True)
class WorkerDeleted(WorkerMessageEvent):
    """DeleteMessage with this delivery's receipt handle succeeded: the worker acknowledged
    the message (after an upload, or after finding a duplicate). SQS also answers success for
    a handle that is stale because the message was delivered again since: then no
    `sqs.delete` precedes this one, and the message stays."""

    type: ClassVar[str] = "worker.deleted"


@dataclass(frozen=True, slots=True)
class WorkerDuplicate(WorkerMessageEvent):
    """The job's PNG was already there, from an earlier delivery of the same message: the
    worker acknowledges it without uploading again (idempotent processing, section 15.2.6)."""

    type: ClassVar[str] = "worker.duplicate"
    rendered: bool = described(
        "whether this delivery rendered the page before finding out (two deliveries rendering "
        "at once: the conditional upload let the other one's PNG in first)"
    )


@dataclass(frozen=True, slots=True)
class WorkerFailed(WorkerMessageEvent):
    """The worker gave up on this delivery and left the message on the queue: it comes back
    after its visibility timeout, and after maxReceiveCount SQS moves it to the dead-letter
    queue."""

    type: ClassVar[str] = "worker.failed"
    kind: str = described(
        "`poison` (the body is not a job), `refused` (the URL policy refused the page) or "
        "`failed` (the page did not render, or a cloud call failed)"
    )
    reason: str = described("why, in a sentence")
    final: bool = described(
        "the last attempt: the receive count reached maxReceiveCount, so the next receive "
        "moves the message to the dead-letter queue"
    )


@dataclass(frozen=True, slots=True)
class WorkerStopped(WorkerEvent):
    """A worker stopped after finishing the jobs it had in flight."""

    type: ClassVar[str] = "worker.stopped"
    publisher: ClassVar[str] = SERVE
    counts: dict[str, int] = described(
        "what it did with the messages it handled, by outcome: done, duplicate, poison, "
        "refused, failed"
    )


TYPES: tuple[type[WorkerEvent], ...] = (
    WorkerStarted,
    WorkerPolling,
    WorkerReceived,
    WorkerRendering,
    WorkerUploaded,
    WorkerDeleted,
    WorkerDuplicate,
    WorkerFailed,
    WorkerStopped,
)
BY_TYPE: dict[str, type[WorkerEvent]] = {kind.type: kind for kind in TYPES}


# -- checking what a worker POSTs: pure, so the HTTP adapter stays thin ---------------------------


class BadReport(ValueError):
    """A report the endpoint refuses; the message is the reply's one sentence."""


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_text(value: object) -> bool:
    return isinstance(value, str) and len(value) <= MAX_TEXT


def _is_counts(value: object) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and len(k) <= 64 and _is_int(v) for k, v in value.items()
    )


# A field's annotation (a string: the modules use postponed annotations) -> its JSON check and
# the words an error uses for it.
_CHECKS: dict[str, tuple[Callable[[object], bool], str]] = {
    "str": (_is_text, f"a string of at most {MAX_TEXT:,} characters"),
    "int": (_is_int, "an integer"),
    "bool": (lambda value: isinstance(value, bool), "true or false"),
    "dict[str, int]": (_is_counts, "an object of integers"),
}


@dataclass(frozen=True)
class _Field:
    name: str
    check: Callable[[object], bool]
    words: str
    nullable: bool


def _fields_of(kind: type[WorkerEvent]) -> tuple[_Field, ...]:
    out = []
    for f in dataclasses.fields(kind):
        parts = [part.strip() for part in str(f.type).split("|")]
        nullable = "None" in parts
        [base] = [part for part in parts if part != "None"]
        if base not in _CHECKS:
            raise TypeError(f"{kind.__name__}.{f.name}: no JSON check for {f.type!r}")
        check, words = _CHECKS[base]
        out.append(_Field(f.name, check, words + (" or null" if nullable else ""), nullable))
    return tuple(out)


_FIELDS: dict[str, tuple[_Field, ...]] = {kind.type: _fields_of(kind) for kind in TYPES}


def parse_report(item: object, where: str = "the event") -> WorkerEvent:
    """One POSTed event as its type, or ``BadReport`` naming what is wrong. Every field of the
    type is required, except that a field which may be null may also be left out."""
    if not isinstance(item, dict):
        raise BadReport(f"{where} is not a JSON object.")
    kind_name = item.get("type")
    if not isinstance(kind_name, str):
        raise BadReport(f"{where} has no type (a string such as worker.received).")
    kind = BY_TYPE.get(kind_name)
    if kind is None:
        known = ", ".join(BY_TYPE)
        raise BadReport(f"{where} has type {kind_name!r}; only these are accepted: {known}.")
    fields = _FIELDS[kind_name]
    names = {f.name for f in fields}
    for name in item:
        if name == "type":
            continue
        if name in ENVELOPE:
            raise BadReport(f"{where} sets {name!r}, which the emulator stamps itself.")
        if name not in names:
            raise BadReport(f"{where} ({kind_name}) has no field {name!r}.")
    values: dict[str, Any] = {}
    for f in fields:
        if f.name not in item:
            if not f.nullable:
                raise BadReport(f"{where} ({kind_name}) lacks its field {f.name!r}.")
            values[f.name] = None
            continue
        value = item[f.name]
        if not ((value is None and f.nullable) or f.check(value)):
            raise BadReport(
                f"{where} ({kind_name}): {f.name!r} must be {f.words}, not {_shown(value)}."
            )
        values[f.name] = value
    return kind(**values)


def parse_reports(body: object) -> list[WorkerEvent]:
    """A POSTed body, ``{"events": [...]}``, as events: all of them or ``BadReport`` (a
    request with one bad event publishes nothing)."""
    if not isinstance(body, dict):
        raise BadReport('the body must be a JSON object: {"events": [...]}.')
    extra = sorted(set(body) - {"events"})
    if extra:
        raise BadReport(f"the body has only an events list; it does not know {', '.join(extra)}.")
    items = body.get("events")
    if not isinstance(items, list):
        raise BadReport('the body lacks its events list: {"events": [...]}.')
    if len(items) > MAX_REPORTS:
        raise BadReport(f"at most {MAX_REPORTS:,} events per request, not {len(items):,}.")
    return [parse_report(item, f"event {i}") for i, item in enumerate(items)]


def _shown(value: object) -> str:
    """A refused value as an error shows it: short, and typed as JSON has it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = repr(value if len(value) <= 40 else value[:40] + "...")
        return f"the string {text}" if len(value) <= MAX_TEXT else "a longer string"
    if isinstance(value, dict | list):
        return "an object" if isinstance(value, dict) else "a list"
    return repr(value)
