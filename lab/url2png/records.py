"""A job's status as immutable status records in the bucket, folded into one answer.

Section 15.2.1 asks for an id the producer can use to look up an asynchronous process. The
state has to live in the cloud (so it works on AWS too) and several writers touch it: the
producer, any number of workers, and workers that die half-way. S3 has no read-modify-write, so
a single ``status/ID.json`` that each writer overwrites loses updates: a slow worker could write
"in flight" after a faster one wrote "done". Instead every writer adds its own object under
``status/ID/`` and readers fold them. "Done" can then never be overwritten, duplicates are
counted by counting objects, and nothing needs a lock.

The key carries what the fold needs (time, kind, receive count), so ``--wait`` can follow many
jobs from listings alone; the body adds the details (URL, reason, worker).

This module is pure: no I/O. ``lab.url2png.store`` reads and writes the objects.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

STATUS_PREFIX = "status/"
FAILURE_PREFIX = "failures/"
GALLERY_PREFIX = "gallery/"

# Producer and redrive (queued), worker (received, error, failed, done, duplicate).
QUEUED, REQUEUED, RECEIVED = "queued", "requeued", "received"
REFUSED = "refused:"  # how a reason begins when the URL policy refused the page (lab.worker)
ERROR, FAILED = "error", "failed"  # error: this attempt failed; failed: it was the last one
DONE, DUPLICATE = "done", "duplicate"
KINDS = (QUEUED, REQUEUED, RECEIVED, ERROR, FAILED, DONE, DUPLICATE)
# Same millisecond: a later step of the same attempt sorts after an earlier one.
_RANK = {QUEUED: 0, REQUEUED: 0, RECEIVED: 1, ERROR: 2, FAILED: 2, DONE: 3, DUPLICATE: 3}

_KEY = re.compile(
    r"^status/(?P<id>[^/]+)/(?P<at>\d{13})-(?P<kind>[a-z]+)-r(?P<rc>\d+)-(?P<nonce>[0-9a-f]+)\.json$"
)

# States a reader sees (section 15.2.1: queued, in flight, done or failed).
STATE_UNKNOWN, STATE_QUEUED, STATE_IN_FLIGHT = "unknown", "queued", "in_flight"
STATE_DONE, STATE_FAILED = "done", "failed"


@dataclass(frozen=True)
class StatusRecord:
    """One step of one job (queued, received, done ...), written once by whoever took it.
    Not an emulator event (those are ``lab.events``): these live in the bucket, so they work
    on AWS too."""

    job_id: str
    kind: str
    at_ms: int
    receive_count: int = 0
    nonce: str = field(default_factory=lambda: secrets.token_hex(4))
    url: str | None = None
    seq: int | None = None
    reason: str | None = None
    max_receive: int | None = None
    worker: str | None = None
    message_id: str | None = None
    producer: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown status kind {self.kind!r}")

    @property
    def key(self) -> str:
        return status_key(self.job_id, self.at_ms, self.kind, self.receive_count, self.nonce)

    def body(self) -> bytes:
        data = {k: v for k, v in asdict(self).items() if v is not None}
        return json.dumps(data, sort_keys=True).encode()


def status_key(job_id: str, at_ms: int, kind: str, receive_count: int, nonce: str) -> str:
    return f"{STATUS_PREFIX}{job_id}/{at_ms:013d}-{kind}-r{receive_count}-{nonce}.json"


def job_prefix(job_id: str) -> str:
    return f"{STATUS_PREFIX}{job_id}/"


def parse_status_key(key: str) -> StatusRecord | None:
    """The record a key names (without its body's details); None for foreign objects."""
    match = _KEY.match(key)
    if not match or match["kind"] not in KINDS:
        return None
    return StatusRecord(
        job_id=match["id"],
        kind=match["kind"],
        at_ms=int(match["at"]),
        receive_count=int(match["rc"]),
        nonce=match["nonce"],
    )


def parse_status(data: bytes) -> StatusRecord | None:
    """The record in an object's body, with its details; None if it is not one."""
    try:
        fields = json.loads(data)
        return StatusRecord(**fields)
    except (ValueError, TypeError):
        return None


@dataclass(frozen=True)
class JobStatus:
    job_id: str
    state: str
    receive_count: int = 0
    duplicates: int = 0
    final: bool = False
    updated_ms: int = 0
    # The record whose body explains the state (a failure's reason); the store reads it.
    decisive: StatusRecord | None = None
    first: StatusRecord | None = None
    url: str | None = None
    seq: int | None = None
    reason: str | None = None
    max_receive: int | None = None

    @property
    def finished(self) -> bool:
        """Nothing more will happen without someone acting (a redrive)."""
        return self.state == STATE_DONE or (self.state == STATE_FAILED and self.final)


def fold(job_id: str, records: Iterable[StatusRecord]) -> JobStatus:
    """One job's status from its records, in any order, written by anyone.

    Done wins over everything (a PNG exists and is never replaced); otherwise the latest record
    decides. A duplicate delivery also proves done: a worker only records one when the PNG is
    already there, e.g. after a worker died between the upload and its own "done"."""
    ordered = sorted(records, key=lambda r: (r.at_ms, _RANK[r.kind], r.nonce))
    if not ordered:
        return JobStatus(job_id, STATE_UNKNOWN)
    first = next((e for e in ordered if e.kind == QUEUED), ordered[0])
    finished = [e for e in ordered if e.kind in (DONE, DUPLICATE)]
    done_count = sum(1 for e in finished if e.kind == DONE)
    duplicates = len(finished) - min(done_count, 1) if finished else 0
    if finished:
        decisive = next((e for e in finished if e.kind == DONE), finished[0])
        return JobStatus(
            job_id,
            STATE_DONE,
            receive_count=max(e.receive_count for e in ordered),
            duplicates=duplicates,
            updated_ms=finished[-1].at_ms,
            decisive=decisive,
            first=first,
        )
    last = ordered[-1]
    state = {
        QUEUED: STATE_QUEUED,
        REQUEUED: STATE_QUEUED,
        RECEIVED: STATE_IN_FLIGHT,
        ERROR: STATE_FAILED,
        FAILED: STATE_FAILED,
    }[last.kind]
    return JobStatus(
        job_id,
        state,
        receive_count=last.receive_count,
        final=last.kind == FAILED,
        updated_ms=last.at_ms,
        decisive=last,
        first=first,
    )


def with_details(
    status: JobStatus, first: StatusRecord | None, decisive: StatusRecord | None
) -> JobStatus:
    """Fill URL, sequence number and reason from the bodies of the two records that carry them."""
    url = (first and first.url) or (decisive and decisive.url) or None
    seq = first.seq if first and first.seq is not None else (decisive.seq if decisive else None)
    return JobStatus(
        status.job_id,
        status.state,
        receive_count=status.receive_count,
        duplicates=status.duplicates,
        final=status.final,
        updated_ms=status.updated_ms,
        decisive=status.decisive,
        first=status.first,
        url=url,
        seq=seq,
        reason=decisive.reason if decisive and status.state == STATE_FAILED else None,
        max_receive=decisive.max_receive if decisive else None,
    )


def describe(status: JobStatus, png_url: str, dlq_name: str = "the dead-letter queue") -> str:
    """One line for ``lab url2png status``."""
    if status.state == STATE_UNKNOWN:
        return "unknown: no job with this id (nothing under status/ in the bucket)"
    if status.state == STATE_QUEUED:
        return "queued: waiting for a worker"
    if status.state == STATE_IN_FLIGHT:
        return (
            f"in flight: received by a worker (receive count {status.receive_count}); if that "
            "worker died, the message comes back after its visibility timeout"
        )
    if status.state == STATE_DONE:
        extra = f" ({status.duplicates} duplicate deliveries seen)" if status.duplicates else ""
        return f"done: {png_url}{extra}"
    reason = status.reason or "no reason recorded"
    if status.final and reason.startswith(REFUSED):
        return (
            f"failed: {reason} (the worker refuses this URL every time, so the job failed at "
            "once and its message was deleted; submit an http(s) URL the lab may reach)"
        )
    if status.final:
        return (
            f"failed: {reason} (gave up after {status.receive_count} receives; the message is "
            f"in {dlq_name}: see `lab url2png dlq`)"
        )
    of = f" of {status.max_receive}" if status.max_receive else ""
    return (
        f"failed: {reason} (attempt {status.receive_count}{of}; SQS delivers it again after "
        "the visibility timeout)"
    )


def as_dict(status: JobStatus, png_url: str | None = None) -> dict[str, object]:
    """What notebooks and ``--json`` get."""
    return {
        "id": status.job_id,
        "state": status.state,
        "receive_count": status.receive_count,
        "duplicates": status.duplicates,
        "final": status.final,
        "url": status.url,
        "seq": status.seq,
        "reason": status.reason,
        "png_url": png_url if status.state == STATE_DONE else None,
    }


@dataclass(frozen=True)
class FailureRecord:
    """Why a message failed, keyed by its MessageId: SQS keeps the MessageId when it moves a
    message to the dead-letter queue, so ``lab url2png dlq`` can say why each one is there, even
    for bodies that are not JSON and so have no job id."""

    message_id: str
    kind: str  # poison | refused | failed
    reason: str
    receive_count: int
    at_ms: int
    job_id: str | None = None
    worker: str | None = None
    body_excerpt: str = ""

    @property
    def key(self) -> str:
        return failure_key(self.message_id)

    def body(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()


def failure_key(message_id: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", message_id)
    return f"{FAILURE_PREFIX}{safe}.json"


def parse_failure(data: bytes) -> FailureRecord | None:
    try:
        return FailureRecord(**json.loads(data))
    except (ValueError, TypeError):
        return None
