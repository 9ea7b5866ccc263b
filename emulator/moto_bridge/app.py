"""moto's server application, built once per emulator process."""

from __future__ import annotations

import functools
import os
import sys
from typing import Any

from emulator.config import EmulatorSettings

# Services moto answers for the lab. Anything else moto knows still works, but is not promised.
MOTO_SERVICES = ("s3", "elasticloadbalancing", "ec2", "autoscaling", "cloudformation", "iam", "sts")


def create_moto_app(settings: EmulatorSettings):
    """moto's dispatcher WSGI app, set up for the emulator's account, region and host. moto
    takes these from the process environment only, so they are written there, from the
    emulator's settings, before moto is imported (and whatever the shell exported is
    overridden: the settings decide)."""
    os.environ["MOTO_ACCOUNT_ID"] = settings.account_id
    os.environ["AWS_DEFAULT_REGION"] = settings.region
    # CloudFormation stacks whose resources call back (custom resources) reach us here.
    os.environ["MOTO_PORT"] = str(settings.port)
    share_region_lookups()
    # CloudFormation's resource types import moto's API Gateway, whose OpenAPI validator loads
    # jsonschema, which imports rfc3987_syntax when it is installed (jupyterlab brings it) and
    # compiles that package's grammar: half a second of the emulator's start, for the "iri"
    # formats no lab request uses. Without it jsonschema skips those, as where it is missing.
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    return DomainDispatcherApplication(create_backend_app)


def share_region_lookups() -> None:
    """moto asks a new ``boto3.Session()`` for the regions of each service it loads (three
    times for EC2 alone, as it is imported), and each new session parses botocore's endpoint
    data and the service's whole model again to answer: EC2's took a fifth of the emulator's
    start. The answers depend on botocore's data files only, so here one session gives them,
    each once, to every session of the process."""
    from boto3.session import Session

    if getattr(Session.get_available_regions, "shared", False):
        return

    def get_available_regions(
        self: Session, service_name: str, partition_name: str = "aws", allow_non_regional=False
    ) -> list[str]:
        return list(_regions(service_name, partition_name, allow_non_regional))

    def get_available_partitions(self: Session) -> list[str]:
        return list(_partitions())

    get_available_regions.shared = True  # type: ignore[attr-defined]
    Session.get_available_regions = get_available_regions  # type: ignore[method-assign]
    Session.get_available_partitions = get_available_partitions  # type: ignore[method-assign]


@functools.cache
def _session() -> Any:
    from botocore.session import get_session

    return get_session()


@functools.cache
def _regions(service_name: str, partition_name: str, allow_non_regional: bool) -> tuple[str, ...]:
    return tuple(
        _session().get_available_regions(
            service_name, partition_name=partition_name, allow_non_regional=allow_non_regional
        )
    )


@functools.cache
def _partitions() -> tuple[str, ...]:
    return tuple(_session().get_available_partitions())
