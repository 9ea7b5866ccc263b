"""Where the TUI's events come from, apart from the widgets: a live lab, or a recording.

Both hand the app batches of event dicts through messages, so the UI thread never waits on
the network or a file: the live source follows the stream on a thread (``lab.events.follow``)
and polls ``GetQueueAttributes`` on a Textual worker thread, slowly, so the queue
numbers are the ones AWS answers; the replay source plays a JSONL recording (``lab events
--record``) on a timer, with pause, step and speed.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual.message import Message
from textual.worker import get_current_worker

from lab import aws
from lab import events as stream
from lab.chaos_cli import chaos_state, clock_state
from lab.config import LabConfig
from lab.runtime import LabError, emulator_health
from lab.tui.polls import read_attributes, read_balancer

Post = Callable[[Message], object]
POLL_INTERVAL = 2.0  # seconds between GetQueueAttributes polls
FOLLOW_WAIT = 5.0  # long-poll wait of the follower


class EventsReady(Message):
    """New events (and notices) wait in ``source``: call ``source.drain()``. At most one of
    these is pending at a time, so a busy stream costs one message per UI turn, not per
    event."""

    def __init__(self, source: LiveSource) -> None:
        super().__init__()
        self.source = source


class EventsPlayed(Message):
    """Events a replay reached; ``now`` is the recording's time at the playhead."""

    def __init__(self, events: list[stream.Event], now: float) -> None:
        super().__init__()
        self.events = events
        self.now = now


class AttributesRead(Message):
    """One poll: ``GetQueueAttributes`` by queue name, and the emulator's clock (speed, and
    how far it runs ahead of the wall clock) when it has the lab's clock endpoint."""

    def __init__(self, attributes: dict[str, dict[str, str]], clock: dict[str, Any] | None):
        super().__init__()
        self.attributes = attributes
        self.clock = clock


class BalancerRead(Message):
    """One poll of the load balancers: ``DescribeTargetHealth`` of every target group (rows of
    target_group, target_id, port, state, reason, private_ip) and the listeners' rules, one
    line each."""

    def __init__(self, targets: list[dict[str, Any]], rules: list[str]) -> None:
        super().__init__()
        self.targets = targets
        self.rules = rules


class ReadFailed(Message):
    """A poll failed (``what``: the API call): the endpoint may not have that service at all
    (LocalStack's free edition has no ELBv2)."""

    def __init__(self, what: str, reason: str) -> None:
        super().__init__()
        self.what = what
        self.reason = reason


class StreamMissing(Message):
    """The endpoint has no lab event stream (LocalStack, AWS): panels fed by it stay empty."""


class HealthRead(Message):
    """The emulator's health document, read once: the clock speed and the delivery model in
    force before the stream says they changed."""

    def __init__(self, health: dict[str, Any]) -> None:
        super().__init__()
        self.health = health


class SourceNote(Message):
    """A sentence for the student: no emulator, no event stream here, a gap, a restart."""

    def __init__(self, sentence: str) -> None:
        super().__init__()
        self.sentence = sentence


# -- live ----------------------------------------------------------------------------------


class LiveSource:
    """The configured endpoint's event stream and queue attributes, read on threads."""

    live = True

    def __init__(self, config: LabConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._events: list[stream.Event] = []
        self._notices: list[str] = []
        self._pending = False
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def describe(self) -> str:
        return f"live {self.config.endpoint.removeprefix('http://')}"

    def drain(self) -> tuple[list[stream.Event], list[str]]:
        """What arrived since the last drain (called on the UI thread)."""
        with self._lock:
            events, notices = self._events, self._notices
            self._events, self._notices, self._pending = [], [], False
        return events, notices

    def _put(self, post: Post, item: stream.Event | str) -> None:
        with self._lock:
            (self._notices if isinstance(item, str) else self._events).append(item)
            if self._pending:
                return
            self._pending = True
        post(EventsReady(self))

    def start_following(self, post: Post) -> None:
        """Follow the stream on a daemon thread of its own, not a Textual worker:
        ``lab.events.follow`` returns to its caller only with an event, so on an idle stream a
        worker would never see that it was cancelled and quitting would wait for it forever.
        A daemon thread ends with the process; ``stop`` ends it at the next event."""
        self._thread = threading.Thread(
            target=self.follow, args=(post,), name="lab-tui-follow", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()

    def follow(self, post: Post) -> None:
        """The follower's body: every event of the stream from the ring's start (so the
        anomalies panel sees the whole run), until ``stop``."""
        try:
            for item in stream.follow(
                self.config, wait=FOLLOW_WAIT, wait_for_emulator=True, limit=stream.MAX_LIMIT
            ):
                if self._stopped.is_set():
                    return
                self._put(post, item.sentence() if isinstance(item, stream.Notice) else item)
        except LabError as exc:  # LocalStack, AWS: no event stream
            post(StreamMissing())
            self._put(
                post,
                f"{exc}: in flight, anomalies, workers and requests stay empty here; queue "
                "depths and target health still come from GetQueueAttributes and "
                "DescribeTargetHealth",
            )

    def poll(self, post: Post) -> None:
        """A Textual worker thread's body: queue attributes every ``POLL_INTERVAL`` seconds."""
        worker = get_current_worker()
        sqs = aws.client("sqs", self.config)
        elb = aws.client("elbv2", self.config)
        ec2 = aws.client("ec2", self.config)
        failing: set[str] = set()
        health = None

        def attempt(what: str, read: Callable[[], Message]) -> None:
            """One read; a failure is said once (and again only after it worked), and the
            panels it feeds are told (``ReadFailed``)."""
            try:
                post(read())
                failing.discard(what)
            except Exception as exc:  # noqa: BLE001 (any cloud error: say it once, retry)
                if what not in failing:
                    post(SourceNote(f"{what} failed ({exc}); trying again"))
                    post(ReadFailed(what, str(exc)))
                failing.add(what)

        while not worker.is_cancelled:
            if health is None:
                health = emulator_health(self.config)
                if health is not None:
                    # the health document says only whether the model is on: its settings
                    # and seed come from the model's own endpoint
                    with contextlib.suppress(LabError):
                        health["chaos"] = chaos_state(self.config)
                    post(HealthRead(health))
            attempt(
                "GetQueueAttributes",
                lambda: AttributesRead(read_attributes(sqs), _clock(self.config)),
            )
            attempt("DescribeTargetHealth", lambda: BalancerRead(*read_balancer(elb, ec2)))
            deadline = time.monotonic() + POLL_INTERVAL
            while time.monotonic() < deadline and not worker.is_cancelled:
                time.sleep(0.1)


def _clock(config: LabConfig) -> dict[str, Any] | None:
    try:
        return clock_state(config)
    except LabError:
        return None


# -- replay --------------------------------------------------------------------------------


class RecordingError(LabError):
    """A recording that is not one JSON event per line."""


def load_recording(path: Path) -> list[stream.Event]:
    """The events of a ``lab events --record`` file, in their order."""
    events: list[stream.Event] = []
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RecordingError(f"cannot read the recording {path}: {exc.strerror}") from None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except ValueError:
            raise RecordingError(f"{path} line {number} is not JSON") from None
        if not isinstance(event, dict) or "type" not in event:
            raise RecordingError(f"{path} line {number} is not an event")
        events.append(event)
    return events


@dataclass
class Player:
    """A playhead over a recording, in the recording's own time: ``advance`` moves it by
    some real seconds (times ``speed`` and the emulator's clock speed then in force, so a run
    recorded at 20x plays back as fast as it happened), ``step`` by one event. Idle stretches
    longer than ``max_gap`` real seconds are skipped: nobody wants to watch a long poll."""

    events: list[stream.Event]
    speed: float = 1.0
    paused: bool = False
    max_gap: float = 2.0
    index: int = 0
    position: float = 0.0
    clock_speed: float = 1.0

    def __post_init__(self) -> None:
        if self.events:
            self.position = float(self.events[0].get("at", 0.0))

    @property
    def done(self) -> bool:
        return self.index >= len(self.events)

    def advance(self, real_seconds: float) -> list[stream.Event]:
        if self.paused or self.done:
            return []
        rate = self.speed * self.clock_speed
        next_at = self._at(self.index)
        self.position = max(self.position, next_at - self.max_gap * rate)
        self.position += real_seconds * rate
        played = self._until(self.position)
        if self.done:  # the recording's time ends with its last event
            self.position = min(self.position, self._at(len(self.events) - 1))
        return played

    def step(self) -> list[stream.Event]:
        """The next event, whatever its time (for a paused replay)."""
        if self.done:
            return []
        self.position = max(self.position, self._at(self.index))
        return self._take(self.index + 1)

    def _at(self, index: int) -> float:
        return float(self.events[index].get("at", self.position))

    def _until(self, position: float) -> list[stream.Event]:
        end = self.index
        while end < len(self.events) and self._at(end) <= position:
            end += 1
        return self._take(end)

    def _take(self, end: int) -> list[stream.Event]:
        played = self.events[self.index : end]
        self.index = end
        for event in played:
            if event.get("type") == "control.clock_speed":
                self.clock_speed = float(event.get("speed", 1) or 1)
        return played


class ReplaySource:
    """A recording played on the app's timer (no threads: nothing to wait for)."""

    live = False
    TICK = 0.1

    def __init__(self, path: Path, speed: float = 1.0) -> None:
        self.path = path
        self.player = Player(load_recording(path), speed=speed)

    def describe(self) -> str:
        player = self.player
        state = "paused" if player.paused else ("done" if player.done else "playing")
        where = f"{player.index}/{len(player.events)}"
        return f"replay {self.path.name} {where} {state} ×{player.speed:g}"

    def tick(self, post: Post) -> None:
        played = self.player.advance(self.TICK)
        if played:
            post(EventsPlayed(played, self.player.position))

    def step(self, post: Post) -> None:
        post(EventsPlayed(self.player.step(), self.player.position))
