"""The delivery checker on the live event stream: what notebooks, graders and
``lab trace check`` call.

    from lab import trace

    for report in trace.check(queue="url2png"):
        print("\\n".join(trace.summary(report)))
        assert not report.lost

It reads the stream the way every lab reader does, over HTTP (``lab.events.fetch``), and only
what the checker needs: the ``sqs.`` and ``worker.`` events, up to the newest id at the first
read, so both families cover the same stretch of the stream even while a run goes on. The
emulator keeps only the last ``LAB_EVENTS_CAPACITY`` events; when it dropped some the checker
has not seen, each report says so (``missed``), because a lost or duplicated message may be
among them."""

from __future__ import annotations

from dataclasses import dataclass, field

from lab import events
from lab.config import LabConfig
from lab.runtime import LabError
from lab.trace import checker
from lab.trace.checker import QueueReport
from lab.trace.history import History, fold

PREFIXES = ("sqs.", "worker.")  # what the history is folded from


@dataclass
class Reading:
    """The events of one read of the stream, oldest first, and how complete they are."""

    stream: str
    since: int
    last_id: int  # the newest id when reading began: nothing after it was read
    missed: int = 0  # events after ``since`` the ring dropped before they were read
    events: list[events.Event] = field(default_factory=list)


def read(config: LabConfig, since: int = 0, prefixes: tuple[str, ...] = PREFIXES) -> Reading:
    """Every event after ``since`` whose type starts with one of ``prefixes``, up to the
    newest id at the first request, in the stream's order, in as many requests as it takes.

    Raises ``LabError`` (``EmulatorUnreachable``) when the emulator does not answer, when it
    restarts during the read, or when ``since`` lies beyond its newest event."""
    reading: Reading | None = None
    for prefix in prefixes:
        cursor, missed = since, 0
        while True:
            batch = events.fetch(config, cursor, prefix, events.MAX_LIMIT)
            if reading is None:
                if since > batch.last_id:
                    raise LabError(
                        f"there is no event after #{since}: the newest is #{batch.last_id} "
                        "(ids begin again at 1 when the emulator starts again)"
                    )
                reading = Reading(batch.stream, since, batch.last_id)
            elif batch.stream != reading.stream:
                raise LabError(
                    "the emulator started again while its events were being read (its ids "
                    "began again at 1); check again"
                )
            missed += batch.missed
            reading.events += [e for e in batch.events if int(e.get("id", 0)) <= reading.last_id]
            cursor = batch.next_after
            if cursor >= reading.last_id or not batch.events:
                break
        reading.missed = max(reading.missed, missed)  # each prefix's read counts the same gaps
    assert reading is not None, "no prefixes"
    reading.events.sort(key=lambda e: int(e.get("id", 0)))
    return reading


def history(
    config: LabConfig | None = None, *, queue: str | None = None, since: int = 0
) -> tuple[History, Reading]:
    """The folded history of the stream after ``since`` (of ``queue`` only, if given), with
    the reading it came from."""
    reading = read(config or LabConfig.from_env(), since)
    return fold(reading.events, queue), reading


def check(
    config: LabConfig | None = None, *, queue: str | None = None, since: int = 0
) -> list[QueueReport]:
    """A report per queue of what was sent, delivered, deleted, lost, duplicated (and why)
    and delivered out of order, from the events after id ``since``: of ``queue`` only, or of
    every queue the events name. Each report says how many events the emulator had dropped
    before they could be read (``missed``: then its counts may be incomplete)."""
    folded, reading = history(config, queue=queue, since=since)
    reports = checker.check(folded, [queue] if queue is not None else None)
    for report in reports:
        report.since, report.last_id, report.missed = since, reading.last_id, reading.missed
    return reports
