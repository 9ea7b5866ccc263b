"""boto3 clients for the lab's cloud, whichever it is (the emulator, LocalStack or AWS)."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from lab.config import LabConfig


def client(service: str, config: LabConfig | None = None, **kwargs: Any) -> Any:
    """A client of the lab's cloud. On real AWS (``--target aws`` without ``--endpoint``) the
    user's own credentials and AWS's endpoints, as boto3 finds them; elsewhere the lab's keys."""
    config = config or LabConfig.from_env()
    keys: dict[str, str] = {}
    if config.aws_endpoint_url is not None:
        keys = {
            "aws_access_key_id": config.access_key,
            "aws_secret_access_key": config.secret_key,
        }
    return boto3.client(
        service,
        endpoint_url=config.aws_endpoint_url,
        region_name=config.region,
        config=Config(retries={"max_attempts": 2}, read_timeout=30, **kwargs),
        **keys,
    )
