"""The event log's filter and export: which events a student asked to see, and writing what
is shown to a file (JSON lines, as ``lab events --record`` writes them, or CSV for a
spreadsheet). Pure apart from the one file write."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.events import ENVELOPE, line

Event = Mapping[str, Any]

# filter words: ``key:value``; the key's first letters are enough (``t:sqs.receive``)
KEYS = {"type": "type", "queue": "queue", "job": "job_id", "message": "message_id"}
CSV_COLUMNS = ("id", "at", "type", "queue", "message_id", "job_id", "worker")


class FilterError(ValueError):
    """A filter the log cannot apply; the message says how to write one."""


@dataclass(frozen=True)
class LogFilter:
    """Events of these types (prefixes), queues, jobs or messages (prefixes of the ids), and
    with these words anywhere in their line: every given part must match."""

    types: tuple[str, ...] = ()
    queues: tuple[str, ...] = ()
    jobs: tuple[str, ...] = ()
    messages: tuple[str, ...] = ()
    words: tuple[str, ...] = ()
    text: str = ""

    @classmethod
    def parse(cls, text: str) -> LogFilter:
        parts: dict[str, list[str]] = {key: [] for key in KEYS}
        words = []
        for word in text.split():
            key, colon, value = word.partition(":")
            if not colon:
                words.append(word.lower())
                continue
            matches = [name for name in KEYS if key and name.startswith(key.lower())]
            if len(matches) != 1 or not value:
                raise FilterError(
                    f"{word!r} is not a filter: write type:, queue:, job: or message: "
                    "and a value (type:sqs.receive job:4f2a), or plain words"
                )
            parts[matches[0]].append(value)
        return cls(
            tuple(parts["type"]),
            tuple(parts["queue"]),
            tuple(parts["job"]),
            tuple(parts["message"]),
            tuple(words),
            text.strip(),
        )

    def __bool__(self) -> bool:
        return bool(self.text)

    def matches(self, event: Event) -> bool:
        if self.types and not str(event.get("type", "")).startswith(self.types):
            return False
        if (
            self.queues
            and event.get("queue") not in self.queues
            and (event.get("target") not in self.queues)
        ):
            return False
        if self.jobs and not str(event.get("job_id") or "").startswith(self.jobs):
            return False
        if self.messages and not str(event.get("message_id") or "").startswith(self.messages):
            return False
        if self.words:
            shown = line(event).lower()
            return all(word in shown for word in self.words)
        return True

    def select(self, events: Iterable[Event]) -> list[Event]:
        return [event for event in events if self.matches(event)]


def export(path: Path, events: Iterable[Event]) -> int:
    """Write ``events`` to ``path``: CSV when it ends in ``.csv`` (the common fields as
    columns, the rest as one JSON column), JSON lines otherwise. The number written."""
    rows = list(events)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as out:
        if path.suffix.lower() == ".csv":
            writer = csv.writer(out)
            writer.writerow([*CSV_COLUMNS, "fields"])
            for event in rows:
                rest = {
                    k: v for k, v in event.items() if k not in CSV_COLUMNS and k not in ENVELOPE
                }
                writer.writerow(
                    [_cell(event.get(name)) for name in CSV_COLUMNS] + [json.dumps(rest)]
                )
        else:
            for event in rows:
                out.write(json.dumps(dict(event)) + "\n")
    return len(rows)


def _cell(value: object) -> str:
    return "" if value is None else str(value)
