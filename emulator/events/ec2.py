"""EC2 events: instances changing state, and the local processes that play running instances.

Published by the instance runner (``emulator/ec2/runner.py``) when it sees an instance's state
change in moto's records (it reads them every ``instance_sync_interval`` seconds and right after
EC2, Auto Scaling and CloudFormation calls), and when it starts, stops or notices the end of an
instance's workload process (by default the lab's web server)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from emulator.events.model import Event, described

PUBLISHER = "emulator/ec2/runner.py"


@dataclass(frozen=True, slots=True)
class Ec2WorkloadEvent(Event):
    """Base of the EC2 events: each names its instance."""

    publisher: ClassVar[str] = PUBLISHER
    instance_id: str = described("the instance, as EC2 names it (i-...)")
    private_ip: str | None = described(
        "the instance's private IP in its VPC, as moto records it (null if unknown)"
    )


@dataclass(frozen=True, slots=True)
class Ec2WorkloadStart(Ec2WorkloadEvent):
    """An instance is running, so its workload process was started (again, after it exited)."""

    type: ClassVar[str] = "ec2.workload.start"
    address: str = described("loopback address the workload serves on (127.0.1.x by default)")
    port: int = described("port it serves on (the target group's port)")
    pid: int = described("process id of the workload")


@dataclass(frozen=True, slots=True)
class Ec2WorkloadStop(Ec2WorkloadEvent):
    """The instance stopped or was terminated (directly, by scaling in, by deleting its
    stack), or the emulator is shutting down: its workload process was ended."""

    type: ClassVar[str] = "ec2.workload.stop"
    pid: int = described("process id of the workload that was ended")


@dataclass(frozen=True, slots=True)
class Ec2WorkloadExit(Ec2WorkloadEvent):
    """A workload process exited on its own while its instance was running; the runner starts
    it again after a growing delay."""

    type: ClassVar[str] = "ec2.workload.exit"
    address: str = described("loopback address it served on")
    code: int = described("its exit status (negative: ended by that signal)")


@dataclass(frozen=True, slots=True)
class Ec2InstanceState(Ec2WorkloadEvent):
    """An instance's state changed in moto's records: launched (``previous`` null), running,
    stopping, stopped, shutting-down, terminated. The runner starts or ends the workload
    process after this event (``ec2.workload.start``, ``ec2.workload.stop``). States an
    instance passes through between two reads of the records are not seen."""

    type: ClassVar[str] = "ec2.instance_state"
    previous: str | None = described(
        "the state before (null: an instance this run of the emulator had not seen: just "
        "launched, or restored with the saved state when the emulator started)"
    )
    state: str = described(
        "the new state: pending, running, stopping, stopped, shutting-down or terminated"
    )


TYPES: tuple[type[Ec2WorkloadEvent], ...] = (
    Ec2InstanceState,
    Ec2WorkloadStart,
    Ec2WorkloadStop,
    Ec2WorkloadExit,
)
