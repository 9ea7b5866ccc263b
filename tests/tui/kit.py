"""Hand-written event streams for the TUI's tests: the shapes of docs/events.md, with the
envelope filled in, so a test reads as the story it tells."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

STREAM = "teststream000001"


class Story:
    """Events in the order they are written, ids from 1, times from ``start``."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.at = start
        self.events: list[dict[str, Any]] = []

    def later(self, seconds: float) -> Story:
        self.at += seconds
        return self

    def add(self, type_: str, **fields: Any) -> dict[str, Any]:
        event = {
            "schema": 1,
            "stream": fields.pop("stream", STREAM),
            "id": len(self.events) + 1,
            "type": type_,
            "at": self.at,
            **fields,
        }
        self.events.append(event)
        return event

    def send(self, message_id: str, seq: int, queue: str = "url2png") -> None:
        self.add("sqs.send", queue=queue, message_id=message_id, seq=seq, delay=0)

    def receive(
        self,
        message_id: str,
        seq: int,
        count: int = 1,
        timeout: int = 120,
        injected: bool = False,
        queue: str = "url2png",
    ) -> None:
        self.add(
            "sqs.receive",
            queue=queue,
            message_id=message_id,
            seq=seq,
            receive_count=count,
            visibility_timeout=timeout,
            receipt=f"r{message_id}{count}",
            injected=injected,
        )

    def worker(self, step: str, worker: str, message_id: str, count: int = 1, **more: Any) -> None:
        self.add(
            f"worker.{step}",
            worker=worker,
            queue="url2png",
            message_id=message_id,
            receipt=f"r{message_id}{count}",
            receive_count=count,
            job_id=f"job-{message_id}",
            seq=more.pop("seq", None),
            producer="p1",
            **more,
        )

    def delete(
        self, message_id: str, seq: int, queue: str = "url2png", injected: bool = False
    ) -> None:
        self.add("sqs.delete", queue=queue, message_id=message_id, seq=seq, injected=injected)

    def write(self, path: Path) -> Path:
        path.write_text("".join(json.dumps(event) + "\n" for event in self.events))
        return path


def classroom_run() -> Story:
    """A short URL2PNG run: two workers, a duplicate injected, a reordering, a render that
    outlives its visibility timeout, and a load balancer with a target going unhealthy."""
    story = Story()
    story.add("control.clock_speed", speed=20.0, previous=1.0)
    story.add("control.chaos", enabled=True, seed=7, default={"duplicate": 0.2}, queues={})
    story.add("sqs.queue_created", queue="url2png")
    story.add(
        "worker.started",
        worker="w1",
        queue="url2png",
        visibility_timeout=120,
        parallel=1,
        heartbeat=False,
        renderer="fake",
    )
    story.add("worker.polling", worker="w1", queue="url2png")
    for n in range(1, 4):
        story.send(f"m{n}", n)
    story.later(1).receive("m2", 2)  # m2 before m1: reordered
    story.worker("received", "w1", "m2", seq=2)
    story.worker("rendering", "w1", "m2", seq=2, url="http://127.0.0.1:8081/ocean.html")
    story.later(1).receive("m1", 1)
    story.add("worker.polling", worker="w2", queue="url2png")
    story.worker("received", "w2", "m1", seq=1)
    story.worker("uploaded", "w1", "m2", seq=2, key="job-m2.png", bytes=100)
    story.delete("m2", 2)
    story.worker("deleted", "w1", "m2", seq=2)
    story.later(1).receive("m2", 2, count=2, injected=True)
    story.worker("received", "w1", "m2", count=2, seq=2)
    story.worker("duplicate", "w1", "m2", count=2, seq=2, rendered=False)
    story.delete("m2", 2, injected=True)
    story.worker("deleted", "w1", "m2", count=2, seq=2)
    story.add(
        "elb.target_state",
        target_group="lab-web",
        target_id="127.0.0.11",
        port=8001,
        previous="initial",
        state="healthy",
        reason=None,
    )
    story.add(
        "elb.target_state",
        target_group="lab-web",
        target_id="127.0.0.12",
        port=8001,
        previous="healthy",
        state="unhealthy",
        reason="Target.ResponseCodeMismatch",
    )
    for status in (200, 200, 503):
        story.add(
            "elb.request",
            load_balancer="lab-web",
            listener_port=80,
            method="GET",
            path="/",
            rule="default",
            target_group="lab-web",
            target_id="127.0.0.11",
            target_address="127.0.0.11:8001",
            status=status,
            ms=1.5,
            answered_by="target",
        )
    return story
