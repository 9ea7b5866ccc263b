"""What `lab up` creates for URL2PNG, through AWS APIs only, idempotently."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from lab.runtime import LabError
from lab.url2png.resources import ensure, lookup
from tests.url2png.conftest import LabCloud


def test_queue_with_dead_letter_queue_and_website_bucket(cloud: LabCloud) -> None:
    sqs, s3, res = cloud.sqs, cloud.s3, cloud.resources
    attrs = sqs.get_queue_attributes(QueueUrl=res.queue_url, AttributeNames=["All"])["Attributes"]
    policy = json.loads(attrs["RedrivePolicy"])
    dlq_arn = sqs.get_queue_attributes(QueueUrl=res.dlq_url, AttributeNames=["QueueArn"])
    assert policy["deadLetterTargetArn"] == dlq_arn["Attributes"]["QueueArn"]
    assert int(policy["maxReceiveCount"]) == 3 == res.max_receive
    website = s3.get_bucket_website(Bucket=res.bucket)
    assert website["IndexDocument"]["Suffix"] == "index.html"
    assert website["ErrorDocument"]["Key"] == "error.html"
    assert res.website == f"http://{res.bucket}.s3-website.localhost:{cloud.config.port}"


def test_ensure_is_idempotent_and_applies_a_new_max_receive(cloud: LabCloud) -> None:
    again = ensure(cloud.config)
    assert again == cloud.resources
    changed = ensure(replace(cloud.config, url2png_max_receive=5))
    assert changed.max_receive == 5 and changed.queue_url == cloud.resources.queue_url
    assert lookup(cloud.config).max_receive == 5


def test_lookup_without_lab_up_says_what_to_do(cloud: LabCloud) -> None:
    with pytest.raises(LabError, match="lab up"):
        lookup(replace(cloud.config, url2png_queue="never-made"))


def test_notebook_functions_queue_with_a_per_producer_sequence(cloud: LabCloud) -> None:
    from lab.url2png import producer, status

    ids = producer.submit(["http://127.0.0.1:9/a", "http://127.0.0.1:9/b"], cloud.config)
    assert len(set(ids)) == 2
    assert status.get(ids[1], cloud.config)["state"] == "queued"
    assert status.get(ids[1], cloud.config)["seq"] == 2
    reply = cloud.sqs.receive_message(
        QueueUrl=cloud.resources.queue_url,
        MaxNumberOfMessages=10,
        MessageAttributeNames=["All"],
        WaitTimeSeconds=1,
    )
    bodies = {json.loads(m["Body"])["id"]: m for m in reply["Messages"]}
    assert set(bodies) == set(ids)
    for seq, job_id in enumerate(ids, start=1):
        message = bodies[job_id]
        assert json.loads(message["Body"]) == {
            "id": job_id,
            "url": f"http://127.0.0.1:9/{'ab'[seq - 1]}",
            "seq": seq,
        }
        assert message["MessageAttributes"]["seq"] == {
            "StringValue": str(seq),
            "DataType": "Number",
        }
        assert message["MessageAttributes"]["producer"]["DataType"] == "String"
