"""``--target localstack``: the chapter's queues and website bucket on a LocalStack that is
already running (``LAB_ENDPOINT_URL``, ``http://127.0.0.1:4566`` by default). The lab does not
start LocalStack: it is the class's or the student's own, started as its documentation says.

Why only part of the chapter: every free edition of LocalStack has SQS and S3 with website
hosting, but no ELBv2 (section 15.1 stays on the lab's emulator), and none of the lab's
``/_lab/`` endpoints (event stream, clock, delivery model). What needs only SQS and S3 runs
unchanged: the producer, ``lab worker``, ``lab url2png status`` and the gallery; the TUI greys
the panels its stream feeds.

``lab down`` deletes nothing there, by choice: the embedded lab's ``down`` keeps its state
too, so a student's queued jobs and pictures survive a ``down``/``up``, and LocalStack (which
this lab did not start) keeps running. It stops the sample pages ``up`` started on this
machine and says what LocalStack still holds; stopping LocalStack empties it (its free edition
keeps nothing)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from lab.config import LabConfig
from lab.endpoints import opener, reason_of
from lab.runtime import LabError
from lab.targets import Echo

HEALTH = "/_localstack/health"
NEEDED = ("sqs", "s3")  # what the lab creates there
UP_STATES = ("available", "running")
START_HINT = (
    "start one (the lab does not) with `docker run --rm -p 127.0.0.1:4566:4566 "
    "localstack/localstack:4.14.0`, an image that needs no auth token, or point --endpoint "
    "(LAB_ENDPOINT_URL) at yours"
)
NO_ELB = (
    "load balancer: skipped (LocalStack's free edition has no ELBv2; section 15.1 runs on the "
    "lab's own cloud: lab up)"
)
QUEUE_COUNTS = (
    ("ApproximateNumberOfMessages", "visible"),
    ("ApproximateNumberOfMessagesNotVisible", "in flight"),
    ("ApproximateNumberOfMessagesDelayed", "delayed"),
)


def health(config: LabConfig, timeout: float = 2.0) -> dict[str, Any] | None:
    """LocalStack's health document, or None when nothing (or something else) answers."""
    try:
        with opener().open(config.endpoint + HEALTH, timeout=timeout) as reply:
            document = json.loads(reply.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None
    return document if isinstance(document, dict) and "services" in document else None


def require(config: LabConfig) -> dict[str, Any]:
    """The health document of a LocalStack that runs SQS and S3; else one sentence saying
    where the lab looked and how to start one."""
    try:
        with opener().open(config.endpoint + HEALTH, timeout=3.0) as reply:
            document = json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        raise LabError(
            f"{config.endpoint} answers, but not as LocalStack (GET {HEALTH}: HTTP {exc.code}); "
            + START_HINT
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        raise LabError(
            f"no LocalStack answers at {config.endpoint} ({reason_of(exc)} on GET {HEALTH}); "
            + START_HINT
        ) from None
    except ValueError:
        raise LabError(
            f"{config.endpoint}{HEALTH} is not LocalStack's health document; " + START_HINT
        ) from None
    services = document.get("services", {}) if isinstance(document, dict) else {}
    missing = [name for name in NEEDED if services.get(name) not in UP_STATES]
    if missing:
        raise LabError(
            f"LocalStack at {config.endpoint} runs without {' and '.join(missing)} (its "
            "SERVICES setting): start it with SERVICES=sqs,s3 or more"
        )
    return dict(document)


def _describe(document: dict[str, Any]) -> str:
    version = document.get("version")
    edition = document.get("edition")
    parts = [
        f"version {version}" if version else "",
        edition if edition not in (None, "unknown") else "",
    ]
    return ", ".join(p for p in parts if p)


def _offered(document: dict[str, Any]) -> list[str]:
    return sorted(n for n, s in document.get("services", {}).items() if s in UP_STATES)


def _clients(config: LabConfig) -> tuple[Any, Any]:
    from lab import aws

    return aws.client("sqs", config), aws.client("s3", config)


def _cloud_error(config: LabConfig, exc: Exception) -> LabError:
    """A boto3 failure against LocalStack, as one sentence: the call, AWS's code and message."""
    error = getattr(exc, "response", {}).get("Error", {})
    operation = getattr(exc, "operation_name", "")
    if error:
        said = f"{operation} ({error.get('Code')}): {error.get('Message') or error.get('Code')}"
    else:
        said = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return LabError(f"LocalStack at {config.endpoint} refused {said}")


def up(config: LabConfig, echo: Echo, preload: Callable[[], None] | None = None) -> None:
    """The URL2PNG queue, its dead-letter queue and the website bucket on the running
    LocalStack (``lab.url2png.resources.ensure``, the embedded lab's own), and the sample
    pages on this machine, so a worker has something to render with no internet."""
    from botocore.exceptions import BotoCoreError, ClientError

    from lab.pages import service as pages
    from lab.url2png import resources as url2png_resources

    document = require(config)
    about = _describe(document)
    echo(f"LocalStack running at {config.endpoint}" + (f" ({about})" if about else ""))
    echo("services: " + ", ".join(_offered(document)))
    if preload is not None:
        preload()
    sqs, s3 = _clients(config)
    try:
        made = url2png_resources.ensure(config, sqs, s3)
    except (BotoCoreError, ClientError) as exc:
        raise _cloud_error(config, exc) from None
    echo(url2png_resources.summary(made))
    echo(
        f"sample pages at {config.pages_url}/ ({pages.start(config)}; lab url2png pages lists them)"
    )
    echo(NO_ELB)
    echo(
        "every lab command takes --target localstack (or: export LAB_TARGET=localstack); "
        "any AWS client: eval $(lab env --target localstack)"
    )


def down(config: LabConfig, echo: Echo) -> bool:
    """Stop the sample pages; leave LocalStack and what it holds (see the module's
    docstring). Whether LocalStack answers."""
    from botocore.exceptions import BotoCoreError, ClientError

    from lab.pages import service as pages

    if pages.stop(config):
        echo("sample pages stopped")
    if health(config) is None:
        echo(f"LocalStack: not answering at {config.endpoint} (nothing of the lab's to keep)")
        return False
    try:
        holds = _holdings(config)
    except (BotoCoreError, ClientError) as exc:
        raise _cloud_error(config, exc) from None
    if not holds:
        echo(f"LocalStack keeps running at {config.endpoint}; none of the lab's queues or buckets")
        return True
    echo(f"LocalStack keeps running at {config.endpoint} (the lab did not start it), with:")
    for line in holds:
        echo(f"  {line}")
    echo("stopping LocalStack empties it; lab up --target localstack makes them again")
    return True


def _holdings(config: LabConfig) -> list[str]:
    """What of the lab's LocalStack holds, in a few words each (for ``down``)."""
    held = []
    for line in resource_lines(config, *_clients(config)):
        if "not there" not in line:
            held.append(line.strip())
    return held


def queue_line(sqs: Any, name: str) -> str:
    """One queue and its message counts, as GetQueueAttributes answers them."""
    from lab.url2png.resources import _queue_url

    url = _queue_url(sqs, name)
    if url is None:
        return f"queue {name}: not there"
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=[a for a, _ in QUEUE_COUNTS] + ["RedrivePolicy"]
    )["Attributes"]
    counts = ", ".join(f"{attributes.get(a, '0')} {label}" for a, label in QUEUE_COUNTS)
    policy = attributes.get("RedrivePolicy")
    extra = ""
    if policy:
        extra = f"; dead letters after {json.loads(policy).get('maxReceiveCount')} receives"
    return f"queue {name}: {counts}{extra}"


def bucket_line(config: LabConfig, s3: Any, bucket: str) -> str:
    """The website bucket, its website URL and how many pictures the gallery lists."""
    from lab.url2png.records import GALLERY_PREFIX
    from lab.url2png.store import is_not_found, list_keys

    try:
        s3.head_bucket(Bucket=bucket)
    except Exception as exc:
        if is_not_found(exc) or "NoSuchBucket" in str(exc):
            return f"bucket {bucket}: not there"
        raise
    pictures = sum(1 for _ in list_keys(s3, bucket, GALLERY_PREFIX))
    return f"bucket {bucket}: {pictures} picture(s), website {config.website_endpoint(bucket)}/"


def resource_lines(config: LabConfig, sqs: Any, s3: Any) -> list[str]:
    """The lab's URL2PNG resources, one line each."""
    return [
        queue_line(sqs, config.url2png_queue),
        queue_line(sqs, config.url2png_dlq),
        bucket_line(config, s3, config.url2png_bucket),
    ]


def status(config: LabConfig, echo: Echo) -> bool:
    """LocalStack's health (the services it runs) and the lab's resources on it, with their
    message counts; whether LocalStack answers."""
    from botocore.exceptions import BotoCoreError, ClientError

    from lab.pages import service as pages

    document = health(config)
    if document is None:
        echo(f"LocalStack: not answering at {config.endpoint} ({START_HINT})")
        return False
    about = _describe(document)
    echo(f"LocalStack: running at {config.endpoint}" + (f" ({about})" if about else ""))
    services = document.get("services", {})
    for name in _offered(document):
        echo(f"  {name:22} {services[name]}")
    others = len(services) - len(_offered(document))
    if others:
        echo(f"  ({others} other services disabled)")
    try:
        lines = resource_lines(config, *_clients(config))
    except (BotoCoreError, ClientError) as exc:
        raise _cloud_error(config, exc) from None
    echo("url2png:")
    for line in lines:
        echo(f"  {line}")
    if any("not there" in line for line in lines):
        echo("  lab up --target localstack creates what is not there")
    state = "running" if pages.answers(config) else "not running (lab up --target localstack)"
    echo(f"sample pages: {state} at {config.pages_url}/")
    echo(NO_ELB.replace("skipped", "none"))
    return True
