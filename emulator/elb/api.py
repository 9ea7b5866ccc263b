"""The ELBv2 API in front of moto: DescribeTargetHealth answered from the real health state.

moto reports every registered target as ``healthy``. This handler takes the
``elasticloadbalancing`` requests first: DescribeTargetHealth is answered from the data plane's
health checks, in the XML shape of AWS (and moto), so boto3 and the AWS CLI parse it as usual;
every other action goes to moto, and after the ones that may change records (any but the
read-only ones: ``emulator.actions``) the data plane syncs before the answer goes back, so the
change already carries traffic when the call returns.
"""

from __future__ import annotations

import logging
import re
import uuid
from xml.sax.saxutils import escape

from aiohttp import web

from emulator.actions import action_of, form_params, is_read_only_action
from emulator.component import Handler
from emulator.elb.dataplane import DataPlane
from emulator.elb.health import TargetHealth, TargetKey

log = logging.getLogger("emulator.elb")

NAMESPACE = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"
_TARGET_PARAM = re.compile(r"^Targets\.member\.(\d+)\.(Id|Port|AvailabilityZone)$")


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
    the way to moto (``MotoBridge.handle``, which also schedules the snapshot after a change),
    not the bare runner."""

    def __init__(self, plane: DataPlane, fallback: Handler) -> None:
        self.plane = plane
        self.fallback = fallback

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()  # cached by aiohttp: moto reads the same bytes again
        action = action_of(request.query, request.headers, body)
        if action == "DescribeTargetHealth":
            params = form_params(request.query, body, request.content_type or "")
            answer = await self.describe_target_health(params)
            if answer is not None:
                return answer
        response = await self.fallback(request)
        if not is_read_only_action(action) and response.status < 300:
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
