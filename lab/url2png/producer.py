"""The URL2PNG producer of section 15.2.4: a random id per URL (a UUID, as the book's
``uuid/v4`` makes), one message per job, and the address where the PNG will appear, returned at
once (the rendering happens later, elsewhere).

Each message also carries the producer's own sequence number (in the body and as a message
attribute), so a student can watch SQS deliver messages out of order, as section 15.2 warns.
Before sending, the producer records the job as queued in the bucket, so ``lab url2png status``
knows the id even while the message waits in the queue.
"""

from __future__ import annotations

import itertools
import json
import secrets
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from lab import aws
from lab.config import LabConfig
from lab.runtime import LabError
from lab.url2png import records as rec
from lab.url2png.resources import Url2Png, lookup
from lab.url2png.store import JobStore
from lab.worker.url_policy import UrlPolicy, Verdict

BATCH = 10  # SendMessageBatch's limit


@dataclass(frozen=True)
class Submitted:
    id: str
    url: str
    seq: int
    message_id: str
    png_url: str


def message_body(job_id: str, url: str, seq: int) -> str:
    return json.dumps({"id": job_id, "url": url, "seq": seq})


def check_urls(urls: Iterable[str]) -> None:
    """Refuse what no worker will render (no scheme, ftp:, file:...) before it costs a message;
    the workers check again, fully, because anyone may write to the queue."""
    syntax = UrlPolicy()
    for url in urls:
        verdict = syntax.check_syntax(url)
        if isinstance(verdict, Verdict):
            raise LabError(f"{url!r}: {verdict.reason}")


class Producer:
    """One producer: one sequence of numbers. Keep the object to keep counting."""

    def __init__(
        self,
        sqs: Any,
        s3: Any,
        resources: Url2Png,
        producer_id: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.sqs = sqs
        self.store = JobStore(s3, resources.bucket)
        self.resources = resources
        self.producer_id = producer_id or secrets.token_hex(4)
        self.clock = clock
        self._seq = itertools.count(1)

    def submit(self, urls: Sequence[str], check: bool = True) -> list[Submitted]:
        if check:
            check_urls(urls)
        jobs = [(str(uuid.uuid4()), url, next(self._seq)) for url in urls]
        at_ms = int(self.clock() * 1000)
        records = [
            rec.StatusRecord(job_id, rec.QUEUED, at_ms, url=url, seq=seq, producer=self.producer_id)
            for job_id, url, seq in jobs
        ]
        with ThreadPoolExecutor(max_workers=min(8, max(1, len(records)))) as pool:
            list(pool.map(self.store.record, records))
        submitted: list[Submitted] = []
        for start in range(0, len(jobs), BATCH):
            chunk = jobs[start : start + BATCH]
            reply = self.sqs.send_message_batch(
                QueueUrl=self.resources.queue_url,
                Entries=[
                    {
                        "Id": str(i),
                        "MessageBody": message_body(job_id, url, seq),
                        "MessageAttributes": {
                            "seq": {"DataType": "Number", "StringValue": str(seq)},
                            "producer": {"DataType": "String", "StringValue": self.producer_id},
                        },
                    }
                    for i, (job_id, url, seq) in enumerate(chunk)
                ],
            )
            if reply.get("Failed"):
                first = reply["Failed"][0]
                raise LabError(
                    f"SQS refused {len(reply['Failed'])} of {len(chunk)} messages: "
                    f"{first.get('Code')}: {first.get('Message')}"
                )
            ids = {int(ok["Id"]): ok["MessageId"] for ok in reply.get("Successful", [])}
            for i, (job_id, url, seq) in enumerate(chunk):
                submitted.append(
                    Submitted(job_id, url, seq, ids.get(i, ""), self.resources.png_url(job_id))
                )
        return submitted


def submit(urls: Sequence[str], config: LabConfig | None = None, check: bool = True) -> list[str]:
    """For notebooks: queue ``urls``, return their job ids (look them up with
    ``lab.url2png.status.get``)."""
    return [job.id for job in producer(config).submit(urls, check=check)]


def producer(config: LabConfig | None = None) -> Producer:
    config = config or LabConfig.from_env()
    sqs = aws.client("sqs", config)
    return Producer(sqs, aws.client("s3", config), lookup(config, sqs))
