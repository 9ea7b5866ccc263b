"""moto's server application, built once per emulator process."""

from __future__ import annotations

import os

from emulator.config import EmulatorSettings

# Services moto answers for the lab. Anything else moto knows still works, but is not promised.
MOTO_SERVICES = ("s3", "elasticloadbalancing", "ec2", "autoscaling", "cloudformation", "iam", "sts")


def create_moto_app(settings: EmulatorSettings):
    """moto's dispatcher WSGI app, set up for the emulator's account, region and host."""
    os.environ.setdefault("MOTO_ACCOUNT_ID", settings.account_id)
    os.environ.setdefault("AWS_DEFAULT_REGION", settings.region)
    # CloudFormation stacks whose resources call back (custom resources) reach us here.
    os.environ.setdefault("MOTO_PORT", str(settings.port))
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    return DomainDispatcherApplication(create_backend_app)
