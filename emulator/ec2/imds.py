"""The instance metadata service (IMDS) of the lab's instances, at ``/latest/...`` on the
emulator's port: the stand-in for ``http://169.254.169.254``.

EC2 knows the calling instance because the request comes from inside it; here the caller is
recognised by its source address, the loopback address the instance runner gave the instance
(``127.0.1.N``). A workload must therefore connect *from* its address (bind the client socket
to it), as ``lab.web.server --imds`` does. Requests from any other address get a 404 that says
so.

Served: ``/latest/meta-data/`` (a listing; sub-trees end in ``/``) with ``ami-id``,
``hostname``, ``instance-id``, ``instance-type``, ``local-hostname``, ``local-ipv4``,
``placement/availability-zone``, ``placement/region``, ``public-ipv4`` (when there is one),
``security-groups`` and ``services/``; ``/latest/user-data``;
``/latest/dynamic/instance-identity/document``; and IMDSv2 sessions: ``PUT /latest/api/token``
with ``X-aws-ec2-metadata-token-ttl-seconds`` (1-21600, else 400; a PUT carrying
``X-Forwarded-For`` is refused with 403), then ``X-aws-ec2-metadata-token`` on GETs (a bad,
expired or other instance's token: 401). Without a token a GET is answered (``HttpTokens``
``optional``) unless the instance requires tokens. Replies are ``text/plain``; unknown items 404.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from emulator.clock import Clock, SystemClock
from emulator.ec2.core import InstanceView

TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"
TOKEN_HEADER = "X-aws-ec2-metadata-token"
MAX_TTL = 21600
# Request paths taken by the metadata service (before the emulator's service routing).
PREFIXES = ("/latest/meta-data", "/latest/api/token", "/latest/user-data", "/latest/dynamic")
TOKEN_PATH = "/latest/api/token"


def is_imds_path(path: str) -> bool:
    return path in ("/latest", "/latest/") or path.startswith(PREFIXES)


def metadata_tree(view: InstanceView, account_id: str) -> dict[str, object]:
    """The meta-data items of one instance: values are text, sub-trees are dicts."""
    hostname = view.private_dns or ""
    tree: dict[str, object] = {
        "ami-id": view.image_id or "",
        "hostname": hostname,
        "instance-id": view.instance_id,
        "instance-type": view.instance_type or "",
        "local-hostname": hostname,
        "local-ipv4": view.private_ip or "",
        "placement": {
            "availability-zone": view.availability_zone or "",
            "region": view.region,
        },
        "security-groups": "\n".join(view.security_groups),
        "services": {"domain": "amazonaws.com", "partition": "aws"},
    }
    if view.public_ip:
        tree["public-ipv4"] = view.public_ip
    return {k: v for k, v in tree.items() if v != ""}


def identity_document(view: InstanceView, account_id: str) -> str:
    return json.dumps(
        {
            "accountId": account_id,
            "architecture": "x86_64",
            "availabilityZone": view.availability_zone,
            "imageId": view.image_id,
            "instanceId": view.instance_id,
            "instanceType": view.instance_type,
            "privateIp": view.private_ip,
            "region": view.region,
            "version": "2017-09-30",
        },
        indent=2,
    )


def listing(tree: dict[str, object]) -> str:
    return "\n".join(k + "/" if isinstance(v, dict) else k for k, v in sorted(tree.items()))


def lookup(tree: dict[str, object], item: str) -> str | None:
    """The text at ``item`` (a path below ``meta-data/``): a value, or a listing for a
    sub-tree; None when there is no such item."""
    node: object = tree
    for part in [p for p in item.split("/") if p]:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    if isinstance(node, dict):
        return listing(node)
    return str(node)


@dataclass(frozen=True)
class Answer:
    status: int
    text: str

    def response(self) -> web.Response:
        return web.Response(status=self.status, text=self.text, content_type="text/plain")


class TokenStore:
    """IMDSv2 session tokens: each is valid for one instance until it expires."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._tokens: dict[str, tuple[str, float]] = {}

    def issue(self, instance_id: str, ttl: int) -> str:
        now = self.clock.now()
        if len(self._tokens) > 10_000:
            self._tokens = {t: v for t, v in self._tokens.items() if v[1] > now}
        token = secrets.token_urlsafe(42)
        self._tokens[token] = (instance_id, now + ttl)
        return token

    def valid(self, token: str, instance_id: str) -> bool:
        entry = self._tokens.get(token)
        if entry is None:
            return False
        owner, expires = entry
        if expires <= self.clock.now():
            self._tokens.pop(token, None)
            return False
        return owner == instance_id


class MetadataService:
    """Answers metadata requests; ``instance_at`` says which instance owns a source address."""

    def __init__(
        self,
        instance_at: Callable[[str], InstanceView | None],
        account_id: str,
        clock: Clock | None = None,
    ) -> None:
        self.instance_at = instance_at
        self.account_id = account_id
        self.tokens = TokenStore(clock or SystemClock())

    def answer(
        self, method: str, path: str, source: str, headers: dict[str, str] | object
    ) -> Answer:
        get = headers.get  # type: ignore[attr-defined]
        view = self.instance_at(source)
        if view is None:
            return Answer(
                404,
                f"no instance has the address {source}: the instance metadata service answers "
                "the lab's EC2 instances, from their own address (the loopback address the "
                "emulator gave the instance, 127.0.1.x by default)\n",
            )
        if view.http_endpoint == "disabled":
            return Answer(403, "the instance metadata service is disabled for this instance\n")
        if path == TOKEN_PATH:
            if method != "PUT":
                return Answer(405, "use PUT to get a session token\n")
            if get("X-Forwarded-For"):
                return Answer(403, "token requests must not carry X-Forwarded-For\n")
            raw = (get(TTL_HEADER) or "").strip()
            if not raw.isdigit() or not 1 <= int(raw) <= MAX_TTL:
                return Answer(400, f"{TTL_HEADER} must be a number of seconds, 1-{MAX_TTL}\n")
            return Answer(200, self.tokens.issue(view.instance_id, int(raw)))
        if method not in ("GET", "HEAD"):
            return Answer(405, "the instance metadata is read with GET\n")
        token = get(TOKEN_HEADER)
        if token is not None:
            if not self.tokens.valid(token, view.instance_id):
                return Answer(401, "the session token is invalid or expired\n")
        elif view.http_tokens == "required":
            return Answer(401, "this instance requires IMDSv2: PUT /latest/api/token first\n")
        return self.read(view, path)

    def read(self, view: InstanceView, path: str) -> Answer:
        rest = path[len("/latest") :].lstrip("/")
        if rest == "":
            items = ["dynamic", "meta-data"] + (["user-data"] if view.user_data else [])
            return Answer(200, "\n".join(items))
        top, _, item = rest.partition("/")
        if top == "meta-data":
            text = lookup(metadata_tree(view, self.account_id), item)
        elif top == "user-data" and not item:
            text = view.user_data.decode("utf-8", "replace") if view.user_data else None
        elif top == "dynamic":
            dynamic = {"instance-identity": {"document": identity_document(view, self.account_id)}}
            text = lookup(dynamic, item)
        else:
            text = None
        if text is None:
            return Answer(404, "404 - Not Found\n")
        return Answer(200, text)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        answer = self.answer(request.method, request.path, request.remote or "", request.headers)
        return answer.response()
