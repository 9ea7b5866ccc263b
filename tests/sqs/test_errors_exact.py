"""SQS errors word for word, in both protocols, through the real server: the code (the query
protocol's ``Error/Code``, the JSON protocol's ``x-amzn-query-error``), the JSON ``__type``, the
HTTP status and the message. Each case follows an answer recorded on real AWS, mostly in
LocalStack's parity snapshots (tests/aws/services/sqs/test_sqs.snapshot.json), which record
both the JSON protocol (``[sqs]``) and the query protocol (``[sqs_query]``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import botocore.exceptions
import pytest

from tests.sqs.wire import json_call, query_xml, queue_path

SNAPSHOT = "LocalStack test_sqs.snapshot.json (recorded on AWS)"


@dataclass
class Answer:
    status: int
    code: str
    message: str
    json_type: str | None = None  # after '#'; the JSON protocol only


def by_json(endpoint: str, action: str, params: dict[str, Any]) -> Answer:
    status, headers, body = json_call(endpoint, action, params)
    code, fault = headers["x-amzn-query-error"].split(";")
    assert fault == "Sender"
    return Answer(status, code, body["message"], body["__type"].rsplit("#", 1)[1])


def by_query(endpoint: str, form: dict[str, str], path: str) -> Answer:
    status, root = query_xml(endpoint, form, path)
    assert root.tag == "ErrorResponse" and root.findtext("Error/Type") == "Sender"
    return Answer(status, root.findtext("Error/Code"), root.findtext("Error/Message"))


@pytest.fixture
def queue(emulator) -> str:
    client = emulator.client("sqs")
    return client.create_queue(QueueName=f"err-{uuid.uuid4().hex[:10]}")["QueueUrl"]


@pytest.fixture
def fifo(emulator) -> str:
    client = emulator.client("sqs")
    name = f"err-{uuid.uuid4().hex[:10]}.fifo"
    return client.create_queue(QueueName=name, Attributes={"FifoQueue": "true"})["QueueUrl"]


def both(
    emulator, queue_url: str, action: str, json_params: dict[str, Any], form: dict[str, str]
) -> tuple[Answer, Answer]:
    """The same request in each protocol, to the queue URL's path for the query protocol."""
    j = by_json(emulator.endpoint, action, {"QueueUrl": queue_url, **json_params})
    q = by_query(emulator.endpoint, {"Action": action, **form}, queue_path(queue_url))
    return j, q


IPV = ("InvalidParameterValue", "InvalidParameterValueException")


@pytest.mark.parametrize(
    ("param", "value", "message"),
    [
        (
            "WaitTimeSeconds",
            21,
            "Value 21 for parameter WaitTimeSeconds is invalid. "
            "Reason: Must be >= 0 and <= 20, if provided.",
        ),
        (
            "WaitTimeSeconds",
            -1,
            "Value -1 for parameter WaitTimeSeconds is invalid. "
            "Reason: Must be >= 0 and <= 20, if provided.",
        ),
        (
            "MaxNumberOfMessages",
            11,
            "Value 11 for parameter MaxNumberOfMessages is invalid. "
            "Reason: Must be between 1 and 10, if provided.",
        ),
        (
            "VisibilityTimeout",
            43_201,
            "Value 43201 for parameter VisibilityTimeout is invalid. "
            "Reason: Must be >= 0 and <= 43200, if provided.",
        ),
    ],
)
def test_receive_limits(emulator, queue, param, value, message):
    """Recorded on AWS: test_send_receive_wait_time_seconds and
    test_send_receive_max_number_of_messages in the snapshot, both protocols (QueryErrorCode
    InvalidParameterValueException). The VisibilityTimeout wording is that of the same family
    as other emulators write it (unverified)."""
    j, q = both(emulator, queue, "ReceiveMessage", {param: value}, {param: str(value)})
    assert (j.status, j.code, j.json_type, j.message) == (400, *IPV, message)
    assert (q.status, q.code, q.message) == (400, IPV[0], message)


def test_delay_seconds_limit(emulator, queue):
    """Recorded on AWS by a user (aws-samples/amazon-sqs-dlq-replay-backoff#8): "Value 54524 for
    parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900."."""
    message = (
        "Value 901 for parameter DelaySeconds is invalid. "
        "Reason: DelaySeconds must be >= 0 and <= 900."
    )
    j, q = both(
        emulator,
        queue,
        "SendMessage",
        {"MessageBody": "x", "DelaySeconds": 901},
        {"MessageBody": "x", "DelaySeconds": "901"},
    )
    assert (j.status, j.code, j.json_type, j.message) == (400, *IPV, message)
    assert (q.status, q.code, q.message) == (400, IPV[0], message)


@pytest.mark.parametrize("body", ["", None])
def test_an_empty_or_absent_body_is_a_missing_parameter(emulator, queue, body):
    """Recorded on AWS (test_send_empty_message, both protocols; TestSqsQueryApi.
    test_valid_action_with_missing_parameter_raises_exception): MissingParameter, JSON name
    MissingRequiredParameterException, "The request must contain the parameter MessageBody."."""
    message = "The request must contain the parameter MessageBody."
    params = {} if body is None else {"MessageBody": body}
    j, q = both(emulator, queue, "SendMessage", params, params)
    assert (j.status, j.code, j.json_type, j.message) == (
        400,
        "MissingParameter",
        "MissingRequiredParameterException",
        message,
    )
    assert (q.status, q.code, q.message) == (400, "MissingParameter", message)


def test_boto3_reports_the_codes_as_recorded(emulator, queue):
    """The snapshot records what botocore makes of the JSON answer: ``Code`` is the query code,
    ``QueryErrorCode`` the JSON name (test_send_empty_message[sqs])."""
    client = emulator.client("sqs")
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        client.send_message(QueueUrl=queue, MessageBody="")
    error = caught.value.response["Error"]
    assert error == {
        "Code": "MissingParameter",
        "Message": "The request must contain the parameter MessageBody.",
        "QueryErrorCode": "MissingRequiredParameterException",
        "Type": "Sender",
    }


def test_a_message_over_a_lowered_maximum_size(emulator, queue):
    """Recorded on AWS (test_send_message_with_updated_maximum_message_size, both protocols):
    with MaximumMessageSize 1024, 1024 bytes go and 1025 (body and attributes) do not: "One or
    more parameters are invalid. Reason: Message must be shorter than 1024 bytes."."""
    client = emulator.client("sqs")
    client.set_queue_attributes(QueueUrl=queue, Attributes={"MaximumMessageSize": "1024"})
    client.send_message(QueueUrl=queue, MessageBody="a" * 1024)
    body = "a" * (1024 - len("k") - len("String") - len("x") + 1)
    message = "One or more parameters are invalid. Reason: Message must be shorter than 1024 bytes."
    j, q = both(
        emulator,
        queue,
        "SendMessage",
        {
            "MessageBody": body,
            "MessageAttributes": {"k": {"DataType": "String", "StringValue": "x"}},
        },
        {
            "MessageBody": body,
            "MessageAttribute.1.Name": "k",
            "MessageAttribute.1.Value.DataType": "String",
            "MessageAttribute.1.Value.StringValue": "x",
        },
    )
    assert (j.status, j.code, j.json_type, j.message) == (400, *IPV, message)
    assert (q.status, q.code, q.message) == (400, IPV[0], message)


def test_an_oversize_batch_entry_fails_alone_worded_for_a_batch(emulator, queue):
    """Recorded on AWS (test_send_batch_message_size): with MaximumMessageSize 1024 the entry
    fails with InvalidParameterValue, "One or more parameters cannot be validated. Reason:
    Message must be shorter than 1024 bytes.", SenderFault true; the other entry is sent."""
    client = emulator.client("sqs")
    client.set_queue_attributes(QueueUrl=queue, Attributes={"MaximumMessageSize": "1024"})
    result = client.send_message_batch(
        QueueUrl=queue,
        Entries=[{"Id": "big", "MessageBody": "a" * 1025}, {"Id": "ok", "MessageBody": "a"}],
    )
    assert [e["Id"] for e in result["Successful"]] == ["ok"]
    assert result["Failed"] == [
        {
            "Id": "big",
            "SenderFault": True,
            "Code": "InvalidParameterValue",
            "Message": "One or more parameters cannot be validated. "
            "Reason: Message must be shorter than 1024 bytes.",
        }
    ]


def test_a_batch_over_the_total_size(emulator, queue):
    """Recorded on AWS (test_send_message_batch_with_oversized_contents, both protocols):
    "Batch requests cannot be longer than 1048576 bytes. You have sent 1048577 bytes."."""
    body = "a" * (1_048_576 - len("k") - len("String") - len("x"))
    message = "Batch requests cannot be longer than 1048576 bytes. You have sent 1048577 bytes."
    attrs = {"k": {"DataType": "String", "StringValue": "x"}}
    j, q = both(
        emulator,
        queue,
        "SendMessageBatch",
        {
            "Entries": [
                {"Id": "1", "MessageBody": body, "MessageAttributes": attrs},
                {"Id": "2", "MessageBody": "a"},
            ]
        },
        {
            "SendMessageBatchRequestEntry.1.Id": "1",
            "SendMessageBatchRequestEntry.1.MessageBody": body,
            "SendMessageBatchRequestEntry.1.MessageAttribute.1.Name": "k",
            "SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType": "String",
            "SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue": "x",
            "SendMessageBatchRequestEntry.2.Id": "2",
            "SendMessageBatchRequestEntry.2.MessageBody": "a",
        },
    )
    code = "AWS.SimpleQueueService.BatchRequestTooLong"
    assert (j.status, j.code, j.json_type, j.message) == (400, code, "BatchRequestTooLong", message)
    assert (q.status, q.code, q.message) == (400, code, message)


@pytest.mark.parametrize(
    ("action", "label"),
    [
        ("SendMessageBatch", "SendMessageBatchRequestEntry"),
        ("DeleteMessageBatch", "DeleteMessageBatchRequestEntry"),
        ("ChangeMessageVisibilityBatch", "ChangeMessageVisibilityBatchRequestEntry"),
    ],
)
def test_an_empty_batch(emulator, queue, action, label):
    """EmptyBatchRequest (API Reference, each batch action's Errors; recorded on AWS for the
    code in test_send_message_batch_with_empty_list). The wording "There should be at least
    one SendMessageBatchRequestEntry in the request." is as other emulators have it
    (unverified)."""
    message = f"There should be at least one {label} in the request."
    j, q = both(emulator, queue, action, {"Entries": []}, {label: ""})
    code = "AWS.SimpleQueueService.EmptyBatchRequest"
    assert (j.status, j.code, j.json_type, j.message) == (400, code, "EmptyBatchRequest", message)
    assert (q.status, q.code, q.message) == (400, code, message)


def test_too_many_batch_entries(emulator, queue):
    """Recorded on AWS (test_too_many_entries_in_batch_request, both protocols): "Maximum
    number of entries per request are 10. You have sent 20."."""
    entries = [{"Id": str(i), "MessageBody": "x"} for i in range(20)]
    form = {}
    for i, entry in enumerate(entries, 1):
        form[f"SendMessageBatchRequestEntry.{i}.Id"] = entry["Id"]
        form[f"SendMessageBatchRequestEntry.{i}.MessageBody"] = entry["MessageBody"]
    j, q = both(emulator, queue, "SendMessageBatch", {"Entries": entries}, form)
    code = "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"
    message = "Maximum number of entries per request are 10. You have sent 20."
    assert (j.status, j.code, j.json_type, j.message) == (
        400,
        code,
        "TooManyEntriesInBatchRequest",
        message,
    )
    assert (q.status, q.code, q.message) == (400, code, message)


@pytest.mark.parametrize("value", ["", "a" * 129, "group 123"])
def test_an_invalid_message_group_id(emulator, queue, value):
    """Recorded on AWS (test_send_message_to_standard_queue_with_invalid_message_group_id):
    "Value group 123 for parameter MessageGroupId is invalid. Reason: MessageGroupId can only
    include alphanumeric and punctuation characters. 1 to 128 in length."."""
    message = (
        f"Value {value} for parameter MessageGroupId is invalid. Reason: MessageGroupId can only "
        "include alphanumeric and punctuation characters. 1 to 128 in length."
    )
    j, q = both(
        emulator,
        queue,
        "SendMessage",
        {"MessageBody": "x", "MessageGroupId": value},
        {"MessageBody": "x", "MessageGroupId": value},
    )
    assert (j.status, j.code, j.json_type, j.message) == (400, *IPV, message)
    assert (q.status, q.code, q.message) == (400, IPV[0], message)


@pytest.mark.parametrize("value", ["", "a" * 129, "group 123"])
def test_an_invalid_message_deduplication_id(emulator, fifo, value):
    """Recorded on AWS (test_message_deduplication_id_invalid, FIFO queue): "Value group 123 for
    parameter MessageDeduplicationId is invalid. Reason: MessageDeduplicationId can only include
    alphanumeric and punctuation characters. 1 to 128 in length."."""
    message = (
        f"Value {value} for parameter MessageDeduplicationId is invalid. Reason: "
        "MessageDeduplicationId can only include alphanumeric and punctuation characters. "
        "1 to 128 in length."
    )
    params = {"MessageBody": "x", "MessageGroupId": "g", "MessageDeduplicationId": value}
    j, q = both(emulator, fifo, "SendMessage", params, params)
    assert (j.status, j.code, j.json_type, j.message) == (400, *IPV, message)
    assert (q.status, q.code, q.message) == (400, IPV[0], message)


@pytest.mark.parametrize(
    ("data_type", "field"),
    [("String", "StringValue"), ("Number", "StringValue"), ("String.custom", "StringValue")],
)
def test_an_empty_string_attribute_value(emulator, queue, data_type, field):
    """Recorded on AWS (test_send_message_with_empty_string_attribute, both protocols):
    "Message (user) attribute 'ErrorDetails' must contain a non-empty value of type
    'String'."; the custom-type wording is as other emulators have it (unverified)."""
    message = (
        f"Message (user) attribute 'ErrorDetails' must contain a non-empty value of type "
        f"'{data_type}'."
    )
    j, q = both(
        emulator,
        queue,
        "SendMessage",
        {
            "MessageBody": "x",
            "MessageAttributes": {"ErrorDetails": {"DataType": data_type, field: ""}},
        },
        {
            "MessageBody": "x",
            "MessageAttribute.1.Name": "ErrorDetails",
            "MessageAttribute.1.Value.DataType": data_type,
            f"MessageAttribute.1.Value.{field}": "",
        },
    )
    assert (j.status, j.code, j.json_type, j.message) == (400, *IPV, message)
    assert (q.status, q.code, q.message) == (400, IPV[0], message)


@pytest.mark.parametrize(
    ("char", "shown"), [("\x07", "#x7"), ("\x00", "#x0"), ("\ufffe", "#xFFFE")]
)
def test_a_body_with_a_character_sqs_does_not_take(emulator, queue, char, shown):
    """Seen on AWS by users (asim/nitro-plugins#437, Particular/NServiceBus.AmazonSQS#2630):
    InvalidMessageContents, "Invalid binary character '#x7' was found in the message body, the
    set of allowed characters is #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] |
    [#x10000-#x10FFFF]."; the hex case for letters is unverified."""
    message = (
        f"Invalid binary character '{shown}' was found in the message body, the set of allowed "
        "characters is #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]."
    )
    j, q = both(
        emulator,
        queue,
        "SendMessage",
        {"MessageBody": f"a{char}b"},
        {"MessageBody": f"a{char}b"},
    )
    code = "InvalidMessageContents"
    assert (j.status, j.code, j.json_type, j.message) == (400, code, code, message)
    assert (q.status, q.code, q.message) == (400, code, message)


@pytest.mark.parametrize(
    ("action", "json_params", "form"),
    [
        ("GetQueueAttributes", {"AttributeNames": ["All"]}, {"AttributeName.1": "All"}),
        ("SendMessage", {"MessageBody": "x"}, {"MessageBody": "x"}),
        ("ReceiveMessage", {}, {}),
        ("PurgeQueue", {}, {}),
        (
            "DeleteMessageBatch",
            {"Entries": [{"Id": "a", "ReceiptHandle": "r"}]},
            {
                "DeleteMessageBatchRequestEntry.1.Id": "a",
                "DeleteMessageBatchRequestEntry.1.ReceiptHandle": "r",
            },
        ),
    ],
)
def test_a_queue_that_does_not_exist(emulator, action, json_params, form):
    """Recorded on AWS (test_non_existent_queue; TestSqsQueryApi.test_get_on_deleted_queue_fails):
    the JSON protocol says "The specified queue does not exist.", the query protocol "The
    specified queue does not exist for this wsdl version.", both
    AWS.SimpleQueueService.NonExistentQueue 400 (JSON name QueueDoesNotExist)."""
    url = f"{emulator.endpoint}/000000000000/no-such-{uuid.uuid4().hex[:8]}"
    j, q = both(emulator, url, action, json_params, form)
    code = "AWS.SimpleQueueService.NonExistentQueue"
    assert (j.status, j.code, j.json_type, j.message) == (
        400,
        code,
        "QueueDoesNotExist",
        "The specified queue does not exist.",
    )
    assert (q.status, q.code, q.message) == (
        400,
        code,
        "The specified queue does not exist for this wsdl version.",
    )


def test_get_queue_url_of_a_queue_that_does_not_exist(emulator):
    """Recorded on AWS (test_non_existent_queue, queue-does-not-exist-url): boto3 raises
    QueueDoesNotExist with "The specified queue does not exist."; the query protocol says the
    wsdl sentence (moto's tests, written against AWS when boto3 spoke the query protocol)."""
    name = f"no-such-{uuid.uuid4().hex[:8]}"
    client = emulator.client("sqs")
    with pytest.raises(client.exceptions.QueueDoesNotExist) as caught:
        client.get_queue_url(QueueName=name)
    assert caught.value.response["Error"]["Message"] == "The specified queue does not exist."
    q = by_query(emulator.endpoint, {"Action": "GetQueueUrl", "QueueName": name}, "/")
    assert (q.status, q.code, q.message) == (
        400,
        "AWS.SimpleQueueService.NonExistentQueue",
        "The specified queue does not exist for this wsdl version.",
    )
