"""The delivery checker on histories written out by hand: each finding a student would read."""

from __future__ import annotations

import itertools

from lab.trace import checker
from lab.trace.history import fold
from lab.trace.words import as_dict, summary


class Stream:
    """Events as the emulator and workers publish them, with increasing ids."""

    def __init__(self) -> None:
        self.events: list[dict] = []
        self._ids = itertools.count(1)
        self.stream = "s1"

    def add(self, type_: str, **fields) -> dict:
        event = {"id": next(self._ids), "type": type_, "at": 0.0, "stream": self.stream, **fields}
        self.events.append(event)
        return event

    def send(self, n: int, queue: str = "q") -> None:
        self.add("sqs.send", queue=queue, message_id=f"m{n}", seq=n)

    def receive(self, n: int, count: int = 1, queue: str = "q", **more) -> None:
        self.add("sqs.receive", queue=queue, message_id=f"m{n}", receive_count=count,
                 receipt=f"r{n}-{count}", **more)  # fmt: skip

    def worker(self, step: str, n: int, count: int = 1, worker: str = "w1", seq: int | None = None):
        self.add(f"worker.{step}", queue="q", message_id=f"m{n}", receipt=f"r{n}-{count}",
                 receive_count=count, worker=worker, job_id=f"job{n}", seq=seq, producer="p")  # fmt: skip


def report(stream: Stream, queue: str = "q") -> checker.QueueReport:
    return checker.check_queue(fold(stream.events), queue)


def test_a_clean_run_has_nothing_to_report():
    s = Stream()
    for n in range(1, 4):
        s.send(n)
    for n in range(1, 4):
        s.receive(n)
        s.add("sqs.delete", queue="q", message_id=f"m{n}")
    r = report(s)
    assert (r.sent, r.delivered, r.deleted, r.inversions) == (3, 3, 3, 0)
    assert not r.lost and not r.duplicated and r.queued == r.in_flight == 0
    assert summary(r)[0] == "No message was delivered twice (3 sent)."


def test_duplicates_are_split_by_cause():
    s = Stream()
    for n in (1, 2, 3):
        s.send(n)
    # job 1: the delivery model injected a second copy
    s.receive(1)
    s.worker("received", 1)
    s.receive(1, count=2, injected=True)
    # job 2: its timeout ran out while w1 rendered it; w1 finished later
    s.receive(2)
    s.worker("received", 2)
    s.add("sqs.visibility_expired", queue="q", message_id="m2", receive_count=1)
    s.receive(2, count=2)
    s.worker("deleted", 2)
    # job 3: w2 took it and was never heard of again
    s.receive(3)
    s.worker("received", 3, worker="w2")
    s.add("sqs.visibility_expired", queue="q", message_id="m3", receive_count=1)
    s.receive(3, count=2)
    r = report(s)
    assert [e.cause for e in r.extra] == [
        checker.INJECTED,
        checker.TIMEOUT_WHILE_WORKING,
        checker.WORKER_DIED,
    ]
    text = summary(r)[0]
    assert text.startswith("3 of 3 jobs were delivered twice: ")
    assert "1 injected by the delivery model" in text
    assert "1 because its visibility timeout ran out while job job2 was being worked on" in text
    assert "1 because the worker holding it died" in text
    assert as_dict(r)["duplicated"]["by_cause"] == {
        "injected": 1, "visibility_timeout": 1, "worker_died": 1
    }  # fmt: skip


def test_a_retry_after_a_failure_and_a_restart_are_told_apart():
    s = Stream()
    s.send(1)
    s.send(2)
    s.receive(1)
    s.worker("received", 1)
    s.worker("failed", 1)
    s.add("sqs.visibility_expired", queue="q", message_id="m1", receive_count=1)
    s.receive(1, count=2)
    s.receive(2)
    s.stream = "s2"  # the emulator restarted: in-flight messages are visible again
    s.receive(2, count=2)
    causes = [e.cause for e in report(s).extra]
    assert causes == [checker.RETRY_AFTER_FAILURE, checker.RESTART]


def test_lost_means_sent_never_delivered_and_gone():
    s = Stream()
    s.send(1)
    s.send(2)
    s.send(3)
    s.add("sqs.retention_expired", queue="q", message_id="m1")
    s.receive(3)
    r = report(s)
    assert [m.message_id for m in r.lost] == ["m1"]
    assert (r.queued, r.in_flight) == (1, 1)
    assert "1 message sent and never delivered: 1 its retention period ran out." in summary(r)


def test_inversions_against_send_order_and_producer_sequence():
    s = Stream()
    for n in (1, 2, 3, 4):
        s.send(n)
    for n in (3, 1, 4, 2):  # (3,1) (3,2) (4,2): three pairs in the wrong order
        s.receive(n)
        s.worker("received", n, seq=n)
    r = report(s)
    assert r.inversions == 3
    assert (r.producer_inversions, r.producer_pairs) == (3, 6)
    assert "3 pairs of jobs arrived in the opposite order" in " ".join(summary(r))


def test_inversions_are_counted_exactly():
    assert checker.count_inversions([1, 2, 3]) == 0
    assert checker.count_inversions([3, 2, 1]) == 3
    assert checker.count_inversions([2, 1, 4, 3, 5]) == 2


def test_queues_are_checked_apart():
    s = Stream()
    s.send(1, queue="a")
    s.send(2, queue="b")
    s.receive(2, queue="b")
    s.receive(2, queue="b", count=2, injected=True)
    a, b = checker.check(fold(s.events))
    assert (a.queue, len(a.duplicated), a.queued) == ("a", 0, 1)
    assert (b.queue, len(b.duplicated)) == ("b", 1)
