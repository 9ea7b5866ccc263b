"""Regions and queue URLs through the real emulator: boto3 clients of two regions, raw HTTP
signed, presigned and unsigned, the three queue URL strategies, a restart, and a state file from
before regions were kept."""

from __future__ import annotations

import http.client
import json
import sqlite3
import subprocess
import time
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config

from emulator.sqs.attributes import defaults
from tests.sqs.old_state import OLD_SCHEMA
from tests.support.emulator import EmulatorProcess

ACCOUNT = "000000000000"
NS = "{http://queue.amazonaws.com/doc/2012-11-05/}"


class StrategyEmulator(EmulatorProcess):
    """An emulator writing queue URLs by another strategy (``--sqs-endpoint-strategy``)."""

    def __init__(self, state_dir: Path, strategy: str) -> None:
        super().__init__(state_dir)
        self.strategy = strategy

    def options(self) -> list[str]:
        return [*super().options(), "--sqs-endpoint-strategy", self.strategy]


def client(emulator: EmulatorProcess, region: str):
    return boto3.client(
        "sqs",
        endpoint_url=emulator.endpoint,
        region_name=region,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 0}),
    )


def name(prefix: str = "r") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def error_code(call, **kwargs) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as err:
        call(**kwargs)
    return err.value.response["Error"]["Code"]


def arn_of(sqs, url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]


def query(
    emulator: EmulatorProcess,
    path: str,
    params: dict[str, str],
    *,
    host: str | None = None,
    region: str | None = None,
) -> tuple[int, ET.Element]:
    """A query-protocol GET to the emulator's address, with any Host header; signed for
    ``region`` (an Authorization header the emulator reads but does not check) or unsigned."""
    conn = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=30)
    headers = {"Host": host or f"127.0.0.1:{emulator.port}"}
    if region is not None:
        headers["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential=test/20260101/{region}/sqs/aws4_request, "
            "SignedHeaders=host, Signature=" + "0" * 64
        )
    try:
        conn.request("GET", f"{path}?{urlencode(params)}", headers=headers)
        response = conn.getresponse()
        return response.status, ET.fromstring(response.read())
    finally:
        conn.close()


def texts(root: ET.Element, tag: str) -> list[str]:
    return [e.text or "" for e in root.iter(f"{NS}{tag}")]


@pytest.fixture(scope="module")
def standard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    proc = StrategyEmulator(tmp_path_factory.mktemp("standard") / "state", "standard").start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def path_style(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    proc = StrategyEmulator(tmp_path_factory.mktemp("path") / "state", "path").start()
    yield proc
    proc.stop()


# -- one name, two regions, two queues ------------------------------------------------------


def test_the_same_name_in_two_regions_is_two_queues(emulator):
    """SQS Developer Guide, sqs-queue-message-identifiers.html: a queue name is unique for an
    account and region; sqs-making-api-requests-json.html: "Every Amazon SQS endpoint is
    independent", two queues named alike in two regions "don't share any data"."""
    east, west = client(emulator, "us-east-1"), client(emulator, "eu-west-1")
    queue = name()
    east_url = east.create_queue(QueueName=queue)["QueueUrl"]
    west_url = west.create_queue(QueueName=queue, Attributes={"VisibilityTimeout": "7"})["QueueUrl"]
    east.send_message(QueueUrl=east_url, MessageBody="from the east")
    assert west.receive_message(QueueUrl=west_url).get("Messages") is None
    (got,) = east.receive_message(QueueUrl=east_url)["Messages"]
    assert got["Body"] == "from the east"
    # The other region's queue has its own attributes, and a delete leaves this one.
    assert east.get_queue_attributes(QueueUrl=east_url, AttributeNames=["VisibilityTimeout"])[
        "Attributes"
    ] == {"VisibilityTimeout": "30"}
    west.delete_queue(QueueUrl=west_url)
    assert east.get_queue_url(QueueName=queue)["QueueUrl"] == east_url
    assert (
        error_code(west.get_queue_url, QueueName=queue) == "AWS.SimpleQueueService.NonExistentQueue"
    )


def test_arns_carry_the_region_of_the_request(emulator):
    """IAM User Guide, reference-arns.html (arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE), as
    the SDKs show a queue's: arn:aws:sqs:us-east-1:987654321000:MyQueue (AWS SDK for .NET,
    Amazon.Auth.AccessControlPolicy.Resource); GetQueueAttributes answers it as QueueArn."""
    queue = name()
    for region in ("us-east-1", "ap-southeast-2"):
        sqs = client(emulator, region)
        url = sqs.create_queue(QueueName=queue)["QueueUrl"]
        assert arn_of(sqs, url) == f"arn:aws:sqs:{region}:{ACCOUNT}:{queue}"


def test_list_queues_answers_for_its_region_only(emulator):
    """API reference, ListQueues: "Returns a list of your queues in the current region"."""
    east, north = client(emulator, "us-east-1"), client(emulator, "eu-north-1")
    prefix = name("list")
    east.create_queue(QueueName=f"{prefix}-a")
    north.create_queue(QueueName=f"{prefix}-b")
    north.create_queue(QueueName=f"{prefix}-c")

    def names(sqs) -> list[str]:
        urls = sqs.list_queues(QueueNamePrefix=prefix).get("QueueUrls", [])
        return [url.rsplit("/", 1)[1] for url in urls]

    assert names(east) == [f"{prefix}-a"]
    assert names(north) == [f"{prefix}-b", f"{prefix}-c"]
    page = north.list_queues(QueueNamePrefix=prefix, MaxResults=1)
    assert [u.rsplit("/", 1)[1] for u in page["QueueUrls"]] == [f"{prefix}-b"]
    rest = north.list_queues(QueueNamePrefix=prefix, MaxResults=1, NextToken=page["NextToken"])
    assert [u.rsplit("/", 1)[1] for u in rest["QueueUrls"]] == [f"{prefix}-c"]


def test_a_dead_letter_queue_is_looked_for_in_the_source_queues_region(emulator):
    """SQS Developer Guide, sqs-dead-letter-queues.html, and the SDK guides' "Using dead letter
    queues" (Java 1.x, C++): the dead-letter queue is created in the same account and region as
    its source. ListDeadLetterSourceQueues lists sources of the dead-letter queue's region."""
    east, west = client(emulator, "us-east-1"), client(emulator, "us-west-2")
    dlq = name("dlq")
    east_dlq = east.create_queue(QueueName=dlq)["QueueUrl"]
    west_dlq = west.create_queue(QueueName=dlq)["QueueUrl"]
    east_arn = arn_of(east, east_dlq)
    policy = json.dumps({"deadLetterTargetArn": east_arn, "maxReceiveCount": 1})
    # The east ARN names no queue in us-west-2, although a queue of that name is there.
    assert (
        error_code(west.create_queue, QueueName=name("src"), Attributes={"RedrivePolicy": policy})
        == "InvalidParameterValue"
    )
    source = name("src")
    west_source = west.create_queue(
        QueueName=source,
        Attributes={
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": arn_of(west, west_dlq), "maxReceiveCount": 1}
            )
        },
    )["QueueUrl"]
    assert west.list_dead_letter_source_queues(QueueUrl=west_dlq)["queueUrls"] == [west_source]
    assert east.list_dead_letter_source_queues(QueueUrl=east_dlq)["queueUrls"] == []
    # A message that uses up its receives dies in its own region's dead-letter queue.
    west.send_message(QueueUrl=west_source, MessageBody="doomed")
    west.receive_message(QueueUrl=west_source, VisibilityTimeout=0)
    assert west.receive_message(QueueUrl=west_source).get("Messages") is None
    (dead,) = west.receive_message(QueueUrl=west_dlq, WaitTimeSeconds=2)["Messages"]
    assert dead["Body"] == "doomed"
    assert east.receive_message(QueueUrl=east_dlq).get("Messages") is None


# -- which region a request is in -----------------------------------------------------------


def test_signed_presigned_and_unsigned_requests_find_their_regions(emulator):
    """General Reference, "Signature Version 4": the credential scope names the region a
    request is for, in the Authorization header or a presigned URL's X-Amz-Credential. An
    unsigned request (which AWS refuses) gets the emulator's default region, us-east-1."""
    queue = name()
    client(emulator, "eu-west-3").create_queue(QueueName=queue)
    path = f"/{ACCOUNT}/{queue}"
    status, _ = query(emulator, path, {"Action": "GetQueueAttributes"}, region="eu-west-3")
    assert status == 200
    presigned = {
        "Action": "GetQueueAttributes",
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Credential": "test/20260101/eu-west-3/sqs/aws4_request",
    }
    assert query(emulator, path, presigned)[0] == 200
    status, root = query(emulator, path, {"Action": "GetQueueAttributes"})
    assert status == 400 and texts(root, "Code") == ["AWS.SimpleQueueService.NonExistentQueue"]
    client(emulator, "us-east-1").create_queue(QueueName=queue)
    assert query(emulator, path, {"Action": "GetQueueAttributes"})[0] == 200


def test_a_queue_url_names_its_queue_in_every_form_aws_accepts(emulator):
    """SQS Developer Guide, sqs-queue-message-identifiers.html (the queue URL), General
    Reference, sqs-service.html (sqs.REGION.amazonaws.com), the legacy hosts older SDKs still
    write (queue.amazonaws.com, REGION.queue.amazonaws.com), the emulator's own strategies,
    and a bare name or ACCOUNT/NAME, which AWS also takes as a QueueUrl (as recorded by moto,
    pull request 5073, and the AWS SDK for JavaScript v3, pull request 6337)."""
    east = client(emulator, "us-east-1")
    queue = name()
    east.create_queue(QueueName=queue)
    port = emulator.port
    forms = [
        f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/{queue}",
        f"https://queue.amazonaws.com/{ACCOUNT}/{queue}",
        f"https://us-east-1.queue.amazonaws.com/{ACCOUNT}/{queue}",
        f"http://sqs.us-east-1.localhost:{port}/{ACCOUNT}/{queue}",
        f"http://localhost:{port}/queue/us-east-1/{ACCOUNT}/{queue}",
        f"http://some-other-host:9999/{ACCOUNT}/{queue}",
        f"{ACCOUNT}/{queue}",
        queue,
    ]
    for form in forms:
        east.send_message(QueueUrl=form, MessageBody=form)
    got = east.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    got += east.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    assert sorted(m["Body"] for m in got) == sorted(forms)


def test_a_queue_url_of_another_region_is_no_queue_of_this_one(emulator):
    """SQS Developer Guide, sqs-making-api-requests-json.html: every regional endpoint is
    independent, so a client of one region does not reach another region's queue by its URL;
    AWS answers it QueueDoesNotExist (reported against AWS: AWS SDK for JavaScript v3 issue
    5134), even when this region has a queue of that name."""
    queue = name()
    east, west = client(emulator, "us-east-1"), client(emulator, "eu-west-1")
    east.create_queue(QueueName=queue)
    west.create_queue(QueueName=queue)
    for url in (
        f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/{queue}",
        f"https://queue.amazonaws.com/{ACCOUNT}/{queue}",
        f"http://localhost:{emulator.port}/queue/us-east-1/{ACCOUNT}/{queue}",
    ):
        assert (
            error_code(west.send_message, QueueUrl=url, MessageBody="x")
            == "AWS.SimpleQueueService.NonExistentQueue"
        )
    west.send_message(
        QueueUrl=f"https://sqs.eu-west-1.amazonaws.com/{ACCOUNT}/{queue}", MessageBody="ok"
    )
    assert east.receive_message(QueueUrl=queue).get("Messages") is None


# -- queue URL strategies -------------------------------------------------------------------


def test_off_writes_the_host_the_request_reached(emulator):
    """The default, as the emulator answered before regions: AWS too answers with the host
    the client reached (queue.amazonaws.com for clients of the legacy endpoint, AWS CLI issue
    1715). Two regions' queues of one name share the URL, and the request's region tells them
    apart, as LocalStack's strategy off does (test_endpoint_strategy_with_multi_region)."""
    queue = name()
    east, west = client(emulator, "us-east-1"), client(emulator, "eu-west-1")
    url = f"http://127.0.0.1:{emulator.port}/{ACCOUNT}/{queue}"
    assert east.create_queue(QueueName=queue)["QueueUrl"] == url
    assert west.create_queue(QueueName=queue)["QueueUrl"] == url
    status, root = query(
        emulator,
        "/",
        {"Action": "GetQueueUrl", "QueueName": queue, "Version": "2012-11-05"},
        host="example.test:1234",
    )
    assert status == 200 and texts(root, "QueueUrl") == [
        f"http://example.test:1234/{ACCOUNT}/{queue}"
    ]


def test_standard_writes_aws_hosts_under_the_public_host(standard):
    """SQS Developer Guide, sqs-queue-message-identifiers.html: a queue URL is
    https://sqs.REGION.amazonaws.com/ACCOUNT/NAME; the standard strategy writes
    http://sqs.REGION.localhost:PORT/ACCOUNT/NAME, the region always in it (LocalStack's
    test_list_queues_multi_region_with_endpoint_strategy_standard). SDK clients use the URL as
    a parameter; unsigned requests sent to it are in the region its host names."""
    queue = name()
    port = standard.port
    urls = {}
    for region in ("us-east-1", "eu-central-1"):
        sqs = client(standard, region)
        urls[region] = sqs.create_queue(QueueName=queue)["QueueUrl"]
        assert urls[region] == f"http://sqs.{region}.localhost:{port}/{ACCOUNT}/{queue}"
        assert sqs.get_queue_url(QueueName=queue)["QueueUrl"] == urls[region]
        assert sqs.list_queues(QueueNamePrefix=queue)["QueueUrls"] == [urls[region]]
        sqs.send_message(QueueUrl=urls[region], MessageBody=region)
    # curl-like: to 127.0.0.1, with the queue URL's host as Host, no signature.
    host = urlsplit(urls["eu-central-1"]).netloc
    status, root = query(standard, f"/{ACCOUNT}/{queue}", {"Action": "ReceiveMessage"}, host=host)
    assert status == 200 and texts(root, "Body") == ["eu-central-1"]
    status, root = query(
        standard, "/", {"Action": "ListQueues", "QueueNamePrefix": queue}, host=host
    )
    assert texts(root, "QueueUrl") == [urls["eu-central-1"]]


def test_path_writes_the_region_into_the_path(path_style):
    """LocalStack docs, "SQS_ENDPOINT_STRATEGY", path: http://HOST:PORT/queue/REGION/ACCOUNT/
    NAME. The query protocol may be sent to the queue URL itself (SQS Developer Guide,
    sqs-making-api-requests.html), so an unsigned request to that path is in its region."""
    queue = name()
    port = path_style.port
    west = client(path_style, "eu-west-1")
    url = west.create_queue(QueueName=queue)["QueueUrl"]
    assert url == f"http://127.0.0.1:{port}/queue/eu-west-1/{ACCOUNT}/{queue}"
    east_url = client(path_style, "us-east-1").create_queue(QueueName=queue)["QueueUrl"]
    assert east_url == f"http://127.0.0.1:{port}/queue/us-east-1/{ACCOUNT}/{queue}"
    path = urlsplit(url).path
    status, _ = query(path_style, path, {"Action": "SendMessage", "MessageBody": "by path"})
    assert status == 200
    (got,) = west.receive_message(QueueUrl=url)["Messages"]
    assert got["Body"] == "by path"
    assert (
        client(path_style, "us-east-1").receive_message(QueueUrl=east_url).get("Messages") is None
    )


# -- events ---------------------------------------------------------------------------------


def test_events_of_other_regions_name_their_region(emulator):
    """docs/events.md: SQS events name the queue, and its region when it is not the default
    one, so readers can tell two regions' queues of one name apart."""
    queue = name()
    after = json.loads(urllib.request.urlopen(f"{emulator.endpoint}/_lab/events?limit=1").read())[
        "last_id"
    ]
    client(emulator, "us-east-1").create_queue(QueueName=queue)
    client(emulator, "sa-east-1").create_queue(QueueName=queue)
    url = f"{emulator.endpoint}/_lab/events?after={after}&type=sqs.queue_created&limit=1000"
    events = json.loads(urllib.request.urlopen(url).read())["events"]
    regions = [e.get("region") for e in events if e["queue"] == queue]
    assert sorted(regions, key=str) == [None, "sa-east-1"]  # the default region's: no field


# -- durability -----------------------------------------------------------------------------


def test_every_regions_queues_and_messages_survive_a_restart(fresh_emulator):
    """SQS keeps a queue's messages until they are deleted or their retention ends (SQS
    Developer Guide, sqs-basic-architecture.html); a restart of the emulator is no such event,
    in any region."""
    queue = name()
    east, west = client(fresh_emulator, "us-east-1"), client(fresh_emulator, "eu-west-1")
    east.send_message(QueueUrl=east.create_queue(QueueName=queue)["QueueUrl"], MessageBody="e")
    west.send_message(QueueUrl=west.create_queue(QueueName=queue)["QueueUrl"], MessageBody="w")
    west.create_queue(QueueName=f"{queue}-west-only")
    fresh_emulator.stop()
    fresh_emulator.start()
    east, west = client(fresh_emulator, "us-east-1"), client(fresh_emulator, "eu-west-1")
    (got,) = west.receive_message(QueueUrl=queue)["Messages"]
    assert got["Body"] == "w"
    (got,) = east.receive_message(QueueUrl=queue)["Messages"]
    assert got["Body"] == "e"
    assert len(west.list_queues(QueueNamePrefix=queue)["QueueUrls"]) == 2
    assert len(east.list_queues(QueueNamePrefix=queue)["QueueUrls"]) == 1
    assert arn_of(west, queue) == f"arn:aws:sqs:eu-west-1:{ACCOUNT}:{queue}"


def test_a_state_file_from_before_regions_loads_into_the_default_region(tmp_path):
    """The emulator's promise, not AWS's: a state folder of an earlier version keeps its queues
    and messages, all in the default region, as that version served them (one region)."""
    state = tmp_path / "state"
    state.mkdir()
    now = time.time()
    db = sqlite3.connect(state / "sqs.sqlite3")
    db.executescript(OLD_SCHEMA)
    db.execute(
        "INSERT INTO queues VALUES (?,?,?,?,?,?,?,?)",
        ("old", f"arn:aws:sqs:us-east-1:{ACCOUNT}:old", 0, json.dumps(defaults(fifo=False)),
         '{"kept": "yes"}', 1.0, 1.0, None),
    )  # fmt: skip
    db.execute(
        "INSERT INTO messages VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        ("old", "m-1", 1, "kept", "{}", "{}", now, now, None, None, None, None, 0, None),
    )  # fmt: skip
    db.commit()
    db.close()
    emulator = EmulatorProcess(state).start()
    try:
        east, west = client(emulator, "us-east-1"), client(emulator, "eu-west-1")
        assert east.list_queue_tags(QueueUrl="old")["Tags"] == {"kept": "yes"}
        (got,) = east.receive_message(QueueUrl="old")["Messages"]
        assert (got["MessageId"], got["Body"]) == ("m-1", "kept")
        assert west.list_queues().get("QueueUrls") is None
        # New writes go to the rebuilt tables, region by region.
        west.create_queue(QueueName="old")
        west.send_message(QueueUrl="old", MessageBody="west")
        emulator.stop()
        emulator.start()
        east, west = client(emulator, "us-east-1"), client(emulator, "eu-west-1")
        assert arn_of(east, "old") == f"arn:aws:sqs:us-east-1:{ACCOUNT}:old"
        (got,) = west.receive_message(QueueUrl="old")["Messages"]
        assert got["Body"] == "west"
    finally:
        emulator.stop()


# -- the AWS CLI ----------------------------------------------------------------------------


def test_the_aws_cli_sees_one_region_at_a_time(emulator, aws_env):
    """The AWS CLI's --region picks the region, as on AWS (SQS Developer Guide,
    sqs-queue-message-identifiers.html: a queue name is unique per account and region)."""
    from tests.test_aws_cli import AWS, aws

    endpoint = ["--endpoint-url", emulator.endpoint]
    queue = name("cli")

    def run(region: str, *args: str) -> dict:
        out = aws(aws_env, *endpoint, "--region", region, "sqs", *args)
        return json.loads(out) if out.strip() else {}

    east_url = run("us-east-1", "create-queue", "--queue-name", queue)["QueueUrl"]
    west_url = run("eu-west-1", "create-queue", "--queue-name", f"{queue}-west")["QueueUrl"]
    assert run("us-east-1", "list-queues", "--queue-name-prefix", queue)["QueueUrls"] == [east_url]
    assert run("eu-west-1", "list-queues", "--queue-name-prefix", queue)["QueueUrls"] == [west_url]
    attrs = run(
        "eu-west-1",
        "get-queue-attributes",
        "--queue-url",
        west_url,
        "--attribute-names",
        "QueueArn",
    )
    assert attrs["Attributes"]["QueueArn"] == f"arn:aws:sqs:eu-west-1:{ACCOUNT}:{queue}-west"
    missing = subprocess.run(
        [AWS, *endpoint, "--region", "us-east-1", "sqs", "get-queue-url", "--queue-name",
         f"{queue}-west"],
        env=aws_env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert missing.returncode != 0 and "NonExistentQueue" in missing.stderr
