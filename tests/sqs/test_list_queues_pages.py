"""ListQueues pages: MaxResults and NextToken as the SQS API Reference's ListQueues page states
them ("If you set MaxResults and there are additional results to display, the response includes
a value for NextToken"; "Value range is 1 to 1000"; without MaxResults "a maximum of 1,000
results"), through the service with a manual clock and through the real server (boto3, its
paginator, the query protocol and the AWS CLI)."""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import uuid

import botocore.exceptions
import pytest

from emulator.clock import ManualClock
from emulator.sqs.engine import SqsEngine
from emulator.sqs.errors import SqsError
from emulator.sqs.service import SqsService
from tests.sqs.wire import query_xml
from tests.support.emulator import REPO

BASE = "http://lab"


@pytest.fixture
def service() -> SqsService:
    engine = SqsEngine(ManualClock(), rng=random.Random(5))
    for i in range(5):
        engine.create_queue(f"page-{i}")
    engine.create_queue("other")
    return SqsService(engine)


def call(service: SqsService, **params) -> dict:
    return asyncio.run(service.call("ListQueues", params, BASE))


def names(reply: dict) -> list[str]:
    return [url.rsplit("/", 1)[-1] for url in reply.get("QueueUrls", [])]


def refused(service: SqsService, **params) -> SqsError:
    with pytest.raises(SqsError) as err:
        call(service, **params)
    return err.value


def test_without_max_results_there_is_no_next_token(service):
    """ListQueues (SQS API Reference): "You must set MaxResults to receive a value for
    NextToken in the response"; without it, up to 1,000 results."""
    reply = call(service, QueueNamePrefix="page-")
    assert names(reply) == [f"page-{i}" for i in range(5)] and "NextToken" not in reply


def test_next_token_only_while_more_remain(service):
    """ListQueues (SQS API Reference): NextToken's "value is null if there are no additional
    results to request"; a page that ends exactly at the last queue has none."""
    first = call(service, QueueNamePrefix="page-", MaxResults=2)
    assert names(first) == ["page-0", "page-1"] and "NextToken" in first
    second = call(service, QueueNamePrefix="page-", MaxResults=2, NextToken=first["NextToken"])
    assert names(second) == ["page-2", "page-3"] and "NextToken" in second
    last = call(service, QueueNamePrefix="page-", MaxResults=2, NextToken=second["NextToken"])
    assert names(last) == ["page-4"] and "NextToken" not in last
    exact = call(service, QueueNamePrefix="page-", MaxResults=5)
    assert len(names(exact)) == 5 and "NextToken" not in exact


def test_a_queue_created_between_pages_neither_repeats_nor_hides_one(service):
    """ListQueues (SQS API Reference: NextToken is the "Pagination token to request the next
    set of results"): the next set continues after the last queue of the page before."""
    first = call(service, QueueNamePrefix="page-", MaxResults=2)
    service.engine.create_queue("page-0a")
    service.engine.delete_queue("page-1")
    rest = call(service, QueueNamePrefix="page-", MaxResults=10, NextToken=first["NextToken"])
    assert names(rest) == ["page-2", "page-3", "page-4"]


def test_next_token_without_max_results_continues_without_a_token(service):
    """ListQueues (SQS API Reference): NextToken is "null ... if you did not set MaxResults in
    the request", so a token alone gives the rest, up to 1,000, and no further token."""
    first = call(service, QueueNamePrefix="page-", MaxResults=1)
    rest = call(service, QueueNamePrefix="page-", NextToken=first["NextToken"])
    assert names(rest) == ["page-1", "page-2", "page-3", "page-4"] and "NextToken" not in rest


@pytest.mark.parametrize("value", [0, 1001, -1])
def test_max_results_out_of_range(service, value):
    """ListQueues (SQS API Reference: MaxResults "Value range is 1 to 1000"). The reason is
    worded as SQS words MaxNumberOfMessages (recorded); for MaxResults it is unverified."""
    error = refused(service, MaxResults=value)
    assert (error.shape, error.status) == ("InvalidParameterValue", 400)
    assert error.message == (
        f"Value {value} for parameter MaxResults is invalid. "
        "Reason: Must be between 1 and 1000, if provided."
    )


@pytest.mark.parametrize("token", ["!!!", "not-a-token", "zzzz"])
def test_a_token_the_emulator_did_not_issue_is_refused(service, token):
    """ListQueues (SQS API Reference: NextToken is a pagination token the previous response
    returned); anything else is InvalidParameterValue (the wording is the emulator's)."""
    error = refused(service, MaxResults=2, NextToken=token)
    assert error.shape == "InvalidParameterValue" and "NextToken" in error.message


def test_list_dead_letter_source_queues_pages_too(service):
    """ListDeadLetterSourceQueues (SQS API Reference): the same MaxResults/NextToken rules; the
    queueUrls member is always there."""
    engine = service.engine
    engine.create_queue("dlq")
    policy = json.dumps({"deadLetterTargetArn": engine.arn("dlq"), "maxReceiveCount": 3})
    for name in ("s1", "s2", "s3"):
        engine.create_queue(name, {"RedrivePolicy": policy})
    params = {"QueueUrl": f"{BASE}/000000000000/dlq", "MaxResults": 2}
    first = asyncio.run(service.call("ListDeadLetterSourceQueues", params, BASE))
    assert len(first["queueUrls"]) == 2 and "NextToken" in first
    rest = asyncio.run(
        service.call(
            "ListDeadLetterSourceQueues", {**params, "NextToken": first["NextToken"]}, BASE
        )
    )
    assert rest == {"queueUrls": [f"{BASE}/000000000000/s3"]}


# -- through the server ------------------------------------------------------------------------


@pytest.fixture
def sqs(emulator):
    return emulator.client("sqs")


@pytest.fixture
def prefix(sqs) -> str:
    tag = f"lqp{uuid.uuid4().hex[:8]}-"
    for i in range(7):
        sqs.create_queue(QueueName=f"{tag}{i}")
    return tag


def test_pages_through_boto3_and_its_paginator(sqs, prefix):
    """ListQueues (SQS API Reference): pages of MaxResults with NextToken until the last;
    boto3's ListQueues paginator (PageSize is MaxResults) walks them all."""
    first = sqs.list_queues(QueueNamePrefix=prefix, MaxResults=3)
    assert len(first["QueueUrls"]) == 3 and first["NextToken"]
    urls = list(first["QueueUrls"])
    token = first["NextToken"]
    while token:
        page = sqs.list_queues(QueueNamePrefix=prefix, MaxResults=3, NextToken=token)
        urls += page["QueueUrls"]
        token = page.get("NextToken")
    assert [u.rsplit("/", 1)[-1] for u in urls] == [f"{prefix}{i}" for i in range(7)]
    pages = sqs.get_paginator("list_queues").paginate(
        QueueNamePrefix=prefix, PaginationConfig={"PageSize": 2}
    )
    assert [len(p["QueueUrls"]) for p in pages] == [2, 2, 2, 1]
    assert "NextToken" not in sqs.list_queues(QueueNamePrefix=prefix)


def test_errors_through_boto3(sqs, prefix):
    """ListQueues (SQS API Reference: MaxResults 1 to 1000): InvalidParameterValue, HTTP 400."""
    for kwargs in ({"MaxResults": 1001}, {"MaxResults": 2, "NextToken": "!!!"}):
        with pytest.raises(botocore.exceptions.ClientError) as err:
            sqs.list_queues(QueueNamePrefix=prefix, **kwargs)
        response = err.value.response
        assert response["Error"]["Code"] == "InvalidParameterValue"
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_next_token_over_the_query_protocol(emulator, prefix):
    """ListQueues over the query protocol (SQS API Reference, ListQueues' XML response: a
    QueueUrl element each and a NextToken element)."""
    status, root = query_xml(
        emulator.endpoint,
        {"Action": "ListQueues", "QueueNamePrefix": prefix, "MaxResults": "4"},
    )
    assert status == 200
    result = root.find("ListQueuesResult")
    assert len(result.findall("QueueUrl")) == 4
    token = result.findtext("NextToken")
    status, root = query_xml(
        emulator.endpoint,
        {"Action": "ListQueues", "QueueNamePrefix": prefix, "MaxResults": "4", "NextToken": token},
    )
    result = root.find("ListQueuesResult")
    assert len(result.findall("QueueUrl")) == 3 and result.find("NextToken") is None


def test_aws_cli_pages_with_page_size(emulator, aws_env, prefix):
    """aws sqs list-queues (AWS CLI Command Reference: "list-queues is a paginated operation";
    --page-size sets MaxResults and the CLI follows NextToken). CLI v1 needs --endpoint-url."""
    aws = [str(REPO / ".venv" / "bin" / "aws"), "--endpoint-url", emulator.endpoint, "sqs"]
    result = subprocess.run(
        [*aws, "list-queues", "--queue-name-prefix", prefix, "--page-size", "2"],
        env=aws_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    urls = json.loads(result.stdout)["QueueUrls"]
    assert [u.rsplit("/", 1)[-1] for u in urls] == [f"{prefix}{i}" for i in range(7)]
