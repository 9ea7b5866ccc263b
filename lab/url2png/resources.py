"""The cloud resources of URL2PNG (sections 15.2.2 and 15.2.3), created the way the book's
``aws`` commands do, but idempotently, so ``lab up`` can run this every time:

* queue ``url2png`` with a RedrivePolicy to ``url2png-dlq`` (maxReceiveCount from the config),
  so a poison message stops coming back after a few tries instead of forever;
* the website bucket with ``index.html``/``error.html``, where the PNGs and the gallery live.

Only AWS APIs, so the same function sets up LocalStack or a real account.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from lab import aws
from lab.config import LabConfig
from lab.runtime import LabError
from lab.url2png import gallery as gal
from lab.url2png.store import Gallery, is_not_found

DLQ_RETENTION = 14 * 24 * 3600  # the maximum: time to look at what failed


@dataclass(frozen=True)
class Url2Png:
    queue_url: str
    dlq_url: str
    bucket: str
    website: str  # http://BUCKET.s3-website.localhost:PORT on the embedded lab
    max_receive: int | None

    def png_url(self, job_id: str) -> str:
        return f"{self.website}/{job_id}.png"


def _sqs_code(exc: BaseException) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def _queue_url(sqs: Any, name: str) -> str | None:
    try:
        return sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except Exception as exc:
        if "NonExistentQueue" in _sqs_code(exc) or "QueueDoesNotExist" in _sqs_code(exc):
            return None
        raise


def _ensure_queue(sqs: Any, name: str, attributes: dict[str, str]) -> str:
    """Get or create, then set the attributes: CreateQueue refuses an existing queue whose
    attributes differ, and ``lab up`` must also apply a changed maxReceiveCount."""
    url = _queue_url(sqs, name)
    if url is None:
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    elif attributes:
        sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
    return url


def max_receive_of(sqs: Any, queue_url: str) -> int | None:
    """The queue's maxReceiveCount, or None when it has no dead-letter queue."""
    attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"])
    policy = attrs.get("Attributes", {}).get("RedrivePolicy")
    if not policy:
        return None
    return int(json.loads(policy)["maxReceiveCount"])


def _ensure_bucket(s3: Any, bucket: str, region: str) -> None:
    try:
        s3.head_bucket(Bucket=bucket)
        return
    except Exception as exc:
        if not is_not_found(exc) and "NoSuchBucket" not in str(exc):
            raise LabError(
                f"bucket {bucket!r} exists but is not yours or not reachable ({exc}); on real AWS "
                "bucket names are global: set LAB_URL2PNG_BUCKET to a name of your own"
            ) from None
    kwargs: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**kwargs)
    # New buckets on AWS (since April 2023) refuse public ACLs; the book's website needs the
    # older behaviour, which the embedded lab has by default. Only for a bucket made here.
    s3.put_bucket_ownership_controls(
        Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]}
    )
    s3.delete_public_access_block(Bucket=bucket)


def ensure(config: LabConfig, sqs: Any = None, s3: Any = None) -> Url2Png:
    """Create (or update) the queue, its dead-letter queue and the website bucket."""
    sqs = sqs or aws.client("sqs", config)
    s3 = s3 or aws.client("s3", config)
    dlq_url = _ensure_queue(sqs, config.url2png_dlq, {"MessageRetentionPeriod": str(DLQ_RETENTION)})
    dlq_attrs = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])
    dlq_arn = dlq_attrs["Attributes"]["QueueArn"]
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(config.url2png_max_receive)}
    queue_url = _ensure_queue(sqs, config.url2png_queue, {"RedrivePolicy": json.dumps(redrive)})
    bucket = config.url2png_bucket
    _ensure_bucket(s3, bucket, config.region)
    s3.put_bucket_website(
        Bucket=bucket,
        WebsiteConfiguration={
            "IndexDocument": {"Suffix": gal.INDEX_KEY},
            "ErrorDocument": {"Key": gal.ERROR_KEY},
        },
    )
    s3.put_object(
        Bucket=bucket,
        Key=gal.ERROR_KEY,
        Body=gal.ERROR_PAGE.encode(),
        ContentType="text/html; charset=utf-8",
        ACL="public-read",
    )
    Gallery(s3, bucket).converge()
    return Url2Png(
        queue_url, dlq_url, bucket, config.website_endpoint(bucket), config.url2png_max_receive
    )


def lookup(config: LabConfig, sqs: Any = None) -> Url2Png:
    """The existing resources, or a clear error saying how to create them."""
    sqs = sqs or aws.client("sqs", config)
    try:
        queue_url = _queue_url(sqs, config.url2png_queue)
        dlq_url = _queue_url(sqs, config.url2png_dlq)
    except Exception as exc:
        if type(exc).__name__ in ("EndpointConnectionError", "ConnectionClosedError"):
            raise LabError(
                f"the local cloud does not answer at {config.endpoint}; start it with `lab up`"
            ) from None
        raise
    missing = [
        name
        for name, url in ((config.url2png_queue, queue_url), (config.url2png_dlq, dlq_url))
        if url is None
    ]
    if missing or queue_url is None or dlq_url is None:
        raise LabError(
            f"queue {' and '.join(missing)} does not exist at {config.endpoint}; "
            "`lab up` creates the URL2PNG queues and bucket"
        )
    return Url2Png(
        queue_url,
        dlq_url,
        config.url2png_bucket,
        config.website_endpoint(config.url2png_bucket),
        max_receive_of(sqs, queue_url),
    )


def summary(resources: Url2Png) -> str:
    """What ``lab up`` prints about URL2PNG."""
    limit = resources.max_receive
    return (
        f"url2png: queue {resources.queue_url} (dead letters after {limit} receives), "
        f"pictures at {resources.website}/"
    )
