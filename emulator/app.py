"""Assembles the emulator: builds every part from the settings and hands each the collaborators
it uses (clock, event log, the moto bridge), then gives their components to the front door.
This is the one place that knows how the parts fit together."""

from __future__ import annotations

from emulator import ec2, elb, s3web, sqs
from emulator.config import EmulatorSettings
from emulator.events import EventLog
from emulator.events import http as events_http
from emulator.moto_bridge import MotoBridge
from emulator.server import Emulator
from emulator.speed import ClockControl, load_clock


def build_emulator(settings: EmulatorSettings) -> Emulator:
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    # One clock for everything the emulator times; `lab clock --speed N` makes it run faster.
    clock = load_clock(settings.state_dir)
    events = EventLog(clock, capacity=settings.events_capacity)
    moto = MotoBridge(settings, publish=events.publish)
    instances, ec2_component = ec2.install(settings, moto, events.publish)
    components = [
        ClockControl(clock, settings.state_dir, events.publish).component(),
        events_http.component(events),
        moto.component(),
        sqs.install(settings, clock, events.publish),
        s3web.install(moto, settings.account_id),
        elb.install(
            settings, moto, resolve_instance=instances.resolve, clock=clock, publish=events.publish
        ),
        ec2_component,
    ]
    return Emulator(settings, components)
