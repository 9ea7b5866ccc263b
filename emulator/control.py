"""What every ``/_lab/`` control endpoint shares: reading a JSON body and refusing bad input
with one sentence (``{"error": ...}``, a 4xx), so a typo never changes anything silently."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

MAX_BODY = 2 * 1024 * 1024


class ControlError(ValueError):
    """A request a control endpoint refuses; the message is the reply's one sentence."""

    def __init__(self, sentence: str, status: int = 400) -> None:
        super().__init__(sentence)
        self.status = status


def refuse(sentence: str, status: int = 400) -> web.Response:
    return web.json_response({"error": sentence}, status=status)


async def json_body(request: web.Request, max_bytes: int = MAX_BODY, hint: str = "") -> Any:
    """The request's JSON body, or ``ControlError`` saying what is wrong with it (``hint``
    says what to send instead of a body that is not JSON). A body without a length (chunked)
    is read to its end, never further than ``max_bytes``."""
    too_big = f"the body is at most {max_bytes // 1024:,} KiB of JSON."
    if request.content_length is not None and request.content_length > max_bytes:
        raise ControlError(too_big, 413)
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.content.iter_any():
            size += len(chunk)
            if size > max_bytes:
                raise ControlError(too_big, 413)
            chunks.append(chunk)
    except (ConnectionError, ValueError):
        raise ControlError("the request body could not be read.") from None
    try:
        return json.loads(b"".join(chunks))
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ControlError(f"the body is not JSON{hint or '.'}") from None


async def json_object(request: web.Request) -> dict[str, Any]:
    body = await json_body(request)
    if not isinstance(body, dict):
        raise ControlError("the body must be a JSON object.")
    return body


def not_allowed(path: str, request: web.Request, allowed: str) -> web.Response:
    return web.json_response(
        {"error": f"{path} takes {allowed}; {request.method} is not allowed."},
        status=405,
        headers={"Allow": allowed},
    )


def save_json(path: Any, data: Any) -> None:
    """Write ``data`` to ``path`` atomically (temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    tmp.replace(path)


def load_json(path: Any) -> Any:
    """What ``save_json`` wrote, or None when there is nothing usable."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None
