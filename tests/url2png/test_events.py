"""The status fold alone: any order, any writers, no I/O."""

from __future__ import annotations

import itertools

import pytest

from lab.url2png import events as ev


def e(kind: str, at: int, rc: int = 0, **kw: object) -> ev.Event:
    return ev.Event("job1", kind, at, rc, **kw)  # type: ignore[arg-type]


def test_key_round_trip_carries_what_the_fold_needs() -> None:
    event = e(ev.RECEIVED, 1_790_000_000_123, 2, url="http://x/")
    parsed = ev.parse_key(event.key)
    assert parsed is not None
    assert (parsed.job_id, parsed.kind, parsed.at_ms, parsed.receive_count, parsed.nonce) == (
        "job1", ev.RECEIVED, 1_790_000_000_123, 2, event.nonce,
    )  # fmt: skip
    assert ev.parse_body(event.body()) == event
    assert ev.parse_key("status/job1/garbage.json") is None
    assert ev.parse_key("index.html") is None


def test_the_states_in_order() -> None:
    history = [e(ev.QUEUED, 1, url="http://x/", seq=7)]
    assert ev.fold("job1", history).state == ev.STATE_QUEUED
    history.append(e(ev.RECEIVED, 2, 1))
    status = ev.fold("job1", history)
    assert (status.state, status.receive_count) == (ev.STATE_IN_FLIGHT, 1)
    history.append(e(ev.ERROR, 3, 1, reason="failed: boom", max_receive=3))
    status = ev.fold("job1", history)
    assert (status.state, status.final) == (ev.STATE_FAILED, False)
    history += [e(ev.RECEIVED, 4, 2), e(ev.DONE, 5, 2)]
    status = ev.fold("job1", history)
    assert (status.state, status.duplicates, status.receive_count) == (ev.STATE_DONE, 0, 2)
    assert ev.fold("nothing", []).state == ev.STATE_UNKNOWN


def test_done_wins_whatever_the_order_and_duplicates_are_counted() -> None:
    history = [
        e(ev.QUEUED, 1),
        e(ev.RECEIVED, 2, 1),
        e(ev.RECEIVED, 12, 2),  # visibility timeout passed: a second worker has it
        e(ev.DONE, 13, 1),  # the first worker finishes...
        e(ev.DUPLICATE, 14, 2),  # ...and the second finds the PNG
        e(ev.RECEIVED, 15, 3),  # a third delivery, whose worker is killed
    ]
    for order in itertools.permutations(history):
        status = ev.fold("job1", order)
        assert (status.state, status.duplicates) == (ev.STATE_DONE, 1)


def test_a_duplicate_alone_proves_done() -> None:
    """The worker died between its upload and its "done"; the next delivery found the PNG."""
    status = ev.fold("job1", [e(ev.QUEUED, 1), e(ev.RECEIVED, 2, 1), e(ev.DUPLICATE, 9, 2)])
    assert (status.state, status.duplicates) == (ev.STATE_DONE, 1)


def test_two_workers_both_done_count_one_duplicate() -> None:
    status = ev.fold("job1", [e(ev.DONE, 5, 1), e(ev.DONE, 6, 2)])
    assert (status.state, status.duplicates) == (ev.STATE_DONE, 1)


def test_final_failure_and_redrive() -> None:
    history = [e(ev.QUEUED, 1), e(ev.RECEIVED, 2, 1), e(ev.ERROR, 3, 1), e(ev.RECEIVED, 4, 2)]
    history.append(e(ev.FAILED, 5, 2, reason="refused: metadata", max_receive=2))
    status = ev.fold("job1", history)
    assert (status.state, status.final, status.finished) == (ev.STATE_FAILED, True, True)
    detailed = ev.with_details(status, history[0], history[-1])
    assert detailed.reason == "refused: metadata"
    assert "dead-letter" in ev.describe(detailed, "http://site/job1.png")
    history.append(e(ev.REQUEUED, 9))
    assert ev.fold("job1", history).state == ev.STATE_QUEUED


@pytest.mark.parametrize(
    ("events", "words"),
    [
        ([e(ev.QUEUED, 1)], "queued"),
        ([e(ev.QUEUED, 1), e(ev.RECEIVED, 2, 2)], "receive count 2"),
        ([e(ev.DONE, 2, 1)], "done: http://site/job1.png"),
        ([e(ev.DONE, 2, 1), e(ev.DUPLICATE, 3, 2)], "1 duplicate"),
    ],
)
def test_describe(events: list[ev.Event], words: str) -> None:
    assert words in ev.describe(ev.fold("job1", events), "http://site/job1.png")


def test_failure_record_key_is_safe() -> None:
    record = ev.FailureRecord("a/b c", "poison", "not JSON", 1, 5)
    assert record.key == "failures/a_b_c.json"
    assert ev.parse_failure(record.body()) == record
