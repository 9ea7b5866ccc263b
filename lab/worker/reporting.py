"""The worker's steps, reported to the lab's event stream (``POST /_lab/events``, see
docs/events.md), so the TUI, notebooks and ``lab trace check`` can see what each worker did
with each delivery.

Why it works the way it does:

- Reporting must never cost a render anything. ``report`` only appends to a bounded queue; one
  background thread sends what has gathered in one POST (up to ``MAX_REPORTS``), so a busy
  worker makes a few requests a second, not one per step, and a slow or absent emulator slows
  nothing but that thread.
- Reports are a view, not the work: a POST that fails (the emulator restarting, a timeout) is
  dropped and logged at debug level, and a full queue drops the newest reports. The job itself
  is safe in SQS and S3 either way.
- The worker runs the same against LocalStack and AWS, which have no event stream: the first
  POST answered 404 or 405 turns reporting off for good, with one line in the log.
- One thread posts in order, so the stream keeps each worker's steps in the order it took them.
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Mapping
from typing import Any

from lab.endpoints import sentence_of
from lab.trace.history import receipt_tag

log = logging.getLogger(__name__)

PATH = "/_lab/events"
MAX_REPORTS = 1000  # per POST, the endpoint's limit
STEPS = frozenset(
    {
        "started",
        "polling",
        "received",
        "rendering",
        "uploaded",
        "deleted",
        "duplicate",
        "failed",
        "stopped",
    }
)
NO_STREAM = (404, 405)  # what an endpoint without the stream answers (LocalStack, AWS)


class Reporter:
    """Sends ``worker.<step>`` events for the worker named ``worker`` to ``endpoint``'s event
    stream. ``endpoint=None`` makes a reporter that reports nothing (a worker without one).

    ``linger``: how long the sender waits after the first report of a batch for more to join
    it. ``capacity``: reports queued at most while the sender is busy or the emulator slow."""

    def __init__(
        self,
        endpoint: str | None,
        worker: str,
        *,
        linger: float = 0.05,
        capacity: int = 10_000,
        timeout: float = 5.0,
    ) -> None:
        self.endpoint = endpoint.rstrip("/") if endpoint else None
        self.worker = worker
        self.linger = linger
        self.capacity = capacity
        self.timeout = timeout
        self.sent = 0  # events the endpoint accepted
        self.dropped = 0  # events lost to a full queue, a failed POST or a refusal
        self._queue: deque[dict[str, Any]] = deque()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closing = False
        self._abandoned = False  # closed, and the sender is to give up what is left
        self._enabled = self.endpoint is not None
        self._conn: http.client.HTTPConnection | None = None

    @property
    def enabled(self) -> bool:
        """False once reporting is off: no endpoint, one without the stream, or closed."""
        return self._enabled and not self._closing

    def report(self, step: str, **fields: Any) -> None:
        """Queue ``worker.<step>`` with ``fields`` (the worker's name is added); returns at
        once. An unknown step is a bug in the caller and raises at once."""
        if step not in STEPS:
            raise ValueError(f"no worker step {step!r}; the steps are {', '.join(sorted(STEPS))}")
        if not self.enabled:
            return
        event = {"type": f"worker.{step}", "worker": self.worker, **fields}
        with self._cond:
            if len(self._queue) >= self.capacity:
                self.dropped += 1
                if self.dropped == 1 or self.dropped % 1000 == 0:
                    log.debug("report queue full: %d reports dropped so far", self.dropped)
                return
            self._queue.append(event)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name=f"reporter-{self.worker}", daemon=True
                )
                self._thread.start()
            self._cond.notify()

    def close(self, timeout: float = 5.0) -> None:
        """Send what is queued (for at most ``timeout`` seconds), then stop the sender. A
        worker calls this when it stops, so its last steps reach the stream."""
        with self._cond:
            self._closing = True
            self._cond.notify()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                with self._cond:
                    left, self._abandoned = len(self._queue), True
                    self.dropped += left
                    self._queue.clear()
                log.debug("%d reports still unsent after %.1f s; dropped", left, timeout)

    # -- the sender thread ----------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while True:
                batch = self._next_batch()
                if batch is None:
                    return
                if not self._send(batch):
                    return
        finally:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _next_batch(self) -> list[dict[str, Any]] | None:
        """Wait for a report, then ``linger`` for more; None when closed and all sent."""
        with self._cond:
            while not self._queue:
                if self._closing or self._abandoned:
                    return None
                self._cond.wait()
            if not self._closing and len(self._queue) < MAX_REPORTS:
                deadline = time.monotonic() + self.linger
                while not self._closing and len(self._queue) < MAX_REPORTS:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
            count = min(MAX_REPORTS, len(self._queue))
            return [self._queue.popleft() for _ in range(count)]

    def _send(self, batch: list[dict[str, Any]]) -> bool:
        """POST one batch; False when the endpoint has no stream (stop reporting)."""
        body = json.dumps({"events": batch}, separators=(",", ":")).encode()
        try:
            status, reply = self._post(body)
        except (OSError, http.client.HTTPException) as exc:
            self.dropped += len(batch)
            log.debug("could not report %d steps to %s: %s", len(batch), self.endpoint, exc)
            return True
        if status in NO_STREAM:
            self._stop_reporting(status)
            return False
        if status != 200:
            self.dropped += len(batch)
            why = sentence_of(reply, reply[:200].decode(errors="replace"))
            log.debug(
                "%s refused %d reported steps (%d): %s", self.endpoint, len(batch), status, why
            )
            return True
        self.sent += len(batch)
        return True

    def _stop_reporting(self, status: int) -> None:
        with self._cond:
            self._enabled = False
            self.dropped += len(self._queue)
            self._queue.clear()
        log.info(
            "%s has no lab event stream (POST %s answered %d): this worker does not report "
            "its steps there",
            self.endpoint, PATH, status,
        )  # fmt: skip

    def _connect(self) -> http.client.HTTPConnection:
        assert self.endpoint is not None
        parts = urllib.parse.urlsplit(self.endpoint)
        host, port = parts.hostname or "127.0.0.1", parts.port
        if parts.scheme == "https":
            return http.client.HTTPSConnection(host, port, timeout=self.timeout)
        return http.client.HTTPConnection(host, port, timeout=self.timeout)

    def _post(self, body: bytes) -> tuple[int, bytes]:
        """One POST on a kept-alive connection; a connection the server closed while idle is
        opened again once."""
        headers = {"Content-Type": "application/json"}
        for attempt in (1, 2):
            reused = self._conn is not None
            conn = self._conn or self._connect()
            try:
                conn.request("POST", PATH, body, headers)
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                self._conn = None
                if reused and attempt == 1:
                    continue
                raise
            if response.will_close:
                conn.close()
                self._conn = None
            else:
                self._conn = conn
            return response.status, data
        raise AssertionError("unreachable")


# -- what a worker reports about a message -------------------------------------------------------


def queue_name(queue_url: str) -> str:
    """The queue's name, as the emulator's events name it, from its URL."""
    return queue_url.rstrip("/").rsplit("/", 1)[-1]


def _attribute(message: Mapping[str, Any], name: str) -> str | None:
    value = message.get("MessageAttributes", {}).get(name, {})
    text = value.get("StringValue") if isinstance(value, Mapping) else None
    return text if isinstance(text, str) else None


def about(
    message: Mapping[str, Any],
    queue: str,
    job_id: str | None = None,
    seq: int | None = None,
) -> dict[str, Any]:
    """The fields every per-message report carries: the delivery (message id, receipt digest,
    receive count) and the job (id, the producer and its sequence number, from the message
    attributes the producer sets, else from the body)."""
    try:
        receive_count = int(message.get("Attributes", {}).get("ApproximateReceiveCount", 0))
    except (TypeError, ValueError):
        receive_count = 0
    raw_seq = _attribute(message, "seq")
    try:
        producer_seq = int(raw_seq) if raw_seq is not None else seq
    except ValueError:
        producer_seq = seq
    return {
        "queue": queue,
        "message_id": str(message.get("MessageId", "")),
        "receipt": receipt_tag(str(message.get("ReceiptHandle", ""))),
        "receive_count": receive_count,
        "job_id": job_id,
        "seq": producer_seq,
        "producer": _attribute(message, "producer"),
    }
