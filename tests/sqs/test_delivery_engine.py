"""The delivery model inside the SQS engine: injected duplicates, reordering, delays and
sampling on standard queues, none of it on FIFO queues, all of it reproducible from a seed."""

from __future__ import annotations

import random

from emulator.clock import ManualClock
from emulator.events import sqs as ev
from emulator.sqs.delivery import Chaos, DeliveryModel, Settings
from emulator.sqs.engine import SendRequest, SqsEngine


def engine_with(chaos: Chaos, seed: int = 1) -> tuple[SqsEngine, ManualClock, list]:
    clock = ManualClock()
    events: list = []
    model = DeliveryModel(Settings(enabled=True, seed=seed, default=chaos))
    engine = SqsEngine(clock, rng=random.Random(3), on_event=events.append, delivery=model)
    engine.create_queue("q", {"VisibilityTimeout": "30"})
    return engine, clock, events


def send_all(engine: SqsEngine, n: int, queue: str = "q", **kw) -> None:
    for i in range(1, n + 1):
        engine.send(queue, SendRequest(f"job {i}", **kw))


def drain(engine: SqsEngine, clock: ManualClock, queue: str = "q", rounds: int = 200) -> list:
    """Receive one at a time and delete at once, as the book's worker does, letting time pass
    so delayed copies show up; the bodies in the order they were delivered."""
    bodies = []
    for _ in range(rounds):
        got = engine.receive(queue, 1)
        if not got:
            clock.advance(0.5)
            continue
        bodies.append(got[0].message.body)
        engine.delete(queue, got[0].receipt)
    return bodies


def test_an_injected_duplicate_comes_back_after_a_successful_delete():
    engine, clock, events = engine_with(Chaos(duplicate=1.0, duplicate_after=(1.0, 1.0)))
    send_all(engine, 1)
    first = engine.receive("q")
    engine.delete("q", first[0].receipt)
    assert engine.receive("q") == []
    clock.advance(1.0)
    again = engine.receive("q")
    assert [d.message.body for d in again] == ["job 1"]
    assert again[0].message.message_id == first[0].message.message_id  # the same MessageId
    assert again[0].receipt != first[0].receipt
    engine.delete("q", again[0].receipt)  # the copy's handle deletes the copy
    clock.advance(10)
    assert engine.receive("q") == []  # a copy gets no copy of its own
    kinds = [type(e) for e in events if not isinstance(e, ev.SqsQueueCreated)]
    assert kinds == [ev.SqsSend, ev.SqsReceive, ev.SqsDuplicateInjected, ev.SqsDelete,
                     ev.SqsReceive, ev.SqsDelete]  # fmt: skip
    receives = [e for e in events if isinstance(e, ev.SqsReceive)]
    assert [r.injected for r in receives] == [False, True]
    assert receives[0].receipt == ev.receipt_tag(first[0].receipt)


def test_a_duplicate_can_reach_another_consumer_while_the_original_is_in_flight():
    engine, clock, _ = engine_with(Chaos(duplicate=1.0, duplicate_after=(0.5, 0.5)))
    send_all(engine, 1)
    held = engine.receive("q")
    clock.advance(0.5)
    other = engine.receive("q")
    assert [d.message.body for d in other] == ["job 1"] and held[0].message.state == 2


def test_reordering_changes_the_order_and_loses_nothing():
    engine, clock, events = engine_with(Chaos(reorder=1.0, reorder_window=4))
    send_all(engine, 20)
    bodies = drain(engine, clock)
    assert sorted(bodies) == sorted(f"job {i}" for i in range(1, 21))
    assert bodies != [f"job {i}" for i in range(1, 21)]
    reordered = [e for e in events if isinstance(e, ev.SqsReordered)]
    assert reordered and all(1 <= e.skipped <= 3 for e in reordered)


def test_an_injected_delay_hides_a_new_message_for_a_while():
    engine, clock, events = engine_with(Chaos(delay=(2.0, 2.0)))
    send_all(engine, 1)
    assert engine.receive("q") == []
    clock.advance(2.0)
    assert len(engine.receive("q")) == 1
    assert [e.extra for e in events if isinstance(e, ev.SqsDelayInjected)] == [2.0]


def test_sampling_thins_short_polls_only():
    engine, clock, events = engine_with(Chaos(sampling=True))
    send_all(engine, 10)
    short = [len(engine.receive("q", 10, visibility_timeout=0, short_poll=True)) for _ in range(30)]
    assert min(short) < 10 and max(short) <= 10
    assert [e for e in events if isinstance(e, ev.SqsSampled)]
    assert len(engine.receive("q", 10, visibility_timeout=0)) == 10  # a long poll gets all


def test_fifo_queues_stay_exactly_once_and_in_order():
    engine, clock, events = engine_with(
        Chaos(duplicate=1.0, reorder=1.0, delay=(1.0, 1.0), sampling=True)
    )
    engine.create_queue("jobs.fifo", {"FifoQueue": "true", "ContentBasedDeduplication": "true"})
    send_all(engine, 10, queue="jobs.fifo", group_id="g")
    bodies = drain(engine, clock, queue="jobs.fifo")
    assert bodies == [f"job {i}" for i in range(1, 11)]
    injected = (ev.SqsDuplicateInjected, ev.SqsReordered, ev.SqsDelayInjected, ev.SqsSampled)
    assert not [e for e in events if isinstance(e, injected)]


def test_the_same_seed_and_calls_give_the_same_effects():
    chaos = Chaos(duplicate=0.3, reorder=0.5, delay=(0.0, 1.0))

    def run(seed: int) -> list:
        engine, clock, events = engine_with(chaos, seed)
        send_all(engine, 30)
        bodies = drain(engine, clock)
        effects = [
            (type(e).__name__, e.seq) for e in events
            if isinstance(e, ev.SqsDuplicateInjected | ev.SqsReordered | ev.SqsDelayInjected)
        ]  # fmt: skip
        return [bodies, effects]

    assert run(5) == run(5)
    assert run(5) != run(6)


def test_switched_off_it_changes_nothing():
    engine, clock, events = engine_with(Chaos())  # enabled, but nothing to inject
    send_all(engine, 5)
    assert drain(engine, clock) == [f"job {i}" for i in range(1, 6)]
    engine.delivery.configure(Settings(enabled=False, default=Chaos(duplicate=1.0)))
    send_all(engine, 5)
    assert drain(engine, clock) == [f"job {i}" for i in range(1, 6)]
