"""Health checks as real requests: the GETs the registry (``health``) says are due, sent to the
targets, their outcomes recorded (docs/aws-behaviour.md section 5.5). The registry decides when
and what a result means; this module only asks and reports what happened, to the registry and,
as an ``elb.health_check`` event, to the event log (before the registry acts on it, so a check
comes before the state change it causes).

The registry counts in the clock's emulated time (interval, thresholds, deregistration delay);
this module waits in real time: the sleep until the next due check and each check's timeout
(HealthCheckTimeoutSeconds, emulated) go through ``clock.real_seconds``, so at 20x a 30-second
interval passes in 1.5 s and a 5-second timeout gives up after 0.25 s."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aiohttp
from yarl import URL

from emulator.clock import Clock
from emulator.elb.health import CheckResult, DueCheck, HealthRegistry, TargetKey
from emulator.events.elb import ElbHealthCheck
from emulator.events.model import Event
from emulator.waiting import sleep_or_wake

HEALTH_USER_AGENT = "ELB-HealthChecker/2.0"
# Real seconds: look for due checks at least this often (registrations and the clock's speed
# change meanwhile), and not more often than the other.
MAX_SLEEP = 0.5
MIN_SLEEP = 0.02

AddressOf = Callable[[str, TargetKey], str | None]  # (group ARN, target) -> address
NameOf = Callable[[str], str]  # group ARN -> the target group's name
EventSink = Callable[[Event], None]  # the event log's publish


class HealthChecker:
    """Runs the due checks, each as a task of its own so a slow target holds up no other."""

    def __init__(
        self,
        health: HealthRegistry,
        address_of: AddressOf,
        allows: Callable[[str], bool],
        clock: Clock,
        *,
        publish: EventSink | None = None,
        name_of: NameOf = str,
    ) -> None:
        self.health = health
        self.address_of = address_of
        self.allows = allows
        self.clock = clock
        self.publish = publish
        self.name_of = name_of
        self._wake = asyncio.Event()
        self._stopping = False
        self._loop_task: asyncio.Task[None] | None = None
        self._checks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, force_close=True),
            cookie_jar=aiohttp.DummyCookieJar(),
            headers={"User-Agent": HEALTH_USER_AGENT},
        )
        self._loop_task = asyncio.create_task(self._loop(), name="elb-health")

    async def stop(self) -> None:
        self._stopping = True
        tasks = [*([self._loop_task] if self._loop_task else []), *self._checks]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=2.0)
        if self._session is not None:
            await self._session.close()

    def poke(self) -> None:
        """Look for due checks now (registrations or settings changed)."""
        self._wake.set()

    async def _loop(self) -> None:
        while not self._stopping:
            for check in self.health.due():
                address = self.address_of(check.group_arn, check.target)
                task = asyncio.create_task(self._run(check, address))
                self._checks.add(task)
                task.add_done_callback(self._checks.discard)
            next_due = self.health.next_due()
            if next_due is None:
                delay = MAX_SLEEP
            else:
                delay = self.clock.real_seconds(next_due - self.clock.now())
            await sleep_or_wake(self._wake, min(MAX_SLEEP, max(MIN_SLEEP, delay)))

    async def _run(self, check: DueCheck, address: str | None) -> None:
        result = await self.check(check, address)
        if self.publish is not None:
            ok = self.health.judge(check, result)
            if ok is not None:  # (None: the registry ignores it, so no one should see it)
                self.publish(
                    ElbHealthCheck(
                        target_group=self.name_of(check.group_arn),
                        target_id=check.target.id,
                        port=check.target.port,
                        address=address,
                        ok=ok,
                        status=result.status,
                        error=result.error,
                    )
                )
        self.health.record(check, result)
        # The loop's sleep left this target out while its check ran: it is due again in one
        # interval, which at a fast clock is sooner than the loop would look again.
        self._wake.set()

    async def check(self, check: DueCheck, address: str | None) -> CheckResult:
        """One health-check GET. The connection is closed after each check, as at AWS."""
        if address is None or not self.allows(address) or self._session is None:
            return CheckResult.failed()
        scheme = "https" if check.protocol == "HTTPS" else "http"
        path, _, query = check.path.partition("?")
        url = URL.build(scheme=scheme, host=address, port=check.port, path=path, query_string=query)
        try:
            async with self._session.get(
                url,
                timeout=aiohttp.ClientTimeout(total=self.clock.real_seconds(check.timeout)),
                allow_redirects=False,
                ssl=False,
            ) as response:
                return CheckResult.code(response.status)
        except TimeoutError:
            return CheckResult.timed_out()
        except (aiohttp.ClientError, OSError, ValueError):
            return CheckResult.failed()
