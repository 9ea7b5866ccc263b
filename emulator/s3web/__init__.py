"""S3 static website hosting, which moto stores but does not serve.

Requests for ``BUCKET.s3-website.localhost:PORT`` (also ``s3-website-REGION`` and
``s3-website.REGION``) arrive here. The rules live in ``site`` (pure), the reads of moto's S3
backend in ``moto_source`` (run on moto's thread); this module only speaks HTTP."""

from __future__ import annotations

import logging
import uuid

from aiohttp import web

from emulator import routing
from emulator.component import Component
from emulator.moto_bridge import MotoBridge
from emulator.s3web.moto_source import serve_from_moto
from emulator.s3web.site import SiteRequest, SiteResponse, error_page

log = logging.getLogger("emulator.s3web")


def install(moto: MotoBridge, account_id: str) -> Component:
    """The website endpoint, reading buckets and objects out of moto's S3."""

    async def handle(request: web.Request) -> web.StreamResponse:
        request_id = uuid.uuid4().hex[:16].upper()
        bucket = (routing.website_bucket(request.host) or "").lower()
        headers: dict[str, str] = {}
        for name, value in request.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]},{value}" if key in headers else value
        site_request = SiteRequest(
            method=request.method,
            raw_path=request.raw_path,
            host=request.host,
            headers=headers,
            request_id=request_id,
        )
        try:
            answer = await moto.run_sync(serve_from_moto, site_request, bucket, account_id)
        except Exception:
            # Errors on the website are HTML pages, never the emulator's XML error.
            log.exception("website request %s for bucket %s failed", request_id, bucket)
            message = "We encountered an internal error. Please try again."
            answer = error_page(500, "InternalError", message, request_id)
        return to_aiohttp(answer, head=request.method == "HEAD")

    # website answers come out of moto: starting while it loads
    return Component("s3web", handlers={"s3web": handle}, state=moto.state)


def to_aiohttp(answer: SiteResponse, head: bool) -> web.Response:
    """HEAD gets the headers a GET would, Content-Length included, and no body."""
    response = web.Response(status=answer.status)
    for name, value in answer.headers:
        response.headers.add(name, value)
    if answer.status in (204, 304):
        return response
    if head:
        response.headers["Content-Length"] = str(len(answer.body))
    else:
        response.body = answer.body
    return response
