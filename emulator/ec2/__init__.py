"""EC2 instances that run: moto keeps the records, the emulator plays the machines.

- ``runner``: one local workload process per running instance (the lab's web server by
  default), each on a loopback address of its own; the load balancer's data plane reaches
  instance targets there (``InstanceRunner.resolve``, handed to it by ``emulator.app``).
- ``imds``: the instance metadata service at ``/latest/...``, answering each instance from its
  own address.
- ``stacks``: DeleteStack in dependency order, so deleting the chapter's stack leaves nothing
  behind (moto's own order fails on the VPC).

Pure decisions live in ``core``; ``moto_state`` and ``stacks`` run on moto's thread.
``install`` wires it all into the emulator: it takes the ``ec2``, ``autoscaling`` and
``cloudformation`` APIs (passing them to moto, and syncing the instances right after calls that
change something), adds ``GET /_lab/ec2``, and answers metadata requests before any service.
"""

from __future__ import annotations

import logging
import uuid

from aiohttp import web

from emulator import routing
from emulator.actions import action_of, form_params, is_read_only_action
from emulator.component import Component
from emulator.config import EmulatorSettings
from emulator.ec2.imds import MetadataService, is_imds_path
from emulator.ec2.runner import EventSink, InstanceRunner
from emulator.moto_bridge import MotoBridge

SERVICES = ("ec2", "autoscaling", "cloudformation")
CFN_NAMESPACE = "http://cloudformation.amazonaws.com/doc/2010-05-15/"
log = logging.getLogger("emulator.ec2")


def _region(request: web.Request, default: str) -> str:
    scope = routing.signing_scope(request.headers, request.query)
    return scope[0] if scope else default


def _signed(request: web.Request) -> bool:
    return routing.signing_scope(request.headers, request.query) is not None


def install(
    settings: EmulatorSettings, moto: MotoBridge, publish: EventSink
) -> tuple[InstanceRunner, Component]:
    """The instance runner (whose ``resolve`` the load balancer needs) and the component that
    serves the EC2, Auto Scaling and CloudFormation APIs, the metadata service and
    ``/_lab/ec2``."""
    from emulator.ec2 import stacks

    instances = InstanceRunner(moto, settings, publish=publish)
    metadata = MetadataService(instances.instance_at, settings.account_id)

    async def delete_stack(request: web.Request, name: str) -> web.StreamResponse | None:
        region = _region(request, settings.region)
        status = await moto.run_sync(stacks.delete_stack, settings.account_id, region, name)
        if status is None:
            return None  # no such stack: moto answers (successfully, doing nothing)
        moto.changed()
        try:
            await instances.sync()  # the stack's web servers have stopped when the call returns
        except Exception:  # noqa: BLE001 - the deletion itself is done; the loop catches up
            log.exception("instance sync after DeleteStack failed")
            instances.poke()
        return web.Response(
            status=200,
            content_type="text/xml",
            text=(
                f'<DeleteStackResponse xmlns="{CFN_NAMESPACE}"><ResponseMetadata>'
                f"<RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata></DeleteStackResponse>"
            ),
        )

    async def api(request: web.Request) -> web.StreamResponse:
        body = await request.read()  # cached by aiohttp: moto reads the same bytes again
        action = action_of(request.query, request.headers, body)
        params = form_params(request.query, body, request.content_type or "")
        if action == "DeleteStack" and params.get("StackName"):
            answer = await delete_stack(request, params["StackName"])
            if answer is not None:
                return answer
        response = await moto.handle(request)
        if action in ("CreateStack", "UpdateStack") and response.status == 200:
            region = _region(request, settings.region)
            name = params.get("StackName", "")
            if await moto.run_sync(stacks.after_deploy, settings.account_id, region, name):
                moto.changed()
        if not is_read_only_action(action):
            instances.poke()
        return response

    async def intercept(request: web.Request) -> web.StreamResponse | None:
        if not is_imds_path(request.path) or _signed(request):
            return None
        return await metadata.handle(request)

    async def describe(request: web.Request) -> web.Response:
        await instances.sync()
        return web.json_response(instances.describe())

    component = Component(
        "ec2",
        handlers=dict.fromkeys(SERVICES, api),
        control_routes={"/_lab/ec2": describe},
        interceptors=[intercept],
        start=[instances.start],
        stop=[instances.stop],
    )
    return instances, component
