"""``lab events``: what the emulator did, one line per event, from its event stream
(``lab.events``; every type is in docs/events.md)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable

import click

from lab import events as stream
from lab.config import LabConfig
from lab.targets.options import cloud_options

DEFAULT_LIMIT = 1000
Show = Callable[[stream.Event], None]


def _note(text: str) -> None:
    """Notices go to stderr, so stdout stays one event per line (and pure JSON with --json)."""
    click.echo(f"lab: {text}", err=True)


def _once(config: LabConfig, after: int, prefix: str, limit: int, show: Show) -> None:
    """The events after ``after`` up to ``limit``, in as many requests as that takes."""
    cursor, left = after, limit
    while True:
        batch = stream.fetch(config, cursor, prefix, min(left, stream.MAX_LIMIT))
        if batch.missed:
            _note(stream.Gap(batch.stream, cursor, batch.missed, batch.first_id).sentence())
        for event in batch.events:
            show(event)
        left -= len(batch.events)
        cursor = batch.next_after
        if cursor >= batch.last_id:
            return
        if left <= 0:
            _note(f"more events after #{cursor}: lab events --after {cursor}")
            return


def _follow(config: LabConfig, after: int, prefix: str, limit: int | None, show: Show) -> None:
    shown = 0
    for item in stream.follow(config, after, prefix):
        if isinstance(item, stream.Notice):
            _note(item.sentence())
            continue
        show(item)
        shown += 1
        if limit is not None and shown >= limit:
            return


@click.command("events")
@click.option(
    "-f",
    "--follow",
    is_flag=True,
    help="keep reading new events until Ctrl-C (waits out an emulator restart)",
)
@click.option(
    "--type",
    "prefix",
    default="",
    metavar="PREFIX",
    help="only events whose type starts with PREFIX: sqs., sqs.receive, ec2.",
)
@click.option("--json", "as_json", is_flag=True, help="one JSON object per line, as the API has it")
@click.option(
    "--record",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    metavar="FILE",
    help="also write each event to FILE, one JSON object per line (for lab tui --replay FILE)",
)
@click.option(
    "--after",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    metavar="N",
    help="start after event id N",
)
@click.option(
    "--limit",
    type=click.IntRange(1),
    default=None,
    metavar="N",
    help=f"stop after N events [default: {DEFAULT_LIMIT:,}; with --follow: none]",
)
@cloud_options
@click.pass_obj
def events(
    config: LabConfig,
    follow: bool,
    prefix: str,
    as_json: bool,
    record: str | None,
    after: int,
    limit: int | None,
) -> None:
    """Show what the emulator did: messages sent, received, deleted, visibility timeouts
    running out, dead letters, instances' processes.

    One line per event: time, id, type and its fields (docs/events.md says what each means).
    Notes go to stderr: events the emulator dropped before they were read (it keeps the last
    LAB_EVENTS_CAPACITY), or, with --follow, an emulator that stopped or started again."""

    recording = open(record, "w", encoding="utf-8") if record else None  # noqa: SIM115

    def show(event: stream.Event) -> None:
        if recording is not None:  # a line at a time, so a Ctrl-C loses nothing
            recording.write(json.dumps(event) + "\n")
            recording.flush()
        click.echo(json.dumps(event) if as_json else stream.line(event))

    try:
        if follow:
            _follow(config, after, prefix, limit, show)
        else:
            _once(config, after, prefix, DEFAULT_LIMIT if limit is None else limit, show)
    except KeyboardInterrupt:
        return  # Ctrl-C is how --follow ends
    except BrokenPipeError:  # `lab events | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    finally:
        if recording is not None:
            recording.close()
