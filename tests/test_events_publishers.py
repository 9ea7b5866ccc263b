"""EC2 instance states and website-bucket objects as events, through the real emulator and its
event stream; and the log's JSON made at the first read for the busiest type (``elb.request``)."""

from __future__ import annotations

import json
import time
import urllib.request
import uuid

import pytest
import urllib3

from emulator.clock import ManualClock
from emulator.events import EventLog
from emulator.events.control import ClockSpeed
from emulator.events.elb import ElbRequest
from emulator.events.sqs import SqsSend
from emulator.moto_bridge.website import Change, bucket_and_key, change_of


def stream(emulator, prefix: str, after: int = 0, wait: float = 0) -> dict:
    url = f"{emulator.endpoint}/_lab/events?after={after}&type={prefix}&wait={wait}&limit=10000"
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def test_instance_state_changes_are_events(emulator) -> None:
    ec2 = emulator.client("ec2")
    start = stream(emulator, "")["last_id"]
    image = ec2.describe_images()["Images"][0]["ImageId"]
    (instance,) = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"]
    iid = instance["InstanceId"]

    def states_until(state: str) -> list[dict]:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            mine = [
                e
                for e in stream(emulator, "ec2.", start)["events"]
                if e["instance_id"] == iid and e["type"] == "ec2.instance_state"
            ]
            if mine and mine[-1]["state"] == state:
                return mine
            time.sleep(0.1)
        raise AssertionError(f"{iid} never became {state}")

    (launched,) = states_until("running")
    assert (launched["previous"], launched["private_ip"]) == (None, instance["PrivateIpAddress"])
    ec2.stop_instances(InstanceIds=[iid])
    stopped = states_until("stopped")
    assert [(e["previous"], e["state"]) for e in stopped][-1][0] in ("running", "stopping")
    ec2.terminate_instances(InstanceIds=[iid])
    gone = states_until("terminated")
    assert gone[-1]["previous"] in ("stopped", "shutting-down")
    assert [e["id"] for e in gone] == sorted(e["id"] for e in gone)
    # the workload follows the state: started after running, stopped after stopped
    workload = [e for e in stream(emulator, "ec2.", start)["events"] if e["instance_id"] == iid]
    kinds = [e["type"] for e in workload]
    assert kinds.index("ec2.instance_state") < kinds.index("ec2.workload.start")


# -- website buckets ---------------------------------------------------------------------------


def test_objects_put_into_and_deleted_from_a_website_bucket_are_events(emulator) -> None:
    s3 = emulator.client("s3", s3={"addressing_style": "path"})
    site, plain = f"site-{uuid.uuid4().hex[:8]}", f"plain-{uuid.uuid4().hex[:8]}"
    for name in (site, plain):
        s3.create_bucket(Bucket=name)
    s3.put_bucket_website(
        Bucket=site, WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}}
    )
    start = stream(emulator, "")["last_id"]
    s3.put_object(Bucket=plain, Key="ignored.txt", Body=b"x")
    s3.put_object(Bucket=site, Key="index.html", Body=b"<h1>hi</h1>", ContentType="text/html")
    s3.put_object(Bucket=site, Key="img/a b.png", Body=b"\x89PNG" * 10, ContentType="image/png")
    s3.copy_object(
        Bucket=site, Key="img/copy.png", CopySource={"Bucket": site, "Key": "img/a b.png"}
    )
    s3.delete_object(Bucket=site, Key="index.html")
    s3.delete_object(Bucket=site, Key="never-there")  # S3 says 204; nothing was deleted
    s3.delete_objects(
        Bucket=site,
        Delete={"Objects": [{"Key": "img/a b.png"}, {"Key": "img/copy.png"}, {"Key": "nope"}]},
    )
    # virtual-host style, as a client that names the bucket in the Host sends it
    http = urllib3.PoolManager()
    host = {
        "Host": f"{site}.s3.localhost:{emulator.port}",
        # (signed: moto refuses anonymous deletes; the emulator checks no signature)
        "Authorization": "AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/s3/aws4_request, "
        "SignedHeaders=host, Signature=0",
    }
    put = http.request(
        "PUT",
        f"{emulator.endpoint}/vhost.css",
        body=b"p{}",
        headers={**host, "Content-Type": "text/css"},
    )
    assert put.status == 200, put.data
    assert http.request("DELETE", f"{emulator.endpoint}/vhost.css", headers=host).status == 204
    # the plain bucket gets website hosting: its puts are events from then on
    s3.put_bucket_website(
        Bucket=plain, WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}}
    )
    s3.put_object(Bucket=plain, Key="now.txt", Body=b"seen")
    s3.delete_bucket_website(Bucket=site)
    s3.put_object(Bucket=site, Key="after.txt", Body=b"not seen")

    seen = [
        (e["type"], e["bucket"], e["key"], e["size"], e["content_type"])
        for e in stream(emulator, "s3.", start)["events"]
    ]
    assert seen == [
        ("s3.object_put", site, "index.html", 11, "text/html"),
        ("s3.object_put", site, "img/a b.png", 40, "image/png"),
        ("s3.object_put", site, "img/copy.png", 40, "image/png"),
        ("s3.object_deleted", site, "index.html", 11, "text/html"),
        ("s3.object_deleted", site, "img/a b.png", 40, "image/png"),
        ("s3.object_deleted", site, "img/copy.png", 40, "image/png"),
        ("s3.object_put", site, "vhost.css", 3, "text/css"),
        ("s3.object_deleted", site, "vhost.css", 3, "text/css"),
        ("s3.object_put", plain, "now.txt", 4, "binary/octet-stream"),
    ]


@pytest.mark.parametrize(
    ("method", "host", "path", "query", "expected"),
    [
        ("PUT", "127.0.0.1:4566", "/b/k/e%20y.png", {"x-id": "PutObject"}, Change("put", "b", "k/e y.png")),
        ("PUT", "localhost:4566", "/b/k", {}, Change("put", "b", "k")),
        ("PUT", "b.s3.localhost:4566", "/k", {}, Change("put", "b", "k")),
        ("PUT", "s3.amazonaws.com", "/b/k", {}, Change("put", "b", "k")),
        ("PUT", "127.0.0.1", "/b/k", {"uploadId": "u", "partNumber": "1"}, None),
        ("POST", "127.0.0.1", "/b/k", {"uploadId": "u"}, Change("put", "b", "k")),
        ("PUT", "127.0.0.1", "/b/k", {"tagging": ""}, None),
        ("PUT", "127.0.0.1", "/b/k", {"X-Amz-Signature": "s", "X-Amz-Date": "d"}, Change("put", "b", "k")),
        ("DELETE", "127.0.0.1", "/b/k", {"versionId": "v"}, Change("delete", "b", "k")),
        ("DELETE", "127.0.0.1", "/b/k", {"uploadId": "u"}, None),
        ("POST", "127.0.0.1", "/b", {"delete": ""}, Change("delete_many", "b")),
        ("PUT", "127.0.0.1", "/b", {"website": ""}, Change("bucket", "b")),
        ("DELETE", "[::1]:4566", "/b/", {}, Change("bucket", "b")),
        ("GET", "127.0.0.1", "/b/k", {}, None),
    ],
)  # fmt: skip
def test_which_requests_change_objects(method, host, path, query, expected) -> None:
    assert change_of(method, host, path, query) == expected


def test_path_and_virtual_host_style_name_the_bucket_as_moto_does() -> None:
    assert bucket_and_key("127.0.0.1:4566", "/b/a/b?x=1") == ("b", "a/b")
    assert bucket_and_key("photos.localhost:4566", "/a/b") == ("photos", "a/b")
    assert bucket_and_key("localhost", "/photos/a") == ("photos", "a")
    assert bucket_and_key("s3.us-east-1.amazonaws.com", "/photos/a") == ("photos", "a")


# -- the log -----------------------------------------------------------------------------------


def test_request_events_are_encoded_at_the_first_read_into_the_same_json() -> None:
    clock = ManualClock(1_700_000_000.5)
    log = EventLog(clock, capacity=10, stream="s")
    request = ElbRequest(
        load_balancer="lb",
        listener_port=80,
        method="GET",
        path="/",
        rule="default",
        target_group="tg",
        target_id="127.0.0.11",
        target_address="127.0.0.11",
        status=200,
        ms=0.25,
        answered_by="target",
    )
    lazy = log.publish(request)
    sent = log.publish(SqsSend(queue="q", message_id="m", seq=1, delay=0))  # lazy too
    eager = log.publish(ClockSpeed(speed=20.0, previous=1.0))
    assert lazy._json is None and sent._json is None  # noqa: SLF001 - the point
    assert eager._json is not None  # noqa: SLF001
    text = log.after(0).to_json()
    assert json.loads(text)["events"][0] == {
        "schema": 1,
        "stream": "s",
        "id": 1,
        "type": "elb.request",
        "at": 1_700_000_000.5,
        "load_balancer": "lb",
        "listener_port": 80,
        "method": "GET",
        "path": "/",
        "rule": "default",
        "target_group": "tg",
        "target_id": "127.0.0.11",
        "target_address": "127.0.0.11",
        "status": 200,
        "ms": 0.25,
        "answered_by": "target",
    }
    assert lazy.json is lazy.json and log.after(0).to_json() == text  # made once
