"""Every event type the emulator publishes, grouped by who publishes it: what docs/events.md
lists, and what a test checks (each type well formed, no type name twice)."""

from __future__ import annotations

from dataclasses import dataclass

from emulator.events import control, ec2, elb, s3, sqs, worker
from emulator.events.model import Event, check_type


@dataclass(frozen=True)
class Family:
    title: str
    module: str  # where its types are declared, from the repository's root
    about: str
    types: tuple[type[Event], ...]


FAMILIES: tuple[Family, ...] = (
    Family("SQS", "emulator/events/sqs.py", sqs.__doc__ or "", sqs.TYPES),
    Family("EC2", "emulator/events/ec2.py", ec2.__doc__ or "", ec2.TYPES),
    Family("Load balancers", "emulator/events/elb.py", elb.__doc__ or "", elb.TYPES),
    Family("S3 website buckets", "emulator/events/s3.py", s3.__doc__ or "", s3.TYPES),
    Family("Workers", "emulator/events/worker.py", worker.__doc__ or "", worker.TYPES),
    Family("Controls", "emulator/events/control.py", control.__doc__ or "", control.TYPES),
)


def all_types() -> tuple[type[Event], ...]:
    return tuple(kind for family in FAMILIES for kind in family.types)


def by_type() -> dict[str, type[Event]]:
    """Event type name -> class; raises if a type is malformed or a name is taken twice."""
    out: dict[str, type[Event]] = {}
    for kind in all_types():
        check_type(kind)
        if kind.type in out:
            raise TypeError(f"{kind.__name__} and {out[kind.type].__name__} share {kind.type!r}")
        out[kind.type] = kind
    return out
