"""What happens to each request a listener reads: the listener's rules pick an action
(docs/aws-behaviour.md sections 5.1-5.3), the target group's balancer a target (section 5.7),
and the request is answered by the balancer or forwarded. The proxy calls ``route`` once per
request, so it reads only the served state and builds a ``RequestInfo`` only when a rule looks
at the request.

It also publishes every answer as an ``elb.request`` event (``answered``, the listeners'
completion callback), when given a sink: ``route`` notes on the request what it decided (rule,
target group, target, address) and ``answered`` adds the status and the time taken. That is
one small event object per request and no JSON (the log encodes ``elb.request`` events when a
reader first asks for them), so the balancer keeps its pace with events on."""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable, Mapping

from emulator.clock import Clock
from emulator.elb.answers import ERROR_HEADERS, SERVER_HEADER, error_body, header_value
from emulator.elb.client import ClientConnection, Request
from emulator.elb.forwarding import forwarded_request
from emulator.elb.reconcile import GroupRuntime, ListenerRuntime
from emulator.elb.rules import Decision, RequestInfo, decide, evaluate
from emulator.events.elb import ElbRequest
from emulator.events.model import Event

_FIXED_CONTENT_TYPE = SERVER_HEADER + b"Content-Type: "
# Stands in for the request when the deciding rule reads nothing of it (see ``unconditional``).
_ANY_REQUEST = RequestInfo(method="GET", path="/")
# What ``route`` notes on a request (``Request.routed``): the rule (its priority, "default", or
# None before any rule), then the target group's name, the target's id and its address.
Routed = tuple[int | str | None, str | None, str | None, str | None]
_UNROUTED: Routed = (None, None, None, None)


def origin_form(target: str) -> str:
    """The path and query of an absolute-form request target (``http://host/p?q``)."""
    scheme, sep, rest = target.partition("://")
    if not sep or "/" in scheme:
        return target
    slash = rest.find("/")
    query = rest.find("?")
    if slash < 0 or (0 <= query < slash):
        return "/" + rest[query:] if query >= 0 else "/"
    return rest[slash:]


def request_info(rt: ListenerRuntime, conn: ClientConnection, request: Request) -> RequestInfo:
    """What the rules may look at, decoded from the parsed request."""
    target = request.target.decode("latin-1")
    if not target.startswith("/"):
        target = origin_form(target)
    path, _, query = target.partition("?")
    headers = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in request.headers]
    host = ""
    for name, value in headers:
        if len(name) == 4 and name.lower() == "host":
            host = value
            break
    return RequestInfo(
        method=request.method,
        path=path,
        query=query,
        headers=headers,
        host=host,
        source_ip=conn.peer,
        listener_port=rt.spec.port,
        listener_protocol=rt.spec.protocol,
    )


class Router:
    """Routes the requests of every listener. ``listeners`` and ``groups`` are the served
    state (``reconcile``); ``allows`` says whether an address may get traffic; ``port_map``
    turns a listener port into its local port (for redirects to ``#{port}``)."""

    def __init__(
        self,
        listeners: Mapping[str, ListenerRuntime],
        groups: Mapping[str, GroupRuntime],
        *,
        allows: Callable[[str], bool],
        port_map: Callable[[int], int],
        clock: Clock,
        rng: random.Random,
        publish: Callable[[Event], None] | None = None,
    ) -> None:
        self.listeners = listeners
        self.groups = groups
        self.allows = allows
        self.port_map = port_map
        self.clock = clock
        self.rng = rng
        self.publish = publish  # elb.request events (None: not published)

    def route(self, rt: ListenerRuntime, conn: ClientConnection, request: Request) -> None:
        """Answer one request here, or forward it to a target chosen by the rules and the
        group's balancer."""
        if rt.server is None or self.listeners.get(rt.spec.arn) is not rt:
            conn.respond_error(503)  # the listener is going away
            return
        method = request.method
        if method == "TRACE" or method == "CONNECT":
            conn.respond_error(405)
            return
        unconditional = rt.unconditional
        if unconditional is not None:
            decision: Decision | None = decide(unconditional, _ANY_REQUEST, self.rng)
        else:
            decision = evaluate(rt.rules, request_info(rt, conn, request), self.rng, self.port_map)
        if decision is None:
            conn.respond_error(503)
            return
        rule = decision.rule_priority if decision.rule_priority is not None else "default"
        if decision.kind == "forward":
            self._forward(rt, conn, request, decision, rule)
            return
        request.routed = (rule, None, None, None)
        if decision.kind == "redirect":
            location = header_value(decision.location or "/")
            conn.respond(
                decision.status,
                ERROR_HEADERS + b"Location: " + location + b"\r\n",
                error_body(decision.status),
            )
        else:
            content_type = header_value(decision.content_type or "text/plain")
            conn.respond(
                decision.status,
                _FIXED_CONTENT_TYPE + content_type + b"; charset=utf-8\r\n",
                decision.body.encode(),
            )

    def _forward(
        self,
        rt: ListenerRuntime,
        conn: ClientConnection,
        request: Request,
        decision: Decision,
        rule: int | str,
    ) -> None:
        group = self.groups.get(decision.target_group_arn or "")
        if group is None:
            request.routed = (rule, None, None, None)
            conn.respond_error(503)
            return
        healthy, registered = group.health.routing()
        choice = group.balancer.choose(healthy, registered)
        if choice.target is None:
            request.routed = (rule, group.spec.name, None, None)
            conn.respond_error(choice.status)
            return
        key = choice.target
        address = group.addresses.get(key)
        request.routed = (rule, group.spec.name, key.id, address)
        if address is None or not self.allows(address):
            conn.respond_error(502)
            return
        payload = forwarded_request(
            request,
            conn.peer,
            address,
            key.port,
            rt.spec.xff_mode,
            rt.forwarded_lines,
            self.clock.now(),
            self.rng,
        )
        if payload is None:
            conn.respond_error(463)
            return
        # HTTPS targets are not verified: ALBs do not check target certificates either.
        tls = group.spec.protocol == "HTTPS"
        group.balancer.begin(key)
        conn.forward(
            (address, key.port, tls),
            payload,
            idle_timeout=rt.spec.idle_timeout,
            done=functools.partial(group.balancer.end, key),
        )

    def answered(
        self,
        rt: ListenerRuntime,
        conn: ClientConnection,
        request: Request | None,
        status: int,
        by_target: bool,
    ) -> None:
        """A listener sent an answer whole: publish it as an ``elb.request`` event."""
        publish = self.publish
        if publish is None:
            return
        spec = rt.spec
        by = "target" if by_target else "balancer"
        if request is None:  # a request that did not parse, answered 400
            event = ElbRequest(
                spec.load_balancer_name,
                spec.port,
                None,
                None,
                None,
                None,
                None,
                None,
                status,
                0.0,
                by,
            )
        else:
            rule, group, target, address = request.routed or _UNROUTED
            # Positional, in the order of ElbRequest's fields (a fifth cheaper than keywords,
            # on the path of every request); ms to the microsecond without round().
            event = ElbRequest(
                spec.load_balancer_name,
                spec.port,
                request.method,
                request.target.decode("latin-1"),
                rule,
                group,
                target,
                address,
                status,
                int((time.perf_counter() - request.read_at) * 1_000_000) / 1000,
                by,
            )
        publish(event)
