"""Poison messages against a real `lab worker`: each kind is logged with its reason, comes back,
and after maxReceiveCount sits in the dead-letter queue, where `lab url2png dlq` shows why and
`--redrive` sends it back; a URL the worker refuses for safety fails at once instead (it would
be refused every time). The worker stays up throughout."""

from __future__ import annotations

import json
import time

from tests.support.ports import free_port
from tests.url2png.conftest import LabCloud, make_cloud, needs_chromium

pytestmark = needs_chromium


def test_each_poison_kind_ends_in_the_dlq_with_its_reason(emulator, tmp_path, pages, workers):
    cloud: LabCloud = make_cloud(emulator, tmp_path, max_receive=2)
    worker = cloud.worker(
        "--visibility-timeout", "2", "--wait-time", "1", "--render-timeout", "1.5"
    )
    workers.append(worker)
    worker.wait_ready()
    poison = {
        # body: (job id or None, words the reason must contain)
        "this is not JSON": (None, "not JSON"),
        json.dumps({"id": "nourl1"}): ("nourl1", "lacks 'url'"),
        json.dumps({"url": pages.url("/sunrise.html")}): (None, "lacks 'id'"),
        json.dumps({"id": "refused1", "url": f"http://127.0.0.1:{free_port()}/"}): (
            "refused1",
            "ERR_CONNECTION_REFUSED",
        ),
        json.dumps({"id": "hang1", "url": pages.url("/hang")}): ("hang1", "no page after 1.5 s"),
    }
    sent = {
        cloud.sqs.send_message(QueueUrl=cloud.resources.queue_url, MessageBody=body)[
            "MessageId"
        ]: body
        for body in poison
    }
    metadata = {"id": "meta1", "url": "http://169.254.169.254/latest/meta-data/"}
    cloud.sqs.send_message(QueueUrl=cloud.resources.queue_url, MessageBody=json.dumps(metadata))

    deadline = time.monotonic() + 60
    while cloud.queue_counts(cloud.resources.dlq_url)[0] < len(poison):
        assert time.monotonic() < deadline, worker.text()[-3000:]
        assert worker.alive(), worker.text()[-3000:]
        time.sleep(0.5)
    assert cloud.queue_counts(cloud.resources.queue_url) == (0, 0)

    listing = cloud.lab("url2png", "dlq")
    assert listing.returncode == 0, listing.stderr
    assert f"{len(poison)} message(s)" in listing.stdout
    blocks = listing.stdout.split("\n")
    for message_id, body in sent.items():
        job_id, words = poison[body]
        at = next(i for i, line in enumerate(blocks) if line.startswith(message_id))
        assert f"job {job_id or '-'}" in blocks[at]
        assert blocks[at + 2].lstrip().startswith("reason") and words in blocks[at + 2], (
            listing.stdout
        )
        assert "after 2 receives" in blocks[at + 2]
        if job_id:
            said = cloud.lab("url2png", "status", job_id).stdout
            assert said.startswith("failed:") and words in said and "dead-letter" in said, said
    # listing left them where they were
    assert cloud.queue_counts(cloud.resources.dlq_url)[0] == len(poison)
    # refused for safety: failed at its first attempt, deleted, never in the dead-letter queue
    said = cloud.lab("url2png", "status", "meta1").stdout
    assert said.startswith("failed:") and "instance metadata" in said, said
    assert "dead-letter" not in said and "meta1" not in listing.stdout

    # the worker is still up and still works
    good = cloud.lab("url2png", "submit", "--wait", "--timeout", "30", pages.url("/forest.html"))
    assert good.returncode == 0, good.stdout + good.stderr
    log = worker.text()
    assert "Traceback" not in log
    for _, words in [*poison.values(), ("meta1", "instance metadata")]:
        assert words in log
    assert worker.alive()

    # send them back (the worker is stopped first, or it would fail them all over again)
    assert worker.stop() == 0
    moved = cloud.lab("url2png", "dlq", "--redrive")
    assert moved.returncode == 0 and f"{len(poison)} message(s) sent back" in moved.stdout
    assert cloud.queue_counts(cloud.resources.dlq_url) == (0, 0)
    assert cloud.queue_counts(cloud.resources.queue_url) == (len(poison), 0)
    assert cloud.lab("url2png", "status", "nourl1").stdout.startswith("queued")
    assert "is empty" in cloud.lab("url2png", "dlq").stdout
