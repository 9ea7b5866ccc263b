"""SQS through the real server: boto3 (JSON protocol), raw HTTP (query protocol), real timing."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import threading
import time
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from urllib.parse import urlencode

import botocore.exceptions
import pytest


@pytest.fixture
def sqs(emulator):
    return emulator.client("sqs")


@pytest.fixture
def queue_url(sqs) -> str:
    return sqs.create_queue(QueueName=f"q-{uuid.uuid4().hex[:10]}")["QueueUrl"]


def error_code(call, *args, **kwargs) -> tuple[str, int]:
    with pytest.raises(botocore.exceptions.ClientError) as err:
        call(*args, **kwargs)
    return err.value.response["Error"]["Code"], err.value.response["ResponseMetadata"][
        "HTTPStatusCode"
    ]


def test_send_receive_delete_round_trip_with_attributes(sqs, queue_url):
    sent = sqs.send_message(
        QueueUrl=queue_url,
        MessageBody=json.dumps({"id": "abc", "url": "http://127.0.0.1/"}),
        MessageAttributes={
            "seq": {"DataType": "Number", "StringValue": "7"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01png"},
        },
    )
    got = sqs.receive_message(
        QueueUrl=queue_url,
        MessageAttributeNames=["All"],
        MessageSystemAttributeNames=["All"],
    )["Messages"]
    assert len(got) == 1
    (message,) = got
    assert message["MessageId"] == sent["MessageId"]
    assert json.loads(message["Body"]) == {"id": "abc", "url": "http://127.0.0.1/"}
    assert message["MessageAttributes"]["blob"]["BinaryValue"] == b"\x00\x01png"
    assert message["Attributes"]["ApproximateReceiveCount"] == "1"
    assert abs(int(message["Attributes"]["SentTimestamp"]) / 1000 - time.time()) < 5
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessages"] == "0"
    assert attrs["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_every_queue_action_answers(sqs):
    dlq = sqs.create_queue(QueueName="every-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    url = sqs.create_queue(
        QueueName="every-src",
        Attributes={
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})
        },
        tags={"course": "ch15"},
    )["QueueUrl"]
    assert sqs.get_queue_url(QueueName="every-src")["QueueUrl"] == url
    assert url in sqs.list_queues(QueueNamePrefix="every-")["QueueUrls"]
    assert sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"] == [url]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "45"})
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])[
        "Attributes"
    ] == {"VisibilityTimeout": "45"}
    sqs.tag_queue(QueueUrl=url, Tags={"team": "a"})
    sqs.untag_queue(QueueUrl=url, TagKeys=["course"])
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "a"}
    batch = sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": f"m{i}", "MessageBody": f"body {i}"} for i in range(10)]
    )
    assert len(batch["Successful"]) == 10 and not batch.get("Failed")
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert len(got) == 10
    changed = sqs.change_message_visibility_batch(
        QueueUrl=url,
        Entries=[
            {"Id": f"c{i}", "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
            for i, m in enumerate(got[:5])
        ],
    )
    assert len(changed["Successful"]) == 5
    sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle=got[5]["ReceiptHandle"], VisibilityTimeout=60
    )
    deleted = sqs.delete_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": f"d{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got[5:])
        ],
    )
    assert len(deleted["Successful"]) == 5
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessages"] == "5"
    sqs.purge_queue(QueueUrl=url)
    assert (
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])[
            "Attributes"
        ]["ApproximateNumberOfMessages"]
        == "0"
    )
    assert error_code(sqs.purge_queue, QueueUrl=url) == (
        "AWS.SimpleQueueService.PurgeQueueInProgress",
        403,
    )
    sqs.delete_queue(QueueUrl=url)
    assert (
        error_code(sqs.get_queue_url, QueueName="every-src")[0]
        == "AWS.SimpleQueueService.NonExistentQueue"
    )


def test_list_queues_pages(sqs):
    for i in range(5):
        sqs.create_queue(QueueName=f"page-{i}")
    first = sqs.list_queues(QueueNamePrefix="page-", MaxResults=3)
    assert len(first["QueueUrls"]) == 3 and "NextToken" in first
    rest = sqs.list_queues(QueueNamePrefix="page-", MaxResults=3, NextToken=first["NextToken"])
    assert len(rest["QueueUrls"]) == 2 and "NextToken" not in rest


def server_events(emulator, after: int = 0, kind: str = "sqs.") -> dict:
    with urllib.request.urlopen(f"{emulator.endpoint}/_lab/events?after={after}&type={kind}") as r:
        return json.loads(r.read())


def test_long_poll_returns_within_50ms_of_a_send(emulator, sqs, queue_url):
    result: dict = {}
    start = server_events(emulator)["last_id"]

    def poll() -> None:
        client = emulator.client("sqs")
        result["messages"] = client.receive_message(QueueUrl=queue_url, WaitTimeSeconds=10).get(
            "Messages"
        )
        result["at"] = time.monotonic()

    thread = threading.Thread(target=poll)
    thread.start()
    time.sleep(0.5)
    sent_at = time.monotonic()
    sqs.send_message(QueueUrl=queue_url, MessageBody="wake up")
    thread.join(5)
    assert result["messages"][0]["Body"] == "wake up"
    # The server's own clock says when the send landed and when the waiting receive took it;
    # the client's view adds thread scheduling and HTTP on a busy 2-core machine.
    name = queue_url.rsplit("/", 1)[1]
    events = {
        e["type"]: e["at"] for e in server_events(emulator, start)["events"] if e["queue"] == name
    }
    assert events["sqs.receive"] - events["sqs.send"] < 0.05
    assert result["at"] - sent_at < 1.0


def test_long_poll_waits_the_full_time_when_empty(sqs, queue_url):
    start = time.monotonic()
    reply = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1)
    elapsed = time.monotonic() - start
    assert "Messages" not in reply
    assert 0.95 <= elapsed < 3.0


def test_visibility_timeout_expiry_is_seen_within_100ms(emulator, sqs, queue_url):
    start = server_events(emulator)["last_id"]
    sqs.send_message(QueueUrl=queue_url, MessageBody="again")
    first = sqs.receive_message(QueueUrl=queue_url, VisibilityTimeout=1)["Messages"][0]
    again = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=5, AttributeNames=["All"])[
        "Messages"
    ][0]
    assert again["MessageId"] == first["MessageId"]
    assert again["Attributes"]["ApproximateReceiveCount"] == "2"
    name = queue_url.rsplit("/", 1)[1]
    receives = [
        e["at"]
        for e in server_events(emulator, start)["events"]
        if e["queue"] == name and e["type"] == "sqs.receive"
    ]
    assert 1.0 <= receives[1] - receives[0] < 1.1


def test_delay_seconds_in_real_time(sqs, queue_url):
    sqs.send_message(QueueUrl=queue_url, MessageBody="later", DelaySeconds=1)
    assert "Messages" not in sqs.receive_message(QueueUrl=queue_url)
    attrs = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessagesDelayed"]
    )
    assert attrs["Attributes"]["ApproximateNumberOfMessagesDelayed"] == "1"
    got = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=3)
    assert got["Messages"][0]["Body"] == "later"


def test_fifo_queue_through_boto3(sqs):
    url = sqs.create_queue(
        QueueName="orders.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"step {i}", MessageGroupId="order-1")
    sqs.send_message(QueueUrl=url, MessageBody="step 0", MessageGroupId="order-1")  # deduplicated
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])[
        "Messages"
    ]
    assert [m["Body"] for m in got] == ["step 0", "step 1", "step 2"]
    assert got[0]["Attributes"]["MessageGroupId"] == "order-1"


def test_dead_letter_queue_through_boto3(sqs):
    dlq = sqs.create_queue(QueueName="poison-dlq")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    url = sqs.create_queue(
        QueueName="poison-src",
        Attributes={
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": "2"})
        },
    )["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="not json")
    for _ in range(2):
        (m,) = sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)["Messages"]
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    moved = sqs.receive_message(QueueUrl=dlq, AttributeNames=["All"])["Messages"]
    assert moved[0]["Body"] == "not json"
    assert moved[0]["Attributes"]["DeadLetterQueueSourceArn"].endswith(":poison-src")


# -- bad input: AWS error codes, 4xx, and the server keeps serving -------------------------


def test_bad_parameters_get_aws_errors(sqs, queue_url):
    assert error_code(sqs.receive_message, QueueUrl=queue_url, MaxNumberOfMessages=11) == (
        "InvalidParameterValue",
        400,
    )
    assert error_code(sqs.receive_message, QueueUrl=queue_url, WaitTimeSeconds=21)[1] == 400
    assert (
        error_code(sqs.send_message, QueueUrl=queue_url, MessageBody="x", DelaySeconds=901)[1]
        == 400
    )
    assert error_code(sqs.send_message, QueueUrl=queue_url, MessageBody="") == (
        "MissingParameter",
        400,
    )
    assert error_code(sqs.send_message, QueueUrl=queue_url, MessageBody="\x00") == (
        "InvalidMessageContents",
        400,
    )
    assert error_code(sqs.set_queue_attributes, QueueUrl=queue_url, Attributes={"Nope": "1"}) == (
        "InvalidAttributeName",
        400,
    )
    assert error_code(
        sqs.set_queue_attributes, QueueUrl=queue_url, Attributes={"DelaySeconds": "x"}
    ) == (
        "InvalidAttributeValue",
        400,
    )
    assert (
        error_code(sqs.get_queue_attributes, QueueUrl=queue_url, AttributeNames=["Nope"])[0]
        == "InvalidAttributeName"
    )
    assert error_code(sqs.delete_message, QueueUrl=queue_url, ReceiptHandle="garbage!") == (
        "ReceiptHandleIsInvalid",
        404,
    )
    assert error_code(
        sqs.send_message, QueueUrl=queue_url.rsplit("/", 1)[0] + "/nope", MessageBody="x"
    )[0] == ("AWS.SimpleQueueService.NonExistentQueue")
    assert error_code(sqs.create_queue, QueueName="bad name!")[0] == "InvalidParameterValue"


def test_oversize_messages_and_batches(sqs, queue_url):
    big = "x" * 1_048_577
    assert error_code(sqs.send_message, QueueUrl=queue_url, MessageBody=big) == (
        "InvalidParameterValue",
        400,
    )
    entries = [{"Id": str(i), "MessageBody": "y" * 200_000} for i in range(6)]
    assert error_code(sqs.send_message_batch, QueueUrl=queue_url, Entries=entries) == (
        "AWS.SimpleQueueService.BatchRequestTooLong",
        400,
    )
    eleven = [{"Id": str(i), "MessageBody": "z"} for i in range(11)]
    assert error_code(sqs.send_message_batch, QueueUrl=queue_url, Entries=eleven)[0] == (
        "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"
    )
    twice = [{"Id": "a", "MessageBody": "z"}, {"Id": "a", "MessageBody": "z"}]
    assert error_code(sqs.send_message_batch, QueueUrl=queue_url, Entries=twice)[0] == (
        "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"
    )
    bad_id = [{"Id": "no spaces", "MessageBody": "z"}]
    assert error_code(sqs.send_message_batch, QueueUrl=queue_url, Entries=bad_id)[0] == (
        "AWS.SimpleQueueService.InvalidBatchEntryId"
    )
    # an exactly 1 MiB message is fine, and nothing was lost on the way
    sqs.send_message(QueueUrl=queue_url, MessageBody="m" * 1_048_576)
    got = sqs.receive_message(QueueUrl=queue_url)["Messages"][0]
    assert len(got["Body"]) == 1_048_576


def test_batch_entries_fail_one_by_one(sqs, queue_url):
    result = sqs.send_message_batch(
        QueueUrl=queue_url,
        Entries=[{"Id": "ok", "MessageBody": "fine"}, {"Id": "bad", "MessageBody": "\x01"}],
    )
    assert [e["Id"] for e in result["Successful"]] == ["ok"]
    assert result["Failed"][0]["Id"] == "bad" and result["Failed"][0]["SenderFault"] is True


def raw_post(
    endpoint: str, body: bytes, headers: dict[str, str], path: str = "/"
) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(endpoint + path, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


SIGNED = "AWS4-HMAC-SHA256 Credential=test/20261129/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=0"


@pytest.mark.parametrize(
    ("body", "target", "code"),
    [
        (b"{not json", "AmazonSQS.ListQueues", "MalformedInput"),
        (b"[1,2]", "AmazonSQS.ListQueues", "MalformedInput"),
        (b"{}", "AmazonSQS.Explode", "UnknownOperationException"),
        (b'{"QueueName": 5}', "AmazonSQS.CreateQueue", "InvalidParameterValue"),
        (
            b'{"QueueUrl": "/000000000000/typed", "MaxNumberOfMessages": "ten"}',
            "AmazonSQS.ReceiveMessage",
            "InvalidParameterValue",
        ),
        (
            b'{"QueueUrl": "/000000000000/typed", "MessageBody": 12}',
            "AmazonSQS.SendMessage",
            "InvalidParameterValue",
        ),
        (
            b'{"QueueUrl": "/000000000000/typed", "MessageBody": "x", "MessageAttributes": {"a": {"DataType": "Binary", "BinaryValue": "%%%"}}}',
            "AmazonSQS.SendMessage",
            "InvalidParameterValue",
        ),
        (
            b'{"QueueUrl": "/000000000000/typed", "Entries": "all of them"}',
            "AmazonSQS.SendMessageBatch",
            "InvalidParameterValue",
        ),
        (
            b'{"QueueUrl": "/000000000000/no-such-queue"}',
            "AmazonSQS.PurgeQueue",
            "AWS.SimpleQueueService.NonExistentQueue",
        ),
        (
            b'{"QueueName": "x", "Attributes": "VisibilityTimeout"}',
            "AmazonSQS.CreateQueue",
            "InvalidParameterValue",
        ),
        (
            b'{"QueueName": "x", "Attributes": {"VisibilityTimeout": [1]}}',
            "AmazonSQS.CreateQueue",
            "InvalidAttributeValue",
        ),
        (b"\xff\xfe\xfd", "AmazonSQS.SendMessage", "MalformedInput"),
    ],
)
def test_malformed_json_requests(emulator, sqs, body, target, code):
    sqs.create_queue(QueueName="typed")
    status, headers, reply = raw_post(
        emulator.endpoint,
        body,
        {
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": target,
            "Authorization": SIGNED,
        },
    )
    assert 400 <= status < 500
    assert headers["x-amzn-query-error"].split(";")[0] == code
    assert json.loads(reply)["message"]


def query(emulator, params: dict, path: str = "/") -> tuple[int, ET.Element]:
    status, _, body = raw_post(
        emulator.endpoint,
        urlencode(params).encode(),
        {
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
            "Authorization": SIGNED,
        },
        path,
    )
    root = ET.fromstring(body)
    for element in root.iter():
        element.tag = element.tag.split("}")[-1]
    return status, root


def test_query_protocol_round_trip(emulator):
    status, root = query(
        emulator,
        {
            "Action": "CreateQueue",
            "QueueName": "xmlq",
            "Attribute.1.Name": "VisibilityTimeout",
            "Attribute.1.Value": "40",
            "Version": "2012-11-05",
        },
    )
    assert status == 200
    url = root.findtext("CreateQueueResult/QueueUrl")
    path = "/" + url.split("/", 3)[3]
    status, root = query(
        emulator,
        {
            "Action": "SendMessage",
            "MessageBody": "hello <xml> & friends",
            "MessageAttribute.1.Name": "kind",
            "MessageAttribute.1.Value.DataType": "String",
            "MessageAttribute.1.Value.StringValue": "greeting",
        },
        path,
    )
    assert status == 200
    expected_md5 = hashlib.md5(b"hello <xml> & friends").hexdigest()
    assert root.findtext("SendMessageResult/MD5OfMessageBody") == expected_md5
    assert root.findtext("SendMessageResult/MD5OfMessageAttributes")
    status, root = query(
        emulator,
        {
            "Action": "ReceiveMessage",
            "QueueUrl": url,
            "AttributeName.1": "All",
            "MessageAttributeName.1": "All",
        },
    )
    message = root.find("ReceiveMessageResult/Message")
    assert message.findtext("Body") == "hello <xml> & friends"
    attrs = {a.findtext("Name"): a.findtext("Value") for a in message.findall("Attribute")}
    assert attrs["ApproximateReceiveCount"] == "1"
    (mattr,) = message.findall("MessageAttribute")
    assert mattr.findtext("Name") == "kind" and mattr.findtext("Value/StringValue") == "greeting"
    status, root = query(
        emulator,
        {"Action": "GetQueueAttributes", "QueueUrl": url, "AttributeName.1": "VisibilityTimeout"},
    )
    assert root.findtext("GetQueueAttributesResult/Attribute/Value") == "40"
    status, root = query(
        emulator,
        {
            "Action": "DeleteMessageBatch",
            "QueueUrl": url,
            "DeleteMessageBatchRequestEntry.1.Id": "a",
            "DeleteMessageBatchRequestEntry.1.ReceiptHandle": message.findtext("ReceiptHandle"),
            "DeleteMessageBatchRequestEntry.2.Id": "b",
            "DeleteMessageBatchRequestEntry.2.ReceiptHandle": "bogus",
        },
    )
    assert root.findtext("DeleteMessageBatchResult/DeleteMessageBatchResultEntry/Id") == "a"
    assert (
        root.findtext("DeleteMessageBatchResult/BatchResultErrorEntry/Code")
        == "ReceiptHandleIsInvalid"
    )


@pytest.mark.parametrize(
    ("params", "code", "status"),
    [
        ({"Action": "Explode"}, "InvalidAction", 400),
        ({"QueueName": "x"}, "MissingParameter", 400),
        (
            {"Action": "GetQueueUrl", "QueueName": "missing-queue"},
            "AWS.SimpleQueueService.NonExistentQueue",
            400,
        ),
        ({"Action": "CreateQueue"}, "MissingParameter", 400),
        (
            {
                "Action": "SetQueueAttributes",
                "QueueUrl": "/000000000000/x",
                "Attribute.one.Name": "x",
            },
            "MalformedQueryString",
            404,
        ),
    ],
)
def test_query_protocol_errors(emulator, params, code, status):
    got_status, root = query(emulator, params)
    assert got_status == status
    assert root.findtext("Error/Code") == code
    assert root.findtext("Error/Type") == "Sender"


def test_half_closed_and_garbage_connections_do_not_hurt(emulator, sqs, queue_url):
    import socket

    for payload in (
        b"POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\n{",
        b"\x16\x03\x01garbage\r\n\r\n",
        b"",
    ):
        with socket.create_connection(("127.0.0.1", emulator.port)) as s:
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
            s.settimeout(5)
            with contextlib.suppress(OSError):
                s.recv(1024)
    sqs.send_message(QueueUrl=queue_url, MessageBody="still here")
    assert sqs.receive_message(QueueUrl=queue_url)["Messages"][0]["Body"] == "still here"


def test_binary_attribute_md5_is_verified_by_boto3(sqs, queue_url):
    # boto3 checks MD5OfMessageAttributes itself; a wrong digest would raise here
    sqs.send_message(
        QueueUrl=queue_url,
        MessageBody="b",
        MessageAttributes={
            "b": {"DataType": "Binary.gif", "BinaryValue": base64.b64decode("R0lGODlh")}
        },
    )
    got = sqs.receive_message(QueueUrl=queue_url, MessageAttributeNames=["b"])["Messages"][0]
    assert got["MessageAttributes"]["b"]["BinaryValue"] == b"GIF89a"


def test_event_stream_shows_what_happened(emulator, sqs, queue_url):
    start = server_events(emulator)["last_id"]
    sqs.send_message(QueueUrl=queue_url, MessageBody="watch me")
    (m,) = sqs.receive_message(QueueUrl=queue_url)["Messages"]
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
    mine = [
        e
        for e in server_events(emulator, start)["events"]
        if e["queue"] == queue_url.rsplit("/", 1)[1]
    ]
    assert [e["type"] for e in mine] == ["sqs.send", "sqs.receive", "sqs.delete"]
    assert {e["message_id"] for e in mine} == {m["MessageId"]}
    assert mine[0]["id"] < mine[1]["id"] < mine[2]["id"]
