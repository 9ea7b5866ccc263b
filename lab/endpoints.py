"""JSON over HTTP to the emulator's documented ``/_lab/`` endpoints: the one way the lab side
reaches what AWS APIs do not offer (the event stream, the delivery model, the clock).

Standard library only, never through an HTTP proxy, and every failure as a sentence a student
can act on: nothing answers (``EmulatorUnreachable``), the endpoint is not the lab's emulator
(``EndpointMissing``: LocalStack and AWS have no ``/_lab/``), or the emulator refused the
request (``LabError`` with its own reason)."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from lab.config import LabConfig
from lab.runtime import LabError


class EmulatorUnreachable(LabError):
    """Nothing answers at the endpoint (or it failed with a 5xx): the emulator is not running,
    is starting, or is stopping."""

    def __init__(self, endpoint: str, reason: object) -> None:
        self.endpoint = endpoint
        self.reason = str(reason)
        super().__init__(
            f"the emulator at {endpoint} is not answering ({reason}); start it with `lab up`"
        )


class EndpointMissing(LabError):
    """The endpoint answers, but has no such ``/_lab/`` path: it is not the lab's emulator."""

    def __init__(self, endpoint: str, path: str, what: str) -> None:
        self.path = path
        super().__init__(
            f"{endpoint} has no {what} ({path} is not there): it is not the lab's emulator, "
            "or an older one"
        )


def opener() -> urllib.request.OpenerDirector:
    """For the lab's own servers on loopback (the emulator, the web servers, the sample pages,
    the load balancer's listeners): never through an HTTP proxy. One opener for every call
    (building one costs more than a read of the event stream)."""
    return _OPENER


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def reason_of(exc: Exception) -> str:
    """``connection refused`` rather than ``<urlopen error [Errno 111] Connection refused>``."""
    reason = getattr(exc, "reason", None) or exc
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror.lower()
    return str(reason) or type(reason).__name__


def sentence_of(body: bytes, fallback: str) -> str:
    """The sentence a ``/_lab/`` endpoint put in its ``{"error": ...}`` answer, or
    ``fallback`` when the answer is something else."""
    try:
        return str(json.loads(body)["error"])
    except (ValueError, KeyError, TypeError):
        return fallback


def error_of(exc: urllib.error.HTTPError) -> str:
    try:
        body = exc.read()
    except OSError:
        body = b""
    return sentence_of(body, exc.reason or f"HTTP {exc.code}")


def call(
    config: LabConfig,
    path: str,
    *,
    what: str,
    query: dict[str, str] | None = None,
    body: Any = None,
    timeout: float = 10.0,
) -> bytes:
    """GET ``path`` (or POST ``body`` as JSON) and return the raw answer. ``what`` names the
    endpoint in errors ("lab event stream", "delivery model")."""
    url = config.endpoint + path
    if query:
        url += "?" + urllib.parse.urlencode(query)
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="GET" if data is None else "POST")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with opener().open(request, timeout=timeout) as response:
            return response.read()
    except urllib.error.HTTPError as exc:
        detail = error_of(exc)
        if exc.code in (404, 405):
            raise EndpointMissing(config.endpoint, path, what) from None
        if exc.code >= 500:
            raise EmulatorUnreachable(config.endpoint, f"{exc.code}: {detail}") from None
        raise LabError(detail) from None
    except (OSError, http.client.HTTPException) as exc:  # URLError is an OSError
        raise EmulatorUnreachable(config.endpoint, reason_of(exc)) from None


def call_json(config: LabConfig, path: str, *, what: str, **options: Any) -> Any:
    """``call``, its answer read as JSON."""
    raw = call(config, path, what=what, **options)
    try:
        return json.loads(raw)
    except ValueError:
        raise EndpointMissing(config.endpoint, path, what) from None
