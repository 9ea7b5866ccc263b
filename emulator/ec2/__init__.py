"""EC2 instances that run: moto keeps the records, the emulator plays the machines.

- ``runner``: one local workload process per running instance (the lab's web server by
  default), each on a loopback address of its own; the load balancer's data plane reaches
  instance targets there (``emulator.elb.snapshot.set_instance_resolver``).
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
from urllib.parse import parse_qsl

from aiohttp import web

from emulator import routing
from emulator.ec2.imds import MetadataService, is_imds_path
from emulator.ec2.runner import InstanceRunner
from emulator.moto_bridge.wsgi import WsgiRunner
from emulator.server import Emulator

SERVICES = ("ec2", "autoscaling", "cloudformation")
READ_ONLY_PREFIXES = ("Describe", "List", "Get", "Validate", "Estimate")
CFN_NAMESPACE = "http://cloudformation.amazonaws.com/doc/2010-05-15/"
log = logging.getLogger("emulator.ec2")


def _params(request: web.Request, body: bytes) -> dict[str, str]:
    params = dict(request.query)
    if body and "json" not in (request.content_type or ""):
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return params


def _region(request: web.Request, default: str) -> str:
    scope = routing.signing_scope(request.headers, request.query)
    return scope[0] if scope else default


def _signed(request: web.Request) -> bool:
    return routing.signing_scope(request.headers, request.query) is not None


def install(emulator: Emulator, runner: WsgiRunner) -> InstanceRunner:
    from emulator.ec2 import stacks
    from emulator.elb import snapshot
    from emulator.moto_bridge import moto_changed

    settings = emulator.settings
    instances = InstanceRunner(runner, settings)
    instances.on_change.append(lambda: moto_changed(runner))
    instances.on_event = emulator.events.publish
    metadata = MetadataService(instances.instance_at, settings.account_id)
    snapshot.set_instance_resolver(instances.resolve)

    async def to_moto(request: web.Request) -> web.StreamResponse:
        # The moto bridge's default handler also records changes for persistence.
        handler = emulator.default_handler or runner.handle
        return await handler(request)

    async def delete_stack(request: web.Request, name: str) -> web.StreamResponse | None:
        region = _region(request, settings.region)
        status = await runner.run_sync(stacks.delete_stack, settings.account_id, region, name)
        if status is None:
            return None  # no such stack: moto answers (successfully, doing nothing)
        moto_changed(runner)
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
        params = _params(request, body)
        action = params.get("Action", "")
        if action == "DeleteStack" and params.get("StackName"):
            answer = await delete_stack(request, params["StackName"])
            if answer is not None:
                return answer
        response = await to_moto(request)
        if action in ("CreateStack", "UpdateStack") and response.status == 200:
            region = _region(request, settings.region)
            name = params.get("StackName", "")
            if await runner.run_sync(stacks.after_deploy, settings.account_id, region, name):
                moto_changed(runner)
        if not action.startswith(READ_ONLY_PREFIXES):
            instances.poke()
        return response

    for service in SERVICES:
        emulator.handlers[service] = api

    async def intercept(request: web.Request) -> web.StreamResponse | None:
        if not is_imds_path(request.path) or _signed(request):
            return None
        return await metadata.handle(request)

    async def describe(request: web.Request) -> web.Response:
        await instances.sync()
        return web.json_response(instances.describe())

    emulator.interceptors.append(intercept)
    emulator.control_routes["/_lab/ec2"] = describe
    emulator.startup.append(instances.start)
    emulator.shutdown.append(instances.stop)
    return instances
