"""The SQS parameter readers: whatever type a client sends, the answer is an AWS error, never a
500. No sockets: the readers take the decoded parameters both wire protocols produce."""

from __future__ import annotations

import pytest

from emulator.sqs import params as read
from emulator.sqs.errors import SqsError
from emulator.sqs.limits import MAX_NUMBER_OF_MESSAGES, VISIBILITY_TIMEOUT

NOT_A_STRING = [1, 1.5, True, [], {}, ["x"], {"a": "b"}]
NOT_AN_INTEGER = [1.5, True, False, [], {}, "abc", "1.0", [1]]


def shape(call, *args) -> str:
    with pytest.raises(SqsError) as caught:
        call(*args)
    return caught.value.shape


@pytest.mark.parametrize("value", NOT_A_STRING)
def test_a_string_of_another_type_is_an_invalid_value(value):
    assert shape(read.string, {"Name": value}, "Name") == "InvalidParameterValue"
    assert shape(read.required_string, {"Name": value}, "Name") == "InvalidParameterValue"


def test_strings_absent_and_present():
    assert read.string({}, "Name") is None
    assert read.string({"Name": ""}, "Name") == ""
    assert read.required_string({"Name": "q"}, "Name") == "q"
    assert shape(read.required_string, {}, "Name") == "MissingParameter"
    assert shape(read.required_string, {"Name": None}, "Name") == "MissingParameter"


@pytest.mark.parametrize("value", NOT_AN_INTEGER)
def test_an_integer_of_another_type_is_an_invalid_value(value):
    params = {"MaxNumberOfMessages": value}
    name = "MaxNumberOfMessages"
    assert shape(read.integer, params, name, MAX_NUMBER_OF_MESSAGES) == "InvalidParameterValue"


def test_integers_come_as_numbers_or_numerals_within_their_range():
    allowed = MAX_NUMBER_OF_MESSAGES
    assert read.integer({}, "N", allowed) is None
    assert read.integer({"N": 10}, "N", allowed) == 10
    assert read.integer({"N": "1"}, "N", allowed) == 1
    for outside in (0, 11, "11", -1):
        assert shape(read.integer, {"N": outside}, "N", allowed) == "InvalidParameterValue"
    assert shape(read.required_integer, {}, "N", VISIBILITY_TIMEOUT) == "MissingParameter"
    assert read.required_integer({"N": 43_200}, "N", VISIBILITY_TIMEOUT) == 43_200


@pytest.mark.parametrize("value", ["x", 1, ["a"], {1: "x"}])
def test_a_map_of_another_shape_is_an_invalid_value(value):
    assert shape(read.str_map, {"M": value}, "M") == "InvalidParameterValue"


@pytest.mark.parametrize("value", ["x", 1, [1], {"a": "b"}])
def test_a_list_of_another_shape_is_an_invalid_value(value):
    assert shape(read.str_list, {"L": value}, "L") == "InvalidParameterValue"


def test_map_values_must_be_strings_or_numbers():
    assert read.str_map({"M": {"DelaySeconds": 5, "Policy": "{}"}}, "M") == {
        "DelaySeconds": "5",
        "Policy": "{}",
    }
    for bad in (True, None, [], {}, 1.5):
        assert shape(read.str_map, {"M": {"k": bad}}, "M") == "InvalidAttributeValue"
    assert read.str_map({}, "M") == {}
    assert read.str_list({}, "L") == []


@pytest.mark.parametrize(
    "attributes, expected",
    [
        ("text", "InvalidParameterValue"),
        ({"a": "text"}, "InvalidParameterValue"),
        ({"a": {"StringValue": "x"}}, "InvalidParameterValue"),
        ({"a": {"DataType": 1, "StringValue": "x"}}, "InvalidParameterValue"),
        ({"a": {"DataType": "String", "StringValue": 5}}, "InvalidParameterValue"),
        ({"a": {"DataType": "Binary", "BinaryValue": 5}}, "InvalidParameterValue"),
        ({"a": {"DataType": "Binary", "BinaryValue": "not base64!"}}, "InvalidParameterValue"),
        ({"a": {"DataType": "String", "StringListValues": ["x"]}}, "UnsupportedOperation"),
    ],
)
def test_bad_message_attributes(attributes, expected):
    params = {"MessageAttributes": attributes}
    assert shape(read.message_attributes, params, "MessageAttributes") == expected


def test_message_attributes_decode_binary_values():
    params = {
        "A": {
            "b": {"DataType": "Binary", "BinaryValue": "aGk="},
            "s": {"DataType": "String", "StringValue": "x"},
        }
    }
    got = read.message_attributes(params, "A")
    assert got["b"].binary_value == b"hi" and got["s"].string_value == "x"


@pytest.mark.parametrize(
    "entries, expected",
    [
        (None, "EmptyBatchRequest"),
        ([], "EmptyBatchRequest"),
        ("x", "InvalidParameterValue"),
        ({}, "InvalidParameterValue"),
        (["x"], "InvalidParameterValue"),
        ([{"Id": str(i)} for i in range(11)], "TooManyEntriesInBatchRequest"),
        ([{"Id": "a"}, {"Id": "a"}], "BatchEntryIdsNotDistinct"),
        ([{"Id": "no spaces"}], "InvalidBatchEntryId"),
        ([{"Id": 7}], "InvalidBatchEntryId"),
        ([{}], "InvalidBatchEntryId"),
        ([{"Id": "x" * 81}], "InvalidBatchEntryId"),
    ],
)
def test_bad_batches_fail_the_whole_request(entries, expected):
    params = {} if entries is None else {"Entries": entries}
    assert shape(read.entries, params, "SendMessageBatchRequestEntry") == expected


def test_good_batch_entries_are_returned_as_sent():
    entries = [{"Id": "a-1", "MessageBody": "x"}, {"Id": "B_2"}]
    assert read.entries({"Entries": entries}, "X") == entries


@pytest.mark.parametrize(
    "url, name",
    [
        ("http://localhost:4566/000000000000/jobs", "jobs"),
        ("http://sqs.us-east-1.localhost/000000000000/jobs.fifo/", "jobs.fifo"),
        ("/000000000000/jobs", "jobs"),
    ],
)
def test_queue_name_is_the_last_segment_of_the_url(url, name):
    assert read.queue_name({"QueueUrl": url}) == name


def test_bad_queue_urls():
    assert shape(read.queue_name, {}) == "MissingParameter"
    assert shape(read.queue_name, {"QueueUrl": 5}) == "InvalidParameterValue"
    assert shape(read.queue_name, {"QueueUrl": "http://localhost/"}) == "InvalidAddress"


def test_send_requests_check_every_member_type():
    request = read.send_request({"MessageBody": "hi", "DelaySeconds": "5", "MessageGroupId": "g"})
    assert (request.body, request.delay_seconds, request.group_id) == ("hi", 5, "g")
    assert shape(read.send_request, {}) == "MissingParameter"
    for bad in (
        {"MessageBody": 5},
        {"MessageBody": "x", "DelaySeconds": 901},
        {"MessageBody": "x", "DelaySeconds": [1]},
        {"MessageBody": "x", "MessageGroupId": 1},
        {"MessageBody": "x", "MessageDeduplicationId": {}},
    ):
        assert shape(read.send_request, bad) == "InvalidParameterValue", bad


def test_visibility_changes():
    assert read.visibility_change({"ReceiptHandle": "r", "VisibilityTimeout": "0"}) == ("r", 0)
    assert shape(read.visibility_change, {"VisibilityTimeout": 5}) == "MissingParameter"
    assert shape(read.visibility_change, {"ReceiptHandle": "r"}) == "MissingParameter"
    for bad in (-1, 43_201, "x", 2.5):
        params = {"ReceiptHandle": "r", "VisibilityTimeout": bad}
        assert shape(read.visibility_change, params) == "InvalidParameterValue"
