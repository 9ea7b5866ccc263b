"""The one way a batch action runs: every entry is read, the batch as a whole may be checked,
then every readable entry is applied, and each entry ends in ``Successful`` or ``Failed``.

A batch answers 200 even when entries fail; only a rule on the whole batch (too many entries,
bad or repeated ids, too many bytes) fails the request (docs/aws-behaviour.md section 2.7).
Reading all entries before applying any lets the whole-batch check see the parsed entries, so
it measures what would be stored rather than the raw request."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from emulator.sqs.errors import SqsError
from emulator.sqs.replies import failure

T = TypeVar("T")
Params = dict[str, Any]
Reply = dict[str, Any]


def run_batch(
    entries: list[Params],
    read: Callable[[Params], T],
    apply: Callable[[T], Reply],
    check: Callable[[list[T]], None] | None = None,
) -> Reply:
    """``entries`` come from ``params.entries`` (each has a valid, distinct ``Id``). ``read``
    and ``apply`` are what the single action does; an ``SqsError`` from either fails that entry
    only. ``check`` gets the readable entries and may raise to fail the whole request."""
    outcomes: list[T | SqsError] = []
    for entry in entries:
        try:
            outcomes.append(read(entry))
        except SqsError as error:
            outcomes.append(error)
    if check is not None:
        check([o for o in outcomes if not isinstance(o, SqsError)])
    successful: list[Reply] = []
    failed: list[Reply] = []
    for entry, outcome in zip(entries, outcomes, strict=True):
        if not isinstance(outcome, SqsError):
            try:
                successful.append({"Id": entry["Id"], **apply(outcome)})
                continue
            except SqsError as error:
                outcome = error
        failed.append(failure(entry["Id"], outcome))
    return {"Successful": successful, "Failed": failed}
