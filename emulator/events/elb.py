"""Load-balancer events: what the ALB data plane did with each request, each health check and
each target's state.

Published by the data plane (``emulator/elb/dataplane.py`` wires them): ``elb.request`` from the
proxy's completion path (``emulator/elb/router.py``), once per answer a listener sends;
``elb.health_check`` and ``elb.target_state`` from the health checks
(``emulator/elb/checks.py``) and the target-health state machine they feed. A check's result
comes before the state change it causes.

Request events are the busiest type of the stream (one per request, thousands a second under
load): the log turns them into JSON when a reader first asks for them, not at publish, so they
cost the balancer little. The emulator setting ``elb_request_events`` (``LAB_ELB_REQUEST_EVENTS``)
turns them off; health-check and state events stay on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from emulator.events.model import Event, described

PUBLISHER = "emulator/elb/dataplane.py"
_GROUP = "name of the target group"
_TARGET_ID = "the target as registered: an IP address, or an instance id (i-...)"
_PORT = "the target's traffic port"
_STATE = "one of initial, healthy, unhealthy, draining, unused (as DescribeTargetHealth says)"


@dataclass(frozen=True, slots=True)
class ElbRequest(Event):
    """A listener answered a request: a target's answer relayed, or one the balancer made
    itself (its 4xx/5xx error pages, redirects and fixed responses). A request whose client
    left before the answer publishes nothing."""

    type: ClassVar[str] = "elb.request"
    publisher: ClassVar[str] = "emulator/elb/router.py"
    # Turned into JSON when first read, not at publish (see ``emulator.events.log``): the
    # balancer publishes one per request.
    json_when_read: ClassVar[bool] = True
    load_balancer: str = described("name of the load balancer")
    listener_port: int = described(
        "the listener's port, as in the ELBv2 API (served locally at that port, or at port "
        "plus listener_port_offset below 1024)"
    )
    method: str | None = described("the request's method (null: a request that did not parse)")
    path: str | None = described("the request target as the client sent it, query included")
    rule: int | str | None = described(
        'priority of the listener rule that matched, "default" for the default rule (null: '
        "the balancer answered before any rule, e.g. 405 for TRACE, 400 for a bad request)"
    )
    target_group: str | None = described(_GROUP + " the rule forwarded to (null: none)")
    target_id: str | None = described(_TARGET_ID + " (null: no target was chosen)")
    target_address: str | None = described(
        "where that target was reached (null: no target, or its address is unknown)"
    )
    status: int = described("status code of the answer the client got")
    ms: float = described(
        "milliseconds from the whole request being read to the answer being handed to the "
        "client's connection (real time)"
    )
    answered_by: str = described(
        '"target": the target\'s answer, relayed; "balancer": the balancer\'s own answer '
        "(no target, unhealthy group failing closed, 502/504 from a failed target, redirects, "
        "fixed responses)"
    )


@dataclass(frozen=True, slots=True)
class ElbHealthCheck(Event):
    """One health check of a target ended: its GET answered (``status``) or failed
    (``error``). ``ok`` is whether it counts as passing (the status is in the group's
    matcher); enough passes or failures in a row change the target's state
    (``elb.target_state``)."""

    type: ClassVar[str] = "elb.health_check"
    publisher: ClassVar[str] = "emulator/elb/checks.py"
    target_group: str = described(_GROUP)
    target_id: str = described(_TARGET_ID)
    port: int = described(_PORT)
    address: str | None = described("where the check was sent (null: the target has no address)")
    ok: bool = described("whether the check passed")
    status: int | None = described("status code of the answer (null: no answer)")
    error: str | None = described(
        '"timeout": no answer within HealthCheckTimeoutSeconds; "failed": refused, reset, '
        "not HTTP, or an address the balancer may not reach; null: the target answered"
    )


@dataclass(frozen=True, slots=True)
class ElbTargetState(Event):
    """A registered target's health state changed: registered (``previous`` null), healthy or
    unhealthy after enough checks in a row, draining after a deregistration, unused when its
    group left every listener or its instance stopped, and unused with
    ``Target.NotRegistered`` when its deregistration delay ended and it left the group."""

    type: ClassVar[str] = "elb.target_state"
    publisher: ClassVar[str] = PUBLISHER
    target_group: str = described(_GROUP)
    target_id: str = described(_TARGET_ID)
    port: int = described(_PORT)
    previous: str | None = described(
        "the state before (null: the target was just registered, or first seen since the "
        "emulator started)"
    )
    state: str = described("the new state: " + _STATE)
    reason: str | None = described(
        "reason code DescribeTargetHealth gives with the new state (Target.Timeout, "
        "Target.ResponseCodeMismatch, Target.DeregistrationInProgress, ...; null for healthy)"
    )


TYPES: tuple[type[Event], ...] = (ElbRequest, ElbHealthCheck, ElbTargetState)
