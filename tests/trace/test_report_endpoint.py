"""``POST /_lab/events`` on the real emulator: what workers may report, checked against the
event types, published in order, or refused whole with one sentence."""

from __future__ import annotations

import dataclasses
import http.client
import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from emulator.events import catalog
from emulator.events import worker as worker_events
from tests.trace.kit import post


def received(n: int, **more: Any) -> dict[str, Any]:
    return {
        "type": "worker.received",
        "worker": "w-test",
        "queue": "q-endpoint",
        "message_id": f"m{n}",
        "receipt": f"{n:016x}",
        "receive_count": 1,
        "job_id": f"job{n}",
        "seq": n,
        "producer": "p1",
        **more,
    }


def read(emulator: Any, after: int) -> list[dict[str, Any]]:
    url = f"{emulator.endpoint}/_lab/events?after={after}&type=worker."
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())["events"]


def last_id(emulator: Any) -> int:
    url = f"{emulator.endpoint}/_lab/events?type=nothing.&limit=1"
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())["last_id"]


def test_accepted_reports_are_published_in_order_with_the_emulators_stamp(emulator) -> None:
    start = last_id(emulator)
    batch = [
        received(1),
        {**received(1), "type": "worker.rendering", "url": "http://127.0.0.1:9/a"},
        {**received(1), "type": "worker.uploaded", "key": "job1.png", "bytes": 1234},
        {**received(1), "type": "worker.deleted"},
        {"type": "worker.polling", "worker": "w-test", "queue": "q-endpoint"},
        {
            **received(2),
            "type": "worker.failed",
            "kind": "poison",
            "reason": "body is not JSON",
            "final": False,
            "job_id": None,
            "seq": None,
        },
        {"type": "worker.stopped", "worker": "w-test", "counts": {"done": 1, "poison": 1}},
    ]
    status, reply = post(emulator.endpoint, {"events": batch})
    assert status == 200, reply
    assert reply["published"] == len(batch)
    assert reply["last_id"] - reply["first_id"] == len(batch) - 1
    events = read(emulator, start)
    assert [e["type"] for e in events] == [item["type"] for item in batch]
    ids = [e["id"] for e in events]
    assert ids == list(range(reply["first_id"], reply["last_id"] + 1))  # nothing in between
    for event, item in zip(events, batch, strict=True):
        assert {k: event[k] for k in item} == item
        assert abs(event["at"] - time.time()) < 30  # stamped by the emulator's clock
    # a field that may be null may also be left out
    status, reply = post(
        emulator.endpoint,
        {"events": [{k: v for k, v in received(3).items() if k not in ("seq", "producer")}]},
    )
    assert status == 200 and reply["published"] == 1
    [last] = read(emulator, reply["first_id"] - 1)
    assert (last["seq"], last["producer"], last["job_id"]) == (None, None, "job3")
    # an empty list is no error and publishes nothing
    assert post(emulator.endpoint, {"events": []})[1]["published"] == 0


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"events": [received(1, type="sqs.send")]}, "'sqs.send'; only these are accepted"),
        ({"events": [received(1, type="worker.done")]}, "'worker.done'"),
        ({"events": [{**received(1), "type": None}]}, "has no type"),
        ({"events": [received(1, color="red")]}, "no field 'color'"),
        ({"events": [received(1, id=5)]}, "'id', which the emulator stamps itself"),
        ({"events": [received(1, at=5.0)]}, "'at', which the emulator stamps itself"),
        ({"events": [received(1, receive_count="1")]}, "'receive_count' must be an integer"),
        ({"events": [received(1, receive_count=True)]}, "'receive_count' must be an integer"),
        ({"events": [received(1, receive_count=None)]}, "'receive_count' must be an integer"),
        ({"events": [received(1, job_id=7)]}, "'job_id' must be a string"),
        (
            {"events": [{k: v for k, v in received(1).items() if k != "receipt"}]},
            "lacks its field 'receipt'",
        ),
        (
            {"events": [{**received(1), "type": "worker.failed", "kind": "failed", "reason": "x"}]},
            "lacks its field 'final'",
        ),
        (
            {"events": [{"type": "worker.stopped", "worker": "w", "counts": {"done": "1"}}]},
            "'counts' must be an object of integers",
        ),
        ({"events": [received(1, url="x" * 5000)]}, "no field 'url'"),
        (
            {"events": [{**received(1), "type": "worker.rendering", "url": "x" * 5000}]},
            "at most 4,096 characters",
        ),
        ({"events": ["worker.received"]}, "event 1 is not a JSON object"),
        ({"events": [received(1)] * 1001}, "at most 1,000 events per request"),
        ({"events": {"type": "worker.received"}}, "lacks its events list"),
        ({"reports": []}, "does not know reports"),
        ([received(1)], "the body must be a JSON object"),
    ],
)
def test_a_bad_report_is_refused_whole_with_one_sentence(emulator, body, words) -> None:
    start = last_id(emulator)
    if isinstance(body, dict) and isinstance(body.get("events"), list) and len(body["events"]) < 5:
        body = {"events": [received(99), *body["events"]]}  # a good one first: not published
    status, reply = post(emulator.endpoint, body)
    assert status == 400, reply
    assert words in reply["error"], reply["error"]
    assert reply["error"].endswith(".") and reply["error"].count(". ") == 0  # one sentence
    assert read(emulator, start) == []  # nothing of the request was published


def test_a_body_that_is_not_json_is_refused(emulator) -> None:
    start = last_id(emulator)
    status, reply = post(emulator.endpoint, None, raw=b'{"events": [')
    assert status == 400 and "not JSON" in reply["error"]
    status, reply = post(emulator.endpoint, None, raw=b"\xff\xfe")
    assert status == 400 and "not JSON" in reply["error"]
    assert read(emulator, start) == []


def test_other_methods_are_refused_and_get_still_reads(emulator) -> None:
    request = urllib.request.Request(f"{emulator.endpoint}/_lab/events", method="DELETE")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=10)
    assert info.value.code == 405
    assert info.value.headers["Allow"] == "GET, HEAD, POST"


def test_every_worker_type_is_in_the_catalog_and_parses_from_its_own_fields() -> None:
    """Each type's fields have a JSON check, and the catalog lists them all (docs/events.md)."""
    listed = catalog.by_type()
    samples = {"str": "x", "int": 1, "bool": True, "dict[str, int]": {"done": 1}}
    for kind in worker_events.TYPES:
        assert listed[kind.type] is kind and kind.type.startswith("worker.")
        item = {"type": kind.type}
        for f in dataclasses.fields(kind):
            item[f.name] = samples[str(f.type).replace(" | None", "")]
        assert worker_events.parse_report(item) == kind(
            **{k: v for k, v in item.items() if k != "type"}
        )


def test_a_chunked_body_is_read_whole(emulator) -> None:
    """A client that sends no Content-Length (chunked) is read to its end, not to the first
    chunk: a report's events are never cut off."""
    start = last_id(emulator)
    body = json.dumps({"events": [received(n) for n in range(1, 301)]}).encode()
    parts = [body[i : i + 4096] for i in range(0, len(body), 4096)]
    conn = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=10)
    try:
        conn.request("POST", "/_lab/events", body=iter(parts), encode_chunked=True)
        response = conn.getresponse()
        reply = json.loads(response.read())
    finally:
        conn.close()
    assert response.status == 200 and reply["published"] == 300, reply
    assert [e["message_id"] for e in read(emulator, start)] == [f"m{n}" for n in range(1, 301)]
