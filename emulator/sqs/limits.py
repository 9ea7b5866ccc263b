"""The limits SQS puts on a call: the ranges of request parameters, and the batch rules.

They are queue semantics, not wire details, so they live with the engine and the service only
reads a request against them. A range a queue attribute shares (a receive's
``VisibilityTimeout`` and a queue's are one rule) is defined here once and used by
``attributes`` too; ranges only queue attributes have stay there (docs/aws-behaviour.md
sections 1.2, 2.1 and 2.7)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from emulator.sqs.errors import SqsError


@dataclass(frozen=True, slots=True)
class Range:
    """An inclusive range of whole numbers, as the API reference states them."""

    lo: int
    hi: int

    def __contains__(self, number: int) -> bool:
        return self.lo <= number <= self.hi


VISIBILITY_TIMEOUT = Range(0, 43_200)
DELAY_SECONDS = Range(0, 900)
WAIT_TIME_SECONDS = Range(0, 20)
MAX_NUMBER_OF_MESSAGES = Range(1, 10)
MAX_RESULTS = Range(1, 1000)

MAX_BATCH_ENTRIES = 10
MAX_BATCH_BYTES = 1_048_576
_BATCH_ENTRY_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")


def check_batch_ids(ids: list[object], entry_label: str) -> None:
    """The rules on a batch as a whole (count, id syntax, distinct ids): breaking one fails the
    request, while an entry's own error fails only that entry."""
    if not ids:
        raise SqsError(
            "EmptyBatchRequest", f"There should be at least one {entry_label} in the request."
        )
    if len(ids) > MAX_BATCH_ENTRIES:
        raise SqsError(
            "TooManyEntriesInBatchRequest",
            f"Maximum number of entries per request are {MAX_BATCH_ENTRIES}. "
            f"You have sent {len(ids)}.",
        )
    seen: set[str] = set()
    for entry_id in ids:
        if not isinstance(entry_id, str) or not _BATCH_ENTRY_ID.match(entry_id):
            raise SqsError(
                "InvalidBatchEntryId",
                "A batch entry id can only contain alphanumeric characters, hyphens and "
                "underscores. It can be at most 80 letters long.",
            )
        if entry_id in seen:
            raise SqsError("BatchEntryIdsNotDistinct", f"Id {entry_id} repeated.")
        seen.add(entry_id)


def check_batch_size(message_sizes: Iterable[int]) -> None:
    """A batch's messages together (each counted as ``messages.message_size`` counts it: body and
    message attributes) may not exceed the limit, though each alone is within its queue's."""
    total = sum(message_sizes)
    if total > MAX_BATCH_BYTES:
        raise SqsError(
            "BatchRequestTooLong",
            f"Batch requests cannot be longer than {MAX_BATCH_BYTES} bytes. "
            f"You have sent {total} bytes.",
        )
