"""Reading regions from requests and queue URLs, and writing queue URLs by strategy: the pure
half of emulator/sqs/queue_urls.py (the served half is tests/sqs/test_regions.py)."""

from __future__ import annotations

import pytest

from emulator import routing
from emulator.config import EmulatorSettings
from emulator.sqs import queue_urls
from emulator.sqs.errors import SqsError
from lab.config import ConfigError, LabConfig


@pytest.mark.parametrize(
    ("url", "region"),
    [
        ("https://sqs.us-east-2.amazonaws.com/123456789012/MyQueue", "us-east-2"),
        ("https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q", "cn-north-1"),
        ("https://sqs-fips.us-gov-west-1.amazonaws.com/123456789012/q", "us-gov-west-1"),
        ("https://sqs.eu-west-2.api.aws/123456789012/q", "eu-west-2"),
        ("https://eu-central-1.queue.amazonaws.com/123456789012/q", "eu-central-1"),
        ("https://queue.amazonaws.com/123456789012/q", "us-east-1"),
        ("http://sqs.eu-west-1.localhost:4566/000000000000/q", "eu-west-1"),
        ("http://sqs.ap-south-1.localhost.localstack.cloud:4566/000000000000/q", "ap-south-1"),
        ("http://localhost:4566/queue/eu-north-1/000000000000/q", "eu-north-1"),
        ("/queue/eu-north-1/000000000000/q", "eu-north-1"),
        ("http://localhost:4566/000000000000/q", None),
        ("http://127.0.0.1:4566/000000000000/q.fifo", None),
        ("http://[::1]:4566/000000000000/q", None),
        ("q", None),
        ("000000000000/q", None),
        ("http://sqs.notaregion.localhost/000000000000/q", None),
        ("http://localhost:4566/queue/000000000000/q", None),
    ],
)
def test_the_region_a_queue_url_names(url: str, region: str | None) -> None:
    """General Reference, sqs-service.html (the endpoints sqs.REGION.amazonaws.com,
    sqs-fips.REGION..., sqs.REGION.api.aws), SQS Developer Guide,
    sqs-queue-message-identifiers.html (the URL's host names its region), and the legacy hosts
    older SDKs wrote (REGION.queue.amazonaws.com, queue.amazonaws.com for us-east-1). A URL in
    the emulator's own off style, a bare name and ACCOUNT/NAME name no region."""
    assert queue_urls.url_region(url) == region


def test_a_request_belongs_to_its_signing_region_then_its_address_then_the_default() -> None:
    """SQS Developer Guide, sqs-making-api-requests-json.html: each regional endpoint is
    independent; SigV4 scopes a request's credential to the endpoint's region (General
    Reference, "Signature Version 4")."""
    region = queue_urls.request_region
    host, path = "sqs.eu-west-1.localhost:4566", "/queue/ap-south-1/000000000000/q"
    assert region("us-east-1", signed="us-west-2", host=host, path=path) == "us-west-2"
    assert region("us-east-1", signed=None, host=host, path=path) == "eu-west-1"
    assert region("us-east-1", signed=None, host="localhost:4566", path=path) == "ap-south-1"
    assert region("us-east-1", signed=None, host="localhost:4566", path="/") == "us-east-1"
    # Not a DNS label: never put into hosts and ARNs.
    assert region("us-east-1", signed="x/../y", host="localhost", path="/") == "us-east-1"


def test_a_queue_url_of_another_region_names_no_queue_here() -> None:
    """SQS Developer Guide, sqs-making-api-requests-json.html: two queues of one name in two
    regions share nothing, so a request in one region cannot reach the other's queue (AWS
    answers a client configured for the wrong region with QueueDoesNotExist)."""
    here = {"QueueUrl": "https://sqs.eu-west-1.amazonaws.com/000000000000/q"}
    queue_urls.check_queue_region(here, "eu-west-1")
    queue_urls.check_queue_region({"QueueUrl": "q"}, "eu-west-1")
    queue_urls.check_queue_region({}, "eu-west-1")
    with pytest.raises(SqsError) as error:
        queue_urls.check_queue_region(here, "us-east-1")
    assert error.value.shape == "QueueDoesNotExist"


@pytest.mark.parametrize(
    ("strategy", "host", "base"),
    [
        ("off", "127.0.0.1:4566", "http://127.0.0.1:4566"),
        ("off", "localhost", "http://localhost"),
        ("path", "localhost:4566", "http://localhost:4566/queue/eu-west-1"),
        ("standard", "127.0.0.1:4566", "http://sqs.eu-west-1.localhost:4566"),
        ("standard", "[::1]:4567", "http://sqs.eu-west-1.localhost:4567"),
        ("standard", "[::1]", "http://sqs.eu-west-1.localhost"),
    ],
)
def test_queue_urls_by_strategy(strategy: str, host: str, base: str) -> None:
    """LocalStack docs, "SQS_ENDPOINT_STRATEGY": off keeps the host the request reached,
    standard writes AWS's sqs.REGION. host, path puts the region in the path. The standard
    strategy keeps the port the client reached."""
    assert queue_urls.base_url(strategy, host, "eu-west-1", "localhost") == base


def test_the_setting_offers_exactly_the_strategies_the_service_writes() -> None:
    field = EmulatorSettings.__dataclass_fields__["sqs_endpoint_strategy"]
    assert field.metadata["choices"] == queue_urls.STRATEGIES
    assert field.default == queue_urls.OFF


def test_the_strategy_is_a_lab_setting_passed_to_the_emulator() -> None:
    """docs/configuration.md: LAB_SQS_ENDPOINT_STRATEGY reaches the emulator as
    --sqs-endpoint-strategy, which `python -m emulator --help` lists; a value it does not
    know stops the lab with one sentence naming it."""
    config = LabConfig.from_env({"LAB_SQS_ENDPOINT_STRATEGY": "path"})
    argv = config.emulator_settings().to_argv()
    assert argv[argv.index("--sqs-endpoint-strategy") + 1] == "path"
    assert "--sqs-endpoint-strategy" not in LabConfig.from_env({}).emulator_settings().to_argv()
    assert "--sqs-endpoint-strategy" in EmulatorSettings.parser().format_help()
    with pytest.raises(ConfigError) as error:
        LabConfig.from_env({"LAB_SQS_ENDPOINT_STRATEGY": "domain"})
    assert str(error.value) == (
        "LAB_SQS_ENDPOINT_STRATEGY='domain' must be one of off, standard, path"
    )


@pytest.mark.parametrize(
    ("host", "path", "service"),
    [
        ("sqs.eu-west-1.localhost:4566", "/", "sqs"),
        ("sqs.us-east-1.amazonaws.com", "/", "sqs"),
        ("us-west-2.queue.amazonaws.com", "/", "sqs"),
        ("queue.amazonaws.com", "/", "sqs"),
        ("localhost:4566", "/queue/eu-west-1/000000000000/q", "sqs"),
        ("localhost:4566", "/000000000000/q", "sqs"),
        ("localhost:4566", "/", "s3"),
        ("sqs.example.com", "/", "s3"),
        ("localhost:4566", "/queue/some-key", "s3"),
    ],
)
def test_unsigned_requests_to_sqs_hosts_and_queue_paths_reach_sqs(host, path, service) -> None:
    """General Reference, sqs-service.html: AWS tells SQS requests by their host. An unsigned
    request to an SQS host or a queue URL's path (the query protocol may be sent to the queue
    URL, SQS Developer Guide, sqs-making-api-requests.html) is for SQS; any other unsigned
    request stays an S3 path-style request."""
    assert routing.service_of({"Host": host}, path, {}) == service
