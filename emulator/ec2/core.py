"""Pure decisions of the instance runner: which loopback address each instance gets, which
workloads to start and stop, and the command line that starts one. No I/O here; the adapter
(``runner``) reads moto and runs the processes."""

from __future__ import annotations

import ipaddress
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from emulator.config import INSTANCE_COMMAND_FIELDS

# A workload that exits while its instance runs is started again after this many seconds,
# doubling up to the maximum (a port taken by another program should not make a busy loop).
RESTART_BACKOFF = 1.0
RESTART_BACKOFF_MAX = 30.0


@dataclass(frozen=True)
class InstanceView:
    """What the runner and the metadata service need of one moto EC2 instance."""

    instance_id: str
    state: str  # pending | running | stopping | stopped | shutting-down | terminated
    region: str
    private_ip: str | None = None
    private_dns: str | None = None
    public_ip: str | None = None
    availability_zone: str | None = None
    image_id: str | None = None
    instance_type: str | None = None
    name: str | None = None
    http_tokens: str = "optional"  # IMDSv2: "required" refuses GETs without a token
    http_endpoint: str = "enabled"
    user_data: bytes | None = None
    security_groups: tuple[str, ...] = ()
    tags: tuple[tuple[str, str], ...] = ()

    @property
    def running(self) -> bool:
        return self.state == "running"


def allocate(
    instances: Iterable[InstanceView],
    current: Mapping[str, str],
    network: ipaddress.IPv4Network,
    reserved: Iterable[str] = (),
) -> dict[str, str]:
    """Instance id -> loopback address. Addresses stay with their instance while it exists
    (stopped ones keep theirs, as a stopped EC2 instance keeps its private IP); terminated and
    vanished instances free theirs; a new instance takes the lowest free address. Instances
    beyond the network's size get none."""
    alive = {view.instance_id for view in instances if view.state != "terminated"}
    kept = {iid: addr for iid, addr in current.items() if iid in alive and _in(addr, network)}
    taken = set(kept.values()) | set(reserved)
    free = (str(host) for host in network.hosts() if str(host) not in taken)
    for view in sorted(instances, key=lambda v: v.instance_id):
        if view.instance_id in alive and view.instance_id not in kept:
            address = next(free, None)
            if address is None:
                break
            kept[view.instance_id] = address
    return kept


def _in(address: str, network: ipaddress.IPv4Network) -> bool:
    try:
        return ipaddress.ip_address(address) in network
    except ValueError:
        return False


@dataclass
class Workload:
    """The runner's record of one instance's process (``pid`` None: not running)."""

    instance_id: str
    address: str
    pid: int | None = None
    started_at: float = 0.0
    exits: int = 0  # consecutive exits without being asked to stop
    last_exit: float = 0.0
    exit_code: int | None = None

    def backoff(self) -> float:
        if self.exits == 0:
            return 0.0
        return min(RESTART_BACKOFF * 2 ** (self.exits - 1), RESTART_BACKOFF_MAX)


@dataclass(frozen=True)
class Plan:
    stop: tuple[str, ...] = ()  # instance ids whose process must end
    start: tuple[str, ...] = ()  # instance ids whose process must start
    waiting: dict[str, float] = field(default_factory=dict)  # id -> seconds until a restart


def plan(
    instances: Iterable[InstanceView],
    addresses: Mapping[str, str],
    workloads: Mapping[str, Workload],
    now: float,
) -> Plan:
    """What to do so that exactly the running instances with an address have a process, on
    that address. A process whose address changed is stopped, then started again."""
    wanted = {
        view.instance_id: addresses[view.instance_id]
        for view in instances
        if view.running and view.instance_id in addresses
    }
    stop = []
    for iid, work in workloads.items():
        if work.pid is not None and wanted.get(iid) != work.address:
            stop.append(iid)
    start = []
    waiting = {}
    for iid, address in wanted.items():
        work = workloads.get(iid)
        if work is not None and work.pid is not None and work.address == address:
            continue
        if work is not None and work.address == address and work.exits:
            remaining = work.last_exit + work.backoff() - now
            if remaining > 0:
                waiting[iid] = remaining
                continue
        start.append(iid)
    return Plan(tuple(sorted(stop)), tuple(sorted(start)), waiting)


def command_line(
    template: str,
    *,
    python: str,
    address: str,
    port: int,
    imds: str,
    view: InstanceView,
) -> list[str]:
    """The workload's argv from the ``instance_command`` template. Fields are substituted
    after splitting, so values with spaces stay one argument."""
    values = {
        "python": python,
        "address": address,
        "port": str(port),
        "imds": imds,
        "instance_id": view.instance_id,
        "private_ip": view.private_ip or "",
        "name": view.name or view.instance_id,
    }
    try:
        return [part.format(**values) for part in shlex.split(template)]
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(
            f"bad instance command {template!r} ({exc}); fields: "
            + ", ".join("{" + f + "}" for f in INSTANCE_COMMAND_FIELDS)
        ) from None
