"""moto's server application, built once per emulator process."""

from __future__ import annotations

import os

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
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    return DomainDispatcherApplication(create_backend_app)
