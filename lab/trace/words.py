"""The checker's findings in plain words first, numbers second, and as JSON for graders."""

from __future__ import annotations

from collections import Counter
from typing import Any

from lab.trace.checker import (
    INJECTED,
    RESTART,
    RETRY_AFTER_FAILURE,
    TIMEOUT,
    TIMEOUT_WHILE_WORKING,
    WORKER_DIED,
    ExtraDelivery,
    QueueReport,
)

_CAUSE_WORDS = {
    INJECTED: "injected by the delivery model",
    TIMEOUT_WHILE_WORKING: "its visibility timeout ran out while a worker was still on it",
    WORKER_DIED: "the worker holding it died and its visibility timeout ran out",
    RESTART: "the emulator restarted while it was in flight",
    RETRY_AFTER_FAILURE: "the previous attempt failed, so it came back (a retry, as intended)",
    TIMEOUT: "its visibility timeout ran out (no worker said more)",
}


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def _item(report: QueueReport) -> str:
    return "job" if report.jobs else "message"


def _times(count: int) -> str:
    return {2: "twice", 3: "three times"}.get(count, f"{count} times")


def _cause_phrase(cause: str, count: int, examples: list[ExtraDelivery]) -> str:
    words = _CAUSE_WORDS.get(cause, cause)
    if cause == TIMEOUT_WHILE_WORKING and examples and examples[0].job_id:
        words = f"its visibility timeout ran out while job {examples[0].job_id} was being worked on"
    return f"{count} because {words}" if cause != INJECTED else f"{count} {words}"


def summary(report: QueueReport) -> list[str]:
    """Sentences about one queue, the most important first."""
    item = _item(report)
    lines = []
    if report.missed:
        lines.append(
            f"The emulator dropped {_plural(report.missed, 'event')} before they could be read "
            "(it keeps the last LAB_EVENTS_CAPACITY), so these counts may be incomplete."
        )
    if report.duplicated:
        most = max(len(m.deliveries) for m in report.duplicated)
        how = (
            _times(most)
            if all(len(m.deliveries) == most for m in report.duplicated)
            else ("more than once")
        )
        by_cause: dict[str, list[ExtraDelivery]] = {}
        for extra in report.extra:
            by_cause.setdefault(extra.cause, []).append(extra)
        parts = [_cause_phrase(c, len(e), e) for c, e in sorted(by_cause.items(), key=_order)]
        lines.append(
            f"{len(report.duplicated)} of {report.sent} {item}s were delivered {how}: "
            + ", ".join(parts)
            + "."
        )
    else:
        lines.append(f"No {item} was delivered twice ({report.sent} sent).")
    if report.lost:
        reasons = Counter(
            m.gone or ("the queue was purged" if m.purged else "unknown") for m in report.lost
        )
        detail = ", ".join(f"{n} {why}" for why, n in reasons.most_common())
        lines.append(f"{_plural(len(report.lost), item)} sent and never delivered: {detail}.")
    if report.inversions:
        lines.append(
            f"{_plural(report.inversions, 'pair')} of {item}s arrived in the opposite order to "
            "the one they were sent in."
        )
    else:
        lines.append(f"Every {item} was first delivered in the order it was sent.")
    if report.producer_pairs:
        lines.append(
            f"Against the producer's sequence numbers: {report.producer_inversions} of "
            f"{report.producer_pairs} pairs out of order."
        )
    if report.queued or report.in_flight:
        lines.append(
            f"Still waiting: {report.queued} in the queue, {report.in_flight} in flight "
            "(delivered, not yet deleted)."
        )
    return lines


def _order(item: tuple[str, list[ExtraDelivery]]) -> tuple[int, str]:
    return (-len(item[1]), item[0])


def numbers(report: QueueReport) -> str:
    return (
        f"sent {report.sent}, delivered {report.delivered} ({report.deliveries} receives), "
        f"deleted {report.deleted}, lost {len(report.lost)}, duplicated {len(report.duplicated)}, "
        f"out of order {report.inversions}, queued {report.queued}, in flight {report.in_flight}"
    )


def as_dict(report: QueueReport) -> dict[str, Any]:
    return {
        "queue": report.queue,
        "sent": report.sent,
        "delivered": report.delivered,
        "deliveries": report.deliveries,
        "deleted": report.deleted,
        "lost": [m.message_id for m in report.lost],
        "duplicated": {
            "messages": len(report.duplicated),
            "by_cause": dict(report.causes),
            "extra_deliveries": [
                {
                    "message_id": e.message_id,
                    "job_id": e.job_id,
                    "receive_count": e.receive_count,
                    "cause": e.cause,
                    "previous_worker": e.worker,
                }
                for e in report.extra
            ],
        },
        "out_of_order": {
            "inversions": report.inversions,
            "producer_inversions": report.producer_inversions,
            "producer_pairs": report.producer_pairs,
        },
        "queued": report.queued,
        "in_flight": report.in_flight,
        "gone": dict(report.gone),
        "events": {
            "after": report.since,
            "last_id": report.last_id,
            "missed": report.missed,
            "complete": report.missed == 0,
        },
        "summary": summary(report),
    }
