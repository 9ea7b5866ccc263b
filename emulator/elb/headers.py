"""Header rules of the ALB (docs/aws-behaviour.md section 5.8), as pure functions so the exact
formats are unit-tested apart from the proxy: which headers never cross the balancer, and the
ones it adds to forwarded requests."""

from __future__ import annotations

import random
from collections.abc import Iterable

# Hop-by-hop headers (RFC 9110 7.6.1) are about one connection and are never forwarded, in
# either direction. Lowercase bytes: the proxy compares them with raw header names.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)

MAX_XFF_ADDRESSES = 30


def connection_names(values: Iterable[bytes]) -> set[bytes]:
    """The names a message's ``Connection`` headers list, lowercased. Besides the options
    ``close`` and ``keep-alive`` they name headers that are about this hop only, like
    ``HOP_BY_HOP``: the balancer drops them too (RFC 9110 7.6.1), from requests and answers
    alike."""
    names: set[bytes] = set()
    for value in values:
        for token in value.split(b","):
            token = token.strip().lower()
            if token:
                names.add(token)
    return names


def trace_id(now: float, rng: random.Random) -> str:
    """``1-<8 hex epoch seconds>-<24 hex random>``."""
    return f"1-{int(now) & 0xFFFFFFFF:08x}-{rng.getrandbits(96):024x}"


def amzn_trace_header(existing: str | None, now: float, rng: random.Random) -> str:
    """A fresh ``Root=`` when the client sent none; else the client's fields with a new
    ``Self=`` in front (replacing an old ``Self``), so a request can be followed across hops."""
    fresh = trace_id(now, rng)
    if existing:
        fields = [f.strip() for f in existing.split(";") if f.strip()]
        if any(f.startswith("Root=") for f in fields):
            kept = [f for f in fields if not f.startswith("Self=")]
            return ";".join([f"Self={fresh}", *kept])
    return f"Root={fresh}"


def forwarded_for(existing: Iterable[str], client_ip: str, mode: str = "append") -> str | None:
    """The ``X-Forwarded-For`` to send, or None to send none (``remove``). ``preserve`` keeps
    the incoming value; ``append`` adds the TCP peer after it, comma-space separated."""
    values = [v.strip() for v in existing if v.strip()]
    if mode == "remove":
        return None
    if mode == "preserve":
        return ", ".join(values) if values else None
    return ", ".join([*values, client_ip])


def count_addresses(value: str | None) -> int:
    """How many addresses an ``X-Forwarded-For`` lists (more than 30 is a 463 at the ALB)."""
    return len([p for p in (value or "").split(",") if p.strip()])
