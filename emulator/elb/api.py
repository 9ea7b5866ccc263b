"""The ELBv2 API in front of moto: DescribeTargetHealth answered from the real health state.

moto reports every registered target as ``healthy``. This handler takes the
``elasticloadbalancing`` requests first: DescribeTargetHealth is answered from the data plane's
health checks, in the XML shape of AWS (and moto), so boto3 and the AWS CLI parse it as usual;
every other action goes to moto, and after the ones that change records the data plane syncs
before the answer goes back, so the change already carries traffic when the call returns.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from aiohttp import web

from emulator.elb.dataplane import DataPlane
from emulator.elb.health import TargetHealth, TargetKey

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

log = logging.getLogger("emulator.elb")

NAMESPACE = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"
_TARGET_PARAM = re.compile(r"^Targets\.member\.(\d+)\.(Id|Port|AvailabilityZone)$")

# Actions after which the data plane should re-read moto at once.
MUTATING_PREFIXES = ("Create", "Delete", "Modify", "Register", "Deregister", "Set", "Add", "Remove")


def parse_params(query: dict[str, str], body: bytes) -> dict[str, str]:
    """Query-protocol parameters from the URL and a form-encoded body."""
    params = dict(query)
    if body:
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return params


def requested_targets(params: dict[str, str]) -> list[tuple[str, int | None]]:
    """``Targets.member.N.{Id,Port}`` in member order."""
    members: dict[int, dict[str, str]] = {}
    for name, value in params.items():
        match = _TARGET_PARAM.match(name)
        if match:
            members.setdefault(int(match.group(1)), {})[match.group(2)] = value
    out = []
    for _, member in sorted(members.items()):
        if "Id" in member:
            port = member.get("Port")
            out.append((member["Id"], int(port) if port and port.isdigit() else None))
    return out


def target_health_xml(
    entries: list[tuple[TargetKey, str, TargetHealth]], request_id: str | None = None
) -> str:
    """DescribeTargetHealthResponse for (target, health-check port, health) entries."""
    members = []
    for key, health_port, health in entries:
        parts = [f"<State>{escape(health.state)}</State>"]
        if health.reason:
            parts.append(f"<Reason>{escape(health.reason)}</Reason>")
        if health.description:
            parts.append(f"<Description>{escape(health.description)}</Description>")
        members.append(
            "<member>"
            f"<Target><Id>{escape(key.id)}</Id><Port>{key.port}</Port></Target>"
            f"<HealthCheckPort>{escape(health_port)}</HealthCheckPort>"
            f"<TargetHealth>{''.join(parts)}</TargetHealth>"
            "</member>"
        )
    return (
        f'<DescribeTargetHealthResponse xmlns="{NAMESPACE}">'
        "<DescribeTargetHealthResult><TargetHealthDescriptions>"
        + "".join(members)
        + "</TargetHealthDescriptions></DescribeTargetHealthResult>"
        f"<ResponseMetadata><RequestId>{request_id or uuid.uuid4()}</RequestId>"
        "</ResponseMetadata></DescribeTargetHealthResponse>"
    )


class ElbApi:
    """The emulator's handler for the ``elasticloadbalancing`` signing name. ``fallback`` is
    the emulator's way to moto (its default handler, which also tracks changes for persistence),
    not the bare runner."""

    def __init__(self, plane: DataPlane, fallback: Handler) -> None:
        self.plane = plane
        self.fallback = fallback

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()  # cached by aiohttp: moto reads the same bytes again
        params = parse_params(dict(request.query), body)
        action = params.get("Action", "")
        if action == "DescribeTargetHealth":
            answer = await self.describe_target_health(params)
            if answer is not None:
                return answer
        response = await self.fallback(request)
        if action.startswith(MUTATING_PREFIXES) and response.status < 300:
            # Read-your-writes: once the call returns, the data plane already serves it
            # (a script may register targets and send traffic on the next line).
            try:
                await self.plane.sync()
            except Exception:  # the call itself succeeded; the sync loop will catch up
                log.exception("ELB sync after %s failed", action)
                self.plane.poke()
        return response

    async def describe_target_health(self, params: dict[str, str]) -> web.Response | None:
        """The real health of a group's targets; None lets moto answer (unknown group)."""
        await self.plane.sync()
        group = self.plane.groups.get(params.get("TargetGroupArn", ""))
        if group is None:
            return None
        known = group.health.descriptions()
        wanted = requested_targets(params)
        if wanted:
            selected = []
            for target_id, port in wanted:
                match = [k for k, _ in known if k.id == target_id and port in (None, k.port)]
                key = match[0] if match else TargetKey(target_id, port or group.spec.port)
                selected.append((key, group.health.health(key)))
        else:
            selected = known
        entries = [
            (key, str(group.spec.health.port_for(key.port)), health) for key, health in selected
        ]
        return web.Response(status=200, text=target_health_xml(entries), content_type="text/xml")
