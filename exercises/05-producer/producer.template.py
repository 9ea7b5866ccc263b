"""Exercise 5 (section 15.2.1): the URL2PNG producer, from synchronous to asynchronous.

``submit`` does not render anything: it queues a job on the url2png queue, as the book's
``index.js`` does, and returns the job's id at once. A worker renders the page later and
uploads ``ID.png`` to the url2png bucket. ``status`` looks a job up by that id.

Fill in the two TODOs; ``lab check 5`` imports this file and calls both functions.
"""

from __future__ import annotations

import json  # noqa: F401 (you will need it)
import uuid  # noqa: F401 (you will need it)

from lab import aws
from lab.config import LabConfig

CONFIG = LabConfig.from_env()  # the running lab: its endpoint, queue and bucket names
sqs = aws.client("sqs", CONFIG)
s3 = aws.client("s3", CONFIG)
QUEUE_URL = sqs.get_queue_url(QueueName=CONFIG.url2png_queue)["QueueUrl"]
BUCKET = CONFIG.url2png_bucket


def png_url(job_id: str) -> str:
    """Where the job's PNG appears once a worker has rendered it (the bucket's website)."""
    return f"{CONFIG.website_endpoint(BUCKET)}/{job_id}.png"


def submit(url: str) -> str:
    """Queue a job that renders ``url``; return its id at once, without waiting for it."""
    # TODO: a random id (str(uuid.uuid4()), as the book's uuid/v4), a message whose body is the
    # JSON object {"id": ..., "url": ...} (json.dumps) sent to QUEUE_URL
    # (sqs.send_message), and the id returned.
    raise NotImplementedError


def status(job_id: str) -> str:
    """What became of the job: "done: " and its PNG's URL once the PNG is in the bucket,
    anything that does not start with "done" (say "pending") before."""
    # TODO: the worker uploads the PNG as f"{job_id}.png" to BUCKET: look for it there
    # (s3.head_object raises a ClientError while it is missing).
    raise NotImplementedError
