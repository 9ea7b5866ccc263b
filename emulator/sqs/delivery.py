"""The delivery model: at-least-once and best-effort ordering, made to happen on purpose.

Standard SQS queues may deliver a message twice, even after a successful delete, and do not
keep send order; short polls sample a subset of servers and may return fewer messages than
there are, or none (docs/aws-behaviour.md section 3). On AWS all of that is rare and
invisible. The model injects each effect with a probability of its own, for one queue or all,
so a class sees them within minutes, and the same seed and the same calls give the same
effects. FIFO queues get none: they stay exactly-once and ordered per message group, which is
the chapter's answer to ordering.

Pure: no I/O, no clock. Each queue draws from its own random source, seeded from the model's
seed and the queue's name, so what happens on one queue does not depend on traffic to another.
Off (the default), the engine asks nothing of it and behaves exactly as without it.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

MAX_DELAY = 900.0  # SQS's own limit for a message delay, in seconds


class ChaosError(ValueError):
    """Settings the model cannot take; the message says why in a sentence."""


@dataclass(frozen=True)
class Chaos:
    """What the model injects on a queue. Probabilities are per delivery (``duplicate``), per
    receive (``reorder``); ``delay`` is added to every send, uniformly within the range."""

    duplicate: float = 0.0  # a delivered message is delivered once more, later
    duplicate_after: tuple[float, float] = (0.5, 3.0)  # seconds until the copy shows up
    reorder: float = 0.0  # a receive takes a later message before the oldest ones
    reorder_window: int = 10  # how far back in the queue it may reach
    delay: tuple[float, float] = (0.0, 0.0)  # extra seconds before a sent message is visible
    sampling: bool = False  # short polls return a random part of what is available

    def __post_init__(self) -> None:
        for name in ("duplicate", "reorder"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
                raise ChaosError(f"{name} must be a probability from 0 to 1, not {value!r}")
        if not isinstance(self.reorder_window, int) or not 2 <= self.reorder_window <= 1000:
            raise ChaosError(f"reorder_window must be 2 to 1000, not {self.reorder_window!r}")
        for name in ("delay", "duplicate_after"):
            low, high = _pair(name, getattr(self, name))
            if not 0.0 <= low <= high <= MAX_DELAY:
                raise ChaosError(
                    f"{name} must be MIN-MAX seconds with 0 <= MIN <= MAX <= {MAX_DELAY:g}, "
                    f"not {low:g}-{high:g}"
                )

    @property
    def active(self) -> bool:
        return bool(self.duplicate or self.reorder or self.delay[1] or self.sampling)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["delay"] = list(self.delay)
        data["duplicate_after"] = list(self.duplicate_after)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], base: Chaos | None = None) -> Chaos:
        """Settings from JSON-like data, over ``base``; unknown names are refused."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ChaosError(f"unknown setting {unknown[0]!r}; known: {', '.join(sorted(known))}")
        values = dict(data)
        for name in ("delay", "duplicate_after"):
            if name in values:
                values[name] = _pair(name, values[name])
        if "sampling" in values and not isinstance(values["sampling"], bool):
            raise ChaosError(f"sampling must be true or false, not {values['sampling']!r}")
        try:
            return replace(base or cls(), **values)
        except TypeError as exc:
            raise ChaosError(str(exc)) from None


def _pair(name: str, value: Any) -> tuple[float, float]:
    """``[min, max]``, ``(min, max)``, ``"MIN-MAX"`` or one number."""
    if isinstance(value, str):
        low, _, high = value.partition("-")
        parts: list[Any] = [low, high or low]
    elif isinstance(value, int | float) and not isinstance(value, bool):
        parts = [value, value]
    elif isinstance(value, list | tuple) and len(value) == 2:
        parts = list(value)
    else:
        raise ChaosError(f"{name} must be MIN-MAX seconds, not {value!r}")
    try:
        low, high = float(parts[0]), float(parts[1])
    except (TypeError, ValueError):
        raise ChaosError(f"{name} must be MIN-MAX seconds, not {value!r}") from None
    return low, high


# Named settings a teacher can switch on with one word.
PRESETS: dict[str, Chaos] = {
    # Duplicates and reordering often enough that a URL2PNG run of 20 pages shows both.
    "classroom": Chaos(duplicate=0.2, reorder=0.5, delay=(0.0, 1.0), sampling=True),
    # Closer to what a real queue does: rare, but there.
    "realistic": Chaos(duplicate=0.01, reorder=0.1, sampling=True),
    "duplicates": Chaos(duplicate=0.3),
    "reordering": Chaos(reorder=0.8, reorder_window=20),
}


@dataclass(frozen=True)
class Settings:
    """The whole model: on or off, its seed, settings for every queue and per queue."""

    enabled: bool = False
    seed: int = 0
    default: Chaos | None = None  # for every standard queue without its own
    queues: tuple[tuple[str, Chaos], ...] = ()

    def for_queue(self, name: str) -> Chaos | None:
        for queue, chaos in self.queues:
            if queue == name:
                return chaos
        return self.default

    def as_dict(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "seed": self.seed,
            "default": self.default.as_dict() if self.default else None,
            "queues": {name: chaos.as_dict() for name, chaos in self.queues},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Settings:
        default = data.get("default")
        return cls(
            enabled=bool(data.get("enabled")),
            seed=int(data.get("seed") or 0),
            default=Chaos.from_dict(default) if default else None,
            queues=tuple(
                (str(name), Chaos.from_dict(value))
                for name, value in sorted((data.get("queues") or {}).items())
            ),
        )


@dataclass(frozen=True)
class Pick:
    """Which of the ready messages a receive takes first: ``index`` into the oldest ones."""

    index: int
    skipped: int  # older messages passed over


class DeliveryModel:
    """Draws the injected effects. The engine asks at the points where SQS would misbehave."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self._rngs: dict[str, random.Random] = {}

    def configure(self, settings: Settings) -> None:
        """New settings; every queue's random source starts again from the seed."""
        self.settings = settings
        self._rngs = {}

    def chaos(self, queue: str, fifo: bool) -> Chaos | None:
        """The settings in force on ``queue``, or None when nothing is injected there."""
        if fifo or not self.settings.enabled:
            return None
        chaos = self.settings.for_queue(queue)
        return chaos if chaos is not None and chaos.active else None

    def _rng(self, queue: str) -> random.Random:
        rng = self._rngs.get(queue)
        if rng is None:
            rng = self._rngs[queue] = random.Random(f"{self.settings.seed}:{queue}")
        return rng

    def send_delay(self, queue: str, chaos: Chaos) -> float:
        low, high = chaos.delay
        if high <= 0:
            return 0.0
        return self._rng(queue).uniform(low, high)

    def receive_limit(self, queue: str, chaos: Chaos, wanted: int, available: int) -> int:
        """How many messages a short poll returns (sampling): between 0 and what it may."""
        if not chaos.sampling or available <= 0:
            return wanted
        return self._rng(queue).randint(0, min(wanted, available))

    def pick(self, queue: str, chaos: Chaos, ready: int) -> Pick:
        """Which of the ``ready`` oldest messages (at most the window) goes first."""
        if chaos.reorder <= 0 or ready < 2:
            return Pick(0, 0)
        rng = self._rng(queue)
        if rng.random() >= chaos.reorder:
            return Pick(0, 0)
        index = rng.randrange(1, min(ready, chaos.reorder_window))
        return Pick(index, index)

    def duplicate_after(self, queue: str, chaos: Chaos) -> float | None:
        """Seconds until an injected copy of a just-delivered message becomes visible, or None
        when this delivery gets no copy."""
        if chaos.duplicate <= 0:
            return None
        rng = self._rng(queue)
        if rng.random() >= chaos.duplicate:
            return None
        low, high = chaos.duplicate_after
        return rng.uniform(low, high)
