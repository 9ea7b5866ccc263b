"""The status fold alone: any order, any writers, no I/O."""

from __future__ import annotations

import itertools

import pytest

from lab.url2png import records as rec


def r(kind: str, at: int, rc: int = 0, **kw: object) -> rec.StatusRecord:
    return rec.StatusRecord("job1", kind, at, rc, **kw)  # type: ignore[arg-type]


def test_key_round_trip_carries_what_the_fold_needs() -> None:
    record = r(rec.RECEIVED, 1_790_000_000_123, 2, url="http://x/")
    parsed = rec.parse_status_key(record.key)
    assert parsed is not None
    assert (parsed.job_id, parsed.kind, parsed.at_ms, parsed.receive_count, parsed.nonce) == (
        "job1", rec.RECEIVED, 1_790_000_000_123, 2, record.nonce,
    )  # fmt: skip
    assert rec.parse_status(record.body()) == record
    assert rec.parse_status_key("status/job1/garbage.json") is None
    assert rec.parse_status_key("index.html") is None


def test_the_states_in_order() -> None:
    history = [r(rec.QUEUED, 1, url="http://x/", seq=7)]
    assert rec.fold("job1", history).state == rec.STATE_QUEUED
    history.append(r(rec.RECEIVED, 2, 1))
    status = rec.fold("job1", history)
    assert (status.state, status.receive_count) == (rec.STATE_IN_FLIGHT, 1)
    history.append(r(rec.ERROR, 3, 1, reason="failed: boom", max_receive=3))
    status = rec.fold("job1", history)
    assert (status.state, status.final) == (rec.STATE_FAILED, False)
    history += [r(rec.RECEIVED, 4, 2), r(rec.DONE, 5, 2)]
    status = rec.fold("job1", history)
    assert (status.state, status.duplicates, status.receive_count) == (rec.STATE_DONE, 0, 2)
    assert rec.fold("nothing", []).state == rec.STATE_UNKNOWN


def test_done_wins_whatever_the_order_and_duplicates_are_counted() -> None:
    history = [
        r(rec.QUEUED, 1),
        r(rec.RECEIVED, 2, 1),
        r(rec.RECEIVED, 12, 2),  # visibility timeout passed: a second worker has it
        r(rec.DONE, 13, 1),  # the first worker finishes...
        r(rec.DUPLICATE, 14, 2),  # ...and the second finds the PNG
        r(rec.RECEIVED, 15, 3),  # a third delivery, whose worker is killed
    ]
    for order in itertools.permutations(history):
        status = rec.fold("job1", order)
        assert (status.state, status.duplicates) == (rec.STATE_DONE, 1)


def test_a_duplicate_alone_proves_done() -> None:
    """The worker died between its upload and its "done"; the next delivery found the PNG."""
    status = rec.fold("job1", [r(rec.QUEUED, 1), r(rec.RECEIVED, 2, 1), r(rec.DUPLICATE, 9, 2)])
    assert (status.state, status.duplicates) == (rec.STATE_DONE, 1)


def test_two_workers_both_done_count_one_duplicate() -> None:
    status = rec.fold("job1", [r(rec.DONE, 5, 1), r(rec.DONE, 6, 2)])
    assert (status.state, status.duplicates) == (rec.STATE_DONE, 1)


def test_final_failure_and_redrive() -> None:
    history = [r(rec.QUEUED, 1), r(rec.RECEIVED, 2, 1), r(rec.ERROR, 3, 1), r(rec.RECEIVED, 4, 2)]
    history.append(r(rec.FAILED, 5, 2, reason="failed: ERR_CONNECTION_REFUSED", max_receive=2))
    status = rec.fold("job1", history)
    assert (status.state, status.final, status.finished) == (rec.STATE_FAILED, True, True)
    detailed = rec.with_details(status, history[0], history[-1])
    assert detailed.reason == "failed: ERR_CONNECTION_REFUSED"
    assert "dead-letter" in rec.describe(detailed, "http://site/job1.png")
    history.append(r(rec.REQUEUED, 9))
    assert rec.fold("job1", history).state == rec.STATE_QUEUED


def test_a_refused_url_fails_at_once_and_says_so() -> None:
    history = [r(rec.QUEUED, 1), r(rec.FAILED, 2, 1, reason="refused: instance metadata")]
    status = rec.with_details(rec.fold("job1", history), history[0], history[-1])
    said = rec.describe(status, "http://site/job1.png")
    assert said.startswith("failed: refused: instance metadata") and "at once" in said
    assert "dead-letter" not in said


@pytest.mark.parametrize(
    ("records", "words"),
    [
        ([r(rec.QUEUED, 1)], "queued"),
        ([r(rec.QUEUED, 1), r(rec.RECEIVED, 2, 2)], "receive count 2"),
        ([r(rec.DONE, 2, 1)], "done: http://site/job1.png"),
        ([r(rec.DONE, 2, 1), r(rec.DUPLICATE, 3, 2)], "1 duplicate"),
    ],
)
def test_describe(records: list[rec.StatusRecord], words: str) -> None:
    assert words in rec.describe(rec.fold("job1", records), "http://site/job1.png")


def test_failure_record_key_is_safe() -> None:
    record = rec.FailureRecord("a/b c", "poison", "not JSON", 1, 5)
    assert record.key == "failures/a_b_c.json"
    assert rec.parse_failure(record.body()) == record


def test_the_key_layout_in_the_bucket_is_the_one_earlier_runs_wrote() -> None:
    """Buckets written before the rename (and by other copies of the lab) still fold."""
    record = rec.StatusRecord("job1", rec.RECEIVED, 1_790_000_000_123, 2, nonce="ab12cd34")
    assert record.key == "status/job1/1790000000123-received-r2-ab12cd34.json"
    assert rec.parse_status_key("status/job1/0000000000005-done-r1-00ff.json") == (
        rec.StatusRecord("job1", rec.DONE, 5, 1, nonce="00ff")
    )
