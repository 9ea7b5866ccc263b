"""boto3 clients for the lab's cloud, whichever it is (the emulator, LocalStack or AWS)."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from lab.config import LabConfig


def client(service: str, config: LabConfig | None = None, **kwargs: Any) -> Any:
    config = config or LabConfig.from_env()
    return boto3.client(
        service,
        endpoint_url=config.endpoint,
        region_name=config.region,
        aws_access_key_id=config.access_key,
        aws_secret_access_key=config.secret_key,
        config=Config(retries={"max_attempts": 2}, read_timeout=30, **kwargs),
    )
