"""Assembles the emulator from its services."""

from __future__ import annotations

from emulator.config import EmulatorSettings
from emulator.server import Emulator


def build_emulator(settings: EmulatorSettings) -> Emulator:
    from emulator import ec2, elb, moto_bridge, s3web, sqs

    emulator = Emulator(settings)
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    runner = moto_bridge.install(emulator)
    sqs.install(emulator)
    s3web.install(emulator, runner)
    elb.install(emulator, runner)
    ec2.install(emulator, runner)
    return emulator
