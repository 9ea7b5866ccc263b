"""The SQS HTTP adapter: picks the region and the wire protocol from the request and hands the
decoded action to that region's service. Bad input of any kind ends here as an AWS error reply;
the server keeps serving."""

from __future__ import annotations

import uuid

from aiohttp import web

from emulator import routing
from emulator.sqs import queue_urls, wire_json, wire_query
from emulator.sqs.errors import SqsError
from emulator.sqs.params import Params
from emulator.sqs.regions import Regions
from emulator.sqs.replies import Reply
from emulator.sqs.service import SqsService

# The X-Ray header SQS keeps as a sent message's AWSTraceHeader (docs/aws-behaviour.md 2.4).
TRACE_HEADER = "X-Amzn-Trace-Id"


def _too_deep() -> SqsError:
    return SqsError("MalformedInput", "The request is nested too deeply.")


class SqsHttp:
    def __init__(
        self,
        regions: Regions,
        *,
        strategy: str = queue_urls.OFF,
        public_host: str = "localhost",
    ) -> None:
        """``strategy`` and ``public_host``: how queue URLs are written (``queue_urls``)."""
        self.regions = regions
        self.strategy = strategy
        self.public_host = public_host

    def region(self, request: web.Request) -> str:
        """The region whose queues the request sees (``queue_urls.request_region``): the router
        has read the credential scope for the service already, this reads it for the region."""
        scope = routing.signing_scope(request.headers, request.query)
        return queue_urls.request_region(
            self.regions.default,
            signed=scope[0] if scope else None,
            host=request.host,
            path=request.path,
        )

    async def handle(self, request: web.Request) -> web.Response:
        request_id = str(uuid.uuid4())
        region = self.region(request)
        service = self.regions.service(region)
        base_url = queue_urls.base_url(self.strategy, request.host, region, self.public_host)
        target = request.headers.get("X-Amz-Target")
        if target is not None:
            return await self._json(request, service, base_url, target, request_id)
        return await self._query(request, service, base_url, request_id)

    @staticmethod
    async def _call(
        request: web.Request, service: SqsService, action: str, params: Params, base_url: str
    ) -> Reply:
        """The action on the request's region, refused if its queue URL names another one."""
        queue_urls.check_queue_region(params, service.engine.region)
        return await service.call(
            action, params, base_url, trace_header=request.headers.get(TRACE_HEADER)
        )

    async def _json(
        self,
        request: web.Request,
        service: SqsService,
        base_url: str,
        target: str,
        request_id: str,
    ) -> web.Response:
        try:
            action, params = wire_json.decode(target, await request.read())
            if action not in service.actions:
                raise SqsError("UnknownOperationException", f"Unknown operation {target}.")
            reply = await self._call(request, service, action, params, base_url)
        except SqsError as error:
            status, headers, body = wire_json.encode_error(error)
            headers["x-amzn-RequestId"] = request_id
            return web.Response(status=status, body=body, headers=headers)
        return web.Response(
            body=wire_json.encode(reply),
            headers={"Content-Type": wire_json.CONTENT_TYPE, "x-amzn-RequestId": request_id},
        )

    async def _query(
        self, request: web.Request, service: SqsService, base_url: str, request_id: str
    ) -> web.Response:
        """A form POSTed or a GET's URL parameters. An answer is JSON when the client accepts
        it, except a GET without an Action, which AWS answers with its bare XML element."""
        as_json = wire_query.JSON_CONTENT_TYPE in request.headers.get("Accept", "")
        action = "Unknown"
        try:
            body = await request.read() if request.method == "POST" else None
            form = wire_query.read_form(request.raw_path.partition("?")[2], body)
            if request.method == "GET" and not form.get("Action"):
                return web.Response(
                    status=404,
                    body=wire_query.UNKNOWN_OPERATION,
                    content_type="text/xml",
                    headers={"x-amzn-RequestId": request_id},
                )
            try:
                action, params = wire_query.decode(form, request.path)
            except RecursionError:
                raise _too_deep() from None
            reply = await self._call(request, service, action, params, base_url)
        except SqsError as error:
            if as_json:
                status, payload = wire_query.encode_error_json(error, request_id)
                return web.Response(
                    status=status, body=payload, content_type=wire_query.JSON_CONTENT_TYPE
                )
            status, payload = wire_query.encode_error(error, request_id)
            return web.Response(status=status, body=payload, content_type="text/xml")
        if as_json:
            return web.Response(
                body=wire_query.encode_json(action, reply, request_id),
                content_type=wire_query.JSON_CONTENT_TYPE,
            )
        return web.Response(
            body=wire_query.encode(action, reply, request_id), content_type="text/xml"
        )
