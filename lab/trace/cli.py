"""``lab trace``: what the queues delivered, checked from the emulator's event stream
(``lab.trace``; the events are in docs/events.md)."""

from __future__ import annotations

import json
import sys

import click

from lab import aws
from lab.config import LabConfig
from lab.runtime import LabError
from lab.targets.options import cloud_options
from lab.trace import stream
from lab.trace.checker import QueueReport
from lab.trace.words import as_dict, numbers, summary


@click.group("trace")
def trace() -> None:
    """Check what the queues delivered: duplicates and their causes, losses, order."""


def _mentioned(report: QueueReport) -> bool:
    """Whether any event read was about this queue."""
    return bool(report.sent or report.deliveries or report.deleted or report.gone)


def _queue_exists(config: LabConfig, name: str) -> bool:
    """Asked only when no event names the queue: a typo should not pass as a clean run."""
    sqs = aws.client("sqs", config)
    try:
        sqs.get_queue_url(QueueName=name)
    except sqs.exceptions.QueueDoesNotExist:
        return False
    except Exception as exc:
        code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
        if "NonExistentQueue" in code or "QueueDoesNotExist" in code:
            return False
        raise LabError(f"could not look up queue {name!r}: {exc}") from None
    return True


@trace.command("check")
@click.option("--queue", metavar="NAME", default=None, help="only this queue (default: every one)")
@click.option(
    "--since",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    metavar="ID",
    help="only events after id ID (`lab events` shows ids): one run of many",
)
@click.option("--json", "as_json", is_flag=True, help="the findings as JSON, one object a queue")
@cloud_options
@click.pass_obj
def check(config: LabConfig, queue: str | None, since: int, as_json: bool) -> None:
    """Say what each queue delivered, from the emulator's event stream.

    Per queue: sent, delivered, deleted; lost (sent, never delivered, no longer queued);
    delivered more than once, and why (the delivery model, a visibility timeout running out
    while a worker was on it, a worker that died, a retry after a failure); first delivered
    out of send order; still queued or in flight. Plain sentences first, then the numbers.

    Exits 1 when a message was lost. The emulator keeps the last LAB_EVENTS_CAPACITY events;
    when it dropped some before they were read, the report says so."""
    reports = stream.check(config, queue=queue, since=since)
    unheard = queue is not None and not any(_mentioned(r) for r in reports)
    if unheard and not _queue_exists(config, str(queue)):
        raise LabError(
            f"there is no queue named {queue!r} (`lab events --type sqs.` shows the queues)"
        )
    if as_json:
        click.echo(json.dumps([as_dict(r) for r in reports], indent=2))
    elif not reports:
        last = f"#{since + 1} on" if since else "the start"
        click.echo(f"No queue had anything sent or delivered, from {last} of the event stream.")
    else:
        for i, report in enumerate(reports):
            if i:
                click.echo()
            window = (
                f"events #{report.since + 1} to #{report.last_id}"
                if report.last_id > report.since
                else f"no events after #{report.since}"
            )
            click.echo(f"Queue {report.queue} ({window}):")
            for sentence in summary(report):
                click.echo(f"  {sentence}")
            click.echo(f"  {numbers(report)}")
    if any(r.lost for r in reports):
        sys.exit(1)
