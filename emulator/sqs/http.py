"""The SQS HTTP adapter: picks the wire protocol from the request and hands the decoded action to
the service. Bad input of any kind ends here as an AWS error reply; the server keeps serving."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qsl

from aiohttp import web

from emulator.sqs import wire_json, wire_query
from emulator.sqs.errors import SqsError
from emulator.sqs.service import SqsService


class SqsHttp:
    def __init__(self, service: SqsService) -> None:
        self.service = service

    @staticmethod
    def base_url(request: web.Request) -> str:
        return f"http://{request.host}"

    async def handle(self, request: web.Request) -> web.Response:
        request_id = str(uuid.uuid4())
        target = request.headers.get("X-Amz-Target")
        if target is not None:
            return await self._json(request, target, request_id)
        return await self._query(request, request_id)

    async def _json(self, request: web.Request, target: str, request_id: str) -> web.Response:
        try:
            action, params = wire_json.decode(target, await request.read())
            reply = await self.service.call(action, params, self.base_url(request))
        except SqsError as error:
            status, headers, body = wire_json.encode_error(error)
            headers["x-amzn-RequestId"] = request_id
            return web.Response(status=status, body=body, headers=headers)
        return web.Response(
            body=wire_json.encode(reply),
            headers={"Content-Type": wire_json.CONTENT_TYPE, "x-amzn-RequestId": request_id},
        )

    async def _query(self, request: web.Request, request_id: str) -> web.Response:
        action = "Unknown"
        try:
            form = dict(request.query)
            if request.method == "POST":
                raw = await request.read()
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    raise SqsError(
                        "MalformedQueryString", "The request body is not UTF-8."
                    ) from None
                form.update(parse_qsl(text, keep_blank_values=True))
            action, params = wire_query.decode(form, request.path)
            reply = await self.service.call(action, params, self.base_url(request))
        except SqsError as error:
            status, body = wire_query.encode_error(error, request_id)
            return web.Response(status=status, body=body, content_type="text/xml")
        return web.Response(
            body=wire_query.encode(action, reply, request_id), content_type="text/xml"
        )
