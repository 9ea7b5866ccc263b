"""The SQS wire as AWS answers it, through the real server: the query protocol over GET and POST,
JSON answers for clients that accept them, characters kept exactly, the requests AWS refuses,
and the X-Ray header. Each test names the AWS page or the AWS-recorded behaviour it follows
(LocalStack's parity suite, tests/aws/services/sqs/test_sqs.py, records answers of real AWS)."""

from __future__ import annotations

import hashlib
import json
import uuid

import pytest

from tests.sqs.wire import FORM, json_call, query, query_xml, queue_path, send, xml

TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


@pytest.fixture
def sqs(emulator):
    return emulator.client("sqs")


@pytest.fixture
def queue_url(sqs) -> str:
    return sqs.create_queue(QueueName=f"wire-{uuid.uuid4().hex[:10]}")["QueueUrl"]


def bodies(sqs, url: str) -> list[str]:
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
    return [m["Body"] for m in got.get("Messages", [])]


# -- the query protocol over GET --------------------------------------------------------------


def test_get_with_parameters_in_the_url_sends_receives_and_reads_attributes(emulator, queue_url):
    """ "Making query API requests" (SQS Developer Guide, sqs-making-api-requests.html): a GET
    puts Action and parameters in the queue URL's query string. Recorded on AWS
    (TestSqsQueryApi.test_get_send_and_receive_messages, test_get_queue_attributes_all)."""
    path = queue_path(queue_url)
    status, root = query_xml(
        emulator.endpoint,
        {"Action": "SendMessage", "MessageBody": "from a GET"},
        path,
        method="GET",
    )
    assert status == 200
    assert (
        root.findtext("SendMessageResult/MD5OfMessageBody")
        == hashlib.md5(b"from a GET").hexdigest()
    )
    status, root = query_xml(emulator.endpoint, {"Action": "ReceiveMessage"}, path, method="GET")
    assert status == 200
    assert root.findtext("ReceiveMessageResult/Message/Body") == "from a GET"
    status, root = query_xml(
        emulator.endpoint,
        {"Action": "GetQueueAttributes", "AttributeName.1": "All"},
        path,
        method="GET",
    )
    attrs = {a.findtext("Name"): a.findtext("Value") for a in root.iter("Attribute")}
    assert attrs["VisibilityTimeout"] == "30"
    assert attrs["QueueArn"].startswith("arn:aws:sqs:")


def test_an_empty_receive_over_get_has_an_empty_result_element(emulator, queue_url):
    """Recorded on AWS (TestSqsQueryApi.test_get_send_and_receive_messages): an empty
    ReceiveMessage answers ``<ReceiveMessageResult/>``."""
    status, _, body = query(
        emulator.endpoint, {"Action": "ReceiveMessage"}, queue_path(queue_url), method="GET"
    )
    assert status == 200
    assert b"<ReceiveMessageResult/>" in body


def test_a_queue_url_parameter_wins_over_the_path(emulator, sqs, queue_url):
    """Recorded on AWS (TestSqsQueryApi.test_overwrite_queue_url_in_params): the queue URL
    serves as endpoint, a QueueUrl parameter names the queue acted on."""
    other = sqs.create_queue(QueueName=f"wire-other-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    status, root = query_xml(
        emulator.endpoint,
        {"Action": "GetQueueAttributes", "QueueUrl": other, "AttributeName.1": "QueueArn"},
        queue_path(queue_url),
        method="GET",
    )
    assert status == 200
    arn = root.findtext("GetQueueAttributesResult/Attribute/Value")
    assert arn.endswith(":" + other.rsplit("/", 1)[1])


def test_get_of_a_queue_url_without_an_action_is_an_unknown_operation(emulator, queue_url):
    """Recorded on AWS (TestSqsQueryApi.test_get_without_query_returns_unknown_operation and
    test_get_without_query_json_format_returns_returns_xml): 404 with a bare
    ``<UnknownOperationException/>``, XML even when the client accepts JSON."""
    for headers in ({}, {"Accept": "application/json"}):
        status, _, body = send(
            emulator.endpoint, queue_path(queue_url), method="GET", headers=headers
        )
        assert status == 404
        assert body.startswith(b"<UnknownOperationException")


@pytest.mark.parametrize("action", ["CreateQueue", "ListQueues"])
def test_a_queue_url_does_not_take_create_or_list(emulator, queue_url, action):
    """Recorded on AWS (TestSqsQueryApi.test_get_create_queue_fails, test_get_list_queues_fails):
    400 InvalidAction, "The action CreateQueue is not valid for this endpoint."."""
    status, root = query_xml(
        emulator.endpoint,
        {"Action": action, "QueueName": f"never-{uuid.uuid4().hex[:8]}"},
        queue_path(queue_url),
        method="GET",
    )
    assert status == 400
    assert root.findtext("Error/Code") == "InvalidAction"
    assert root.findtext("Error/Type") == "Sender"
    assert root.findtext("Error/Message") == f"The action {action} is not valid for this endpoint."


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_an_unknown_action_is_invalid_action(emulator, queue_url, method):
    """Recorded on AWS (TestSqsQueryApi.test_invalid_action_raises_exception); "InvalidAction"
    400 in the API Reference's Common Errors (CommonErrors.html)."""
    status, root = query_xml(
        emulator.endpoint,
        {"Action": "FooBar", "Version": "2012-11-05"},
        queue_path(queue_url),
        method=method,
    )
    assert status == 400
    assert root.findtext("Error/Type") == "Sender"
    assert root.findtext("Error/Code") == "InvalidAction"
    assert root.findtext("Error/Message") == "The action FooBar is not valid for this endpoint."


def test_json_protocol_unknown_target_is_an_unknown_operation(emulator):
    """An X-Amz-Target the service does not have: UnknownOperationException, 400, as AWS's JSON
    services answer it (aws/aws-sdk-net#1536 shows the answer of one; unverified for SQS)."""
    status, headers, body = json_call(emulator.endpoint, "Explode", {})
    assert status == 400
    assert body["__type"].endswith("#UnknownOperationException")
    assert headers["x-amzn-query-error"] == "UnknownOperationException;Sender"


# -- JSON answers to the query protocol ---------------------------------------------------------


def test_a_query_request_that_accepts_json_gets_json(emulator, queue_url):
    """Recorded on AWS (TestSqsQueryApi.test_get_queue_attributes_json_format, kept as an
    AWS-validated xfail by LocalStack): ``{"GetQueueAttributesResponse": {"Get...Result":
    {"Attributes": [{"Name": ..., "Value": ...}]}}}``."""
    status, headers, body = query(
        emulator.endpoint,
        {"Action": "GetQueueAttributes", "AttributeName.1": "All"},
        queue_path(queue_url),
        method="GET",
        headers={"Accept": "application/json"},
    )
    assert status == 200
    assert headers["content-type"].startswith("application/json")
    doc = json.loads(body)
    attributes = doc["GetQueueAttributesResponse"]["GetQueueAttributesResult"]["Attributes"]
    arn = next(a["Value"] for a in attributes if a["Name"] == "QueueArn")
    assert arn.startswith("arn:aws:sqs:") and arn.endswith(queue_url.rsplit("/", 1)[1])
    assert doc["GetQueueAttributesResponse"]["ResponseMetadata"]["RequestId"]


def test_a_query_error_that_accepts_json_is_json(emulator, queue_url):
    """Recorded on AWS (TestSqsQueryApi.test_get_list_queues_fails_json_format): 400 and
    ``{"Error": {"Code": "InvalidAction", "Message": "The action ListQueues is not valid for
    this endpoint."}}``."""
    status, headers, body = query(
        emulator.endpoint,
        {"Action": "ListQueues"},
        queue_path(queue_url),
        method="GET",
        headers={"Accept": "application/json"},
    )
    assert status == 400
    doc = json.loads(body)
    assert doc["Error"]["Code"] == "InvalidAction"
    assert doc["Error"]["Message"] == "The action ListQueues is not valid for this endpoint."


def test_json_answers_keep_messages_and_their_attributes(emulator, queue_url):
    """The JSON form of a receive (the query protocol's JSON answer, same member names as the
    GetQueueAttributes one recorded on AWS; the message list's shape is unverified)."""
    path = queue_path(queue_url)
    query(
        emulator.endpoint,
        {
            "Action": "SendMessage",
            "MessageBody": "line\r\nnext",
            "MessageAttribute.1.Name": "kind",
            "MessageAttribute.1.Value.DataType": "String",
            "MessageAttribute.1.Value.StringValue": "greeting",
        },
        path,
    )
    status, _, body = query(
        emulator.endpoint,
        {"Action": "ReceiveMessage", "MessageAttributeName.1": "All", "AttributeName.1": "All"},
        path,
        headers={"Accept": "application/json"},
    )
    assert status == 200
    (message,) = json.loads(body)["ReceiveMessageResponse"]["ReceiveMessageResult"]["Messages"]
    assert message["Body"] == "line\r\nnext"
    assert {"Name": "kind", "Value": {"DataType": "String", "StringValue": "greeting"}} in message[
        "MessageAttributes"
    ]
    assert {a["Name"] for a in message["Attributes"]} >= {"SentTimestamp", "SenderId"}


# -- characters kept exactly -----------------------------------------------------------------


BODIES = ['"&quot;&quot;\r', "a\r\nb\rc\n\td", "<x a='1'>&amp;</x>", "emoji \U0001f600 \ufffd end"]


@pytest.mark.parametrize("body", BODIES)
def test_bodies_come_back_exactly_over_the_query_protocol(emulator, queue_url, body):
    """Recorded on AWS (test_send_receive_message_encoded_content, both protocols): a body with
    a carriage return and entity-like text comes back as sent. The allowed characters
    (#x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000-#x10FFFF, API_SendMessage.html) all
    survive; XML turns a bare CR into LF, so the answer carries it as ``&#xD;``."""
    path = queue_path(queue_url)
    status, root = query_xml(
        emulator.endpoint, {"Action": "SendMessage", "MessageBody": body}, path
    )
    assert status == 200
    assert (
        root.findtext("SendMessageResult/MD5OfMessageBody")
        == hashlib.md5(body.encode()).hexdigest()
    )
    status, _, raw = query(emulator.endpoint, {"Action": "ReceiveMessage"}, path)
    if "\r" in body:
        assert b"&#xD;" in raw
    message = xml(raw).find("ReceiveMessageResult/Message")
    assert message.findtext("Body") == body
    assert message.findtext("MD5OfBody") == hashlib.md5(body.encode()).hexdigest()


@pytest.mark.parametrize("body", BODIES)
def test_bodies_come_back_exactly_over_json(sqs, queue_url, body):
    """Recorded on AWS (test_send_receive_message_encoded_content, JSON protocol); boto3 checks
    the MD5 of what it sent against the reply."""
    sqs.send_message(QueueUrl=queue_url, MessageBody=body)
    assert bodies(sqs, queue_url) == [body]


# -- input AWS refuses, and the server keeps serving --------------------------------------------


def test_a_deeply_nested_json_body_is_a_serialization_error(emulator, sqs, queue_url):
    """AWS's JSON deserializer refuses what it cannot read with SerializationException, whose
    query-compatible code is MalformedInput (the query protocol's answer to an unreadable
    request, seen on AWS in rusoto/rusoto#586 and aws/aws-sdk-js#2118), never a 500."""
    sqs.send_message(QueueUrl=queue_url, MessageBody="kept")
    for body in (b"[" * 100_000, b'{"a":' * 100_000, b'{"QueueUrl": ' + b"[" * 50_000):
        status, headers, answer = send(
            emulator.endpoint,
            body=body,
            headers={
                "Content-Type": "application/x-amz-json-1.0",
                "X-Amz-Target": "AmazonSQS.SendMessage",
            },
        )
        assert status == 400
        assert headers["x-amzn-query-error"] == "MalformedInput;Sender"
        assert json.loads(answer)["__type"].endswith("#SerializationException")
    assert bodies(sqs, queue_url) == ["kept"]


def test_a_deeply_nested_query_form_is_refused(emulator, sqs, queue_url):
    """The query-protocol twin of the case above: MalformedInput 400, and nothing is lost."""
    sqs.send_message(QueueUrl=queue_url, MessageBody="kept")
    key = "SendMessageBatchRequestEntry.1." * 3000 + "Id"
    status, root = query_xml(
        emulator.endpoint, {"Action": "SendMessageBatch", key: "x"}, queue_path(queue_url)
    )
    assert status == 400
    assert root.findtext("Error/Code") == "MalformedInput"
    assert bodies(sqs, queue_url) == ["kept"]


@pytest.mark.parametrize(
    "how",
    ["percent-escaped in a POST", "raw bytes in a POST", "percent-escaped in a GET"],
)
def test_a_body_that_is_not_utf8_is_refused_not_changed(emulator, sqs, queue_url, how):
    """A message may hold only the allowed Unicode characters (API_SendMessage.html); bytes that
    are not UTF-8 are none, so SQS refuses the request (MalformedInput 400, the query
    deserializer's error) rather than store U+FFFD in their place."""
    path = queue_path(queue_url)
    if how == "percent-escaped in a POST":
        status, _, body = send(
            emulator.endpoint,
            path,
            body=b"Action=SendMessage&MessageBody=caf%E9%FF",
            headers={"Content-Type": FORM},
        )
    elif how == "raw bytes in a POST":
        status, _, body = send(
            emulator.endpoint,
            path,
            body=b"Action=SendMessage&MessageBody=caf\xe9",
            headers={"Content-Type": FORM},
        )
    else:
        status, _, body = send(
            emulator.endpoint, path + "?Action=SendMessage&MessageBody=%C3%28", method="GET"
        )
    assert status == 400
    assert xml(body).findtext("Error/Code") == "MalformedInput"
    assert bodies(sqs, queue_url) == []
    sqs.send_message(QueueUrl=queue_url, MessageBody="café")
    assert bodies(sqs, queue_url) == ["café"]


def test_an_empty_batch_over_the_query_protocol_is_an_empty_batch(emulator, queue_url):
    """botocore's query serializer sends an empty list as the bare name
    (``SendMessageBatchRequestEntry=``); AWS answers EmptyBatchRequest (recorded on AWS for both
    protocols in test_send_message_batch_with_empty_list)."""
    status, root = query_xml(
        emulator.endpoint,
        {"Action": "SendMessageBatch", "SendMessageBatchRequestEntry": ""},
        queue_path(queue_url),
    )
    assert status == 400
    assert root.findtext("Error/Code") == "AWS.SimpleQueueService.EmptyBatchRequest"
    assert root.findtext("Error/Message") == (
        "There should be at least one SendMessageBatchRequestEntry in the request."
    )


# -- AWSTraceHeader ------------------------------------------------------------------------------


def traced_client(emulator, header: str):
    """A boto3 client that sends ``X-Amzn-Trace-Id`` with every call, as the X-Ray SDK does."""
    client = emulator.client("sqs")

    def add_header(request, **_):
        request.headers["X-Amzn-Trace-Id"] = header

    client.meta.events.register("before-sign.sqs.*", add_header)
    return client


def trace_of(sqs, url: str) -> list[str | None]:
    got = sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=10,
        VisibilityTimeout=0,
        MessageSystemAttributeNames=["AWSTraceHeader"],
    )
    return [m.get("Attributes", {}).get("AWSTraceHeader") for m in got.get("Messages", [])]


def test_the_xray_header_becomes_the_aws_trace_header(emulator, sqs, queue_url):
    """ "Amazon SQS and AWS X-Ray" (X-Ray Developer Guide, xray-services-sqs.html): the
    X-Amzn-Trace-Id header of a SendMessage request is the message's AWSTraceHeader. Recorded
    on AWS in test_aws_trace_header_propagation."""
    traced_client(emulator, TRACE).send_message(QueueUrl=queue_url, MessageBody="traced")
    assert trace_of(sqs, queue_url) == [TRACE]


def test_the_xray_header_covers_every_entry_of_a_batch(emulator, sqs, queue_url):
    """xray-services-sqs.html: the header "corresponds to all messages included in a
    SendMessage or SendMessageBatch request"."""
    traced_client(emulator, TRACE).send_message_batch(
        QueueUrl=queue_url, Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(3)]
    )
    assert trace_of(sqs, queue_url) == [TRACE] * 3


def test_a_trace_header_system_attribute_overrides_the_http_header(emulator, sqs, queue_url):
    """xray-services-sqs.html: "If both headers are set, the message system attribute overrides
    the HTTP trace header"."""
    own = "Root=1-00000000-000000000000000000000001;Parent=0000000000000001;Sampled=0"
    traced_client(emulator, TRACE).send_message(
        QueueUrl=queue_url,
        MessageBody="own trace",
        MessageSystemAttributes={"AWSTraceHeader": {"DataType": "String", "StringValue": own}},
    )
    assert trace_of(sqs, queue_url) == [own]


def test_the_xray_header_over_the_query_protocol(emulator, sqs, queue_url):
    """The same rule for a query-protocol SendMessage (recorded on AWS for both protocols in
    test_aws_trace_header_propagation)."""
    status, _, _ = query(
        emulator.endpoint,
        {"Action": "SendMessage", "MessageBody": "traced"},
        queue_path(queue_url),
        headers={"X-Amzn-Trace-Id": TRACE},
    )
    assert status == 200
    assert trace_of(sqs, queue_url) == [TRACE]


def test_other_actions_ignore_the_xray_header(emulator, sqs, queue_url):
    """Only the send actions keep the header (xray-services-sqs.html); a receive that carries
    one changes nothing."""
    sqs.send_message(QueueUrl=queue_url, MessageBody="plain")
    traced = traced_client(emulator, TRACE)
    assert traced.receive_message(QueueUrl=queue_url, VisibilityTimeout=0)["Messages"]
    assert trace_of(sqs, queue_url) == [None]
