"""What the TUI's panels show, folded from the event stream: no Textual and no I/O here.

The panels are views of one ``LabView``; a live source, a replayed recording and a unit test
feed it the same plain event dicts (docs/events.md), so what a student sees live is what a
test checks from a hand-written list. Queue depths come from ``GetQueueAttributes`` when a
live source polls it (``apply_attributes``: then the numbers are what AWS answers) and are
estimated from the events otherwise (a replay), and the panel says which.

Times: event times (``at``) are the emulator's clock, which runs ``clock_speed`` times faster
than real time; ``now`` is the emulated time of the newest event (or what the source says it
is), so countdowns are in emulated seconds and ``real_seconds`` converts them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lab.trace.checker import ExtraDelivery, QueueReport, check_queue
from lab.trace.history import Folder

Event = Mapping[str, Any]

RATE_WINDOW = 60.0  # seconds (emulated) the per-second rates are averaged over
SPARK_POINTS = 60  # depth samples a queue's sparkline keeps
RECENT_STATUSES = 20
EFFECTS = (("duplicate", "dup"), ("reorder", "reorder"))  # the delivery model's, in short
LOG_LINES = 500
TRACE_LIMIT = 200_000  # sqs.* and worker.* events kept for the message histories
TRACE_MESSAGES = 10_000  # messages the anomaly checker remembers (the newest): a class's run
ATTRIBUTES = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)


class Rate:
    """Event times in the last ``RATE_WINDOW`` seconds, so a rate is a count, not a guess."""

    def __init__(self) -> None:
        self.times: deque[float] = deque()
        self.total = 0

    def add(self, at: float) -> None:
        self.times.append(at)
        self.total += 1

    def per_second(self, now: float, speed: float = 1.0) -> float:
        """Events per real second over the last real minute: event times are the emulator's
        clock, so at ``speed`` 20 that minute is 20 emulated minutes."""
        while self.times and self.times[0] < now - RATE_WINDOW * speed:
            self.times.popleft()
        return len(self.times) / RATE_WINDOW


@dataclass
class QueueView:
    """One queue: counts from the events, depth from AWS when a source polled it."""

    name: str
    sent: Rate = field(default_factory=Rate)
    received: Rate = field(default_factory=Rate)
    deleted: Rate = field(default_factory=Rate)
    dead_lettered: int = 0  # messages this queue moved to its dead-letter queue
    # depth as the events tell it (a replay has nothing else)
    waiting: set[str] = field(default_factory=set)
    # depth as GetQueueAttributes answered it (None: not polled)
    visible: int | None = None
    not_visible: int | None = None
    delayed: int | None = None
    depth_history: deque[int] = field(default_factory=lambda: deque(maxlen=SPARK_POINTS))

    @property
    def from_aws(self) -> bool:
        return self.visible is not None


@dataclass
class InFlight:
    """A message held by a consumer: hidden until ``visible_at`` (emulated epoch seconds). An
    injected copy (the delivery model's duplicate) is a row of its own: two consumers can hold
    the same message at once."""

    queue: str
    message_id: str
    receive_count: int
    visible_at: float
    job_id: str | None = None
    worker: str | None = None
    injected: bool = False
    receipt: str | None = None  # the receive's receipt tag: which worker report is about it


# what a worker is doing, for its timeline (the busiest phase wins a time slot)
POLLING, RENDERING, DELETING, FAILED, STOPPED, DIED = (
    "polling",
    "rendering",
    "deleting",
    "failed",
    "stopped",
    "died",
)
_RANK = (DIED, FAILED, RENDERING, DELETING, POLLING, STOPPED)  # busiest first
TIMELINE_POINTS = 2000  # phase changes a worker's timeline keeps


@dataclass
class WorkerView:
    name: str
    queue: str = ""
    step: str = "started"
    url: str | None = None
    pages_done: int = 0
    duplicates: int = 0
    failures: int = 0
    last_at: float = 0.0
    stopped: bool = False
    died: bool = False  # its process is gone without a worker.stopped (a live source checks)
    host: str | None = None
    pid: int | None = None
    busy: dict[str, str] = field(default_factory=dict)  # delivery -> its phase, now
    # (emulated time, phase, renders at once) at each change: the timeline panel's data
    timeline: deque[tuple[float, str, int]] = field(
        default_factory=lambda: deque(maxlen=TIMELINE_POINTS)
    )

    @property
    def phase(self) -> str:
        if self.died:
            return DIED
        if self.stopped:
            return STOPPED
        if RENDERING in self.busy.values():
            return RENDERING
        if self.busy:
            return DELETING
        return POLLING

    @property
    def renders(self) -> int:
        return sum(1 for phase in self.busy.values() if phase == RENDERING)

    def mark(self, at: float, phase: str | None = None) -> None:
        """A point on the timeline: ``phase`` (a failure) or the phase it is in now."""
        point = (at, phase or self.phase, self.renders)
        if not self.timeline or self.timeline[-1][1:] != point[1:] or phase == FAILED:
            self.timeline.append(point)


@dataclass
class TargetView:
    target_group: str
    target_id: str
    port: int | None = None
    state: str = "unknown"
    reason: str | None = None
    requests: Rate = field(default_factory=Rate)
    address: str | None = None
    from_aws: bool = False  # the state is DescribeTargetHealth's answer, not an event's
    private_ip: str | None = None  # an instance target's (DescribeInstances); else its id

    @property
    def shown_ip(self) -> str:
        """The private IP the target's page reports: an instance's, or the address itself."""
        return self.private_ip or self.target_id


@dataclass(frozen=True)
class Anomaly:
    """A row of the anomalies list: an extra delivery (``kind`` duplicate, with its cause) or
    a message first delivered before older ones (``kind`` out of order)."""

    kind: str
    queue: str
    message_id: str
    job_id: str | None
    detail: str
    cause: str | None = None  # a duplicate's, as lab.trace.checker names it


@dataclass
class Anomalies:
    """What ``lab trace check`` finds, per queue: extra deliveries by cause, inversions."""

    reports: list[QueueReport] = field(default_factory=list)

    @property
    def duplicates(self) -> list[ExtraDelivery]:
        return [extra for report in self.reports for extra in report.extra]

    @property
    def causes(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for report in self.reports:
            for cause, count in report.causes.items():
                counts[cause] = counts.get(cause, 0) + count
        return counts

    @property
    def out_of_order(self) -> int:
        return sum(report.inversions for report in self.reports)

    @property
    def producer_out_of_order(self) -> int:
        return sum(report.producer_inversions for report in self.reports)

    def rows(self) -> list[Anomaly]:
        """Duplicates, then messages that overtook older ones, queue by queue."""
        found = []
        for report in self.reports:
            for extra in report.extra:
                found.append(
                    Anomaly(
                        DUPLICATE,
                        report.queue,
                        extra.message_id,
                        extra.job_id,
                        f"delivery {extra.receive_count}",
                        extra.cause,
                    )
                )
            for message, count in report.overtook:
                found.append(
                    Anomaly(
                        OUT_OF_ORDER,
                        report.queue,
                        message.message_id,
                        message.job_id,
                        f"overtook {count} older",
                    )
                )
        return found


DUPLICATE, OUT_OF_ORDER = "duplicate", "out of order"


class LabView:
    """Everything the panels show, kept up to date one event at a time (``apply``)."""

    def __init__(self) -> None:
        self.queues: dict[str, QueueView] = {}
        self.in_flight: dict[tuple[str, str, bool], InFlight] = {}
        self.workers: dict[str, WorkerView] = {}
        self.targets: dict[tuple[str, str], TargetView] = {}
        # (status, target group, target id) of the last requests a listener answered
        self.statuses: deque[tuple[int, str | None, str | None]] = deque(maxlen=RECENT_STATUSES)
        self.rules: list[str] | None = None  # the listeners' rules, from DescribeRules
        self.balancer_error: str | None = None  # why the last DescribeTargetHealth poll failed
        # None: not known yet; False: this endpoint has no lab event stream (LocalStack, AWS)
        self.stream_available: bool | None = None
        self.log: deque[Event] = deque(maxlen=LOG_LINES)
        self.notices: deque[str] = deque(maxlen=20)
        self.clock_speed = 1.0
        self.chaos: dict[str, Any] | None = None
        self.now = 0.0
        self.events_seen = 0
        self.stream: str | None = None
        self._trace: deque[Event] = deque(maxlen=TRACE_LIMIT)
        self._folder = Folder(max_messages=TRACE_MESSAGES)  # the checker's history, kept current
        self._anomalies: Anomalies | None = Anomalies()
        self._slot: int | None = None  # the real second of the last sparkline point

    # -- feeding ---------------------------------------------------------------------------

    def apply_all(self, events: Iterable[Event]) -> None:
        for event in events:
            self.apply(event)

    def apply(self, event: Event) -> None:
        """Fold one event in; unknown types only reach the log (new types come without a new
        schema version, docs/events.md)."""
        kind = str(event.get("type", ""))
        at = float(event.get("at", self.now) or self.now)
        self.now = max(self.now, at)
        self.events_seen += 1
        self.stream_available = True
        self.log.append(event)
        stream = event.get("stream")
        if stream is not None and stream != self.stream:
            if self.stream is not None:  # a restart: the emulator forgot visibility
                self._emulator_restarted()
            self.stream = str(stream)
        if kind.startswith(("sqs.", "worker.")):
            self._trace.append(event)
            self._folder.add(event)
            self._anomalies = None
        handler = _HANDLERS.get(kind)
        if handler is not None:
            handler(self, event, at)
        self._sample(at)

    def note(self, sentence: str) -> None:
        """Something the source wants the student to know (a gap, a restart, no emulator)."""
        self.notices.append(sentence)

    def apply_health(self, health: Mapping[str, Any]) -> None:
        """The health document's clock speed and delivery model, read once at the start (the
        stream only says when they change)."""
        speed = (health.get("clock") or {}).get("speed")
        if speed:
            self.clock_speed = float(speed)
        chaos = health.get("chaos")
        if isinstance(chaos, Mapping) and self.chaos is None:
            self.chaos = dict(chaos)

    def apply_attributes(self, attributes: Mapping[str, Mapping[str, str]]) -> None:
        """``GetQueueAttributes`` answers, by queue name: the depth numbers the panel shows are
        then exactly what AWS said."""
        for name, attrs in attributes.items():
            queue = self._queue(name)
            queue.visible = int(attrs.get(ATTRIBUTES[0], 0))
            queue.not_visible = int(attrs.get(ATTRIBUTES[1], 0))
            queue.delayed = int(attrs.get(ATTRIBUTES[2], 0))
            queue.depth_history.append(queue.visible + queue.not_visible + queue.delayed)

    def apply_target_health(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """``DescribeTargetHealth`` answers (target_group, target_id, port, state, reason), for
        every target group: what the panel shows is then what AWS said."""
        answered: set[tuple[str, str]] = set()
        for row in rows:
            key = (str(row["target_group"]), str(row["target_id"]))
            answered.add(key)
            target = self.targets.get(key) or TargetView(*key)
            self.targets[key] = target
            target.port, target.state = row.get("port"), str(row.get("state"))
            target.reason, target.from_aws = row.get("reason"), True
            target.private_ip = row.get("private_ip") or target.private_ip
        for key in [k for k, t in self.targets.items() if t.from_aws and k not in answered]:
            del self.targets[key]  # deregistered

    def apply_rules(self, rules: list[str]) -> None:
        self.rules = rules

    def apply_workers_alive(self, alive: Mapping[str, bool], since: float | None = None) -> None:
        """Which workers' processes still run (a live source looks on this machine, and
        looked last at ``since``: a death found now happened after that, and after the
        worker's last report)."""
        for name, running in alive.items():
            worker = self.workers.get(name)
            if worker is not None and not running and not worker.stopped and not worker.died:
                worker.died = True
                worker.step = "died"
                worker.busy.clear()
                worker.mark(max(worker.last_at, since or worker.last_at))

    def stream_missing(self) -> None:
        self.stream_available = False

    def _sample(self, at: float) -> None:
        """A sparkline point for queues no source polls (a replay), the events' estimate, once
        per real second of the run: taken from event times, so a replay draws the same
        sparkline however fast it plays."""
        slot = int(at // self.clock_speed)
        if slot == self._slot:
            return
        self._slot = slot
        for queue in self.queues.values():
            if not queue.from_aws:
                queue.depth_history.append(self.visible(queue) + self.not_visible(queue))

    # -- reading ---------------------------------------------------------------------------

    def visible(self, queue: QueueView) -> int:
        return queue.visible if queue.visible is not None else len(queue.waiting)

    def not_visible(self, queue: QueueView) -> int:
        if queue.not_visible is not None:
            return queue.not_visible
        return sum(1 for key in self.in_flight if key[0] == queue.name)

    def history(self, message_id: str) -> list[Event]:
        """Everything the stream said about one message, from send to delete: the SQS events
        (in its queue, and in a dead-letter queue it moved to) and the workers' reports."""
        return [event for event in self._trace if event.get("message_id") == message_id]

    def timeline(self, worker: WorkerView, slots: int) -> list[tuple[str, int]]:
        """The last real minute of ``worker`` in ``slots`` equal slots, oldest first: each
        slot's busiest phase (a failure, then rendering, deleting, polling) and the most
        renders at once in it; ("", 0) before the worker's first report."""
        span = RATE_WINDOW * self.clock_speed
        start = self.now - span
        width = span / slots
        points = worker.timeline
        out: list[tuple[str, int]] = []
        index = 0
        current: tuple[float, str, int] | None = None
        while index < len(points) and points[index][0] <= start:
            current = points[index]
            index += 1
        for slot in range(slots):
            end = start + (slot + 1) * width
            inside = [current] if current else []
            while index < len(points) and points[index][0] <= end:
                current = points[index]
                inside.append(current)
                index += 1
            if not inside:
                out.append(("", 0))
                continue
            phases = {phase for _, phase, _ in inside}
            renders = max(count for _, _, count in inside)
            out.append((next((p for p in _RANK if p in phases), inside[-1][1]), renders))
        return out

    def in_flight_rows(self) -> list[InFlight]:
        """Soonest to become visible again first: the one about to come back is on top."""
        return sorted(self.in_flight.values(), key=lambda m: m.visible_at)

    def seconds_left(self, message: InFlight) -> float:
        """Emulated seconds until ``message`` is visible again (negative: overdue)."""
        return message.visible_at - self.now

    def real_seconds(self, emulated: float) -> float:
        return emulated / self.clock_speed

    def anomalies(self) -> Anomalies:
        """Duplicates by cause and inversions, by ``lab.trace``'s checker over the history
        folded as events came (checked again only after new SQS or worker events)."""
        if self._anomalies is None:
            history = self._folder.history
            self._anomalies = Anomalies([check_queue(history, q) for q in history.queues()])
        return self._anomalies

    def recent_statuses(self) -> list[int]:
        return [status for status, _, _ in self.statuses]

    def recent_answers(self, count: int) -> list[tuple[int, str]]:
        """The last ``count`` requests: status, and the private IP of the target that
        answered ("-": the load balancer answered itself)."""
        out = []
        for status, group, target_id in list(self.statuses)[-count:]:
            target = self.targets.get((str(group), str(target_id)))
            ip = target.shown_ip if target else (target_id or "-")
            out.append((status, ip))
        return out

    def chaos_summary(self) -> str:
        """``on: dup 20% reorder 50% delay, seed 7``: the main effects for every standard
        queue, and the seed; ``off``; ``unknown`` before the source said."""
        chaos = self.chaos
        if not chaos:
            return "unknown"
        if not chaos.get("enabled"):
            return "off"
        default = chaos.get("default") or {}
        effects = [f"{short} {default[name]:.0%}" for name, short in EFFECTS if default.get(name)]
        if (default.get("delay") or [0, 0])[-1]:
            effects.append("delay")
        if chaos.get("queues"):
            effects.append(f"+{len(chaos['queues'])} queue(s)")
        return f"on: {' '.join(effects) or 'nothing'}, seed {chaos.get('seed')}"

    # -- the handlers ----------------------------------------------------------------------

    def _queue(self, name: str) -> QueueView:
        found = self.queues.get(name)
        if found is None:
            found = self.queues[name] = QueueView(name)
        return found

    def _emulator_restarted(self) -> None:
        for message in self.in_flight.values():
            self._queue(message.queue).waiting.add(message.message_id)
        self.in_flight.clear()
        for worker in self.workers.values():
            worker.busy.clear()

    def _give_back(self, key: tuple[str, str, bool]) -> None:
        if self.in_flight.pop(key, None) is not None:
            self._queue(key[0]).waiting.add(key[1])


def _copy(event: Event) -> tuple[str, str, bool]:
    """The in-flight key of the delivery an event is about: an injected copy is its own."""
    return (str(event["queue"]), str(event["message_id"]), bool(event.get("injected")))


def _queue_created(view: LabView, event: Event, at: float) -> None:
    view._queue(str(event["queue"]))


def _queue_gone(view: LabView, event: Event, at: float) -> None:
    queue = view._queue(str(event["queue"]))
    queue.waiting.clear()
    for key in [k for k in view.in_flight if k[0] == queue.name]:
        del view.in_flight[key]
    if event.get("type") == "sqs.queue_deleted":
        del view.queues[queue.name]


def _send(view: LabView, event: Event, at: float) -> None:
    queue = view._queue(str(event["queue"]))
    queue.sent.add(at)
    queue.waiting.add(str(event["message_id"]))


def _receive(view: LabView, event: Event, at: float) -> None:
    key = _copy(event)
    queue = view._queue(key[0])
    queue.received.add(at)
    queue.waiting.discard(key[1])
    view.in_flight[key] = InFlight(
        queue.name,
        key[1],
        int(event.get("receive_count", 1)),
        at + float(event.get("visibility_timeout", 0)),
        injected=key[2],
        receipt=event.get("receipt"),
    )


def _delete(view: LabView, event: Event, at: float) -> None:
    key = _copy(event)
    queue = view._queue(key[0])
    queue.deleted.add(at)
    queue.waiting.discard(key[1])
    view.in_flight.pop(key, None)


def _change_visibility(view: LabView, event: Event, at: float) -> None:
    key = _copy(event)
    timeout = float(event.get("timeout", 0))
    if timeout <= 0:
        view._give_back(key)
    elif key in view.in_flight:
        view.in_flight[key].visible_at = at + timeout


def _expired(view: LabView, event: Event, at: float) -> None:
    view._give_back(_copy(event))


def _dead_letter(view: LabView, event: Event, at: float) -> None:
    queue = view._queue(str(event["queue"]))
    message_id = str(event["message_id"])
    queue.dead_lettered += 1
    queue.waiting.discard(message_id)
    view.in_flight.pop((queue.name, message_id, False), None)
    view._queue(str(event["target"])).waiting.add(message_id)


def _retention(view: LabView, event: Event, at: float) -> None:
    queue = view._queue(str(event["queue"]))
    queue.waiting.discard(str(event["message_id"]))


def _worker(view: LabView, event: Event) -> WorkerView:
    name = str(event.get("worker", "?"))
    found = view.workers.get(name)
    if found is None:
        found = view.workers[name] = WorkerView(name)
    found.last_at = float(event.get("at", view.now) or view.now)
    if event.get("queue"):
        found.queue = str(event["queue"])
    return found


# a worker's step after each of its reports: what it is doing now
_STEPS = {
    "worker.started": "starting",
    "worker.polling": "polling",
    "worker.received": "received",
    "worker.uploaded": "deleting",
    "worker.deleted": "done",
    "worker.duplicate": "duplicate: deleting",
    "worker.failed": "failed",
    "worker.stopped": "stopped",
}


def _worker_step(view: LabView, event: Event, at: float) -> None:
    worker = _worker(view, event)
    kind = str(event["type"])
    delivery = str(event.get("receipt") or event.get("message_id") or "")
    worker.step = _STEPS.get(kind, kind.removeprefix("worker."))
    failed = False
    if kind == "worker.started":
        worker.host, worker.pid = event.get("host"), event.get("pid")
        worker.stopped = worker.died = False
        worker.busy.clear()
    elif kind == "worker.received":
        worker.busy[delivery] = DELETING  # holding it; rendering starts with its report
        key = (str(event.get("queue")), str(event.get("message_id")))
        for copy in ((*key, False), (*key, True)):
            held = view.in_flight.get(copy)
            if held is not None and held.receipt in (None, event.get("receipt")):
                held.worker = worker.name
                held.job_id = event.get("job_id")
    elif kind == "worker.rendering":
        worker.url = str(event.get("url"))
        worker.step = f"rendering {worker.url}"
        worker.busy[delivery] = RENDERING
    elif kind == "worker.uploaded":
        worker.pages_done += 1
        worker.step = "uploaded, deleting"
        worker.busy[delivery] = DELETING
    elif kind == "worker.duplicate":
        worker.duplicates += 1
        worker.busy[delivery] = DELETING
    elif kind == "worker.deleted":
        worker.busy.pop(delivery, None)
    elif kind == "worker.failed":
        worker.failures += 1
        worker.step = f"failed: {event.get('kind')}"
        worker.busy.pop(delivery, None)
        failed = True
    elif kind == "worker.stopped":
        worker.stopped = True
        worker.busy.clear()
    worker.mark(at, FAILED if failed else None)


def _target(view: LabView, event: Event) -> TargetView:
    key = (str(event.get("target_group")), str(event.get("target_id")))
    found = view.targets.get(key)
    if found is None:
        found = view.targets[key] = TargetView(*key)
    return found


def _target_state(view: LabView, event: Event, at: float) -> None:
    target = _target(view, event)
    target.state = str(event.get("state"))
    target.reason = event.get("reason")
    target.port = event.get("port")


def _request(view: LabView, event: Event, at: float) -> None:
    view.statuses.append(
        (int(event.get("status", 0)), event.get("target_group"), event.get("target_id"))
    )
    if event.get("target_id") is None:
        return
    target = _target(view, event)
    target.requests.add(at)
    target.address = event.get("target_address") or target.address


def _clock(view: LabView, event: Event, at: float) -> None:
    view.clock_speed = float(event.get("speed", 1) or 1)


def _chaos(view: LabView, event: Event, at: float) -> None:
    view.chaos = {name: event.get(name) for name in ("enabled", "seed", "default", "queues")}


_HANDLERS = {
    "sqs.queue_created": _queue_created,
    "sqs.queue_deleted": _queue_gone,
    "sqs.queue_purged": _queue_gone,
    "sqs.send": _send,
    "sqs.receive": _receive,
    "sqs.delete": _delete,
    "sqs.change_visibility": _change_visibility,
    "sqs.visibility_expired": _expired,
    "sqs.dead_letter": _dead_letter,
    "sqs.retention_expired": _retention,
    "elb.target_state": _target_state,
    "elb.request": _request,
    "control.clock_speed": _clock,
    "control.chaos": _chaos,
    **{name: _worker_step for name in (*_STEPS, "worker.rendering")},
}
