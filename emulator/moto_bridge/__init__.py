"""moto answers the AWS control planes the lab does not implement itself (S3, ELBv2, EC2, Auto
Scaling, CloudFormation, IAM, STS). It runs inside the emulator process, on one thread of its own,
because moto's backends are plain objects that are not safe to touch from two threads at once."""

from __future__ import annotations

from emulator.moto_bridge.app import create_moto_app
from emulator.moto_bridge.wsgi import WsgiRunner
from emulator.server import Emulator


def install(emulator: Emulator) -> WsgiRunner:
    settings = emulator.settings
    runner = WsgiRunner(create_moto_app(settings), settings.public_host, settings.port)
    emulator.default_handler = runner.handle
    return runner
