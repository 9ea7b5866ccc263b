"""Which target of a target group gets the next request.

Pure and synchronous: the data plane tells it which targets are registered and which are
healthy (from ``health``), and reports when a forwarded request starts and ends, which
``least_outstanding_requests`` needs. The routing rules of thumb are AWS's
(docs/aws-behaviour.md section 5.7): only healthy targets get traffic; when none is healthy the
group *fails open* and every registered target gets traffic by the normal algorithm; no
registered target means 503; draining targets get no new requests (the caller leaves them out
of ``registered``).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

ROUND_ROBIN = "round_robin"
LEAST_OUTSTANDING = "least_outstanding_requests"

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Choice(Generic[K]):
    """The target to use, or ``status`` 503 when there is none."""

    target: K | None
    status: int = 200
    fail_open: bool = False


class TargetGroupBalancer(Generic[K]):
    """Selection state of one target group: the round-robin cursor and per-target in-flight
    counts. Targets are any hashable keys; candidate order should be stable between calls
    so that round robin cycles evenly."""

    def __init__(self, algorithm: str = ROUND_ROBIN) -> None:
        self.algorithm = algorithm
        self._cursor = 0
        self._outstanding: dict[K, int] = {}

    def choose(self, healthy: Sequence[K], registered: Sequence[K]) -> Choice[K]:
        """Pick among ``healthy`` (targets that passed their checks), else fail open over
        ``registered`` (every registered target that is not draining)."""
        if not registered:
            return Choice(None, status=503)
        pool = healthy or registered
        fail_open = not healthy
        start = self._cursor % len(pool)
        self._cursor += 1
        if self.algorithm == LEAST_OUTSTANDING and len(pool) > 1:
            # Fewest in flight; ties rotate with the cursor so idle targets share the load.
            best = pool[start]
            best_count = self._outstanding.get(best, 0)
            for offset in range(1, len(pool)):
                candidate = pool[(start + offset) % len(pool)]
                count = self._outstanding.get(candidate, 0)
                if count < best_count:
                    best, best_count = candidate, count
            return Choice(best, fail_open=fail_open)
        return Choice(pool[start], fail_open=fail_open)

    def begin(self, target: K) -> None:
        """A request to ``target`` was sent."""
        self._outstanding[target] = self._outstanding.get(target, 0) + 1

    def end(self, target: K) -> None:
        """A request to ``target`` finished, whatever its outcome."""
        count = self._outstanding.get(target, 0) - 1
        if count > 0:
            self._outstanding[target] = count
        else:
            self._outstanding.pop(target, None)

    def outstanding(self, target: K) -> int:
        return self._outstanding.get(target, 0)
