"""What SendMessage acknowledged survives kill -9; a crash may only cause redelivery."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

JS = Path(__file__).resolve().parent.parent / "js"


def test_acknowledged_messages_survive_kill_9(fresh_emulator):
    sqs = fresh_emulator.client("sqs")
    url = sqs.create_queue(QueueName="durable", Attributes={"VisibilityTimeout": "600"})["QueueUrl"]
    sent = set()
    for i in range(50):
        sent.add(sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")["MessageId"])
    batch = sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"b{i}"} for i in range(10)]
    )
    sent |= {e["MessageId"] for e in batch["Successful"]}
    # some are in flight, some deleted, when the emulator dies
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    for m in got[:4]:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        sent.discard(m["MessageId"])
    fresh_emulator.kill9()
    fresh_emulator.start()
    sqs = fresh_emulator.client("sqs")
    seen = {}
    while True:
        msgs = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]
        ).get("Messages", [])
        if not msgs:
            break
        for m in msgs:
            seen[m["MessageId"]] = m
    assert set(seen) == sent  # nothing lost; deleted ones stay deleted
    # the 6 that were in flight come back, with their receive count kept
    counts = sorted(int(m["Attributes"]["ApproximateReceiveCount"]) for m in seen.values())
    assert counts.count(2) == 6
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])
    assert attrs["Attributes"]["VisibilityTimeout"] == "600"


def test_queues_and_messages_survive_a_clean_restart(fresh_emulator):
    sqs = fresh_emulator.client("sqs")
    url = sqs.create_queue(
        QueueName="kept.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
        tags={"a": "b"},
    )["QueueUrl"]
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"{i}", MessageGroupId="g")
    sqs.send_message(
        QueueUrl=url.replace("kept.fifo", "kept.fifo"), MessageBody="late", MessageGroupId="h"
    )
    fresh_emulator.stop()
    fresh_emulator.start()
    sqs = fresh_emulator.client("sqs")
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"a": "b"}
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in got] == ["0", "1", "2", "late"]


@pytest.mark.skipif(
    not (JS / "node_modules" / "aws-sdk").exists(), reason="make setup installs aws-sdk"
)
def test_the_books_nodejs_producer_unchanged(emulator, aws_env, tmp_path):
    """index.js from section 15.2.4, with only config.json pointing at the lab."""
    sqs = emulator.client("sqs")
    url = sqs.create_queue(QueueName="url2png-book")["QueueUrl"]
    (tmp_path / "config.json").write_text(json.dumps({"QueueUrl": url, "Bucket": "url2png-book"}))
    script = (JS / "book_producer.js").read_text()
    (tmp_path / "index.js").write_text(script)
    env = {**aws_env, "NODE_PATH": str(JS / "node_modules")}
    run = subprocess.run(
        ["node", "index.js", "http://127.0.0.1:8080/"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert (
        "PNG will be soon available at http://url2png-book.s3-website-us-east-1.amazonaws.com/"
        in run.stdout
    )
    message = sqs.receive_message(QueueUrl=url)["Messages"][0]
    body = json.loads(message["Body"])
    assert body["url"] == "http://127.0.0.1:8080/"
    assert run.stdout.strip().endswith(body["id"] + ".png")
