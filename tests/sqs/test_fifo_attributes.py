"""Which queue attributes a standard or a FIFO queue takes, which message attributes a receive
selects, and the trace header, as AWS answers them."""

from __future__ import annotations

import random
import uuid

import botocore.exceptions
import pytest

from emulator.clock import ManualClock
from emulator.sqs.engine import SendRequest, SqsEngine
from emulator.sqs.errors import SqsError
from emulator.sqs.messages import AttributeValue, md5_of_attributes, select_attributes

TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
FIFO_ONLY = ["FifoQueue", "ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit"]
FIFO_VALUES = {
    "FifoQueue": "false",
    "ContentBasedDeduplication": "false",
    "DeduplicationScope": "queue",
    "FifoThroughputLimit": "perQueue",
}


@pytest.fixture
def engine() -> SqsEngine:
    return SqsEngine(ManualClock(), rng=random.Random(11))


def raised(call, *args) -> SqsError:
    with pytest.raises(SqsError) as err:
        call(*args)
    return err.value


# -- queue attributes (engine) ---------------------------------------------------------------


@pytest.mark.parametrize("name", FIFO_ONLY)
def test_a_standard_queue_takes_no_fifo_attribute(engine, name):
    """API Reference, CreateQueue (API_CreateQueue.html): FifoQueue, ContentBasedDeduplication,
    DeduplicationScope and FifoThroughputLimit apply only to FIFO queues. AWS refuses them on a
    standard queue as unknown, FifoQueue even as "false" (recorded: aws-sdk-php #1331, LocalStack
    test_set_unsupported_attribute_fifo)."""
    error = raised(engine.create_queue, "std", {name: FIFO_VALUES[name]})
    assert (error.shape, error.message) == ("InvalidAttributeName", f"Unknown Attribute {name}.")
    engine.create_queue("std")
    error = raised(engine.set_attributes, "std", {name: FIFO_VALUES[name]})
    assert (error.shape, error.message) == ("InvalidAttributeName", f"Unknown Attribute {name}.")


def test_a_fifo_queue_keeps_its_type(engine):
    """API Reference, SetQueueAttributes (API_SetQueueAttributes.html); recorded on AWS
    (LocalStack test_set_unsupported_attribute_fifo): FifoQueue=true is accepted and changes
    nothing, FifoQueue=false is refused."""
    engine.create_queue("q.fifo", {"FifoQueue": "true"})
    engine.set_attributes("q.fifo", {"FifoQueue": "true"})
    error = raised(engine.set_attributes, "q.fifo", {"FifoQueue": "false"})
    assert (error.shape, error.message) == (
        "InvalidAttributeValue",
        "Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported.",
    )
    assert engine.get_attributes("q.fifo", ["FifoQueue"]) == {"FifoQueue": "true"}


def test_a_queue_name_and_fifo_queue_must_agree(engine):
    """API_CreateQueue.html: a FIFO queue's name ends in .fifo and FifoQueue is true (recorded
    on AWS as InvalidParameterValue: LocalStack test_fifo_queue_requires_suffix and
    test_standard_queue_cannot_have_fifo_suffix)."""
    assert raised(engine.create_queue, "q", {"FifoQueue": "true"}).shape == "InvalidParameterValue"
    assert raised(engine.create_queue, "q.fifo", {}).shape == "InvalidParameterValue"


def test_per_group_throughput_needs_the_group_scope_on_the_queue(engine):
    """API_SetQueueAttributes.html (FifoThroughputLimit): perMessageGroupId is allowed only when
    DeduplicationScope is messageGroup; checked on the attributes the queue would have."""
    engine.create_queue("q.fifo", {"FifoQueue": "true"})
    error = raised(engine.set_attributes, "q.fifo", {"FifoThroughputLimit": "perMessageGroupId"})
    assert error.shape == "InvalidAttributeValue"
    engine.set_attributes("q.fifo", {"DeduplicationScope": "messageGroup"})
    engine.set_attributes("q.fifo", {"FifoThroughputLimit": "perMessageGroupId"})


# -- MessageAttributeNames (unit) ------------------------------------------------------------

ATTRS = {
    "Help.Me": AttributeValue("String", "Me"),
    "Hello": AttributeValue("String", "There"),
    "General": AttributeValue("String", "Kenobi"),
}


@pytest.mark.parametrize(
    ("wanted", "names", "md5"),
    [
        (["All"], ["General", "Hello", "Help.Me"], "4c360f3fdafd970e05fae2f149d997f5"),
        (["*"], ["General", "Hello", "Help.Me"], "4c360f3fdafd970e05fae2f149d997f5"),
        ([".*"], ["General", "Hello", "Help.Me"], "4c360f3fdafd970e05fae2f149d997f5"),
        (["Hello", "General"], ["General", "Hello"], "fca026605781cb4126a1e9044df24232"),
        (["Foo", "Hello"], ["Hello"], "a311262e065454b75da111d535b8dacd"),
        (["Hel.*"], ["Hello", "Help.Me"], "83fee93c1bcd8b9a5a923ffacdc636c7"),
        (["Foo", "Help"], [], None),
    ],
)
def test_message_attribute_names_select_as_recorded_on_aws(wanted, names, md5):
    """API Reference, ReceiveMessage (API_ReceiveMessage.html, MessageAttributeNames): All or .*
    for every attribute, a prefix such as bar.*, or names. The selections and digests are those
    AWS answered in LocalStack test_receive_message_message_attribute_names_filters."""
    selected = select_attributes(ATTRS, wanted)
    assert selected is not None and sorted(selected) == names
    assert md5_of_attributes(selected) == md5


@pytest.mark.parametrize("wanted", [[], ["AWS."], ["..foo"]])
def test_no_names_or_only_invalid_ones_select_nothing(wanted):
    """API_ReceiveMessage.html; recorded on AWS: no MessageAttributes member at all
    (LocalStack test_receive_message_message_attribute_names_filters, illegal_name_*)."""
    assert select_attributes(ATTRS, wanted) is None


# -- the trace header (engine) ---------------------------------------------------------------


def test_the_trace_header_becomes_the_awstraceheader_system_attribute(engine):
    """AWS X-Ray Developer Guide, "Amazon SQS and AWS X-Ray" (xray-services-sqs.html): the
    X-Amzn-Trace-Id header applies to every message of the request, and a message's own
    AWSTraceHeader system attribute overrides it."""
    engine.create_queue("q")
    result = engine.send("q", SendRequest("a", trace_header="Root=1-header"))
    assert result.md5_system_attributes is None  # nothing the client sent to check
    own = {"AWSTraceHeader": AttributeValue("String", TRACE)}
    engine.send("q", SendRequest("b", system_attributes=own, trace_header="Root=1-header"))
    got = {
        d.message.body: d.message.system_attributes["AWSTraceHeader"].string_value
        for d in engine.receive("q", 10)
    }
    assert got == {"a": "Root=1-header", "b": TRACE}


# -- through boto3 on the real server --------------------------------------------------------


@pytest.fixture
def sqs(emulator):
    return emulator.client("sqs")


def code_and_message(call, **kwargs) -> tuple[str, str]:
    with pytest.raises(botocore.exceptions.ClientError) as err:
        call(**kwargs)
    return err.value.response["Error"]["Code"], err.value.response["Error"]["Message"]


def test_boto3_queue_type_attributes(sqs):
    """API_CreateQueue.html and API_SetQueueAttributes.html; the answers recorded on AWS in
    aws-sdk-php #1331 and LocalStack test_set_unsupported_attribute_fifo."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    assert code_and_message(
        sqs.create_queue, QueueName=name, Attributes={"FifoQueue": "false"}
    ) == ("InvalidAttributeName", "Unknown Attribute FifoQueue.")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    assert code_and_message(
        sqs.set_queue_attributes, QueueUrl=url, Attributes={"FifoQueue": "true"}
    ) == ("InvalidAttributeName", "Unknown Attribute FifoQueue.")
    fifo = sqs.create_queue(QueueName=f"{name}.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=fifo, Attributes={"FifoQueue": "true"})
    assert code_and_message(
        sqs.set_queue_attributes, QueueUrl=fifo, Attributes={"FifoQueue": "false"}
    ) == (
        "InvalidAttributeValue",
        "Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported.",
    )


def test_boto3_message_attribute_filters(sqs):
    """API_ReceiveMessage.html; LocalStack test_receive_message_message_attribute_names_filters,
    recorded on AWS (JSON protocol): names that match none give an empty map."""
    url = sqs.create_queue(
        QueueName=f"m-{uuid.uuid4().hex[:10]}", Attributes={"VisibilityTimeout": "0"}
    )["QueueUrl"]
    sqs.send_message(
        QueueUrl=url,
        MessageBody="msg",
        MessageAttributes={
            name: {"DataType": "String", "StringValue": v.string_value} for name, v in ATTRS.items()
        },
    )

    def receive(names: list[str]) -> dict:
        return sqs.receive_message(QueueUrl=url, MessageAttributeNames=names)["Messages"][0]

    prefix = receive(["Hel.*"])
    assert sorted(prefix["MessageAttributes"]) == ["Hello", "Help.Me"]
    assert prefix["MD5OfMessageAttributes"] == "83fee93c1bcd8b9a5a923ffacdc636c7"
    none = receive(["Foo", "Help"])
    assert none.get("MessageAttributes") == {} and "MD5OfMessageAttributes" not in none
    assert "MessageAttributes" not in receive(["AWS."])


def test_boto3_awstraceheader_comes_back_as_a_system_attribute(sqs):
    """API Reference, SendMessage (API_SendMessage.html, MessageSystemAttributes) and
    xray-services-sqs.html; the digest is the one AWS answered in LocalStack
    test_system_attributes_have_no_effect_on_attr_md5."""
    url = sqs.create_queue(QueueName=f"x-{uuid.uuid4().hex[:10]}")["QueueUrl"]
    sent = sqs.send_message(
        QueueUrl=url,
        MessageBody="test",
        MessageAttributes={"timestamp": {"StringValue": "1493147359900", "DataType": "Number"}},
        MessageSystemAttributes={"AWSTraceHeader": {"StringValue": TRACE, "DataType": "String"}},
    )
    assert sent["MD5OfMessageSystemAttributes"] == "5ae4d5d7636402d80f4eb6d213245a88"
    (message,) = sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["AWSTraceHeader"])[
        "Messages"
    ]
    assert message["Attributes"] == {"AWSTraceHeader": TRACE}
