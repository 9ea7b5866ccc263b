"""S3 static website hosting, which moto stores but does not serve.

Requests for ``BUCKET.s3-website.localhost:PORT`` (also ``s3-website-REGION`` and
``s3-website.REGION``) arrive here. The rules live in ``site`` (pure), the reads of moto's S3
backend in ``moto_source`` (run on moto's thread); this module only speaks HTTP.

It also sees each PutBucketWebsite before moto does: moto stores any configuration it is sent,
so one AWS refuses (a bad index document suffix, RedirectAllRequestsTo with other elements, a
bad routing rule...; see ``config.website_config_problem``) is refused here, with AWS's XML
error, and never reaches moto: the bucket keeps the configuration it had."""

from __future__ import annotations

import logging
import uuid
from xml.sax.saxutils import escape

from aiohttp import web

from emulator import routing
from emulator.component import Component
from emulator.moto_bridge import MotoBridge
from emulator.moto_bridge.website import bucket_and_key
from emulator.s3web.config import ConfigProblem, website_config_problem
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
    return Component(
        "s3web",
        handlers={"s3web": handle},
        interceptors=[refuse_bad_website_configuration],
        state=moto.state,
    )


async def refuse_bad_website_configuration(request: web.Request) -> web.StreamResponse | None:
    """AWS's answer to a PutBucketWebsite it refuses; None (on to moto) for every other request.
    The body read here is the one moto gets: aiohttp keeps it."""
    if request.method != "PUT" or "website" not in request.query:
        return None
    if routing.service_of(request.headers, request.path, request.query) != "s3":
        return None
    bucket, key = bucket_and_key(request.host, request.raw_path)
    if not bucket or key:
        return None
    problem = website_config_problem(await request.read())
    if problem is None:
        return None
    return s3_error(problem, uuid.uuid4().hex[:16].upper())


def s3_error(problem: ConfigProblem, request_id: str) -> web.Response:
    """The S3 REST API's XML error document, which botocore reads into ClientError fields."""
    fields = [("Code", problem.code), ("Message", problem.message)]
    if problem.argument_name is not None:
        fields.append(("ArgumentName", problem.argument_name))
    if problem.argument_value is not None:
        fields.append(("ArgumentValue", problem.argument_value))
    fields += [("RequestId", request_id), ("HostId", request_id)]
    body = '<?xml version="1.0" encoding="UTF-8"?>\n<Error>'
    body += "".join(f"<{name}>{escape(value)}</{name}>" for name, value in fields)
    body += "</Error>"
    return web.Response(
        status=problem.status,
        body=body.encode(),
        content_type="application/xml",
        headers={"x-amz-request-id": request_id, "x-amz-id-2": request_id, "Server": "AmazonS3"},
    )


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
