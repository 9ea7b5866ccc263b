"""Listener rules of an Application Load Balancer, as a pure function of a request.

The data plane compiles the rule records moto keeps (the dicts of the ELBv2 API) once per change
and evaluates them on every request, so patterns are turned into regular expressions here, ahead
of time, and evaluation does no parsing. Nothing here does I/O; weighted forwarding draws from an
injected ``random.Random`` so tests can pin the split.

Semantics follow AWS (docs/aws-behaviour.md sections 5.1-5.3): rules by ascending priority, first
match wins, the default rule last; conditions ANDed, the values of one condition ORed; ``*`` and
``?`` wildcards; host, header and query matching case-insensitive, path and method case-sensitive;
``source-ip`` uses the TCP peer. Two local choices, because a laptop is not AWS:

- ``host-header`` is matched against the Host header without its ``:port`` (the lab's listeners
  run on mapped local ports, so browsers send ``localhost:8080``).
- ``query-string`` values match either the raw (percent-encoded) or the decoded form.
"""

from __future__ import annotations

import ipaddress
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import unquote_plus

TERMINAL_ACTIONS = ("forward", "redirect", "fixed-response")


@dataclass(frozen=True)
class RequestInfo:
    """What rule evaluation may look at. ``path`` is the raw path without the query; ``query``
    the raw query string without ``?``; ``headers`` every header line in order."""

    method: str
    path: str
    query: str = ""
    headers: Sequence[tuple[str, str]] = ()
    host: str = ""
    source_ip: str = "127.0.0.1"
    listener_port: int = 80
    listener_protocol: str = "HTTP"


@dataclass(frozen=True)
class Decision:
    """The outcome for one request: forward to a target group, redirect, or a fixed response.
    ``target_group_arn`` is None for a forward whose groups all weigh 0 (the ALB answers 503)."""

    kind: Literal["forward", "redirect", "fixed-response"]
    target_group_arn: str | None = None
    status: int = 0
    location: str | None = None
    content_type: str | None = None
    body: str = ""
    rule_priority: int | None = None  # None for the default rule


# -- wildcard patterns ------------------------------------------------------------------------


def wildcard_regex(pattern: str, *, ignore_case: bool, escapes: bool = False) -> re.Pattern[str]:
    """``*`` = any run of characters, ``?`` = exactly one; with ``escapes`` (query strings) a
    backslash makes the next character literal."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if escapes and ch == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        else:
            out.append(re.escape(ch))
        i += 1
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile("".join(out), flags)


def _host_without_port(host: str) -> str:
    host = host.strip()
    if host.startswith("["):  # [ipv6]:port
        end = host.find("]")
        return host[: end + 1] if end != -1 else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _split_query(query: str) -> list[tuple[str, str]]:
    pairs = []
    for part in query.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        pairs.append((key, value))
    return pairs


# -- conditions -------------------------------------------------------------------------------


class Condition:
    """One compiled rule condition; ``matches`` is called per request."""

    def matches(self, request: RequestInfo) -> bool:  # pragma: no cover - interface
        raise NotImplementedError


class PathPattern(Condition):
    def __init__(self, values: Sequence[str]) -> None:
        self.patterns = [wildcard_regex(v, ignore_case=False) for v in values]

    def matches(self, request: RequestInfo) -> bool:
        return any(p.fullmatch(request.path) for p in self.patterns)


class HostHeader(Condition):
    def __init__(self, values: Sequence[str]) -> None:
        self.patterns = [wildcard_regex(v, ignore_case=True) for v in values]

    def matches(self, request: RequestInfo) -> bool:
        host = _host_without_port(request.host)
        return any(p.fullmatch(host) for p in self.patterns)


class HttpHeader(Condition):
    def __init__(self, name: str, values: Sequence[str]) -> None:
        self.name = name.lower()
        self.patterns = [wildcard_regex(v, ignore_case=True) for v in values]

    def matches(self, request: RequestInfo) -> bool:
        for name, value in request.headers:
            if name.lower() == self.name and any(p.fullmatch(value) for p in self.patterns):
                return True
        return False


class HttpRequestMethod(Condition):
    def __init__(self, values: Sequence[str]) -> None:
        self.values = frozenset(values)

    def matches(self, request: RequestInfo) -> bool:
        return request.method in self.values


class QueryString(Condition):
    def __init__(self, values: Sequence[Mapping[str, str]]) -> None:
        self.pairs: list[tuple[re.Pattern[str] | None, re.Pattern[str]]] = []
        for item in values:
            key = item.get("Key")
            key_re = wildcard_regex(key, ignore_case=True, escapes=True) if key else None
            value_re = wildcard_regex(item.get("Value", ""), ignore_case=True, escapes=True)
            self.pairs.append((key_re, value_re))

    def matches(self, request: RequestInfo) -> bool:
        params = _split_query(request.query)
        for key, value in params:
            keys = {key, unquote_plus(key)}
            values = {value, unquote_plus(value)}
            for key_re, value_re in self.pairs:
                if key_re is not None and not any(key_re.fullmatch(k) for k in keys):
                    continue
                if any(value_re.fullmatch(v) for v in values):
                    return True
        return False


class SourceIp(Condition):
    def __init__(self, values: Sequence[str]) -> None:
        self.networks = [ipaddress.ip_network(v, strict=False) for v in values]

    def matches(self, request: RequestInfo) -> bool:
        try:
            address = ipaddress.ip_address(request.source_ip)
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        return any(address.version == n.version and address in n for n in self.networks)


def _config_values(raw: Mapping[str, Any], config_key: str) -> list[Any]:
    """The values of a condition in either API form: ``XConfig.Values`` or the legacy
    top-level ``Values`` (still accepted for path-pattern and host-header)."""
    config = raw.get(config_key) or {}
    values = config.get("Values")
    if values is None:
        values = raw.get("Values") or []
    return list(values)


def compile_condition(raw: Mapping[str, Any]) -> Condition:
    """A condition from its API dict; unknown fields raise ``ValueError``."""
    name = raw.get("Field")
    if name == "path-pattern":
        return PathPattern(_config_values(raw, "PathPatternConfig"))
    if name == "host-header":
        return HostHeader(_config_values(raw, "HostHeaderConfig"))
    if name == "http-header":
        config = raw.get("HttpHeaderConfig") or {}
        return HttpHeader(config.get("HttpHeaderName", ""), list(config.get("Values") or []))
    if name == "http-request-method":
        return HttpRequestMethod(_config_values(raw, "HttpRequestMethodConfig"))
    if name == "query-string":
        return QueryString(_config_values(raw, "QueryStringConfig"))
    if name == "source-ip":
        return SourceIp(_config_values(raw, "SourceIpConfig"))
    raise ValueError(f"unsupported condition field {name!r}")


# -- actions ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """The terminal action of a rule (forward, redirect or fixed-response)."""

    type: str
    # forward: (target group ARN, weight) pairs; one pair for a plain TargetGroupArn
    groups: tuple[tuple[str, int], ...] = ()
    redirect: Mapping[str, str] = field(default_factory=dict)
    fixed: Mapping[str, str] = field(default_factory=dict)


def compile_actions(raw_actions: Sequence[Mapping[str, Any]]) -> Action:
    """The action that decides the request: the first forward/redirect/fixed-response by
    ``Order``. Authenticate actions come before it in AWS and are not emulated."""
    ordered = sorted(
        enumerate(raw_actions), key=lambda item: (int(item[1].get("Order") or 0), item[0])
    )
    for _, raw in ordered:
        kind = raw.get("Type")
        if kind not in TERMINAL_ACTIONS:
            continue
        if kind == "forward":
            groups: list[tuple[str, int]] = []
            config = raw.get("ForwardConfig") or {}
            for tg in config.get("TargetGroups") or []:
                weight = tg.get("Weight")
                groups.append((tg["TargetGroupArn"], 1 if weight is None else int(weight)))
            if not groups and raw.get("TargetGroupArn"):
                groups.append((raw["TargetGroupArn"], 1))
            return Action("forward", groups=tuple(groups))
        if kind == "redirect":
            return Action("redirect", redirect=dict(raw.get("RedirectConfig") or {}))
        return Action("fixed-response", fixed=dict(raw.get("FixedResponseConfig") or {}))
    raise ValueError("rule has no forward, redirect or fixed-response action")


# -- rules ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    priority: int | None  # None = the default rule
    conditions: tuple[Condition, ...]
    action: Action

    def matches(self, request: RequestInfo) -> bool:
        return all(c.matches(request) for c in self.conditions)


def compile_rules(raw_rules: Sequence[Mapping[str, Any]]) -> list[Rule]:
    """Rules in evaluation order from dicts ``{Priority, Conditions, Actions, IsDefault}``.
    A rule that does not compile is skipped rather than taking the listener down; the API
    (moto) is the place that rejects bad rules."""
    rules: list[Rule] = []
    default: Rule | None = None
    for raw in raw_rules:
        try:
            conditions = tuple(compile_condition(c) for c in raw.get("Conditions") or [])
            action = compile_actions(raw.get("Actions") or [])
        except (ValueError, KeyError, TypeError):
            continue
        priority = raw.get("Priority")
        if raw.get("IsDefault") or priority in (None, "default"):
            default = Rule(None, (), action)
        else:
            rules.append(Rule(int(priority), conditions, action))
    rules.sort(key=lambda r: r.priority or 0)
    if default is not None:
        rules.append(default)
    return rules


def _redirect_location(
    config: Mapping[str, str], request: RequestInfo, port_map: Callable[[int], int]
) -> str:
    original_host = _host_without_port(request.host)
    original_path = request.path[1:] if request.path.startswith("/") else request.path

    def fill(template: str) -> str:
        return (
            template.replace("#{protocol}", request.listener_protocol.lower())
            .replace("#{host}", original_host)
            .replace("#{port}", str(request.listener_port))
            .replace("#{path}", original_path)
            .replace("#{query}", request.query)
        )

    protocol = fill(config.get("Protocol") or "#{protocol}").lower()
    host = fill(config.get("Host") or "#{host}")
    port_text = fill(config.get("Port") or "#{port}")
    path = fill(config.get("Path") or "/#{path}")
    query = fill(config.get("Query") if config.get("Query") is not None else "#{query}")
    try:
        port = port_map(int(port_text))
    except ValueError:
        port = None
    default_port = {"http": 80, "https": 443}.get(protocol)
    netloc = host if port is None or port == default_port else f"{host}:{port}"
    if not path.startswith("/"):
        path = "/" + path
    return f"{protocol}://{netloc}{path}" + (f"?{query}" if query else "")


def _pick_weighted(groups: Sequence[tuple[str, int]], rng: random.Random) -> str | None:
    live = [(arn, weight) for arn, weight in groups if weight > 0]
    if not live:
        return None
    if len(live) == 1:
        return live[0][0]
    point = rng.randrange(sum(w for _, w in live))
    for arn, weight in live:
        if point < weight:
            return arn
        point -= weight
    return live[-1][0]  # pragma: no cover - unreachable


def decide(
    rule: Rule,
    request: RequestInfo,
    rng: random.Random,
    port_map: Callable[[int], int] = lambda port: port,
) -> Decision:
    """Apply a matched rule's action. ``port_map`` turns a listener port into the port a
    client can reach, so a redirect to ``#{port}`` works against the lab's mapped ports."""
    action = rule.action
    if action.type == "forward":
        return Decision(
            "forward",
            target_group_arn=_pick_weighted(action.groups, rng),
            rule_priority=rule.priority,
        )
    if action.type == "redirect":
        code = action.redirect.get("StatusCode", "HTTP_301")
        return Decision(
            "redirect",
            status=int(code.rsplit("_", 1)[-1]),
            location=_redirect_location(action.redirect, request, port_map),
            rule_priority=rule.priority,
        )
    return Decision(
        "fixed-response",
        status=int(action.fixed.get("StatusCode", "200")),
        content_type=action.fixed.get("ContentType") or "text/plain",
        body=action.fixed.get("MessageBody") or "",
        rule_priority=rule.priority,
    )


def evaluate(
    rules: Sequence[Rule],
    request: RequestInfo,
    rng: random.Random,
    port_map: Callable[[int], int] = lambda port: port,
) -> Decision | None:
    """The decision of the first matching rule (``rules`` as ``compile_rules`` orders them);
    None only when a listener has no usable rule at all."""
    for rule in rules:
        if rule.matches(request):
            return decide(rule, request, rng, port_map)
    return None
