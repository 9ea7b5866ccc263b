"""Target health of ALB target groups, as a state machine fed with health-check results.

The core decides *when* each target's next check is due and turns results into the states and
reason codes DescribeTargetHealth reports (docs/aws-behaviour.md sections 5.5-5.7); the data
plane does the HTTP GETs (``checks``). Time comes from an injected clock so the interval x
threshold arithmetic is tested without sleeping.

- A newly registered target is ``initial`` (``Elb.RegistrationInProgress`` until its first check
  starts, then ``Elb.InitialHealthChecking``); one passing check makes it ``healthy``.
- After that, ``UnhealthyThresholdCount`` consecutive failures make it ``unhealthy`` (the reason
  tells the last failure: response code, timeout, or connection failure) and
  ``HealthyThresholdCount`` consecutive successes make it ``healthy`` again.
- A deregistered target is ``draining`` (``Target.DeregistrationInProgress``) for the group's
  ``deregistration_delay.timeout_seconds`` and then leaves. AWS completes deregistration early
  when nothing is in flight but still reports ``draining`` until the delay ends; since only the
  report is observable, the state here simply lasts the full delay. It gets no new requests and
  no health checks, and requests already sent to it run to their end.
- Targets of a group that no listener uses are ``unused`` (``Target.NotInUse``) and unchecked.

Every change of a target's state is told to an optional ``on_change`` callback (the data plane
publishes it as an ``elb.target_state`` event): a registration (from no state), the threshold
crossings, draining, and the end of draining (to ``unused``, ``Target.NotRegistered``). Changes
of reason within a state are not changes of state.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Literal

from emulator.clock import Clock

INITIAL = "initial"
HEALTHY = "healthy"
UNHEALTHY = "unhealthy"
DRAINING = "draining"
UNUSED = "unused"

REGISTRATION_IN_PROGRESS = ("Elb.RegistrationInProgress", "Target registration is in progress")
INITIAL_HEALTH_CHECKING = ("Elb.InitialHealthChecking", "Initial health checks in progress")
TIMEOUT = ("Target.Timeout", "Request timed out")
FAILED_HEALTH_CHECKS = ("Target.FailedHealthChecks", "Health checks failed")
DEREGISTRATION_IN_PROGRESS = (
    "Target.DeregistrationInProgress",
    "Target deregistration is in progress",
)
NOT_REGISTERED = ("Target.NotRegistered", "Target is not registered to the target group")
NOT_IN_USE = (
    "Target.NotInUse",
    "Target group is not configured to receive traffic from the load balancer",
)
INVALID_STATE = ("Target.InvalidState", "Target is in the stopped state")


# (group ARN, target, previous state or None for a new registration, new state, reason code)
StateChange = Callable[[str, "TargetKey", str | None, str, str | None], None]


def response_code_mismatch(code: int) -> tuple[str, str]:
    return ("Target.ResponseCodeMismatch", f"Health checks failed with these codes: [{code}]")


@dataclass(frozen=True)
class TargetKey:
    """A registration: target id (IP address or instance id) and traffic port."""

    id: str
    port: int


class Matcher:
    """``Matcher.HttpCode``: one code, a list ``200,202``, a range ``200-299``, or a mix."""

    def __init__(self, spec: str = "200") -> None:
        self.spec = spec
        self._ranges: list[tuple[int, int]] = []
        for part in (spec or "200").split(","):
            part = part.strip()
            if not part:
                continue
            low, _, high = part.partition("-")
            self._ranges.append((int(low), int(high or low)))

    def __contains__(self, code: object) -> bool:
        return isinstance(code, int) and any(lo <= code <= hi for lo, hi in self._ranges)


@dataclass(frozen=True)
class HealthCheckConfig:
    """A target group's health-check settings. Defaults are the ALB's for instance/ip groups."""

    protocol: str = "HTTP"
    port: str = "traffic-port"
    path: str = "/"
    interval: float = 30.0
    timeout: float = 5.0
    healthy_threshold: int = 5
    unhealthy_threshold: int = 2
    matcher: str = "200"

    def port_for(self, traffic_port: int) -> int:
        if not self.port or self.port == "traffic-port":
            return traffic_port
        return int(self.port)


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check: a status code, or an error (``timeout`` / ``failed``)."""

    status: int | None = None
    error: Literal["timeout", "failed"] | None = None

    @classmethod
    def code(cls, status: int) -> CheckResult:
        return cls(status=status)

    @classmethod
    def timed_out(cls) -> CheckResult:
        return cls(error="timeout")

    @classmethod
    def failed(cls) -> CheckResult:
        return cls(error="failed")


@dataclass(frozen=True)
class TargetHealth:
    """What DescribeTargetHealth reports for one target."""

    state: str
    reason: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class DueCheck:
    """A check the adapter must run now; hand it back to ``record`` with the result."""

    group_arn: str
    target: TargetKey
    protocol: str
    port: int
    path: str
    timeout: float
    generation: int


class _Target:
    __slots__ = (
        "key",
        "generation",
        "phase",
        "reason",
        "successes",
        "failures",
        "next_check_at",
        "in_progress",
        "drain_until",
    )

    def __init__(self, key: TargetKey, generation: int, now: float) -> None:
        self.key = key
        self.generation = generation
        self.phase = INITIAL
        self.reason: tuple[str, str] | None = REGISTRATION_IN_PROGRESS
        self.successes = 0
        self.failures = 0
        self.next_check_at = now
        self.in_progress = False
        self.drain_until = 0.0

    def restart(self, now: float, phase: str, reason: tuple[str, str] | None) -> None:
        self.generation += 1
        self.phase = phase
        self.reason = reason
        self.successes = self.failures = 0
        self.next_check_at = now
        self.in_progress = False


class TargetGroupHealth:
    """Health of the targets of one target group."""

    def __init__(self, arn: str, clock: Clock, on_change: StateChange | None = None) -> None:
        self.arn = arn
        self.clock = clock
        self.on_change = on_change
        self.config = HealthCheckConfig()
        self.matcher = Matcher(self.config.matcher)
        self.in_use = True
        self.deregistration_delay = 300.0
        self._targets: dict[TargetKey, _Target] = {}
        self._generation = 0
        self.version = 0  # bumped whenever routing-relevant state changes
        self._routing_cache: tuple[int, tuple[TargetKey, ...], tuple[TargetKey, ...]] | None = None

    # -- inputs -------------------------------------------------------------------------------

    def update(
        self,
        config: HealthCheckConfig,
        registered: Iterable[TargetKey],
        *,
        in_use: bool = True,
        deregistration_delay: float = 300.0,
        invalid: Collection[TargetKey] = (),
    ) -> None:
        """Bring the group in line with its current records: new registrations start
        ``initial``, missing ones start draining, and a group joining or leaving a listener
        moves its targets out of or into ``unused``."""
        now = self.clock.now()
        if config != self.config:
            self.config = config
            self.matcher = Matcher(config.matcher)
            for target in self._targets.values():
                target.next_check_at = min(target.next_check_at, now + config.interval)
        self.deregistration_delay = max(0.0, float(deregistration_delay))
        self.in_use = in_use
        wanted = list(dict.fromkeys(registered))
        wanted_set = set(wanted)
        for key in wanted:
            target = self._targets.get(key)
            if target is None or target.phase == DRAINING:
                previous = target.phase if target is not None else None
                self._generation += 1
                if target is not None:
                    del self._targets[key]  # re-registered: back to the end, fresh history
                target = _Target(key, self._generation, now)
                self._targets[key] = target
                if key in invalid:
                    target.phase, target.reason = UNUSED, INVALID_STATE
                elif not in_use:
                    target.phase, target.reason = UNUSED, NOT_IN_USE
                self._changed(target, previous)
            elif key in invalid:
                if target.reason != INVALID_STATE:
                    previous = target.phase
                    target.restart(now, UNUSED, INVALID_STATE)
                    self._changed(target, previous)
            elif not in_use:
                if target.reason != NOT_IN_USE:
                    previous = target.phase
                    target.restart(now, UNUSED, NOT_IN_USE)
                    self._changed(target, previous)
            elif target.phase == UNUSED:
                target.restart(now, INITIAL, REGISTRATION_IN_PROGRESS)
                self._changed(target, UNUSED)
        for key, target in list(self._targets.items()):
            if key not in wanted_set and target.phase != DRAINING:
                previous = target.phase
                target.phase = DRAINING
                target.reason = DEREGISTRATION_IN_PROGRESS
                target.in_progress = False
                target.drain_until = now + self.deregistration_delay
                self._changed(target, previous)
        self._expire(now)

    def due(self) -> list[DueCheck]:
        """Checks to start now; each is marked in progress until its result is recorded."""
        now = self.clock.now()
        self._expire(now)
        config = self.config
        checks = []
        for target in self._targets.values():
            if target.phase in (DRAINING, UNUSED) or target.in_progress:
                continue
            if target.next_check_at > now:
                continue
            target.in_progress = True
            target.next_check_at = now + config.interval
            if target.phase == INITIAL:
                target.reason = INITIAL_HEALTH_CHECKING
            checks.append(
                DueCheck(
                    group_arn=self.arn,
                    target=target.key,
                    protocol=config.protocol,
                    port=config.port_for(target.key.port),
                    path=config.path or "/",
                    timeout=min(config.timeout, config.interval),
                    generation=target.generation,
                )
            )
        return checks

    def next_due(self) -> float | None:
        """When the earliest pending check falls due (None when nothing will be checked)."""
        times = [
            t.next_check_at
            for t in self._targets.values()
            if t.phase not in (DRAINING, UNUSED) and not t.in_progress
        ]
        drains = [t.drain_until for t in self._targets.values() if t.phase == DRAINING]
        candidates = times + drains
        return min(candidates) if candidates else None

    def judge(self, check: DueCheck, result: CheckResult) -> bool | None:
        """Whether ``result`` passes (its status is in the matcher), or None when ``record``
        will ignore it (the check was for an older registration, or the target is draining or
        unused now)."""
        target = self._targets.get(check.target)
        if target is None or target.generation != check.generation:
            return None
        if target.phase in (DRAINING, UNUSED):
            return None
        return result.error is None and result.status in self.matcher

    def record(self, check: DueCheck, result: CheckResult) -> None:
        """Consume a check's result. Results for an older registration are ignored."""
        target = self._targets.get(check.target)
        if target is None or target.generation != check.generation:
            return
        target.in_progress = False
        if target.phase in (DRAINING, UNUSED):
            return
        config = self.config
        if result.error is None and result.status in self.matcher:
            target.successes += 1
            target.failures = 0
            if target.phase == INITIAL or (
                target.phase == UNHEALTHY and target.successes >= config.healthy_threshold
            ):
                previous = target.phase
                target.phase = HEALTHY
                target.reason = None
                self._changed(target, previous)
            return
        if result.error == "timeout":
            reason = TIMEOUT
        elif result.error is not None or result.status is None:
            reason = FAILED_HEALTH_CHECKS
        else:
            reason = response_code_mismatch(result.status)
        target.failures += 1
        target.successes = 0
        if target.phase == UNHEALTHY:
            target.reason = reason
        elif target.failures >= config.unhealthy_threshold:
            previous = target.phase
            target.phase = UNHEALTHY
            target.reason = reason
            self._changed(target, previous)

    # -- outputs ------------------------------------------------------------------------------

    def health(self, key: TargetKey) -> TargetHealth:
        """The state of one target; a target the group does not know is unused/NotRegistered."""
        self._expire(self.clock.now())
        target = self._targets.get(key)
        if target is None:
            return TargetHealth(UNUSED, *NOT_REGISTERED)
        if target.reason is None:
            return TargetHealth(target.phase)
        return TargetHealth(target.phase, *target.reason)

    def descriptions(self) -> list[tuple[TargetKey, TargetHealth]]:
        """Every registered or draining target, in registration order."""
        self._expire(self.clock.now())
        return [(key, self.health(key)) for key in self._targets]

    def routing(self) -> tuple[tuple[TargetKey, ...], tuple[TargetKey, ...]]:
        """(healthy, registered-and-not-draining) targets, for ``TargetGroupBalancer.choose``.
        Cached until the next state change, since it is asked on every request."""
        self._expire(self.clock.now())
        cache = self._routing_cache
        if cache is not None and cache[0] == self.version:
            return cache[1], cache[2]
        healthy = tuple(k for k, t in self._targets.items() if t.phase == HEALTHY)
        registered = tuple(
            k for k, t in self._targets.items() if t.phase in (INITIAL, HEALTHY, UNHEALTHY)
        )
        self._routing_cache = (self.version, healthy, registered)
        return healthy, registered

    # -- internals ----------------------------------------------------------------------------

    def _changed(self, target: _Target | None = None, previous: str | None = None) -> None:
        """Routing-relevant state changed; ``target`` moved from ``previous`` to its phase."""
        self.version += 1
        if target is not None and self.on_change is not None and previous != target.phase:
            reason = target.reason[0] if target.reason else None
            self.on_change(self.arn, target.key, previous, target.phase, reason)

    def _expire(self, now: float) -> None:
        gone = [
            key for key, t in self._targets.items() if t.phase == DRAINING and t.drain_until <= now
        ]
        for key in gone:
            del self._targets[key]
            if self.on_change is not None:
                self.on_change(self.arn, key, DRAINING, UNUSED, NOT_REGISTERED[0])
        if gone:
            self._changed()


class HealthRegistry:
    """The target groups' health, keyed by target group ARN."""

    def __init__(self, clock: Clock, on_change: StateChange | None = None) -> None:
        self.clock = clock
        self.on_change = on_change
        self.groups: dict[str, TargetGroupHealth] = {}

    def group(self, arn: str) -> TargetGroupHealth:
        group = self.groups.get(arn)
        if group is None:
            group = self.groups[arn] = TargetGroupHealth(arn, self.clock, self.on_change)
        return group

    def drop(self, arn: str) -> None:
        """The target group was deleted."""
        self.groups.pop(arn, None)

    def due(self) -> list[DueCheck]:
        return [check for group in list(self.groups.values()) for check in group.due()]

    def judge(self, check: DueCheck, result: CheckResult) -> bool | None:
        """``TargetGroupHealth.judge`` of the check's group (None: the group is gone)."""
        group = self.groups.get(check.group_arn)
        return group.judge(check, result) if group is not None else None

    def record(self, check: DueCheck, result: CheckResult) -> None:
        group = self.groups.get(check.group_arn)
        if group is not None:
            group.record(check, result)

    def next_due(self) -> float | None:
        times = [t for g in self.groups.values() if (t := g.next_due()) is not None]
        return min(times) if times else None
