"""The emulator's SQS regions: one engine (and its service) per region.

A queue name is unique per account and region, a queue's ARN names its region, and dead-letter
queues, redrive permissions and ListQueues all look within one region. An engine already holds
exactly that for the region it is made with, so a region is an engine of its own: the engine
stays as it was, pure and one-region, and nothing in it can reach across regions by mistake.
The engines share the clock, the event log and the state file (each through its region's view
of the store); the delivery model belongs to the default region's engine, the one the lab's own
tools (TUI, trace checker, ``lab chaos``) talk to.

An engine is made the first time a request names its region, and at start for every region the
state file has queues in, so their timers (delays, visibility, retention) run after a restart."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from emulator.sqs.engine import SqsEngine
from emulator.sqs.service import SqsService


class Regions:
    def __init__(self, default: str, make: Callable[[str], SqsService]) -> None:
        self.default = default
        self._make = make
        self._services: dict[str, SqsService] = {}
        self.service(default)

    def service(self, region: str) -> SqsService:
        """The region's service, made on first use."""
        service = self._services.get(region)
        if service is None:
            service = self._services[region] = self._make(region)
        return service

    @property
    def default_engine(self) -> SqsEngine:
        """The engine the lab's own tools and the delivery model's controls see."""
        return self._services[self.default].engine

    def engines(self) -> Iterator[SqsEngine]:
        """Every region's engine (a snapshot: a request may add a region meanwhile)."""
        return iter([service.engine for service in self._services.values()])
