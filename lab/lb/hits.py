"""``lab lb hit``: requests to a load balancer, and which server answered each.

The section's experiment ("every time you reload the page, you should see one of the private IP
addresses of a backend web server"), made countable.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass

from lab.endpoints import opener
from lab.web.page import ip_of_reply


@dataclass(frozen=True)
class Hit:
    status: int | None  # None: no HTTP answer at all
    ip: str | None
    ms: float
    error: str = ""


def hit(url: str, timeout: float = 10.0) -> Hit:
    """One GET on a new connection, as a browser reload after the idle timeout would."""
    start = time.perf_counter()
    try:
        with opener().open(url, timeout=timeout) as resp:
            body = resp.read().decode(errors="replace")
            status, headers = resp.status, dict(resp.headers)
    except urllib.error.HTTPError as exc:
        body = exc.read().decode(errors="replace")
        status, headers = exc.code, dict(exc.headers)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return Hit(None, None, (time.perf_counter() - start) * 1000, str(reason))
    return Hit(status, ip_of_reply(headers, body), (time.perf_counter() - start) * 1000)


def count(hits: list[Hit]) -> Counter[str]:
    """Answers per server; answers without one are counted under their status."""
    return Counter(h.ip if h.ip else f"({h.status or h.error})" for h in hits)


def format_hit(n: int, h: Hit) -> str:
    status = str(h.status) if h.status is not None else "---"
    who = h.ip or h.error or "(no address in the answer)"
    return f"{n:>4}  {status}  {who:16} {h.ms:7.1f} ms"


def format_counts(counts: Counter[str], total: int) -> list[str]:
    def order(key: str) -> tuple[int, ...]:
        parts = key.split(".")
        return tuple(int(p) for p in parts) if all(p.isdigit() for p in parts) else (999,)

    return [
        f"  {key:16} {counts[key]:>4}  ({100 * counts[key] / total:.0f}%)"
        for key in sorted(counts, key=order)
    ]
